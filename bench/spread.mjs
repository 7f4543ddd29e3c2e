/**
 * The spread of a lifecycle benchmark from process to process: many short processes, each
 * timing the benchmark's two sides the way bench/harness.ts does (ROUNDS alternating rounds,
 * each a warm-up run and REPS timed runs per side; the harness's figure is the median of
 * the rounds' medians), with, for every timed run, the main thread's CPU time and its time
 * the process's CPU time (all its threads: the collector's helpers and the compiler too)
 * and the main thread's time waiting for a CPU (from /proc/self/task/PID/schedstat, Linux,
 * updated at scheduler ticks, so coarse per run), so that a slow process can be told apart
 * from a descheduled one.
 *
 *   node bench/spread.mjs DIST WORKLOAD [PROCS] [-- VARIANT ...]
 *
 * DIST: a build's dist/ directory (absolute). WORKLOAD: fanout (interop.waitfor_fanout) or
 * spawnjoin (hub.spawn_join). PROCS processes per variant (default 10), the variants
 * alternating; a VARIANT is a label and node flags, `label=--flag,--flag` (`base=` for
 * none; `env:NAME=VALUE` among them sets a variable of the child's, e.g. `env:PRIME=100x20`). Prints one line per process and a summary per variant.
 * Environment: ROUNDS (3), REPS (9 fanout, 5 spawnjoin), PRE (a workload run that many
 * times before the measured rounds: `PRE=floor:20` runs the stripped floor 20 times first),
 * PRIME=NxK (each side run K times with N tasks before the rounds, as bench/harness.ts's
 * `prime` does), CAL=1 (a compute and a memory-latency calibration after every run),
 * MARK=1 (a line before each round, for --trace-* output), KEEP_OUTPUT=DIR (each
 * process's output kept), DETAIL=1 (every run's figures) or rounds (each round's median).
 * See docs/benchmarks-log.md, "The spread from process to process".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args[0] === '--child') {
  await child(args[1], args[2]);
} else {
  const dash = args.indexOf('--');
  const [dist, workload, procs = '10'] = dash < 0 ? args : args.slice(0, dash);
  const variants = (dash < 0 ? ['base='] : args.slice(dash + 1)).map((v) => {
    const at = v.indexOf('=');
    const [label, flags] = at < 0 ? [v, ''] : [v.slice(0, at), v.slice(at + 1)];
    const all = flags === '' ? [] : flags.split(',');
    const env = Object.fromEntries(all.filter((x) => x.startsWith('env:')).map((x) => x.slice(4).split('=')));
    return { label, flags: all.filter((x) => !x.startsWith('env:')), env: { ...process.env, ...env } };
  });
  if (dist === undefined || workload === undefined) throw new Error('usage: node bench/spread.mjs DIST WORKLOAD [PROCS] [-- label=--flag,... ...]');
  const results = new Map(variants.map((v) => [v.label, []]));
  for (let p = 0; p < Number(procs); p++) {
    for (const v of p % 2 === 0 ? variants : [...variants].reverse()) {
      const out = execFileSync(process.execPath, ['--expose-gc', ...v.flags, fileURLToPath(import.meta.url), '--child', dist, workload], {
        encoding: 'utf8',
        env: v.env,
        maxBuffer: 1 << 26,
      });
      const line = out.split('\n').find((l) => l.startsWith('@@result '));
      const r = JSON.parse(line.slice('@@result '.length));
      if (process.env.KEEP_OUTPUT) writeFileSync(`${process.env.KEEP_OUTPUT}/${v.label}-${p}.txt`, out);
      results.get(v.label).push(r);
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(
        `${v.label.padEnd(10)} ours ${f(r.ours)} async ${f(r.base)} ratio ${(r.ours / r.base).toFixed(2)} | cpu ${f(r.oursCpu)} / ${f(r.baseCpu)} wait ${f(r.oursWait)} / ${f(r.baseWait)} | load ${load}${r.cal ? ` | cal ${f(r.cal)} ${f(r.calMem)} us` : ''}`,
      );
      if (process.env.DETAIL === 'rounds') console.log(`  rounds (ours, async, ...): ${r.rounds.map(f).join(' ')}${r.calRounds ? `\n  cal (cpu us, mem us per round-side): ${r.calRounds.join(' ')}` : ''}`);
      if (process.env.DETAIL === '1') console.log(`  ours ${r.oursRuns.map(f).join(' ')}\n  base ${r.baseRuns.map(f).join(' ')}`);
    }
  }
  for (const [label, rs] of results) {
    const q = (k) => rs.map((r) => r[k]).sort((a, b) => a - b).map(f).join(' ');
    console.log(`\n${label}: ${rs.length} processes`);
    console.log(`  ours  (wall, harness figure): ${q('ours')}`);
    console.log(`  async (wall, harness figure): ${q('base')}`);
    console.log(`  ours  process CPU:            ${q('oursCpu')}`);
    console.log(`  async process CPU:            ${q('baseCpu')}`);
    console.log(`  ratio (wall): ${rs.map((r) => r.ours / r.base).sort((a, b) => a - b).map((x) => x.toFixed(2)).join(' ')}`);
  }
}

function f(x) {
  return x.toFixed(0).padStart(4);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The main thread's time on a CPU and waiting for one, in ns (schedstat). */
function sched() {
  const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
  return [Number(run), Number(wait)];
}

