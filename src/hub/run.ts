/**
 * `run()`: how plain top-level or async code starts tasks and waits for them.
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import type { SwitchOp } from '../core/switcher.js';
import { spawn } from './task.js';

/**
 * Run `fn(...args)` in a new task and return a promise of its result: the entry point
 * from plain or async code, which cannot block.
 *
 * ```ts
 * const answer = await run(function* () {
 *   yield* sleep(10);
 *   return 42;
 * });
 * ```
 *
 * If the event loop runs dry while the task is still parked (nothing can ever wake it),
 * the promise rejects with a {@link LoopExit} that names every blocked task and what it
 * waits on.
 */
export function run<A extends unknown[], R>(fn: (...args: A) => SwitchOp<R>, ...args: A): Promise<R>;
export function run<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R, ...args: A): Promise<R>;
export function run<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R, ...args: A): Promise<R> {
  return spawn(fn, ...args).toPromise();
}
