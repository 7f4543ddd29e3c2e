/**
 * `connect()` and `NatsConnection`: a connection to a NATS server whose blocking
 * operations are task operations (`yield*`), on the official client
 * (`@nats-io/transport-node`), which does the protocol, reconnects and resubscribes.
 *
 * What this layer adds to the client:
 *
 * - **Requests** go through one inbox subscription per connection (`_INBOX.<id>.*`, the
 *   client's own "mux" design), with a token per request: a map from token to the parked
 *   task. A reply wakes that task directly (no promise, no timer of the client's); a
 *   timeout is a hub timer. A task killed or timed out takes its token out of the map,
 *   so nothing stays registered and a late reply is dropped.
 * - **Publishing with back-pressure.** The client writes whatever it is given; a fast
 *   publisher against a slow link fills memory. Here every publish counts its bytes, and
 *   once `maxPendingBytes / 4` are unconfirmed a flush (PING) goes out; its PONG confirms
 *   every byte published before it. A publish that would pass `maxPendingBytes`
 *   unconfirmed bytes parks until a PONG makes room (publishers wait in arrival order).
 * - **Subscriptions** as receive ends ({@link Subscription}), **services** that serve each
 *   request in its own task ({@link NatsService}), and JetStream work queues
 *   (work-queue.ts).
 *
 * Every blocking operation of the layer (here `connect`, `request`, `publish`, `flush`,
 * `serve`, `drain`, `close`; the subscriptions', services' and work queues' too) is lazy
 * (core/operation.ts): the method checks its arguments and records the operation, and its
 * perform (`performRequest`, ...) does the work at the `yield*`. So one made without
 * `yield*` publishes, subscribes and takes nothing; inside the layer, performs call
 * performs.
 *
 * Invariants:
 * - a token is in `#replies` exactly while its request's task is parked for the reply;
 * - `#published - #confirmed` is the number of bytes published and not yet confirmed by a
 *   PONG; a publisher parks only while it is at least `maxPendingBytes`, and every parked
 *   publisher is in `#publishers`, in arrival order; a flush is in flight whenever a
 *   publisher is parked (or the connection is closed, and every publisher was woken with
 *   ConnectionClosed).
 *
 * The client is loaded when the first connection is made (a dynamic import): importing
 * `greenlet-ts/nats` costs nothing more, and a program that never connects never loads
 * it.
 *
 * @module
 */
import type {
  Msg,
  MsgHdrs,
  NatsConnection as ClientConnection,
  NodeConnectionOptions,
  Subscription as ClientSubscription,
} from '@nats-io/transport-node';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, getHub, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { waitFor } from '../interop/wait.js';
import { Event } from '../sync/event.js';
import { ConnectionClosed, NatsClientMissing, NatsServiceError, NatsTimeout, NoResponders } from './errors.js';
import { NatsMessage, encodePayload, type Payload } from './message.js';
import { NatsService, checkHandler, type NatsServiceOptions, type ServiceHandler } from './service.js';
import { Subscription, type SubscribeOptions } from './subscription.js';

type ClientModule = typeof import('@nats-io/transport-node');

let clientModule: Promise<ClientModule> | null = null;

/** @internal The official client, loaded on first use. */
export function loadClient(): Promise<ClientModule> {
  clientModule ??= import('@nats-io/transport-node').catch((error: unknown) => {
    clientModule = null;
    throw new NatsClientMissing(
      'greenlet-ts/nats runs on the official NATS client, which is not installed: ' +
        '`npm install @nats-io/transport-node` (and `@nats-io/jetstream` for work queues)',
      { cause: error },
    );
  });
  return clientModule;
}

/** Options of {@link connect}: the client's own options, and this layer's. */
export interface ConnectOptions extends NodeConnectionOptions {
  /**
   * How many bytes may be published and not yet confirmed by the server before
   * `publish()` waits (default 4 MiB): the bound on what a fast publisher keeps in memory.
   */
  maxPendingBytes?: number;
}

/** The default of `maxPendingBytes`: 4 MiB. */
export const DEFAULT_MAX_PENDING_BYTES = 4 << 20;
/** The default timeout of `request()`, in ms. */
export const DEFAULT_REQUEST_TIMEOUT = 5000;

