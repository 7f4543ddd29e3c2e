/**
 * `ClusteredServer`: a {@link StreamServer} or {@link HttpServer} served by several
 * processes with `node:cluster`, the "process" half of the process + coroutine model:
 * tasks give the concurrency inside a process, processes give the cores.
 *
 * Two roles, one module. The application's entry module makes a `ClusteredServer` and
 * calls `start()` and `serveForever()`. In the *primary* (the process you started) that
 * forks `workers` processes running the same entry module and supervises them; in each
 * *worker* the same calls build the server with the `server` factory, start it and serve.
 * Every worker listens on the same port: Node's cluster shares the listening socket (with
 * the default round-robin policy the primary accepts connections and hands each to a
 * worker). Each worker has its own hub; tasks and channels never cross processes.
 *
 * ```ts
 * // server.ts: the primary and every worker run this module.
 * import os from 'node:os';
 * import { run, sleep } from 'greenlet-ts';
 * import { HttpServer } from 'greenlet-ts/io';
 * import { ClusteredServer } from 'greenlet-ts/workers';
 *
 * const cluster = new ClusteredServer({
 *   workers: os.availableParallelism(),
 *   // Runs in each worker process: its own hub and server, all on port 8080.
 *   server: () =>
 *     new HttpServer(function* (request, response) {
 *       if (request.path === '/slow') yield* sleep(1000); // parks this request's task only
 *       response.send(200, `served by ${process.pid}\n`);
 *     }, { port: 8080 }),
 * });
 *
 * await run(function* () {
 *   yield* cluster.start(); // primary: fork the workers, return once every one listens
 *   if (cluster.isPrimary) {
 *     console.log(`listening on ${cluster.port} with ${cluster.workers.length} workers`);
 *     const stop = () => void cluster.stopAsync(10_000); // drain: 10 s for requests in flight
 *     process.once('SIGINT', stop);
 *     process.once('SIGTERM', stop);
 *   }
 *   yield* cluster.serveForever(); // primary: supervise; worker: serve; both until stopped
 * });
 * ```
 *
 * Supervision (primary). While the cluster runs it keeps `workers` processes: a worker
 * that exits, crashed or not, is replaced by a new one in the same *slot*. Replacements
 * are rate-limited: at most `maxRestarts` within `restartWindowMs`; beyond that a slot
 * waits (state `restart-pending`) until the oldest restart leaves the window, so a crash
 * loop costs a few forks per window instead of spinning. A crash is reported through the
 * hub's reporter (or `onWorkerExit`). `workers` shows each slot's process and state;
 * `yield* cluster.stats()` asks every worker for its counts (connections, requests in
 * flight, live tasks): a worker that does not answer in time is not responsive (its hub is
 * blocked, or it is overloaded).
 *
 * Stopping. `stop(graceMs)` in the primary tells every worker to stop gracefully: each
 * worker stops its server (it stops accepting, lets the requests in flight finish within
 * `graceMs`, kills the rest) and leaves the cluster, then exits. The primary waits for
 * every worker to exit; one still running `graceMs` + {@link STOP_MARGIN_MS} after the
 * stop began is killed (SIGKILL). `stop()` in a worker stops that worker only (the primary
 * replaces it while the cluster runs). In a worker, SIGINT is ignored (Ctrl-C signals the
 * whole process group: the primary decides) and SIGTERM stops the worker gracefully.
 *
 * Primary states: `new ──start()──▶ starting ──every worker listens──▶ running ──stop()──▶
 * stopping ──every worker exited──▶ stopped` (a worker that fails to start makes `start()`
 * stop the others and raise {@link ClusterStartError}). Slot states: `starting ──listening
 * message──▶ listening ──stop sent──▶ stopping ──exit──▶ restart-pending | starting | exited`.
 *
 * Invariants (primary):
 * - every slot has at most one process (`slot.worker`); `#byWorker` maps exactly the
 *   forked workers that have not exited to their slot;
 * - a slot is `restart-pending` exactly while its restart timer is set, and only while
 *   the cluster runs; from `stopping` on no worker is forked;
 * - `#allExited` is set exactly when no forked worker is left (after the first fork);
 * - the restart log holds the times of the restarts within the last `restartWindowMs`,
 *   and never more than `maxRestarts` of them.
 *
 * Node's round-robin distribution and a killed worker: the primary accepts a connection,
 * sends it to a worker over IPC and keeps its own copy until the worker answers that it
 * took it. A worker killed in between never answers, and Node never closes that copy: the
 * client would hang forever (nodejs/node-v0.x-archive#7006). The primary here closes the
 * copies a dead worker never acknowledged once its IPC channel has closed, so such a
 * client gets a connection reset. (This reads the cluster's internal `newconn` messages;
 * should their shape change, it does nothing and Node's behaviour returns.)
 *
 * Costs: every process is a whole Node instance (tens of MB). A message between the
 * primary and a worker (`stats()`, the stop order) is JSON over a pipe: ~0.1-0.2 ms a
 * round trip (`stats()` of 2 workers measured 150-200 µs on a busy 2-core VM). With
 * round-robin the primary handles every new connection (an accept, then an IPC message
 * carrying the descriptor and an answer): keep-alive connections amortise it, while a
 * connection per request makes the primary the bottleneck (measured with 2 workers and a
 * new connection per request: `schedulingPolicy: 'none'`, where the workers accept
 * themselves, served about twice as many, spread very unevenly between the workers).
 *
 * Coming from gevent: gevent has no cluster; this is what gunicorn's arbiter does for
 * gevent workers (pre-fork, shared listener, replace dead workers, graceful stop).
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { call } from '../core/call.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { asyncError, isAsync, typeName, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, getHub } from '../hub/hub.js';
import { spawn } from '../hub/task.js';
import { now } from '../hub/timers.js';
import { HttpServer } from '../io/http-server.js';
import { StreamServer } from '../io/server.js';
import { Event } from '../sync/event.js';

/** A server a {@link ClusteredServer} can run in its workers. */
export type ClusterableServer = StreamServer | HttpServer;

