/**
 * `Subscription`: the messages of a NATS subject as a receive end. The official client
 * calls back with each message; the subscription hands it to the oldest task waiting in
 * `recv()` (or a select case, or an iterator), or buffers it. Everything that receives
 * from a channel works on it: `recv()` with a timeout, `recvOk()`, `tryRecv()`,
 * `iterate()`, `for await`, and `recvCase(sub)` in a `select` beside local channels.
 *
 * It is a local buffered Channel that the client's callback fills, as a RemoteReceiver is
 * one that a MessagePort fills.
 *
 * Invariants:
 * - the buffer holds at most `capacity` messages; a message that arrives when it is full
 *   is dropped and counted (`dropped`), and the first drop of a run is reported as a
 *   {@link SlowConsumer} (core NATS delivers at most once; for back-pressure that reaches
 *   the publisher, use a JetStream work queue);
 * - once the client's subscription has ended (unsubscribe, drain, the connection closed),
 *   the channel is closed: receivers drain the buffer, then see the end;
 * - a task killed while it waits in `recv()` leaves the wait queue and loses nothing: a
 *   message is only ever handed to a task that is parked for it at that moment.
 *
 * @module
 */
import type { Subscription as ClientSubscription } from '@nats-io/transport-node';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { isGenerator, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, getHub } from '../hub/hub.js';
import { waitFor } from '../interop/wait.js';
import { Channel, type RecvResult, type SenderWaiter } from '../sync/channel.js';
import type { NatsConnection } from './connection.js';
import { SlowConsumer } from './errors.js';
import { NatsMessage } from './message.js';

/** Options of `nc.subscribe()`. */
export interface SubscribeOptions {
  /**
   * A queue group: the subscriptions with the same queue name share the subject's
   * messages, each message going to one of them (load balancing).
   */
  queue?: string;
  /**
   * How many messages may wait, received and not yet taken by a task (default 65536).
   * Beyond it, messages are dropped as from a slow consumer (see `dropped`).
   */
  capacity?: number;
  /** Unsubscribe by itself after this many messages (the client's `max`). */
  max?: number;
}

/** The default buffer of a subscription, in messages (the client's own slow-consumer mark). */
export const DEFAULT_SUBSCRIPTION_CAPACITY = 65536;

/**
 * A subscription to a NATS subject: a receive end of {@link NatsMessage}s, made by
 * `nc.subscribe(subject)`.
 *
 * ```ts
 * const sub = nc.subscribe('orders.*');
 * for (const it = sub.iterate(); yield* it.next(); ) {
 *   console.log(it.value.subject, it.value.json());
 * }                                     // ends when unsubscribed or the connection closes
 * ```
 *
 * `recv(ms)` raises a `ChannelTimeout` (a `Timeout`) after `ms` without a message;
 * `select([recvCase(sub), recvCase(localChannel)])` waits on both. `close()` (or
 * `unsubscribe()`) stops it: the messages already buffered can still be received.
 */
export class Subscription extends Channel<NatsMessage> {
  /** @internal Fed by the host: a task waiting on it waits on the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  /** The subject (or wildcard) subscribed to. */
  readonly subject: string;
  /** The queue group, if any. */
  readonly queue: string | undefined;
  /** The client's subscription, for what this class does not cover. */
  readonly client: ClientSubscription;
  readonly #connection: NatsConnection;
  #dropped = 0;
  #dropping = false;
  #error: Error | null = null;

  /** @internal Made by `nc.subscribe()`. */
  constructor(connection: NatsConnection, subject: string, options?: SubscribeOptions) {
    super(options?.capacity ?? DEFAULT_SUBSCRIPTION_CAPACITY);
    this.subject = subject;
    this.queue = options?.queue;
    this.#connection = connection;
    const clientOptions: { queue?: string; max?: number; callback: (error: Error | null, msg: import('@nats-io/transport-node').Msg) => void } = {
      callback: (error, msg) => {
        if (error !== null) {
          this.#error = error;
          this.#end();
          return;
        }
        this.#arrive(new NatsMessage(msg));
      },
    };
    if (options?.queue !== undefined) clientOptions.queue = options.queue;
    if (options?.max !== undefined) clientOptions.max = options.max;
    this.client = connection.client.subscribe(subject, clientOptions);
    this.client.closed.then(
      () => this.#end(),
      (error: unknown) => {
        this.#error = error instanceof Error ? error : new Error(String(error));
        this.#end();
      },
    );
  }

  /** How many messages were dropped because the buffer was full (see {@link SlowConsumer}). */
  get dropped(): number {
    return this.#dropped;
  }

