/**
 * gevent.queue: `SimpleQueue` (FIFO, bounded or not, with shutdown), `Queue` (the same,
 * joinable), `LifoQueue`, `PriorityQueue`, and the errors `Empty`, `Full`, `ShutDown`,
 * `TaskDoneError`.
 *
 * One implementation serves the family; only the store of items differs (a ring buffer
 * taken from the front or the back, or a heap). Waiting is the hub's park/wake protocol:
 * a task that must wait registers in one of the queue's waiter lists and parks; whoever
 * makes progress possible removes it from the list and wakes it *with its result*.
 *
 * Waiter lists, each in arrival order:
 * - `getters`: tasks in `get()` and promises of `getAsync()`, served first come, first
 *   served whatever their kind (both live in the one list);
 * - `peekers`: tasks in `peek()`; a new item wakes them all, and none takes it;
 * - `putters` (+ `putItems`, the item of each, at the same index): tasks in `put()` and
 *   promises of `putAsync()` waiting for room;
 * - `joiners`: tasks in `join()` and promises of `joinAsync()`.
 *
 * A FIFO queue hands an item straight to the first waiting getter, in its wake value. An
 * ordered queue (LIFO or priority) cannot: the item a getter gets is the one the order
 * gives when the getter runs (of those put meanwhile, the newest or the lowest; gevent's
 * getter takes it then too). So it puts the item in the store and wakes the getter with a
 * claim (`TAKE`): `reserved` counts the claims not yet taken, and nobody else may take a
 * claimed item (`get` and `getNowait` see only `store.length - reserved` items).
 *
 * Invariants (whenever no queue method is running):
 * 1. getters or peekers waiting ⇒ the store holds no unclaimed item (FIFO: is empty): an
 *    item that arrives while someone waits goes to the first getter, handed over (FIFO)
 *    or claimed (ordered);
 * 2. putters waiting ⇒ the store is full: room made by a `get` is filled at once from the
 *    first putter, whose item enters the store before the putter is woken;
 * 3. so an item is always in exactly one place: the store (claimed or not), a putter's
 *    slot, or the wake value of exactly one getter; and every claim is a getter woken with
 *    `TAKE` that has not run yet. A getter woken with an item or a claim that is killed
 *    before it runs still receives the item (the hub delays the kill to its next blocking
 *    call), so no item is lost or delivered twice;
 * 4. every waiter in a list is waiting: a task is PARKED on this queue's matching
 *    parking, a promise is unsettled. A task leaves its list before it is woken; a task
 *    killed or timed out is removed by `unpark` (called by the hub), a promise by its
 *    own timer or abort listener;
 * 5. `unfinishedTasks` counts the items ever accepted (stored or handed over) minus the
 *    `taskDone()` calls, and never goes below zero; joiners wait exactly while it is
 *    above zero;
 * 6. after `shutdown()`, no list gains a waiter and no item is accepted; the lists are
 *    emptied by the shutdown itself (everyone raises `ShutDown`; a claim emptied by
 *    `shutdown(true)` raises it when its getter runs).
 *
 * The FIFO task path does not allocate: a put that hands over, or a get from a non-empty
 * queue, touches only ring buffers that are already grown and the hub's run queue;
 * blocking without a timeout parks the task object itself. A timed wait (and any wait of
 * an ordered queue) costs the hub timer and a small generator that turns "timed out"
 * into `Empty` / `Full`, or a claim into the item, when it happens. Promise waiters are
 * objects of their own; they are for async code, not for the hot path.
 *
 * Where this departs from gevent is docs/coming-from-gevent.md's to say.
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import { Operation, lazy, operationReused } from '../core/operation.js';
import { REQ_IDLE, REQ_OP_PENDING, SWITCHER, immediate, isGenerator, type Performed, type SwitchOp, type SwitchSignal } from '../core/switcher.js';
import {
  STATUS,
  WAIT,
  blockingOperation,
  currentTask,
  getHub,
  park,
  wake,
  wakeThrow,
  type Parking,
  type Schedulable,
} from '../hub/hub.js';
import { Timer } from '../hub/timers.js';
import { PriorityHeap, naturalOrder, type Comparator } from './priority-heap.js';

export type { Comparator } from './priority-heap.js';
export { naturalOrder } from './priority-heap.js';

// --- errors ----------------------------------------------------------------------------

/**
 * Raised by `getNowait()` / `peekNowait()` on an empty queue, and by `get(timeout)` /
 * `peek(timeout)` when no item arrived in time (Python's `queue.Empty`).
 *
 * ```ts
 * try {
 *   const job = queue.getNowait();
 * } catch (e) {
 *   if (!(e instanceof Empty)) throw e;
 * }
 * ```
 */
export class Empty extends Error {
  constructor(message = 'the queue is empty', options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'Empty';
  }
}

/**
 * Raised by `putNowait()` on a full queue, and by `put(item, timeout)` when no room was
 * made in time (Python's `queue.Full`). Nothing was put.
 */
export class Full extends Error {
  constructor(message = 'the queue is full', options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'Full';
  }
}

/**
 * Raised by every put after {@link Queue.shutdown}, by gets once a shut-down queue is
 * empty, and in every task (or promise) that was waiting to put or get when the queue
 * was shut down (Python 3.13's `queue.ShutDown`).
 */
export class ShutDown extends Error {
  constructor(message = 'the queue was shut down', options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'ShutDown';
  }
}

/**
 * `taskDone()` was called more times than items were put into the queue (gevent and
 * Python raise a `ValueError`).
 */
export class TaskDoneError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'TaskDoneError';
  }
}

// --- the ring buffer: items of FIFO/LIFO queues, and every waiter list ---------------

const NO_SLOTS: never[] = [];

/** Where a queue keeps its items. */
interface ItemStore<T> {
  readonly length: number;
  add(item: T): void;
  /** Remove and return the next item; the store must not be empty. */
  take(): T;
  /** The next item, left in place; the store must not be empty. */
  first(): T;
  clear(): void;
  toArray(): T[];
}

/**
 * A double-ended queue on a power-of-two ring of slots. It grows by doubling and gives
 * its slots back when it empties after having grown large, so a burst does not pin
 * memory. As an item store, `lifo` decides which end `take` and `first` use.
 */
