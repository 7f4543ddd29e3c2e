/**
 * `startWorkers(module, { count, data })`: worker threads that each run a module's main
 * task on a hub of their own, and the {@link WorkerHandle}s that join them.
 *
 * Every thread loads its own copy of greenlet-ts (its own main greenlet, its own hub):
 * greenlets never move between threads, and threads talk through {@link remoteChannel}
 * ends given in the start data. The worker module exports its main task:
 *
 * ```ts
 * // square.ts: the worker module
 * import type { WorkerContext, RemoteReceiver, RemoteSender } from 'greenlet-ts/workers';
 *
 * export default function* ({ data }: WorkerContext<{ jobs: RemoteReceiver<number>; results: RemoteSender<number> }>) {
 *   for (const it = data.jobs.iterate(); yield* it.next(); ) {
 *     yield* data.results.send(it.value * it.value);
 *   }
 *   data.results.close();
 *   return 'done';
 * }
 *
 * // main.ts
 * import { run } from 'greenlet-ts';
 * import { remoteChannel, startWorkers } from 'greenlet-ts/workers';
 *
 * await run(function* () {
 *   const [jobs, jobsThere] = remoteChannel<number>(16);
 *   const [resultsThere, results] = remoteChannel<number>(16);
 *   const [worker] = startWorkers<string>(new URL('./square.js', import.meta.url), {
 *     count: 1,
 *     data: { jobs: jobsThere, results: resultsThere },
 *   });
 *   for (let i = 1; i <= 3; i++) yield* jobs.send(i);
 *   jobs.close();
 *   for (const it = results.iterate(); yield* it.next(); ) console.log(it.value);   // 1 4 9
 *   console.log(yield* worker.get());                                               // 'done'
 * });
 * ```
 *
 * How a worker runs. The thread starts with the runner script (by default this very
 * module, which notices the start data and becomes the worker runtime). The runtime
 * names the thread, imports the module, revives the channel ends of the start data and
 * spawns the module's default export as the main task with a {@link WorkerContext}. When
 * the main task ends, the runtime posts its outcome (a value, or the error with its
 * stack), closes every channel end the thread still holds (cleanly, or as failed so that
 * the other side raises `ChannelPeerGone` with the error as cause) and ends the thread,
 * whatever other tasks are still running (Go's rule: when main returns, the program
 * ends). A main task that blocks with nothing left to wake it fails with `LoopExit`.
 *
 * Invariants: a handle settles exactly once, on the thread's `exit` event (Node delivers
 * the thread's messages before it), with the posted outcome, else the thread's uncaught
 * error, else a {@link WorkerExited}; a handle whose failure nobody observes (get, join,
 * toPromise, exception) is reported to the hub's reporter.
 *
 * Cost: a thread takes ~10–30 ms and a few MB to start; start workers once and feed them
 * through channels, do not start one per job (that is what a pool is for).
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { basename, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, threadId, workerData, type WorkerOptions } from 'node:worker_threads';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, isGenerator, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, getHub } from '../hub/hub.js';
import { spawn } from '../hub/task.js';
import type { Waitable } from '../hub/wait.js';
import { AsyncResult } from '../sync/async-result.js';
import { findTsx, needsTypeScriptLoader } from './typescript.js';
import {
  closeThreadEnds,
  findEnds,
  moveEnds,
  rebuildError,
  recordError,
  reviveEnds,
  setThreadLabel,
  type ErrorRecord,
} from './remote-channel.js';

// --- errors ------------------------------------------------------------------------------

/**
 * A worker's main task raised (or its module could not be loaded, or the thread hit an
 * uncaught error). `cause` is the worker's error, rebuilt in this thread with its name,
 * message and stack (the worker's own stack, not this thread's).
 */
export class WorkerFailed extends Error {
  /** The worker's index among those started together. */
  readonly index: number;
  constructor(message: string, index: number, options?: ErrorOptions) {
    super(message, options);
    this.index = index;
  }
  static {
    this.prototype.name = 'WorkerFailed';
  }
}

/**
 * A worker thread ended before its main task did: `terminate()` (`terminated` true), a
 * `process.exit()` in the worker, or a fatal error of the thread (out of memory).
 */
export class WorkerExited extends Error {
  /** The worker's index among those started together. */
  readonly index: number;
  /** The thread's exit code. */
  readonly exitCode: number;
  /** Whether {@link WorkerHandle.terminate} ended it. */
  readonly terminated: boolean;
  constructor(message: string, index: number, exitCode: number, terminated: boolean) {
    super(message);
    this.index = index;
    this.exitCode = exitCode;
    this.terminated = terminated;
  }
  static {
    this.prototype.name = 'WorkerExited';
  }
}

