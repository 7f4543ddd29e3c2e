/**
 * JetStream work queues: `yield* workQueue(nc, 'JOBS', { subjects: ['jobs.>'] })` makes
 * sure a work-queue stream and a durable pull consumer exist (creating them, or finding
 * them made by another process), and evaluates to a {@link WorkQueue}: submit jobs (each
 * stored until a consumer acks it), request a job's result, consume jobs as a receive end,
 * or serve them with a task per job.
 *
 * Delivery is JetStream's: at least once. A job is deleted when it is acked; a job that
 * is nacked, or not acked within `ackWait` (its process died), is delivered again, to any
 * consumer. A handler may therefore see a job twice (after a crash between its work and
 * its ack): make handlers idempotent, or deduplicate by `job.raw` sequence.
 *
 * `@nats-io/jetstream` (an optional peer dependency) is loaded by the first `workQueue()`.
 *
 * @module
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, isIterator, type Performed, type SwitchOp, type SwitchSignal } from '../core/switcher.js';
import { blockingOperation, currentTask, getHub } from '../hub/hub.js';
import { Task } from '../hub/task.js';
import { waitFor } from '../interop/wait.js';
import { Event } from '../sync/event.js';
import { Group } from '../sync/group.js';
import { DEFAULT_REQUEST_TIMEOUT, type NatsConnection } from './connection.js';
import { NatsClientMissing } from './errors.js';
import { JobReceiver, REPLY_HEADER, type ConsumeOptions, type Job, type JobSource } from './jobs.js';
import { encodePayload, type NatsMessage, type Payload } from './message.js';

type JetStreamModule = typeof import('@nats-io/jetstream');
type JetStreamClient = import('@nats-io/jetstream').JetStreamClient;

let jetStreamModule: Promise<JetStreamModule> | null = null;

function loadJetStream(): Promise<JetStreamModule> {
  jetStreamModule ??= import('@nats-io/jetstream').catch((error: unknown) => {
    jetStreamModule = null;
    throw new NatsClientMissing(
      'JetStream work queues run on the official client, and @nats-io/jetstream is not installed: `npm install @nats-io/jetstream`',
      { cause: error },
    );
  });
  return jetStreamModule;
}

/** Options of {@link workQueue}. */
export interface WorkQueueOptions {
  /** The subjects the stream stores (default `[<stream in lower case>.>]`). */
  subjects?: string[];
  /** The durable consumer's name, shared by every process that takes jobs (default `'workers'`). */
  consumer?: string;
  /**
   * How long a job may go without an ack or a sign of work before it is delivered again,
   * in ms (default 30 000). Receivers refresh the jobs their tasks own every third of it,
   * so this bounds how long a job of a crashed process waits, not how long a job may run.
   */
  ackWait?: number;
  /** How many times a job is delivered at most (default unlimited). */
  maxDeliver?: number;
  /** Where the stream keeps jobs: `'file'` (default; survives a server restart) or `'memory'`. */
  storage?: 'file' | 'memory';
  /** On how many servers of a cluster the stream keeps each job (default 1; 3 for a cluster of three). */
  replicas?: number;
}

/** The JetStream ack of a submitted job: where it is stored. */
export interface Submitted {
  /** The stream that stores it. */
  readonly stream: string;
  /** Its sequence number in the stream. */
  readonly seq: number;
  /** True when the server had it already (same `msgId` within the stream's window). */
  readonly duplicate: boolean;
}

/** Options of `queue.submit()`. */
export interface SubmitOptions {
  /** Headers to send with it. */
  headers?: MsgHdrs;
  /** An id that makes a resubmission within the stream's duplicate window a no-op. */
  msgId?: string;
}

/**
 * Make sure the work-queue stream `stream` and its durable pull consumer exist, and
 * evaluate to the queue. Every process calls it with the same options; the first creates
 * them, the others find them.
 *
 * ```ts
 * const queue = yield* workQueue(nc, 'JOBS', { subjects: ['jobs.>'], ackWait: 10_000 });
 * yield* queue.submit('jobs.resize', { image: 'a.png' });      // stored until a worker acks it
 * const server = yield* queue.serve(function* (job) {           // elsewhere: a task per job
 *   yield* resize(job.json());
 * }, { concurrency: 4 });
 * ```
 */
