/**
 * `Semaphore` and `BoundedSemaphore`: gevent's `gevent.lock.Semaphore` and
 * `BoundedSemaphore`, a counter of permits that tasks acquire and release.
 *
 * How it works. `counter` is the number of free permits. `acquire()` takes one at once if
 * there is one; otherwise the task joins the queue and parks. `release()` adds a permit and
 * serves the queue from its head: it hands the permit to the first queued acquirer
 * directly (the permit never goes back to the counter, the acquirer wakes with `true` and
 * need not check anything), so a task that arrives later cannot take the permit first. The
 * queue also holds tasks in `wait()` (woken, in their turn, while a permit is free, without
 * taking it) and rawlink callbacks (called in their turn while a permit is free).
 *
 * Invariants:
 * - `counter >= 0`;
 * - `counter > 0` implies no task is queued: a release with tasks queued serves them until
 *   the permit is taken, and an acquire that finds a free permit takes it. Hence FIFO: a
 *   newcomer only takes a permit nobody in the queue is waiting for;
 * - every task in the queue is PARKED on this semaphore (the semaphore is its Parking), and
 *   `waiting` counts them; a task woken with a permit owns it even if it is killed before
 *   it runs (the hub delivers the kill at its next blocking call), so no permit is lost.
 *
 * @module
 */
import { call, type CallResult, type Callable } from '../core/call.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, getHub, runRawlink, park, wake, type Parking, type Schedulable } from '../hub/hub.js';
import type { Waitable } from '../hub/wait.js';

type SemaphoreCallback = (semaphore: Semaphore) => void;

/** What a queued entry wants. */
const ACQUIRE = 0;
const WAIT = 1;
const LINK = 2;
/** A callback registered again while an earlier registration of it is queued (a Repeat). */
const REPEAT = 3;

/**
 * The key of a callback registered again while an earlier registration of it is queued:
 * gevent's list holds a callback once per registration, and a Map key only once.
 */
class Repeat {
  constructor(readonly callback: SemaphoreCallback) {}
}

/** How many Repeat keys a semaphore's queue holds; a semaphore that has none is not here. */
const repeats = new WeakMap<Semaphore, number>();

/**
 * A {@link BoundedSemaphore} (or `Lock`) was released more often than it was acquired:
 * gevent raises `ValueError("Semaphore released too many times")`. The release is refused
 * and the counter is unchanged. Usually an acquire and a release that do not pair up; use
 * `yield* sem.run(fn)`, which pairs them.
 */
export class OverReleaseError extends Error {
  static {
    this.prototype.name = 'OverReleaseError';
  }
}

/**
 * A counting semaphore: at most `value` tasks hold a permit at once. gevent's `Semaphore`.
 * Use it to bound concurrency (connections to a service, files open at once).
 *
 * The safe way to use it is {@link Semaphore.run}, gevent's `with sem:`: it acquires, runs
 * the function, and releases in a `finally`, also when the function raises or the task is
 * killed.
 *
 * ```ts
 * const slots = new Semaphore(3);
 * const body = yield* slots.run(fetchPage, url); // at most 3 fetches at a time
 *
 * // by hand:
 * if (yield* slots.acquire(100)) {   // false after 100 ms without a permit
 *   try { ... } finally { slots.release(); }
 * }
 * ```
 *
 * Waiters are served in the order they arrived, and a release hands its permit straight to
 * the first of them: a task that arrives later never takes it first. A `Semaphore` does not
 * track who holds a permit: any task or plain code may release, and releasing more than
 * was acquired adds permits (deliberate, e.g. to model new resources). If that would be a
 * bug, use {@link BoundedSemaphore}, which refuses it.
 *
 * `release()`, `tryAcquire()`, `locked()` and `counter` work from anywhere; `acquire()`,
 * `wait()` and `run()` block, so they run inside a task. A `Semaphore` is a
 * {@link Waitable} (ready when a permit is free), so `iwait` and `wait` accept it.
 *
 * Coming from gevent: `acquire(blocking=False)` is `tryAcquire()`, `acquire(timeout=t)` is
 * `acquire(t)` in milliseconds, `with sem:` is `yield* sem.run(fn)`. gevent lets a task that
 * arrives after a release take the freed permit before the waiters wake; here the permit
 * goes to the first waiter.
 */
export class Semaphore implements Waitable, Parking {
  #counter: number;
  /** Queued tasks (ACQUIRE or WAIT) and callbacks (LINK), in arrival order; null until needed. */
  #queue: Map<Schedulable | SemaphoreCallback | Repeat, number> | null = null;
  #waiting = 0;
  #flushScheduled = false;

