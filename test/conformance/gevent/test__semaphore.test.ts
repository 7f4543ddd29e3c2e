/**
 * Port of gevent's `src/gevent/tests/test__semaphore.py` (gevent 26.5.0): the PORTABLE
 * and ADAPT tests of CATALOG.md, one test per reference test, named after it.
 *
 * Not ported (N/A in CATALOG.md): the tests of a semaphore shared by native threads
 * (TestSemaphoreMultiThread, TestBoundedSemaphoreMultiThread), weak references, a
 * `__del__` that acquires, and the C-extension check.
 */
import { describe, expect, it } from 'vitest';
import { Semaphore, joinall, sleep, spawn, wait, type GreenletBody } from 'greenlet-ts';
import { LARGE_TICK, expectNoTimersLeft, inTask } from './harness.js';

expectNoTimersLeft();

describe('TestSemaphore', () => {
  it('test_acquire_returns_false_after_timeout: acquire(ms) evaluates to false (gevent issue 39)', async () => {
    const result = await inTask(function* () {
      const s = new Semaphore(0);
      return yield* s.acquire(10);
    });
    expect(result).toBe(false);
  });

  it('test_release_twice: each rawlink callback runs once a permit is free', async () => {
    await inTask(function* () {
      const s = new Semaphore();
      const result: string[] = [];
      s.rawlink(() => void result.push('a'));
      s.release();
      s.rawlink(() => void result.push('b'));
      s.release();
      yield* sleep(1);
      // The order, though, is not guaranteed.
      expect([...result].sort()).toEqual(['a', 'b']);
    });
  });

  it('test_rawlink_on_unacquired_runs_notifiers: wait([sem]) on a free semaphore returns at once (gevent#1287)', async () => {
    await inTask(function* () {
      const s = new Semaphore();
      expect(yield* wait([s])).toEqual([s]);
    });
  });
});

describe('TestSemaphoreFair', () => {
  it('test_fair_or_hangs: waiters are served in arrival order, so the last one in line gets the permit (gevent#1487)', async () => {
    await inTask(function* () {
      const sem = new Semaphore();
      const shouldQuit: boolean[] = [];
      function* acquireThenExit(): GreenletBody<void> {
        yield* sem.acquire();
        shouldQuit.push(true);
      }
      function* acquireThenSpawn(): GreenletBody<void> {
        if (shouldQuit.length !== 0) return;
        yield* sem.acquire();
        yield* spawn(releaseThenSpawn).join();
      }
      function* releaseThenSpawn(): GreenletBody<void> {
        sem.release();
        if (shouldQuit.length !== 0) return;
        yield* spawn(acquireThenSpawn).join();
      }
      const keepGoing1 = spawn(acquireThenSpawn);
      const keepGoing2 = spawn(acquireThenSpawn);
      const exiting = spawn(acquireThenExit);
      // gevent: joinall raises LoopExit, as keepGoing1 waits forever; here, a bounded join.
      const ended = yield* joinall([keepGoing1, keepGoing2, exiting], { timeout: LARGE_TICK });
      expect(ended).toHaveLength(2);
      expect(exiting.dead).toBe(true);
      expect(keepGoing2.dead).toBe(true);
      expect(keepGoing1.dead).toBe(false);

      sem.release();
      yield* keepGoing1.kill();
      yield* keepGoing2.kill();
      yield* exiting.kill();
      yield* sleep(1);
    });
  });
});