export function workQueue(nc: NatsConnection, stream: string, options: WorkQueueOptions = {}): SwitchOp<WorkQueue> {
  return lazy(WORK_QUEUE, nc, stream, options);
}

function* performWorkQueue(nc: NatsConnection, stream: string, options: WorkQueueOptions): GreenletBody<WorkQueue> {
  currentTask('workQueue()');
  const js = yield* waitFor(loadJetStream());
  const subjects = options.subjects ?? [`${stream.toLowerCase()}.>`];
  const consumer = options.consumer ?? 'workers';
  const ackWait = options.ackWait ?? 30_000;
  const jsm = yield* waitFor(js.jetstreamManager(nc.client));
  try {
    yield* waitFor(jsm.streams.info(stream));
  } catch {
    try {
      yield* waitFor(
        jsm.streams.add({
          name: stream,
          subjects,
          retention: js.RetentionPolicy.Workqueue,
          storage: options.storage === 'memory' ? js.StorageType.Memory : js.StorageType.File,
          num_replicas: options.replicas ?? 1,
        }),
      );
    } catch (error) {
      // Another process made it meanwhile: use it.
      yield* waitFor(jsm.streams.info(stream).catch(() => Promise.reject(error)));
    }
  }
  const config = {
    durable_name: consumer,
    ack_policy: js.AckPolicy.Explicit,
    ack_wait: ackWait * 1e6,
    max_deliver: options.maxDeliver ?? -1,
    max_ack_pending: -1,
  };
  let info: import('@nats-io/jetstream').ConsumerInfo;
  try {
    info = yield* waitFor(jsm.consumers.info(stream, consumer));
  } catch {
    try {
      info = yield* waitFor(jsm.consumers.add(stream, config));
    } catch (error) {
      info = yield* waitFor(jsm.consumers.info(stream, consumer).catch(() => Promise.reject(error)));
    }
  }
  // The consumer may have been made by another process: its ack wait is the one that counts.
  const actualAckWait = info.config.ack_wait === undefined ? ackWait : info.config.ack_wait / 1e6;
  return new WorkQueue(nc, js.jetstream(nc.client), stream, consumer, actualAckWait);
}

/**
 * A JetStream work queue, made by {@link workQueue}: a durable stream of jobs and the
 * consumer every worker process shares.
 */
export class WorkQueue implements JobSource {
  /** The connection it works on. */
  readonly connection: NatsConnection;
  /** The stream's name. */
  readonly stream: string;
  /** The durable consumer's name. */
  readonly consumer: string;
  /** The consumer's ack wait, in ms (as the server has it, whichever process made it). */
  readonly ackWait: number;
  /** The official client's JetStream API, for what this class does not cover. */
  readonly js: JetStreamClient;

  /** @internal Made by {@link workQueue}. */
  constructor(connection: NatsConnection, js: JetStreamClient, stream: string, consumer: string, ackWait: number) {
    this.connection = connection;
    this.js = js;
    this.stream = stream;
    this.consumer = consumer;
    this.ackWait = ackWait;
  }

  /**
   * Submit a job: evaluates once JetStream has stored it (so it survives this process and
   * a server restart), to where it is stored. While the connection is down and
   * reconnecting, it waits for the reconnect first (up to 5 s).
   *
   * @throws the client's `TimeoutError` when the server did not confirm in time (5 s).
   */
  submit(subject: string, data?: Payload, options?: SubmitOptions): SwitchOp<Submitted> {
    return lazy(SUBMIT, this, subject, [data, options]);
  }

  /** @internal Performs {@link WorkQueue.submit}. */
  *performSubmit(subject: string, data: Payload | undefined, options: SubmitOptions | undefined): GreenletBody<Submitted> {
    currentTask('queue.submit()');
    const payload = encodePayload(data, subject);
    const publishOptions: { headers?: MsgHdrs; msgID?: string } = {};
    if (options?.headers !== undefined) publishOptions.headers = options.headers;
    if (options?.msgId !== undefined) publishOptions.msgID = options.msgId;
    // Published while the connection is down, a job would be dropped at the reconnect and
    // its PubAck never come: wait for the connection first.
    yield* this.connection.whileReconnecting(5000);
    const ack = yield* waitFor(this.js.publish(subject, payload, publishOptions));
    return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  }