class Ring<E> implements ItemStore<E> {
  length = 0;
  private head = 0;
  private slots: (E | undefined)[] = NO_SLOTS;

  constructor(readonly lifo = false) {}

  push(e: E): void {
    if (this.length === this.slots.length) this.grow();
    const slots = this.slots;
    slots[(this.head + this.length) & (slots.length - 1)] = e;
    this.length++;
  }

  /** Remove and return the first element; the ring must not be empty. */
  shift(): E {
    const slots = this.slots;
    const e = slots[this.head] as E;
    slots[this.head] = undefined;
    this.head = (this.head + 1) & (slots.length - 1);
    if (--this.length === 0) this.emptied();
    return e;
  }

  /** Remove and return the last element; the ring must not be empty. */
  pop(): E {
    const slots = this.slots;
    const i = (this.head + this.length - 1) & (slots.length - 1);
    const e = slots[i] as E;
    slots[i] = undefined;
    if (--this.length === 0) this.emptied();
    return e;
  }

  at(i: number): E {
    return this.slots[(this.head + i) & (this.slots.length - 1)] as E;
  }

  indexOf(e: E): number {
    for (let i = 0; i < this.length; i++) if (this.at(i) === e) return i;
    return -1;
  }

  /** Remove the element at position `i` (0 = first), keeping the order of the others. */
  removeAt(i: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    const n = this.length - 1;
    for (let k = i; k < n; k++) slots[(this.head + k) & mask] = slots[(this.head + k + 1) & mask];
    slots[(this.head + n) & mask] = undefined;
    this.length = n;
    if (n === 0) this.emptied();
  }

  add(item: E): void {
    this.push(item);
  }

  take(): E {
    return this.lifo ? this.pop() : this.shift();
  }

  first(): E {
    return this.at(this.lifo ? this.length - 1 : 0);
  }

  clear(): void {
    this.slots = NO_SLOTS;
    this.head = 0;
    this.length = 0;
  }

