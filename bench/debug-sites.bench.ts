/**
 * Debug-layer benchmarks: what recording spawn sites costs (a stack captured and trimmed
 * at every spawn), on the `hub.spawn_sleep0_join` workload, against the same workload
 * without recording, measured alternately in the same run.
 */
// Through the package, as hub.bench.ts imports `greenlet-ts`: both resolve to the same copy
// (dist/ under `npm run bench`, src/ through tsconfig's paths otherwise), so they share one hub.
import { recordSites, stopRecordingSites } from 'greenlet-ts/debug';
import type { Benchmark } from './harness.js';
import { SPAWN_COUNT, spawnSleepJoin } from './hub.bench.js';

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
    baselineMeasure: () => spawnSleepJoin(),
    target: 'report',
  },
];
