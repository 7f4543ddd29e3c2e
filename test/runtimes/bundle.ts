/**
 * Bundles test files for runtimes vitest does not run on: one ES module per test file,
 * with `vitest` aliased to vitest-shim.ts, `greenlet-ts` to the sources (as
 * vitest.config.ts does), and an entry that runs what the file declared and prints each
 * result as a line `##RESULT {json}`, then `##DONE`.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { excludedTests, repoRoot } from './files.js';

/** The name of a file's bundle: `test/sync/queue.test.ts` → `test_sync_queue.test.mjs`. */
export function bundleName(file: string): string {
  return `${file.replace(/\.ts$/, '').replace(/\//g, '_')}.mjs`;
}

const shim = join(repoRoot, 'test/runtimes/vitest-shim.ts');
const host = join(repoRoot, 'test/runtimes/host.ts');
const prelude = join(repoRoot, 'test/runtimes/prelude.ts');

/** `greenlet-ts` and `greenlet-ts/x` resolve to the sources, as vitest.config.ts has them. */
const greenletSources: Plugin = {
  name: 'greenlet-ts-sources',
  setup(b) {
    b.onResolve({ filter: /^greenlet-ts(\/.*)?$/ }, (args) => {
      const sub = args.path.slice('greenlet-ts'.length);
      if (sub === '') return { path: join(repoRoot, 'src', 'index.ts') };
      // An entry point is a folder (greenlet-ts/io) or a file (greenlet-ts/testing/vitest).
      const file = join(repoRoot, 'src', `${sub.slice(1)}.ts`);
      return { path: existsSync(file) ? file : join(repoRoot, 'src', sub.slice(1), 'index.ts') };
    });
  },
};

/** Each entry imports the host adapter first, then the test file, then runs it. */
const entries: Plugin = {
  name: 'test-entries',
  setup(b) {
    b.onResolve({ filter: /^test-entry:/ }, (args) => ({ path: args.path.slice('test-entry:'.length), namespace: 'test-entry' }));
    b.onLoad({ filter: /.*/, namespace: 'test-entry' }, (args) => ({
      resolveDir: repoRoot,
      loader: 'ts',
      contents: [
        `import ${JSON.stringify(prelude)};`,
        `import { finish, report, start } from ${JSON.stringify(host)};`,
        `import { runCollected } from ${JSON.stringify(shim)};`,
        `start(${JSON.stringify(args.path)}, __EXCLUDED_TESTS__);`,
        // A dynamic import, so that the host is set up before the test file and the
        // sources it imports are evaluated (the bundle keeps it in the same file).
        // A file that cannot even be loaded fails at once, with the reason.
        `let loaded = true;`,
        `try { await import(${JSON.stringify(join(repoRoot, args.path))}); } catch (error) {`,
        `  loaded = false;`,
        "  const result = { name: '(loading the file)', state: 'fail', ms: 0, error: error instanceof Error ? String(error) + '\\n' + (error.stack ?? '') : String(error) };",
        `  report(result);`,
        `  finish([result]);`,
        `}`,
        `if (loaded) finish(await runCollected(report));`,
      ].join('\n'),
    }));
  },
};

/** Bundle `files` (paths from the repository root) into `outdir`. */
export async function bundleTests(files: readonly string[], outdir: string): Promise<void> {
  await build({
    entryPoints: files.map((file) => ({ in: `test-entry:${file}`, out: bundleName(file).replace(/\.mjs$/, '') })),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // Deno and Bun offer node: modules; the browsers and jsc do not run files that import them.
    external: ['node:*'],
    alias: { vitest: shim },
    plugins: [
      entries,
      greenletSources,
    ],
    // The property tests read FC_SEED and GREENLET_EXPLORE_SCALE from the environment; a
    // browser has none, so every runtime gets an empty one (the defaults, as on Node).
    define: { 'process.env': '{}', __EXCLUDED_TESTS__: JSON.stringify(excludedTests()) },
    sourcemap: false,
    logLevel: 'warning',
    // The dynamic import in each entry stays in the same file (no splitting).
    splitting: false,
    // package.json's `sideEffects` is for consumers of dist/; here every imported file runs.
    ignoreAnnotations: true,
  });
}

/**
 * Bundle programs (paths from the repository root) into `outdir` as they are, one
 * `NAME.mjs` each, with `greenlet-ts` resolved to the sources: for runtimes that cannot run
 * the TypeScript sources directly.
 */
export async function bundlePrograms(files: readonly string[], outdir: string): Promise<void> {
  await build({
    entryPoints: files.map((file) => ({ in: join(repoRoot, file), out: file.replace(/^.*\//, '').replace(/\.ts$/, '') })),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['node:*'],
    plugins: [greenletSources],
    logLevel: 'warning',
    ignoreAnnotations: true,
  });
}
