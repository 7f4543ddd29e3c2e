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
import type { Benchmark } from './harness.js';

export const allBenchmarks: Benchmark[] = [
  ...coreBenchmarks,
  ...hubBenchmarks,
  ...lifecycleBenchmarks,
  ...ioBenchmarks,
  ...workersCpuBenchmarks,
  ...workersChannelBenchmarks,
  ...workersHttpBenchmarks,
  ...debugBenchmarks,
  ...debugSiteBenchmarks,
];
