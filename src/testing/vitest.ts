/**
 * `greenlet-ts/testing/vitest`: `testSchedules()`, a vitest test that explores a program's
 * schedules. Kept apart from `greenlet-ts/testing`, which does not import vitest.
 *
 * @module
 */
import { expect, it } from 'vitest';
import { explore, type ExploreOptions } from './explore.js';
import { ScheduleFailure } from './report.js';
import type { Program } from './simulation.js';

/** Options of {@link testSchedules}: explore's, and the test's timeout. */
export interface TestSchedulesOptions extends ExploreOptions {
  /** The test's timeout in milliseconds (vitest's `testTimeout` by default). */
  timeout?: number;
}

/**
 * A vitest test named `name` that explores `program` (see `explore`): it passes when every
 * run passes, and fails with the `ScheduleFailure`, whose message ends with the command
 * that replays the shrunk schedule from the shell (`GREENLET_SEED=[...] npx vitest run
 * <file> -t '<name>'`).
 *
 * ```ts
 * import { testSchedules } from 'greenlet-ts/testing/vitest';
 *
 * testSchedules('two withdrawals never overdraw', function* () {
 *   const account = new Account(100);
 *   yield* joinall([spawn(withdraw, account, 100), spawn(withdraw, account, 100)]);
 *   expect(account.balance).toBeGreaterThanOrEqual(0);
 * }, { runs: 1000, seed: 42 });
 * ```
 */
export function testSchedules(name: string, program: Program, options: TestSchedulesOptions = {}): void {
  const { timeout, ...exploreOptions } = options;
  it(
    name,
    async () => {
      try {
        await explore(program, exploreOptions);
      } catch (error) {
        if (error instanceof ScheduleFailure) {
          const state = expect.getState();
          const file = state.testPath === undefined ? '<test file>' : relative(state.testPath);
          const title = (state.currentTestName ?? name).split(' > ').pop() ?? name;
          error.message +=
            `\nFrom the shell: GREENLET_SEED=[${error.schedule.join(',')}] npx vitest run ${file} ` +
            `-t '${title.replace(/'/g, "'\\''")}'`;
        }
        throw error;
      }
    },
    timeout,
  );
}

function relative(path: string): string {
  const cwd = (globalThis as { process?: { cwd?: () => string } }).process?.cwd?.();
  return cwd !== undefined && path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}
