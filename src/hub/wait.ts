/**
 * Waiting for several things at once: `iwait`, `wait`, `joinall`, `killall`.
 *
 * @module
 */
import type { ErrorClass, GreenletBody } from '../core/greenlet.js';
import { immediate, type SwitchOp } from '../core/switcher.js';
import { currentTask, park, wake, PARKED, SCHED, WAIT, type Parking, type Schedulable } from './hub.js';
import { awaitEnds, type Task } from './task.js';
import { now } from './timers.js';

/**
 * Anything `iwait` and `wait` can wait for: tasks, `Event`, `AsyncResult`. `rawlink`
 * calls the callback (from the hub, at most once) when the object becomes ready, or
 * soon if it already is.
 */
export interface Waitable {
  ready(): boolean;
  rawlink(callback: (waitable: this) => void): void;
  unlink(callback: (waitable: this) => void): void;
}

/** Options of the waiting functions. */
export interface WaitOptions {
  /** Give up after this many milliseconds. */
  timeout?: number;
  /** Stop after this many objects are ready. */
  count?: number;
}

/**
 * The objects given to {@link iwait}, one at a time as they become ready:
 * `for (let x; (x = yield* it.next()) !== undefined; ) { ... }`.
 */
export class WaitIterator<T extends Waitable> implements Parking, Disposable {
  readonly #pending = new Set<T>();
  readonly #ready: T[] = [];
  readonly #deadline: number;
  #left: number;
  #waiter: Schedulable | null = null;
  readonly #onReady = (w: T): void => {
    if (!this.#pending.delete(w)) return;
    const waiter = this.#waiter;
    if (waiter !== null && waiter[SCHED] === PARKED && waiter[WAIT] === this) {
      this.#waiter = null;
      this.#left--;
      wake(waiter, w);
    } else {
      this.#ready.push(w);
    }
  };

  constructor(objects: Iterable<T>, options: WaitOptions = {}) {
    this.#deadline = options.timeout === undefined ? Infinity : now() + options.timeout;
    for (const w of objects) {
      if (this.#pending.has(w)) continue;
      this.#pending.add(w);
    }
    this.#left = Math.min(options.count ?? Infinity, this.#pending.size);
    for (const w of [...this.#pending]) {
      if (w.ready()) {
        this.#pending.delete(w);
        this.#ready.push(w);
      } else {
        w.rawlink(this.#onReady);
      }
    }
  }

  /**
   * Evaluates to the next object that is ready (waiting for one if needed), or to
   * undefined when all requested objects were returned or the timeout passed.
   */
  next(): SwitchOp<T | undefined> {
    if (this.#left <= 0) {
      this.close();
      return immediate(undefined);
    }
    const first = this.#ready.shift();
    if (first !== undefined) {
      this.#left--;
      return immediate(first);
    }
    const remaining = this.#deadline - now();
    if (remaining <= 0 || this.#pending.size === 0) {
      this.close();
      return immediate(undefined);
    }
    const task = currentTask('iwait().next()');
    this.#waiter = task;
    return park(task, this, this.#deadline === Infinity ? undefined : remaining, undefined);
  }

  /** Stop waiting: unregister from the objects that are not ready. */
  close(): void {
    for (const w of this.#pending) w.unlink(this.#onReady);
    this.#pending.clear();
    this.#ready.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal */
  unpark(): void {
    this.#waiter = null;
  }

  toString(): string {
    return `iwait(${this.#pending.size} pending)`;
  }
}

/** Iterate over `objects` as they become ready (gevent's `iwait`). */
export function iwait<T extends Waitable>(objects: Iterable<T>, options?: WaitOptions): WaitIterator<T> {
  return new WaitIterator(objects, options);
}

/**
 * Wait until all `objects` (or `count` of them) are ready or the timeout passes;
 * evaluates to those that are ready, in the order they became so (gevent's `wait`).
 */
export function* wait<T extends Waitable>(objects: Iterable<T>, options?: WaitOptions): GreenletBody<T[]> {
  const it = iwait(objects, options);
  const done: T[] = [];
  try {
    for (let w: T | undefined; (w = yield* it.next()) !== undefined; ) done.push(w);
  } finally {
    it.close();
  }
  return done;
}

/**
 * Wait for tasks to end (all, or `count`, or until `timeout`); evaluates to those that
 * ended. With `raiseError`, raise the error of the first one that failed instead.
 */
export function* joinall<T extends Task>(
  tasks: Iterable<T>,
  options: WaitOptions & { raiseError?: boolean } = {},
): GreenletBody<T[]> {
  const it = iwait(tasks, options);
  const done: T[] = [];
  try {
    for (let t: T | undefined; (t = yield* it.next()) !== undefined; ) {
      if (options.raiseError === true && !t.successful()) throw t.exception;
      done.push(t);
    }
  } finally {
    it.close();
  }
  return done;
}

/**
 * Kill every task (see `Task.kill`) and, unless `block` is false, wait until they have
 * all ended (at most `timeout` ms). As with `Task.kill`, the wait does not take their
 * errors: one that a task raises as it unwinds is reported through the hub's reporter.
 */
export function* killall(
  tasks: Iterable<Task>,
  error?: Error | ErrorClass,
  options: { block?: boolean; timeout?: number } = {},
): GreenletBody<void> {
  const list = [...tasks];
  for (const t of list) t.kill(error, { block: false });
  if (options.block !== false) yield* awaitEnds(list, options.timeout);
}
