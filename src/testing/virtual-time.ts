/**
 * `virtualTime()`: run a program on virtual time, with the default schedule.
 *
 * @module
 */
import type { RunQueueLike } from '../hub/hub.js';
import { Random } from './random.js';
import { Simulation, type Decisions, type Program } from './simulation.js';

/** Options of {@link virtualTime} (and of `explore`). */
export interface VirtualTimeOptions {
  /**
   * Stop with a `VirtualTimeLimit` error when virtual time passes this many milliseconds
   * and the program has not ended. Default: one hour.
   */
  limit?: number;
  /**
   * Let time jump to the next deadline whenever every task waits (Trio's autojump).
   * Default true; with false, only `clock.advance(ms)` moves it.
   */
  autojump?: boolean;
  /**
   * Let tasks wait on the host (real I/O, promises, emitters). Default false: such a wait
   * fails the run with a `RealIoError` naming it. With true, time jumps only after the
   * host has been quiet for `autojumpThreshold` ms.
   */
  realIo?: boolean;
  /** With `realIo`: real milliseconds without activity before time jumps. Default 0. */
  autojumpThreshold?: number;
  /** Seed of the random choices select makes among several ready cases. Default 0. */
  seed?: number;
}

/** @internal The options with their defaults, checked. */
export interface ResolvedTimeOptions {
  readonly limit: number;
  readonly autojump: boolean;
  readonly realIo: boolean;
  readonly autojumpThreshold: number;
}

/** @internal */
export function resolveTimeOptions(options: VirtualTimeOptions | undefined, caller: string): ResolvedTimeOptions {
  const limit = options?.limit ?? 3_600_000;
  if (!(limit > 0)) throw new RangeError(`${caller}: limit is a number of virtual milliseconds > 0, not ${String(limit)}`);
  const autojumpThreshold = options?.autojumpThreshold ?? 0;
  if (!(autojumpThreshold >= 0)) {
    throw new RangeError(`${caller}: autojumpThreshold is a number of real milliseconds >= 0, not ${String(autojumpThreshold)}`);
  }
  return { limit, autojump: options?.autojump ?? true, realIo: options?.realIo ?? false, autojumpThreshold };
}

/** The schedule of a plain virtual-time run: the hub's FIFO, timers in the order set, select at random (seeded). */
function defaultDecisions(seed: number): Decisions {
  const random = new Random(seed);
  return {
    queue: null as RunQueueLike | null,
    chooseCase: (count) => random.below(count),
    chooseTimer: null,
  };
}

/**
 * Run `program` as a task on virtual time and resolve to what it returns. `sleep`,
 * `Timeout`, timed waits, `spawnLater` and select timeouts count virtual milliseconds,
 * and whenever every task waits, time jumps to the next deadline: a program that sleeps
 * for a day ends at once. No host timer is armed. The program gets the clock:
 *
 * ```ts
 * import { virtualTime } from 'greenlet-ts/testing';
 *
 * await virtualTime(function* (clock) {
 *   const t = spawn(function* () { yield* sleep(60_000); return 'done'; });
 *   expect(yield* t.get(5000)).toThrow(Timeout);   // five virtual seconds
 *   expect(clock.now()).toBe(5000);
 * });
 * ```
 *
 * The promise rejects with the program's error, or with one of these when the run goes
 * wrong: `UncaughtTaskError` (a task failed and nobody waited for it), `LoopExit` (every
 * task waits and nothing can wake them), `VirtualTimeLimit` (still running after
 * `limit` ms), `LeakedTaskError` (the program returned while tasks it started still run;
 * they are killed), `RealIoError` (a task waited on real I/O or a promise without
 * `{ realIo: true }`). Call it from plain or async code (a test), while no task runs.
 */
export function virtualTime<R>(program: Program<R>, options?: VirtualTimeOptions): Promise<R> {
  let sim: Simulation;
  try {
    const time = resolveTimeOptions(options, 'virtualTime()');
    sim = new Simulation({ ...time, decisions: defaultDecisions(options?.seed ?? 0), recordSites: false, caller: 'virtualTime()' });
    if (!time.realIo) {
      const outcome = sim.runSync(program as Program);
      return outcome.kind === null ? Promise.resolve(outcome.value as R) : Promise.reject(outcome.error);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  return sim.runAsync(program as Program).then((outcome) => {
    if (outcome.kind !== null) throw outcome.error;
    return outcome.value as R;
  });
}