// --- the contract between the two sides -------------------------------------------------------

/** What a worker's main task receives. */
export interface WorkerContext<D = unknown> {
  /** Its position among the workers started together: 0 to `count - 1`. */
  readonly index: number;
  /** How many workers were started together. */
  readonly count: number;
  /** Its start data (a structured clone; channel ends in it are live ends of this thread). */
  readonly data: D;
  /** The thread's id (`worker_threads.threadId`). */
  readonly threadId: number;
}

/**
 * A worker module's default export: its main task, a generator function (or a plain
 * function) that receives the {@link WorkerContext}. What it returns is cloned back to
 * {@link WorkerHandle.get}.
 */
export type WorkerMain<D = unknown, R = unknown> = (context: WorkerContext<D>) => GreenletBody<R> | R;

/** Options of {@link startWorkers}. */
export interface StartWorkersOptions<D = unknown> {
  /** How many threads to start (default: the number of cores, `os.availableParallelism()`). */
  count?: number;
  /**
   * The start data of every worker (cloned for each). Remote channel ends in it move to
   * the worker; an end can go to one worker only, so give each its own with `dataFor`.
   */
  data?: D;
  /** The start data of worker `index`, when each needs its own (e.g. its own channel ends). */
  dataFor?: (index: number) => D;
  /**
   * The script each thread starts with. By default, greenlet-ts's worker runtime itself;
   * on Node, when the worker module is TypeScript (`.ts`, `.mts`, `.cts`) or greenlet-ts
   * runs from its TypeScript sources, a bootstrap that first registers
   * [tsx](https://tsx.is) in the thread (Node's worker threads do not inherit the main
   * thread's loader), found from the worker module's folder, then greenlet-ts's, then the
   * current directory. Without tsx there, `startWorkers` throws a `TypeError` that says
   * what to do. Give a runner for another loader: a `.mjs` that registers it, then imports
   * the runtime named in the start data:
   *
   * ```js
   * // bootstrap.mjs
   * import { workerData } from 'node:worker_threads';
   * import { register } from 'tsx/esm/api'; // or your loader's registration
   * register();
   * await import(workerData.greenletTsWorker.runtime);
   * ```
   */
  runner?: string | URL;
  /** More options of the Node `Worker` (resourceLimits, env, stdout, execArgv, ...). */
  worker?: Omit<WorkerOptions, 'workerData' | 'transferList' | 'eval'>;
}

/** The key of the start data that carries the envelope. */
const ENVELOPE = 'greenletTsWorker';

interface Envelope {
  /** This module's URL: what a custom runner imports. */
  readonly runtime: string;
  readonly module: string;
  readonly index: number;
  readonly count: number;
  readonly label: string;
  readonly data: unknown;
}

type Outcome =
  | { readonly ok: true; readonly value: unknown; readonly ends: boolean }
  | { readonly ok: false; readonly error: ErrorRecord };

function outcomeOf(message: unknown): Outcome | undefined {
  if (typeof message !== 'object' || message === null || !Object.hasOwn(message, ENVELOPE)) return undefined;
  return (message as Record<string, Outcome>)[ENVELOPE];
}

// --- starting ---------------------------------------------------------------------------------

/**
 * Start `count` worker threads, each running `module`'s default export as its main task
 * on a hub of its own (see the module's example). Works anywhere (plain code or a task);
 * returns at once, one handle per worker.
 *
 * ```ts
 * // one results channel per worker: an end can move to one thread only
 * const pairs = Array.from({ length: 4 }, () => remoteChannel<number>(64));
 * const workers = startWorkers<void, { results: RemoteSender<number> }>(new URL('./crunch.js', import.meta.url), {
 *   count: 4,
 *   dataFor: (i) => ({ results: pairs[i][0] }),
 * });
 * yield* wait(workers);                            // inside a task: every thread has ended
 * ```
 *
 * @param module - the worker module: a URL (`new URL('./job.js', import.meta.url)`), or
 *   a path (relative to the current directory). Its default export is a {@link WorkerMain}.
 * @throws GreenletError if the data holds a Greenlet or Task (greenlets never move);
 *   a DataCloneError if it holds something structured clone refuses. Workers started
 *   before the failure are terminated.
 */
