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
    // The garbage-collection tests (killing unreachable greenlets, memory returning)
    // call global.gc().
    execArgv: ['--expose-gc'],
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    testTimeout: 20_000,
  },
});
