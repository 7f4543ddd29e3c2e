/**
 * Conformance: processes and threads.
 *
 * Ports of the ADAPT tests of greenlet's src/greenlet/tests/test_interpreter_shutdown.py
 * and of test_greenlet.py::test_threads, plus the cross-thread rule of the
 * port (R-66: a greenlet never moves between threads).
 *
 * Shutdown: each reference test runs its own `python -c` child; here the scenarios are
 * grouped into two child processes (`node --import tsx fixtures/shutdown-*.ts`): "quiet"
 * (no active greenlet at exit) and "busy" (active greenlets in the main thread and in
 * worker threads). Every output line is tagged with its reference test; each `it` checks
 * the exit code and its own lines. Python's `atexit` handlers are `process.on('exit')`
 * listeners; "thread exit" is a worker thread ending.
 *
 * Threads: each worker thread loads its own copy of the library and so has its own main
 * greenlet. Workers start from fixtures/ts-worker-bootstrap.mjs, which registers tsx: on
 * Node 20, `new Worker(file.ts, { execArgv: ['--import', 'tsx'] })` does not install tsx
 * in the worker.
 *
 * N/A in test_interpreter_shutdown.py:
 * - test_greenlet_construction_with_cross_thread_deleteme_during_atexit: greenlets of a
 *   worker dropped from the main thread (CPython's deferred cross-thread delete list);
 *   greenlets never cross threads in JavaScript;
 * - test_getcurrent_returns_none_during_gc_finalization,
 *   test_getcurrent_returns_none_during_gc_finalization_with_active_greenlets,
 *   test_getcurrent_returns_none_during_gc_finalization_cross_thread: `__del__` run by
 *   CPython's final GC pass in Py_FinalizeEx; JavaScript runs no finalizers at exit;
 * - test_api_getcurrent_no_system_error_at_module_gc_time: the C API
 *   (PyGreenlet_GetCurrent) during module teardown.
 * (The other N/A tests of test_greenlet.py are listed in that file's port.)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runWorker, type ForeignOutcome } from './fixtures/ts-worker.js';
import { Greenlet } from 'greenlet-ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a fixture with `node --import tsx` and wait for it to exit. */
function runFixture(name: string): Promise<ChildRun> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      // Killed if it hangs (the test is not about time); within beforeAll's limit.
      { cwd: repoRoot, env, timeout: 100_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

let quiet: ChildRun;
let busy: ChildRun;

beforeAll(async () => {
  [quiet, busy] = await Promise.all([runFixture('shutdown-quiet.ts'), runFixture('shutdown-busy.ts')]);
}, 120_000);

/** The lines a child printed for one reference test, without their tag. */
function linesOf(run: ChildRun, test: string): string[] {
  const tag = `[${test}] `;
  return run.stdout
    .split('\n')
    .filter((line) => line.startsWith(tag))
    .map((line) => line.slice(tag.length));
}

/** The child exited normally with status 0 (the reference: "Process crashed" otherwise). */
function expectCleanExit(run: ChildRun): void {
  expect({ code: run.code, signal: run.signal }, `the child crashed:\n${run.stdout}${run.stderr}`).toEqual({
    code: 0,
    signal: null,
  });
}

describe('test_interpreter_shutdown.py', () => {
  describe('group A: no crash with active greenlets at exit', () => {
    it('test_active_greenlet_at_shutdown_no_crash: the process exits cleanly with a suspended greenlet', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_active_greenlet_at_shutdown_no_crash')).toEqual(['OK: exiting with active greenlet']);
    });

    it('test_multiple_active_greenlets_at_shutdown: the process exits cleanly with 10 suspended greenlets', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_multiple_active_greenlets_at_shutdown')).toEqual(['OK: 10 active greenlets at shutdown']);
    });

    it('test_nested_greenlets_at_shutdown: the process exits cleanly with nested suspended greenlets', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_nested_greenlets_at_shutdown')).toEqual(['OK: nested greenlets at shutdown']);
    });

    it('test_threaded_greenlets_at_shutdown: worker threads holding suspended greenlets exit cleanly', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_threaded_greenlets_at_shutdown')).toEqual([
        'OK: 3 threaded greenlets at shutdown (exit codes 0,0,0)',
      ]);
    });
  });

  describe('group B: cleanup when a thread exits', () => {
    // Departure (R-82 leaves it optional): CPython throws GreenletExit into the suspended
    // greenlets of a thread that ends; the core keeps no list of live greenlets (it would
    // cost memory on every one), so a worker that ends simply discards them and their
    // finally blocks do not run. Kill them before the thread ends (g.throw()). These two
    // tests pin that documented behaviour; see docs/coming-from-greenlet.md.
    it('test_greenlet_cleanup_during_thread_exit (departure): a thread ending with a suspended greenlet does not throw GreenletExit into it', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_greenlet_cleanup_during_thread_exit')).toEqual([
        'OK: thread cleanup done (exit code 0)',
      ]);
    });

    it('test_finally_block_during_thread_exit (departure): a thread ending with a suspended greenlet does not run its finally block', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_finally_block_during_thread_exit')).toEqual([
        'OK: thread cleanup done (exit code 0)',
      ]);
    });

    it('test_many_greenlets_with_cleanup_at_shutdown: the process exits cleanly with 50 suspended greenlets that catch GreenletExit', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_many_greenlets_with_cleanup_at_shutdown')).toEqual([
        'OK: 50 greenlets about to shut down',
      ]);
    });

    it('test_deeply_nested_greenlets_at_shutdown: the process exits cleanly with a parent chain 10 deep', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_deeply_nested_greenlets_at_shutdown')).toEqual(['OK: nested to depth 10, got depth-0']);
    });

    it('test_greenlet_with_traceback_at_shutdown: the process exits cleanly with a greenlet suspended inside a catch block', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_greenlet_with_traceback_at_shutdown')).toEqual([
        'OK: greenlet with active exception at shutdown',
      ]);
    });
  });

  describe('group C: the API keeps working in exit handlers', () => {
    it('test_getcurrent_during_atexit_no_crash: getcurrent() in an exit handler returns the main greenlet', () => {
      expectCleanExit(quiet);
      expect(linesOf(quiet, 'test_getcurrent_during_atexit_no_crash')).toEqual([
        'OK: atexit registered',
        'OK: getcurrent returned valid greenlet',
      ]);
    });

    it('test_gettrace_during_atexit_no_crash: gettrace() works in an exit handler', () => {
      expectCleanExit(quiet);
      expect(linesOf(quiet, 'test_gettrace_during_atexit_no_crash')).toEqual([
        'OK: registered',
        'OK: gettrace returned null',
      ]);
    });

    it('test_settrace_during_atexit_no_crash: settrace() works in an exit handler', () => {
      expectCleanExit(quiet);
      expect(linesOf(quiet, 'test_settrace_during_atexit_no_crash')).toEqual(['OK: registered', 'OK: settrace succeeded']);
    });

    it('test_getcurrent_with_active_greenlets_during_atexit: getcurrent() in an exit handler works with suspended greenlets around', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_getcurrent_with_active_greenlets_during_atexit')).toEqual([
        'OK: 5 active greenlets, atexit registered',
        'OK: getcurrent returned valid greenlet',
      ]);
    });

    it('test_greenlet_construction_during_atexit_no_crash: a greenlet can be created in an exit handler', () => {
      expectCleanExit(quiet);
      expect(linesOf(quiet, 'test_greenlet_construction_during_atexit_no_crash')).toEqual([
        'OK: atexit registered',
        'OK: created greenlet successfully',
      ]);
    });

    it('test_greenlet_construction_with_active_greenlets_during_atexit: greenlets can be created in an exit handler with suspended greenlets around', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_greenlet_construction_with_active_greenlets_during_atexit')).toEqual([
        'OK: 10 active greenlets, atexit registered',
        'OK: created 5 greenlets at exit',
      ]);
    });
  });

  describe('group D: late exit handlers and teardown', () => {
    it('test_getcurrent_returns_none_during_atexit_phase: getcurrent() still returns a greenlet in an exit handler registered before the import', () => {
      expectCleanExit(quiet);
      expect(linesOf(quiet, 'test_getcurrent_returns_none_during_atexit_phase')).toEqual([
        'OK: atexit registered before greenlet import',
        'UNGUARDED: getcurrent=Greenlet',
      ]);
    });

    it('test_getcurrent_returns_none_during_atexit_phase_with_active_greenlets: the same with suspended greenlets around', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_getcurrent_returns_none_during_atexit_phase_with_active_greenlets')).toEqual([
        'OK: 10 active greenlets, atexit registered',
        'UNGUARDED: getcurrent=Greenlet',
      ]);
    });

    it('test_switch_no_error_at_module_gc_time: switching to a captured greenlet in the last exit handler works', () => {
      expectCleanExit(busy);
      expect(linesOf(busy, 'test_switch_no_error_at_module_gc_time')).toEqual([
        'current 2',
        'Destructor running',
        'current 2',
        'Result 1',
      ]);
    });
  });
});

