/**
 * The part of vitest's API our test files use, for runtimes vitest does not run on (Deno,
 * Bun, browsers, JavaScriptCore's shell). The bundler (bundle.ts) aliases the `vitest`
 * import of a test file to this module, so every runtime runs the very same file.
 *
 * - `expect` is vitest's own: @vitest/expect's matchers on chai, as vitest assembles them.
 * - `describe` / `it` / `test` (with `.each`, `.skip`, `.skipIf`, `.runIf`, `.todo`,
 *   `.only`, `.concurrent`) and the four hooks behave as vitest's defaults do: tests run
 *   one after the other in the order they were declared, `beforeEach` outer-first,
 *   `afterEach` inner-first, a `beforeEach` may return a cleanup, a test times out after
 *   {@link TEST_TIMEOUT} ms (vitest.config.ts), a hook after 10 s unless told otherwise;
 *   a `beforeAll` that throws fails its suite (a result `... > (beforeAll)`), skips every
 *   test in it, inner suites' too, and its `afterAll` hooks still run.
 *   `.concurrent` runs sequentially (allowed: it only permits overlap).
 * - `expectTypeOf` is expect-type's, which does nothing at run time, as in vitest.
 * - `vi` has vitest's spies and mocks (@vitest/spy): `fn`, `spyOn`, `restoreAllMocks`, ...
 *
 * Anything else a test file imports from 'vitest' fails the bundle with esbuild's "No
 * matching export" error, naming the file and the name: add it here then.
 *
 * @module
 */
import { JestAsymmetricMatchers, JestChaiExpect, JestExtend, chai } from '@vitest/expect';
import { clearAllMocks, fn, isMockFunction, resetAllMocks, restoreAllMocks, spyOn } from '@vitest/spy';

export { expectTypeOf } from 'expect-type';

/** vitest's `vi`, the part of it that is @vitest/spy's (mocks and spies), as vitest has it. */
export const vi = { fn, spyOn, isMockFunction, clearAllMocks, resetAllMocks, restoreAllMocks };

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

/** vitest's `expect`, built the way @vitest/expect documents. */
export const expect = chai.expect as unknown as typeof import('vitest').expect;

/** vitest.config.ts's `testTimeout`. */
export const TEST_TIMEOUT = 20_000;
const HOOK_TIMEOUT = 10_000;

type Fn = () => unknown;
interface Hook {
  fn: Fn;
  timeout: number;
}
interface TestCase {
  kind: 'test';
  name: string;
  fn: Fn | null;
  timeout: number;
  skip: boolean;
}
interface Suite {
  kind: 'suite';
  name: string;
  children: (Suite | TestCase)[];
  beforeAll: Hook[];
  afterAll: Hook[];
  beforeEach: Hook[];
  afterEach: Hook[];
  skip: boolean;
}

function newSuite(name: string, skip: boolean): Suite {
  return { kind: 'suite', name, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [], skip };
}

const root = newSuite('', false);
let collecting: Suite = root;

