/**
 * `Pool`: a set of tasks with a bound on how many run at once (gevent.pool's `Pool`),
 * and `PoolFull`.
 *
 * How room is handed over. A task that wants a place when there is none parks in
 * `slotWaiters`, in arrival order. When a member leaves (it ends or is discarded), the
 * pool *reserves* the freed place for the first waiter and wakes it; the waiter, when it
 * runs, turns its reservation into a member. Nobody can take a reserved place in between,
 * so a woken waiter never has to check again, and a waiter killed after it was woken
 * still gets its place first (the hub raises the kill at its next blocking call).
 *
 * Invariants (true whenever no code of the pool is running):
 * - `size + reserved <= capacity`: the bound is never exceeded;
 * - `slotWaiters` is non-empty only when `freeCount() === 0` (a freed place goes to the
 *   first waiter at once);
 * - `availabilityWaiters` (in `waitAvailable`) is non-empty only when `freeCount() === 0`.
 *
 * Coming from gevent: the bound is `capacity` (`size` is the number of members, as for a
 * `Set`); `spawn`, `add` and `start` may block, so they are switch operations
 * (`yield* pool.spawn(fn)`); `spawnNowait` is their non-blocking form for plain code;
 * `PoolFull` extends `Error` (gevent's derives from `queue.Full`).
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, wake, type Schedulable } from '../hub/hub.js';
import { Task } from '../hub/task.js';
import { ADMIT, TaskSet, WaitList, type OperationFunction, type TaskFunction } from './group.js';

/**
 * Raised by `pool.add()` / `pool.start()` with `{ blocking: false }` when the pool is
 * full, or when their `timeout` passes before a place frees up, and by
 * `pool.spawnNowait()` when the pool is full.
 */
export class PoolFull extends Error {
  static {
    this.prototype.name = 'PoolFull';
  }
}

/** Options of `pool.add()` and `pool.start()`. */
export interface PoolAddOptions {
  /** Wait for a place (the default); with false, raise `PoolFull` at once if there is none. */
  blocking?: boolean;
  /** Wait at most this many milliseconds, then raise `PoolFull`. */
  timeout?: number;
}

/**
 * A group of tasks of which at most `capacity` run at once: gevent's `pool.Pool`.
 * `spawn` waits while the pool is full; `map`, `imap` and `imapUnordered` never run
 * more than `capacity` tasks at once.
 *
 * ```ts
 * const pool = new Pool(10);               // at most 10 downloads at a time
 * for (const url of urls) yield* pool.spawn(download, url);
 * yield* pool.join();
 * const sizes = yield* pool.map(fetchSize, urls);
 * ```
 */
export class Pool extends TaskSet {
  /** The most tasks the pool runs at once (gevent's `pool.size`); `Infinity` for none. */
  readonly capacity: number;
  /** Places freed for woken waiters that have not taken them yet. */
  #reserved = 0;
  readonly #slotWaiters = new WaitList(() => `${this.toString()}: a free place`);
  readonly #availabilityWaiters = new WaitList(() => `${this.toString()}.waitAvailable()`);

  /**
   * @param size - the bound: a non-negative integer, or `Infinity` (the default) for a
   *   pool that only tracks its tasks. A pool of 0 never has room; it is only useful
   *   with `waitAvailable(timeout)` and `freeCount()`.
   */
  constructor(size: number = Infinity) {
    super();
    if (!(size === Infinity || (Number.isInteger(size) && size >= 0))) {
      throw new RangeError(`a Pool's size must be a non-negative integer or Infinity, not ${String(size)}`);
    }
    this.capacity = size;
  }

  /** How many more tasks can join now without waiting (gevent's `free_count()`). */
  freeCount(): number {
    return Math.max(0, this.capacity - this.size - this.#reserved);
  }

  /** Whether a task would have to wait for a place. */
  full(): boolean {
    return this.freeCount() <= 0;
  }

  /** Tasks parked in `join`, `spawn`, `add`, `start` and `waitAvailable`. */
  override get waiting(): number {
    return super.waiting + this.#slotWaiters.length + this.#availabilityWaiters.length;
  }

  /**
   * Track `task` (usually not started yet; see {@link Pool.start}), waiting for a place
   * if the pool is full. With `{ blocking: false }` raise {@link PoolFull} at once
   * instead of waiting; with `{ timeout }` raise it when the time is up. A task already
   * in the pool, or that has ended, is not added again.
   *
   * ```ts
   * const t = new Task(work);
   * yield* pool.add(t, { timeout: 100 });   // PoolFull after 100 ms without room
   * t.start();
   * ```
   *
   * Careful: a task that already runs may end, or run on a while, as you wait to add it,
   * so the pool does not bound it meanwhile.
   */
  add(task: Task, options: PoolAddOptions = {}): SwitchOp<void> {
    return lazy(POOL_ADD, this, task, options);
  }

  /** @internal Performs {@link Pool.add}. */
  performAdd(task: Task, options: PoolAddOptions): Performed<void> {
    if (task.ready() || this.has(task)) return immediate(undefined);
    if (this.freeCount() > 0) {
      this.track(task);
      return immediate(undefined);
    }
    if (options.blocking === false) throw this.#full('add');
    const waiter = currentTask('pool.add()');
    return this.#addWhenFree(waiter, task, options.timeout);
  }

  *#addWhenFree(waiter: Schedulable, task: Task, timeout: number | undefined): GreenletBody<void> {
    yield* this.#slotWaiters.park(waiter, timeout, timeout === undefined ? undefined : this.#full('add', timeout), true);
    // Woken with a reserved place.
    this.#reserved--;
    if (task.ready() || this.has(task)) this.released();
    else this.track(task);
  }

