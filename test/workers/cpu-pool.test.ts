/**
 * CpuPool: CPU-bound jobs on real worker threads (piscina), called from tasks.
 *
 * The worker modules are .mjs fixtures (no loader in the threads): hash-worker.mjs, the
 * example of a worker module, and jobs.mjs, one named export per behaviour. The jobs
 * report to the test through a SharedArrayBuffer (`workerData.flags`), so the tests wait
 * for events in the threads (Atomics.waitAsync), never for time.
 *
 * Every test destroys its pool and checks that nothing is left: no hub timer, no live
 * task, no hub report, and no thread beyond those the process had before the test (the
 * threads of /proc/self/task).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  run,
  sleep,
  spawn,
  waitFor,
  type GreenletBody,
  type SwitchOp,
  type Task,
} from 'greenlet-ts';
import { JOBS, RUNS, expectEachTestToLeaveNothing, newFlags, type Count } from './pool-fixture.js';
import { expectThreadsBackTo, osThreads } from './threads.js';
import { CpuPool, CpuPoolClosed, WorkerCrashedError, WorkerJobError, type CpuPoolOptions } from '../../src/workers/cpu-pool.js';

const HASH_WORKER = new URL('./fixtures/hash-worker.mjs', import.meta.url);

// The worker functions of the fixtures, as the pool sees them.
type Hash = (input: { text: string; rounds: number }) => string;
type Echo = (data: unknown) => { data: unknown; threadId: number };
type Spin = (ms: number) => number;
type SpinUntilReleased = () => boolean;
type Rendezvous = (parties: number) => [boolean, number];
type Fail = (input: unknown) => number;
type Exit = (code: number) => never;
type Crash = () => Promise<never>;

// The slots of workerData.flags (see fixtures/jobs.mjs).
const MAX_RUNNING = 1;
const STARTED = 2;
const RELEASE = 3;
const FINISHED = 4;
const SPIN_THREAD = 5;

function jobsPool(flags: Int32Array, options: Partial<CpuPoolOptions> = {}): CpuPool<Echo> {
  return new CpuPool<Echo>({ filename: JOBS, workerData: { flags: flags.buffer }, ...options });
}

function hashHere(text: string, rounds: number): string {
  let digest = text;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Wait in the task until `flags[slot] >= atLeast`, as a worker thread sets it. */
function* until(flags: Int32Array, slot: number, atLeast: number): GreenletBody<void> {
  for (;;) {
    const seen = Atomics.load(flags, slot);
    if (seen >= atLeast) return;
    const result = waitAsync(flags, slot, seen, 10_000);
    if (result.async) yield* waitFor(result.value);
  }
}

/** Every task's result, in order. */
function* results<T>(tasks: Task<T>[]): GreenletBody<T[]> {
  const out: T[] = [];
  for (const task of tasks) out.push(yield* task.get());
  return out;
}

expectEachTestToLeaveNothing();

describe('CpuPool: results', () => {
  it('runs a job on a worker thread and evaluates to what the worker function returns', async () => {
    await using pool = new CpuPool<Hash>({ filename: HASH_WORKER, maxThreads: 1 });
    const digest = await run(() => pool.run({ text: 'greenlet', rounds: 3 }));
    expect(digest).toBe(hashHere('greenlet', 3));
  });

  it('calls the export named by `name`, and copies the data both ways', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const [echoed, counted] = await run(function* () {
      const data = { list: [1, 2, 3], when: new Date(0) };
      const echoed = yield* pool.run(data);
      const counted = yield* pool.run<Count>(7, { name: 'count' });
      return [echoed, counted] as const;
    });
    expect(echoed.data).toEqual({ list: [1, 2, 3], when: new Date(0) });
    expect(echoed.threadId).toBeGreaterThan(0);
    expect(counted).toBe(7);
    expect(Atomics.load(flags, RUNS + 7)).toBe(1);
  });

  it('moves the buffers of transferList to the thread instead of copying them', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const bytes = new Uint8Array([1, 2, 3]);
    const echoed = await run(() => pool.run(bytes, { transferList: [bytes.buffer] }));
    expect(bytes.byteLength).toBe(0); // detached: it was moved
    expect(echoed.data).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('runAsync() gives a promise of the result, for async code', async () => {
    await using pool = new CpuPool<Hash>({ filename: HASH_WORKER, maxThreads: 1 });
    await expect(pool.runAsync({ text: 'async', rounds: 2 })).resolves.toBe(hashHere('async', 2));
  });

  it('run() outside a task is a BlockingError that says to use a task', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    expect(() => pool.run(1)).toThrow(BlockingError);
    expect(() => pool.run(1)).toThrow(/pool\.run\(\)/);
  });

  it('refuses a worker module that does not exist, saying which', () => {
    expect(() => new CpuPool({ filename: new URL('./fixtures/missing.mjs', import.meta.url) })).toThrow(
      /missing\.mjs does not exist/,
    );
  });
});

