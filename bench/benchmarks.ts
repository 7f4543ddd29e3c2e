/** Every benchmark of the project, in the order the table shows them. */
import { coreBenchmarks } from './core.bench.js';
import { hubBenchmarks } from './hub.bench.js';
import { ioBenchmarks } from './io.bench.js';
import type { Benchmark } from './harness.js';

export const allBenchmarks: Benchmark[] = [...coreBenchmarks, ...hubBenchmarks, ...ioBenchmarks];