  toArray(): E[] {
    const out: E[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return this.lifo ? out.reverse() : out;
  }

  private grow(): void {
    const old = this.slots;
    const cap = old.length === 0 ? 4 : old.length * 2;
    const slots = new Array<E | undefined>(cap).fill(undefined);
    for (let i = 0; i < this.length; i++) slots[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = slots;
    this.head = 0;
  }

  private emptied(): void {
    this.head = 0;
    if (this.slots.length > 1024) this.slots = NO_SLOTS;
  }
}

// --- waiters ----------------------------------------------------------------------------

/** A waiter of a list: a parked task, or the promise of an async call. */
type Waiter = Schedulable | AsyncWaiter;

/** Take `waiter` out of `waiters` (and its item out of `items`, for putters). */
function removeWaiter(waiters: Ring<Waiter>, items: Ring<unknown> | null, waiter: Waiter): void {
  const i = waiters.indexOf(waiter);
  if (i === -1) return;
  waiters.removeAt(i);
  if (items !== null) items.removeAt(i);
}

/**
 * What a task parks on: one per waiter list of a queue. The hub calls `unpark` when the
 * task leaves the wait on its own (killed, timed out).
 */
class QueueWait implements Parking {
  constructor(
    private readonly queue: SimpleQueue<unknown>,
    private readonly operation: string,
    private readonly waiters: Ring<Waiter>,
    private readonly items: Ring<unknown> | null,
  ) {}
  unpark(task: Schedulable): void {
    removeWaiter(this.waiters, this.items, task);
  }
  toString(): string {
    return `${this.operation} on ${String(this.queue)}`;
  }
}

const GET = 0;
const PUT = 1;
const JOIN = 2;

/**
 * The waiter of a `getAsync()` / `putAsync()` / `joinAsync()` promise. It is its own
 * hub timer (for `timeout`) and its own abort listener (`handleEvent`), so a promise
 * waiter is one object besides the promise.
 */
class AsyncWaiter extends Timer {
  #signal: AbortSignal | null = null;

  constructor(
    private readonly kind: number,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: unknown) => void,
    private readonly waiters: Ring<Waiter>,
    private readonly items: Ring<unknown> | null,
    private readonly ms: number | undefined,
  ) {
    super();
  }

  /** Register in the list, arm the timeout, listen to the signal. */
  enter(signal: AbortSignal | undefined): void {
    this.waiters.push(this);
    if (this.ms !== undefined) getHub().timers.add(this, this.ms);
    if (signal !== undefined) {
      this.#signal = signal;
      signal.addEventListener('abort', this);
    }
  }

  /** Already out of the list: settle with `value`. */
  settle(value: unknown): void {
    this.#stop();
    this.resolve(value);
  }

  /** Already out of the list: reject with `error`. */
  fail(error: unknown): void {
    this.#stop();
    this.reject(error);
  }

  /** The timeout: leave the list and report it. */
  fire(): void {
    removeWaiter(this.waiters, this.items, this);
    this.#stop();
    const ms = this.ms as number;
    if (this.kind === JOIN) this.resolve(false);
    else if (this.kind === GET) this.reject(new Empty(`queue.getAsync(): no item arrived within ${ms} ms`));
    else this.reject(new Full(`queue.putAsync(): the queue stayed full for ${ms} ms; the item was not put`));
  }

  /** The abort signal: leave the list and reject with its reason. */
  handleEvent(): void {
    const reason = (this.#signal as AbortSignal).reason;
    removeWaiter(this.waiters, this.items, this);
    this.#stop();
    this.reject(reason);
  }

  #stop(): void {
    if (this.pending) getHub().timers.remove(this);
    if (this.#signal !== null) {
      this.#signal.removeEventListener('abort', this);
      this.#signal = null;
    }
  }
}

/**
 * Wake `waiter`, which the caller has just taken out of the list of `parking`, with
 * `value`. False if it cannot take it: a task that is not parked on this list any more
 * (possible only after misuse, e.g. a `get()` never run with `yield*`); the caller then
 * offers the value to the next waiter, so it is not lost.
 */
function succeed(waiter: Waiter, value: unknown, parking: QueueWait): boolean {
  // A task carries its scheduling state as an own property: testing it is a load, where
  // `instanceof AsyncWaiter` on a task walks its whole prototype chain.
  if ((waiter as Partial<Schedulable>)[STATUS] === undefined) {
    (waiter as AsyncWaiter).settle(value);
    return true;
  }
  const task = waiter as Schedulable;
  return task[WAIT] === parking && wake(task, value);
}

/** Raise `error` in `waiter`, taken out of the list of `parking`. */
function fail(waiter: Waiter, error: unknown, parking: QueueWait): void {
  if ((waiter as Partial<Schedulable>)[STATUS] === undefined) (waiter as AsyncWaiter).fail(error);
  else if ((waiter as Schedulable)[WAIT] === parking) wakeThrow(waiter as Schedulable, error);
}

/** What a timed park evaluates to when the time is up. */
const TIMED_OUT: unique symbol = Symbol('timed out');

/** Options of the promise methods. */
export interface AsyncWaitOptions {
  /** Give up after this many milliseconds (`Empty` for getAsync, `Full` for putAsync). */
  timeout?: number;
  /** Give up when this signal aborts: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

function checkTimeout(timeout: number | undefined, operation: string): void {
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new RangeError(
      `${operation}: timeout must be a non-negative number of milliseconds, not ${String(timeout)}; ` +
        'leave it out to wait as long as it takes',
    );
  }
}

function checkMaxsize(maxsize: number | null | undefined): number {
  // 0 is gevent's (and the standard library's) "no limit"; for a rendezvous use a Channel.
  if (maxsize === undefined || maxsize === null || maxsize === Infinity || maxsize === 0) return Infinity;
  if (Number.isInteger(maxsize) && maxsize >= 1) return maxsize;
  throw new RangeError(
    `Queue(${String(maxsize)}): maxsize must be a positive integer, or 0 / undefined for an unbounded queue`,
  );
}

/** Options of the queue constructors, gevent's keywords: `new Queue({ maxsize: 10, items })`. */
export interface QueueOptions<T> {
  /** How many items the queue holds before `put` waits; 0 or leave it out for no limit. */
  maxsize?: number | null;
  /** Items to start with (each counts as an unfinished task). */
  items?: Iterable<T>;
}

function isQueueOptions<T>(value: unknown): value is QueueOptions<T> {
  return typeof value === 'object' && value !== null && !(Symbol.iterator in value);
}

/** Set by SimpleQueue's static block: lets the subclasses below install their store. */
let useStore: <T>(queue: SimpleQueue<T>, store: ItemStore<T>, items: Iterable<T> | undefined, ordered: boolean) => void;

/** Set by SimpleQueue's static block: the joinable part, which `Queue` makes public. */
let joinable: {
  taskDone<T>(queue: SimpleQueue<T>): void;
  join<T>(queue: SimpleQueue<T>, timeout: number | undefined): Performed<boolean>;
  joinAsync<T>(queue: SimpleQueue<T>, options: AsyncWaitOptions | undefined): Promise<boolean>;
  unfinished<T>(queue: SimpleQueue<T>): number;
};

/** What a getter of an ordered queue is woken with: take the queue's next item now. */
const TAKE: unique symbol = Symbol('take');

// --- SimpleQueue ---------------------------------------------------------------------------

/**
 * A queue of items between tasks, first in, first out: gevent's `SimpleQueue` (since
 * gevent 25, the queue that is not joinable). {@link Queue} adds `taskDone()` and
 * `join()`; use it unless you know you will never join. `put` waits while the queue is
 * full, `get` while it is empty; both take an optional timeout in milliseconds. The
 * `Nowait` variants never wait and work from anywhere (plain code, callbacks, async
 * functions).
 *
 * ```ts
 * const lines = new SimpleQueue<string>();
 * lines.putNowait('hello');              // from anywhere
 * const line = yield* lines.get();        // in a task
 * ```
 *
 * Fairness: waiting getters are served in the order they arrived, and so are waiting
 * putters. An item put while a getter waits goes to that getter: at once for a FIFO
 * queue; a `LifoQueue` or `PriorityQueue` wakes the getter, which takes the item the
 * queue's order gives when it runs (as gevent's getter does). A task that calls `get`
 * meanwhile does not take it first. Async code takes part through {@link SimpleQueue.getAsync},
 * {@link SimpleQueue.putAsync} and `for await (const item of queue)`, in the same order
 * as tasks.
 *
 * {@link SimpleQueue.shutdown} (Python 3.13) ends it: puts raise {@link ShutDown}, gets
 * drain what is left and then raise it; {@link SimpleQueue.iterate} and
 * {@link SimpleQueue.forEach} loop until then.
 *
 * Coming from gevent: `put(item, timeout?)` and `putNowait(item)` instead of
 * `put(item, block, timeout)`; timeouts in milliseconds; `maxsize` is `Infinity` when
 * unbounded; iteration ends at shutdown (see the module notes for the full list).
 *
 * @typeParam T - the items.
 */
export class SimpleQueue<T = unknown> implements AsyncIterable<T> {
  #store: ItemStore<T> = new Ring<T>();
  readonly #maxsize: number;
  readonly #getters = new Ring<Waiter>();
  readonly #peekers = new Ring<Waiter>();
  readonly #putters = new Ring<Waiter>();
  readonly #putItems = new Ring<T>();
  readonly #joiners = new Ring<Waiter>();
  #unfinished = 0;
  #isShutdown = false;
  /** A LIFO or priority store: waiting getters take the next item when they run. */
  #ordered = false;
  /** Getters of an ordered queue woken to take an item, that have not run yet. */
  #reserved = 0;
  readonly #getWait: QueueWait;
  readonly #peekWait: QueueWait;
  readonly #putWait: QueueWait;
  readonly #joinWait: QueueWait;

  static {
    useStore = <T>(queue: SimpleQueue<T>, store: ItemStore<T>, items: Iterable<T> | undefined, ordered: boolean): void => {
      queue.#store = store;
      queue.#ordered = ordered;
      if (items !== undefined) queue.#addInitial(items);
    };
    joinable = {
      taskDone: (queue) => queue.#taskDone(),
      join: (queue, timeout) => queue.#join(timeout),
      joinAsync: (queue, options) => queue.#joinAsync(options),
      unfinished: (queue) => queue.#unfinished,
    };
  }

