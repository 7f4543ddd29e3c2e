/**
 * `AsyncResult`: gevent's `gevent.event.AsyncResult`, a cell that receives one value or
 * one error, and the tasks that wait for it.
 *
 * How it works. The result keeps the parked tasks in arrival order, and, like `Event`, the
 * rawlink callbacks in registration order (rawlinks.ts). `set(value)` or `setException(error)` stores the outcome and,
 * before it returns, hands it to every parked task in its wake value (a `get()` wakes with
 * the value or has the error raised at its wait; a `wait()` wakes with the value, or
 * `undefined` for an error); the callbacks are called soon after, from the hub, in the
 * order they were registered. Nothing is re-read when a task resumes: what it receives is
 * the outcome at the moment of `set`.
 *
 * As in gevent, the value and the error are two slots: once a value is set, it wins (a
 * later `setException` records the error in `exception` but `get()` still returns the
 * value and `successful()` stays true); setting either again replaces it.
 *
 * Invariants:
 * - while the result is ready, no task is parked on it;
 * - every task in `links` is PARKED on this result, mapped to what it asked for (GET or
 *   WAIT), and `waiting` counts them;
 * - `rawlinks` holds the rawlink callbacks not called yet, once per registration, or is
 *   null if none was ever registered.
 *
 * @module
 */
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import type { Waitable } from '../hub/wait.js';
import { Rawlinks } from './rawlinks.js';

/** What a parked task wants: get() or wait(). */
const GET = 0;
const WAIT = 1;

/** What {@link AsyncResult.setFrom} reads: a finished `Task`, or another `AsyncResult`. */
export interface ResultSource<T> {
  successful(): boolean;
  readonly value: T | undefined;
  readonly exception: unknown;
}

/**
 * A one-shot result that tasks can wait for: gevent's `AsyncResult`, a future. Whoever has
 * the outcome calls {@link AsyncResult.set} or {@link AsyncResult.setException} (from a
 * task, plain code, a callback); tasks get it with `yield* result.get()`, async code with
 * `await result.toPromise()`.
 *
 * ```ts
 * const reply = new AsyncResult<string>();
 * socket.once('data', (chunk) => reply.set(String(chunk)));   // plain callback
 * const text = yield* reply.get(1000);                          // in a task: value, or Timeout after 1 s
 * ```
 *
 * It is a {@link Waitable}: `iwait` and `wait` accept it.
 *
 * Coming from gevent: `set_exception` is `setException`, `get_nowait` is `getNowait`;
 * `get(block=False)` is `getNowait()`; `exc_info` and the future-style methods (`result`,
 * `done`, `cancel`) are left out; `setFrom(task)` replaces using the result itself as a
 * link callback (`task.link(result)`). As in gevent, a value once set wins over an error
 * set before or after it, and setting a result again replaces that slot for later readers
 * (tasks already woken keep what they received, and a promise from `toPromise()` keeps
 * the first outcome).
 *
 * @typeParam T - the value's type.
 */
export class AsyncResult<T = unknown> implements Waitable, Parking {
  #hasValue = false;
  #value: T | undefined = undefined;
  #hasError = false;
  #error: unknown = undefined;
  /** Parked tasks (GET or WAIT), in arrival order; null until needed. */
  #links: Map<Schedulable, number> | null = null;
  #waiting = 0;
  /** The rawlink callbacks (see rawlinks.ts); null until one is registered. */
  #rawlinks: Rawlinks<AsyncResult<T>> | null = null;

  /**
   * An AsyncResult that settles when `promise` does: with its value, or with its rejection
   * as the error. Lets a task wait for async code: `yield* AsyncResult.fromPromise(p).get()`.
   */
  static fromPromise<T>(promise: PromiseLike<T>): AsyncResult<T> {
    const result = new AsyncResult<T>();
    Promise.resolve(promise).then(
      (value) => result.set(value),
      (error: unknown) => result.setException(error),
    );
    return result;
  }

  /** Whether it holds a value or an error. */
  ready(): boolean {
    return this.#hasValue || this.#hasError;
  }

  /** Whether it holds a value (an error set as well does not matter: the value wins). */
  successful(): boolean {
    return this.#hasValue;
  }

  /** The value given to {@link AsyncResult.set}, or undefined. */
  get value(): T | undefined {
    return this.#value;
  }

  /** The error given to {@link AsyncResult.setException}, or undefined. */
  get exception(): unknown {
    return this.#error;
  }

  /** How many tasks are blocked in {@link AsyncResult.get} or {@link AsyncResult.wait}. */
  get waiting(): number {
    return this.#waiting;
  }

  /** How many tasks and callbacks wait for the result (gevent's `linkcount()`). */
  linkCount(): number {
    return this.#waiting + (this.#rawlinks === null ? 0 : this.#rawlinks.count);
  }