export function startWorkers<R = unknown, D = unknown>(module: string | URL, options: StartWorkersOptions<D> = {}): WorkerHandle<R>[] {
  const count = options.count ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`startWorkers(): count is a whole number >= 1, not ${String(count)}`);
  }
  const moduleUrl = toModuleUrl(module);
  const typescript = needsTypeScriptLoader(moduleUrl) || needsTypeScriptLoader(import.meta.url);
  const runner = options.runner ?? (typescript ? typescriptBootstrap(moduleUrl) : new URL(import.meta.url));
  const handles: WorkerHandle<R>[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const data = options.dataFor !== undefined ? options.dataFor(index) : options.data;
      handles.push(new WorkerHandle<R>(moduleUrl, runner, index, count, data, options.worker));
    }
  } catch (error) {
    for (const handle of handles) handle.terminate();
    throw error;
  }
  return handles;
}

/** One worker: {@link startWorkers} with `count: 1`. */
export function startWorker<R = unknown, D = unknown>(
  module: string | URL,
  options: Omit<StartWorkersOptions<D>, 'count' | 'dataFor'> = {},
): WorkerHandle<R> {
  return startWorkers<R, D>(module, { ...options, count: 1 })[0] as WorkerHandle<R>;
}

/**
 * The runner for TypeScript on Node (see {@link StartWorkersOptions.runner}), evaluated as
 * a script in the thread: registers tsx, then imports the runtime.
 */
function typescriptBootstrap(moduleUrl: string): { readonly code: string } {
  const tsx = findTsx([moduleUrl, import.meta.url]);
  if (tsx === null) {
    throw new TypeError(
      `startWorkers(): ${needsTypeScriptLoader(moduleUrl) ? shortName(moduleUrl) : 'greenlet-ts, run from its sources,'} ` +
        "is TypeScript, and Node's worker threads do not get the TypeScript " +
        'loader of the main thread. Install tsx where the worker module can import it (npm install --save-dev tsx) ' +
        'and greenlet-ts registers it in each thread, give a `runner` that registers your loader ' +
        '(StartWorkersOptions.runner), or pass the compiled JavaScript file',
    );
  }
  return {
    code:
      `const { workerData } = require('node:worker_threads');\n` +
      `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(workerData.${ENVELOPE}.runtime); });\n`,
  };
}

function toModuleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module;
  return pathToFileURL(resolvePath(module)).href;
}

function shortName(moduleUrl: string): string {
  if (moduleUrl.startsWith('data:')) return 'a data: module';
  try {
    return basename(new URL(moduleUrl).pathname);
  } catch {
    return moduleUrl;
  }
}

// --- the handle ---------------------------------------------------------------------------------

/**
 * A worker thread started by {@link startWorkers}: gevent's Greenlet API for a thread.
 * Wait for it with `yield* w.join()` (ended?) or `yield* w.get()` (its main task's
 * result, or the error it ended with) inside a task, `await w.toPromise()` in async code;
 * stop it with `w.terminate()`. It is a Waitable: `yield* wait(workers)`, `iwait(workers)`.
 *
 * ```ts
 * const [w] = startWorkers<number>(url, { count: 1 });
 * try {
 *   console.log('result', yield* w.get(5000));
 * } catch (e) {
 *   if (e instanceof WorkerFailed) console.error('worker failed:', e.cause);   // its own stack
 *   else if (e instanceof WorkerExited) console.error('worker exited with', e.exitCode);
 *   else throw e;                                                              // Timeout
 * }
 * ```
 *
 * @typeParam R - what the worker's main task returns.
 */
export class WorkerHandle<R = unknown> implements Waitable {
  /** Its position among the workers started together. */
  readonly index: number;
  /** The worker module's URL. */
  readonly module: string;
  /** The Node `Worker` (for its stdout, resourceLimits, or messages of your own). */
  readonly thread: Worker;
  /** The thread's id (`worker.threadId`, kept after it exits). */
  readonly threadId: number;
  readonly #label: string;
  readonly #result = new AsyncResult<R>();
  #outcome: Outcome | undefined = undefined;
  #crash: unknown = undefined;
  #crashed = false;
  #terminated = false;
  #exitCode: number | null = null;
  #observed = false;
  readonly #links = new Map<(handle: this) => void, () => void>();

