/**
 * iwait, wait, joinall, killall over tasks. gevent: test__iwait.py, test__joinall.py,
 * test__greenlet.py::TestStuff (joinall), TestKill (killall).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GreenletExit, getHub, iwait, joinall, killall, run, sleep, spawn, wait, type GreenletBody, type Task } from 'greenlet-ts';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

function* after(ms: number, value: string): GreenletBody<string> {
  yield* sleep(ms);
  return value;
}

/**
 * Ends with `value` once `first` has ended: so it becomes ready after `first`, whatever the
 * machine's speed. (Two tasks sleeping 1 and 20 ms can end in either order on a loaded
 * machine: each deadline is taken from the clock when its task runs, and the process may
 * be preempted for more than 19 ms between the two.)
 */
function* endsAfter(first: Task, value: string): GreenletBody<string> {
  yield* first.join();
  return value;
}

describe('iwait', () => {
  it('hands out tasks in the order they end, then next() is false (gevent: Testiwait::test_iwait_partial)', async () => {
    const order = await run(function* () {
      const fast = spawn(after, 1, 'fast');
      const middle = spawn(endsAfter, fast, 'middle');
      const tasks = [spawn(endsAfter, middle, 'slow'), fast, middle];
      const seen: unknown[] = [];
      const it = iwait(tasks);
      for (; yield* it.next(); ) seen.push(it.value.value);
      seen.push(yield* it.next(), it.value);
      return seen;
    });
    expect(order).toEqual(['fast', 'middle', 'slow', false, undefined]);
  });

  it('forEach calls the function for each task as it ends, and may block in it', async () => {
    const seen = await run(function* () {
      const log: string[] = [];
      const fast = spawn(after, 1, 'fast');
      const tasks = [spawn(endsAfter, fast, 'slow'), fast];
      yield* iwait(tasks).forEach(function* (t: Task) {
        yield* sleep(1);
        log.push(String(t.value));
      });
      return log;
    });
    expect(seen).toEqual(['fast', 'slow']);
  });

  it('stops after count objects and unregisters from the rest (gevent: test_iwait_nogarbage)', async () => {
    const result = await run(function* () {
      const fast = spawn(after, 1, 'fast');
      const slow = spawn(after, 10_000, 'slow');
      const it = iwait([fast, slow], { count: 1 });
      const first = (yield* it.next()) && it.value;
      const end = yield* it.next();
      const slowHasLinks = slow.hasLinks();
      yield* slow.kill();
      return [first === fast, end, slowHasLinks];
    });
    expect(result).toEqual([true, false, false]);
  });

  it('ends at the timeout with what is ready so far', async () => {
    const result = await run(function* () {
      const slow = spawn(after, 10_000, 'slow');
      const it = iwait([slow], { timeout: 5 });
      const r = yield* it.next();
      it.close();
      yield* slow.kill();
      return r;
    });
    expect(result).toBe(false);
  });

  it('returns objects that are already ready first, without waiting (gevent: test_noiter)', async () => {
    const result = await run(function* () {
      const done = spawn(after, 0, 'done');
      yield* done.join();
      const it = iwait([done]);
      return [(yield* it.next()) && it.value === done, yield* it.next()];
    });
    expect(result).toEqual([true, false]);
  });
});

describe('wait and joinall', () => {
  it('wait evaluates to the ready objects in the order they became ready', async () => {
    const values = await run(function* () {
      const a = spawn(after, 1, 'a');
      const ready = yield* wait([spawn(endsAfter, a, 'b'), a]);
      return ready.map((t) => t.value);
    });
    expect(values).toEqual(['a', 'b']);
  });

  it('joinall with a timeout evaluates to the tasks that ended in time (gevent: TestJoinAll)', async () => {
    const result = await run(function* () {
      // 'fast' ends in the pass that starts it, before any timer can fire: a sleep of its
      // own could be armed after the joinall's deadline on a loaded machine.
      const fast = spawn(function* () {
        return 'fast';
      });
      const slow = spawn(after, 10_000, 'slow');
      const done = yield* joinall([fast, slow], { timeout: 20 });
      yield* slow.kill();
      return done.map((t) => t.value);
    });
    expect(result).toEqual(['fast']);
  });

  it('joinall with raiseError raises the first failure (gevent: TestStuff::test_joinall_exception_order)', async () => {
    class First extends Error {}
    const result = await run(function* () {
      const failing = spawn(function* () {
        yield* sleep(1);
        throw new First('first');
      });
      const slow = spawn(after, 50, 'slow');
      try {
        yield* joinall([slow, failing], { raiseError: true });
        return 'no error';
      } catch (e) {
        return e instanceof First ? 'First raised' : 'other';
      } finally {
        yield* slow.kill();
      }
    });
    expect(result).toBe('First raised');
  });
});

describe('killall (gevent: TestKill::test_block_killall)', () => {
  it('kills every task and waits until they have ended', async () => {
    const finallies: string[] = [];
    const tasks = await run(function* () {
      const list = ['a', 'b', 'c'].map((name) =>
        spawn(function* () {
          try {
            yield* sleep(10_000);
          } finally {
            finallies.push(name);
          }
        }),
      );
      yield* sleep(0);
      yield* killall(list);
      return list;
    });
    expect(finallies.sort()).toEqual(['a', 'b', 'c']);
    expect(tasks.every((t) => t.dead && (t.value as unknown) instanceof GreenletExit)).toBe(true);
  });

  it('with block: false returns before the tasks have ended', async () => {
    const result = await run(function* () {
      const t = spawn(after, 10_000, 'x');
      yield* sleep(0);
      yield* killall([t], undefined, { block: false });
      const deadAtOnce = t.dead;
      yield* t.join();
      return [deadAtOnce, t.dead];
    });
    expect(result).toEqual([false, true]);
  });
});