describe('CpuPool: threads and concurrency', () => {
  it('has one thread per core by default', async () => {
    await using pool = jobsPool(newFlags());
    expect(pool.maxThreads).toBe(os.availableParallelism());
    expect(pool.threads).toBe(os.availableParallelism());
  });

  it('lets the other tasks run while a job runs', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const [released, ticks] = await run(function* () {
      // The job spins until this thread releases it: it returns true only if the ticker
      // ran while the job's task was parked.
      const ticker = spawn(function* () {
        yield* until(flags, STARTED, 1);
        let ticks = 0;
        while (ticks < 20) {
          yield* sleep(0);
          ticks++;
        }
        Atomics.store(flags, RELEASE, 1);
        return ticks;
      });
      const released = yield* pool.run<SpinUntilReleased>(undefined, { name: 'spinUntilReleased' });
      return [released, yield* ticker.get()];
    });
    expect(released).toBe(true);
    expect(ticks).toBe(20);
  });

  it('runs the jobs of as many tasks as it has threads at the same time', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags);
    const n = pool.maxThreads;
    // Each job waits inside its thread until all n have arrived: they all meet only if
    // they run at once (a pool that ran them one by one would time out in the first).
    const met = await run(() =>
      results(Array.from({ length: n }, () => spawn(() => pool.run<Rendezvous>(n, { name: 'rendezvous' })))),
    );
    expect(met.every(([ok]) => ok)).toBe(true);
    expect(new Set(met.map(([, threadId]) => threadId)).size).toBe(n);
  });

  it('spreads 8 jobs from 8 tasks over every thread, several at once', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags);
    const n = pool.maxThreads;
    // Warm up: every thread has loaded the module and is idle.
    await run(() => results(Array.from({ length: n }, () => spawn(() => pool.run<Rendezvous>(n, { name: 'rendezvous' })))));
    const threadIds = await run(() =>
      results(Array.from({ length: 8 }, () => spawn(() => pool.run<Spin>(30, { name: 'spin' })))),
    );
    expect(new Set(threadIds).size).toBe(Math.min(8, n));
    expect(Atomics.load(flags, MAX_RUNNING)).toBe(Math.min(8, n));
    expect(pool.completed).toBe(n + 8);
    expect(pool.utilization).toBeGreaterThan(0);
  });
});

