/**
 * `Timeout` and `withTimeout`: gevent's way to bound how long a block of code may wait.
 *
 * @module
 */
import { call, type CallResult, type Callable } from '../core/call.js';
import type { ErrorClass, GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import type { SwitchOp } from '../core/switcher.js';
import { blockingOperation, clearInterrupt, currentTask, getHub, interrupt, type Schedulable } from './hub.js';
import { Timer } from './timers.js';

class TimeoutTimer extends Timer {
  constructor(
    readonly timeout: Timeout,
    readonly task: Schedulable,
    readonly error: unknown,
  ) {
    super();
  }
  fire(): void {
    this.timeout.expired = true;
    interrupt(this.task, this.error);
  }
}

/**
 * An error raised in a task when a deadline passes, wherever the task is blocked at that
 * moment and however deep in its calls: gevent's `Timeout`.
 *
 * gevent's `with Timeout(0.5) as t:` is a `using` declaration in a `try` block: the
 * timeout is armed for that block, cancelled when it ends, and still in scope in the
 * `catch`:
 *
 * ```ts
 * const t = new Timeout(500);           // in a task
 * try {
 *   using _armed = t.start();
 *   const line = yield* sock.readLine();
 * } catch (e) {
 *   if (e !== t) throw e;               // someone else's timeout, or another error
 *   console.log('no answer in 500 ms');
 * }
 * ```
 *
 * Or `using t = Timeout.startNew(500)` for the rest of a block, and {@link withTimeout}
 * for the common case. Timeouts nest: each one raises its own error,
 * and one that is caught does not affect the others. Like gevent's, a timeout takes
 * effect only where the task blocks: a CPU-bound stretch runs to its end first.
 */
export class Timeout extends Error implements Disposable {
  /** The delay in milliseconds (undefined: a timeout that never fires). */
  readonly ms: number | undefined;
  readonly #error: Error | ErrorClass | undefined;
  #timer: TimeoutTimer | null = null;
  /** @internal */ expired = false;

  /**
   * @param ms - the delay; `undefined` or `null` makes a timeout that never fires.
   * @param error - what to raise instead of the Timeout itself: an error or an error class.
   */
  constructor(ms?: number | null, error?: Error | ErrorClass) {
    super(ms === undefined || ms === null ? 'timeout' : `${ms} ms`);
    this.ms = ms ?? undefined;
    this.#error = error;
  }

  static {
    this.prototype.name = 'Timeout';
  }

  /** Create a Timeout and start it in the current task. */
  static startNew(ms?: number | null, error?: Error | ErrorClass): Timeout {
    return new Timeout(ms, error).start();
  }

  /**
   * Arm the timeout for the current task: when `ms` have passed, its error is raised
   * wherever the task is blocked. Restarting restarts the delay.
   */
  start(): this {
    const task = currentTask('Timeout.start()');
    this.cancel();
    if (this.ms === undefined) return this;
    const raised = this.#raised();
    this.#timer = new TimeoutTimer(this, task, raised);
    this.expired = false;
    getHub().timers.add(this.#timer, this.ms);
    return this;
  }

  /** What strikes: the Timeout itself, or the error (an instance of the class) given. */
  #raised(): unknown {
    const error = this.#error;
    if (error === undefined) return this;
    if (error instanceof Error) return error;
    const raised: unknown = typeof error === 'function' ? Reflect.construct(error, []) : error;
    if (!(raised instanceof Error)) {
      throw new TypeError(
        `Timeout(ms, error): error must be an Error or an Error class, not ${typeof error === 'function' ? `the class ${error.name}, which does not extend Error` : typeof error}`,
      );
    }
    return raised;
  }

  /** Whether the timeout is armed and has not fired yet. */
  get pending(): boolean {
    return this.#timer !== null && this.#timer.pending;
  }

  /**
   * Disarm the timeout. If it fired while the task was busy and the error has not been
   * raised yet, it never will be.
   */
  cancel(): void {
    const timer = this.#timer;
    if (timer === null) return;
    this.#timer = null;
    getHub().timers.remove(timer);
    clearInterrupt(timer.task, timer.error);
  }

  /** `using t = Timeout.startNew(ms)` cancels it at the end of the block. */
  [Symbol.dispose](): void {
    this.cancel();
  }
}

/** Options of {@link withTimeout} with a value to use when the time runs out. */
export interface TimeoutOptions<V> {
  ms: number;
  /** Evaluate to this instead of raising the Timeout (gevent's `timeout_value`). */
  timeoutValue: V;
}

/**
 * Run `fn(...args)` in the current task, bounded to `ms` milliseconds: evaluates to its
 * result, or raises a {@link Timeout} when the time runs out (the function's `finally`
 * blocks run first). With `{ ms, timeoutValue }` it evaluates to `timeoutValue` instead:
 * the silent variant.
 *
 * ```ts
 * const page = yield* withTimeout(2000, fetchPage, url);
 * const maybe = yield* withTimeout({ ms: 50, timeoutValue: null }, () => queue.get());
 * ```
 */
export function withTimeout<F extends Callable>(ms: number, fn: F, ...args: Parameters<F>): SwitchOp<CallResult<F>>;
export function withTimeout<F extends Callable, V>(
  options: TimeoutOptions<V>,
  fn: F,
  ...args: Parameters<F>
): SwitchOp<CallResult<F> | V>;
export function withTimeout<F extends Callable, V>(
  msOrOptions: number | TimeoutOptions<V>,
  fn: F,
  ...args: Parameters<F>
): SwitchOp<CallResult<F> | V> {
  return lazy(WITH_TIMEOUT, msOrOptions, fn, args) as SwitchOp<CallResult<F> | V>;
}

const WITH_TIMEOUT = blockingOperation<number | TimeoutOptions<unknown>, Callable, unknown[], unknown>('withTimeout()', bounded);

function* bounded(msOrOptions: number | TimeoutOptions<unknown>, fn: Callable, args: unknown[]): GreenletBody<unknown> {
  const silent = typeof msOrOptions === 'object';
  const timeout = Timeout.startNew(silent ? msOrOptions.ms : msOrOptions);
  try {
    return yield* call(fn, ...(args as never[]));
  } catch (error) {
    if (silent && error === timeout) return msOrOptions.timeoutValue;
    throw error;
  } finally {
    timeout.cancel();
  }
}