  /** The error the subscription ended with (a permissions violation, a lost connection), or null. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * Stop receiving: the server stops sending (UNSUB), the messages buffered can still be
   * received, then receivers see the end. Works anywhere; closing twice does nothing.
   */
  override close(): void {
    if (this.closed) return;
    if (!this.client.isClosed()) this.client.unsubscribe();
    super.close();
  }

  /**
   * Receive the next message, waiting for one: `const msg = yield* sub.recv(ms)`;
   * `undefined` once the subscription has ended and its buffer is drained.
   *
   * @param timeout - give up after this many milliseconds: a `ChannelTimeout`.
   */
  override recv(timeout?: number): SwitchOp<NatsMessage | undefined> {
    return lazy(RECV, this, timeout, undefined);
  }

  /** Receive like {@link Subscription.recv}, telling a message from the end: `[msg, true]` or `[undefined, false]`. */
  override recvOk(timeout?: number): SwitchOp<RecvResult<NatsMessage>> {
    return lazy(RECV_OK, this, timeout, undefined);
  }

  /** Call `fn(msg)` for each message until the subscription ends: `yield* sub.forEach(fn)` (see `Channel.forEach`). */
  override forEach(fn: (msg: NatsMessage) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH, this, fn, undefined);
  }

  /** The same as {@link Subscription.close}, under the client's name. */
  unsubscribe(): void {
    this.close();
  }

  /**
   * Stop gracefully: the server stops sending, the messages already on their way arrive
   * and are buffered, then the end. Evaluates once the server has confirmed:
   * `yield* sub.drain()`.
   */
  drain(): SwitchOp<void> {
    return lazy(DRAIN, this, undefined, undefined);
  }

  /** @internal Performs {@link Subscription.drain}. */
  *performDrain(): GreenletBody<void> {
    currentTask('sub.drain()');
    if (this.closed) return;
    if (!this.client.isClosed() && !this.client.isDraining()) yield* waitFor(this.client.drain());
    this.#end();
  }

  /** For reports: `Subscription(orders.*, queue workers, 2 buffered)`. */
  override toString(): string {
    const channel = super.toString().replace(/^Channel\(capacity \d+,? ?/, '').replace(/\)$/, '');
    return `Subscription(${this.subject}${this.queue === undefined ? '' : `, queue ${this.queue}`}${channel === '' ? '' : `, ${channel}`})`;
  }

  // --- not this end's business ----------------------------------------------------------

  override send(_value: NatsMessage, _timeout?: number): SwitchOp<void> {
    throw wrongEnd(this, 'send()');
  }
  override trySend(_value: NatsMessage): boolean {
    throw wrongEnd(this, 'trySend()');
  }
  /** @internal */
  override sendReady(): boolean {
    throw wrongEnd(this, 'a select send case');
  }
  /** @internal */
  override sendNow(_value: NatsMessage): void {
    throw wrongEnd(this, 'a select send case');
  }
  /** @internal */
  override addSender(_waiter: SenderWaiter<NatsMessage>): void {
    throw wrongEnd(this, 'a select send case');
  }

  // --- internals --------------------------------------------------------------------------

  #arrive(message: NatsMessage): void {
    if (this.closed) return;
    if (super.trySend(message)) {
      this.#dropping = false;
      return;
    }
    this.#dropped++;
    if (!this.#dropping) {
      this.#dropping = true;
      getHub().report({
        kind: 'callback-error',
        where: String(this),
        error: new SlowConsumer(this.subject, this.#dropped, this.capacity),
      });
    }
  }

  #end(): void {
    if (!this.closed) super.close();
  }

  /** @internal The connection it belongs to. */
  get connection(): NatsConnection {
    return this.#connection;
  }
}

// --- the operations (see core/operation.ts): made by the methods, performed by yield* -----------

const RECV = blockingOperation<Subscription, number | undefined, undefined, NatsMessage | undefined>('sub.recv()', (sub, timeout) =>
  sub.performRecv(timeout),
);
const RECV_OK = blockingOperation<Subscription, number | undefined, undefined, RecvResult<NatsMessage>>('sub.recvOk()', (sub, timeout) =>
  sub.performRecvOk(timeout),
);
const FOR_EACH = blockingOperation<Subscription, (msg: NatsMessage) => unknown, undefined, void>('sub.forEach()', function* (sub, fn) {
  for (const it = sub.iterate(); yield* it.performNext(undefined); ) {
    const r = fn(it.value);
    if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
  }
});
const DRAIN = blockingOperation<Subscription, undefined, undefined, void>('sub.drain()', (sub) => sub.performDrain());

function wrongEnd(sub: Subscription, what: string): TypeError {
  return new TypeError(
    `${what} on ${String(sub)}: a subscription is a receive end. Publish with \`yield* nc.publish('${sub.subject}', data)\``,
  );
}