  /**
   * Submit a job and wait for its result: a job server's handler's return value (which it
   * sends before acking the job). If the job's first worker dies, JetStream delivers it
   * again and the next worker answers: give `timeout` (default 5000 ms) room for that.
   *
   * @throws `NatsTimeout` when no result came in time (the job may still be done later).
   */
  request(subject: string, data?: Payload, options?: { timeout?: number }): SwitchOp<NatsMessage> {
    return lazy(REQUEST, this, subject, [data, options]);
  }

  /** @internal Performs {@link WorkQueue.request}. */
  *performRequest(subject: string, data: Payload | undefined, options: { timeout?: number } | undefined): GreenletBody<NatsMessage> {
    const task = currentTask('queue.request()');
    const connection = this.connection;
    const wait = connection.openReply(subject);
    try {
      const headers = connection.module.headers();
      headers.set(REPLY_HEADER, wait.inbox);
      yield* this.performSubmit(subject, data, { headers });
      return yield* connection.awaitReply(task, wait, options?.timeout ?? DEFAULT_REQUEST_TIMEOUT);
    } finally {
      connection.closeReply(wait);
    }
  }

  /**
   * The consumer end, as a receive end of {@link Job}s holding at most `maxJobs` at once
   * (see {@link JobReceiver}). Works anywhere.
   */
  consume(options?: ConsumeOptions): JobReceiver {
    return new JobReceiver(this, options);
  }

  /**
   * Serve jobs, each in its own task running `handler(job)`, at most `concurrency` (default
   * 1) at once: the process takes no more jobs than that from the queue. When the task
   * returns, what it returned goes to the submitter (if it used `request()`) and the job is
   * acked; when it fails, the job is nacked and delivered again after `retryDelay`; when it
   * is killed (`stop()`), it is nacked and delivered again at once. Evaluates to the
   * running server: `const server = yield* queue.serve(handler, options)`.
   */
  serve(handler: JobHandler, options?: JobServerOptions): SwitchOp<JobServer> {
    if (typeof handler !== 'function') {
      throw new TypeError(`queue.serve(handler) takes a handler function (job) => result, not ${handler === null ? 'null' : typeof handler}`);
    }
    return lazy(SERVE, this, handler, options);
  }

  /** @internal Performs {@link WorkQueue.serve}. */
  performServe(handler: JobHandler, options: JobServerOptions | undefined): Performed<JobServer> {
    currentTask('queue.serve()');
    return immediate(new JobServer(this, handler, options));
  }

  toString(): string {
    return `WorkQueue(${this.stream}/${this.consumer})`;
  }
}

/**
 * What runs for each job, in its own task: a generator function or a plain function (which
 * may return a promise). Its return value is the job's result (see `queue.request()`).
 */
export type JobHandler = (job: Job) => GreenletBody<Payload> | Payload | PromiseLike<Payload>;

/** Options of `queue.serve()`. */
export interface JobServerOptions {
  /** How many jobs are handled at once (default 1). */
  concurrency?: number;
  /** How long after a failure a job is redelivered, in ms (default 1000). */
  retryDelay?: number;
}

/** A job's task. */
class JobTask extends Task<Payload, []> {
  constructor(
    readonly handler: JobHandler,
    readonly job: Job,
  ) {
    super();
  }

  override get name(): string {
    return `job ${this.job.subject}`;
  }

  override *run(): GreenletBody<Payload> {
    const outcome: unknown = this.handler(this.job);
    let result: unknown = outcome;
    if (isIterator(outcome)) result = yield* outcome as Generator<SwitchSignal, unknown, unknown>;
    if (typeof (result as { then?: unknown } | null)?.then === 'function') result = yield* waitFor(result);
    yield* this.job.performReply(result as Payload);
    return result as Payload;
  }
}

