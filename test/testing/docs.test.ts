/**
 * docs/testing.md shows, for three bugs, what explore() reports: this checks that the
 * reports in the page are what the programs of examples/testing/schedule-bugs.ts make, that each
 * bug is found at the same run with the same seed every time, and that the printed replay
 * reproduces it 100 times out of 100.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RealIoError, ScheduleFailure, explore, replay } from 'greenlet-ts/testing';
import { bugs, configLoadedFixed, crossTransfersFixed, overdraftFixed, report, usesPromise } from '../../examples/testing/schedule-bugs.js';

const page = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');

describe('docs/testing.md', () => {
  for (const [program, options] of bugs) {
    it(`shows the report explore() makes for ${program.name}, found at the same run every time, replayed 100 times out of 100`, async () => {
      const text = await report(program, options);
      expect(page).toContain(`\`\`\`text\n${text}\n\`\`\``);
      const failures: ScheduleFailure[] = [];
      for (let i = 0; i < 3; i++) failures.push((await explore(program, options).catch((e: unknown) => e)) as ScheduleFailure);
      for (const f of failures) expect([f.run, f.message]).toEqual([failures[0]?.run, text]);
      const cause = (failures[0]?.cause as Error).message;
      for (let i = 0; i < 100; i++) {
        const error = (await replay(program, failures[0]?.schedule ?? []).catch((e: unknown) => e)) as Error;
        expect(error.message).toBe(cause);
      }
    });
  }
});

describe("the fixes docs/testing.md gives", () => {
  for (const program of [overdraftFixed, configLoadedFixed, crossTransfersFixed]) {
    it(`${program.name} passes under 1000 schedules, random and pct`, async () => {
      await expect(explore(program, { runs: 1000, seed: 42 })).resolves.toEqual({ runs: 1000, seed: 42 });
      await expect(explore(program, { runs: 1000, seed: 42, strategy: 'pct' })).resolves.toEqual({ runs: 1000, seed: 42 });
    });
  }
});

describe('the RealIoError docs/testing.md shows', () => {
  it('is the one explore() makes for usesPromise', async () => {
    const failure = (await explore(usesPromise, { runs: 10, seed: 1 }).catch((e: unknown) => e)) as ScheduleFailure;
    expect(failure.cause).toBeInstanceOf(RealIoError);
    expect(page).toContain(`\`\`\`text\n${(failure.cause as Error).message}\n\`\`\``);
  });
});
