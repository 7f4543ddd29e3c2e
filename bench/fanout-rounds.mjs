/**
 * interop.waitfor_fanout's two sides (bench/lifecycle.bench.ts's code: 10,000 tasks each
 * waitFor() a resolved promise, joined; 10,000 async functions each awaiting it,
 * Promise.all) timed run by run, in blocks that alternate the sides in one process, each
 * block after 10 warm-up runs (and, once, 20 runs of 100 tasks per side first, as the
 * harness primes a workload): per task, the median of the block's runs (the statistic
 * bench/harness.ts's medianMs reports) and their mean (what a program that repeats the
 * fan-out pays, collections included), with every run's figure:
 *
 *   node --expose-gc bench/fanout-rounds.mjs DIST [RUNS] [BLOCKS]
 *
 * DIST: a build's dist/ directory (absolute). RUNS per block (default 40), BLOCKS per side
 * (default 2). See docs/benchmarks-log.md, interop.waitfor_fanout.
 */
const [, , dist, runs = '40', blocks = '2'] = process.argv;
if (dist === undefined) throw new Error('usage: node --expose-gc bench/fanout-rounds.mjs DIST [RUNS] [BLOCKS]');
const lib = await import(`${dist}/index.js`);
const N = 10_000;
const resolved = Promise.resolve(1);
const waiter = () => lib.waitFor(resolved);
const ours = (n = N) =>
  lib.run(function* () {
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = lib.spawn(waiter);
    for (let i = 0; i < n; i++) yield* tasks[i].join();
  });
const asyncWaiter = async () => await resolved;
const baseline = async (n = N) => {
  const calls = new Array(n);
  for (let i = 0; i < n; i++) calls[i] = asyncWaiter();
  await Promise.all(calls);
};
// Primed as bench/harness.ts's medianNsPerItem primes: 20 runs of 100 tasks per side first.
for (const run of [ours, baseline]) for (let i = 0; i < 20; i++) await run(100);
const summary = { ours: [], async: [] };
for (let b = 0; b < Number(blocks); b++) {
  for (const [name, run] of [['ours', ours], ['async', baseline]]) {
    for (let i = 0; i < 10; i++) await run();
    const times = [];
    for (let r = 0; r < Number(runs); r++) {
      const t0 = process.hrtime.bigint();
      await run();
      times.push(Number(process.hrtime.bigint() - t0) / N);
    }
    const sorted = [...times].sort((x, y) => x - y);
    const median = sorted[sorted.length >> 1];
    const mean = times.reduce((x, y) => x + y, 0) / times.length;
    summary[name].push({ median, mean });
    console.log(`${name.padEnd(5)} median ${median.toFixed(0)} ns, mean ${mean.toFixed(0)} ns per task; runs: ${times.map((x) => x.toFixed(0)).join(' ')}`);
  }
}
for (let b = 0; b < Number(blocks); b++) {
  const [o, a] = [summary.ours[b], summary.async[b]];
  console.log(`block ${b + 1}: ratio of medians ${(o.median / a.median).toFixed(2)}, ratio of means ${(o.mean / a.mean).toFixed(2)}`);
}