/**
 * Makes a worker's server: a plain function or a generator function (it may block, e.g.
 * to open a database connection first). It runs in each worker process, never in the
 * primary. The server may be started already; otherwise the worker starts it.
 */
export type ServerFactory<S extends ClusterableServer> = () => GreenletBody<S> | S;

/** How Node spreads connections: `'rr'` the primary hands them round robin, `'none'` the workers accept them. */
export type SchedulingPolicy = 'rr' | 'none';

/** Options of a {@link ClusteredServer}. */
export interface ClusteredServerOptions<S extends ClusterableServer> {
  /** Builds the server in each worker process. */
  server: ServerFactory<S>;
  /** How many worker processes (default `os.availableParallelism()`: one per core). */
  workers?: number;
  /**
   * At most this many replacements of exited workers within `restartWindowMs` (default
   * 5, or `workers` if more); more wait their turn.
   */
  maxRestarts?: number;
  /** The window of `maxRestarts`, in ms (default 10 000). */
  restartWindowMs?: number;
  /** A worker that does not listen within this many ms is killed (default 30 000). */
  startTimeoutMs?: number;
  /**
   * The grace period of a stop that does not name one: a killed `serveForever()`,
   * `await using`, a SIGTERM to a worker (default 1000 ms).
   */
  stopGraceMs?: number;
  /** Node's cluster scheduling policy (default: Node's, round robin except on Windows). Set before the first fork. */
  schedulingPolicy?: SchedulingPolicy;
  /** The module the workers run (default: the primary's entry module, `process.argv[1]`). */
  exec?: string;
  /** The workers' command-line arguments (default: the primary's). */
  args?: readonly string[];
  /** The workers' Node flags (default: the primary's `process.execArgv`, e.g. `--import tsx`). */
  execArgv?: readonly string[];
  /** Extra environment variables of the workers (added to the primary's). */
  env?: Readonly<Record<string, string>>;
  /**
   * Called in the primary whenever a worker exits. Without it, an abnormal exit (a
   * signal, a non-zero code, a worker killed after the grace period) is reported through
   * the hub's reporter.
   */
  onWorkerExit?: (exit: WorkerExit) => void;
}

/** What a worker slot is doing (see {@link ClusteredServer.workers}). */
export type WorkerState = 'starting' | 'listening' | 'stopping' | 'restart-pending' | 'exited';

/** A worker slot, as the primary sees it. */
export interface ClusterWorker {
  /** The slot, 0 to `workers - 1`: stays the same when its process is replaced. */
  readonly slot: number;
  /** Node's `cluster.Worker` id of the current process (new for each fork), or null. */
  readonly id: number | null;
  /** The pid of the current process, or null when there is none. */
  readonly pid: number | null;
  readonly state: WorkerState;
  /** How many times the slot's process was replaced. */
  readonly restarts: number;
}

/** Counts a worker sends when the primary asks ({@link ClusteredServer.stats}). */
export interface WorkerSample {
  readonly pid: number;
  /** Open client connections. */
  readonly connections: number;
  /** Requests in flight (HttpServer), or connections being served (StreamServer). */
  readonly inFlight: number;
  /** The worker hub's live tasks. */
  readonly liveTasks: number;
  readonly uptimeMs: number;
  readonly rssBytes: number;
}

/** A slot with its worker's answer: `sample` is null if it did not answer in time (or had no listening process). */
export interface ClusterWorkerStats extends ClusterWorker {
  readonly sample: WorkerSample | null;
}

/** A worker process that exited, as {@link ClusteredServerOptions.onWorkerExit} sees it. */
export interface WorkerExit {
  readonly slot: number;
  readonly id: number;
  readonly pid: number | null;
  /** Its exit code, or null if a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the primary killed it because it outlived the grace period of a stop, or did not listen in time. */
  readonly killed: boolean;
  /** In how many ms a replacement starts (0: now), or null if none does (the cluster stops). */
  readonly restartInMs: number | null;
}

