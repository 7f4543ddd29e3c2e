/**
 * Port of gevent's `src/gevent/tests/test__api.py` (gevent 26.5.0): the PORTABLE and
 * ADAPT tests of CATALOG.md, one test per reference test, named after it. Delays are
 * scaled down (0.1 s becomes 20 ms).
 *
 * Not ported (N/A in CATALOG.md): test_invalid_switch_None / _0 / _1, which switch into a
 * greenlet blocked in `socket.wait_read`; the refusal of such a switch is
 * test_sleep_invalid_switch.
 */
import { describe, expect, it } from 'vitest';
import { GreenletError, Timeout, sleep, spawn, spawnLater, withTimeout, type GreenletBody } from 'greenlet-ts';
import { FOREVER, LARGE_TICK, expectNoTimersLeft, inTask, raisedBy } from './harness.js';

expectNoTimersLeft();

const DELAY = 20;

describe('Test', () => {
  it('test_killing_dormant: kill() waits until the killed task has run its except and the code after it', async () => {
    await inTask(function* () {
      const state: string[] = [];
      const g = spawn(function* test(): GreenletBody<void> {
        try {
          state.push('start');
          // gevent: DELAY * 3. Only the kill ends it; with 60 ms, a stall of 50 ms woke it
          // in the same host timer callback as the DELAY / 2 sleep below, so that the kill
          // found it on its way out of the sleep, with no error to catch.
          yield* sleep(FOREVER);
        } catch {
          state.push('except'); // catching GreenletExit
        }
        state.push('finished');
      });
      yield* sleep(DELAY / 2);
      expect(state).toEqual(['start']);
      yield* g.kill();
      // will not get there, unless switching is explicitly scheduled by kill
      expect(state).toEqual(['start', 'except', 'finished']);
    });
  });

  it('test_nested_with_timeout: the outer withTimeout strikes through the inner one\'s timeoutValue', async () => {
    await inTask(function* () {
      const func = () => withTimeout({ ms: DELAY * 2, timeoutValue: 1 }, () => sleep(DELAY * 20));
      expect(yield* raisedBy(() => withTimeout(DELAY, func))).toBeInstanceOf(Timeout);
    });
  });

  it('test_sleep_invalid_switch: a raw switch into a sleeping task is refused with GreenletError (gevent: the sleeper raises "Invalid switch")', async () => {
    await inTask(function* () {
      const p = spawn(sleeper, DELAY * 2);
      yield* sleep(0); // wait for p to start
      const switcher = spawn(() => p.switch(null));
      expect(yield* raisedBy(() => switcher.get())).toBeInstanceOf(GreenletError);
      expect(yield* p.get()).toBe('slept'); // p was not disturbed
    });
  });
});

function* sleeper(ms: number): GreenletBody<string> {
  yield* sleep(ms);
  return 'slept';
}

describe('TestTimers', () => {
  it('test_timer_fired: spawnLater from inside a task fires', async () => {
    await inTask(function* () {
      const lst = [1];
      spawn(function* func(): GreenletBody<void> {
        spawnLater(10, () => lst.pop());
        yield* sleep(20);
      });
      // func has not run yet
      expect(lst).toEqual([1]);
      // run it, but do not wait
      yield* sleep(0);
      // let the timers fire: func is done
      yield* sleep(LARGE_TICK * 2);
      expect(lst).toEqual([]);
    });
  });

  it('test_spawn_is_not_cancelled: a task spawned by a task that ends at once still runs', async () => {
    await inTask(function* () {
      const lst = [1];
      spawn(() => {
        spawn(() => lst.pop());
        // exiting immediately, but lst.pop must be called
      });
      yield* sleep(LARGE_TICK);
      expect(lst).toEqual([]);
    });
  });
});