  /** {@link Pool.add} the task (same options), then start it; evaluates to the task. */
  start<T extends Task>(task: T, options: PoolAddOptions = {}): SwitchOp<T> {
    return lazy(POOL_START, this, task, options) as SwitchOp<T>;
  }

  /** @internal Performs {@link Pool.start}. */
  *performStart<T extends Task>(task: T, options: PoolAddOptions): GreenletBody<T> {
    yield* this.performAdd(task, options);
    return task.start();
  }

  /**
   * Create a task running `fn(...args)` and start it in the pool, waiting while the
   * pool is full: `const t = yield* pool.spawn(fn, x)`. Waiters get places in the order
   * they asked for them.
   */
  spawn<A extends unknown[], R>(fn: OperationFunction<A, R>, ...args: A): SwitchOp<Task<R, A>>;
  spawn<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): SwitchOp<Task<R, A>>;
  spawn<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): SwitchOp<Task<R, A>> {
    return lazy(POOL_SPAWN, this, fn as TaskFunction<unknown[], unknown>, args) as SwitchOp<Task<R, A>>;
  }

  /** @internal Performs {@link Pool.spawn}. */
  performSpawn<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): Performed<Task<R, A>> {
    if (this.freeCount() > 0) return immediate(this.#spawnMember(fn, args));
    const waiter = currentTask('pool.spawn()');
    return this.#spawnWhenFree(waiter, fn, args);
  }

  *#spawnWhenFree<A extends unknown[], R>(waiter: Schedulable, fn: TaskFunction<A, R>, args: A): GreenletBody<Task<R, A>> {
    yield* this.#slotWaiters.park(waiter);
    this.#reserved--;
    try {
      return this.#spawnMember(fn, args);
    } catch (error) {
      this.released(); // the place goes to the next waiter
      throw error;
    }
  }

  /**
   * Like {@link Pool.spawn} without waiting: raise {@link PoolFull} if the pool is full.
   * Works from plain code (callbacks, the main greenlet).
   */
  spawnNowait<A extends unknown[], R>(fn: OperationFunction<A, R>, ...args: A): Task<R, A>;
  spawnNowait<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R, A>;
  spawnNowait<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R, A> {
    if (this.freeCount() <= 0) throw this.#full('spawnNowait');
    return this.#spawnMember(fn, args);
  }

  #spawnMember<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): Task<R, A> {
    const task = new Task<R, A>(fn, ...args);
    this.track(task);
    return task.start();
  }

  /**
   * Wait until a task can join without waiting; evaluates to how many can when the
   * caller resumes (`freeCount()`, as gevent's does), so 0 if `timeout` ms passed first,
   * or if tasks woken before it took the places. Does not reserve anything.
   */
  /** @internal Performs {@link TaskSet.waitAvailable}. */
  performWaitAvailable(timeout: number | undefined): Performed<number> {
    const free = this.freeCount();
    if (free > 0) return immediate(free);
    return this.#waitAvailableParked(currentTask('pool.waitAvailable()'), timeout);
  }

  *#waitAvailableParked(task: Schedulable, timeout: number | undefined): GreenletBody<number> {
    yield* this.#availabilityWaiters.park(task, timeout, 0);
    return this.freeCount();
  }

  /** @internal A member left: give the place to the first waiter. */
  protected override released(): void {
    while (this.#slotWaiters.length !== 0 && this.freeCount() > 0) {
      this.#reserved++;
      wake(this.#slotWaiters.shift() as Schedulable, undefined);
    }
    if (this.#availabilityWaiters.length !== 0 && this.freeCount() > 0) {
      this.#availabilityWaiters.wakeAll(this.freeCount());
    }
  }

  /** @internal */
  [ADMIT]<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): SwitchOp<Task<R, A>> {
    return this.performSpawn(fn, args);
  }

  /** @internal */
  protected spawnNow<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): Task<R, A> {
    return this.spawnNowait(fn, ...args);
  }

  #full(method: string, timeout?: number): PoolFull {
    const waited = timeout === undefined ? '' : ` after waiting ${timeout} ms`;
    return new PoolFull(
      `${this.toString()} is full${waited}: pool.${method}() found no free place. ` +
        'Wait for one with `yield* pool.spawn(...)` / `yield* pool.add(task)`, or check `pool.freeCount()` first',
    );
  }

  override toString(): string {
    const bound = this.capacity === Infinity ? '∞' : String(this.capacity);
    return `Pool(${this.size}/${bound} running${this.#reserved !== 0 ? `, ${this.#reserved} reserved` : ''})`;
  }
}

const POOL_ADD = blockingOperation<Pool, Task, PoolAddOptions, void>('pool.add()', (pool, task, options) =>
  pool.performAdd(task, options),
);
const POOL_START = blockingOperation<Pool, Task, PoolAddOptions, Task>('pool.start()', (pool, task, options) =>
  pool.performStart(task, options),
);
const POOL_SPAWN = blockingOperation<Pool, TaskFunction<unknown[], unknown>, unknown[], Task>('pool.spawn()', (pool, fn, args) =>
  pool.performSpawn(fn, args),
);