/**
 * Extra time a stopping primary gives a worker beyond the grace period before it kills
 * it: the worker's server waits up to a second for killed handlers, then the process exits.
 */
export const STOP_MARGIN_MS = 2000;

/** A misuse of {@link ClusteredServer}: the message says what to do instead. */
export class ClusterError extends Error {
  override name = 'ClusterError';
}

/** A worker failed to start (its factory or listen failed, it died, or it did not listen in time). */
export class ClusterStartError extends ClusterError {
  override name = 'ClusterStartError';
  constructor(
    message: string,
    /** The slot of the worker that failed. */
    readonly slot: number,
  ) {
    super(message);
  }
}

/** Reported (through the hub's reporter) when a worker exits abnormally while the cluster runs or stops. */
export class WorkerCrashed extends Error {
  override name = 'WorkerCrashed';
  constructor(
    message: string,
    /** The exit, as `onWorkerExit` would see it. */
    readonly exit: WorkerExit,
  ) {
    super(message);
  }
}

// --- the protocol between the primary and its workers ----------------------------------

/** The key of every message this module sends, so that user messages are told apart. */
const TAG = 'greenlet-ts:cluster';
/** The environment variable that tells a worker its slot (and that this module forked it). */
const SLOT_ENV = 'GREENLET_TS_CLUSTER_SLOT';

type ToWorker =
  | { readonly [TAG]: 'stop'; readonly graceMs: number }
  | { readonly [TAG]: 'stats'; readonly request: number };
type ToPrimary =
  | { readonly [TAG]: 'listening'; readonly port: number }
  | { readonly [TAG]: 'failed'; readonly message: string }
  | { readonly [TAG]: 'stats'; readonly request: number; readonly sample: WorkerSample };

function isOurs<T>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && TAG in message;
}

const PRIMARY_NEW = 0;
const PRIMARY_STARTING = 1;
const PRIMARY_RUNNING = 2;
const PRIMARY_STOPPING = 3;
const PRIMARY_STOPPED = 4;

const DEFAULT_RESTART_WINDOW = 10_000;
const DEFAULT_START_TIMEOUT = 30_000;
const DEFAULT_STOP_GRACE = 1000;
const DEFAULT_STATS_TIMEOUT = 1000;

/** A worker slot of the primary. */
interface Slot {
  readonly index: number;
  worker: Worker | null;
  state: WorkerState;
  restarts: number;
  /** Kills a worker that does not listen in time; set while `starting`. */
  startTimer: NodeJS.Timeout | null;
  /** Starts the replacement; set exactly while `restart-pending`. */
  restartTimer: NodeJS.Timeout | null;
  /** The primary killed the current process (start timeout, stop deadline). */
  killed: boolean;
  /** What the current process said when it failed to start, if it did. */
  failure: string | null;
}

/** The one ClusteredServer of this process that is not stopped, if any. */
let active: ClusteredServer<ClusterableServer> | null = null;

/**
 * A stream or HTTP server run by `workers` processes sharing its port, supervised by a
 * primary process that replaces crashed workers and stops them all gracefully. Make one
 * in the entry module: the primary and every worker run that module, and the same calls
 * (`start()`, `serveForever()`, `stop()`) act in each role. See the module's example.
 *
 * ```ts
 * const cluster = new ClusteredServer({ workers: 4, server: () => new HttpServer(handle, { port: 8080 }) });
 * await run(function* () {
 *   yield* cluster.start();
 *   yield* cluster.serveForever();
 * });
 * ```
 *
 * One per process at a time (a worker process serves one server); after `stop()` another
 * may be made.
 */
export class ClusteredServer<S extends ClusterableServer = ClusterableServer> implements AsyncDisposable {
  /** Whether this process is the primary (it supervises) rather than a worker (it serves). */
  readonly isPrimary: boolean;
  readonly #factory: ServerFactory<S>;
  readonly #workerCount: number;
  readonly #maxRestarts: number;
  readonly #restartWindowMs: number;
  readonly #startTimeoutMs: number;
  readonly #stopGraceMs: number;
  readonly #options: ClusteredServerOptions<S>;
  #port = 0;

  // --- primary ---
  #state = PRIMARY_NEW;
  readonly #slots: Slot[] = [];
  readonly #byWorker = new Map<Worker, Slot>();
  readonly #restartLog: number[] = [];
  /** Set when start() can return: every worker listens, or one failed. */
  readonly #startSettled = new Event();
  #startFailure: ClusterStartError | null = null;
  readonly #allExited = new Event();
  /** Set when stop() has finished (or start() failed). */
  readonly #stopped = new Event();
  #stopDeadline: NodeJS.Timeout | null = null;
  #statsRequest = 0;
  readonly #statsWaiters = new Map<number, (worker: Worker, sample: WorkerSample) => void>();

  // --- worker ---
  readonly #slotIndex: number | null;
  #server: S | null = null;
  #serving = false;
  #left = false;
  #stopRequested: number | null = null;
  readonly #workerStopped = new Event();

