/**
 * `Channel<T>`: Go's channel for tasks. Unbuffered (`new Channel<T>()`, a rendezvous) or
 * buffered (`new Channel<T>(n)`, a FIFO of `n` values), closable, with timeouts,
 * non-blocking `trySend` / `tryRecv`, iteration inside tasks and `for await` from async
 * code. `select` over several channels lives in select.ts and uses the waiter protocol
 * below.
 *
 * A channel is three queues: `buffer` (values sent and not yet received, at most
 * `capacity`), `sendq` (blocked senders, each with the value it sends) and `recvq`
 * (blocked receivers). A blocked party is a parked task, a select case, a task in an
 * iterator's `next()`, or a promise of an async iterator; all wait in one queue per
 * direction, served in arrival order.
 *
 * Every transfer is a direct hand-off, as in Go's chan.go: a send to a waiting receiver
 * gives the value to that receiver in the wake-up itself (`wake(task, value)`), a receive
 * from a waiting sender takes the sender's value and wakes it. The woken party never
 * re-checks the channel, so a value cannot be taken twice or lost; a task that is killed
 * after being handed a value still gets the value first (the hub delays the kill to its
 * next blocking call). A sender continues after its hand-off and the receiver runs as
 * soon as the sender blocks or yields, in the same hub pass (Go's behaviour; gevent's
 * `Channel.put` instead lets the receiver run before the put returns).
 *
 * Invariants (true whenever no channel method is running):
 * - at least one of `sendq` and `recvq` is empty, except when a single select is
 *   blocked on the same channel for both sending and receiving (as in Go);
 * - `buffer.length > 0` implies `recvq` is empty;
 * - `buffer.length < capacity` implies `sendq` is empty;
 * - once `closed`, `sendq` and `recvq` are empty and stay so: close wakes every waiter,
 *   and nothing waits on a closed channel (receivers drain the buffer, then get "done"
 *   at once; senders throw at once);
 * - every entry of a wait queue is a PARKED task (or the select case, iterator or
 *   pending promise of one): a waiter leaves its queue before it is woken, and its
 *   Parking (`unpark`) takes it out when it is killed or times out.
 *
 * The send and receive fast paths allocate nothing: a plain task waits in the queue as
 * itself, its value (or the kind of result it wants) in the slot beside it. A timed wait
 * adds the hub's timer and a small generator; its ChannelTimeout (an error, whose stack
 * trace costs microseconds) is made only if the time runs out.
 *
 * Coming from gevent: gevent's `Channel` is this class with capacity 0, `put`/`get`
 * named `send`/`recv` (Go's names), a timeout raising {@link ChannelTimeout} instead of
 * `Full`/`Empty`, and a send that returns as soon as a receiver has the value (gevent
 * switches to the receiver first). gevent has no close; iteration there ends with a
 * `StopIteration` item, here with `close()`. `balance` is `sendWaiting - recvWaiting`.
 *
 * @module
 */
