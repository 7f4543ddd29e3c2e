/**
 * Waiting for several things at once: `iwait`, `wait`, `joinall`, `killall`.
 *
 * @module
 */
import type { ErrorClass, GreenletBody } from '../core/greenlet.js';
import { Operation, lazy } from '../core/operation.js';
import { immediate, isGenerator, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, park, wake, PARKED, schedOf, WAIT, type Parking, type Schedulable } from './hub.js';
import { awaitEnds, killOptions, type KillOptions, type Task } from './task.js';
import { Timeout } from './timeout.js';
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
 * The objects given to {@link iwait}, one at a time as they become ready. Inside a task,
 * `yield* it.next()` waits for the next one and evaluates to `true` with it in
 * `it.value`, or to `false` once all requested objects were handed out or the timeout
 * passed (the same protocol as a channel's or a queue's `iterate()`):
 *
 * ```ts
 * for (const it = iwait(tasks); yield* it.next(); ) {
 *   console.log(it.value.name, 'ended');
 * }
 * ```
 *
 * Declare it with `using` (gevent's `with iwait(...) as it:`), or call `close()`, to
 * unregister from the objects not handed out when you leave the loop early.
 */
export class WaitIterator<T extends Waitable> implements Parking, Disposable {
  /** The object the last successful `next()` handed out (undefined before, and at the end). */
  value: T = undefined as unknown as T;
  readonly #pending = new Set<T>();
  readonly #ready: T[] = [];
  readonly #deadline: number;
  #left: number;
  #waiter: Schedulable | null = null;
  readonly #onReady = (w: T): void => {
    if (!this.#pending.delete(w)) return;
    const waiter = this.#waiter;
    if (waiter !== null && schedOf(waiter) === PARKED && waiter[WAIT] === this) {
      this.#waiter = null;
      this.#left--;
      this.value = w;
      wake(waiter, true);
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
   * Wait for the next object that is ready: evaluates to `true` with it in
   * {@link WaitIterator.value}, or to `false` when all requested objects were handed
   * out or the timeout passed.
   */
  next(): SwitchOp<boolean> {
    return lazy(NEXT_READY, this as unknown as WaitIterator<Waitable>, undefined, undefined);
  }

  /** @internal Performs {@link WaitIterator.next}. */
  performNext(): Performed<boolean> {
    this.value = undefined as unknown as T;
    if (this.#left <= 0) {
      this.close();
      return immediate(false);
    }
    const first = this.#ready.shift();
    if (first !== undefined) {
      this.#left--;
      this.value = first;
      return immediate(true);
    }
    const remaining = this.#deadline - now();
    if (remaining <= 0 || this.#pending.size === 0) {
      this.close();
      return immediate(false);
    }
    const task = currentTask('iwait().next()');
    this.#waiter = task;
    return park(task, this, this.#deadline === Infinity ? undefined : remaining, false);
  }

  /**
   * Call `fn(object)` for each object as it becomes ready, until all requested were
   * handed out or the timeout passed; then unregister from the rest. If `fn` is a
   * generator function, each call runs to its end before the next object is taken.
   *
   * ```ts
   * yield* iwait(tasks).forEach((t) => console.log(t.name, 'ended'));
   * ```
   */
  forEach(fn: (object: T) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH_READY, this as unknown as WaitIterator<Waitable>, fn as (object: Waitable) => unknown, undefined);
  }

  /** @internal Performs {@link WaitIterator.forEach}. */
  *performForEach(fn: (object: T) => unknown): GreenletBody<void> {
    try {
      while (yield* this.performNext()) {
        const r = fn(this.value);
        if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
      }
    } finally {
      this.close();
    }
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

/**
 * Iterate over `objects` as they become ready (gevent's `iwait`):
 * `for (const it = iwait(objects); yield* it.next(); ) use(it.value)`. See
 * {@link WaitIterator}.
 */
export function iwait<T extends Waitable>(objects: Iterable<T>, options?: WaitOptions): WaitIterator<T> {
  return new WaitIterator(objects, options);
}

/**
 * Wait until all `objects` (or `count` of them) are ready or the timeout passes;
 * evaluates to those that are ready, in the order they became so (gevent's `wait`).
 */
export function wait<T extends Waitable>(objects: Iterable<T>, options?: WaitOptions): SwitchOp<T[]> {
  return lazy(WAIT_ALL, objects, options, undefined) as SwitchOp<T[]>;
}

const NEXT_READY = blockingOperation<WaitIterator<Waitable>, undefined, undefined, boolean>('iwait().next()', (it) =>
  it.performNext(),
);

const FOR_EACH_READY = blockingOperation<WaitIterator<Waitable>, (object: Waitable) => unknown, undefined, void>(
  'iwait().forEach()',
  (it, fn) => it.performForEach(fn),
);

const WAIT_ALL = blockingOperation<Iterable<Waitable>, WaitOptions | undefined, undefined, Waitable[]>('wait()', waitAll);

function* waitAll<T extends Waitable>(objects: Iterable<T>, options: WaitOptions | undefined): GreenletBody<T[]> {
  const it = iwait(objects, options);
  const done: T[] = [];
  try {
    while (yield* it.performNext()) done.push(it.value);
  } finally {
    it.close();
  }
  return done;
}

/**
 * Wait for tasks to end (all, or `count`, or until `timeout`); evaluates to those that
 * ended. With `raiseError`, raise the error of the first one that failed instead.
 */
export function joinall<T extends Task>(tasks: Iterable<T>, options?: JoinallOptions): SwitchOp<T[]> {
  return lazy(JOINALL, tasks, options, undefined) as SwitchOp<T[]>;
}

/** Options of {@link joinall}. */
export interface JoinallOptions extends WaitOptions {
  /** Raise the error of the first task that failed, instead of evaluating to the tasks. */
  raiseError?: boolean;
}

const JOINALL = blockingOperation<Iterable<Task>, JoinallOptions | undefined, undefined, Task[]>('joinall()', joinTasks);

function* joinTasks<T extends Task>(tasks: Iterable<T>, options: JoinallOptions = {}): GreenletBody<T[]> {
  const it = iwait(tasks, options);
  const done: T[] = [];
  try {
    while (yield* it.performNext()) {
      const t = it.value;
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
 * all ended; with `timeout` (ms), raise a {@link Timeout} if some are still running
 * then, as gevent's `killall` does. Tasks that never ran never will. The options may
 * come first, as gevent's keywords: `yield* killall(tasks, { timeout: 500 })`,
 * `yield* killall(tasks, { error: Shutdown, block: false })`. As with `Task.kill`, the
 * wait does not take their errors: one that a task raises as it unwinds is reported
 * through the hub's reporter. Made in plain code (where nothing can wait), it kills them
 * and returns at once.
 */
export function killall(tasks: Iterable<Task>, options?: KillOptions): SwitchOp<void>;
export function killall(
  tasks: Iterable<Task>,
  error?: Error | ErrorClass,
  options?: Omit<KillOptions, 'error'>,
): SwitchOp<void>;
export function killall(
  tasks: Iterable<Task>,
  errorOrOptions?: Error | ErrorClass | KillOptions,
  options?: KillOptions,
): SwitchOp<void> {
  return lazy(KILLALL, tasks, killOptions(errorOrOptions, options), undefined);
}

const KILLALL = new Operation<Iterable<Task>, KillOptions, undefined, void>('killall()', killTasks, (tasks, opts) => {
  for (const t of [...tasks]) t.kill({ error: opts.error, block: false });
  return immediate(undefined);
});

function* killTasks(tasks: Iterable<Task>, opts: KillOptions): GreenletBody<void> {
  const list = [...tasks];
  for (const t of list) t.kill({ error: opts.error, block: false });
  if (opts.block === false) return;
  if (!(yield* awaitEnds(list, opts.timeout))) {
    const left = list.filter((t) => !t.ready()).length;
    const timeout = new Timeout(opts.timeout);
    timeout.message = `killall(): ${left} of ${list.length} task${list.length === 1 ? '' : 's'} still running after ${String(opts.timeout)} ms`;
    throw timeout;
  }
}
