/**
 * `sleep()` and `idle()`: the simplest ways for a task to give up the CPU.
 *
 * @module
 */
import { Operation, lazy } from '../core/operation.js';
import { getCurrentGreenlet, type SwitchOp } from '../core/switcher.js';
import {
  STATUS,
  blockingError,
  blockingOperation,
  currentTask,
  park,
  parkUntilIdle,
  parkUntilNextPass,
  type Parking,
  type Schedulable,
} from './hub.js';

const STATUS_KEY: typeof STATUS = STATUS;

const SLEEPING: Parking = {
  unpark() {
    // Only the task's deadline timer refers to a sleeping task; the hub cancels it.
  },
  toString: () => 'sleep()',
};

/**
 * The task that sleeps: the current greenlet, which must be a task. The operation's name
 * for the error, `sleep(ms)`, is made only when it is not: built on every call, it cost
 * 1.2 % of the instructions of a kill of a sleeping task (callgrind; docs/benchmarks-log.md).
 */
function sleeper(ms: number): Schedulable {
  const g = getCurrentGreenlet() as Partial<Schedulable>;
  return g[STATUS_KEY] === undefined ? currentTask(`sleep(${ms})`) : (g as Schedulable);
}

const SLEEP = new Operation<undefined, number, undefined, void>(
  'sleep()',
  (_, ms) => {
    const task = sleeper(ms);
    if (!(ms > 0)) return parkUntilNextPass(task);
    return park(task, SLEEPING, ms, undefined);
  },
  (_, ms, _b, where) => {
    throw blockingError(`sleep(${ms})`, where);
  },
);

const IDLE = blockingOperation<undefined, undefined, undefined, void>('idle()', () => parkUntilIdle(currentTask('idle()')));

/**
 * Suspend the current task for `ms` milliseconds: `yield* sleep(100)`. With `0` (the
 * default) the task only lets the others run: it resumes on the hub's next pass, after
 * the event loop has had its turn, so a loop around `sleep(0)` never starves timers or
 * I/O.
 */
export function sleep(ms = 0): SwitchOp<void> {
  return lazy(SLEEP, undefined, ms, undefined);
}

/**
 * Suspend the current task until the hub has nothing else to run: `yield* idle()`.
 * (gevent's `idle()`, without priorities.)
 */
export function idle(): SwitchOp<void> {
  return lazy(IDLE, undefined, undefined, undefined);
}
