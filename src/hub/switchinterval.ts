/**
 * The switch interval: how long a hub pass may keep resuming ready tasks before the host
 * event loop gets a turn (timers, I/O, other callbacks). gevent's
 * `getswitchinterval()` / `setswitchinterval()`, in milliseconds.
 *
 * @module
 */

/**
 * The interval in milliseconds, read by the hub when a pass begins (hub.ts, Fairness).
 * Change it through {@link setswitchinterval}.
 */
export let switchIntervalMs = 5;

/**
 * How long a hub pass may run ready tasks before the event loop gets a turn, in
 * milliseconds (default 5, gevent's 0.005 s). See {@link setswitchinterval}.
 */
export function getswitchinterval(): number {
  return switchIntervalMs;
}

/**
 * Set how long a hub pass may run ready tasks before the event loop gets a turn:
 * `setswitchinterval(1)`. The hub reads the clock every 50 resumes (as gevent's loop does
 * every 50 callbacks) and ends the pass once `ms` have passed since it began, so a pass
 * may run up to 50 resumes past the interval. A longer interval lets a burst of ready
 * tasks (a fan-out) run in fewer passes; a shorter one gives timers and I/O their turn
 * sooner; `0` gives the event loop a turn every 50 resumes (gevent, like Python's
 * `sys.setswitchinterval`, refuses 0). The new interval applies from the next pass.
 * Under the testing layer's virtual time, where the clock stands still within a pass, a
 * pass ends after {@link PASS_BUDGET} resumes instead, whatever the interval.
 *
 * @param ms a finite number of milliseconds, `>= 0`
 * @throws TypeError when `ms` is not a number
 * @throws RangeError when `ms` is negative, NaN or infinite
 */
export function setswitchinterval(ms: number): void {
  if (typeof ms !== 'number') {
    throw new TypeError(`setswitchinterval() takes a time in milliseconds (a number, such as 5), not ${ms === null ? 'null' : typeof ms}`);
  }
  if (!(ms >= 0) || ms === Infinity) {
    throw new RangeError(`setswitchinterval(${ms}): the interval is a finite number of milliseconds >= 0 (default 5; 0 gives the event loop a turn every 50 resumes)`);
  }
  switchIntervalMs = ms;
}

/** Resumes between two readings of the clock in a pass (gevent's CALLBACK_CHECK_COUNT). */
export const CLOCK_CHECK_EVERY = 50;

/**
 * Resumes per pass while the testing layer's virtual time runs the hub (a HubControl):
 * there the clock stands still within a pass, so a pass is bounded by a count.
 */
export const PASS_BUDGET = 1000;
