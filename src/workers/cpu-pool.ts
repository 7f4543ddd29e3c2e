/**
 * `CpuPool`: CPU-bound jobs on a pool of worker threads (piscina underneath), callable
 * from a task: `yield* pool.run(data)` parks the task while the job runs on another
 * thread, and the hub goes on running the other tasks. The "process + coroutine" model
 * inside one process: coroutines for waiting, threads for the cores.
 *
 * What a job is. The pool's threads load one module (`filename`) and call one of its
 * exported functions (`default` unless `name` says otherwise) with the job's data; what it
 * returns (or the promise's value) is the job's result. The module is a plain module, with
 * nothing of greenlet-ts or piscina in it:
 *
 * ```js
 * // hash-worker.js: loaded by each thread of the pool
 * import { createHash } from 'node:crypto';
 * export default function hash({ text, rounds }) {
 *   let digest = text;
 *   for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
 *   return digest;
 * }
 * ```
 *
 * How a job is cancelled. Every job is submitted with an AbortSignal (through `waitFor`),
 * aborted when the waiting task is killed or its Timeout strikes. piscina then either
 * takes the job out of its queue (it never runs), or, if a thread already runs it,
 * terminates that thread (`worker.terminate()`: JavaScript stops at once, even in a busy
 * loop) and starts a new one to keep `minThreads`. A job therefore never outlives the
 * task that waits for it, at the price of a thread start (~20–50 ms, the module loaded
 * again) when a running job is cancelled.
 *
 * How failures come back. An error the job throws (or rejects with) crosses the thread
 * by structured clone: its message, stack (the worker's frames) and `cause` survive, its
 * class and other own properties do not. The waiting task gets a {@link WorkerJobError}
 * that names the task and the worker function, with the clone as `cause` and the worker's
 * stack as its own. A thread that dies under a job (`process.exit()`, an uncaught
 * exception in a timer or callback, out of memory) gives a {@link WorkerCrashedError};
 * piscina replaces the thread and the pool goes on serving. A job cut short by
 * `destroy()` gives {@link CpuPoolClosed}.
 *
 * What crossing a thread costs: the data and the result are copied (structured clone,
 * proportional to their size; transfer `ArrayBuffer`s instead with `transferList`), and
 * a round trip costs some 20–60 µs against ~0.1 µs for a switch between tasks. Send jobs
 * of a millisecond or more, and batch small ones into one job.
 *
 * Invariants:
 * - every job is submitted with a signal, so each thread runs at most one job at a time
 *   (piscina never gives a second job to a thread that runs an abortable one), and a task
 *   that leaves `run()` early has aborted its job by the time it resumes;
 * - `#workers` holds the threads of the pool (watched from the moment piscina reports
 *   them ready, or from `destroyAsync()`) that have not emitted `'exit'`;
 *   `destroyAsync()` resolves only once every thread the pool started has exited, and
 *   piscina holds none;
 * - `#crashes` holds the errors that killed a thread (its `'error'` events), recorded
 *   before the job's rejection is handled, which is how a crash is told from a throw;
 * - once `destroyAsync()` has been called, no job is submitted again.
 *
 * @module
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import type { SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask } from '../hub/hub.js';
import { currentTaskOrNull } from '../hub/task.js';
import { waitFor } from '../interop/wait.js';
import { needsTypeScriptLoader } from './typescript.js';

// --- errors ------------------------------------------------------------------------------

/** What {@link WorkerJobError} and its subclasses are built from. */
interface JobErrorDetails {
  /** The name of the task that waited for the job; undefined for `runAsync()` from plain code. */
  task: string | undefined;
  /** The worker function, `file#export`. */
  workerFunction: string;
  /** The error as it came back from the worker thread. */
  cause: unknown;
}

/**
 * A job failed in the worker thread: the worker function threw or rejected. The message
 * names the task and the worker function; `cause` is the error as it came back (a
 * structured clone: message, stack and `cause` are kept, the class and other properties
 * are not); the stack is the worker's. Raised in the task that ran `pool.run()`.
 *
 * ```ts
 * try {
 *   yield* pool.run(input);
 * } catch (e) {
 *   if (!(e instanceof WorkerJobError)) throw e;
 *   console.error(e.stack);       // WorkerJobError: hash-worker.js#default threw ... for task "hasher-3"
 *   console.error(e.cause);       // the worker's error, as cloned
 * }
 * ```
 */