import { Operation, lazy, operationReused } from '../core/operation.js';
import { REQ_IDLE, REQ_OP_PENDING, SWITCHER, immediate, isGenerator, type Performed, type SwitchOp } from '../core/switcher.js';
import type { GreenletBody } from '../core/greenlet.js';
import { HOST_WAIT, blockingOperation, currentTask, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import type { ReceiverWaiter, RecvSelectable, RecvSlot, SendSelectable, SenderWaiter } from './select.js';

export type { ReceiverWaiter, RecvSlot, SenderWaiter } from './select.js';

// --- errors ------------------------------------------------------------------------------

/**
 * A send on a closed channel: Go's "send on closed channel" panic. Raised by `send`,
 * `trySend` and a select send case, and in every sender blocked when the channel closes.
 *
 * Only a sender should close a channel, once it has sent its last value; receivers see
 * the end as `recv()` evaluating to `undefined` (`ok === false` with `recvOk()`).
 */
export class ChannelClosed extends Error {
  static {
    this.prototype.name = 'ChannelClosed';
  }
}

/**
 * `close()` on a channel that is already closed: Go's "close of closed channel" panic.
 * Usually two parties each think they own the channel; let exactly one of them (the last
 * sender) close it.
 */
export class ChannelAlreadyClosed extends Error {
  static {
    this.prototype.name = 'ChannelAlreadyClosed';
  }
}

/**
 * A `send(value, ms)` or `recv(ms)` that waited `ms` milliseconds without a partner.
 * It is a {@link Timeout}, so code that catches timeouts in general catches it too.
 * (gevent raises `Full` and `Empty` here.)
 */
export class ChannelTimeout extends Timeout {
  constructor(message: string, ms: number) {
    super(ms);
    this.message = message;
  }
  static {
    this.prototype.name = 'ChannelTimeout';
  }
}

// --- results -----------------------------------------------------------------------------

/**
 * What `recvOk()` and `tryRecv()` evaluate to, Go's `v, ok := <-ch`: `[value, true]`
 * for a received value, `[undefined, false]` when there is none (the channel is closed
 * and drained; for `tryRecv`, also when nothing is ready yet). Destructure it and test
 * `ok`; TypeScript then knows `value` is a `T`.
 */
export type RecvResult<T> = readonly [value: T, ok: true] | readonly [value: undefined, ok: false];

const NOTHING: readonly [value: undefined, ok: false] = Object.freeze([undefined, false] as const);

// --- the waiter protocol: select.ts's selectable protocol ------------------------------------

// The slot beside a receiver in `recvq`: what kind of receiver it is.
const R_VALUE = 0; // a task in recv(): woken with the value, or undefined when closed
const R_TUPLE = 1; // a task in recvOk(): woken with [value, true] or NOTHING
const R_OBJECT = 2; // a ReceiverWaiter
// The slot beside a sender in `sendq`: the value of a task in send(), or this marker for
// a SenderWaiter (which carries its own value). User code cannot reach the marker.
const S_OBJECT: unique symbol = Symbol('channel sender object');

/**
 * A FIFO of (waiter, slot) pairs in a ring buffer, with removal from anywhere. Removal
 * (a waiter killed, timed out, or a select fired elsewhere) searches from both ends and
 * shifts the shorter side, so taking out the oldest or the newest waiter is O(1).
 */
class WaitQueue {
  private slots: unknown[] = new Array<unknown>(8);
  private mask = 3; // capacity in pairs, minus one (capacity is a power of two)
  private head = 0; // pair index of the first entry
  size = 0;

  push(waiter: unknown, slot: unknown): void {
    if (this.size > this.mask) this.grow();
    const p = ((this.head + this.size) & this.mask) << 1;
    this.slots[p] = waiter;
    this.slots[p + 1] = slot;
    this.size++;
  }

  /** The first waiter; the queue must not be empty. */
  first(): unknown {
    return this.slots[this.head << 1];
  }

  firstSlot(): unknown {
    return this.slots[(this.head << 1) + 1];
  }

  dropFirst(): void {
    const p = this.head << 1;
    this.slots[p] = undefined;
    this.slots[p + 1] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
  }

  /** The waiter at position `k` (0 = first). */
  at(k: number): unknown {
    return this.slots[((this.head + k) & this.mask) << 1];
  }

  /** Take `waiter` out of the queue; false if it is not in it. */
  remove(waiter: unknown): boolean {
    let k = -1;
    for (let a = 0, b = this.size - 1; a <= b; a++, b--) {
      if (this.at(a) === waiter) {
        k = a;
        break;
      }
      if (this.at(b) === waiter) {
        k = b;
        break;
      }
    }
    if (k === -1) return false;
    const slots = this.slots;
    const mask = this.mask;
    if (k < this.size >> 1) {
      // Shift the entries before it one place towards the tail.
      for (let j = k; j > 0; j--) {
        const to = ((this.head + j) & mask) << 1;
        const from = ((this.head + j - 1) & mask) << 1;
        slots[to] = slots[from];
        slots[to + 1] = slots[from + 1];
      }
      this.dropFirst();
    } else {
      // Shift the entries after it one place towards the head.
      for (let j = k; j < this.size - 1; j++) {
        const to = ((this.head + j) & mask) << 1;
        const from = ((this.head + j + 1) & mask) << 1;
        slots[to] = slots[from];
        slots[to + 1] = slots[from + 1];
      }
      const last = ((this.head + this.size - 1) & mask) << 1;
      slots[last] = undefined;
      slots[last + 1] = undefined;
      this.size--;
    }
    return true;
  }

  private grow(): void {
    const capacity = this.mask + 1;
    const slots = new Array<unknown>(capacity * 4);
    for (let k = 0; k < this.size; k++) {
      const from = ((this.head + k) & this.mask) << 1;
      slots[k << 1] = this.slots[from];
      slots[(k << 1) + 1] = this.slots[from + 1];
    }
    this.slots = slots;
    this.mask = capacity * 2 - 1;
    this.head = 0;
  }
}

/** A FIFO of values in a ring buffer that grows (by doubling) as needed. */
class Ring<T> {
  private items: (T | undefined)[] = [];
  private mask = -1;
  private head = 0;
  length = 0;

  push(value: T): void {
    if (this.length > this.mask) this.grow();
    this.items[(this.head + this.length) & this.mask] = value;
    this.length++;
  }

  /** The first value, removed; the ring must not be empty. */
  shift(): T {
    const value = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return value;
  }

  private grow(): void {
    const capacity = this.mask + 1;
    const items = new Array<T | undefined>(capacity === 0 ? 4 : capacity * 2);
    for (let k = 0; k < this.length; k++) items[k] = this.items[(this.head + k) & this.mask];
    this.items = items;
    this.mask = items.length - 1;
    this.head = 0;
  }
}

/** What a blocked plain send or receive parks on (one of each per channel). */
class ChannelParking implements Parking {
  constructor(
    private readonly channel: {
      removeSender(task: Schedulable): boolean;
      removeReceiver(task: Schedulable): boolean;
      readonly [HOST_WAIT]?: boolean;
    },
    private readonly sending: boolean,
  ) {}
  /** A channel that the host feeds (another thread's, a network subscription's) says so. */
  get [HOST_WAIT](): boolean {
    return this.channel[HOST_WAIT] === true;
  }
  unpark(task: Schedulable): void {
    if (this.sending) this.channel.removeSender(task);
    else this.channel.removeReceiver(task);
  }
  toString(): string {
    return `${this.sending ? 'send on' : 'recv on'} ${String(this.channel)}`;
  }
}

// --- the channel -------------------------------------------------------------------------

/**
 * A Go channel between tasks. With capacity 0 (the default) it is a rendezvous: `send`
 * waits until a receiver takes the value. With capacity `n` it buffers up to `n` values
 * in FIFO order and `send` waits only when the buffer is full. Waiting senders and
 * receivers are served in arrival order.
 *
 * ```ts
 * const jobs = new Channel<string>(10);
 * const worker = spawn(function* () {
 *   for (const it = jobs.iterate(); yield* it.next(); ) {
 *     console.log('working on', it.value);
 *   }                                   // ends when jobs is closed and drained
 * });
 * yield* jobs.send('a');                // inside a task
 * yield* jobs.send('b');
 * jobs.close();
 * yield* worker.join();
 * ```
 *
 * Closing: `close()` says no more values will come. Receivers first drain what is
 * buffered, then `recv()` evaluates to `undefined` at once (and `recvOk()` to
 * `[undefined, false]`, so you can tell the end from an `undefined` value). A send on a
 * closed channel, and every sender blocked when it closes, raises {@link ChannelClosed}.
 *
 * From plain code (callbacks, async functions) use the non-blocking `trySend`,
 * `tryRecv` and `close`, or `for await (const v of ch)`.
 *
 * @typeParam T - the type of the values it carries.
 */
export class Channel<T> implements AsyncIterable<T>, RecvSelectable<T>, SendSelectable<T> {
  /** How many values it buffers: 0 for an unbuffered channel (Go's `cap(ch)`). */
  readonly capacity: number;
  readonly #buffer = new Ring<T>();
  readonly #sendq = new WaitQueue();
  readonly #recvq = new WaitQueue();
  #closed = false;
  readonly #sendParking: ChannelParking;
  readonly #recvParking: ChannelParking;

  /**
   * @param capacity - how many values `send` may leave without a receiver: 0 (the
   *   default) for a rendezvous, `Infinity` for a buffer without bound.
   */
  constructor(capacity = 0) {
    if (!(capacity >= 0) || (!Number.isInteger(capacity) && capacity !== Infinity)) {
      throw new RangeError(
        `a Channel's capacity is a whole number >= 0 (0 for an unbuffered channel) or Infinity, not ${String(capacity)}`,
      );
    }
    this.capacity = capacity;
    this.#sendParking = new ChannelParking(this, true);
    this.#recvParking = new ChannelParking(this, false);
  }

  /** How many values are buffered now (Go's `len(ch)`); always 0 when unbuffered. */
  get length(): number {
    return this.#buffer.length;
  }

  /** Whether `close()` was called. Values may still be buffered; see `length`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * How many senders are blocked on the channel now: tasks in `send` and select send
   * cases. Read-only; 0 whenever nothing waits (tests check it to see nothing leaked).
   */
  get sendWaiting(): number {
    return this.#sendq.size;
  }

  /**
   * How many receivers are blocked on the channel now: tasks in `recv`, `recvOk`, an
   * iterator's `next()`, select receive cases, and pending `for await` steps.
   */
  get recvWaiting(): number {
    return this.#recvq.size;
  }

  /**
   * Senders waiting minus receivers waiting (gevent's `Channel.balance`): positive when
   * values wait for a receiver, negative when receivers wait for a value.
   */
  get balance(): number {
    return this.#sendq.size - this.#recvq.size;
  }

  /**
   * Send `value`, waiting while there is no room: on an unbuffered channel until a
   * receiver takes it, on a buffered one until the buffer has room. Inside a task:
   * `yield* ch.send(value)`.
   *
   * @param timeout - give up after this many milliseconds and raise a
   *   {@link ChannelTimeout}; the value is then not sent.
   * @throws {@link ChannelClosed} if the channel is closed, or closes while waiting.
   */
  send(value: T, timeout?: number): SwitchOp<void> {
    return lazy(SEND, this as Channel<unknown>, value, timeout);
  }

  /** @internal Performs {@link Channel.send}. */
  performSend(value: T, timeout: number | undefined): Performed<void> {
    const task = currentTask('channel.send()');
    if (this.#closed) throw this.#sendOnClosed();
    // A waiting receiver means the buffer is empty (invariant), so handing the value
    // straight to the oldest receiver is what going through the buffer would do, minus
    // the copy. Otherwise the value is buffered if there is room: no sender waits then
    // (invariant), so it queues behind every value sent before it.
    if (this.#recvq.size !== 0) {
      this.#handToReceiver(value);
      return immediate(undefined);
    }
    if (this.#buffer.length < this.capacity) {
      this.#buffer.push(value);
      return immediate(undefined);
    }
    this.#sendq.push(task, value);
    return this.#parkWaiter(task, this.#sendParking, 'send()', timeout);
  }

  /**
   * Receive the next value, waiting until there is one. Evaluates to `undefined` once
   * the channel is closed and drained; if `undefined` is a value your channel carries,
   * use {@link Channel.recvOk} to tell the two apart. Inside a task:
   * `const v = yield* ch.recv()`.
   *
   * @param timeout - give up after this many milliseconds and raise a
   *   {@link ChannelTimeout}.
   */
  recv(timeout?: number): SwitchOp<T | undefined> {
    return lazy(RECV, this as Channel<unknown>, timeout, undefined) as SwitchOp<T | undefined>;
  }

  /** @internal Performs {@link Channel.recv}. */
  performRecv(timeout: number | undefined): Performed<T | undefined> {
    const task = currentTask('channel.recv()');
    // Buffered values are older than any waiting sender's (a sender waits only while the
    // buffer is full), so they come first; then the oldest sender, on an unbuffered
    // channel. A closed channel has no senders, so "done" comes only once it is drained.
    if (this.#buffer.length !== 0) return immediate(this.#takeBuffered());
    if (this.#sendq.size !== 0) return immediate(this.#takeFromSender());
    if (this.#closed) return immediate(undefined);
    this.#recvq.push(task, R_VALUE);
    return this.#parkWaiter(task, this.#recvParking, 'recv()', timeout);
  }

  /**
   * Receive like {@link Channel.recv}, telling a value from the end of the channel:
   * evaluates to `[value, true]`, or `[undefined, false]` once the channel is closed and
   * drained (Go's `v, ok := <-ch`).
   *
   * ```ts
   * const [v, ok] = yield* ch.recvOk();
   * if (!ok) return;          // closed
   * use(v);                   // v: T
   * ```
   *
   * @param timeout - give up after this many milliseconds and raise a
   *   {@link ChannelTimeout}.
   */
  recvOk(timeout?: number): SwitchOp<RecvResult<T>> {
    return lazy(RECV_OK, this as Channel<unknown>, timeout, undefined) as SwitchOp<RecvResult<T>>;
  }

  /** @internal Performs {@link Channel.recvOk}. */
  performRecvOk(timeout: number | undefined): Performed<RecvResult<T>> {
    const task = currentTask('channel.recvOk()');
    if (this.#buffer.length !== 0) return immediate([this.#takeBuffered(), true]);
    if (this.#sendq.size !== 0) return immediate([this.#takeFromSender(), true]);
    if (this.#closed) return immediate(NOTHING);
    this.#recvq.push(task, R_TUPLE);
    return this.#parkWaiter(task, this.#recvParking, 'recvOk()', timeout);
  }

  /**
   * Send `value` if that needs no waiting (a receiver is waiting, or the buffer has
   * room); evaluates to whether it was sent. Works anywhere, including plain code and
   * callbacks; a receiver it hands the value to runs on the hub's next pass.
   *
   * @throws {@link ChannelClosed} if the channel is closed (as Go's `select` with a
   *   `default` does).
   */
  trySend(value: T): boolean {
    if (this.#closed) throw this.#sendOnClosed();
    if (this.#recvq.size !== 0) {
      this.#handToReceiver(value);
      return true;
    }
    if (this.#buffer.length < this.capacity) {
      this.#buffer.push(value);
      return true;
    }
    return false;
  }

  /**
   * Receive a value if one is ready (buffered, or offered by a waiting sender, which is
   * then woken): `[value, true]`; otherwise `[undefined, false]` at once. After
   * `[undefined, false]`, `ch.closed` tells whether a value may still come. Works
   * anywhere, including plain code and callbacks.
   */
  tryRecv(): RecvResult<T> {
    if (this.#buffer.length !== 0) return [this.#takeBuffered(), true];
    if (this.#sendq.size !== 0) return [this.#takeFromSender(), true];
    return NOTHING;
  }

  /**
   * Close the channel: no more values will be sent. Blocked receivers get "done" at once
   * (`undefined`, or `[undefined, false]`); later receivers drain the buffer first.
   * Blocked senders, and every later send, raise {@link ChannelClosed}. Works anywhere.
   *
   * @throws {@link ChannelAlreadyClosed} if it is already closed.
   */
  close(): void {
    if (this.#closed) {
      throw new ChannelAlreadyClosed(
        `close() of ${String(this)}, which is already closed: a channel is closed once, by its last sender; ` +
          'if several parties may close it, agree on one of them (or check `ch.closed` first)',
      );
    }
    this.#closed = true;
    // Receivers are waiting only if the buffer is empty: they all get "done". A select
    // woken here may take its other cases out of these same queues, so take one waiter
    // at a time from the front instead of walking a snapshot.
    const recvq = this.#recvq;
    while (recvq.size !== 0) {
      const waiter = recvq.first();
      const kind = recvq.firstSlot();
      recvq.dropFirst();
      if (kind === R_VALUE) wake(waiter as Schedulable, undefined);
      else if (kind === R_TUPLE) wake(waiter as Schedulable, NOTHING);
      else (waiter as ReceiverWaiter<T>).received(undefined, false);
    }
    const sendq = this.#sendq;
    while (sendq.size !== 0) {
      const waiter = sendq.first();
      const slot = sendq.firstSlot();
      sendq.dropFirst();
      const error = this.#sendOnClosed();
      if (slot === S_OBJECT) (waiter as SenderWaiter<T>).failed(error);
      else wakeThrow(waiter as Schedulable, error);
    }
  }

  /**
   * An iterator over the values, for a loop inside a task that ends when the channel is
   * closed and drained (Go's `for v := range ch`). `yield* it.next()` waits for the next
   * value and evaluates to `true` with the value in `it.value`, or to `false` at the end:
   *
   * ```ts
   * for (const it = ch.iterate(); yield* it.next(); ) {
   *   handle(it.value);
   * }
   * ```
   *
   * It allocates nothing per value, and `undefined` may be a value. `break` leaves the
   * rest in the channel.
   */
  iterate(): ChannelIterator<T> {
    return new ChannelIterator(this);
  }

  /**
   * Call `fn(value)` for every value until the channel is closed and drained:
   * `yield* ch.forEach((v) => { ... })` inside a task. If `fn` is a generator function,
   * each call runs to its end (with `yield*`) before the next value is received, so it
   * may block. To stop early, use {@link Channel.iterate} and `break`.
   */
  forEach(fn: (value: T) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH, this as Channel<unknown>, fn as (value: unknown) => unknown, undefined);
  }

  /**
   * Receive with `for await (const v of ch)` in async code; the loop ends when the
   * channel is closed and drained. Each step waits in the same queue as blocked tasks, in
   * arrival order, and is handed its value directly; `break` stops waiting.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ChannelAsyncIterator(this);
  }

  /** For reports: `Channel(capacity 2, 1 buffered, 3 receivers waiting, closed)`. */
  toString(): string {
    let s = `Channel(${this.capacity === 0 ? 'unbuffered' : `capacity ${this.capacity}`}`;
    if (this.#buffer.length !== 0) s += `, ${this.#buffer.length} buffered`;
    if (this.#sendq.size !== 0) s += `, ${this.#sendq.size} sender${this.#sendq.size === 1 ? '' : 's'} waiting`;
    if (this.#recvq.size !== 0) s += `, ${this.#recvq.size} receiver${this.#recvq.size === 1 ? '' : 's'} waiting`;
    if (this.#closed) s += ', closed';
    return `${s})`;
  }

  // --- the selectable protocol (see select.ts): what select and the iterators use --------

  /** Ready check: whether a receive would complete now (with a value or with "done"). */
  recvReady(): boolean {
    return this.#buffer.length !== 0 || this.#sendq.size !== 0 || this.#closed;
  }

  /** Ready check: whether a send would complete now; on a closed channel it "completes" by raising. */
  sendReady(): boolean {
    return this.#closed || this.#recvq.size !== 0 || this.#buffer.length < this.capacity;
  }

  /** Commit: receive now into `slot`; only right after {@link Channel.recvReady} said true. */
  recvNow(slot: RecvSlot<T>): void {
    if (this.#buffer.length !== 0) {
      slot.value = this.#takeBuffered();
      slot.ok = true;
    } else if (this.#sendq.size !== 0) {
      slot.value = this.#takeFromSender();
      slot.ok = true;
    } else {
      slot.value = undefined;
      slot.ok = false;
    }
  }

  /** Commit: send now; only right after {@link Channel.sendReady} said true. Raises ChannelClosed if closed. */
  sendNow(value: T): void {
    if (!this.trySend(value)) throw new Error('internal error: sendNow() on a channel that is not ready');
  }

  /** Register a receiver that is not a plain task (a select case, an iterator); only while not recvReady. */
  addReceiver(waiter: ReceiverWaiter<T>): void {
    this.#recvq.push(waiter, R_OBJECT);
  }

  /** Register a sender that is not a plain task (a select send case); only while not sendReady. */
  addSender(waiter: SenderWaiter<T>): void {
    this.#sendq.push(waiter, S_OBJECT);
  }

  /** Unregister a receiver (a waiter, or a parked task); false if it was not queued. */
  removeReceiver(waiter: unknown): boolean {
    return this.#recvq.remove(waiter);
  }

  /** Unregister a sender (a waiter, or a parked task); false if it was not queued. */
  removeSender(waiter: unknown): boolean {
    return this.#sendq.remove(waiter);
  }

  /** @internal Park `task`, already queued, on `parking`. */
  parkWaiter<R>(task: Schedulable, parking: Parking, operation: string, timeout: number | undefined): Performed<R> {
    return this.#parkWaiter(task, parking, operation, timeout);
  }

  /**
   * Park `task`, already queued, on `parking`. A timed wait goes through a small
   * generator that makes the ChannelTimeout only if the time runs out: an error object
   * (with its stack trace) costs microseconds, far more than the wait itself.
   */
  #parkWaiter<R>(task: Schedulable, parking: Parking, operation: string, timeout: number | undefined): Performed<R> {
    if (timeout === undefined) return park(task, parking);
    return timedWait<R>(this, task, parking, operation, timeout);
  }

  // --- the hand-offs -----------------------------------------------------------------

  /** Give `value` to the first waiting receiver. Precondition: `recvq` is not empty. */
  #handToReceiver(value: T): void {
    const recvq = this.#recvq;
    const waiter = recvq.first();
    const kind = recvq.firstSlot();
    recvq.dropFirst();
    if (kind === R_VALUE) wake(waiter as Schedulable, value);
    else if (kind === R_TUPLE) wake(waiter as Schedulable, [value, true]);
    else (waiter as ReceiverWaiter<T>).received(value, true);
  }

  /**
   * Take the value of the first waiting sender and wake it. Precondition: `sendq` is not
   * empty (so the buffer is full, or the channel is unbuffered).
   */
  #takeFromSender(): T {
    const sendq = this.#sendq;
    const waiter = sendq.first();
    const slot = sendq.firstSlot();
    sendq.dropFirst();
    if (slot === S_OBJECT) {
      const sender = waiter as SenderWaiter<T>;
      const value = sender.value;
      sender.sent();
      return value;
    }
    wake(waiter as Schedulable, undefined);
    return slot as T;
  }

  /**
   * Take the first buffered value; if a sender waits (the buffer was full), its value
   * moves into the freed place at the tail and it is woken, as Go's `recv` does.
   * Precondition: the buffer is not empty.
   */
  #takeBuffered(): T {
    const value = this.#buffer.shift();
    if (this.#sendq.size !== 0) this.#buffer.push(this.#takeFromSender());
    return value;
  }

  #sendOnClosed(): ChannelClosed {
    return new ChannelClosed(
      `send on ${String(this)}: nothing can be sent after close(). Close a channel only after its last send ` +
        '(in the sender), and stop sending once it is closed (check `ch.closed`, or catch ChannelClosed)',
    );
  }

}

// send, recv and recvOk are the hot path of every channel: each calls its perform from an
// iterator of its own, a copy of Operation's (see there why).
const S = SWITCHER;
const IDLE = REQ_IDLE;
const OP_PENDING = REQ_OP_PENDING;
const SEND = blockingOperation<Channel<unknown>, unknown, number | undefined, void>(
  'channel.send()',
  (ch, value, timeout) => ch.performSend(value, timeout),
  null,
  class extends Operation<Channel<unknown>, unknown, number | undefined, void> {
    override [Symbol.iterator](): Performed<void> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const ch = S.opSelf as Channel<unknown>;
      const value = S.opA;
      const timeout = S.opB as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = S.opB = undefined;
      return ch.performSend(value, timeout);
    }
  },
);
const RECV = blockingOperation<Channel<unknown>, number | undefined, undefined, unknown>(
  'channel.recv()',
  (ch, timeout) => ch.performRecv(timeout),
  null,
  class extends Operation<Channel<unknown>, number | undefined, undefined, unknown> {
    override [Symbol.iterator](): Performed<unknown> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const ch = S.opSelf as Channel<unknown>;
      const timeout = S.opA as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = undefined;
      return ch.performRecv(timeout);
    }
  },
);
const RECV_OK = blockingOperation<Channel<unknown>, number | undefined, undefined, RecvResult<unknown>>(
  'channel.recvOk()',
  (ch, timeout) => ch.performRecvOk(timeout),
  null,
  class extends Operation<Channel<unknown>, number | undefined, undefined, RecvResult<unknown>> {
    override [Symbol.iterator](): Performed<RecvResult<unknown>> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const ch = S.opSelf as Channel<unknown>;
      const timeout = S.opA as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = undefined;
      return ch.performRecvOk(timeout);
    }
  },
);
const FOR_EACH = blockingOperation<Channel<unknown>, (value: unknown) => unknown, undefined, void>(
  'channel.forEach()',
  function* (ch, fn) {
    for (const it = ch.iterate(); yield* it.next(); ) {
      const r = fn(it.value);
      if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
    }
  },
);

/** What a timed wait resumes with when its time runs out; no wake value can be it. */
const TIMED_OUT: unique symbol = Symbol('channel wait timed out');

function* timedWait<R>(
  channel: Channel<unknown>,
  task: Schedulable,
  parking: Parking,
  operation: string,
  ms: number,
): GreenletBody<R> {
  const result = yield* park<R | typeof TIMED_OUT>(task, parking, ms, TIMED_OUT, false);
  if (result === TIMED_OUT) throw new ChannelTimeout(`${operation} on ${String(channel)} gave up after ${ms} ms`, ms);
  return result;
}

// --- iteration ---------------------------------------------------------------------------

/**
 * Steps through a channel's values inside a task; made by {@link Channel.iterate}.
 * `yield* it.next()` evaluates to `true` with the value in `it.value`, or `false` once
 * the channel is closed and drained. One task at a time may wait in `next()`.
 */
export class ChannelIterator<T> implements Parking, ReceiverWaiter<T> {
  /** The value the last successful `next()` received (undefined before, and at the end). */
  value: T = undefined as T;
  readonly #slot: RecvSlot<T> = { value: undefined, ok: false };
  #task: Schedulable | null = null;

  constructor(
    /** The channel it receives from. */
    readonly channel: Channel<T>,
  ) {}

  /**
   * Wait for the next value: `true` (value in {@link ChannelIterator.value}), or `false`
   * when the channel is closed and drained.
   *
   * @param timeout - give up after this many milliseconds and raise a
   *   {@link ChannelTimeout}.
   */
  next(timeout?: number): SwitchOp<boolean> {
    return lazy(ITER_NEXT, this as ChannelIterator<unknown>, timeout, undefined);
  }

  /** @internal How users write {@link ChannelIterator.next} on this iterator, for messages. */
  get nextName(): string {
    return 'channel iterator next()';
  }

  /** @internal Performs {@link ChannelIterator.next}. */
  performNext(timeout: number | undefined): Performed<boolean> {
    const task = currentTask('channel iterator next()');
    if (this.#task !== null) {
      throw new Error(`${String(this)} is already waiting in next() in another task: give each task its own ch.iterate()`);
    }
    const channel = this.channel;
    if (channel.recvReady()) {
      const slot = this.#slot;
      channel.recvNow(slot);
      this.value = slot.value as T;
      slot.value = undefined;
      return immediate(slot.ok);
    }
    this.#task = task;
    channel.addReceiver(this);
    return channel.parkWaiter(task, this, 'iterator next()', timeout);
  }

  /** @internal */
  received(value: T | undefined, ok: boolean): void {
    const task = this.#task as Schedulable;
    this.#task = null;
    this.value = value as T;
    wake(task, ok);
  }

  /** @internal The waiting task was killed or timed out. */
  unpark(): void {
    this.#task = null;
    this.channel.removeReceiver(this);
  }

  /** @internal Whether the host feeds the channel (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return (this.channel as { [HOST_WAIT]?: boolean })[HOST_WAIT] === true;
  }

  toString(): string {
    return `iterate() of ${String(this.channel)}`;
  }
}

/** A pending `next()` of a ChannelAsyncIterator. */
class PromiseReceiver<T> implements ReceiverWaiter<T> {
  constructor(
    readonly owner: ChannelAsyncIterator<T>,
    readonly resolve: (result: IteratorResult<T, undefined>) => void,
  ) {}
  received(value: T | undefined, ok: boolean): void {
    this.owner.settled(this, ok);
    this.resolve(ok ? { value: value as T, done: false } : { value: undefined, done: true });
  }
}

/** `for await (const v of ch)`: the channel's receive side as an async iterator. */
class ChannelAsyncIterator<T> implements AsyncIterableIterator<T> {
  #finished = false;
  #pending: PromiseReceiver<T>[] = [];
  readonly #slot: RecvSlot<T> = { value: undefined, ok: false };

  constructor(readonly channel: Channel<T>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const channel = this.channel;
    if (this.#finished) return Promise.resolve({ value: undefined, done: true });
    if (channel.recvReady()) {
      const slot = this.#slot;
      channel.recvNow(slot);
      const value = slot.value as T;
      slot.value = undefined;
      if (!slot.ok) this.#finished = true;
      return Promise.resolve(slot.ok ? { value, done: false } : { value: undefined, done: true });
    }
    return new Promise((resolve) => {
      const waiter = new PromiseReceiver(this, resolve);
      this.#pending.push(waiter);
      channel.addReceiver(waiter);
    });
  }

  /** `break` out of the loop: stop waiting; pending steps end as done. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.#finished = true;
    const pending = this.#pending;
    this.#pending = [];
    for (const waiter of pending) {
      this.channel.removeReceiver(waiter);
      waiter.resolve({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** A pending step got its result (`ok` false: the channel is closed and drained). */
  settled(waiter: PromiseReceiver<T>, ok: boolean): void {
    const i = this.#pending.indexOf(waiter);
    if (i !== -1) this.#pending.splice(i, 1);
    if (!ok) this.#finished = true;
  }
}

const ITER_NEXT = blockingOperation<ChannelIterator<unknown>, number | undefined, undefined, boolean>(
  'channel iterator next()',
  (it, timeout) => it.performNext(timeout),
  (it) => it.nextName,
);
