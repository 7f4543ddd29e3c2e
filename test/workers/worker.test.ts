/**
 * workers/worker: startWorkers runs a module's default export as the main task of a
 * thread with its own hub; the handle joins it, reports its result or how it ended, and
 * terminates it. Real worker threads, started from TypeScript source through the
 * fixtures' bootstrap (StartWorkersOptions.runner); every test checks that no thread,
 * timer, task or channel end is left behind.
 */
import fs from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  GreenletError,
  Timeout,
  getHub,
  printReport,
  run,
  spawn,
  wait,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import { openEndCount, remoteChannel } from '../../src/workers/remote-channel.js';
import { WorkerExited, WorkerFailed, startWorker, startWorkers, type WorkerHandle } from '../../src/workers/worker.js';
import type { ContextReport } from './fixtures/context.js';
import { expectThreadsBackTo, osThreads } from './threads.js';

const runner = new URL('./fixtures/bootstrap.mjs', import.meta.url);
const fixture = (name: string): URL => new URL(`./fixtures/${name}.ts`, import.meta.url);


let threadsBefore = 0;

beforeAll(async () => {
  // Start libuv's thread pool now, so that its threads are in every baseline.
  await fs.promises.readFile(new URL(import.meta.url));
});

beforeEach(() => {
  threadsBefore = osThreads();
});

afterEach(async () => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
  expect(openEndCount()).toBe(0);
  await expectThreadsBackTo(threadsBefore);
});

/** The error `handle.get()` raises. */
function* failureOf(handle: WorkerHandle): GreenletBody<unknown> {
  try {
    yield* handle.get();
  } catch (e) {
    return e;
  }
  throw new Error(`${String(handle)} did not fail`);
}

/**
 * Each test starts worker threads that load tsx and greenlet-ts's sources: 0.1-5 s each at
 * a load of 8, 5-8 s at a load of 24 (2 cores); the limit only stops a hang.
 */
const WORKER_TESTS = { timeout: 30_000 };

describe('startWorkers', WORKER_TESTS, () => {
  it('runs the example of its documentation: jobs in, squares out, the main task result back', async () => {
    const result = await run(function* () {
      const [jobs, jobsThere] = remoteChannel<number>(16);
      const [resultsThere, results] = remoteChannel<number>(16);
      const [worker] = startWorkers<string>(fixture('square'), {
        count: 1,
        runner,
        data: { jobs: jobsThere, results: resultsThere },
      });
      for (let i = 1; i <= 3; i++) yield* jobs.send(i);
      jobs.close();
      const squares: number[] = [];
      for (const it = results.iterate(); yield* it.next(); ) squares.push(it.value);
      return { squares, done: yield* worker!.get() };
    });
    expect(result).toEqual({ squares: [1, 4, 9], done: 'done' });
  });


  it('runs the default export as the main task of each thread, with its own hub; get() evaluates to what it returns', async () => {
    const reports = await run(function* () {
      const workers = startWorkers<ContextReport>(fixture('context'), { count: 2, runner, data: { tag: 'shared' } });
      const out: ContextReport[] = [];
      for (const w of workers) out.push(yield* w.get());
      return out;
    });
    expect(reports.map((r) => [r.index, r.count, r.data, r.isMainThread, r.fromTasks])).toEqual([
      [0, 2, { tag: 'shared' }, false, [10, 20, 30]],
      [1, 2, { tag: 'shared' }, false, [10, 20, 30]],
    ]);
    expect(reports[0]?.threadId).not.toBe(reports[1]?.threadId);
  });

  it('gives each worker its own start data with dataFor', async () => {
    const results = await run(function* () {
      const workers = startWorkers<number, number>(fixture('plain'), { count: 3, runner, dataFor: (i) => i + 1 });
      const out: number[] = [];
      for (const w of workers) out.push(yield* w.get());
      return out;
    });
    expect(results).toEqual([100, 201, 302]); // a plain (non-generator) main function works too
  });

  it('refuses a count that is not a whole number >= 1', () => {
    expect(() => startWorkers(fixture('plain'), { count: 0, runner })).toThrow(RangeError);
    expect(() => startWorkers(fixture('plain'), { count: 1.5, runner })).toThrow(/whole number >= 1/);
  });

  it('refuses start data that holds a Task, with a GreenletError, and starts no thread', async () => {
    const error = await run(function* () {
      const task = spawn(() => 1);
      try {
        startWorkers(fixture('plain'), { count: 2, runner, data: { job: task } });
      } catch (e) {
        return e;
      } finally {
        yield* task.join();
      }
      return null;
    });
    expect(error).toBeInstanceOf(GreenletError);
    expect(String(error)).toMatch(/cannot be sent to another thread.*result/);
  });
});