  /** @internal Made by {@link startWorkers}. */
  constructor(
    module: string,
    runner: string | URL | { readonly code: string },
    index: number,
    count: number,
    data: unknown,
    workerOptions: Omit<WorkerOptions, 'workerData' | 'transferList' | 'eval'> | undefined,
  ) {
    this.index = index;
    this.module = module;
    this.#label = `worker ${index} (${shortName(module)})`;
    const envelope: Envelope = { runtime: import.meta.url, module, index, count, label: this.#label, data };
    let thread: Worker | undefined;
    moveEnds(findEnds(data), (ports) => {
      const start = { ...workerOptions, workerData: { [ENVELOPE]: envelope }, transferList: ports };
      thread = typeof runner === 'object' && 'code' in runner ? new Worker(runner.code, { ...start, eval: true }) : new Worker(runner, start);
    });
    this.thread = thread as Worker;
    this.threadId = this.thread.threadId;
    this.thread.on('message', (message: unknown) => {
      const outcome = outcomeOf(message);
      if (outcome === undefined) return;
      this.#outcome = outcome.ok && outcome.ends ? { ok: true, value: reviveEnds(outcome.value), ends: false } : outcome;
    });
    this.thread.on('error', (error: unknown) => {
      if (this.#crashed) return;
      this.#crashed = true;
      this.#crash = error;
    });
    this.thread.once('exit', (code: number) => this.#settle(code));
  }

  /** The thread's exit code once it has exited, else null. */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Whether the thread has exited (its outcome is known). */
  ready(): boolean {
    return this.#result.ready();
  }

  /** Whether its main task returned a value (false while running, and after a failure). */
  successful(): boolean {
    return this.#result.successful();
  }

  /** What the main task returned, once it has; else undefined. */
  get value(): R | undefined {
    return this.#result.value;
  }

  /** The {@link WorkerFailed} or {@link WorkerExited} it ended with, else undefined. */
  get exception(): unknown {
    this.#observed = true;
    return this.#result.exception;
  }

  /**
   * Wait until the thread has exited, at most `timeout` ms if given. Evaluates to
   * whether it has; never raises its error. Inside a task: `yield* w.join()`.
   */
  join(timeout?: number): SwitchOp<boolean> {
    return lazy(JOIN, this as WorkerHandle, timeout, undefined);
  }

  /** @internal Performs {@link WorkerHandle.join}. */
  performJoin(timeout: number | undefined): Performed<boolean> {
    this.#observed = true;
    if (this.#result.ready()) return immediate(true);
    currentTask('worker.join()');
    return this.#joinWait(timeout);
  }

  *#joinWait(timeout: number | undefined): GreenletBody<boolean> {
    yield* this.#result.performWait(timeout);
    return this.#result.ready();
  }

  /**
   * Wait for the main task's result: its return value, or raise {@link WorkerFailed} /
   * {@link WorkerExited}. With `timeout` (ms), raise a `Timeout` if the thread is still
   * running then. Inside a task: `const v = yield* w.get()`.
   */
  get(timeout?: number): SwitchOp<R> {
    return lazy(GET, this as WorkerHandle, timeout, undefined) as SwitchOp<R>;
  }

  /** @internal Performs {@link WorkerHandle.get}. */
  performGet(timeout: number | undefined): Performed<R> {
    this.#observed = true;
    currentTask('worker.get()');
    return this.#result.performGet(timeout);
  }

  /** A promise of the result, for async code (rejects with WorkerFailed / WorkerExited). */
  toPromise(): Promise<R> {
    this.#observed = true;
    return this.#result.toPromise();
  }

  /**
   * Stop the thread now (Node's `worker.terminate()`): its tasks stop where they are,
   * without running their `finally` blocks; the other ends of its channels raise
   * `ChannelPeerGone`; `get()` raises a {@link WorkerExited} with `terminated` true.
   * Does nothing once it has exited. Works anywhere; `yield* w.join()` waits for the end.
   * To stop a worker cleanly, close its input channel and let its main task return.
   */
  terminate(): void {
    if (this.#exitCode !== null || this.#terminated) return;
    this.#terminated = true;
    this.#observed = true;
    void this.thread.terminate();
  }

  /** @internal Waitable: call `callback(this)` once the thread has exited. */
  rawlink(callback: (handle: this) => void): void {
    this.#observed = true;
    const wrapper = (): void => callback(this);
    this.#links.set(callback, wrapper);
    this.#result.rawlink(wrapper);
  }

  /** @internal Waitable. */
  unlink(callback: (handle: this) => void): void {
    const wrapper = this.#links.get(callback);
    if (wrapper === undefined) return;
    this.#links.delete(callback);
    this.#result.unlink(wrapper);
  }

  /** For reports: `worker 0 (job.js, running)`. */
  toString(): string {
    const state = !this.#result.ready() ? 'running' : this.#result.successful() ? 'done' : 'failed';
    return `${this.#label.slice(0, -1)}, ${state})`;
  }

  #settle(code: number): void {
    this.#exitCode = code;
    const outcome = this.#outcome;
    if (outcome !== undefined && outcome.ok) {
      this.#result.set(outcome.value as R);
      return;
    }
    const error = this.#failure(outcome, code);
    this.#result.setException(error);
    if (this.#terminated) return;
    setImmediate(() => {
      if (!this.#observed) getHub().report({ kind: 'callback-error', where: `${this.#label}, which nobody joined`, error });
    });
  }

  #failure(outcome: Outcome | undefined, code: number): Error {
    if (outcome !== undefined && !outcome.ok) {
      const e = outcome.error;
      return new WorkerFailed(`${this.#label} failed: ${e.name}: ${e.message}`, this.index, { cause: rebuildError(e) });
    }
    if (this.#crashed) {
      const crash = this.#crash;
      const text = crash instanceof Error ? `${crash.name}: ${crash.message}` : String(crash);
      const errorCode = (crash as { code?: unknown } | null)?.code;
      const hint =
        errorCode === 'ERR_UNKNOWN_FILE_EXTENSION'
          ? ' (the thread cannot load a TypeScript file: give startWorkers a `runner` that registers your ' +
            'TypeScript loader, see StartWorkersOptions.runner, or run the compiled JavaScript)'
          : '';
      return new WorkerFailed(`${this.#label} failed: ${text}${hint}`, this.index, { cause: crash });
    }
    if (this.#terminated) {
      return new WorkerExited(`${this.#label} was terminated before its main task ended`, this.index, code, true);
    }
    return new WorkerExited(
      `${this.#label} exited with code ${code} before its main task ended: process.exit() in the worker, ` +
        'or a fatal error of the thread',
      this.index,
      code,
      false,
    );
  }
}

const JOIN = blockingOperation<WorkerHandle, number | undefined, undefined, boolean>('worker.join()', (w, timeout) => w.performJoin(timeout));
const GET = blockingOperation<WorkerHandle, number | undefined, undefined, unknown>('worker.get()', (w, timeout) => w.performGet(timeout));

// --- the worker side ------------------------------------------------------------------------------

/** The worker runtime: run the module's main task, report its outcome, end the thread. */
async function runWorkerThread(envelope: Envelope): Promise<void> {
  setThreadLabel(envelope.label);
  const port = parentPort;
  if (port === null) return;
  let failure: unknown = undefined;
  let failed = false;
  try {
    // Revive the ends first: if the module cannot load, their other sides learn why.
    const data = reviveEnds(envelope.data);
    const loaded = (await import(envelope.module)) as { default?: unknown };
    const main = loaded.default;
    if (typeof main !== 'function') {
      throw new TypeError(
        `${envelope.module} has no default export function: a worker module exports its main task, ` +
          '`export default function* (ctx) { ... }`',
      );
    }
    const context: WorkerContext = Object.freeze({
      index: envelope.index,
      count: envelope.count,
      data,
      threadId,
    });
    const task = spawn(runMain, main as WorkerMain, context);
    task.name = `${envelope.label} main`;
    const { value } = await task.toPromise();
    const ends = findEnds(value);
    moveEnds(ends, (ports) => {
      const outcome: Outcome = { ok: true, value, ends: ends !== null };
      port.postMessage({ [ENVELOPE]: outcome }, ports);
    });
  } catch (error) {
    failed = true;
    failure = error;
  }
  if (failed) {
    closeThreadEnds(failure);
    const outcome: Outcome = { ok: false, error: recordError(failure) };
    port.postMessage({ [ENVELOPE]: outcome });
  } else {
    closeThreadEnds();
  }
  process.exit(failed ? 1 : 0);
}

/**
 * The main task: the module's main function, its result boxed so that a returned Task
 * (a thenable) reaches the check that refuses it instead of being awaited.
 */
function* runMain(main: WorkerMain, context: WorkerContext): GreenletBody<{ value: unknown }> {
  const result = main(context);
  if (isGenerator<GreenletBody<unknown>>(result)) return { value: yield* result };
  return { value: result };
}

const envelopeHere: unknown = isMainThread ? undefined : (workerData as Record<string, unknown> | null)?.[ENVELOPE];
if (typeof envelopeHere === 'object' && envelopeHere !== null && typeof (envelopeHere as Envelope).module === 'string') {
  void runWorkerThread(envelopeHere as Envelope);
}
