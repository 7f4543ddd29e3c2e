/**
 * Which test files run on which runtime: every test file of the layers that run outside
 * Node (core, hub, sync, interop) and the greenlet conformance suite, less the exclusions
 * below. One list, one reason each; nothing else is left out.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Runtime = 'deno' | 'bun' | 'chromium' | 'firefox' | 'jsc';
export const RUNTIMES: readonly Runtime[] = ['deno', 'bun', 'chromium', 'firefox', 'jsc'];

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const FOLDERS = ['test/core', 'test/hub', 'test/sync', 'test/interop', 'test/conformance/greenlet'];

const BROWSERS_AND_JSC: readonly Runtime[] = ['chromium', 'firefox', 'jsc'];

/**
 * Files a runtime cannot run, and why; with `test` (its full name, suites joined by ' > '),
 * one test of the file only.
 */
export const EXCLUDED: readonly { file: string; test?: string; runtimes: readonly Runtime[]; reason: string }[] = [
  { file: 'test/hub/run.test.ts', runtimes: ['deno', 'bun', ...BROWSERS_AND_JSC], reason: 'runs its fixture in a Node child process (node --import tsx); the LoopExit of each runtime is tested by test/runtimes/loop-exit.test.ts' },
  { file: 'test/conformance/greenlet/process.test.ts', runtimes: ['deno', 'bun', ...BROWSERS_AND_JSC], reason: 'runs its fixtures in Node child processes and worker threads (node --import tsx)' },
  { file: 'test/hub/sleep.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'uses node:net sockets and setImmediate' },
  { file: 'test/interop/events.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'uses node:events and node:net' },
  { file: 'test/interop/abort.test.ts', runtimes: BROWSERS_AND_JSC, reason: "uses node:events' getEventListeners" },
  { file: 'test/interop/wait.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'uses node:http and process.on' },
  { file: 'test/interop/iterate.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'uses node:net and node:stream' },
  { file: 'test/conformance/greenlet/test_version.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'reads package.json with node:fs' },
  { file: 'test/conformance/greenlet/test_leaks.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'measures process.memoryUsage()' },
  { file: 'test/hub/memory.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'measures process.memoryUsage()' },
  { file: 'test/sync/event-memory.test.ts', runtimes: BROWSERS_AND_JSC, reason: 'measures process.memoryUsage()' },
  { file: 'test/sync/schedules.property.test.ts', runtimes: ['jsc'], reason: "the testing layer reads its own URL (src/testing/sites.ts), and JavaScriptCore's shell has no URL" },
  { file: 'test/sync/event-order.property.test.ts', runtimes: ['jsc'], reason: "runs on virtual time: the testing layer reads its own URL (src/testing/sites.ts), and JavaScriptCore's shell has no URL" },
  { file: 'test/sync/rawlinks.property.test.ts', runtimes: ['jsc'], reason: "runs on virtual time: the testing layer reads its own URL (src/testing/sites.ts), and JavaScriptCore's shell has no URL" },
  { file: 'test/sync/iteration-using.test.ts', runtimes: ['jsc'], reason: "uses `using` in a for initializer, which esbuild leaves as it is and JavaScriptCore's shell cannot parse" },
  { file: 'test/conformance/greenlet/gc.test.ts', runtimes: ['firefox'], reason: 'needs gc(), which Firefox does not offer to pages' },
  { file: 'test/sync/local.test.ts', runtimes: ['firefox'], reason: 'two of its tests need gc(), which Firefox does not offer to pages' },
  {
    file: 'test/conformance/greenlet/docs.test.ts',
    test: 'gui_example.rst > gui_example.rst "Enter greenlets" (R-69): key callbacks run as macrotasks of the real event loop resume g_processor',
    runtimes: BROWSERS_AND_JSC,
    reason: 'delivers its key events with setImmediate, which only Node, Deno and Bun have',
  },
  {
    file: 'test/hub/task.test.ts',
    test: 'starting > drops its function when it ends, keeps the name, and the hub holds it no longer than the pass',
    runtimes: ['firefox'],
    reason: 'needs gc(), which Firefox does not offer to pages',
  },
  {
    file: 'test/core/js-rules.test.ts',
    test: 'cross-thread identity > refuses to switch to an object that is not a greenlet of this thread',
    runtimes: ['jsc'],
    reason: "makes its foreign object with structuredClone, which JavaScriptCore's shell does not have",
  },
  {
    file: 'test/conformance/greenlet/gc.test.ts',
    test: 'docs/greenlet_gc.rst > cycles in suspended frames are not collected while the greenlet holding them is reachable',
    runtimes: ['bun', 'jsc'],
    reason:
      "JavaScriptCore does not keep a suspended generator's dead locals alive: the test's only reference to the greenlet " +
      'is a local that is not used after the suspension, so there the greenlet is unreachable and collected (V8 keeps it)',
  },
  ...['getAsync rejects with the reason of an aborted signal and leaves the getters list', 'getAsync with an already aborted signal rejects without registering'].map(
    (test) => ({
      file: 'test/sync/queue.test.ts',
      test: `async code > ${test}`,
      runtimes: ['jsc'] as const,
      reason: "uses AbortController, which JavaScriptCore's shell does not have",
    }),
  ),
  {
    file: 'test/sync/local.test.ts',
    test: 'Local and garbage collection > lets the values of ended tasks be collected',
    runtimes: ['bun', 'jsc'],
    reason:
      'JavaScriptCore keeps some of the values alive when other tests ran before it in the same file (it passes when it ' +
      'runs first, and a program that does the same collects all five): its collector scans the native stack conservatively',
  },
];

/** Every test file of the folders above, as paths from the repository root, sorted. */
export function candidateFiles(): string[] {
  const files: string[] = [];
  for (const folder of FOLDERS) {
    for (const name of readdirSync(new URL(`../../${folder}/`, import.meta.url))) {
      if (name.endsWith('.test.ts')) files.push(`${folder}/${name}`);
    }
  }
  return files.sort();
}

/** The files a runtime runs, and the ones it skips with the reason. */
export interface RuntimeFiles {
  run: string[];
  skipped: { file: string; reason: string }[];
}

/** The files `runtime` runs of `candidates` (default: the test files there are now), and the ones it skips with the reason. */
export function filesFor(runtime: Runtime, candidates: readonly string[] = candidateFiles()): RuntimeFiles {
  const run: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of candidates) {
    const exclusion = EXCLUDED.find((e) => e.file === file && e.test === undefined && e.runtimes.includes(runtime));
    if (exclusion === undefined) run.push(file);
    else skipped.push({ file, reason: exclusion.reason });
  }
  return { run, skipped };
}

/** What one run of run.ts runs: its runtimes' files, all taken from one listing. */
export interface RunPlan {
  /** The files to bundle: every file one of the runtimes runs. */
  readonly bundle: string[];
  /** Per runtime: the files it runs (those the PATH-PARTs pick) and all those it skips. */
  readonly files: ReadonlyMap<Runtime, RuntimeFiles>;
}

/**
 * Plan a run of `runtimes` on the files whose path contains one of `only` (all if empty):
 * the test files are listed once, by `list`, and every runtime runs its part of that one
 * list. A test file added while the runtimes run is in none of them (listed again per
 * runtime, it would be run unbundled: the runtime waits the 180 s of a hung file, twice).
 */
export function planRun(runtimes: readonly Runtime[], only: readonly string[], list: () => readonly string[] = candidateFiles): RunPlan {
  const candidates = list();
  const picked = (file: string) => only.length === 0 || only.some((part) => file.includes(part));
  const files = new Map<Runtime, RuntimeFiles>();
  for (const runtime of runtimes) {
    const { run, skipped } = filesFor(runtime, candidates);
    files.set(runtime, { run: run.filter(picked), skipped });
  }
  const bundle = [...new Set([...files.values()].flatMap((f) => f.run))];
  return { bundle, files };
}

/** The tests of single files left out, for the bundles (which tell the runtimes apart themselves). */
export function excludedTests(): { file: string; test: string; runtimes: readonly Runtime[]; reason: string }[] {
  return EXCLUDED.filter((e): e is typeof e & { test: string } => e.test !== undefined);
}
