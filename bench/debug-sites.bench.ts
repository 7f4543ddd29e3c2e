/**
 * Debug-layer benchmarks: what recording spawn sites costs (a stack captured and trimmed
 * at every spawn), on the `hub.spawn_sleep0_join` workload, against the same workload
 * without recording, measured alternately in the same run.
 */
import { run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
// By path: tsx resolves `greenlet-ts` to src/ too (tsconfig paths), so both share one hub.
import { recordSites, stopRecordingSites } from '../src/debug/sites.js';
import type { Benchmark } from './harness.js';

/** Median of `reps` timings of `fn`, in ms, after one warm-up run (as in hub.bench.ts). */
async function medianMs(fn: () => Promise<unknown>, reps = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[reps >> 1] as number;
}

const SPAWN_COUNT = 100_000;

function* yieldOnce(): GreenletBody<void> {
  yield* sleep(0);
}

/** hub.spawn_sleep0_join: spawn 100,000 tasks that each sleep(0), join them all (copied from hub.bench.ts). */
async function spawnSleepJoin(): Promise<number> {
  const ms = await medianMs(() =>
    run(function* () {
      const tasks: Task[] = new Array(SPAWN_COUNT);
      for (let i = 0; i < SPAWN_COUNT; i++) tasks[i] = spawn(yieldOnce);
      for (let i = 0; i < SPAWN_COUNT; i++) yield* (tasks[i] as Task).join();
    }),
  );
  return (ms * 1e6) / SPAWN_COUNT;
}

/** The same, with spawn sites (and spawners) recorded. */
async function spawnSleepJoinWithSites(): Promise<number> {
  recordSites({ spawn: true, wait: false });
  try {
    return await spawnSleepJoin();
  } finally {
    stopRecordingSites();
  }
}

export const debugSiteBenchmarks: Benchmark[] = [
  {
    name: 'debug.spawnsite.overhead',
    unit: 'ns/op',
    what: `hub.spawn_sleep0_join (${SPAWN_COUNT.toLocaleString('en')} tasks) with spawn sites recorded; per task`,
    measure: spawnSleepJoinWithSites,
    baseline: 'hub.spawn_sleep0_join, sites off',
    baselineMeasure: spawnSleepJoin,
    target: 'report',
  },
];
