/** Port of gevent's `src/gevent/tests/test__iwait.py` (gevent 26.5.0): its three tests. */
import { describe, expect, it } from 'vitest';
import { Semaphore, iwait, spawn } from 'greenlet-ts';
import { expectNoTimersLeft, inTask } from './harness.js';

expectNoTimersLeft();

describe('Testiwait', () => {
  it('test_noiter: the first object iwait hands out is the first ready', async () => {
    await inTask(function* () {
      const sem1 = new Semaphore();
      const sem2 = new Semaphore();
      spawn(() => sem1.release());
      const it = iwait([sem1, sem2]);
      expect(yield* it.next()).toBe(true);
      expect(it.value).toBe(sem1);
      it.close();
    });
  });

  it('test_iwait_partial: `using it = iwait(...)` (gevent\'s `with iwait(...) as it:`) read partially', async () => {
    await inTask(function* () {
      const sem = new Semaphore();
      const releaser = spawn(() => sem.release());
      {
        using iterator = iwait([sem], { timeout: 10 });
        expect(yield* iterator.next()).toBe(true);
        expect(iterator.value).toBe(sem);
      }
      yield* releaser.get();
    });
  });

  it('test_iwait_nogarbage: leaving the `using` block unlinks from the objects not handed out', async () => {
    await inTask(function* () {
      const sem1 = new Semaphore();
      // gevent links a ready semaphore too; here a ready one is handed out without a link,
      // so the second one starts with no permit, to stay registered.
      const sem2 = new Semaphore(0);
      const releaser = spawn(() => sem1.release());
      {
        using iterator = iwait([sem1, sem2]);
        expect(yield* iterator.next()).toBe(true);
        expect(iterator.value).toBe(sem1);
        expect(sem2.linkCount()).toBe(1);
      }
      expect(sem2.linkCount()).toBe(0);
      yield* releaser.get();
    });
  });
});