/**
 * Connect to a NATS server (by default `127.0.0.1:4222`); evaluates to the connection once
 * the server has accepted it. Inside a task:
 *
 * ```ts
 * const nc = yield* connect({ servers: '127.0.0.1:4222' });
 * try {
 *   const reply = yield* nc.request('time.now', '', { timeout: 1000 });
 *   console.log(reply.string());
 * } finally {
 *   yield* nc.close();
 * }
 * ```
 *
 * The options are the client's (`servers`, `name`, `user`/`pass`/`token`, `tls`,
 * `maxReconnectAttempts` (default 10; -1 for ever), `reconnectTimeWait` (default
 * 2000 ms), `timeout`, ...) and `maxPendingBytes`. The connection reconnects by itself
 * (to any server of `servers`) and resubscribes; a task killed while it connects leaves
 * no connection behind.
 *
 * @throws the client's connection error (a refused connection, a failed authentication).
 * @throws {@link NatsClientMissing} when `@nats-io/transport-node` is not installed.
 */
export function connect(options: ConnectOptions = {}): SwitchOp<NatsConnection> {
  return lazy(CONNECT, options, undefined, undefined);
}

function* performConnect(options: ConnectOptions): GreenletBody<NatsConnection> {
  currentTask('connect()');
  const module = yield* waitFor(loadClient());
  const { maxPendingBytes, ...clientOptions } = options;
  const connecting = module.connect(clientOptions);
  try {
    const client = yield* waitFor(connecting);
    return new NatsConnection(client, module, maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES);
  } catch (error) {
    // Killed (or timed out) while connecting: close the connection when it comes.
    connecting.then((client) => void client.close().catch(() => {}), () => {});
    throw error;
  }
}

/** Options of {@link NatsConnection.request}. */
export interface RequestOptions {
  /** Give up after this many ms with a {@link NatsTimeout} (default 5000). */
  timeout?: number;
  /** Headers to send (make them with the client's `headers()`). */
  headers?: MsgHdrs;
}

/** Options of {@link NatsConnection.publish}. */
export interface PublishOptions {
  /** The subject the receiver should reply on. */
  reply?: string;
  /** Headers to send (make them with the client's `headers()`). */
  headers?: MsgHdrs;
}

/** What a connection is doing now, as the client reports it. */
export type ConnectionState = 'connected' | 'reconnecting' | 'draining' | 'closed';

/**
 * @internal A request waiting for its reply: registered under its token before the
 * request is sent, parked on by its task. A reply that comes before the task parks (the
 * task was waiting for something else first, such as JetStream's PubAck) is kept in
 * `early`.
 */
export class ReplyWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  /** The task, while it is parked for the reply. */
  task: Schedulable | null = null;
  early: Msg | null = null;
  constructor(
    readonly connection: NatsConnection,
    readonly token: string,
    /** The subject the reply comes on. */
    readonly inbox: string,
    /** The subject of the request, for errors and reports. */
    readonly subject: string,
  ) {}
  unpark(): void {
    this.task = null;
    this.connection[FORGET_REPLY](this.token);
  }
  toString(): string {
    return `request(${this.subject})`;
  }
}

/** A publisher parked until the server confirms enough bytes. */
class PublishWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  constructor(
    readonly connection: NatsConnection,
    readonly subject: string,
  ) {}
  unpark(task: Schedulable): void {
    this.connection[FORGET_PUBLISHER](task);
  }
  toString(): string {
    return `publish(${this.subject}): waiting for the server to confirm what was published`;
  }
}

const FORGET_REPLY: unique symbol = Symbol('greenlet-ts.nats.forgetReply');
const FORGET_PUBLISHER: unique symbol = Symbol('greenlet-ts.nats.forgetPublisher');
/** What a timed-out request wakes with; no reply can be it. */
const TIMED_OUT: unique symbol = Symbol('request timed out');

/**
 * A connection to NATS, made by {@link connect}. Its blocking operations are task
 * operations (`yield* nc.request(...)`); `subscribe()` and the properties work anywhere.
 */
