/**
 * `VirtualClock`: what a program run on virtual time sees of its clock.
 *
 * @module
 */

/** What the clock asks of the run it belongs to. */
export interface ClockOwner {
  readonly time: number;
  readonly finished: boolean;
  advance(ms: number): void;
}

/**
 * The clock of a program run on virtual time (`virtualTime`, `explore`): the time that
 * `sleep`, `Timeout`, timed waits, `spawnLater` and select timeouts count in. It starts at
 * 0, and moves only when every task waits (it jumps to the next deadline) or when
 * {@link VirtualClock.advance} moves it. `Date.now()` and `performance.now()` stay real.
 *
 * ```ts
 * await virtualTime(function* (clock) {
 *   yield* sleep(86_400_000);               // a day, at once
 *   expect(clock.now()).toBe(86_400_000);
 * });
 * ```
 */
export class VirtualClock {
  readonly #owner: ClockOwner;

  /** @internal Made by the run. */
  constructor(owner: ClockOwner) {
    this.#owner = owner;
  }

  /** Virtual milliseconds since the program started. */
  now(): number {
    return this.#owner.time;
  }

  /**
   * Move time forward by `ms` at once: every timer due by then fires, in deadline order,
   * and the tasks they wake run when the current task next blocks (they see the new
   * time). For tests that step time by hand, with `{ autojump: false }`; with autojump,
   * time also jumps by itself whenever every task waits.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`clock.advance(ms) takes a number of milliseconds >= 0, not ${String(ms)}: virtual time never goes back`);
    }
    if (this.#owner.finished) {
      throw new Error('clock.advance() on the clock of a program that has ended: each run has its own clock');
    }
    this.#owner.advance(ms);
  }

  toString(): string {
    return `VirtualClock(${this.#owner.time} ms)`;
  }
}
