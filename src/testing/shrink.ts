/**
 * Shrinking a failing schedule to the simplest one that still fails the same way, as
 * fast-check shrinks a failing input: fewer deviations from the default schedule, then
 * smaller ones (a task picked closer to the head of the run queue), then earlier ones.
 *
 * How. A candidate is the best schedule so far with some decisions changed; it is run
 * (decisions past its end are 0, and each is taken modulo its number of options, so every
 * candidate is a valid run) and kept if it fails the same way and the schedule it actually
 * made is simpler. The passes, repeated until none helps or the budget of replays is
 * spent: set blocks of deviations to 0 (halving the block size, as delta debugging does),
 * lower each deviation to 1, then move each one decision earlier.
 *
 * @module
 */
import type { Schedule } from './schedule.js';

/** How simple a schedule is: compare lexicographically, lower is simpler. */
function cost(schedule: Schedule): [number, number, number, number] {
  let deviations = 0;
  let sum = 0;
  let positions = 0;
  schedule.forEach((v, i) => {
    if (v !== 0) {
      deviations++;
      sum += v;
      positions += i;
    }
  });
  return [deviations, sum, positions, schedule.length];
}

/** Whether `a` is simpler than `b`. */
export function simpler(a: Schedule, b: Schedule): boolean {
  const ca = cost(a);
  const cb = cost(b);
  for (let i = 0; i < ca.length; i++) {
    if ((ca[i] as number) !== (cb[i] as number)) return (ca[i] as number) < (cb[i] as number);
  }
  return false;
}

/** Number of decisions that are not the default. */
export function deviationsOf(schedule: Schedule): number {
  return schedule.filter((v) => v !== 0).length;
}

/**
 * Runs a candidate: the schedule the run actually made if it failed the same way, else null.
 */
export type Attempt = (candidate: Schedule) => Schedule | null | Promise<Schedule | null>;

export interface Shrunk {
  readonly schedule: number[];
  /** Candidates run. */
  readonly replays: number;
}

/** Shrink `start` (a failing schedule) with at most `budget` replays. */
export async function shrink(start: Schedule, attempt: Attempt, budget: number): Promise<Shrunk> {
  let best = trim(start);
  let replays = 0;
  const tryCandidate = async (candidate: number[]): Promise<boolean> => {
    if (replays >= budget) return false;
    replays++;
    const made = await attempt(trim(candidate));
    if (made === null) return false;
    const got = trim(made);
    if (!simpler(got, best)) return false;
    best = got;
    return true;
  };
  for (let changed = true; changed && replays < budget; ) {
    changed = false;
    // 1. Blocks of deviations back to the default.
    for (let size = highestPowerOfTwo(deviationsOf(best)); size >= 1; size >>= 1) {
      for (let start = 0; ; start += size) {
        const positions = nonZero(best);
        if (start >= positions.length) break;
        const candidate = best.slice();
        for (const p of positions.slice(start, start + size)) candidate[p] = 0;
        if (await tryCandidate(candidate)) {
          changed = true;
          start -= size; // the same block index now holds other deviations
        }
      }
    }
    // 2. Each deviation as small as it gets.
    for (let i = 0; i < best.length; i++) {
      const v = best[i] as number;
      if (v > 1) {
        const candidate = best.slice();
        candidate[i] = 1;
        if (await tryCandidate(candidate)) changed = true;
      }
    }
    // 3. Each deviation one decision earlier.
    for (let i = 1; i < best.length; i++) {
      const v = best[i] as number;
      if (v !== 0 && best[i - 1] === 0) {
        const candidate = best.slice();
        candidate[i - 1] = v;
        candidate[i] = 0;
        if (await tryCandidate(candidate)) changed = true;
      }
    }
  }
  return { schedule: best, replays };
}

function trim(schedule: Schedule): number[] {
  let end = schedule.length;
  while (end > 0 && schedule[end - 1] === 0) end--;
  return schedule.slice(0, end);
}

function nonZero(schedule: Schedule): number[] {
  const positions: number[] = [];
  schedule.forEach((v, i) => {
    if (v !== 0) positions.push(i);
  });
  return positions;
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}