describe('CpuPool: cancellation', () => {
  /** One thread, busy with a job that spins until released; evaluates to its task. */
  function* occupy(pool: CpuPool<Echo>, flags: Int32Array): GreenletBody<Task<boolean>> {
    const busy = spawn(() => pool.run<SpinUntilReleased>(undefined, { name: 'spinUntilReleased' }));
    yield* until(flags, STARTED, 1);
    return busy;
  }

  it('killing a task whose job waits in the queue removes the job: it never runs', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const outcome = await run(function* () {
      const busy = yield* occupy(pool, flags);
      const waiting = spawn(() => pool.run<Count>(1, { name: 'count' }));
      yield* sleep(0); // the waiting task has submitted its job
      const queuedBefore = pool.queueSize;
      yield* waiting.kill();
      const queuedAfter = pool.queueSize;
      Atomics.store(flags, RELEASE, 1);
      const released = yield* busy.get();
      yield* pool.run<Count>(2, { name: 'count' }); // the queue moved on past it
      return { queuedBefore, queuedAfter, released, killedWith: waiting.value };
    });
    expect(outcome.queuedBefore).toBe(1);
    expect(outcome.queuedAfter).toBe(0);
    expect(outcome.released).toBe(true);
    expect(outcome.killedWith).toBeInstanceOf(GreenletExit);
    expect(Atomics.load(flags, RUNS + 1)).toBe(0);
    expect(Atomics.load(flags, RUNS + 2)).toBe(1);
  });

  it('killing a task whose job runs terminates the thread running it, and the pool starts another', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const outcome = await run(function* () {
      const busy = yield* occupy(pool, flags);
      const spinning = Atomics.load(flags, SPIN_THREAD);
      yield* busy.kill();
      const next = yield* pool.run('after');
      return { spinning, next, killedWith: busy.value };
    });
    expect(outcome.killedWith).toBeInstanceOf(GreenletExit);
    expect(outcome.next.threadId).not.toBe(outcome.spinning);
    expect(Atomics.load(flags, FINISHED)).toBe(0); // the job never got to return
    expect(pool.threads).toBe(1);
  });

  it('the timeout option removes a queued job when it strikes: a Timeout in the task, the job never runs', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const caught = await run(function* () {
      const busy = yield* occupy(pool, flags);
      let caught: unknown;
      try {
        yield* pool.run<Count>(3, { name: 'count', timeout: 20 });
      } catch (e) {
        caught = e;
      }
      const queued = pool.queueSize;
      Atomics.store(flags, RELEASE, 1);
      yield* busy.get();
      yield* pool.run<Count>(4, { name: 'count' });
      return { caught, queued };
    });
    expect(caught.caught).toBeInstanceOf(Timeout);
    expect(caught.queued).toBe(0);
    expect(Atomics.load(flags, RUNS + 3)).toBe(0);
    expect(Atomics.load(flags, RUNS + 4)).toBe(1);
  });

  it('a Timeout around run() aborts the running job: its thread is terminated and replaced', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const outcome = await run(function* () {
      yield* pool.run('warm up'); // the thread is ready: the job starts long before the Timeout strikes
      const timeout = Timeout.startNew(200);
      try {
        yield* pool.run<SpinUntilReleased>(undefined, { name: 'spinUntilReleased' });
        return { caught: null as unknown, next: null };
      } catch (e) {
        return { caught: e === timeout, next: yield* pool.run('after') };
      } finally {
        timeout.cancel();
      }
    });
    expect(outcome.caught).toBe(true);
    expect(Atomics.load(flags, STARTED)).toBe(1);
    expect(Atomics.load(flags, FINISHED)).toBe(0);
    expect(outcome.next?.threadId).not.toBe(Atomics.load(flags, SPIN_THREAD));
  });

  it('runAsync() with an aborted signal rejects with its reason and cancels the job', async () => {
    const flags = newFlags();
    await using pool = jobsPool(flags, { maxThreads: 1 });
    const controller = new AbortController();
    const job = pool.runAsync<SpinUntilReleased>(undefined, { name: 'spinUntilReleased', signal: controller.signal });
    await run(() => until(flags, STARTED, 1));
    const reason = new Error('no longer needed');
    controller.abort(reason);
    await expect(job).rejects.toBe(reason);
    expect(Atomics.load(flags, FINISHED)).toBe(0);
  });
});

