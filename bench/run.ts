/**
 * `npm run bench [-- --json FILE] [-- --only PREFIX]`: run the benchmarks and print a
 * table of ratios against baselines measured in the same run.
 */
import { parseArgs } from 'node:util';
import { allBenchmarks } from './benchmarks.js';
import { runBenchmarks } from './harness.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
});

await runBenchmarks(allBenchmarks, {
  ...(values.json !== undefined ? { json: values.json } : {}),
  ...(values.only !== undefined ? { only: values.only } : {}),
  ...(values.rounds !== undefined ? { rounds: Number(values.rounds) } : {}),
});