export class WorkerJobError extends Error {
  /** The name of the task that waited for the job; undefined for `runAsync()` from plain code. */
  readonly task: string | undefined;
  /** The worker function: the module's file name and the export, `hash-worker.js#default`. */
  readonly workerFunction: string;
  /** The stack of the error in the worker thread, when it had one. */
  readonly workerStack: string | undefined;

  /** @internal Built by the pool; `details.cause` is the error from the worker. */
  constructor(message: string, details: JobErrorDetails) {
    super(message, { cause: details.cause });
    this.task = details.task;
    this.workerFunction = details.workerFunction;
    const stack = stackOf(details.cause);
    this.workerStack = stack;
    const frames = stack === undefined ? [] : stack.split('\n').filter((line) => /^\s+at /.test(line));
    if (frames.length > 0) this.stack = `${this.name}: ${this.message}\n${frames.join('\n')}`;
  }

  static {
    this.prototype.name = 'WorkerJobError';
  }
}

/**
 * The thread running a job died before the job finished: `process.exit()` in the worker,
 * an exception nobody caught there (thrown from a timer or a callback, an unhandled
 * rejection), or the thread ran out of memory. The job did not finish and is not retried;
 * the pool has started a new thread in its place. `exitCode` is set when the thread
 * exited, `cause` is the uncaught exception when there was one.
 */
export class WorkerCrashedError extends WorkerJobError {
  /** The thread's exit code, when it exited (rather than died of an uncaught exception). */
  readonly exitCode: number | undefined;

  /** @internal Built by the pool. */
  constructor(message: string, details: JobErrorDetails, exitCode: number | undefined) {
    super(message, details);
    this.exitCode = exitCode;
  }

  static {
    this.prototype.name = 'WorkerCrashedError';
  }
}

/**
 * The pool was destroyed: raised by `pool.run()` called afterwards, and in the tasks whose
 * jobs were still queued or running when `destroy()` terminated the threads.
 */
export class CpuPoolClosed extends Error {
  static {
    this.prototype.name = 'CpuPoolClosed';
  }
}

function stackOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const stack = (error as { stack?: unknown }).stack;
  return typeof stack === 'string' ? stack : undefined;
}

/** `TypeError: bad input`, with the original class name when the clone lost it. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return `the non-Error value ${inspect(error, { depth: 1, breakLength: Infinity })}`;
  // A clone's name is "Error", but the first line of its stack still says "MyError: ...".
  const first = error.stack?.split('\n', 1)[0];
  if (first !== undefined && error.message !== '' && first.endsWith(error.message)) return first;
  return `${error.name}: ${error.message}`;
}

/** piscina's error for a thread that exited under a job: `worker exited with code: 3`. */
const EXITED = /^worker exited with code: (-?\d+)$/;

// --- the pool ----------------------------------------------------------------------------

/** Any worker function: what the pool's threads call with a job's data. */
export type JobFunction = (data: never) => unknown;
/** The data a job of worker function `F` takes. */
export type JobInput<F extends JobFunction> = Parameters<F>[0];
/** What a job of worker function `F` evaluates to (a promise's value for an async one). */
export type JobOutput<F extends JobFunction> = Awaited<ReturnType<F>>;