async function child(dist, workload) {
  const lib = await import(`${dist}/index.js`);
  const w = workloads(lib)[workload];
  if (w === undefined) throw new Error(`no workload ${workload}`);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const reps = Number(process.env.REPS ?? w.reps);
  if (process.env.PRE) {
    for (const pre of process.env.PRE.split(';')) {
      const [name, times] = pre.split(':');
      const p = workloads(lib)[name.split('.')[0]];
      const fn = name.endsWith('.async') ? p.base : name.endsWith('.floor') || name === 'floor' ? p.floor ?? p.ours : p.ours;
      for (let i = 0; i < Number(times); i++) await fn();
    }
  }
  const cal = process.env.CAL === '1';
  if (cal) for (let i = 0; i < 30; i++) calibrate(), calibrateMemory();
  const calRuns = [];
  const calMemRuns = [];
  let calMark = 0;
  if (process.env.PRIME) {
    // The harness's priming: each side once at a small size before anything else
    const [size, times = '1'] = process.env.PRIME.split('x');
    for (const side of ['ours', 'base']) for (let i = 0; i < Number(times); i++) await w[side](Number(size));
  }
  const out = { rounds: [], ours: 0, base: 0, oursCpu: 0, baseCpu: 0, oursWait: 0, baseWait: 0, oursRuns: [], baseRuns: [], oursCpuRuns: [], baseCpuRuns: [] };
  const med = { ours: [], base: [], oursCpu: [], baseCpu: [], oursWait: [], baseWait: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of ['ours', 'base']) {
      const fn = w[side];
      if (process.env.MARK === '1') console.log(`@@mark round ${r} ${side}`);
      await fn(); // the harness's warm-up run
      const wall = [];
      const cpu = [];
      const wait = [];
      for (let i = 0; i < reps; i++) {
        const w0 = sched()[1];
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await fn();
        const t1 = process.hrtime.bigint();
        const c1 = process.cpuUsage(c0);
        const w1 = sched()[1];
        wall.push(Number(t1 - t0) / w.n);
        if (cal) {
          calRuns.push(calibrate());
          calMemRuns.push(calibrateMemory());
        }
        cpu.push(((c1.user + c1.system) * 1000) / w.n);
        wait.push((w1 - w0) / w.n);
      }
      med[side].push(median(wall));
      out.rounds.push(median(wall));
      if (cal) {
        out.calRounds ??= [];
        out.calRounds.push(Math.round(median(calRuns.slice(calMark))), Math.round(median(calMemRuns.slice(calMark))));
        calMark = calRuns.length;
      }
      med[`${side}Cpu`].push(median(cpu));
      med[`${side}Wait`].push(median(wait));
      out[`${side}Runs`].push(...wall);
      out[`${side}CpuRuns`].push(...cpu);
    }
  }
  for (const k of Object.keys(med)) out[k] = median(med[k]);
  out.cal = cal ? median(calRuns) : 0;
  out.calMem = cal ? median(calMemRuns) : 0;
  console.log(`@@result ${JSON.stringify(out)}`);
}

/**
 * A fixed piece of work that owes nothing to the library or to the collector (integer
 * arithmetic in a loop, compiled once): its time tells a slow machine from a slow process.
 * In microseconds.
 */
var calSink = 0;
function calibrate() {
  const t0 = process.hrtime.bigint();
  let x = 123456789;
  for (let i = 0; i < 200_000; i++) {
    x = (x ^ (x << 13)) | 0;
    x = (x ^ (x >>> 17)) | 0;
    x = (x ^ (x << 5)) | 0;
  }
  calSink += x;
  return Number(process.hrtime.bigint() - t0) / 1000;
}

/**
 * A fixed piece of work that misses the caches: 100,000 dependent reads at random places
 * of a 32 MB array made once (no allocation, no collection). In microseconds.
 */
var calTable;
function calibrateMemory() {
  if (calTable === undefined) {
    const n = 1 << 23;
    calTable = new Int32Array(n);
    let x = 2463534242;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      calTable[i] = (x >>> 0) & (n - 1);
    }
  }
  const t0 = process.hrtime.bigint();
  let j = 0;
  for (let i = 0; i < 100_000; i++) j = calTable[j];
  calSink += j;
  return Number(process.hrtime.bigint() - t0) / 1000;
}

/** The benchmarks' code (bench/lifecycle.bench.ts), on a build. */
function workloads(lib) {
  const FANOUT = 10_000;
  const resolved = Promise.resolve(1);
  const waiter = () => lib.waitFor(resolved);
  const asyncWaiter = async () => await resolved;
  const SPAWN = 100_000;
  function* returnAtOnce() {
    return 1;
  }
  async function returnAtOnceAsync() {
    return 1;
  }
  return {
    fanout: {
      n: FANOUT,
      reps: 9,
      ours: (n = FANOUT) =>
        lib.run(function* () {
          const tasks = new Array(n);
          for (let i = 0; i < n; i++) tasks[i] = lib.spawn(waiter);
          for (let i = 0; i < n; i++) yield* tasks[i].join();
        }),
      base: async (n = FANOUT) => {
        const calls = new Array(n);
        for (let i = 0; i < n; i++) calls[i] = asyncWaiter();
        await Promise.all(calls);
      },
    },
    spawnjoin: {
      n: SPAWN,
      reps: 5,
      ours: (n = SPAWN) =>
        lib.run(function* () {
          const tasks = new Array(n);
          for (let i = 0; i < n; i++) tasks[i] = lib.spawn(returnAtOnce);
          for (let i = 0; i < n; i++) yield* tasks[i].join();
        }),
      base: async (n = SPAWN) => {
        const promises = new Array(n);
        for (let i = 0; i < n; i++) promises[i] = returnAtOnceAsync();
        for (let i = 0; i < n; i++) await promises[i];
      },
    },
  };
}