/** vitest's name formatting for `.each`: printf-style `%s %d %i %f %j %o %O %#`, or `$name` of an object row. */
function formatName(template: string, row: unknown, index: number): string {
  const args = Array.isArray(row) ? [...row] : [row];
  let name = template.replace(/%([sdifjoO#%])/g, (whole, kind: string) => {
    if (kind === '%') return '%';
    if (kind === '#') return String(index);
    if (args.length === 0) return whole;
    const value = args.shift();
    switch (kind) {
      case 'd':
      case 'i':
        return String(Math.trunc(Number(value)));
      case 'f':
        return String(Number(value));
      case 'j':
      case 'o':
      case 'O':
        return JSON.stringify(value);
      default:
        return typeof value === 'function' ? String((value as { name?: string }).name ?? value) : String(value);
    }
  });
  if (!Array.isArray(row) && typeof row === 'object' && row !== null) {
    name = name.replace(/\$([A-Za-z_][\w.]*)/g, (whole, key: string) => (key in row ? String((row as Record<string, unknown>)[key]) : whole));
  }
  return name;
}

function splitArgs(a: unknown, b: unknown): { fn: Fn | null; timeout: number | undefined } {
  // it(name, fn, timeout) or it(name, { timeout }, fn)
  if (typeof a === 'function') return { fn: a as Fn, timeout: typeof b === 'number' ? b : (b as { timeout?: number } | undefined)?.timeout };
  if (typeof b === 'function') return { fn: b as Fn, timeout: (a as { timeout?: number } | undefined)?.timeout };
  return { fn: null, timeout: undefined };
}

function declareSuite(name: string, a: unknown, b: unknown, skip: boolean): void {
  const { fn } = splitArgs(a, b);
  const suite = newSuite(name, skip || collecting.skip);
  collecting.children.push(suite);
  const outer = collecting;
  collecting = suite;
  try {
    fn?.();
  } finally {
    collecting = outer;
  }
}

function declareTest(name: string, a: unknown, b: unknown, skip: boolean): void {
  const { fn, timeout } = splitArgs(a, b);
  collecting.children.push({ kind: 'test', name, fn, timeout: timeout ?? TEST_TIMEOUT, skip: skip || fn === null || collecting.skip });
}

type Declare = (name: string, a?: unknown, b?: unknown) => void;
interface Api extends Declare {
  skip: Declare;
  only: Declare;
  todo: Declare;
  concurrent: Api;
  sequential: Api;
  skipIf(condition: unknown): Declare;
  runIf(condition: unknown): Declare;
  each(table: readonly unknown[]): (name: string, fn: (...args: unknown[]) => unknown, timeout?: number) => void;
}

function api(declare: (name: string, a: unknown, b: unknown, skip: boolean) => void): Api {
  const make = (skip: boolean): Declare => (name, a, b) => declare(name, a, b, skip);
  const self = make(false) as Api;
  self.skip = make(true);
  self.only = make(false);
  self.todo = (name) => declare(name, undefined, undefined, true);
  self.concurrent = self;
  self.sequential = self;
  self.skipIf = (condition) => make(Boolean(condition));
  self.runIf = (condition) => make(!condition);
  self.each = (table) => (name, fn, timeout) => {
    table.forEach((row, index) => {
      const args = Array.isArray(row) ? row : [row];
      declare(formatName(name, row, index), () => fn(...args), timeout, false);
    });
  };
  return self;
}

export const describe = api(declareSuite);
export const it = api(declareTest);
export const test = it;

const hook = (list: keyof Pick<Suite, 'beforeAll' | 'afterAll' | 'beforeEach' | 'afterEach'>) => (fn: Fn, timeout?: number) => {
  collecting[list].push({ fn, timeout: timeout ?? HOOK_TIMEOUT });
};
export const beforeAll = hook('beforeAll');
export const afterAll = hook('afterAll');
export const beforeEach = hook('beforeEach');
export const afterEach = hook('afterEach');

// --- running ---------------------------------------------------------------------------

/** The outcome of one test, as the runner reports it. */
export interface TestResult {
  readonly name: string;
  readonly state: 'pass' | 'fail' | 'skip';
  readonly ms: number;
  readonly error?: string;
  /** Why a test was left out on this runtime (files.ts). */
  readonly reason?: string;
}

let excluded = new Map<string, string>();
/** Leave out the tests named (full names, suites joined by ' > '), each with its reason. */
export function skipTests(tests: Map<string, string>): void {
  excluded = tests;
}

class TimeoutError extends Error {}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const stack = typeof error.stack === 'string' && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}\n${error.stack ?? ''}`;
    return stack.split('\n').slice(0, 12).join('\n');
  }
  return String(error);
}

/** Run `fn` with a time limit; a timer of the host, cleared when `fn` settles. */
async function withTimeLimit(fn: Fn, ms: number, what: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`${what} timed out in ${ms}ms`)), ms);
      }),
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const nowMs = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Run everything the test file declared, in order; `report` hears each result as it comes.
 * Errors that escape a test (unhandled rejections, uncaught errors) are reported by the
 * host runner through {@link failCurrent}.
 */
export async function runCollected(report: (result: TestResult) => void): Promise<TestResult[]> {
  const results: TestResult[] = [];
  const emit = (result: TestResult) => {
    results.push(result);
    report(result);
  };
  await runSuite(root, [], [], emit);
  return results;
}

let escaped: unknown[] = [];
/** An error escaped (an unhandled rejection, an uncaught exception): the running test fails. */
export function failCurrent(error: unknown): void {
  escaped.push(error);
}

function skipAll(suite: Suite, path: string[], emit: (r: TestResult) => void): void {
  for (const child of suite.children) {
    if (child.kind === 'suite') skipAll(child, [...path, child.name], emit);
    else emit({ name: [...path, child.name].join(' > '), state: 'skip', ms: 0 });
  }
}

async function runSuite(suite: Suite, path: string[], outerEach: Suite[], emit: (r: TestResult) => void): Promise<void> {
  const chain = [...outerEach, suite];
  const hasTests = (s: Suite): boolean => s.children.some((c) => (c.kind === 'test' ? !c.skip : hasTests(c)));
  if (!hasTests(suite)) {
    skipAll(suite, path, emit);
    return;
  }
  try {
    for (const h of suite.beforeAll) await withTimeLimit(h.fn, h.timeout, 'beforeAll hook');
  } catch (error) {
    // As vitest: the suite fails with the hook's error, its tests (those of inner suites
    // too) are skipped, and its afterAll hooks still run.
    emit({ name: [...path, '(beforeAll)'].join(' > '), state: 'fail', ms: 0, error: describeError(error) });
    skipAll(suite, path, emit);
    await runAfterAll(suite, path, emit);
    return;
  }
  for (const child of suite.children) {
    const name = [...path, child.name];
    if (child.kind === 'suite') {
      await runSuite(child, name, chain, emit);
      continue;
    }
    if (child.skip || child.fn === null) {
      emit({ name: name.join(' > '), state: 'skip', ms: 0 });
      continue;
    }
    const reason = excluded.get(name.join(' > '));
    if (reason !== undefined) {
      emit({ name: name.join(' > '), state: 'skip', ms: 0, reason });
      continue;
    }
    emit(await runTest(child, name.join(' > '), chain));
  }
  await runAfterAll(suite, path, emit);
}

async function runAfterAll(suite: Suite, path: string[], emit: (r: TestResult) => void): Promise<void> {
  for (const h of [...suite.afterAll].reverse()) {
    try {
      await withTimeLimit(h.fn, h.timeout, 'afterAll hook');
    } catch (error) {
      emit({ name: [...path, '(afterAll)'].join(' > '), state: 'fail', ms: 0, error: describeError(error) });
    }
  }
}

async function runTest(test: TestCase, name: string, chain: Suite[]): Promise<TestResult> {
  const started = nowMs();
  const errors: unknown[] = [];
  const cleanups: Fn[] = [];
  escaped = [];
  try {
    for (const suite of chain) {
      for (const h of suite.beforeEach) {
        const cleanup = await withTimeLimit(h.fn, h.timeout, 'beforeEach hook');
        if (typeof cleanup === 'function') cleanups.push(cleanup as Fn);
      }
    }
    await withTimeLimit(test.fn as Fn, test.timeout, 'Test');
  } catch (error) {
    errors.push(error);
  }
  // Let errors that escape the test through the host's queues show up before it ends.
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (const cleanup of cleanups.reverse()) {
    try {
      await withTimeLimit(cleanup, HOOK_TIMEOUT, 'beforeEach cleanup');
    } catch (error) {
      errors.push(error);
    }
  }
  // vitest runs every afterEach, even when a beforeEach failed.
  for (const suite of [...chain].reverse()) {
    for (const h of [...suite.afterEach].reverse()) {
      try {
        await withTimeLimit(h.fn, h.timeout, 'afterEach hook');
      } catch (error) {
        errors.push(error);
      }
    }
  }
  errors.push(...escaped);
  escaped = [];
  const ms = Math.round(nowMs() - started);
  if (errors.length === 0) return { name, state: 'pass', ms };
  return { name, state: 'fail', ms, error: errors.map(describeError).join('\n---\n') };
}