/** Options of a {@link CpuPool}. */
export interface CpuPoolOptions {
  /**
   * The worker module, loaded by every thread: a `file:` URL
   * (`new URL('./hash-worker.js', import.meta.url)`) or a path. JavaScript: on Node, the
   * threads do not get your TypeScript loader, and a `.ts` file is refused with a
   * `TypeError` saying so.
   */
  filename: string | URL;
  /** The export to call when a job does not name one (default `'default'`). */
  name?: string;
  /** How many threads at most (default: the number of cores, `os.availableParallelism()`). */
  maxThreads?: number;
  /**
   * How many threads to keep, started with the pool (default `maxThreads`: a fixed pool,
   * every thread ready before the first job). Each thread costs a few MB and ~20–50 ms to
   * start; with fewer, the others start on demand and stop after `idleTimeout`.
   */
  minThreads?: number;
  /** How long a thread beyond `minThreads` may stay idle before it stops (ms, default 10 000). */
  idleTimeout?: number;
  /** Given to every thread as `workerData` (`import { workerData } from 'node:worker_threads'`). */
  workerData?: unknown;
  /** Memory limits of every thread; a thread that exceeds them dies (a {@link WorkerCrashedError}). */
  resourceLimits?: ResourceLimits;
  /**
   * Called with a failure that belongs to no job: a thread died of an uncaught exception
   * while it had no job (it is replaced). By default a process warning.
   */
  onError?: (error: unknown) => void;
}

/** Options of `pool.run()`. */
export interface CpuRunOptions {
  /** The export of the worker module to call (default: the pool's `name`, `'default'`). */
  name?: string;
  /**
   * Objects to move to the thread instead of copying them (`ArrayBuffer`s, `MessagePort`s):
   * they become unusable here. To move a result back, the worker returns
   * `Piscina.move(value)`.
   */
  transferList?: readonly TransferListItem[];
  /**
   * Give up after this many milliseconds: a {@link Timeout} is raised in the task and the
   * job is cancelled (taken out of the queue, or its thread terminated).
   */
  timeout?: number;
}

/** Options of `pool.runAsync()`. */
export interface CpuRunAsyncOptions {
  /** The export of the worker module to call (default: the pool's `name`, `'default'`). */
  name?: string;
  /** Objects to move to the thread instead of copying them (see {@link CpuRunOptions}). */
  transferList?: readonly TransferListItem[];
  /**
   * Cancel the job when this signal aborts: the promise rejects with the signal's
   * `reason` and the job is taken out of the queue, or its thread terminated.
   */
  signal?: AbortSignal;
}

/**
 * A pool of worker threads for CPU-bound jobs, callable from tasks: the task parks while
 * its job runs on another thread, so the other tasks of the thread go on. The pool has
 * one thread per core by default.
 *
 * The worker module is a plain module whose default export is the job function; nothing
 * of greenlet-ts or piscina in it (other exports are called with `run(data, { name })`):
 *
 * ```js
 * // hash-worker.js (compiled JavaScript: the threads load it as it is)
 * import { createHash } from 'node:crypto';
 * export default function hash({ text, rounds }) {
 *   let digest = text;
 *   for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
 *   return digest;
 * }
 * ```
 *
 * Type the pool with that function, by a type-only import that does not load the module
 * in this thread:
 *
 * ```ts
 * import type hash from './hash-worker.js';
 *
 * const pool = new CpuPool<typeof hash>({ filename: new URL('./hash-worker.js', import.meta.url) });
 * // In a task: 8 texts, 8 tasks, every core busy; this thread goes on serving meanwhile.
 * const digests = yield* new Group().map(function* (text: string) {
 *   return yield* pool.run({ text, rounds: 10_000 });
 * }, texts);
 * yield* pool.destroy();
 * ```
 *
 * Killing a task that waits in `run()`, or its Timeout, cancels the job: a queued job is
 * removed from the queue and never runs; a running job's thread is terminated and
 * replaced. Errors from the worker come back as {@link WorkerJobError} (or
 * {@link WorkerCrashedError} when the thread died), naming the task and the worker
 * function, with the worker's stack.
 *
 * Crossing a thread costs ~20–60 µs and a copy of the data: give the pool jobs of a
 * millisecond or more, and batch small ones.
 *
 * @typeParam F - the type of the worker function (`typeof hash`): what a job takes and
 * gives back.
 */
export class CpuPool<F extends JobFunction = (data: unknown) => unknown> implements AsyncDisposable {
  readonly #piscina: Piscina;
  readonly #file: string;
  readonly #name: string;
  readonly #onError: (error: unknown) => void;
  readonly #workers = new Set<Worker>();
  readonly #crashes = new WeakSet<object>();
  #closing = false;
  #destroyed: Promise<void> | null = null;