  /**
   * @param maxsize - how many items the queue holds before `put` waits; `0`,
   *   `undefined`, `null` or `Infinity` (the default) for no limit (gevent reads `0` the
   *   same way). Otherwise a positive integer. Or an options object:
   *   `new Queue({ maxsize: 10, items: [1, 2] })`.
   * @param items - items to start with (gevent's `items`); each counts as an unfinished
   *   task. They may exceed `maxsize`.
   */
  constructor(options?: QueueOptions<T>);
  constructor(maxsize?: number | null, items?: Iterable<T>);
  constructor(maxsizeOrOptions?: number | null | QueueOptions<T>, itemsArg?: Iterable<T>) {
    const options = isQueueOptions<T>(maxsizeOrOptions) ? maxsizeOrOptions : undefined;
    const maxsize = options !== undefined ? options.maxsize : (maxsizeOrOptions as number | null | undefined);
    const items = options !== undefined ? options.items : itemsArg;
    this.#maxsize = checkMaxsize(maxsize);
    const self = this as SimpleQueue<unknown>;
    this.#getWait = new QueueWait(self, 'queue.get()', this.#getters, null);
    this.#peekWait = new QueueWait(self, 'queue.peek()', this.#peekers, null);
    this.#putWait = new QueueWait(self, 'queue.put()', this.#putters, this.#putItems as Ring<unknown>);
    this.#joinWait = new QueueWait(self, 'queue.join()', this.#joiners, null);
    if (items !== undefined) this.#addInitial(items);
  }

  #addInitial(items: Iterable<T>): void {
    for (const item of items) {
      this.#store.add(item);
      this.#unfinished++;
    }
  }

  /** The most items the queue holds; `Infinity` when unbounded (gevent: `None`). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /**
   * How many items are in the queue (not counting those that putters wait to put;
   * counting those a woken getter is about to take).
   */
  qsize(): number {
    return this.#store.length;
  }

  /** Same as {@link Queue.qsize} (gevent's `len(queue)`). */
  get size(): number {
    return this.#store.length;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.#store.length === 0;
  }

  /** Whether the queue holds `maxsize` items (an unbounded queue is never full). */
  full(): boolean {
    return this.#store.length >= this.#maxsize;
  }

  /** How many tasks and `getAsync()` promises wait for an item. Read-only, for checks and reports. */
  get getters(): number {
    return this.#getters.length;
  }

  /** How many tasks and `putAsync()` promises wait for room. */
  get putters(): number {
    return this.#putters.length;
  }

  /** How many tasks wait in `peek()`. */
  get peekers(): number {
    return this.#peekers.length;
  }

  /** How many tasks and `joinAsync()` promises wait in `join()`. */
  get joiners(): number {
    return this.#joiners.length;
  }

  /** Whether {@link Queue.shutdown} was called. */
  get isShutdown(): boolean {
    return this.#isShutdown;
  }

  // --- put ---------------------------------------------------------------------------

  /**
   * Put `item` into the queue, waiting while it is full: `yield* queue.put(item)`. With
   * `timeout` (ms), raise {@link Full} if no room was made in time (the item is not
   * put). Raises {@link ShutDown} if the queue is, or gets, shut down. If a task waits
   * in `get()`, the item goes straight to it.
   *
   * ```ts
   * try {
   *   yield* results.put(result, 500);
   * } catch (e) {
   *   if (!(e instanceof Full)) throw e;
   *   dropped++; // nobody made room in 500 ms
   * }
   * ```
   */
  put(item: T, timeout?: number): SwitchOp<void> {
    if (timeout !== undefined) checkTimeout(timeout, 'queue.put()');
    return lazy(PUT_OP, this as SimpleQueue<unknown>, item, timeout);
  }

