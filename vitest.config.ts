import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by name, as users do; resolve it to the source.
    alias: [
      { find: /^greenlet-ts$/, replacement: src('index.ts') },
      // The test-runner glue of the testing layer: entry points that are files, not folders.
      { find: /^greenlet-ts\/testing\/(vitest|fast-check)$/, replacement: src('testing/$1.ts') },
      { find: /^greenlet-ts\/(.*)$/, replacement: src('$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // vitest's default is one worker less than the cores: a single worker on 2 cores, and
    // most test files spend much of their time waiting (child processes, sockets, timers),
    // so one file at a time left a core idle. Two at least: the run took 276-289 s with one
    // worker on an idle 2-core machine.
    maxWorkers: Math.max(2, availableParallelism()),
    // The garbage-collection tests (killing unreachable greenlets, memory returning)
    // call global.gc().
    execArgv: ['--expose-gc'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      // Only the type tests and what they import: `npm run typecheck` checks the whole
      // project just before, and vitest runs tsc beside the test files.
      tsconfig: './test/tsconfig.test-d.json',
    },
    testTimeout: 20_000,
  },
});