describe('test_greenlet.py (threads)', () => {
  it('test_threads: the simple switching test runs in 10 worker threads, each with its own main greenlet', async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, () => runWorker<number[]>({ kind: 'simple' })));
    const success = runs.filter((run) => run.exitCode === 0 && run.messages.length === 1);
    expect(success).toHaveLength(10);
    for (const run of runs) expect(run.messages).toEqual([[0, 1, 2, 3, 4]]);
    // Ten threads, each registering tsx and loading the library's sources: 14 s at a load
    // of 15 (2 cores). The limit only stops a hang; the test is not about time.
  }, 120_000);
});

describe('cross-thread rule (R-66)', () => {
  it('a greenlet posted to a worker arrives as a plain copy, and switching to it there throws GreenletError', async () => {
    const g = new Greenlet(function* () {});
    const { messages, exitCode } = await runWorker<ForeignOutcome>({ kind: 'foreign' }, g);
    expect(exitCode).toBe(0);
    expect(messages).toHaveLength(1);
    const outcome = messages[0]!;
    expect(outcome.receivedAGreenlet).toBe(false);
    expect(outcome.threw).toBe(true);
    expect(outcome.isGreenletError).toBe(true);
    expect(outcome.name).toBe('GreenletError');
    expect(outcome.message).toMatch(/not a greenlet of this thread/);
    // The original is untouched in its own thread.
    expect(g.started).toBe(false);
  });
});