/**
 * Jobs served each in its own task, made by `queue.serve(handler, options)`. A handler
 * that fails is reported through the hub's reporter (as a task nobody waited for) and its
 * job is redelivered.
 */
export class JobServer {
  /** The queue it serves. */
  readonly queue: WorkQueue;
  /** The consumer end it takes jobs from. */
  readonly receiver: JobReceiver;
  readonly #tasks = new Group();
  readonly #stopped = new Event();
  #stopping = false;

  /** @internal Made by `queue.serve()`. */
  constructor(queue: WorkQueue, handler: JobHandler, options?: JobServerOptions) {
    this.queue = queue;
    const tasks = this.#tasks;
    const consumeOptions: ConsumeOptions = { maxJobs: options?.concurrency ?? 1 };
    if (options?.retryDelay !== undefined) consumeOptions.retryDelay = options.retryDelay;
    this.receiver = new JobReceiver(queue, consumeOptions, (job) => {
      const task = new JobTask(handler, job);
      job.claim(task);
      tasks.start(task);
      getHub().runNow();
    });
  }

  /** Jobs being handled now. */
  get inFlight(): number {
    return this.#tasks.size;
  }

  /** Jobs taken so far. */
  get served(): number {
    return this.receiver.delivered;
  }

  /** Whether it has stopped. */
  get stopped(): boolean {
    return this.#stopped.isSet();
  }

  /** Serve until stopped: `yield* server.serveForever()`; if the task running it is killed, stop first. */
  serveForever(): SwitchOp<void> {
    return lazy(SERVE_FOREVER, this, undefined, undefined);
  }

  /** @internal Performs {@link JobServer.serveForever}. */
  *performServeForever(): GreenletBody<void> {
    try {
      yield* this.#stopped.wait();
    } finally {
      if (!this.#stopped.isSet()) yield* this.performStop(1000);
    }
  }

  /**
   * Stop: take no more jobs, let the jobs in hand finish for up to `graceMs` (default
   * 1000), then kill their tasks (their jobs are redelivered at once): `yield* server.stop()`.
   */
  stop(graceMs = 1000): SwitchOp<void> {
    return lazy(STOP, this, graceMs, undefined);
  }

  /** @internal Performs {@link JobServer.stop}. */
  *performStop(graceMs: number): GreenletBody<void> {
    if (this.#stopping) {
      yield* this.#stopped.wait();
      return;
    }
    this.#stopping = true;
    try {
      this.receiver.close();
      if (this.#tasks.size !== 0 && !(yield* this.#tasks.join(graceMs))) {
        yield* this.#tasks.kill(undefined, { block: true, timeout: 1000 });
      }
    } finally {
      this.#stopped.set();
    }
  }

  toString(): string {
    return `JobServer(${this.queue.stream}/${this.queue.consumer}, ${this.#tasks.size} in flight)`;
  }
}

// --- the operations (see core/operation.ts): made by the methods, performed by yield* -----------

const WORK_QUEUE = blockingOperation<NatsConnection, string, WorkQueueOptions, WorkQueue>('workQueue()', performWorkQueue);
const SUBMIT = blockingOperation<WorkQueue, string, readonly [Payload | undefined, SubmitOptions | undefined], Submitted>(
  'queue.submit()',
  (queue, subject, [data, options]) => queue.performSubmit(subject, data, options),
);
const REQUEST = blockingOperation<WorkQueue, string, readonly [Payload | undefined, { timeout?: number } | undefined], NatsMessage>(
  'queue.request()',
  (queue, subject, [data, options]) => queue.performRequest(subject, data, options),
);
const SERVE = blockingOperation<WorkQueue, JobHandler, JobServerOptions | undefined, JobServer>('queue.serve()', (queue, handler, options) =>
  queue.performServe(handler, options),
);
const SERVE_FOREVER = blockingOperation<JobServer, undefined, undefined, void>('server.serveForever()', (server) =>
  server.performServeForever(),
);
const STOP = blockingOperation<JobServer, number, undefined, void>('server.stop()', (server, graceMs) => server.performStop(graceMs));