describe('CpuPool: failures', () => {
  it('an error thrown in the worker comes back as a WorkerJobError naming the task and the worker function, with its stack', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const error = await run(function* () {
      const task = spawn(function* validate() {
        return yield* pool.run<Fail>('text', { name: 'fail' });
      });
      task.name = 'validator';
      yield* task.join();
      return task.exception;
    });
    expect(error).toBeInstanceOf(WorkerJobError);
    const e = error as WorkerJobError;
    expect(e).not.toBeInstanceOf(WorkerCrashedError);
    expect(e.message).toBe('jobs.mjs#fail threw RangeError: expected a number, got string (in a worker thread, for task "validator")');
    expect(e.task).toBe('validator');
    expect(e.workerFunction).toBe('jobs.mjs#fail');
    expect((e.cause as Error).message).toBe('expected a number, got string');
    // The worker's frames, in the error's own stack and kept apart.
    expect(e.workerStack).toMatch(/^RangeError: expected a number, got string\n\s+at checkInput \(.*jobs\.mjs/);
    expect(e.stack).toMatch(/^WorkerJobError: jobs\.mjs#fail threw .*\n\s+at checkInput \(.*jobs\.mjs.*\n\s+at fail \(.*jobs\.mjs/);
  });

  it('a thrown value that is not an Error is described and kept as cause', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const error = await run(function* () {
      try {
        yield* pool.run(undefined, { name: 'failWithString' });
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(WorkerJobError);
    expect((error as WorkerJobError).message).toMatch(/^jobs\.mjs#failWithString threw the non-Error value 'not an error'/);
    expect((error as WorkerJobError).cause).toBe('not an error');
  });

  it('runAsync() rejects with a WorkerJobError too', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const error: unknown = await pool.runAsync<Fail>(null, { name: 'fail' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerJobError);
    expect((error as WorkerJobError).message).toMatch(/for runAsync\(\)\)$/);
    expect((error as WorkerJobError).task).toBeUndefined();
  });

  it('a worker that exits mid-job: the task gets a WorkerCrashedError with the exit code, the pool replaces the thread and keeps serving', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const outcome = await run(function* exiting() {
      const before = yield* pool.run('before');
      let caught: unknown;
      try {
        yield* pool.run<Exit>(3, { name: 'exit' });
      } catch (e) {
        caught = e;
      }
      const after = yield* pool.run('after');
      return { before, caught, after };
    });
    expect(outcome.caught).toBeInstanceOf(WorkerCrashedError);
    const e = outcome.caught as WorkerCrashedError;
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/^the worker thread running jobs\.mjs#exit for task "exiting-\d+" exited with code 3 before the job finished/);
    expect(outcome.after.data).toBe('after');
    expect(outcome.after.threadId).not.toBe(outcome.before.threadId);
    expect(pool.threads).toBe(1);
  });

  it('a worker that dies of an uncaught exception mid-job: a WorkerCrashedError with the exception as cause, and the pool keeps serving', async () => {
    await using pool = jobsPool(newFlags(), { maxThreads: 1 });
    const outcome = await run(function* crashing() {
      let caught: unknown;
      try {
        yield* pool.run<Crash>(undefined, { name: 'crash' });
      } catch (e) {
        caught = e;
      }
      return { caught, after: yield* pool.run('after') };
    });
    expect(outcome.caught).toBeInstanceOf(WorkerCrashedError);
    const e = outcome.caught as WorkerCrashedError;
    expect(e.exitCode).toBeUndefined();
    expect(e.message).toMatch(/^the worker thread running jobs\.mjs#crash for task "crashing-\d+" died of an uncaught TypeError: uncaught in a timer/);
    expect((e.cause as Error).message).toBe('uncaught in a timer');
    expect(e.workerStack).toMatch(/jobs\.mjs/);
    expect(outcome.after.data).toBe('after');
  });
});

describe('CpuPool: destroy', () => {
  it('destroy() from a task ends every thread; jobs still queued or running raise CpuPoolClosed, and so does a later run()', async () => {
    const flags = newFlags();
    const threadsBefore = osThreads();
    const pool = jobsPool(flags, { maxThreads: 1 });
    const outcome = await run(function* () {
      // Each task hands back the error its job ended with.
      const failure = (job: () => SwitchOp<unknown>) =>
        spawn(function* () {
          try {
            yield* job();
            return null;
          } catch (e) {
            return e;
          }
        });
      const running = failure(() => pool.run<SpinUntilReleased>(undefined, { name: 'spinUntilReleased' }));
      const queued = failure(() => pool.run<Count>(5, { name: 'count' }));
      yield* until(flags, STARTED, 1);
      yield* pool.destroy();
      const threads = pool.threads;
      const errors = yield* results([running, queued]);
      let later: unknown;
      try {
        yield* pool.run('too late');
      } catch (e) {
        later = e;
      }
      return { threads, running: errors[0], queued: errors[1], later };
    });
    expect(outcome.threads).toBe(0);
    expect(outcome.running).toBeInstanceOf(CpuPoolClosed);
    expect(outcome.queued).toBeInstanceOf(CpuPoolClosed);
    expect(outcome.later).toBeInstanceOf(CpuPoolClosed);
    expect((outcome.later as Error).message).toMatch(/after pool\.destroy\(\)/);
    expect(Atomics.load(flags, RUNS + 5)).toBe(0);
    await expectThreadsBackTo(threadsBefore);
    await expect(pool.runAsync('too late')).rejects.toBeInstanceOf(CpuPoolClosed);
  });

  it('destroyAsync() waits for the threads of cancelled jobs too, and can be called again', async () => {
    const flags = newFlags();
    const threadsBefore = osThreads();
    const pool = jobsPool(flags, { maxThreads: 2 });
    await run(function* () {
      const busy = spawn(() => pool.run<SpinUntilReleased>(undefined, { name: 'spinUntilReleased' }));
      yield* until(flags, STARTED, 1);
      yield* busy.kill(); // its thread is being terminated
    });
    await Promise.all([pool.destroyAsync(), pool.destroyAsync()]);
    expect(pool.threads).toBe(0);
    await expectThreadsBackTo(threadsBefore);
  });

  it('`await using` destroys the pool at the end of the block', async () => {
    const threadsBefore = osThreads();
    {
      await using pool = jobsPool(newFlags(), { maxThreads: 2 });
      expect(pool.threads).toBe(2);
      await run(() => pool.run(1));
    }
    await expectThreadsBackTo(threadsBefore);
  });
});
