/**
 * `sleep()` and `idle()`: the simplest ways for a task to give up the CPU.
 *
 * @module
 */
import type { SwitchOp } from '../core/switcher.js';
import { currentTask, park, parkUntilIdle, parkUntilNextPass, type Parking } from './hub.js';

const SLEEPING: Parking = {
  unpark() {
    // Only the task's deadline timer refers to a sleeping task; the hub cancels it.
  },
  toString: () => 'sleep()',
};

/**
 * Suspend the current task for `ms` milliseconds: `yield* sleep(100)`. With `0` (the
 * default) the task only lets the others run: it resumes on the hub's next pass, after
 * the event loop has had its turn, so a loop around `sleep(0)` never starves timers or
 * I/O.
 */
export function sleep(ms = 0): SwitchOp<void> {
  const task = currentTask(`sleep(${ms})`);
  if (!(ms > 0)) return parkUntilNextPass(task);
  return park(task, SLEEPING, ms, undefined);
}

/**
 * Suspend the current task until the hub has nothing else to run: `yield* idle()`.
 * (gevent's `idle()`, without priorities.)
 */
export function idle(): SwitchOp<void> {
  return parkUntilIdle(currentTask('idle()'));
}
