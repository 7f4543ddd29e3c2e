/**
 * `greenlet-ts/testing/fast-check`: schedules as a fast-check arbitrary, so that a property
 * draws the interleaving along with its inputs, and fast-check shrinks both together (a
 * schedule shrinks towards fewer and smaller decisions: towards the default schedule).
 * Kept apart from `greenlet-ts/testing`, which does not import fast-check.
 *
 * @module
 */
import fc from 'fast-check';
import type { Schedule } from './schedule.js';

/** Options of {@link schedules}. */
export interface SchedulesOptions {
  /** At most this many decisions (past the end, every decision is the default). Default 200. */
  maxDecisions?: number;
}

/**
 * An arbitrary of schedules for `replay(program, schedule)`: lists of decisions, each an
 * index that the run takes modulo its number of options. Shrinking makes the list
 * shorter and its numbers smaller, so a failing case shrinks towards the default schedule.
 *
 * ```ts
 * import fc from 'fast-check';
 * import { replay } from 'greenlet-ts/testing';
 * import { schedules } from 'greenlet-ts/testing/fast-check';
 *
 * await fc.assert(
 *   fc.asyncProperty(fc.array(fc.nat(100), { maxLength: 5 }), schedules(), async (amounts, schedule) => {
 *     await replay(function* () {
 *       // ... spawn a task per amount, check the invariant ...
 *     }, schedule);
 *   }),
 * );
 * ```
 */
export function schedules(options: SchedulesOptions = {}): fc.Arbitrary<Schedule> {
  const maxDecisions = options.maxDecisions ?? 200;
  // Small numbers: a decision among n options takes the number modulo n, and 0 to 5 reach
  // every option of the usual decision points (few tasks ready at once) about evenly.
  return fc.array(fc.nat({ max: 5 }), { maxLength: maxDecisions });
}