  /** @internal Performs {@link SimpleQueue.put}. */
  performPut(item: T, timeout: number | undefined): Performed<void> {
    const task = currentTask('queue.put()');
    if (this.#isShutdown) throw new ShutDown('queue.put(): the queue was shut down; it takes no more items');
    if (this.#store.length < this.#maxsize) {
      this.#accept(item);
      return immediate(undefined);
    }
    if (timeout !== undefined) return this.#putTimed(task, item, timeout);
    this.#putters.push(task);
    this.#putItems.push(item);
    return park(task, this.#putWait);
  }

  *#putTimed(task: Schedulable, item: T, ms: number): Generator<SwitchSignal, void, unknown> {
    this.#putters.push(task);
    this.#putItems.push(item);
    const outcome = yield* park<unknown>(task, this.#putWait, ms, TIMED_OUT);
    if (outcome === TIMED_OUT) throw new Full(`queue.put(): the queue stayed full for ${ms} ms; the item was not put`);
  }

  /**
   * Put `item` into the queue if there is room now, else raise {@link Full}. Never
   * waits; works from anywhere (plain code, callbacks, async functions).
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw new ShutDown('queue.putNowait(): the queue was shut down; it takes no more items');
    if (this.#store.length >= this.#maxsize) {
      throw new Full(
        `queue.putNowait(): the queue is full (${this.#store.length} of ${this.#maxsize} items); ` +
          'use `yield* queue.put(item)` in a task, or `await queue.putAsync(item)`, to wait for room',
      );
    }
    this.#accept(item);
  }

  /**
   * From async code: put `item`, waiting (in line with waiting tasks) while the queue is
   * full. Rejects with {@link Full} after `timeout` ms, with the signal's reason if
   * `signal` aborts (the item is then not put), or with {@link ShutDown}.
   */
  putAsync(item: T, options?: AsyncWaitOptions): Promise<void> {
    if (this.#isShutdown) {
      return Promise.reject(new ShutDown('queue.putAsync(): the queue was shut down; it takes no more items'));
    }
    if (this.#store.length < this.#maxsize) {
      try {
        this.#accept(item);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return this.#waitAsync(PUT, this.#putters, this.#putItems as Ring<unknown>, item, options, 'queue.putAsync()') as Promise<void>;
  }

  /**
   * Room is available (or a getter waits): hand `item` to the first getter, else store
   * it; then show it to the peekers. The store may refuse it (a PriorityQueue that
   * cannot order it) before anything has changed.
   */
  #accept(item: T): void {
    if (this.#ordered) {
      this.#store.add(item);
      this.#unfinished++;
      if (this.#peekers.length !== 0) this.#showPeekers(this.#store.first());
      if (this.#getters.length !== 0) this.#serveOrdered();
      return;
    }
    if (this.#getters.length === 0 || !this.#handOff(item)) this.#store.add(item);
    this.#unfinished++;
    if (this.#peekers.length !== 0) this.#showPeekers(item);
  }

  /**
   * An ordered (LIFO or priority) queue made progress possible: wake getters while there
   * are items no woken getter has claimed, and admit putters while there is room. A woken
   * task takes the queue's next item when it runs (gevent's getter does the same), so
   * an item put after it was woken but before it ran can still be the one it gets; a
   * promise is settled at once.
   */
  #serveOrdered(): void {
    const store = this.#store;
    const getters = this.#getters;
    for (;;) {
      if (getters.length !== 0 && store.length > this.#reserved) {
        const getter = getters.shift();
        if ((getter as Partial<Schedulable>)[STATUS] === undefined) {
          (getter as AsyncWaiter).settle(store.take());
        } else if (succeed(getter, TAKE, this.#getWait)) {
          this.#reserved++;
        }
        continue;
      }
      if (this.#putters.length !== 0 && store.length < this.#maxsize) {
        this.#admitOnePutter();
        continue;
      }
      return;
    }
  }

  /** A getter of an ordered queue woken with TAKE runs: it takes the next item. */
  #takeReserved(): T {
    if (this.#reserved > 0) this.#reserved--;
    const store = this.#store;
    // Only an immediate shutdown empties the store under a woken getter.
    if (store.length === 0) throw new ShutDown('queue.get(): the queue was shut down while waiting');
    const item = store.take();
    if (this.#putters.length !== 0 || this.#getters.length !== 0) this.#serveOrdered();
    return item;
  }

  /** Give `item` to the first getter that can take it; false if none could. */
  #handOff(item: T): boolean {
    const getters = this.#getters;
    while (getters.length !== 0) if (succeed(getters.shift(), item, this.#getWait)) return true;
    return false;
  }

  #showPeekers(item: T): void {
    const peekers = this.#peekers;
    while (peekers.length !== 0) succeed(peekers.shift(), item, this.#peekWait);
  }

  /** Room was made: move the items of the first putters into the store and wake them. */
  #admitPutters(): void {
    if (this.#ordered) {
      this.#serveOrdered();
      return;
    }
    while (this.#putters.length !== 0 && this.#store.length < this.#maxsize) this.#admitOnePutter();
  }

  #admitOnePutter(): void {
    const putter = this.#putters.shift();
    const item = this.#putItems.shift();
    try {
      this.#store.add(item);
    } catch (error) {
      fail(putter, error, this.#putWait); // the store refused it: the putter gets the error, as in gevent
      return;
    }
    this.#unfinished++;
    succeed(putter, undefined, this.#putWait);
  }

  // --- get and peek ------------------------------------------------------------------

  /**
   * Remove and return the next item, waiting while the queue is empty:
   * `const item = yield* queue.get()`. With `timeout` (ms), raise {@link Empty} if no
   * item arrived in time. On a shut-down queue, the items left are still returned, then
   * {@link ShutDown} is raised (also in getters waiting when it shuts down).
   *
   * ```ts
   * for (;;) {
   *   let job: Job;
   *   try {
   *     job = yield* jobs.get();
   *   } catch (e) {
   *     if (e instanceof ShutDown) break; // shut down and drained
   *     throw e;
   *   }
   *   yield* handle(job);
   * }
   * ```
   */
  get(timeout?: number): SwitchOp<T> {
    if (timeout !== undefined) checkTimeout(timeout, 'queue.get()');
    return lazy(GET_OP, this as SimpleQueue<unknown>, timeout, undefined) as SwitchOp<T>;
  }

  /** @internal Performs {@link SimpleQueue.get}. */
  performGet(timeout: number | undefined): Performed<T> {
    const task = currentTask('queue.get()');
    const store = this.#store;
    if (store.length > this.#reserved) {
      const item = store.take();
      if (this.#putters.length !== 0) this.#admitPutters();
      return immediate(item);
    }
    if (this.#isShutdown) throw new ShutDown('queue.get(): the queue is shut down and empty');
    if (timeout !== undefined || this.#ordered) return this.#getWaiting(task, timeout);
    this.#getters.push(task);
    return park(task, this.#getWait);
  }

  *#getWaiting(task: Schedulable, ms: number | undefined): Generator<SwitchSignal, T, unknown> {
    this.#getters.push(task);
    const outcome = yield* park<T | typeof TIMED_OUT | typeof TAKE>(task, this.#getWait, ms, TIMED_OUT);
    if (outcome === TIMED_OUT) throw new Empty(`queue.get(): no item arrived within ${String(ms)} ms`);
    if (outcome === TAKE) return this.#takeReserved();
    return outcome;
  }

  /**
   * Remove and return the next item if there is one, else raise {@link Empty}
   * ({@link ShutDown} if the queue is also shut down). Never waits; works from anywhere.
   */
  getNowait(): T {
    const store = this.#store;
    if (store.length <= this.#reserved) {
      if (this.#isShutdown) throw new ShutDown('queue.getNowait(): the queue is shut down and empty');
      throw new Empty(
        'queue.getNowait(): the queue is empty; use `yield* queue.get()` in a task, or `await queue.getAsync()`, to wait for an item',
      );
    }
    const item = store.take();
    if (this.#putters.length !== 0) this.#admitPutters();
    return item;
  }

  /**
   * From async code: the next item, waiting (in line with waiting tasks) while the queue
   * is empty. Rejects with {@link Empty} after `timeout` ms, with the signal's reason if
   * `signal` aborts, or with {@link ShutDown} once the queue is shut down and empty. An
   * item given to the promise is resolved into it: it is never lost, whatever happens to
   * the queue afterwards.
   *
   * ```ts
   * const line = await lines.getAsync({ timeout: 1000 });
   * ```
   */
  getAsync(options?: AsyncWaitOptions): Promise<T> {
    if (this.#store.length > this.#reserved) return Promise.resolve(this.getNowait());
    if (this.#isShutdown) return Promise.reject(new ShutDown('queue.getAsync(): the queue is shut down and empty'));
    return this.#waitAsync(GET, this.#getters, null, undefined, options, 'queue.getAsync()') as Promise<T>;
  }

  /**
   * Return the next item without removing it, waiting while the queue is empty:
   * `const next = yield* queue.peek()`. With `timeout` (ms), raise {@link Empty} if no
   * item arrived in time. Every task waiting in `peek()` sees the next item that arrives,
   * even if a getter takes it at once.
   */
  peek(timeout?: number): SwitchOp<T> {
    if (timeout !== undefined) checkTimeout(timeout, 'queue.peek()');
    return lazy(PEEK_OP, this as SimpleQueue<unknown>, timeout, undefined) as SwitchOp<T>;
  }

  /** @internal Performs {@link SimpleQueue.peek}. */
  performPeek(timeout: number | undefined): Performed<T> {
    const task = currentTask('queue.peek()');
    if (this.#store.length !== 0) return immediate(this.#store.first());
    if (this.#isShutdown) throw new ShutDown('queue.peek(): the queue is shut down and empty');
    if (timeout !== undefined) return this.#peekTimed(task, timeout);
    this.#peekers.push(task);
    return park(task, this.#peekWait);
  }

  *#peekTimed(task: Schedulable, ms: number): Generator<SwitchSignal, T, unknown> {
    this.#peekers.push(task);
    const outcome = yield* park<T | typeof TIMED_OUT>(task, this.#peekWait, ms, TIMED_OUT);
    if (outcome === TIMED_OUT) throw new Empty(`queue.peek(): no item arrived within ${ms} ms`);
    return outcome;
  }

  /** The next item, left in the queue, or {@link Empty} ({@link ShutDown} if also shut down). Works from anywhere. */
  peekNowait(): T {
    if (this.#store.length === 0) {
      if (this.#isShutdown) throw new ShutDown('queue.peekNowait(): the queue is shut down and empty');
      throw new Empty('queue.peekNowait(): the queue is empty; use `yield* queue.peek()` in a task to wait for an item');
    }
    return this.#store.first();
  }

  // --- join --------------------------------------------------------------------------

  #taskDone(): void {
    if (this.#unfinished <= 0) {
      throw new TaskDoneError(
        'queue.taskDone() was called more times than items were put into the queue: call it once for each item you took with get()',
      );
    }
    if (--this.#unfinished === 0) this.#wakeJoiners();
  }

  #join(timeout: number | undefined): Performed<boolean> {
    const task = currentTask('queue.join()');
    if (this.#unfinished === 0) return immediate(true);
    this.#joiners.push(task);
    return park(task, this.#joinWait, timeout, false);
  }

  #joinAsync(options: AsyncWaitOptions | undefined): Promise<boolean> {
    if (this.#unfinished === 0) return Promise.resolve(true);
    return this.#waitAsync(JOIN, this.#joiners, null, undefined, options, 'queue.joinAsync()') as Promise<boolean>;
  }

  #wakeJoiners(): void {
    const joiners = this.#joiners;
    while (joiners.length !== 0) succeed(joiners.shift(), true, this.#joinWait);
  }

  // --- shutdown ----------------------------------------------------------------------

  /**
   * Shut the queue down (Python 3.13's `Queue.shutdown`): from now on every put raises
   * {@link ShutDown}; gets return the items left and then raise it. Every task and
   * promise waiting to put or get (or peek) is woken with `ShutDown` at once; a waiting
   * putter's item is not put. With `immediate`, the items left are dropped too (each
   * counts as done for `join`), so gets raise at once. Works from anywhere; calling it
   * again is harmless (and `immediate` still drops the items).
   *
   * ```ts
   * jobs.shutdown();           // workers finish what is queued, then see ShutDown
   * jobs.shutdown(true);       // or: drop the rest and stop them now
   * ```
   */
  shutdown(immediate = false): void {
    this.#isShutdown = true;
    if (immediate) {
      const dropped = this.#store.length;
      if (dropped !== 0) {
        this.#store.clear();
        this.#reserved = 0;
        this.#unfinished = Math.max(0, this.#unfinished - dropped);
        if (this.#unfinished === 0) this.#wakeJoiners();
      }
    }
    this.#releaseAll(this.#getters, null, this.#getWait, 'get');
    this.#releaseAll(this.#peekers, null, this.#peekWait, 'peek');
    this.#releaseAll(this.#putters, this.#putItems as Ring<unknown>, this.#putWait, 'put');
  }

  /** Empty a waiter list, raising ShutDown in each waiter (dropping the putters' items). */
  #releaseAll(waiters: Ring<Waiter>, items: Ring<unknown> | null, parking: QueueWait, operation: string): void {
    while (waiters.length !== 0) {
      const waiter = waiters.shift();
      if (items !== null) items.shift();
      fail(waiter, new ShutDown(`queue.${operation}(): the queue was shut down while waiting`), parking);
    }
  }

  // --- iteration in a task ----------------------------------------------------------

  /**
   * An iterator over the items, for a loop inside a task that ends once the queue is
   * shut down and drained (gevent's `for item in queue`, without the `StopIteration`
   * item, and with no `try`/`catch` for {@link ShutDown}). `yield* it.next()` waits for
   * the next item and evaluates to `true` with the item in `it.value`, or to `false` at
   * the end:
   *
   * ```ts
   * for (const it = jobs.iterate(); yield* it.next(); ) {
   *   yield* handle(it.value);
   *   jobs.taskDone();
   * }
   * // jobs.shutdown() was called and every item was taken
   * ```
   *
   * `break` leaves the rest in the queue. `it.next(ms)` raises {@link Empty} after `ms`
   * without an item.
   */
  iterate(): QueueIterator<T> {
    return new QueueIterator(this);
  }

  /**
   * Call `fn(item)` for every item until the queue is shut down and drained:
   * `yield* queue.forEach(function* (item) { ... })` inside a task. If `fn` is a
   * generator function, each call runs to its end before the next item is taken, so it
   * may block. To stop early, use {@link SimpleQueue.iterate} and `break`.
   */
  forEach(fn: (item: T) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH, this as SimpleQueue<unknown>, fn as (item: unknown) => unknown, undefined);
  }

  // --- async iteration ---------------------------------------------------------------

  /**
   * Consume the queue from async code: `for await (const item of queue)` gets item after
   * item (in line with waiting tasks) and ends once the queue is shut down and drained.
   *
   * ```ts
   * for await (const event of events) render(event);
   * // ends after events.shutdown(), once the items left are consumed
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return new QueueAsyncIterator(this);
  }

  #waitAsync(
    kind: number,
    waiters: Ring<Waiter>,
    items: Ring<unknown> | null,
    item: unknown,
    options: AsyncWaitOptions | undefined,
    operation: string,
  ): Promise<unknown> {
    const timeout = options?.timeout;
    const signal = options?.signal;
    try {
      checkTimeout(timeout, operation);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<unknown>((resolve, reject) => {
      const waiter = new AsyncWaiter(kind, resolve, reject, waiters, items, timeout);
      if (items !== null) items.push(item);
      waiter.enter(signal);
    });
  }

  /** E.g. `Queue(maxsize=2, 1 item, 2 putters)`. */
  toString(): string {
    const parts: string[] = [];
    if (this.#maxsize !== Infinity) parts.push(`maxsize=${this.#maxsize}`);
    const n = this.#store.length;
    parts.push(`${n} item${n === 1 ? '' : 's'}`);
    const count = (k: number, what: string): void => {
      if (k !== 0) parts.push(`${k} ${what}${k === 1 ? '' : 's'}`);
    };
    count(this.#getters.length, 'getter');
    count(this.#peekers.length, 'peeker');
    count(this.#putters.length, 'putter');
    count(this.#joiners.length, 'joiner');
    if (this.#unfinished !== 0) parts.push(`${this.#unfinished} unfinished`);
    if (this.#isShutdown) parts.push('shut down');
    return `${this.constructor.name}(${parts.join(', ')})`;
  }

  /** The items in the queue, in the order they would come out. For inspection. */
  toArray(): T[] {
    return this.#store.toArray();
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>;

function itemResult<T>(value: T): IteratorYieldResult<T> {
  return { done: false, value };
}

function endOnShutDown(error: unknown): IteratorReturnResult<undefined> {
  if (error instanceof ShutDown) return DONE;
  throw error;
}

/**
 * Steps through a queue's items inside a task; made by {@link SimpleQueue.iterate}.
 * `yield* it.next()` evaluates to `true` with the item in `it.value`, or `false` once the
 * queue is shut down and drained.
 */
export class QueueIterator<T> {
  /** The item the last successful `next()` took (undefined before, and at the end). */
  value: T = undefined as T;

  constructor(
    /** The queue it takes from. */
    readonly queue: SimpleQueue<T>,
  ) {}

  /**
   * Wait for the next item: `true` (item in {@link QueueIterator.value}), or `false` when
   * the queue is shut down and drained.
   *
   * @param timeout - give up after this many milliseconds and raise {@link Empty}.
   */
  next(timeout?: number): SwitchOp<boolean> {
    if (timeout !== undefined) checkTimeout(timeout, 'queue iterator next()');
    return lazy(ITER_NEXT, this as QueueIterator<unknown>, timeout, undefined);
  }

  /** @internal Performs {@link QueueIterator.next}. */
  *performNext(timeout: number | undefined): GreenletBody<boolean> {
    try {
      this.value = yield* this.queue.performGet(timeout);
      return true;
    } catch (error) {
      if (!(error instanceof ShutDown)) throw error;
      this.value = undefined as T;
      return false;
    }
  }
}

/** The iterator of `for await (const item of queue)`. */
class QueueAsyncIterator<T> implements AsyncIterator<T, undefined> {
  constructor(private readonly queue: SimpleQueue<T>) {}
  next(): Promise<IteratorResult<T, undefined>> {
    return this.queue.getAsync().then(itemResult, endOnShutDown);
  }
  return(): Promise<IteratorResult<T, undefined>> {
    return Promise.resolve(DONE);
  }
}

// put and get are the hot path of every queue: each calls its perform from an iterator of
// its own, a copy of Operation's (see there why).
const S = SWITCHER;
const IDLE = REQ_IDLE;
const OP_PENDING = REQ_OP_PENDING;
const PUT_OP = blockingOperation<SimpleQueue<unknown>, unknown, number | undefined, void>(
  'queue.put()',
  (q, item, timeout) => q.performPut(item, timeout),
  null,
  class extends Operation<SimpleQueue<unknown>, unknown, number | undefined, void> {
    override [Symbol.iterator](): Performed<void> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const q = S.opSelf as SimpleQueue<unknown>;
      const item = S.opA;
      const timeout = S.opB as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = S.opB = undefined;
      return q.performPut(item, timeout);
    }
  },
);
const GET_OP = blockingOperation<SimpleQueue<unknown>, number | undefined, undefined, unknown>(
  'queue.get()',
  (q, timeout) => q.performGet(timeout),
  null,
  class extends Operation<SimpleQueue<unknown>, number | undefined, undefined, unknown> {
    override [Symbol.iterator](): Performed<unknown> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const q = S.opSelf as SimpleQueue<unknown>;
      const timeout = S.opA as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = undefined;
      return q.performGet(timeout);
    }
  },
);
const PEEK_OP = blockingOperation<SimpleQueue<unknown>, number | undefined, undefined, unknown>('queue.peek()', (q, timeout) =>
  q.performPeek(timeout),
);
const FOR_EACH = blockingOperation<SimpleQueue<unknown>, (item: unknown) => unknown, undefined, void>(
  'queue.forEach()',
  function* (q, fn) {
    for (const it = q.iterate(); yield* it.performNext(undefined); ) {
      const r = fn(it.value);
      if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
    }
  },
);
const ITER_NEXT = blockingOperation<QueueIterator<unknown>, number | undefined, undefined, boolean>(
  'queue iterator next()',
  (it, timeout) => it.performNext(timeout),
);
const JOIN_OP = blockingOperation<Queue<unknown>, number | undefined, undefined, boolean>('queue.join()', (q, timeout) =>
  joinable.join(q, timeout),
);

/**
 * A queue of items between tasks, first in, first out, that can be joined: gevent's
 * `Queue` (its `JoinableQueue` before gevent 25) and the standard library's. Everything
 * of {@link SimpleQueue}, plus {@link Queue.taskDone} to mark an item processed and
 * {@link Queue.join} to wait until every item put has been.
 *
 * ```ts
 * const jobs = new Queue<string>(100);           // at most 100 items waiting
 * spawn(function* () {
 *   for (const it = jobs.iterate(); yield* it.next(); ) {
 *     try {
 *       yield* fetchAndStore(it.value);
 *     } finally {
 *       jobs.taskDone();
 *     }
 *   }
 * });
 * yield* jobs.put('https://example.com');       // waits while 100 items are queued
 * yield* jobs.join();                           // until every item is done
 * jobs.shutdown();                              // the worker's loop ends
 * ```
 *
 * @typeParam T - the items.
 */
export class Queue<T = unknown> extends SimpleQueue<T> {
  /** Items accepted and not yet marked done with {@link Queue.taskDone}. */
  get unfinishedTasks(): number {
    return joinable.unfinished(this);
  }

  /**
   * Mark one item taken with `get` as processed. When every item put has been marked,
   * tasks waiting in {@link Queue.join} resume. Raises {@link TaskDoneError} if called
   * more times than items were put. Works from anywhere.
   */
  taskDone(): void {
    joinable.taskDone(this);
  }

  /**
   * Wait until every item put into the queue has been marked done with
   * {@link Queue.taskDone}: `yield* queue.join()`. Evaluates to true, or to false if
   * `timeout` (ms) passed first.
   */
  join(timeout?: number): SwitchOp<boolean> {
    if (timeout !== undefined) checkTimeout(timeout, 'queue.join()');
    return lazy(JOIN_OP, this as Queue<unknown>, timeout, undefined);
  }

  /**
   * From async code: resolves with true when every item put has been marked done, or
   * with false after `timeout` ms; rejects with the signal's reason if `signal` aborts.
   */
  joinAsync(options?: AsyncWaitOptions): Promise<boolean> {
    return joinable.joinAsync(this, options);
  }
}

/**
 * gevent's `JoinableQueue`: since gevent 25 every {@link Queue} is joinable, and this is
 * the same class under its old name.
 */
export const JoinableQueue = Queue;
/** @see {@link Queue} */
export type JoinableQueue<T = unknown> = Queue<T>;

/**
 * A queue that returns the most recently added item first (a stack): gevent's
 * `LifoQueue`. Otherwise the same as {@link Queue}, joinable and with shutdown.
 *
 * ```ts
 * const undo = new LifoQueue<Edit>();
 * undo.putNowait(a);
 * undo.putNowait(b);
 * undo.getNowait(); // b
 * ```
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @see {@link SimpleQueue} for `maxsize`, `items` and the options (the last item comes out first). */
  constructor(options?: QueueOptions<T>);
  constructor(maxsize?: number | null, items?: Iterable<T>);
  constructor(maxsizeOrOptions?: number | null | QueueOptions<T>, items?: Iterable<T>) {
    const options = isQueueOptions<T>(maxsizeOrOptions) ? maxsizeOrOptions : { maxsize: maxsizeOrOptions, items };
    super(options.maxsize);
    useStore(this, new Ring<T>(true), options.items, true);
  }
}

/**
 * A queue that returns its lowest item first: gevent's `PriorityQueue`. Items are
 * ordered by the comparator given to the constructor (by default numbers, strings or
 * bigints in their natural order); items that tie come out in the order they were put.
 * Otherwise the same as {@link Queue}, joinable and with shutdown.
 *
 * ```ts
 * const jobs = new PriorityQueue<Job>((a, b) => a.priority - b.priority);
 * yield* jobs.put({ priority: 2, name: 'later' });
 * yield* jobs.put({ priority: 1, name: 'first' });
 * (yield* jobs.get()).name; // 'first'
 * ```
 *
 * Coming from gevent: Python compares tuples like `(priority, data)` field by field;
 * here give a comparator instead, and equal priorities keep their insertion order.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  /**
   * @param compare - negative when `a` comes out before `b` (see {@link Comparator}).
   * @param maxsize - as for {@link Queue}.
   * @param items - items to start with.
   */
  constructor(compare: Comparator<T>, maxsize?: number | null, items?: Iterable<T>);
  /** With the natural order of numbers, strings or bigints. */
  constructor(maxsize?: number | null, items?: Iterable<T>);
  /** With options: `new PriorityQueue({ compare, maxsize, items })`. */
  constructor(options: QueueOptions<T> & { compare?: Comparator<T> });
  constructor(
    compareOrMaxsize?: Comparator<T> | number | null | (QueueOptions<T> & { compare?: Comparator<T> }),
    maxsizeOrItems?: number | null | Iterable<T>,
    items?: Iterable<T>,
  ) {
    if (typeof compareOrMaxsize === 'function') {
      super(maxsizeOrItems as number | null | undefined);
      useStore(this, new PriorityHeap<T>(compareOrMaxsize), items, true);
    } else if (isQueueOptions<T>(compareOrMaxsize)) {
      super(compareOrMaxsize.maxsize);
      const compare = (compareOrMaxsize as { compare?: Comparator<T> }).compare ?? naturalOrder;
      useStore(this, new PriorityHeap<T>(compare), compareOrMaxsize.items, true);
    } else {
      super(compareOrMaxsize);
      useStore(this, new PriorityHeap<T>(naturalOrder), maxsizeOrItems as Iterable<T> | undefined, true);
    }
  }
}