export class NatsConnection {
  /** The official client's connection, for what this class does not cover. */
  readonly client: ClientConnection;
  /** The bound on unconfirmed published bytes (see {@link ConnectOptions.maxPendingBytes}). */
  readonly maxPendingBytes: number;
  /** @internal The client's module (headers(), createInbox()). */
  readonly module: ClientModule;
  #state: ConnectionState = 'connected';
  #reconnects = 0;
  /** Set while connected (or closed: nothing to wait for then). */
  readonly #connected = new Event();

  // Requests.
  #inbox: string | null = null;
  #muxSub: ClientSubscription | null = null;
  readonly #replies = new Map<string, ReplyWait>();
  #nextToken = 0;

  // Publishing (see the module comment).
  #published = 0;
  #confirmed = 0;
  #flushing = false;
  readonly #publishers: Schedulable[] = [];

  /** @internal Made by {@link connect}. */
  constructor(client: ClientConnection, module: ClientModule, maxPendingBytes: number) {
    this.client = client;
    this.module = module;
    this.maxPendingBytes = maxPendingBytes;
    this.#connected.set();
    void this.#watchStatus();
    client.closed().then(
      () => this.#closedForGood(),
      () => this.#closedForGood(),
    );
  }

  /** What the connection is doing: connected, reconnecting, draining or closed. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** How many times it has reconnected since it was made. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** The server it is connected to (`host:port`). */
  get server(): string {
    return this.client.getServer();
  }

  /** Requests waiting for their reply now (0 when nothing waits: tests check that nothing leaked). */
  get pendingRequests(): number {
    return this.#replies.size;
  }

  /** Publishers parked until the server confirms what was published. */
  get blockedPublishers(): number {
    return this.#publishers.length;
  }

  /** Bytes published and not yet confirmed by the server. */
  get unconfirmedBytes(): number {
    return this.#published - this.#confirmed;
  }

  /**
   * Send a request and wait for its reply: `const reply = yield* nc.request(subject, data)`.
   * Evaluates to the reply message.
   *
   * @param data - the payload: bytes, a string, or a value sent as JSON.
   * @param options - `timeout` (ms, default 5000), `headers`.
   * @throws {@link NatsTimeout} (a `Timeout`) when no reply came in time.
   * @throws {@link NoResponders} at once when nothing subscribes to `subject`.
   * @throws {@link NatsServiceError} when the service's handler failed.
   */
  request(subject: string, data?: Payload, options?: RequestOptions): SwitchOp<NatsMessage> {
    return lazy(REQUEST, this, subject, [data, options]);
  }

  /** @internal Performs {@link NatsConnection.request}. */
  *performRequest(subject: string, data: Payload | undefined, options: RequestOptions | undefined): GreenletBody<NatsMessage> {
    const task = currentTask('nc.request()');
    const payload = encodePayload(data, subject);
    this.#checkOpen(subject);
    const wait = this.openReply(subject);
    this.client.publish(subject, payload, options?.headers === undefined ? { reply: wait.inbox } : { reply: wait.inbox, headers: options.headers });
    this.#count(subject, payload.length);
    return yield* this.awaitReply(task, wait, options?.timeout ?? DEFAULT_REQUEST_TIMEOUT);
  }

