/**
 * Port of gevent's `src/gevent/tests/test__greenletset.py` (gevent 26.5.0), which tests
 * `gevent.pool.Group` and `gevent.killall`: its nine tests, one per reference test.
 * Delays are scaled down (LARGE_TICK is 50 ms here).
 */
import { describe, expect, it } from 'vitest';
import { Group, Task, Timeout, killall, sleep, withTimeout, type GreenletBody } from 'greenlet-ts';
import { LARGE_TICK, collectReports, expectNoTimersLeft, inTask, raisedBy, since } from './harness.js';

expectNoTimersLeft();
collectReports();

const DELAY = LARGE_TICK;
const LARGE_TICK_MIN_ADJ = LARGE_TICK / 2;

class SpecialError extends Error {}

/** A task body that survives every kill but a SpecialError, counting the shots. */
class Undead {
  shotCount = 0;
  readonly body = function* (this: void, self: Undead): GreenletBody<void> {
    for (;;) {
      try {
        yield* sleep(1000);
      } catch (error) {
        if (error instanceof SpecialError) break;
        self.shotCount += 1;
      }
    }
  };
}

class GreenletSubclass<R, A extends unknown[]> extends Task<R, A> {}

function* sleeper(ms: number): GreenletBody<void> {
  yield* sleep(ms);
}

describe('Test', () => {
  it('test_basic: a Group shrinks as its tasks end', async () => {
    await inTask(function* () {
      const s = new Group();
      s.spawn(sleeper, LARGE_TICK);
      expect(s.size).toBe(1);
      s.spawn(sleeper, LARGE_TICK * 5);
      expect(s.size).toBe(2);
      yield* sleep(0);
      yield* sleep(LARGE_TICK * 2 + LARGE_TICK_MIN_ADJ);
      expect(s.size).toBe(1);
      yield* sleep(LARGE_TICK * 5 + LARGE_TICK_MIN_ADJ);
      expect(s.size).toBe(0);
    });
  });

  it('test_waitall: join({ raiseError: true }) waits for the last task', async () => {
    await inTask(function* () {
      const s = new Group();
      s.spawn(sleeper, DELAY);
      s.spawn(sleeper, DELAY * 2);
      expect(s.size).toBe(2);
      const start = performance.now();
      yield* s.join({ raiseError: true });
      const delta = since(start);
      expect(s.size).toBe(0);
      expect(delta).toBeGreaterThanOrEqual(DELAY * 2 - 1);
      expect(delta).toBeLessThan(DELAY * 2 * 5 + 500);
    });
  });

  it('test_kill_block: kill() empties the group before it returns, without waiting for the sleeps', async () => {
    await inTask(function* () {
      const s = new Group();
      s.spawn(sleeper, DELAY);
      s.spawn(sleeper, DELAY * 2);
      expect(s.size).toBe(2);
      const start = performance.now();
      yield* s.kill();
      expect(s.size).toBe(0);
      expect(since(start)).toBeLessThan(DELAY * 0.8);
    });
  });

  it('test_kill_noblock: kill({ block: false }) returns before the tasks end; the group is empty after a turn of the hub', async () => {
    await inTask(function* () {
      const s = new Group();
      s.spawn(sleeper, DELAY);
      s.spawn(sleeper, DELAY * 2);
      expect(s.size).toBe(2);
      // A task killed before it ever ran ends (and leaves the group) at once here; in
      // gevent its links fire at the hub's next turn. So the tasks run first.
      yield* sleep(0);
      s.kill({ block: false });
      expect(s.size).toBe(2);
      yield* sleep(1);
      expect(s.size).toBe(0);
    });
  });

  it('test_kill_fires_once: killone and kill raise in each task once, however often they are called', async () => {
    await inTask(function* () {
      const u1 = new Undead();
      const u2 = new Undead();
      const p1 = new Task(u1.body, u1).start();
      const p2 = new Task(u2.body, u2).start();
      const check = (count1: number, count2: number): void => {
        expect([p1.active, p2.active, p1.dead, p2.dead]).toEqual([true, true, false, false]);
        expect([u1.shotCount, u2.shotCount]).toEqual([count1, count2]);
      };
      yield* sleep(10);
      const s = new Group([p1, p2]);
      expect(s.size).toBe(2);
      check(0, 0);
      s.killone(p1, { block: false });
      check(0, 0);
      yield* sleep(0);
      check(1, 0);
      yield* s.killone(p1);
      check(1, 0);
      yield* s.killone(p1);
      check(1, 0);
      s.kill({ block: false });
      s.kill({ block: false });
      s.kill({ block: false });
      check(1, 0);
      yield* sleep(DELAY);
      check(1, 1);
      const X = {};
      const killResult = yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => s.kill({ block: true }));
      expect(killResult).toBe(X);
      expect(s.size).toBe(2);
      check(1, 1);

      yield* p1.kill(SpecialError);
      yield* p2.kill(SpecialError);
    });
  });

  it('test_killall_subclass: kill a group of tasks of a Task subclass', async () => {
    await inTask(function* () {
      const p1 = new GreenletSubclass(() => {
        throw new RangeError('1 / 0');
      }).start();
      const p2 = new GreenletSubclass(sleeper, 10_000).start();
      const s = new Group([p1, p2]);
      yield* s.kill();
      expect([p1.dead, p2.dead]).toEqual([true, true]);
    });
  });

  it('test_killall_iterable_argument_non_block: killall over a Set, without waiting', async () => {
    await inTask(function* () {
      const p1 = new GreenletSubclass(sleeper, DELAY).start();
      const p2 = new GreenletSubclass(sleeper, DELAY).start();
      const s = new Set([p1, p2]);
      yield* killall(s, { block: false });
      yield* sleep(DELAY);
      for (const g of s) expect(g.dead).toBe(true);
    });
  });

  /** The reference's f: a task that sleeps again when killed. */
  function* stubborn(): GreenletBody<void> {
    try {
      yield* sleep(DELAY * 30);
    } catch {
      yield* sleep(DELAY * 20);
    }
  }

  it('test_killall_iterable_argument_timeout_not_started: killall of tasks that never ran ends them at once', async () => {
    await inTask(function* () {
      const p1 = new GreenletSubclass(stubborn).start();
      const p2 = new GreenletSubclass(stubborn).start();
      const s = new Set([p1, p2]);
      yield* killall(s, { timeout: DELAY * 10 });
      for (const g of s) expect(g.dead).toBe(true);
    });
  });

  it('test_killall_iterable_argument_timeout_started: killall raises Timeout when the tasks outlive the timeout', async () => {
    await inTask(function* () {
      const p1 = new GreenletSubclass(stubborn).start();
      const p2 = new GreenletSubclass(stubborn).start();
      const s = new Set([p1, p2]);
      yield* sleep(1); // get them both running
      expect(yield* raisedBy(() => killall(s, { timeout: DELAY }))).toBeInstanceOf(Timeout);
      for (const g of s) expect(g.dead).toBe(false);
      yield* killall(s); // the second kill ends their second sleep
    });
  });
});