  /**
   * Make the cluster's handle in this process; nothing starts until `start()`. In the
   * primary, `options` say how to run the workers; in a worker, `server` makes its server.
   *
   * @throws ClusterError if another ClusteredServer of this process is not stopped, or
   *   this process is a cluster worker that no ClusteredServer forked.
   */
  constructor(options: ClusteredServerOptions<S>) {
    if (typeof options?.server !== 'function') {
      throw new TypeError('ClusteredServer takes { server: () => new HttpServer(...) or new StreamServer(...) }');
    }
    if (isAsync(options.server)) throw asyncError("ClusteredServer's server factory");
    const workers = options.workers ?? os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`ClusteredServer takes workers: a whole number >= 1, not ${String(workers)}`);
    }
    if (active !== null) {
      throw new ClusterError(
        `${active.toString()} is not stopped: a process runs one ClusteredServer at a time. Stop it first, ` +
          'or serve both protocols from the one server factory',
      );
    }
    const slot = process.env[SLOT_ENV];
    if (cluster.isWorker && slot === undefined) {
      throw new ClusterError(
        'this process is a cluster worker that no ClusteredServer forked: make the ClusteredServer in the ' +
          'primary (the process you start), which forks its workers itself',
      );
    }
    this.isPrimary = !cluster.isWorker;
    this.#slotIndex = this.isPrimary ? null : Number(slot);
    this.#factory = options.server;
    this.#workerCount = workers;
    this.#maxRestarts = options.maxRestarts ?? Math.max(5, workers);
    this.#restartWindowMs = options.restartWindowMs ?? DEFAULT_RESTART_WINDOW;
    this.#startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT;
    this.#stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE;
    this.#options = options;
    active = this as unknown as ClusteredServer<ClusterableServer>;
  }

  /** Whether this process is one of the workers. */
  get isWorker(): boolean {
    return !this.isPrimary;
  }

  /**
   * The port the workers listen on, once one does (0 before). With port 0 every worker
   * shares the one the system picked (it can change if every worker died at once).
   */
  get port(): number {
    return this.#port;
  }

  /** In a worker, its slot (0 to `workers - 1`); null in the primary. */
  get slot(): number | null {
    return this.#slotIndex;
  }

  /** In a worker, its server once `start()` made it; null in the primary. */
  get server(): S | null {
    return this.#server;
  }

  /**
   * The primary's view of its worker slots: each one's process, state and replacements.
   * Empty in a worker. To ask each worker for its counts, use {@link ClusteredServer.stats}.
   */
  get workers(): readonly ClusterWorker[] {
    return this.#slots.map(describeSlot);
  }

  /** Whether the cluster serves: every worker started (primary), or the server listens (worker). */
  get started(): boolean {
    return this.isPrimary ? this.#state === PRIMARY_RUNNING : this.#serving;
  }

  /** Whether the cluster (primary) or this worker has stopped for good. */
  get stopped(): boolean {
    return this.isPrimary ? this.#state === PRIMARY_STOPPED : this.#workerStopped.isSet();
  }

  // --- starting --------------------------------------------------------------------------

  /**
   * Start, in a task. In the primary: fork the workers and return once every one listens
   * (`cluster.port` is then the port). In a worker: make the server with the factory,
   * start it unless it is started, and tell the primary. Evaluates to the cluster.
   *
   * ```ts
   * yield* cluster.start();
   * ```
   *
   * @throws ClusterStartError (primary) if a worker failed to start: its factory or
   *   listen threw (the message carries its error: `EADDRINUSE`...), it exited, or it did
   *   not listen within `startTimeoutMs`. The other workers are stopped first.
   */
  start(): SwitchOp<this> {
    return lazy(START, this as ClusteredServer, undefined, undefined) as SwitchOp<this>;
  }

  /** @internal Performs {@link ClusteredServer.start}. */
  *performStart(): GreenletBody<this> {
    if (this.isPrimary) yield* this.#startPrimary();
    else yield* this.#startWorker();
    return this;
  }

  /**
   * Start if needed, then block the task until the cluster is stopped. In the primary
   * this supervises the workers; in a worker it serves, and leaves the cluster once its
   * server has stopped. If the task is killed, the cluster (or this worker) is stopped
   * with the default grace period.
   *
   * ```ts
   * yield* cluster.serveForever();
   * ```
   */
  serveForever(): SwitchOp<void> {
    return lazy(SERVE_FOREVER, this as ClusteredServer, undefined, undefined);
  }

  /** @internal Performs {@link ClusteredServer.serveForever}. */
  *performServeForever(): GreenletBody<void> {
    if (this.isPrimary) {
      if (this.#state === PRIMARY_NEW) yield* this.performStart();
      try {
        yield* this.#stopped.performWait(undefined);
      } finally {
        if (!this.#stopped.isSet()) yield* this.performStop(this.#stopGraceMs);
      }
      return;
    }
    if (this.#server === null) yield* this.performStart();
    try {
      yield* (this.#server as S).performServeForever();
    } finally {
      // Stopped already (the primary's order): this returns at once; killed: stop now.
      yield* this.#stopWorker(this.#stopGraceMs);
    }
  }

  // --- stopping --------------------------------------------------------------------------

  /**
   * Stop gracefully, in a task. In the primary: no worker is replaced any more; every
   * worker stops accepting, lets its requests in flight finish within `graceMs` (default
   * 1000), kills the rest and exits; a worker still running `graceMs` +
   * {@link STOP_MARGIN_MS} after the stop began is killed. Returns once every worker
   * process has exited. In a worker: stop this worker's server the same way and leave the
   * cluster (the primary replaces the worker if the cluster runs). Calling it again waits
   * for the same stop.
   *
   * ```ts
   * yield* cluster.stop(10_000); // up to 10 s for the requests in flight
   * ```
   */
  stop(graceMs: number = this.#stopGraceMs): SwitchOp<void> {
    return lazy(STOP, this as ClusteredServer, graceMs, undefined);
  }

  /** @internal Performs {@link ClusteredServer.stop}. */
  performStop(graceMs: number): GreenletBody<void> {
    return this.isPrimary ? this.#stopPrimary(graceMs) : this.#stopWorker(graceMs);
  }

  /**
   * {@link ClusteredServer.stop} from plain or async code (a signal handler): resolves once stopped.
   *
   * ```ts
   * process.once('SIGTERM', () => void cluster.stopAsync(10_000));
   * ```
   */
  stopAsync(graceMs: number = this.#stopGraceMs): Promise<void> {
    const self = this;
    return spawn(function* stopCluster(): GreenletBody<void> {
      yield* self.performStop(graceMs);
    }).toPromise();
  }

  /** `await using cluster = ...` stops it (with the default grace period) at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stopAsync();
  }

  // --- liveness and counts ---------------------------------------------------------------

  /**
   * Ask every listening worker for its counts, in the primary; evaluates to one entry per
   * slot, in slot order. A worker that does not answer within `timeoutMs` (default 1000)
   * has `sample: null`: its hub is blocked, or it is swamped. Costs one IPC round trip per
   * worker (~0.1-0.2 ms for all of them: the questions go out at once).
   *
   * ```ts
   * for (const w of yield* cluster.stats()) console.log(w.slot, w.pid, w.state, w.sample?.inFlight ?? 'no answer');
   * ```
   *
   * @throws ClusterError in a worker (ask the server itself there).
   */
  stats(timeoutMs: number = DEFAULT_STATS_TIMEOUT): SwitchOp<ClusterWorkerStats[]> {
    return lazy(STATS, this as ClusteredServer, timeoutMs, undefined);
  }

  /** @internal Performs {@link ClusteredServer.stats}. */
  *performStats(timeoutMs: number): GreenletBody<ClusterWorkerStats[]> {
    if (!this.isPrimary) {
      throw new ClusterError(`${this.toString()}: stats() is the primary's; in a worker, read the server (cluster.server)`);
    }
    const asked = new Map<Worker, WorkerSample | null>();
    for (const slot of this.#slots) {
      if (slot.state === 'listening' && slot.worker !== null && slot.worker.isConnected()) asked.set(slot.worker, null);
    }
    const request = ++this.#statsRequest;
    const answered = new Event();
    let pending = asked.size;
    this.#statsWaiters.set(request, (worker, sample) => {
      if (!asked.has(worker) || asked.get(worker) !== null) return;
      asked.set(worker, sample);
      if (--pending === 0) answered.set();
    });
    try {
      for (const worker of asked.keys()) send(worker, { [TAG]: 'stats', request });
      if (pending !== 0) yield* answered.wait(timeoutMs);
    } finally {
      this.#statsWaiters.delete(request);
    }
    return this.#slots.map((slot) => ({
      ...describeSlot(slot),
      sample: slot.worker === null ? null : (asked.get(slot.worker) ?? null),
    }));
  }

  /** `ClusteredServer(primary, 4 workers, port 8080)` or `ClusteredServer(worker 2 of 4, pid 1234)`. */
  toString(): string {
    return this.isPrimary
      ? `ClusteredServer(primary, ${this.#workerCount} workers, port ${this.#port})`
      : `ClusteredServer(worker ${String(this.#slotIndex)} of ${this.#workerCount}, pid ${process.pid})`;
  }

  // --- the primary -----------------------------------------------------------------------

  *#startPrimary(): GreenletBody<void> {
    switch (this.#state) {
      case PRIMARY_NEW:
        break;
      case PRIMARY_STARTING:
        yield* this.#startSettled.wait();
        if (this.#startFailure !== null) throw this.#startFailure;
        return;
      case PRIMARY_RUNNING:
        return;
      default:
        throw new ClusterError(`${this.toString()} has been stopped and cannot start again: make a new ClusteredServer`);
    }
    this.#state = PRIMARY_STARTING;
    const { exec, args, execArgv, schedulingPolicy } = this.#options;
    // Node freezes the policy at the first setupPrimary() (a fork makes one): set it first.
    if (schedulingPolicy !== undefined) {
      cluster.schedulingPolicy = schedulingPolicy === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    }
    if (exec !== undefined || args !== undefined || execArgv !== undefined) {
      cluster.setupPrimary({
        ...(exec !== undefined ? { exec } : {}),
        ...(args !== undefined ? { args: [...args] } : {}),
        ...(execArgv !== undefined ? { execArgv: [...execArgv] } : {}),
      });
    }
    for (let index = 0; index < this.#workerCount; index++) {
      const slot: Slot = {
        index,
        worker: null,
        state: 'starting',
        restarts: 0,
        startTimer: null,
        restartTimer: null,
        killed: false,
        failure: null,
      };
      this.#slots.push(slot);
      this.#fork(slot);
    }
    try {
      yield* this.#startSettled.wait();
    } catch (error) {
      // The starting task was killed: take the workers down with it.
      yield* this.#stopPrimary(0);
      throw error;
    }
    if (this.#startFailure !== null) {
      yield* this.#stopPrimary(0);
      throw this.#startFailure;
    }
    if (this.#state !== PRIMARY_STARTING) {
      yield* this.#stopped.wait();
      throw new ClusterError(`${this.toString()} was stopped while it started`);
    }
    this.#state = PRIMARY_RUNNING;
  }

  #fork(slot: Slot): void {
    const worker = cluster.fork({ ...this.#options.env, [SLOT_ENV]: String(slot.index) });
    slot.worker = worker;
    slot.state = 'starting';
    slot.killed = false;
    slot.failure = null;
    this.#byWorker.set(worker, slot);
    this.#allExited.clear();
    if (cluster.schedulingPolicy === cluster.SCHED_RR) closeOrphanedConnections(worker.process);
    worker.on('message', (message: unknown) => this.#onWorkerMessage(worker, message));
    worker.on('error', (error: Error) => this.#onWorkerError(worker, error));
    // 'close' comes after the exit and after the last message of the worker was read (a
    // 'failed' message it sent just before dying is not lost); the worker's 'exit' may not.
    worker.process.once('close', (code: number | null, signal: NodeJS.Signals | null) => this.#onWorkerExit(worker, code, signal));
    slot.startTimer = setTimeout(() => {
      slot.startTimer = null;
      if (slot.worker !== worker || slot.state !== 'starting') return;
      slot.failure ??= `it did not listen within ${this.#startTimeoutMs} ms (startTimeoutMs)`;
      slot.killed = true;
      worker.process.kill('SIGKILL');
    }, this.#startTimeoutMs);
  }

  #onWorkerMessage(worker: Worker, message: unknown): void {
    if (!isOurs<ToPrimary>(message)) return;
    const slot = this.#byWorker.get(worker);
    if (slot === undefined) return;
    switch (message[TAG]) {
      case 'listening':
        this.#port = message.port;
        if (slot.startTimer !== null) clearTimeout(slot.startTimer);
        slot.startTimer = null;
        if (slot.state !== 'starting') return; // 'stopping': it has the stop order already
        slot.state = 'listening';
        if (this.#state === PRIMARY_STARTING && this.#slots.every((s) => s.state === 'listening')) {
          this.#startSettled.set();
        }
        return;
      case 'failed':
        slot.failure = message.message;
        return;
      case 'stats':
        this.#statsWaiters.get(message.request)?.(worker, message.sample);
        return;
    }
  }

  #onWorkerError(worker: Worker, error: Error): void {
    // Sending to a worker that has just died fails (EPIPE, a closed channel): its exit follows.
    const code = (error as { code?: unknown }).code;
    if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_IPC_CHANNEL_CLOSED') return;
    getHub().report({ kind: 'callback-error', where: `${this.toString()} talking to worker ${worker.id}`, error });
  }

  #onWorkerExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const slot = this.#byWorker.get(worker);
    if (slot === undefined) return;
    this.#byWorker.delete(worker);
    if (slot.startTimer !== null) clearTimeout(slot.startTimer);
    slot.startTimer = null;
    const wasStarting = slot.state === 'starting';
    const killed = slot.killed; // before a replacement's fork resets it
    slot.worker = null;
    slot.state = 'exited';
    let restartInMs: number | null = null;
    if (this.#state === PRIMARY_STARTING && wasStarting && this.#startFailure === null) {
      const why = slot.failure ?? `it exited (${signal !== null ? signal : `code ${String(code)}`}) before listening`;
      this.#startFailure = new ClusterStartError(
        `${this.toString()}: worker ${slot.index} (pid ${String(worker.process.pid)}) failed to start: ${why}`,
        slot.index,
      );
      this.#startSettled.set();
    } else if (this.#state === PRIMARY_RUNNING || (this.#state === PRIMARY_STARTING && this.#startFailure === null)) {
      restartInMs = this.#scheduleRestart(slot);
    }
    const pid = worker.process.pid ?? null;
    const exit: WorkerExit = { slot: slot.index, id: worker.id, pid, code, signal, killed, restartInMs };
    const onExit = this.#options.onWorkerExit;
    if (onExit !== undefined) {
      try {
        onExit(exit);
      } catch (error) {
        getHub().report({ kind: 'callback-error', where: `${this.toString()} onWorkerExit`, error });
      }
    } else if (signal !== null || code !== 0 || killed) {
      getHub().report({ kind: 'callback-error', where: `${this.toString()} supervising its workers`, error: crashReport(exit) });
    }
    if (this.#byWorker.size === 0 && !this.#slots.some((s) => s.state === 'restart-pending' || s.worker !== null)) {
      this.#allExited.set();
    }
  }

  /** Replace the slot's process now if the restart budget allows, else when it does; the delay in ms. */
  #scheduleRestart(slot: Slot): number {
    const at = now();
    const log = this.#restartLog;
    while (log.length !== 0 && (log[0] as number) <= at - this.#restartWindowMs) log.shift();
    if (log.length < this.#maxRestarts) {
      log.push(at);
      slot.restarts++;
      this.#fork(slot);
      return 0;
    }
    const delay = Math.max(1, Math.ceil((log[0] as number) + this.#restartWindowMs - at));
    slot.state = 'restart-pending';
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.#state !== PRIMARY_RUNNING && this.#state !== PRIMARY_STARTING) return;
      this.#scheduleRestart(slot);
    }, delay);
    return delay;
  }

  *#stopPrimary(graceMs: number): GreenletBody<void> {
    if (this.#state === PRIMARY_NEW) {
      this.#finishPrimaryStop();
      return;
    }
    if (this.#state >= PRIMARY_STOPPING) {
      yield* this.#stopped.wait();
      return;
    }
    this.#state = PRIMARY_STOPPING;
    this.#startSettled.set(); // a start() waiting returns (and finds the cluster stopping)
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) {
        clearTimeout(slot.restartTimer);
        slot.restartTimer = null;
        slot.state = 'exited';
      }
    }
    for (const [worker, slot] of this.#byWorker) {
      // A worker still starting gets the order once its message listener exists (Node holds it).
      slot.state = 'stopping';
      send(worker, { [TAG]: 'stop', graceMs });
    }
    if (this.#byWorker.size === 0) this.#allExited.set();
    this.#stopDeadline = setTimeout(() => {
      this.#stopDeadline = null;
      for (const [worker, slot] of this.#byWorker) {
        slot.killed = true;
        worker.process.kill('SIGKILL');
      }
    }, Math.max(0, graceMs) + STOP_MARGIN_MS);
    try {
      yield* this.#allExited.wait();
    } finally {
      // Also when the stopping task is killed: no worker outlives the stop.
      if (!this.#allExited.isSet()) for (const worker of this.#byWorker.keys()) worker.process.kill('SIGKILL');
      this.#finishPrimaryStop();
    }
  }

  #finishPrimaryStop(): void {
    if (this.#stopDeadline !== null) clearTimeout(this.#stopDeadline);
    this.#stopDeadline = null;
    this.#state = PRIMARY_STOPPED;
    this.#startSettled.set();
    this.#stopped.set();
    if (active === (this as unknown)) active = null;
  }

  // --- a worker --------------------------------------------------------------------------

  *#startWorker(): GreenletBody<void> {
    if (this.#server !== null) return;
    if (this.#left) throw new ClusterError(`${this.toString()} has been stopped and cannot start again`);
    process.on('message', this.#onPrimaryMessage);
    process.on('SIGINT', ignoreSignal);
    process.on('SIGTERM', this.#onTerm);
    let server: S;
    try {
      server = (yield* call(this.#factory)) as S;
      if (!(server instanceof StreamServer) && !(server instanceof HttpServer)) {
        throw new ClusterError(
          `${this.toString()}: the server factory returned ${typeName(server)}; it must return a StreamServer or an HttpServer`,
        );
      }
      if (!server.started) yield* server.performStart();
    } catch (error) {
      tellPrimary({ [TAG]: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      this.#leave();
      throw error;
    }
    this.#server = server;
    this.#serving = true;
    this.#port = server instanceof HttpServer ? server.port : server.address.port;
    tellPrimary({ [TAG]: 'listening', port: this.#port });
    if (this.#stopRequested !== null) this.#stopInTask(this.#stopRequested);
  }

  *#stopWorker(graceMs: number): GreenletBody<void> {
    const server = this.#server;
    if (server === null) {
      this.#leave();
      return;
    }
    this.#serving = false;
    // A stopped server returns at once; one stopping makes this wait for the same stop.
    try {
      yield* server.performStop(graceMs);
    } finally {
      this.#leave();
    }
  }

  /** Stop this worker from a callback (the primary's order, SIGTERM). */
  #stopInTask(graceMs: number): void {
    if (this.#server === null) {
      this.#stopRequested = graceMs; // start() stops it once the server listens
      return;
    }
    const task = spawn(() => this.#stopWorker(graceMs));
    task.name = `${this.toString()} stopping`;
  }

  readonly #onPrimaryMessage = (message: unknown): void => {
    if (!isOurs<ToWorker>(message)) return;
    switch (message[TAG]) {
      case 'stop':
        this.#stopInTask(message.graceMs);
        return;
      case 'stats':
        tellPrimary({ [TAG]: 'stats', request: message.request, sample: this.#sample() });
        return;
    }
  };

  readonly #onTerm = (): void => this.#stopInTask(this.#stopGraceMs);

  #sample(): WorkerSample {
    const server = this.#server;
    const connections = server === null ? 0 : server.connections;
    return {
      pid: process.pid,
      connections,
      inFlight: server instanceof HttpServer ? server.inFlight : connections,
      liveTasks: getHub().liveCount,
      uptimeMs: Math.round(process.uptime() * 1000),
      rssBytes: process.memoryUsage.rss(),
    };
  }

  /** Leave the cluster once: the process can then exit, and the primary knows it meant to. */
  #leave(): void {
    if (this.#left) return;
    this.#left = true;
    this.#serving = false;
    process.removeListener('message', this.#onPrimaryMessage);
    process.removeListener('SIGINT', ignoreSignal);
    process.removeListener('SIGTERM', this.#onTerm);
    this.#workerStopped.set();
    if (active === (this as unknown)) active = null;
    const worker = cluster.worker;
    if (worker !== undefined && worker.isConnected()) worker.disconnect();
  }
}

const START = blockingOperation<ClusteredServer, undefined, undefined, ClusteredServer>('cluster.start()', (c) => c.performStart());
const SERVE_FOREVER = blockingOperation<ClusteredServer, undefined, undefined, void>('cluster.serveForever()', (c) =>
  c.performServeForever(),
);
const STOP = blockingOperation<ClusteredServer, number, undefined, void>('cluster.stop()', (c, graceMs) => c.performStop(graceMs));
const STATS = blockingOperation<ClusteredServer, number, undefined, ClusterWorkerStats[]>('cluster.stats()', (c, timeoutMs) =>
  c.performStats(timeoutMs),
);

// --- helpers ---------------------------------------------------------------------------

function describeSlot(slot: Slot): ClusterWorker {
  return {
    slot: slot.index,
    id: slot.worker?.id ?? null,
    pid: slot.worker?.process.pid ?? null,
    state: slot.state,
    restarts: slot.restarts,
  };
}

function crashReport(exit: WorkerExit): WorkerCrashed {
  const how = exit.killed
    ? `was killed (${exit.signal ?? 'SIGKILL'}): it outlived the grace period of a stop, or did not listen in time`
    : exit.signal !== null
      ? `was killed by ${exit.signal}`
      : `exited with code ${String(exit.code)}`;
  const next =
    exit.restartInMs === null
      ? 'it is not replaced: the cluster stops'
      : exit.restartInMs === 0
        ? 'a new worker replaces it'
        : `a new worker replaces it in ${exit.restartInMs} ms (restarts are rate-limited: maxRestarts per restartWindowMs)`;
  return new WorkerCrashed(`worker ${exit.slot} (pid ${String(exit.pid)}) ${how}; ${next}`, exit);
}

/** Send to a worker; a worker that has just died drops it (its exit follows). */
function send(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message, undefined, ignoreError);
}

/** Send to the primary; if it is gone, nothing to tell (Node ends an orphaned worker). */
function tellPrimary(message: ToPrimary): void {
  if (process.connected) process.send?.(message, undefined, {}, ignoreError);
}

function ignoreError(): void {}

function ignoreSignal(): void {}

/** A connection handle the primary holds (a libuv TCP handle). */
interface ConnectionHandle {
  close(): void;
}

/**
 * Close the connections the primary handed to a worker that died before taking them
 * (see the module notes): remember the handle of each `newconn` message sent to the
 * worker until the worker's answer (`ack` of its `seq`), and close those still
 * unanswered once its IPC channel has closed. Closing a handle the worker did take is
 * harmless: the worker holds its own descriptor, and Node itself closes these twice.
 */
function closeOrphanedConnections(child: ChildProcess): void {
  const unanswered = new Map<number, ConnectionHandle>();
  const target = child as unknown as { send: (...args: unknown[]) => boolean };
  const send = target.send;
  target.send = function sendTracked(this: unknown, message: unknown, handle: unknown, ...rest: unknown[]): boolean {
    const m = message as { cmd?: unknown; act?: unknown; seq?: unknown } | null;
    if (m?.cmd === 'NODE_CLUSTER' && m.act === 'newconn' && typeof m.seq === 'number' && isConnectionHandle(handle)) {
      unanswered.set(m.seq, handle);
    }
    return send.call(this, message, handle, ...rest);
  };
  child.on('internalMessage', (message: unknown) => {
    const m = message as { cmd?: unknown; ack?: unknown } | null;
    if (m?.cmd === 'NODE_CLUSTER' && typeof m.ack === 'number') unanswered.delete(m.ack);
  });
  child.once('close', () => {
    for (const handle of unanswered.values()) handle.close();
    unanswered.clear();
  });
}

function isConnectionHandle(handle: unknown): handle is ConnectionHandle {
  return typeof handle === 'object' && handle !== null && typeof (handle as { close?: unknown }).close === 'function';
}
