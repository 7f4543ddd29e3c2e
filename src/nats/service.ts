/**
 * `NatsService`: serve the requests of a subject, each in its own task, as `HttpServer`
 * serves HTTP requests. Made by `yield* nc.serve(subject, handler, options)`.
 *
 * A request's life:
 *
 * ```text
 *  message ──▶ task started ──(pool full: parks in pool.add)──▶ handler runs ──▶ returns: reply = its value
 *                                                                    │──▶ throws: error reply (500, or a ServiceError's code), reported
 *                                                                    └──▶ killed (stop): error reply 503
 * ```
 *
 * Error replies follow the NATS services convention (an empty payload with the
 * `Nats-Service-Error` and `Nats-Service-Error-Code` headers), which `nc.request()` turns
 * into a `NatsServiceError` in the requesting task.
 *
 * Invariants:
 * - `#tasks` (a Group) holds exactly the requests whose task has not ended; `stop()` lets
 *   them finish for the grace period, then kills them;
 * - with a pool, at most `pool.capacity` handlers run at once; the other requests' tasks
 *   wait in `pool.add()`, in arrival order;
 * - every request with a reply subject gets exactly one reply (its value, or an error),
 *   unless the connection is gone.
 *
 * @module
 */
import type { Msg, Subscription as ClientSubscription } from '@nats-io/transport-node';
import { GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { isIterator, type SwitchOp, type SwitchSignal } from '../core/switcher.js';
import { blockingOperation, getHub } from '../hub/hub.js';
import { Task, spawn } from '../hub/task.js';
import { waitFor } from '../interop/wait.js';
import { Event } from '../sync/event.js';
import { Group } from '../sync/group.js';
import { Pool } from '../sync/pool.js';
import type { NatsConnection } from './connection.js';
import { ServiceError } from './errors.js';
import { NatsMessage, encodePayload, type Payload } from './message.js';

/**
 * What runs for each request, in its own task: a generator function (it may block with
 * `yield*`) or a plain function (which may return a promise). What it returns is the
 * reply: bytes, a string, or a value sent as JSON (`undefined`: an empty reply).
 */
export type ServiceHandler = (msg: NatsMessage) => GreenletBody<Payload> | Payload | PromiseLike<Payload>;

/** Options of `nc.serve()`. */
export interface NatsServiceOptions {
  /**
   * A queue group: the services with the same queue name share the requests (each goes
   * to one of them), so that a service scales over processes and machines.
   */
  queue?: string;
  /** Bound how many handlers run at once: a `Pool` (possibly shared) or a size. Unbounded by default. */
  pool?: Pool | number;
}

/** The default grace period of `stop()`, in ms. */
export const DEFAULT_SERVICE_GRACE = 1000;

/** A request in flight: its task, with what it needs. */
class Exchange extends Task<void, []> {
  constructor(
    readonly service: NatsService,
    readonly handler: ServiceHandler,
    readonly pool: Pool | null,
    readonly msg: Msg,
  ) {
    super();
  }

  /** Reports name a request's task after the subject: `nats math.double`. */
  override get name(): string {
    return `nats ${this.msg.subject}`;
  }

  override *run(): GreenletBody<void> {
    yield* serveRequest(this);
  }
}

/**
 * A service serving a subject's requests, each in its own task; made by
 * `yield* nc.serve(subject, handler, options)`.
 */
export class NatsService {
  /** The subject (or wildcard) served. */
  readonly subject: string;
  /** The queue group, if any. */
  readonly queue: string | undefined;
  /** The pool that bounds the handlers, or null. */
  readonly pool: Pool | null;
  readonly #connection: NatsConnection;
  readonly #handler: ServiceHandler;
  readonly #sub: ClientSubscription;
  readonly #tasks = new Group();
  readonly #stopped = new Event();
  #stopping = false;
  #served = 0;

  /** @internal Made by `nc.serve()`. */
  constructor(connection: NatsConnection, subject: string, handler: ServiceHandler, options?: NatsServiceOptions) {
    this.subject = subject;
    this.queue = options?.queue;
    const pool = options?.pool;
    this.pool = pool === undefined ? null : typeof pool === 'number' ? new Pool(pool) : pool;
    this.#connection = connection;
    this.#handler = handler;
    this.#sub = connection.client.subscribe(subject, {
      ...(options?.queue === undefined ? {} : { queue: options.queue }),
      callback: (error, msg) => {
        if (error !== null) {
          getHub().report({ kind: 'callback-error', where: String(this), error });
          return;
        }
        this.#onRequest(msg);
      },
    });
    this.#sub.closed.then(
      () => this.#subscriptionEnded(),
      () => this.#subscriptionEnded(),
    );
  }

  /** Requests whose task has not ended. */
  get inFlight(): number {
    return this.#tasks.size;
  }

  /** Requests taken so far. */
  get served(): number {
    return this.#served;
  }

  /** Whether the service has stopped (its subscription ended, its tasks too). */
  get stopped(): boolean {
    return this.#stopped.isSet();
  }

  /** The connection it serves on. */
  get connection(): NatsConnection {
    return this.#connection;
  }

  /**
   * Serve until the service is stopped (by `stop()`, or because the connection closed):
   * `yield* service.serveForever()`. If the task running it is killed, the service is
   * stopped first.
   */
  serveForever(): SwitchOp<void> {
    return lazy(SERVE_FOREVER, this, undefined, undefined);
  }

  /** @internal Performs {@link NatsService.serveForever}. */
  *performServeForever(): GreenletBody<void> {
    try {
      yield* this.#stopped.wait();
    } finally {
      if (!this.#stopped.isSet()) yield* this.performStop(DEFAULT_SERVICE_GRACE);
    }
  }

  /**
   * Stop gracefully: take no more requests (the requests already on their way are still
   * served), let the requests in flight finish for up to `graceMs` (default 1000), then
   * kill their tasks, which answer with a 503 error. Evaluates when every task has ended:
   * `yield* service.stop()`.
   */
  stop(graceMs: number = DEFAULT_SERVICE_GRACE): SwitchOp<void> {
    return lazy(STOP, this, graceMs, undefined);
  }

  /** @internal Performs {@link NatsService.stop}. */
  *performStop(graceMs: number): GreenletBody<void> {
    if (this.#stopping) {
      yield* this.#stopped.wait();
      return;
    }
    this.#stopping = true;
    try {
      if (!this.#sub.isClosed()) {
        // The server confirms the UNSUB; requests that arrive meanwhile still start tasks.
        yield* waitFor(this.#sub.drain().catch(() => {}));
      }
      if (this.#tasks.size !== 0 && !(yield* this.#tasks.join(graceMs))) {
        yield* this.#tasks.kill(undefined, { block: true, timeout: 1000 });
      }
    } finally {
      if (!this.#sub.isClosed()) this.#sub.unsubscribe();
      this.#stopped.set();
    }
  }

  /** For reports: `NatsService(math.double, queue math, 3 in flight)`. */
  toString(): string {
    const queue = this.queue === undefined ? '' : `, queue ${this.queue}`;
    const state = this.#stopped.isSet() ? ', stopped' : this.#stopping ? ', stopping' : '';
    return `NatsService(${this.subject}${queue}, ${this.#tasks.size} in flight${state})`;
  }

  #onRequest(msg: Msg): void {
    if (this.#stopped.isSet()) return;
    this.#served++;
    this.#tasks.start(new Exchange(this, this.#handler, this.pool, msg));
    // The client's callback is plain code: run the new task now, not a microtask later.
    getHub().runNow();
  }

  #subscriptionEnded(): void {
    // The connection closed (or the subscription was drained by stop()): once no request
    // is in flight, the service has stopped.
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#tasks.size === 0) {
      this.#stopped.set();
      return;
    }
    for (const task of [...this.#tasks]) task.kill(undefined, { block: false });
    const tasks = this.#tasks;
    const stopped = this.#stopped;
    spawn(function* () {
      yield* tasks.join();
      stopped.set();
    });
  }

  /** @internal Send the reply of a request (nothing if it has no reply subject). */
  *reply(msg: Msg, value: Payload): GreenletBody<void> {
    if (msg.reply === undefined || msg.reply === '' || this.#connection.client.isClosed()) return;
    yield* this.#connection.performPublish(msg.reply, encodePayload(value, msg.subject), undefined);
  }

  /** @internal Send an error reply (the NATS services convention). */
  replyError(msg: Msg, code: number, description: string): void {
    const client = this.#connection.client;
    if (msg.reply === undefined || msg.reply === '' || client.isClosed()) return;
    const headers = this.#connection.module.headers();
    headers.set('Nats-Service-Error', description.replace(/[\r\n]+/g, ' '));
    headers.set('Nats-Service-Error-Code', String(code));
    try {
      client.publish(msg.reply, undefined, { headers });
    } catch {
      // The connection is closing: the requester times out.
    }
  }
}

const SERVE_FOREVER = blockingOperation<NatsService, undefined, undefined, void>('service.serveForever()', (service) =>
  service.performServeForever(),
);
const STOP = blockingOperation<NatsService, number, undefined, void>('service.stop()', (service, graceMs) => service.performStop(graceMs));

/** @internal `nc.serve()`'s check of its argument, made when the operation is made. */
export function checkHandler(subject: string, handler: unknown): void {
  if (typeof handler !== 'function') {
    throw new TypeError(`nc.serve('${subject}', handler) takes a handler function (msg) => reply, not ${handler === null ? 'null' : typeof handler}`);
  }
}

/** The body of a request's task. */
function* serveRequest(exchange: Exchange): GreenletBody<void> {
  const { service, msg } = exchange;
  try {
    if (exchange.pool !== null) yield* exchange.pool.add(exchange);
    const outcome: unknown = exchange.handler(new NatsMessage(msg));
    let result: unknown = outcome;
    if (isIterator(outcome)) result = yield* outcome as Generator<SwitchSignal, unknown, unknown>;
    if (typeof (result as { then?: unknown } | null)?.then === 'function') result = yield* waitFor(result);
    yield* service.reply(msg, result as Payload);
  } catch (error) {
    if (error instanceof ServiceError) {
      service.replyError(msg, error.code, error.message);
    } else if (error instanceof GreenletExit) {
      service.replyError(msg, 503, 'the service stopped handling this request');
    } else {
      getHub().report({ kind: 'callback-error', where: `${String(service)} handling a request on ${msg.subject}`, error });
      service.replyError(msg, 500, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
}
