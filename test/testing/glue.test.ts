/**
 * The test-runner glue: testSchedules() for vitest, the schedules() arbitrary for
 * fast-check.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinall, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { replay } from 'greenlet-ts/testing';
import { schedules } from 'greenlet-ts/testing/fast-check';
import { testSchedules } from 'greenlet-ts/testing/vitest';
import { overdraftFixed } from '../../examples/testing/schedule-bugs.js';

const run = promisify(execFile);

describe('testSchedules', () => {
  testSchedules('passes when every schedule passes', overdraftFixed, { runs: 500, seed: 1 });

  it('fails with the report and the shell command that replays the shrunk schedule; the command replays it', async () => {
    const args = ['vitest', 'run', '--config', 'test/testing/fixtures/vitest.config.ts', 'test/testing/fixtures/failing-schedules.fixture.ts'];
    const { FORCE_COLOR: _, ...env } = process.env;
    const plain = { ...env, NO_COLOR: '1' };
    const failed = await run('npx', args, { encoding: 'utf8', env: plain }).then(
      () => null,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    expect(failed).toContain('ScheduleFailure: explore(): run 6 of 1000 fails');
    expect(failed).toContain(
      "From the shell: GREENLET_SEED=[0,0,1] npx vitest run test/testing/fixtures/failing-schedules.fixture.ts -t 'two withdrawals don'\\''t overdraw'",
    );
    const again = await run('npx', args, { encoding: 'utf8', env: { ...plain, GREENLET_SEED: '[0,0,1]' } }).then(
      () => null,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );
    expect(again).toContain('ScheduleFailure: explore(): the program fails under the given schedule');
    expect(again).toContain('Replay it: await replay(overdraft, [0, 0, 1])');
  }, 120_000);
});

/**
 * Withdrawals of `amounts` from one account, arriving 1 ms apart, each checked, then
 * debited 1 ms later: right under the default schedule, not under every one.
 */
function withdrawals(amounts: readonly number[]): () => GreenletBody<void> {
  return function* () {
    const account = { balance: 100 };
    const tasks: Task[] = [];
    for (const amount of amounts) {
      tasks.push(
        spawn(function* () {
          if (account.balance >= amount) {
            yield* sleep(1);
            account.balance -= amount;
          }
        }),
      );
      yield* sleep(1);
    }
    yield* joinall(tasks);
    if (account.balance < 0) throw new Error(`overdrawn: ${account.balance}`);
  };
}

describe('the schedules() arbitrary', () => {
  it('draws schedules with the inputs, and fast-check shrinks both: to two withdrawals and one deviation', async () => {
    const amounts = fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 });
    const result = await fc.check(
      fc.asyncProperty(amounts, schedules(), async (a, schedule) => {
        await replay(withdrawals(a), schedule);
      }),
      { seed: 3, numRuns: 200 },
    );
    expect(result.failed).toBe(true);
    const [a, schedule] = result.counterexample as [number[], number[]];
    expect(a.length).toBe(2);
    expect(a[0]! + a[1]!).toBeGreaterThan(100);
    expect(schedule.filter((d) => d !== 0)).toHaveLength(1);
    await expect(replay(withdrawals(a), [])).resolves.toBeUndefined();
    await expect(replay(withdrawals(a), schedule)).rejects.toThrow(/overdrawn/);
  });

  it('passes a property that holds under every schedule', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 4 }), schedules(), async (a, schedule) => {
        await replay(function* () {
          const total = { value: 0 };
          yield* joinall(
            a.map((amount) =>
              spawn(function* () {
                yield* sleep(1);
                total.value += amount;
              }),
            ),
          );
          expect(total.value).toBe(a.reduce((x, y) => x + y, 0));
        }, schedule);
      }),
      { seed: 4, numRuns: 200 },
    );
  });
});