  /**
   * Store `value` and wake every waiting task: their `get()` and `wait()` evaluate to it,
   * and later calls return it without blocking. Works from anywhere; never blocks.
   */
  set(value: T): void {
    this.#hasValue = true;
    this.#value = value;
    if (this.#links !== null) this.#notify();
    if (this.#rawlinks !== null) this.#rawlinks.schedule();
  }

  /**
   * Store `error` and wake every waiting task: `get()` raises it (now and later), `wait()`
   * evaluates to undefined. Works from anywhere; never blocks. If a value was set
   * already, it still wins, as in gevent: `get()` returns it and only `exception` shows
   * the error.
   */
  setException(error: unknown): void {
    this.#hasError = true;
    this.#error = error;
    if (this.#links !== null) this.#notify();
    if (this.#rawlinks !== null) this.#rawlinks.schedule();
  }

  /**
   * Copy the outcome of a finished task (or another result): its value if it succeeded,
   * else its error. Link a task to a result with
   * `task.rawlink((t) => result.setFrom(t))`, gevent's `task.link(result)`.
   */
  setFrom(source: ResultSource<T>): void {
    if (source.successful()) this.set(source.value as T);
    else this.setException(source.exception);
  }

  /**
   * The value, waiting for it if needed; raises the stored error. With `timeout` (ms),
   * raises a `Timeout` if nothing was set by then. Inside a task:
   * `const v = yield* result.get(500)`.
   */
  get(timeout?: number): SwitchOp<T> {
    return lazy(RESULT_GET, this as AsyncResult<unknown>, timeout, undefined) as SwitchOp<T>;
  }

  /** @internal Performs {@link AsyncResult.get}. */
  performGet(timeout: number | undefined): Performed<T> {
    const task = currentTask('asyncResult.get()');
    if (this.#hasValue) return immediate(this.#value as T);
    if (this.#hasError) throw this.#error;
    this.#register(task, GET);
    if (timeout === undefined) return park(task, this);
    return park(task, this, timeout, new Timeout(timeout), true);
  }

  /**
   * The value or the stored error now, without blocking; raises a `Timeout` if nothing is
   * set yet (gevent's `get_nowait()`). Works from anywhere.
   */
  getNowait(): T {
    if (this.#hasValue) return this.#value as T;
    if (this.#hasError) throw this.#error;
    const timeout = new Timeout(0);
    timeout.message = 'AsyncResult.getNowait(): no value or error has been set yet; block with `yield* result.get()` in a task';
    throw timeout;
  }

  /**
   * Wait until a value or an error is set, at most `timeout` ms if given. Evaluates to the
   * value, or undefined if an error was set or the time ran out; never raises the stored
   * error. Inside a task: `yield* result.wait()`.
   */
  wait(timeout?: number): SwitchOp<T | undefined> {
    return lazy(RESULT_WAIT, this as AsyncResult<unknown>, timeout, undefined) as SwitchOp<T | undefined>;
  }

  /** @internal Performs {@link AsyncResult.wait}. */
  performWait(timeout: number | undefined): Performed<T | undefined> {
    const task = currentTask('asyncResult.wait()');
    if (this.ready()) return immediate(this.#value);
    this.#register(task, WAIT);
    return park(task, this, timeout, undefined);
  }

  /**
   * A promise of the outcome, for async code: resolves with the value or rejects with the
   * error (the first outcome set). It never settles if nothing is ever set.
   *
   * ```ts
   * const value = await result.toPromise();
   * ```
   */
  toPromise(): Promise<T> {
    if (this.#hasValue) return Promise.resolve(this.#value as T);
    if (this.#hasError) return Promise.reject(this.#error);
    return new Promise<T>((resolve, reject) => {
      this.rawlink((r) => {
        if (r.successful()) resolve(r.value as T);
        else reject(r.exception);
      });
    });
  }

  /**
   * Call `callback(result)` once, when a value or an error is set (or soon, if it is set
   * already): from the hub, after `set()` has returned, so it must neither block nor throw
   * (an error it throws goes to the hub's reporter). Callbacks are called in the order they
   * were registered; one that unlinks a later one stops it. A callback registered twice is
   * called twice (gevent calls it once per notification: docs/coming-from-gevent.md). `iwait` and `wait` use this.
   */
  rawlink(callback: (result: this) => void): void {
    if (typeof callback !== 'function') {
      throw new TypeError(
        `AsyncResult.rawlink() takes a function, not ${callback === null ? 'null' : typeof callback}`,
      );
    }
    (this.#rawlinks ??= new Rawlinks<AsyncResult<T>>(this)).add(callback as (result: AsyncResult<T>) => void);
  }

  /**
   * Forget a callback given to {@link AsyncResult.rawlink}: its first registration not
   * called yet (one registered twice stays registered once, as gevent's `list.remove`);
   * does nothing if it is not registered.
   */
  unlink(callback: (result: this) => void): void {
    if (typeof callback === 'function') this.#rawlinks?.remove(callback as (result: AsyncResult<T>) => void);
  }

  /** @internal Parking: a parked task leaves the wait (killed or timed out). */
  unpark(task: Schedulable): void {
    if (this.#links?.delete(task) === true) this.#waiting--;
  }

  /** What the result is, for reports and debugging: `AsyncResult(unset, 1 waiting)`. */
  toString(): string {
    const state = this.#hasValue ? 'value' : this.#hasError ? 'exception' : 'unset';
    return `AsyncResult(${state}, ${this.#waiting} waiting)`;
  }

  #register(task: Schedulable, kind: number): void {
    (this.#links ??= new Map()).set(task, kind);
    this.#waiting++;
  }

  /** Hand the outcome to every parked task now. */
  #notify(): void {
    const links = this.#links as Map<Schedulable, number>;
    this.#links = null;
    this.#waiting = 0;
    for (const [task, kind] of links) {
      if (kind === WAIT) wake(task, this.#value);
      else if (this.#hasValue) wake(task, this.#value);
      else wakeThrow(task, this.#error);
    }
  }
}

const RESULT_GET = blockingOperation<AsyncResult<unknown>, number | undefined, undefined, unknown>('asyncResult.get()', (r, timeout) =>
  r.performGet(timeout),
);
const RESULT_WAIT = blockingOperation<AsyncResult<unknown>, number | undefined, undefined, unknown>('asyncResult.wait()', (r, timeout) =>
  r.performWait(timeout),
);
