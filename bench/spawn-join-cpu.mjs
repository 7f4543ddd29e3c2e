/**
 * hub.spawn_join, its async baseline and its stripped floor, and interop.waitfor_fanout and
 * its async baseline (bench/lifecycle.bench.ts's code), one per process, measured in CPU time as well as wall time: the process's CPU
 * time per task (process.cpuUsage: the collector's helper threads included), and its user
 * and system parts, each the median of ROUNDS rounds of N tasks. CPU time depends less on
 * how busy the machine is than wall time; add `--single-threaded` to keep the collector on
 * the main thread, or `--trace-gc-nvp` for the bytes allocated and promoted per collection
 * (see docs/benchmarks-log.md, "Task lifecycle against async/await"):
 *
 *   node [--single-threaded] [--trace-gc-nvp] bench/spawn-join-cpu.mjs WHICH N ROUNDS [DIST]
 *
 * WHICH: floor, async or ours (DIST, a build's dist/ directory, absolute; default ./dist);
 * waitfor.async or waitfor (N tasks each waiting on one resolved promise, joined). With
 * SWITCH_INTERVAL_MS set, `ours` and `waitfor` run with that switch interval (a build
 * that has one).
 */
const [, , which, n, rounds, dist = new URL('../dist', import.meta.url).pathname] = process.argv;
const N = Number(n);
const lib = which === 'ours' || which === 'waitfor' ? await import(`${dist}/index.js`) : null;
if (lib !== null && process.env.SWITCH_INTERVAL_MS !== undefined) lib.setswitchinterval(Number(process.env.SWITCH_INTERVAL_MS));
const resolved = Promise.resolve(1);
class FloorTask { result = undefined; done = false; constructor(fn) { this.fn = fn; } }
function* rawReturnAtOnce() { return 1; }
async function returnAtOnceAsync() { return 1; }
function* returnAtOnce() { return 1; }
const work = {
  floor: async () => {
    const tasks = new Array(N);
    for (let i = 0; i < N; i++) tasks[i] = new FloorTask(rawReturnAtOnce);
    for (let i = 0; i < N; i++) { const t = tasks[i]; t.result = t.fn().next().value; t.done = true; }
    let sum = 0;
    for (let i = 0; i < N; i++) sum += tasks[i].result;
    return sum;
  },
  async: async () => {
    const promises = new Array(N);
    for (let i = 0; i < N; i++) promises[i] = returnAtOnceAsync();
    for (let i = 0; i < N; i++) await promises[i];
  },
  ours: () => lib.run(function* () {
    const tasks = new Array(N);
    for (let i = 0; i < N; i++) tasks[i] = lib.spawn(returnAtOnce);
    for (let i = 0; i < N; i++) yield* tasks[i].join();
  }),
  'waitfor.async': async () => {
    const waiter = async () => await resolved;
    const calls = new Array(N);
    for (let i = 0; i < N; i++) calls[i] = waiter();
    await Promise.all(calls);
  },
  waitfor: () => {
    const waiter = () => lib.waitFor(resolved);
    return lib.run(function* () {
      const tasks = new Array(N);
      for (let i = 0; i < N; i++) tasks[i] = lib.spawn(waiter);
      for (let i = 0; i < N; i++) yield* tasks[i].join();
    });
  },
}[which];
const rows = [];
for (let r = 0; r < Number(rounds); r++) {
  const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
  await work();
  const t1 = process.hrtime.bigint(); const c1 = process.cpuUsage(c0);
  rows.push([Number(t1 - t0) / N, ((c1.user + c1.system) * 1000) / N, (c1.user * 1000) / N, (c1.system * 1000) / N]);
}
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(JSON.stringify({ which, N, wallNsPerTask: +med(rows.map((x) => x[0])).toFixed(1), cpuNsPerTask: +med(rows.map((x) => x[1])).toFixed(1), userNs: +med(rows.map((x) => x[2])).toFixed(1), sysNs: +med(rows.map((x) => x[3])).toFixed(1) }));