  /** @internal Register a reply inbox for a request on `subject` (see ReplyWait). */
  openReply(subject: string): ReplyWait {
    if (this.#inbox === null) this.#openInbox();
    const token = (this.#nextToken++).toString(36);
    const wait = new ReplyWait(this, token, `${this.#inbox as string}${token}`, subject);
    this.#replies.set(token, wait);
    return wait;
  }

  /** @internal Forget a reply inbox whose request was not sent (or whose task left). */
  closeReply(wait: ReplyWait): void {
    this.#replies.delete(wait.token);
  }

  /** @internal Wait for the reply registered by openReply(), and turn error replies into errors. */
  *awaitReply(task: Schedulable, wait: ReplyWait, ms: number): GreenletBody<NatsMessage> {
    let msg: Msg | typeof TIMED_OUT;
    if (wait.early !== null) {
      msg = wait.early;
      this.#replies.delete(wait.token);
    } else {
      wait.task = task;
      msg = yield* park<Msg | typeof TIMED_OUT>(task, wait, ms, TIMED_OUT, false);
    }
    const subject = wait.subject;
    if (msg === TIMED_OUT) throw new NatsTimeout(subject, `request to ${subject} got no reply in ${ms} ms`, ms);
    const headers = msg.headers;
    if (headers !== undefined) {
      if (msg.data.length === 0 && headers.code === 503) throw new NoResponders(subject);
      const error = headers.get('Nats-Service-Error');
      if (error !== '') throw new NatsServiceError(subject, Number(headers.get('Nats-Service-Error-Code')) || 500, error);
    }
    return new NatsMessage(msg);
  }

  /**
   * Publish a message: `yield* nc.publish(subject, data)`. It returns as soon as the
   * message is in the client's buffer, unless `maxPendingBytes` are published and not
   * yet confirmed by the server: then it waits until the server confirms (back-pressure).
   *
   * Core NATS delivers at most once: a message published while the connection is down is
   * dropped when the client reconnects. For delivery that survives, use a JetStream work
   * queue.
   *
   * @param data - the payload: bytes, a string, or a value sent as JSON.
   * @throws {@link ConnectionClosed} when the connection is closed (or closes while it waits).
   */
  publish(subject: string, data?: Payload, options?: PublishOptions): SwitchOp<void> {
    return lazy(PUBLISH, this, subject, [data, options]);
  }

  /** @internal Performs {@link NatsConnection.publish}: at once while there is room, else after waiting for it. */
  performPublish(subject: string, data: Payload | undefined, options: PublishOptions | undefined): Performed<void> {
    const task = currentTask('nc.publish()');
    const payload = encodePayload(data, subject);
    if (this.#published - this.#confirmed >= this.maxPendingBytes || this.#publishers.length !== 0) {
      return this.#publishWhenRoom(task, subject, payload, options);
    }
    this.#send(subject, payload, options);
    return immediate(undefined);
  }

  *#publishWhenRoom(task: Schedulable, subject: string, payload: Uint8Array, options: PublishOptions | undefined): GreenletBody<void> {
    yield* this.#waitForRoom(task, subject);
    this.#send(subject, payload, options);
  }

  #send(subject: string, payload: Uint8Array, options: PublishOptions | undefined): void {
    this.#checkOpen(subject);
    this.client.publish(subject, payload, options === undefined ? undefined : { ...options });
    this.#count(subject, payload.length);
    if (this.#publishers.length !== 0) this.#wakeNext();
  }

  /**
   * Subscribe to `subject` (wildcards allowed: `jobs.*`, `events.>`): the messages arrive
   * in a {@link Subscription}, a receive end to `recv()` from, iterate, or `select` on.
   * With `{ queue: 'name' }`, the subscriptions of one queue group share the messages
   * (each goes to one of them): load-balanced services. Works anywhere (nothing blocks).
   */
  subscribe(subject: string, options?: SubscribeOptions): Subscription {
    this.#checkOpen(subject);
    return new Subscription(this, subject, options);
  }

  /**
   * Serve requests on `subject`, each in its own task, until the service is stopped:
   * `handler(msg)` runs in a new task for every request, and what it returns is the reply
   * (bytes, a string, or JSON). Evaluates to the running service once the server has its
   * subscription.
   *
   * ```ts
   * const service = yield* nc.serve('math.double', function* (msg) {
   *   return { result: msg.json<{ x: number }>().x * 2 };
   * }, { queue: 'math' });
   * // ...
   * yield* service.stop(); // stop taking requests, let those in flight finish
   * ```
   *
   * A handler that throws answers with an error the requester's `request()` raises as a
   * {@link NatsServiceError}; a `ServiceError` it throws sets the code.
   */
  serve(subject: string, handler: ServiceHandler, options?: NatsServiceOptions): SwitchOp<NatsService> {
    checkHandler(subject, handler);
    return lazy(SERVE, this, subject, [handler, options]);
  }

  /** @internal Performs {@link NatsConnection.serve}. */
  *performServe(subject: string, handler: ServiceHandler, options: NatsServiceOptions | undefined): GreenletBody<NatsService> {
    currentTask('nc.serve()');
    const service = new NatsService(this, subject, handler, options);
    yield* this.performFlush();
    return service;
  }

  /** Wait until the server has processed everything sent so far (a PING/PONG round trip): `yield* nc.flush()`. */
  flush(): SwitchOp<void> {
    return lazy(FLUSH, this, undefined, undefined);
  }

  /** @internal Performs {@link NatsConnection.flush}. */
  *performFlush(): GreenletBody<void> {
    currentTask('nc.flush()');
    this.#checkOpen('flush()');
    const mark = this.#published;
    yield* waitFor(this.client.flush());
    this.#confirm(mark);
  }

  /**
   * Close gracefully: stop every subscription from taking new messages, let the messages
   * already received be delivered (subscriptions end once they are received), send what is
   * buffered, then close. Evaluates when the connection is closed. If the task is killed
   * while it drains, the connection is closed at once.
   */
  drain(): SwitchOp<void> {
    return lazy(DRAIN, this, undefined, undefined);
  }

  /** @internal Performs {@link NatsConnection.drain}. */
  *performDrain(): GreenletBody<void> {
    currentTask('nc.drain()');
    if (this.client.isClosed()) return;
    if (this.client.isDraining()) {
      yield* waitFor(this.client.closed());
      return;
    }
    this.#state = 'draining';
    let done = false;
    try {
      yield* waitFor(this.client.drain());
      done = true;
    } finally {
      if (!done && !this.client.isClosed()) void this.client.close().catch(() => {});
    }
  }

  /**
   * Close now: subscriptions end (what they buffered can still be received), waiting
   * requests and publishers raise {@link ConnectionClosed}. Evaluates when it is closed.
   */
  close(): SwitchOp<void> {
    return lazy(CLOSE, this, undefined, undefined);
  }

  /** @internal Performs {@link NatsConnection.close}. */
  *performClose(): GreenletBody<void> {
    currentTask('nc.close()');
    if (this.client.isClosed()) return;
    yield* waitFor(this.client.close());
    this.#closedForGood();
  }

  /** For reports: `NatsConnection(127.0.0.1:4222, connected)`. */
  toString(): string {
    return `NatsConnection(${this.#state === 'closed' ? 'closed' : `${this.client.getServer()}, ${this.#state}`})`;
  }

  // --- requests ---------------------------------------------------------------------------

  #openInbox(): void {
    const inbox = `${this.module.createInbox()}.`;
    this.#inbox = inbox;
    const start = inbox.length;
    this.#muxSub = this.client.subscribe(`${inbox}*`, {
      callback: (error, msg) => {
        if (error !== null) return; // a permissions error: the requests time out
        const wait = this.#replies.get(msg.subject.slice(start));
        if (wait === undefined) return; // late: its task has left
        const task = wait.task;
        if (task === null) {
          wait.early ??= msg; // the task has not parked for it yet
          return;
        }
        this.#replies.delete(wait.token);
        wait.task = null;
        wake(task, msg);
        getHub().runNow();
      },
    });
  }

  /** @internal */
  [FORGET_REPLY](token: string): void {
    this.#replies.delete(token);
  }

  // --- publishing -------------------------------------------------------------------------

  #checkOpen(subject: string): void {
    if (this.client.isClosed()) {
      throw new ConnectionClosed(`${String(this)} cannot send on ${subject}: it is closed. Connect again (connect())`);
    }
  }

  /** Count bytes published; ask the server to confirm once a quarter of the window is out. */
  #count(subject: string, payloadBytes: number): void {
    this.#published += payloadBytes + subject.length + 16;
    if (!this.#flushing && this.#published - this.#confirmed >= this.maxPendingBytes >> 2) this.#startFlush();
  }

  #startFlush(): void {
    if (this.client.isClosed()) return;
    this.#flushing = true;
    const mark = this.#published;
    // A flush fails when the connection drops: the client then discards what it buffered,
    // so those bytes are gone either way (core NATS delivers at most once).
    const done = (): void => {
      this.#flushing = false;
      this.#confirm(mark);
      if (!this.#flushing && this.#published - this.#confirmed >= this.maxPendingBytes >> 2) this.#startFlush();
    };
    this.client.flush().then(done, done);
  }

  /** The server confirmed every byte published before `mark`: let a parked publisher go. */
  #confirm(mark: number): void {
    if (mark > this.#confirmed) this.#confirmed = mark;
    if (this.#publishers.length !== 0 && this.#wakeNext()) getHub().runNow();
  }

  /**
   * Wake the first parked publisher if there is room. One at a time: the room it sees is
   * what is left once it has published, and it wakes the next one after publishing.
   */
  #wakeNext(): boolean {
    if (this.#published - this.#confirmed >= this.maxPendingBytes) {
      if (!this.#flushing) this.#startFlush();
      return false;
    }
    const task = this.#publishers.shift() as Schedulable;
    return wake(task, undefined);
  }

  *#waitForRoom(task: Schedulable, subject: string): GreenletBody<void> {
    const wait = new PublishWait(this, subject);
    this.#publishers.push(task);
    if (!this.#flushing) this.#startFlush();
    yield* park<void>(task, wait);
  }

  /** @internal */
  [FORGET_PUBLISHER](task: Schedulable): void {
    const i = this.#publishers.indexOf(task);
    if (i !== -1) this.#publishers.splice(i, 1);
  }

  // --- the connection's life --------------------------------------------------------------

  readonly #listeners = new Set<(event: 'reconnected' | 'closed') => void>();

  /**
   * @internal Wait (up to `ms`) while the connection is down and reconnecting: what is
   * published then is dropped when it reconnects, so a publish that needs an answer (a
   * JetStream PubAck) is better sent once it is back.
   */
  *whileReconnecting(ms: number): GreenletBody<void> {
    if (this.#state === 'reconnecting') yield* this.#connected.wait(ms);
  }

  /** @internal Be told when the connection reconnects or closes; returns the way to stop. */
  watch(listener: (event: 'reconnected' | 'closed') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const status of this.client.status()) {
        switch (status.type) {
          case 'disconnect':
          case 'reconnecting':
            if (this.#state === 'connected') this.#state = 'reconnecting';
            if (this.#state === 'reconnecting') this.#connected.clear();
            break;
          case 'reconnect':
            this.#reconnects++;
            if (this.#state === 'reconnecting') this.#state = 'connected';
            this.#connected.set();
            for (const listener of this.#listeners) listener('reconnected');
            break;
          default:
            break;
        }
      }
    } catch {
      // The status iterator ends with the connection.
    }
  }

  #closedForGood(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#connected.set();
    const error = (): ConnectionClosed => new ConnectionClosed(`${String(this)}: the connection closed while a task waited on it`);
    for (const wait of [...this.#replies.values()]) {
      this.#replies.delete(wait.token);
      if (wait.task !== null) wakeThrow(wait.task, error());
      wait.task = null;
    }
    for (const listener of this.#listeners) listener('closed');
    for (const task of this.#publishers.splice(0)) wakeThrow(task, error());
    getHub().runNow();
  }
}

// --- the operations (see core/operation.ts): made by the methods, performed by yield* -----------

const CONNECT = blockingOperation<ConnectOptions, undefined, undefined, NatsConnection>('connect()', performConnect);
const REQUEST = blockingOperation<NatsConnection, string, readonly [Payload | undefined, RequestOptions | undefined], NatsMessage>(
  'nc.request()',
  (nc, subject, [data, options]) => nc.performRequest(subject, data, options),
);
const PUBLISH = blockingOperation<NatsConnection, string, readonly [Payload | undefined, PublishOptions | undefined], void>(
  'nc.publish()',
  (nc, subject, [data, options]) => nc.performPublish(subject, data, options),
);
const SERVE = blockingOperation<NatsConnection, string, readonly [ServiceHandler, NatsServiceOptions | undefined], NatsService>(
  'nc.serve()',
  (nc, subject, [handler, options]) => nc.performServe(subject, handler, options),
);
const FLUSH = blockingOperation<NatsConnection, undefined, undefined, void>('nc.flush()', (nc) => nc.performFlush());
const DRAIN = blockingOperation<NatsConnection, undefined, undefined, void>('nc.drain()', (nc) => nc.performDrain());
const CLOSE = blockingOperation<NatsConnection, undefined, undefined, void>('nc.close()', (nc) => nc.performClose());
