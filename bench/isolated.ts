/** Child process of the harness: `isolated.ts NAME ROUNDS` measures one benchmark. */
import { allBenchmarks } from './benchmarks.js';
import { runIsolated } from './harness.js';

await runIsolated(allBenchmarks, process.argv[2] as string, Number(process.argv[3] ?? 3));
