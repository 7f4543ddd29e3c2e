/**
 * `npm run bench [-- --json FILE] [-- --only PREFIX]`: run the benchmarks and print a
 * table of ratios against baselines measured in the same run.
 */
import { parseArgs } from 'node:util';
import { allBenchmarks, runnableBenchmarks } from './benchmarks.js';
import { runBenchmarks } from './harness.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
});

const runnable = runnableBenchmarks();
const only = values.only;
if (only !== undefined && !runnable.some((b) => b.name.startsWith(only)) && allBenchmarks.some((b) => b.name.startsWith(only))) {
  process.exit(0); // every benchmark asked for was skipped, with the reason printed
}

await runBenchmarks(runnable, {
  ...(values.json !== undefined ? { json: values.json } : {}),
  ...(values.only !== undefined ? { only: values.only } : {}),
  ...(values.rounds !== undefined ? { rounds: Number(values.rounds) } : {}),
});
