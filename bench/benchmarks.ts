/** Every benchmark of the project, in the order the table shows them. */
import { coreBenchmarks } from './core.bench.js';
import { hubBenchmarks } from './hub.bench.js';
import { lifecycleBenchmarks } from './lifecycle.bench.js';
import { ioBenchmarks } from './io.bench.js';
import { debugBenchmarks } from './debug.bench.js';
import { debugSiteBenchmarks } from './debug-sites.bench.js';
import { workersCpuBenchmarks } from './workers-cpu.bench.js';
import { workersChannelBenchmarks } from './workers-channel.bench.js';
import { workersHttpBenchmarks } from './workers-http.bench.js';
import { natsBenchmarks, natsBenchmarksAvailable } from './nats.bench.js';
import { INSTALL_HINT } from '../demo/nats-server.js';
import { testingBenchmarks } from './testing.bench.js';
import type { Benchmark } from './harness.js';

export const allBenchmarks: Benchmark[] = [
  ...coreBenchmarks,
  ...hubBenchmarks,
  ...lifecycleBenchmarks,
  ...ioBenchmarks,
  ...workersCpuBenchmarks,
  ...workersChannelBenchmarks,
  ...workersHttpBenchmarks,
  ...natsBenchmarks,
  ...debugBenchmarks,
  ...debugSiteBenchmarks,
  // Last: exploring swaps the hub's run queue, which the hub's call sites then see for good.
  ...testingBenchmarks,
];

/** The benchmarks this machine can run: the NATS ones need a nats-server binary. */
export function runnableBenchmarks(): Benchmark[] {
  if (natsBenchmarksAvailable()) return allBenchmarks;
  console.log(`dist.nats.* skipped: ${INSTALL_HINT}\n`);
  return allBenchmarks.filter((b) => !b.name.startsWith('dist.nats.'));
}