  /**
   * @param value - the number of permits, a non-negative integer (default 1). With 0, every
   *   acquire blocks until someone releases.
   */
  constructor(value = 1) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`a semaphore's initial value must be an integer >= 0, not ${String(value)}`);
    }
    this.#counter = value;
  }

  /** The number of free permits: how many acquires would succeed now without blocking. */
  get counter(): number {
    return this.#counter;
  }

  /** How many tasks are queued in {@link Semaphore.acquire} or {@link Semaphore.wait}. */
  get waiting(): number {
    return this.#waiting;
  }

  /** How many tasks and callbacks are queued (gevent's `linkcount()`). */
  linkCount(): number {
    return this.#queue === null ? 0 : this.#queue.size;
  }

  /** Whether an acquire would block now (no free permit). */
  locked(): boolean {
    return this.#counter <= 0;
  }

  /** Whether a permit is free: the opposite of {@link Semaphore.locked}, what `iwait` asks. */
  ready(): boolean {
    return this.#counter > 0;
  }

  /**
   * Take a permit, waiting for one if needed, at most `timeout` milliseconds if given.
   * Evaluates to `true` once the task holds a permit, `false` if the time ran out (then it
   * holds none). Inside a task: `const ok = yield* sem.acquire(50)`.
   *
   * A kill or a `Timeout` that strikes while the task waits leaves the queue cleanly, without a
   * permit. If the permit was already handed over, the task keeps it and the kill is raised at
   * its next blocking call, so pair every acquire with a release in a `finally` (or use
   * {@link Semaphore.run}).
   */
  acquire(timeout?: number): SwitchOp<boolean> {
    return lazy(SEM_ACQUIRE, this, timeout, undefined);
  }

  /** @internal Performs {@link Semaphore.acquire}. */
  performAcquire(timeout: number | undefined): Performed<boolean> {
    const task = currentTask(`${this.#operand()}.acquire()`);
    if (this.#counter > 0) {
      this.#counter--;
      return immediate(true);
    }
    this.#enqueue(task, ACQUIRE);
    return park(task, this, timeout, false);
  }

  /**
   * Take a permit if one is free, without blocking: gevent's `acquire(blocking=False)`.
   * Returns whether it took one. Works from anywhere.
   */
  tryAcquire(): boolean {
    if (this.#counter > 0) {
      this.#counter--;
      return true;
    }
    return false;
  }

  /**
   * Give a permit back. If tasks are queued, the first acquirer receives it directly and
   * wakes up (in the hub's current pass). Works from anywhere; never blocks.
   */
  release(): void {
    this.#counter++;
    if (this.#queue !== null && this.#queue.size !== 0) this.#serve();
  }

  /**
   * Acquire a permit, run `fn(...args)` in the current task, and release the permit when it
   * ends, however it ends (a value, an error, a kill): gevent's `with sem:`. Evaluates to
   * what `fn` returns. `fn` may be a generator function (it may block) or a plain function.
   *
   * ```ts
   * const rows = yield* dbSlots.run(function* () {
   *   return yield* query('SELECT 1');
   * });
   * ```
   *
   * To bound the wait, wrap it: `yield* withTimeout(100, () => sem.run(fn))`.
   */
  run<F extends Callable>(fn: F, ...args: Parameters<F>): SwitchOp<CallResult<F>> {
    return lazy(SEM_RUN, this, fn, args) as SwitchOp<CallResult<F>>;
  }

  /**
   * Wait until a permit is free, without taking it, at most `timeout` ms if given.
   * Evaluates to the number of free permits when the task resumes, as gevent's does: 0
   * if the time ran out, and 0 if acquirers queued behind it took the permits at the
   * release, before it ran (gevent's waiter runs first and sees them free).
   */
  wait(timeout?: number): SwitchOp<number> {
    return lazy(SEM_WAIT, this, timeout, undefined);
  }

  /** @internal Performs {@link Semaphore.wait}. */
  performWait(timeout: number | undefined): Performed<number> {
    const task = currentTask(`${this.#operand()}.wait()`);
    if (this.#counter > 0) return immediate(this.#counter);
    this.#enqueue(task, WAIT);
    return this.#waitParked(task, timeout);
  }

  *#waitParked(task: Schedulable, timeout: number | undefined): GreenletBody<number> {
    yield* park(task, this, timeout, 0);
    return this.#counter;
  }

  /**
   * Call `callback(semaphore)` once, in its turn in the queue, when a permit is free (from a
   * microtask if one is free now). It runs inside `release()`, so it must neither block nor
   * throw (an error it throws goes to the hub's reporter). A callback registered twice is
   * called twice (gevent calls it once per notification: docs/coming-from-gevent.md). `iwait` and `wait` use this.
   */
  rawlink(callback: (semaphore: this) => void): void {
    if (typeof callback !== 'function') {
      throw new TypeError(`${this.#kind()}.rawlink() takes a function, not ${callback === null ? 'null' : typeof callback}`);
    }
    const queue = (this.#queue ??= new Map());
    if (queue.has(callback)) {
      queue.set(new Repeat(callback as SemaphoreCallback), REPEAT);
      repeats.set(this, (repeats.get(this) ?? 0) + 1);
    } else {
      queue.set(callback as SemaphoreCallback, LINK);
    }
    if (this.#counter > 0) this.#scheduleFlush();
  }

  /**
   * Forget a callback given to {@link Semaphore.rawlink}: its first registration not
   * called yet (one registered twice stays registered once, as gevent's `list.remove`);
   * does nothing if it is not registered.
   */
  unlink(callback: (semaphore: this) => void): void {
    const queue = this.#queue;
    if (queue === null || typeof callback !== 'function') return;
    if (!repeats.has(this)) {
      queue.delete(callback as SemaphoreCallback);
      return;
    }
    for (const [key, kind] of queue) {
      if (key === callback || (kind === REPEAT && (key as Repeat).callback === callback)) {
        queue.delete(key);
        if (kind === REPEAT) this.#dropRepeat();
        return;
      }
    }
  }

  /** A Repeat key left the queue. */
  #dropRepeat(): void {
    const count = (repeats.get(this) as number) - 1;
    if (count === 0) repeats.delete(this);
    else repeats.set(this, count);
  }

  /** @internal Parking: a queued task leaves the queue (killed or timed out). */
  unpark(task: Schedulable): void {
    if (this.#queue?.delete(task) === true) this.#waiting--;
  }

  /** What the semaphore is, for reports and debugging: `Semaphore(counter=0, 3 waiting)`. */
  toString(): string {
    return `${this.#kind()}(counter=${this.#counter}, ${this.#waiting} waiting)`;
  }

  #kind(): string {
    return this.constructor.name || 'Semaphore';
  }

  /** @internal How messages name an instance: `semaphore`, `lock`, `boundedSemaphore`. */
  get operand(): string {
    return this.#operand();
  }

  #operand(): string {
    const kind = this.#kind();
    return kind.charAt(0).toLowerCase() + kind.slice(1);
  }

  #enqueue(task: Schedulable, kind: number): void {
    (this.#queue ??= new Map()).set(task, kind);
    this.#waiting++;
  }

  /**
   * Serve the queue from its head while a permit is free. Entries that arrive while it runs
   * (a callback linking again) wait for the next release, so this always ends.
   */
  #serve(): void {
    const queue = this.#queue as Map<Schedulable | SemaphoreCallback | Repeat, number>;
    let budget = queue.size;
    for (const [link, kind] of queue) {
      if (this.#counter <= 0 || budget-- === 0) break;
      queue.delete(link);
      if (kind >= LINK) {
        let callback = link as SemaphoreCallback;
        if (kind === REPEAT) {
          callback = (link as Repeat).callback;
          this.#dropRepeat();
        }
        runRawlink(callback, this, () => `a rawlink callback of ${String(this)}`);
        continue;
      }
      this.#waiting--;
      if (kind === ACQUIRE) {
        this.#counter--;
        // Every queued task is parked here; should one not be, the permit stays free.
        if (!wake(link as Schedulable, true)) this.#counter++;
      } else {
        wake(link as Schedulable, this.#counter);
      }
    }
    if (this.#counter > 0 && queue.size !== 0) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    getHub().soon(() => {
      this.#flushScheduled = false;
      if (this.#counter > 0 && this.#queue !== null && this.#queue.size !== 0) this.#serve();
    });
  }
}

const SEM_ACQUIRE = blockingOperation<Semaphore, number | undefined, undefined, boolean>(
  'semaphore.acquire()',
  (sem, timeout) => sem.performAcquire(timeout),
  (sem) => `${sem.operand}.acquire()`,
);
const SEM_RUN = blockingOperation<Semaphore, Callable, unknown[], unknown>('semaphore.run()', holding, (sem) => `${sem.operand}.run()`);
const SEM_WAIT = blockingOperation<Semaphore, number | undefined, undefined, number>(
  'semaphore.wait()',
  (sem, timeout) => sem.performWait(timeout),
  (sem) => `${sem.operand}.wait()`,
);

/**
 * A {@link Semaphore} that refuses to be released past its initial value: releasing more
 * than was acquired throws an {@link OverReleaseError} (gevent raises `ValueError`). Prefer
 * it to `Semaphore` unless extra releases are deliberate: they are almost always a bug.
 *
 * ```ts
 * const pool = new BoundedSemaphore(2);
 * pool.release(); // throws OverReleaseError: nothing was acquired
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /** The number of permits it was created with, which the counter never exceeds. */
  readonly initialValue: number;

  constructor(value = 1) {
    super(value);
    this.initialValue = value;
  }

  /** Like {@link Semaphore.release}, but throws {@link OverReleaseError} if every permit is already free. */
  override release(): void {
    if (this.counter >= this.initialValue) throw new OverReleaseError(this.overReleaseMessage());
    super.release();
  }

  /** @internal What the OverReleaseError says. */
  protected overReleaseMessage(): string {
    return (
      `${this.constructor.name || 'BoundedSemaphore'} released too many times: all ${this.initialValue} ` +
      'of its permits are already free, so this release() matches no acquire(). Release only what ' +
      'you acquired; `yield* sem.run(fn)` pairs them for you (use a Semaphore if extra releases are deliberate)'
    );
  }
}

/** Performs `run()` of a lock or semaphore: acquire, call, release however it ends. */
export function* holding(lock: { acquire(): SwitchOp<boolean>; release(): void }, fn: Callable, args: unknown[]): GreenletBody<unknown> {
  yield* lock.acquire();
  try {
    return yield* call(fn, ...(args as never[]));
  } finally {
    lock.release();
  }
}
