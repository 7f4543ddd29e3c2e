/**
 * The README's tour, as written there: the worker summing a queue (`answer === 6`), and a
 * kill running the task's `finally` from another task and from plain code. (The two
 * greenlets of its first example are test/core/smoke.test.ts's seed program.)
 */
import { describe, expect, it } from 'vitest';
import { Queue, run, sleep, spawn } from 'greenlet-ts';

describe("the README's tour", () => {
  it('sums the queue in a worker task: answer === 6', async () => {
    const answer = await run(function* () {
      const jobs = new Queue<number>();
      const worker = spawn(function* () {
        let sum = 0;
        for (;;) {
          const n = yield* jobs.get();
          if (n < 0) return sum;
          sum += n;
        }
      });
      for (const n of [1, 2, 3]) jobs.putNowait(n);
      jobs.putNowait(-1);
      return yield* worker.get(500);
    });
    expect(answer).toBe(6);
  });

  it('kills a sleeping task from another task (yield* t.kill()) and from plain code (t.kill({ block: false })): its finally runs', async () => {
    const log: string[] = [];
    const sleeper = () =>
      spawn(function* () {
        try {
          yield* sleep(60_000);
        } finally {
          log.push('cleaned up');
        }
      });
    await run(function* () {
      const t = sleeper();
      yield* sleep(0);
      yield* t.kill();
      log.push('killed from a task');
    });
    const t = sleeper();
    await run(function* () {
      yield* sleep(0); // t is asleep now
    });
    t.kill({ block: false });
    await t;
    expect(log).toEqual(['cleaned up', 'killed from a task', 'cleaned up']);
  });
});
