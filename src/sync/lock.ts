/**
 * `Lock` and `RLock`: a mutex (gevent's `gevent.thread.LockType`, a `BoundedSemaphore(1)`)
 * and a re-entrant mutex owned by the task that acquired it (gevent's `gevent.lock.RLock`).
 *
 * How `RLock` works. It records its owner (the greenlet that acquired it) and a count of
 * nested acquires. The owner acquiring again only counts up; anyone else joins a FIFO queue
 * and parks. When the owner's count drops to zero, `release()` hands the lock straight to
 * the first queued task: that task becomes the owner with count 1 before it even runs, and
 * wakes with `true`. A task that arrives later never takes the lock first.
 *
 * Invariants:
 * - `count === 0` exactly when `owner === null`;
 * - `owner === null` implies no task is queued (a release with tasks queued hands the lock over);
 * - every queued task is PARKED on this lock (the lock is its Parking), and `waiting` counts
 *   them; a task woken as the new owner owns the lock even if it is killed before it runs
 *   (the hub raises the kill at its next blocking call, inside its `finally`-protected section).
 *
 * @module
 */
import { call, type CallResult, type Callable } from '../core/call.js';
import type { Greenlet, GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { getCurrentGreenlet, getMainGreenlet, immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, park, wake, type Parking, type Schedulable } from '../hub/hub.js';
import { BoundedSemaphore, holding } from './semaphore.js';

/**
 * A mutex: one task at a time holds it. A {@link BoundedSemaphore} of one permit, like
 * gevent's `gevent.thread.LockType` and Python's `threading.Lock`: it is not owned (any
 * task may release it, as with Go's `sync.Mutex`) and not re-entrant (a task that acquires
 * it twice waits for itself forever; use {@link RLock} for that). Releasing it while it is
 * not locked throws an `OverReleaseError`.
 *
 * ```ts
 * const lock = new Lock();
 * yield* lock.run(function* () {   // gevent's `with lock:`; released however fn ends
 *   const balance = yield* readBalance();
 *   yield* writeBalance(balance + 10);
 * });
 * ```
 *
 * Waiters get the lock in the order they asked for it; see `Semaphore` for the
 * rest of the API (`acquire(timeout?)`, `tryAcquire()`, `release()`, `locked()`, `waiting`).
 */
export class Lock extends BoundedSemaphore {
  constructor() {
    super(1);
  }

  /** What the lock is, for reports and debugging: `Lock(locked, 2 waiting)`. */
  override toString(): string {
    return `Lock(${this.locked() ? 'locked' : 'unlocked'}, ${this.waiting} waiting)`;
  }

  /** @internal */
  protected override overReleaseMessage(): string {
    return (
      'Lock released while it is not locked: release() must follow a successful acquire(); ' +
      '`yield* lock.run(fn)` pairs them for you'
    );
  }
}

/**
 * A task tried to release an {@link RLock} it does not hold: another task owns it, or
 * nobody does. Python and gevent raise `RuntimeError("cannot release un-acquired lock")`.
 * The release is refused and the lock is unchanged.
 */
export class NotOwnerError extends Error {
  static {
    this.prototype.name = 'NotOwnerError';
  }
}

/**
 * A re-entrant mutex: gevent's `RLock` (Python's `threading.RLock`). The task that holds it
 * may acquire it again (each acquire must be matched by a release); only that task may
 * release it, and others wait until it has released as often as it acquired.
 *
 * ```ts
 * const lock = new RLock();
 * function* transfer(from: Account, to: Account, amount: number) {
 *   return yield* lock.run(function* () {
 *     yield* withdraw(from, amount);   // withdraw() may take `lock` again: no deadlock
 *     yield* deposit(to, amount);
 *   });
 * }
 * ```
 *
 * `acquire()` blocks, so it runs inside a task; `tryAcquire()`, `release()`, `locked()`,
 * `owner` and `count` work from anywhere (the main greenlet can hold an RLock too). A task
 * that ends while holding the lock keeps it forever, as in gevent: release in a `finally`,
 * or use {@link RLock.run}.
 *
 * Coming from gevent: `acquire(blocking=False)` is `tryAcquire()`, `acquire(timeout=t)` is
 * `acquire(t)` in milliseconds, `_is_owned()` is `owner === getcurrent()`, `with lock:` is
 * `yield* lock.run(fn)`; waiters are served in arrival order with a direct hand-off.
 */
export class RLock implements Parking {
  #owner: Greenlet | null = null;
  #count = 0;
  /** Queued tasks, in arrival order; null until one queues. */
  #queue: Set<Schedulable> | null = null;
  #waiting = 0;

  /** The greenlet (usually a task) that holds the lock, or null. */
  get owner(): Greenlet | null {
    return this.#owner;
  }

  /** How many times the owner has acquired the lock without releasing it; 0 when free. */
  get count(): number {
    return this.#count;
  }

  /** How many tasks are queued in {@link RLock.acquire}. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Whether some greenlet holds the lock. */
  locked(): boolean {
    return this.#count > 0;
  }

  /**
   * Take the lock, waiting for it if another task holds it, at most `timeout` ms if given.
   * Evaluates to `true` once the current task holds it (at once if it already did: the count
   * goes up), `false` if the time ran out. Inside a task: `yield* lock.acquire()`.
   */
  acquire(timeout?: number): SwitchOp<boolean> {
    return lazy(RLOCK_ACQUIRE, this, timeout, undefined);
  }

  /** @internal Performs {@link RLock.acquire}. */
  performAcquire(timeout: number | undefined): Performed<boolean> {
    const task = currentTask('rlock.acquire()');
    if (this.#owner === task) {
      this.#count++;
      return immediate(true);
    }
    if (this.#owner === null) {
      this.#owner = task;
      this.#count = 1;
      return immediate(true);
    }
    (this.#queue ??= new Set()).add(task);
    this.#waiting++;
    return park(task, this, timeout, false);
  }

  /**
   * Take the lock if it is free or already held by the current greenlet, without blocking.
   * Returns whether it did. Works from anywhere.
   */
  tryAcquire(): boolean {
    const me = getCurrentGreenlet();
    if (this.#owner === me) {
      this.#count++;
      return true;
    }
    if (this.#owner !== null) return false;
    this.#owner = me;
    this.#count = 1;
    return true;
  }

  /**
   * Release one level of the lock. Only the owner may release; when its count reaches 0 the
   * lock goes to the first queued task, or becomes free. Throws a {@link NotOwnerError} if
   * the current greenlet does not hold the lock.
   */
  release(): void {
    const me = getCurrentGreenlet();
    const owner = this.#owner;
    if (owner !== me) {
      throw new NotOwnerError(
        owner === null
          ? `cannot release an RLock that is not locked (released by ${who(me)}): release() must follow a ` +
              'successful acquire() in the same task; `yield* lock.run(fn)` pairs them for you'
          : `cannot release an RLock held by ${who(owner)}: ${who(me)} does not hold it, and only the ` +
              'owner may release an RLock (use a Lock or a Semaphore to signal between tasks)',
      );
    }
    if (--this.#count > 0) return;
    this.#owner = null;
    const queue = this.#queue;
    if (queue === null) return;
    for (const next of queue) {
      queue.delete(next);
      this.#waiting--;
      this.#owner = next;
      this.#count = 1;
      if (wake(next, true)) return;
      // Every queued task is parked here; should one not be, try the next.
      this.#owner = null;
      this.#count = 0;
    }
  }

  /**
   * Acquire the lock, run `fn(...args)` in the current task, and release it when `fn` ends,
   * however it ends: gevent's `with lock:`. Evaluates to what `fn` returns; `fn` may take the
   * lock again.
   */
  run<F extends Callable>(fn: F, ...args: Parameters<F>): SwitchOp<CallResult<F>> {
    return lazy(RLOCK_RUN, this, fn, args) as SwitchOp<CallResult<F>>;
  }

  /** @internal Parking: a queued task leaves the queue (killed or timed out). */
  unpark(task: Schedulable): void {
    if (this.#queue?.delete(task) === true) this.#waiting--;
  }

  /** What the lock is, for reports and debugging: `RLock(held 2x by worker-3, 1 waiting)`. */
  toString(): string {
    const held = this.#owner === null ? 'unlocked' : `held ${this.#count}x by ${who(this.#owner)}`;
    return `RLock(${held}, ${this.#waiting} waiting)`;
  }
}

function who(g: Greenlet): string {
  if (g === getMainGreenlet()) return 'the main greenlet';
  const name = (g as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : String(g);
}

const RLOCK_ACQUIRE = blockingOperation<RLock, number | undefined, undefined, boolean>('rlock.acquire()', (lock, timeout) =>
  lock.performAcquire(timeout),
);
const RLOCK_RUN = blockingOperation<RLock, Callable, unknown[], unknown>('rlock.run()', holding);