describe('a WorkerHandle', WORKER_TESTS, () => {
  it('can be awaited from async code with toPromise()', async () => {
    const w = startWorker<number, number>(fixture('plain'), { runner, data: 4 });
    await expect(w.toPromise()).resolves.toBe(400);
    expect([w.ready(), w.successful(), w.value, w.exitCode]).toEqual([true, true, 400, 0]);
  });

  it('raises WorkerFailed from get() when the main task raises, with the worker error and its stack as cause', async () => {
    const error = await run(function* () {
      const w = startWorker(fixture('throws'), { runner });
      expect(yield* w.join()).toBe(true); // join() never raises
      expect(w.exception).toBeInstanceOf(WorkerFailed);
      return yield* failureOf(w);
    });
    expect(error).toBeInstanceOf(WorkerFailed);
    const failed = error as WorkerFailed;
    expect(failed.message).toBe('worker 0 (throws.ts) failed: TypeError: bad input: 42');
    expect(failed.index).toBe(0);
    const cause = failed.cause as Error;
    expect([cause.name, cause.message]).toEqual(['TypeError', 'bad input: 42']);
    expect(cause.stack).toMatch(/throws\.ts/);
  });

  it('raises WorkerExited with the exit code when the worker calls process.exit()', async () => {
    const error = await run(function* () {
      const w = startWorker(fixture('exits'), { runner });
      const e = yield* failureOf(w);
      expect(w.exitCode).toBe(3);
      return e;
    });
    expect(error).toBeInstanceOf(WorkerExited);
    expect((error as WorkerExited).exitCode).toBe(3);
    expect((error as WorkerExited).terminated).toBe(false);
    expect(String(error)).toMatch(/exited with code 3 before its main task ended/);
  });

  it('terminate() stops a running worker: WorkerExited with terminated set, and its thread is gone', async () => {
    const error = await run(function* () {
      const w = startWorker(fixture('sleeps'), { runner });
      expect(w.ready()).toBe(false);
      w.terminate();
      w.terminate(); // a second call does nothing
      expect(yield* w.join()).toBe(true);
      return yield* failureOf(w);
    });
    expect(error).toBeInstanceOf(WorkerExited);
    expect((error as WorkerExited).terminated).toBe(true);
    expect(String(error)).toMatch(/was terminated before its main task ended/);
  });

  it('get(timeout) raises a Timeout while the worker still runs', async () => {
    await run(function* () {
      const w = startWorker(fixture('sleeps'), { runner });
      let error: unknown = null;
      try {
        yield* w.get(20);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Timeout);
      expect(yield* w.join(20)).toBe(false);
      w.terminate();
      yield* w.join();
    });
  });

  it('is a Waitable: wait() returns once every worker has ended', async () => {
    const values = await run(function* () {
      const workers = startWorkers<number, number>(fixture('plain'), { count: 2, runner, data: 7 });
      const done = yield* wait(workers);
      expect(done).toHaveLength(2);
      return workers.map((w) => w.value);
    });
    expect(values).toEqual([700, 701]);
  });

  it('fails with a TypeError that says what to export when the module has no default export function', async () => {
    const error = await run(function* () {
      return yield* failureOf(startWorker(fixture('no-default'), { runner }));
    });
    expect(error).toBeInstanceOf(WorkerFailed);
    expect(((error as WorkerFailed).cause as Error).name).toBe('TypeError');
    expect(String(error)).toMatch(/no default export function.*export default function\*/);
  });

  it('fails with LoopExit when the main task waits on something nothing can wake', async () => {
    const error = await run(function* () {
      return yield* failureOf(startWorker(fixture('forever'), { runner }));
    });
    expect(((error as WorkerFailed).cause as Error).name).toBe('LoopExit');
    expect(String(error)).toMatch(/would wait forever/);
  });

  it('fails with a GreenletError when the main task returns a Task', async () => {
    const error = await run(function* () {
      return yield* failureOf(startWorker(fixture('returns-task'), { runner }));
    });
    expect(((error as WorkerFailed).cause as Error).name).toBe('GreenletError');
    expect(String(error)).toMatch(/cannot be sent to another thread/);
  });

  it('runs a TypeScript worker without a runner: tsx is registered in the thread (test/workers/typescript.test.ts)', async () => {
    const [withRunner, without] = await run(function* () {
      return [yield* startWorker<number, number>(fixture('plain'), { runner, data: 1 }).get(), yield* startWorker<number, number>(fixture('plain'), { data: 1 }).get()];
    });
    expect(without).toEqual(withRunner);
  });

  it('names the runner when a runner leaves the thread unable to load TypeScript', async () => {
    const error = await run(function* () {
      return yield* failureOf(startWorker(fixture('plain'), { runner: new URL('./fixtures/no-loader.mjs', import.meta.url), data: 1 }));
    });
    expect(error).toBeInstanceOf(WorkerFailed);
    expect(String(error)).toMatch(/Unknown file extension "\.ts".*\(the thread cannot load a TypeScript file: give startWorkers a `runner` that registers your TypeScript loader/);
  });

  it('reports a failure that nobody observes to the hub reporter', async () => {
    const reports: HubReport[] = [];
    getHub().reporter = (report) => reports.push(report);
    try {
      const w = startWorker(fixture('throws'), { runner });
      await new Promise((resolve) => w.thread.once('exit', resolve));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(reports).toHaveLength(1);
      const report = reports[0] as HubReport & { kind: 'callback-error' };
      expect(report.where).toBe('worker 0 (throws.ts), which nobody joined');
      expect(report.error).toBeInstanceOf(WorkerFailed);
    } finally {
      getHub().reporter = printReport;
    }
  });
});