  /** The most threads the pool runs at once. */
  readonly maxThreads: number;

  /**
   * Start the pool: `minThreads` threads (by default all of them) start loading the
   * worker module now. They do not keep the process alive while they have no job.
   *
   * @throws TypeError when `filename` names no file or, on Node, a TypeScript file, or a thread count is not a positive integer.
   */
  constructor(options: CpuPoolOptions) {
    const path = toPath(options.filename);
    if (!existsSync(path)) {
      throw new TypeError(
        `CpuPool: the worker module ${path} does not exist. Give the compiled JavaScript file, ` +
          "e.g. new URL('./hash-worker.js', import.meta.url) next to the module that creates the pool",
      );
    }
    if (needsTypeScriptLoader(path)) {
      throw new TypeError(
        `CpuPool: the worker module ${basename(path)} is TypeScript, and the pool's threads (piscina's) load it ` +
          "without your TypeScript loader. Give the compiled JavaScript file (e.g. new URL('./hash-worker.js', " +
          'import.meta.url) next to the compiled module that creates the pool), or write the worker module in ' +
          'JavaScript (hash-worker.mjs, typed for the pool with a hash-worker.d.mts or JSDoc)',
      );
    }
    const maxThreads = options.maxThreads ?? availableParallelism();
    const minThreads = options.minThreads ?? maxThreads;
    if (!Number.isInteger(maxThreads) || maxThreads < 1) {
      throw new TypeError(`CpuPool: maxThreads must be a positive integer, not ${maxThreads}`);
    }
    if (!Number.isInteger(minThreads) || minThreads < 0 || minThreads > maxThreads) {
      throw new TypeError(`CpuPool: minThreads must be an integer from 0 to maxThreads (${maxThreads}), not ${minThreads}`);
    }
    this.maxThreads = maxThreads;
    this.#file = basename(path);
    this.#name = options.name ?? 'default';
    this.#onError = options.onError ?? ((error) => process.emitWarning(`CpuPool(${this.#file}): ${describe(error)}`, 'CpuPoolWarning'));
    const piscina = new Piscina({
      filename: path,
      name: this.#name,
      maxThreads,
      minThreads,
      idleTimeout: options.idleTimeout ?? 10_000,
      workerData: options.workerData,
      ...(options.resourceLimits !== undefined ? { resourceLimits: options.resourceLimits } : {}),
    });
    this.#piscina = piscina;
    // piscina emits 'error' for a thread failure that no job can receive; without a
    // listener it would be thrown in the main thread.
    piscina.on('error', (error: unknown) => {
      this.#onError(new Error(`a worker thread failed outside any job, and was replaced: ${describe(error)}`, { cause: error }));
    });
    piscina.on('workerCreate', (created: { id: number }) => this.#adopt(created.id));
  }

  /** piscina started a thread and it is ready. */
  #adopt(threadId: number): void {
    const worker = this.#piscina.threads.find((w) => w.threadId === threadId);
    if (worker !== undefined) this.#watch(worker);
  }

