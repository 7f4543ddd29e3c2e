/** Port of gevent's `src/gevent/tests/test__issue467.py` (gevent 26.5.0): its one test. */
import { describe, expect, it } from 'vitest';
import { iwait, joinall, sleep, spawn, type Task } from 'greenlet-ts';
import { expectNoTimersLeft, inTask } from './harness.js';

expectNoTimersLeft();

class ValueError extends Error {}

/** One of them raises, to test that case. */
function worker(i: number | string): number | string {
  if (i === 2) throw new ValueError(String(i));
  return i;
}

describe('Test', () => {
  it('test: iwait hands out every task, done already or not, while the reader sleeps between reads', async () => {
    await inTask(function* () {
      let finished = 0;
      // Wait on a group that includes one that will already be done, plus some that will
      // finish as we watch.
      const doneWorker = spawn(worker, 'done');
      yield* joinall([doneWorker]);
      const workers: Task[] = [0, 1, 2].map((i) => spawn(worker, i));
      workers.push(doneWorker);
      for (const it = iwait(workers); yield* it.next(); ) {
        finished += 1;
        yield* sleep(10); // switches to other tasks between reads
      }
      expect(finished).toBe(4);
      expect(workers[2]?.exception).toBeInstanceOf(ValueError);
    });
  });
});
