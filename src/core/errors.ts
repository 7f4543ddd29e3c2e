/**
 * The error classes of the core: the two Python users know, and the one for a forgotten
 * `yield*`.
 *
 * @module
 */

/**
 * Thrown into a greenlet to kill it: `g.throw()` with no argument throws a new
 * `GreenletExit`. A greenlet that dies of an uncaught `GreenletExit` does not pass it on
 * as an error: its parent receives the exception object as an ordinary value.
 *
 * Python's `GreenletExit` derives from `BaseException`, so `except Exception` does not
 * catch it. JavaScript has no such split: a bare `catch (e)` catches a kill too. Rethrow
 * what you did not mean to handle:
 *
 * ```ts
 * try {
 *   yield* work();
 * } catch (e) {
 *   if (isGreenletExit(e)) throw e; // let the kill through
 *   log(e);
 * }
 * ```
 */
export class GreenletExit extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'GreenletExit';
  }
}

/**
 * Misuse of the greenlet machinery: a switch that was built but never performed
 * (`switch()` without `yield*`), a switch from inside a trace function, a cyclic parent
 * chain, a greenlet of another thread, an `async` function as `run`. The message says
 * what happened and what to write instead. Python's `greenlet.error`.
 */
export class GreenletError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'GreenletError';
  }
}

/**
 * An operation (`queue.get()`, `sleep(ms)`, `task.join()`, `g.switch()`, ...) was made
 * and never performed by `yield*`. Making an operation has no effect, so nothing was
 * lost: no item taken, no task woken. The error is raised in the greenlet that made the
 * slip, at its next operation, switch or end, and names the operation:
 *
 * ```text
 * MissingYieldError: queue.get() was never performed: write `yield* queue.get()` where you make it. ...
 * ```
 */
export class MissingYieldError extends GreenletError {
  static {
    this.prototype.name = 'MissingYieldError';
  }
}

/** `true` when `e` is a {@link GreenletExit} (the error a kill throws). */
export function isGreenletExit(e: unknown): e is GreenletExit {
  return e instanceof GreenletExit;
}