  /** Watch a thread of the pool: its exit, and the uncaught exception that may kill it. */
  #watch(worker: Worker): void {
    if (this.#workers.has(worker) || worker.threadId < 0) return;
    this.#workers.add(worker);
    worker.on('error', (error: unknown) => {
      if (typeof error === 'object' && error !== null) this.#crashes.add(error);
    });
    worker.once('exit', () => this.#workers.delete(worker));
  }

  /**
   * Run a job on one of the threads and evaluate to its result: the task parks until the
   * job is done, the other tasks go on. Jobs wait in a queue (first come, first served)
   * while every thread is busy.
   *
   * ```ts
   * const digest = yield* pool.run({ text, rounds: 10_000 }, { timeout: 2000 });
   * const size = yield* pool.run<typeof compress>(bytes, { name: 'compress', transferList: [bytes.buffer] });
   * ```
   *
   * Killing the task, or a Timeout (the `timeout` option, or one around the call),
   * cancels the job: a queued job is removed from the queue and never runs; a running
   * job's thread is terminated at once and a new thread started in its place.
   *
   * @typeParam G - the worker function called, when it is not the pool's (`name`).
   * @throws WorkerJobError when the job throws or rejects in the worker.
   * @throws WorkerCrashedError when its thread dies before it finishes.
   * @throws CpuPoolClosed when the pool is (or gets) destroyed.
   * @throws BlockingError when called outside a task (use `runAsync()` there).
   */
  run<G extends JobFunction = F>(data: JobInput<G>, options?: CpuRunOptions): SwitchOp<JobOutput<G>> {
    return lazy(RUN, this as CpuPool<JobFunction>, data as unknown, options) as SwitchOp<JobOutput<G>>;
  }

  /** @internal Performs {@link CpuPool.run}. */
  *performRun(data: unknown, options: CpuRunOptions | undefined): GreenletBody<unknown> {
    const task = currentTask('pool.run()');
    const fn = options?.name ?? this.#name;
    if (this.#closing) throw this.#closedError(`task "${task.name}" called pool.run()`);
    const piscina = this.#piscina;
    const submit = {
      name: fn,
      transferList: options?.transferList as TransferListItem[] | undefined,
      signal: null as AbortSignal | null,
    };
    // The operation waitFor calls with the signal that aborts when the task leaves early.
    const cpuPoolJob = (signal: AbortSignal): Promise<unknown> => {
      submit.signal = signal;
      return piscina.run(data, submit).then(undefined, (error: unknown) => {
        throw this.#jobError(error, task.name, fn);
      });
    };
    const timeout = options?.timeout;
    return yield* waitFor(cpuPoolJob, timeout === undefined ? undefined : { timeout });
  }

  /**
   * {@link CpuPool.run} for async code: a promise of the job's result, rejected with a
   * {@link WorkerJobError} (or {@link WorkerCrashedError}, {@link CpuPoolClosed}) when it
   * fails, or with `signal.reason` when `signal` aborts (the job is cancelled as a killed
   * task's is).
   *
   * ```ts
   * const digest = await pool.runAsync({ text, rounds: 10_000 }, { signal: AbortSignal.timeout(2000) });
   * ```
   */
  runAsync<G extends JobFunction = F>(data: JobInput<G>, options?: CpuRunAsyncOptions): Promise<JobOutput<G>> {
    const taskName = currentTaskOrNull()?.name;
    const fn = options?.name ?? this.#name;
    if (this.#closing) {
      return Promise.reject(this.#closedError(`${taskName === undefined ? '' : `task "${taskName}" called `}pool.runAsync()`));
    }
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as unknown);
    const submit = {
      name: fn,
      transferList: options?.transferList as TransferListItem[] | undefined,
      signal: signal ?? null,
    };
    return this.#piscina.run(data, submit).then(undefined, (error: unknown) => {
      if (signal?.aborted === true) throw signal.reason;
      throw this.#jobError(error, taskName, fn);
    }) as Promise<JobOutput<G>>;
  }

