/**
 * How the time of N tasks in a timed `wait([event], { timeout })` on one Event grows with N
 * when their timeouts do not expire in the order the tasks arrived (docs/benchmarks-log.md,
 * "Rawlink removal"): each task's wait registers a rawlink callback on the event, and each
 * timeout removes one from the middle of the event's list. The timeouts are 1 to 16 ms, in a
 * shuffled order fixed by a seed; the event is never set. One process per build:
 *
 *   node --expose-gc bench/rawlinks-scaling.mjs DIST [ROUNDS] [N...]
 *
 * DIST is a build's dist/ directory (absolute; default ./dist), ROUNDS (default 3) the rounds
 * per size, N the sizes (default 10000 40000 100000). Prints, per size, the median time of the
 * rounds (spawn to the last task's end, ms), the time per task (µs), and the ratio of that
 * time to the smallest size's: about N2/N1 where a removal costs O(1), (N2/N1)² where it
 * costs O(N).
 */
const [, , dist = new URL('../dist', import.meta.url).pathname, rounds = '3', ...sizes] = process.argv;
const { run, spawn, wait, joinall, Event } = await import(`${dist}/index.js`);
const ROUNDS = Number(rounds);
const NS = (sizes.length > 0 ? sizes : ['10000', '40000', '100000']).map(Number);

/** A small deterministic generator (mulberry32), so that every build gets the same order. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function timeouts(n) {
  const next = random(n);
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 + Math.floor(next() * 16);
  return out;
}

async function once(n) {
  const ms = timeouts(n);
  const event = new Event();
  globalThis.gc?.();
  const start = performance.now();
  const woken = await run(function* () {
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) {
      const timeout = ms[i];
      tasks[i] = spawn(function* () {
        return (yield* wait([event], { timeout })).length;
      });
    }
    yield* joinall(tasks);
    let sum = 0;
    for (const t of tasks) sum += t.value;
    return sum;
  });
  const elapsed = performance.now() - start;
  if (woken !== 0 || event.linkCount() !== 0) throw new Error(`the event was not left clean: ${woken} woken, ${event.linkCount()} links`);
  return elapsed;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
await once(NS[0]); // warm up
let first;
for (const n of NS) {
  const times = [];
  for (let r = 0; r < ROUNDS; r++) times.push(await once(n));
  const ms = median(times);
  first ??= { n, ms };
  console.log(
    `n=${n} ${ms.toFixed(1)} ms (${((ms * 1000) / n).toFixed(2)} µs/task; rounds ${times.map((t) => t.toFixed(0)).join(', ')}) ` +
      `time ratio to n=${first.n}: ${(ms / first.ms).toFixed(2)} (sizes ${n / first.n}, squared ${(n / first.n) ** 2})`,
  );
}