  /** The error a failed job raises in the task that waits for it. */
  #jobError(error: unknown, task: string | undefined, fn: string): Error {
    const workerFunction = `${this.#file}#${fn}`;
    const forWhom = task === undefined ? 'for runAsync()' : `for task "${task}"`;
    const details: JobErrorDetails = { task, workerFunction, cause: error };
    if (this.#closing) {
      return new CpuPoolClosed(
        `the CPU pool of ${this.#file} was destroyed before the job of ${workerFunction} ${forWhom} finished; ` +
          'destroy the pool only once the tasks that use it are done',
        { cause: error },
      );
    }
    const exited = error instanceof Error ? EXITED.exec(error.message) : null;
    if (exited !== null) {
      const code = Number(exited[1]);
      return new WorkerCrashedError(
        `the worker thread running ${workerFunction} ${forWhom} exited with code ${code} before the job finished ` +
          '(process.exit() in the worker?); the job is lost and was not retried, a new thread took its place',
        details,
        code,
      );
    }
    if (typeof error === 'object' && error !== null && this.#crashes.has(error)) {
      return new WorkerCrashedError(
        `the worker thread running ${workerFunction} ${forWhom} died of an uncaught ${describe(error)} ` +
          '(thrown outside the job function: a timer, a callback, an unhandled rejection, or out of memory); ' +
          'the job is lost and was not retried, a new thread took its place',
        details,
        undefined,
      );
    }
    return new WorkerJobError(`${workerFunction} threw ${describe(error)} (in a worker thread, ${forWhom})`, details);
  }

  #closedError(what: string): CpuPoolClosed {
    return new CpuPoolClosed(
      `${what} after pool.destroy(): the CPU pool of ${this.#file} has no threads any more; create a new ` +
        'CpuPool, or destroy it only once the tasks that use it are done',
    );
  }

  /** Jobs waiting for a thread (not those running). */
  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  /**
   * How busy the pool has been since it started, from 0 to 1: the time its threads spent
   * running jobs over the time they could have (`maxThreads` × the pool's age).
   */
  get utilization(): number {
    return this.#piscina.utilization;
  }

  /** The threads running now (starting, idle or busy). */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** Jobs finished since the pool started (with a result or an error). */
  get completed(): number {
    return this.#piscina.completed;
  }

  /**
   * Terminate every thread and wait in the task until all have exited. Jobs still queued
   * or running are cancelled: the tasks that wait for them get {@link CpuPoolClosed}, and
   * so does any later `run()`. Calling it again waits for the same end. If the task is
   * killed while it waits, the pool goes on ending all the same.
   *
   * ```ts
   * yield* pool.destroy();
   * ```
   */
  destroy(): SwitchOp<void> {
    return lazy(DESTROY, this as CpuPool<JobFunction>, undefined, undefined);
  }

  /** @internal Performs {@link CpuPool.destroy}. */
  *performDestroy(): GreenletBody<void> {
    currentTask('pool.destroy()');
    yield* waitFor(this.destroyAsync());
  }

  /**
   * {@link CpuPool.destroy} for async code: resolves once every thread has exited.
   *
   * ```ts
   * process.once('SIGTERM', () => void pool.destroyAsync());
   * ```
   */
  destroyAsync(): Promise<void> {
    this.#closing = true;
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #destroy(): Promise<void> {
    // piscina.destroy() waits only for the threads it still holds; a thread it removed
    // earlier (a cancelled job's, a crashed one) may exit later, and piscina, no longer
    // destroying by then, would start threads to replace it. So: destroy, wait for every
    // thread the pool ever started, and again until none is left.
    for (;;) {
      for (const worker of this.#piscina.threads) this.#watch(worker);
      const exits = [...this.#workers].map((worker) => once(worker, 'exit'));
      await this.#piscina.destroy();
      await Promise.allSettled(exits);
      if (this.#piscina.threads.length === 0 && this.#workers.size === 0) return;
    }
  }

  /** `await using pool = new CpuPool(...)` destroys it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.destroyAsync();
  }

  /** For reports: `CpuPool(hash-worker.js, 2/4 threads, 3 queued)`. */
  toString(): string {
    return `CpuPool(${this.#file}, ${this.threads}/${this.maxThreads} threads, ${this.queueSize} queued)`;
  }
}

const RUN = blockingOperation<CpuPool<JobFunction>, unknown, CpuRunOptions | undefined, unknown>('pool.run()', (pool, data, options) =>
  pool.performRun(data, options),
);
const DESTROY = blockingOperation<CpuPool<JobFunction>, undefined, undefined, void>('pool.destroy()', (pool) => pool.performDestroy());

function toPath(filename: string | URL): string {
  if (typeof filename !== 'string' && !(filename instanceof URL)) {
    throw new TypeError(`CpuPool: filename must be a file: URL or a path, not ${typeof filename}`);
  }
  if (typeof filename === 'string' && !filename.startsWith('file:')) return resolve(filename);
  const url = new URL(filename);
  if (url.protocol !== 'file:') throw new TypeError(`CpuPool: the worker module must be a file: URL or a path, not ${url.href}`);
  return fileURLToPath(url);
}
