/**
 * Group: gevent.pool.Group, and the map/imap machinery every task set shares.
 *
 * Ports of gevent's src/gevent/tests/test__greenletset.py and of the Group-applicable
 * parts of test__pool.py, plus the structured behaviours gevent lacks (gevent#1933: map
 * kills and awaits the rest on the first error; gevent#1215: closing an imap, or killing
 * its consumer, stops its spawner).
 *
 * Timing: gevent's tests sleep real seconds; here each task's duration is a number of
 * `sleep(0)` yields, so every ordering is decided by the scheduler, never by the clock.
 *
 * N/A in test__greenletset.py:
 * - test_killall_iterable_argument_*: `gevent.killall` on a plain set is hub API
 *   (hub/wait.ts), not Group's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  GreenletError,
  GreenletExit,
  Task,
  currentTaskOrNull,
  getHub,
  run,
  sleep,
  spawn,
  withTimeout,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import { Group, TaskSet } from '../../src/sync/group.js';

/** Long enough to mean "until killed": no test waits for it to pass. */
const FOREVER = 100_000;

class SpecialError extends Error {}
class ExpectedError extends Error {}

/** A task body that lasts `n` scheduler passes. */
function* passes(n: number): GreenletBody<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

/** `sleep` as a task body (sleep itself is an operation, not a generator function). */
function* sleepFor(ms: number): GreenletBody<void> {
  yield* sleep(ms);
}

/** Square `x` after `x % 3` passes (so tasks end out of order). */
function* slowSquare(x: number): GreenletBody<number> {
  yield* passes(x % 3);
  return x * x;
}

afterEach(() => {
  // Nothing left behind: no timer, no task (the test's own run() task has ended too).
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
});

describe('membership', () => {
  // gevent: test__greenletset.py::Test::test_basic
  it('tracks spawned tasks and drops each one as it ends', async () => {
    await run(function* () {
      const group = new Group();
      const short = group.spawn(passes, 1);
      expect(group.size).toBe(1);
      const long = group.spawn(passes, 5);
      expect(group.size).toBe(2);
      yield* short.join();
      expect(group.size).toBe(1);
      expect(group.has(short)).toBe(false);
      expect(group.has(long)).toBe(true);
      yield* long.join();
      expect(group.size).toBe(0);
    });
  });

  it('iterates over its tasks in the order they joined', async () => {
    await run(function* () {
      const group = new Group();
      const a = group.spawn(passes, 1);
      const b = group.spawn(passes, 1);
      expect([...group]).toEqual([a, b]);
      yield* group.join();
    });
  });

  // gevent: test__greenletset.py::Test::test_kill_fires_once (Group(iterable))
  it('tracks the tasks given to its constructor, except those that have ended', async () => {
    await run(function* () {
      const ended = spawn(() => 1);
      yield* ended.join();
      const running = spawn(passes, 1);
      const group = new Group([ended, running]);
      expect([...group]).toEqual([running]);
      yield* group.join();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_discard (for a Group)
  it('stops tracking a discarded task, which keeps running', async () => {
    await run(function* () {
      const group = new Group();
      const task = group.spawn(passes, 2);
      group.discard(task);
      expect(group.size).toBe(0);
      expect(yield* group.join()).toBe(true);
      expect(task.ready()).toBe(false);
      yield* task.join();
      expect(task.successful()).toBe(true);
    });
  });

  it('adds a task without starting it; start() adds and starts', async () => {
    await run(function* () {
      const group = new Group();
      const task = new Task(() => 'done');
      group.add(task);
      expect(group.has(task)).toBe(true);
      expect(task.started).toBe(false);
      expect(group.start(task)).toBe(task);
      expect(yield* task.get()).toBe('done');
      expect(group.size).toBe(0);
    });
  });

  it('is a TaskSet, never full, and always has room', async () => {
    await run(function* () {
      const group = new Group();
      expect(group).toBeInstanceOf(TaskSet);
      expect(group.full()).toBe(false);
      expect(yield* group.waitAvailable()).toBe(Infinity);
    });
  });
});

describe('join', () => {
  // gevent: test__pool.py::TestJoinEmpty::test
  it('evaluates to true at once when the group is empty', async () => {
    await run(function* () {
      expect(yield* new Group().join()).toBe(true);
    });
  });

  // gevent: test__greenletset.py::Test::test_waitall
  it('waits until every task has ended and the group is empty', async () => {
    await run(function* () {
      const group = new Group();
      const ended: number[] = [];
      group.spawn(function* () {
        yield* passes(1);
        ended.push(1);
      });
      group.spawn(function* () {
        yield* passes(2);
        ended.push(2);
      });
      expect(yield* group.join(undefined, true)).toBe(true);
      expect(ended).toEqual([1, 2]);
      expect(group.size).toBe(0);
      expect(group.waiting).toBe(0);
    });
  });

  // gevent: test__pool.py::TestSpawn::testSpawnAndWait (for a Group)
  it('evaluates to false when the timeout passes first, and leaves nothing registered', async () => {
    await run(function* () {
      const group = new Group();
      const task = group.spawn(sleepFor, FOREVER);
      expect(yield* group.join(10)).toBe(false);
      expect(group.waiting).toBe(0);
      expect(group.size).toBe(1);
      yield* task.kill();
    });
  });

  // gevent: pool.py Group.join(raise_error=True)
  it('raises the error of a member that failed, with raiseError', async () => {
    await run(function* () {
      const group = new Group();
      group.spawn(() => {
        throw new ExpectedError('boom');
      });
      group.spawn(passes, 2);
      let caught: unknown;
      try {
        yield* group.join(undefined, true);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(group.size).toBe(0);
    });
  });

  it('takes gevent\'s keywords as options: join({ raiseError: true }) raises, join({ timeout }) evaluates to false when the time runs out', async () => {
    await run(function* () {
      const failing = new Group();
      const error = new ExpectedError('boom');
      failing.spawn(() => {
        throw error;
      });
      let caught: unknown;
      try {
        yield* failing.join({ raiseError: true });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(error);
      const busy = new Group();
      const task = busy.spawn(sleepFor, FOREVER);
      expect(yield* busy.join({ timeout: 10 })).toBe(false);
      yield* task.kill();
    });
  });

  it('does not raise a member’s error without raiseError', async () => {
    await run(function* () {
      const group = new Group();
      const failing = group.spawn(() => {
        throw new ExpectedError('boom');
      });
      expect(yield* group.join()).toBe(true);
      expect(failing.exception).toBeInstanceOf(ExpectedError);
    });
  });

  it('refuses to wait when the caller is a member of the group', async () => {
    await run(function* () {
      const group = new Group();
      const member = group.spawn(function* (): GreenletBody<unknown> {
        try {
          yield* group.join();
          return 'joined';
        } catch (e) {
          return e;
        }
      });
      const error = yield* member.get();
      expect(error).toBeInstanceOf(GreenletError);
      expect(String((error as Error).message)).toMatch(/cannot wait for its own group/);
    });
  });
});

describe('kill', () => {
  // gevent: test__greenletset.py::Test::test_kill_block
  it('kills every task and waits until all have ended', async () => {
    await run(function* () {
      const group = new Group();
      const cleaned: number[] = [];
      for (const id of [1, 2]) {
        group.spawn(function* () {
          try {
            yield* sleep(FOREVER);
          } finally {
            cleaned.push(id);
          }
        });
      }
      yield* sleep(0); // let them start
      yield* group.kill();
      expect(group.size).toBe(0);
      expect(cleaned).toEqual([1, 2]);
    });
  });

  // gevent: test__greenletset.py::Test::test_kill_noblock
  it('with block: false, raises in each task and returns at once', async () => {
    await run(function* () {
      const group = new Group();
      group.spawn(sleepFor, FOREVER);
      group.spawn(sleepFor, FOREVER);
      yield* sleep(0);
      group.kill(undefined, { block: false });
      expect(group.size).toBe(2);
      yield* sleep(0);
      expect(group.size).toBe(0);
    });
  });

  // gevent: test__greenletset.py::Test::test_kill_fires_once
  it('raises in each task only once, however often kill and killone are called', async () => {
    await run(function* () {
      const shots = [0, 0];
      const undead = (i: number) =>
        function* undying(): GreenletBody<void> {
          for (;;) {
            try {
              yield* sleep(FOREVER);
            } catch (e) {
              if (e instanceof SpecialError) return;
              shots[i]!++;
            }
          }
        };
      const p1 = spawn(undead(0));
      const p2 = spawn(undead(1));
      yield* sleep(0);
      const group = new Group([p1, p2]);
      expect(group.size).toBe(2);

      group.killone(p1, undefined, { block: false });
      expect(shots).toEqual([0, 0]);
      yield* sleep(0);
      expect(shots).toEqual([1, 0]);
      yield* group.killone(p1);
      yield* group.killone(p1);
      expect(shots).toEqual([1, 0]);
      for (let i = 0; i < 3; i++) group.kill(undefined, { block: false });
      expect(shots).toEqual([1, 0]);
      yield* sleep(0);
      expect(shots).toEqual([1, 1]);

      const outcome = yield* withTimeout({ ms: 10, timeoutValue: 'timed out' }, function* () {
        yield* group.kill();
        return 'killed';
      });
      expect(outcome).toBe('timed out');
      expect(group.size).toBe(2);
      expect(shots).toEqual([1, 1]);

      yield* p1.kill(SpecialError);
      yield* p2.kill(SpecialError);
      expect(group.size).toBe(0);
    });
  });

  // gevent: Group.kill(timeout=...)
  it('stops waiting quietly when its timeout passes', async () => {
    await run(function* () {
      const group = new Group();
      const stubborn = group.spawn(function* () {
        try {
          yield* sleep(FOREVER);
        } catch {
          yield* sleep(FOREVER); // cleanup that takes long
        }
      });
      yield* sleep(0);
      yield* group.kill(undefined, { timeout: 10 });
      expect(group.has(stubborn)).toBe(true);
      yield* stubborn.kill();
    });
  });

  // gevent: test__greenletset.py::Test::test_killall_subclass
  it('does not raise the error of a task that fails as it is killed', async () => {
    await run(function* () {
      const group = new Group();
      const failing = group.spawn(function* () {
        try {
          yield* sleep(FOREVER);
        } finally {
          throw new ExpectedError('in finally');
        }
      });
      const sleeping = group.spawn(sleepFor, FOREVER);
      yield* sleep(0);
      yield* group.kill();
      expect(group.size).toBe(0);
      expect(failing.exception).toBeInstanceOf(ExpectedError);
      expect(sleeping.value).toBeInstanceOf(GreenletExit);
    });
  });

  it('kills a task that has not started: it never runs', async () => {
    await run(function* () {
      const group = new Group();
      let ran = false;
      group.spawn(() => {
        ran = true;
      });
      yield* group.kill();
      expect(ran).toBe(false);
      expect(group.size).toBe(0);
    });
  });

  it('kills the calling member last, at its next blocking call', async () => {
    await run(function* () {
      const group = new Group();
      const other = group.spawn(sleepFor, FOREVER);
      const killer = group.spawn(function* () {
        yield* sleep(0);
        yield* group.kill();
      });
      yield* killer.join();
      expect(killer.value).toBeInstanceOf(GreenletExit);
      yield* other.join();
      expect(other.value).toBeInstanceOf(GreenletExit);
    });
  });
});

describe('apply', () => {
  // gevent: test__pool.py::TestCoroutinePool::test_apply
  it('runs the function in a task of the group and evaluates to its result', async () => {
    await run(function* () {
      const group = new Group();
      let inGroup = false;
      const value = yield* group.apply(function* (x: number) {
        inGroup = [...group].length === 1;
        yield* sleep(0);
        return x + 1;
      }, 41);
      expect(value).toBe(42);
      expect(inGroup).toBe(true);
    });
  });

  // gevent: test__pool.py::TestCoroutinePool::test_apply_raises
  it('raises the function’s error', async () => {
    await run(function* () {
      const group = new Group();
      let caught: unknown;
      try {
        yield* group.apply(() => {
          throw new ExpectedError();
        });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
    });
  });

  // gevent: pool.py GroupMappingMixin._apply_immediately
  it('runs inline when the caller is already a member', async () => {
    await run(function* () {
      const group = new Group();
      const outer = group.spawn(function* () {
        const me = currentTaskOrNull();
        return yield* group.apply(() => currentTaskOrNull() === me && group.size === 1);
      });
      expect(yield* outer.get()).toBe(true);
    });
  });

  it('kills the task it started when the caller stops waiting', async () => {
    await run(function* () {
      const group = new Group();
      let cleaned = false;
      const outcome = yield* withTimeout({ ms: 10, timeoutValue: 'gave up' }, function* () {
        return yield* group.apply(function* () {
          try {
            yield* sleep(FOREVER);
          } finally {
            cleaned = true;
          }
        });
      });
      expect(outcome).toBe('gave up');
      yield* group.join();
      expect(cleaned).toBe(true);
    });
  });

  // gevent: test__pool.py::TestCoroutinePool::test_apply_async
  it('applyAsync starts the function in the group and returns its task', async () => {
    await run(function* () {
      const group = new Group();
      const task = group.applyAsync((x: string) => x.toUpperCase(), 'x');
      expect(group.has(task)).toBe(true);
      expect(yield* task.get()).toBe('X');
    });
  });
});

describe('map', () => {
  // gevent: test__pool.py::TestPool::test_map
  it('evaluates to the results in the order of the items', async () => {
    await run(function* () {
      const group = new Group();
      expect(yield* group.map(slowSquare, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
      expect(group.size).toBe(0);
    });
  });

  // gevent: test__pool.py::TestPool::test_empty_map
  it('evaluates to an empty list for no items', async () => {
    await run(function* () {
      expect(yield* new Group().map(slowSquare, [])).toEqual([]);
    });
  });

  // gevent#1933; gevent: test__pool.py::TestErrorInHandler::test_map
  it('on the first error, kills and awaits the others, starts no more, then raises', async () => {
    await run(function* () {
      const group = new Group();
      const started: number[] = [];
      const cleaned: number[] = [];
      function* work(x: number): GreenletBody<number> {
        started.push(x);
        try {
          if (x === 1) {
            yield* passes(1);
            throw new ExpectedError(`item ${x}`);
          }
          yield* sleep(FOREVER);
          return x;
        } finally {
          cleaned.push(x);
        }
      }
      let caught: unknown;
      try {
        yield* group.map(work, [0, 1, 2]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(started).toEqual([0, 1, 2]);
      expect(cleaned.sort()).toEqual([0, 1, 2]);
      expect(group.size).toBe(0);
    });
  });

  it('toArray() stops at the first error in order: closes the input, kills and awaits the rest', async () => {
    await run(function* () {
      const group = new Group();
      const started: number[] = [];
      let inputClosed = false;
      function* items(): Generator<number> {
        try {
          for (let i = 0; i < 100; i++) yield i;
        } finally {
          inputClosed = true;
        }
      }
      // Group starts every item at once: the failure must come from the input side.
      const it = group.imap(
        function* (x: number) {
          started.push(x);
          yield* passes(1);
          if (x === 2) throw new ExpectedError();
          return x;
        },
        items(),
        { maxsize: 3 },
      );
      let caught: unknown;
      try {
        yield* it.toArray();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(started.length).toBeLessThan(10);
      expect(inputClosed).toBe(true);
      expect(group.size).toBe(0);
    });
  });

  // gevent: test__pool.py::TestErrorInIterator::test
  it('raises the error of the items’ iterator', async () => {
    await run(function* () {
      function* errorIter(): Generator<number> {
        yield 1;
        yield 2;
        throw new ExpectedError();
      }
      let caught: unknown;
      try {
        yield* new Group().map(() => null, errorIter());
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
    });
  });

  // gevent#1215 (for map)
  it('kills its tasks when the caller is killed', async () => {
    await run(function* () {
      const group = new Group();
      const cleaned: number[] = [];
      const caller = spawn(function* () {
        return yield* group.map(function* (x: number) {
          try {
            yield* sleep(FOREVER);
          } finally {
            cleaned.push(x);
          }
        }, [1, 2, 3]);
      });
      yield* passes(2);
      expect(group.size).toBe(3);
      yield* caller.kill();
      expect(cleaned.sort()).toEqual([1, 2, 3]);
      expect(group.size).toBe(0);
    });
  });
});

describe('imap', () => {
  // gevent: test__pool.py::TestPool::test_imap_it_small
  it('hands the results over one by one in the order of the items, then done', async () => {
    await run(function* () {
      const it = new Group().imap(slowSquare, [0, 1, 2, 3, 4]);
      const results: number[] = [];
      while (yield* it.next()) results.push(it.value);
      expect(results).toEqual([0, 1, 4, 9, 16]);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestPool::test_empty_imap
  it('is done at once for no items', async () => {
    await run(function* () {
      const it = new Group().imap(slowSquare, []);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_unordered_sleep (unbounded pool)
  it('imapUnordered hands the results over in the order the tasks end', async () => {
    await run(function* () {
      const group = new Group();
      const results = yield* group
        .imapUnordered(function* (n: number) {
          yield* passes(n);
          return String(n);
        }, [10, 1, 2])
        .toArray();
      expect(results).toEqual(['1', '2', '10']);
    });
  });

  // gevent: test__pool.py::TestPool::test_empty_imap_unordered
  it('imapUnordered is done at once for no items', async () => {
    await run(function* () {
      expect(yield* new Group().imapUnordered(slowSquare, []).toArray()).toEqual([]);
    });
  });

  // gevent: test__pool.py::TestErrorInHandler::test_imap (for a Group)
  it('raises an item’s error at its place, then goes on', async () => {
    await run(function* () {
      const it = new Group().imap((x: number) => {
        if (x === 0) throw new ExpectedError();
        return 1 / x;
      }, [1, 0, 2]);
      expect((yield* it.next()) && it.value).toBe(1);
      let caught: unknown;
      try {
        yield* it.next();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect((yield* it.next()) && it.value).toBe(0.5);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestErrorInIterator::test_unordered
  it('imapUnordered raises the iterator’s error after the results before it', async () => {
    await run(function* () {
      function* errorIter(): Generator<number> {
        yield 1;
        yield 2;
        throw new ExpectedError();
      }
      const it = new Group().imapUnordered((x: number) => x, errorIter());
      expect((yield* it.next()) && it.value).toBe(1);
      expect((yield* it.next()) && it.value).toBe(2);
      let caught: unknown;
      try {
        yield* it.next();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_unordered_bounded_queue (issue 638)
  it('with maxsize, never has more results running or unread than maxsize', async () => {
    await run(function* () {
      for (const ordered of [true, false]) {
        const group = new Group();
        let started = 0;
        const fn = (i: number) => {
          started++;
          return i;
        };
        const items = Array.from({ length: 20 }, (_, i) => i);
        const it = ordered ? group.imap(fn, items, { maxsize: 2 }) : group.imapUnordered(fn, items, { maxsize: 2 });
        const read: number[] = [];
        while (yield* it.next()) {
          expect(started - read.length).toBeLessThanOrEqual(2);
          read.push(it.value);
          yield* passes(3); // a slow reader
          expect(started - read.length).toBeLessThanOrEqual(2);
        }
        expect(read.sort((a, b) => a - b)).toEqual(items);
      }
    });
  });

  it('rejects a maxsize that is not a positive integer', () => {
    expect(() => new Group().imap((x: number) => x, [1], { maxsize: 0 })).toThrow(RangeError);
  });

  // gevent#1215
  it('close() stops the spawner and kills the tasks still running', async () => {
    await run(function* () {
      const group = new Group();
      const started: number[] = [];
      const cleaned: number[] = [];
      const it = group.imap(
        function* (x: number) {
          started.push(x);
          try {
            yield* passes(x === 0 ? 0 : 1000);
          } finally {
            cleaned.push(x);
          }
          return x;
        },
        Array.from({ length: 50 }, (_, i) => i),
        { maxsize: 3 },
      );
      expect((yield* it.next()) && it.value).toBe(0);
      it.close();
      expect(yield* it.next()).toBe(false);
      yield* group.join();
      // 0, 1 and 2 filled the window; reading 0 made room, but close() came first.
      expect(started).toEqual([0, 1, 2]);
      expect(cleaned.sort((a, b) => a - b)).toEqual([0, 1, 2]);
    });
  });

  // gevent#1215
  it('stops when the task waiting in next() is killed', async () => {
    await run(function* () {
      const group = new Group();
      let started = 0;
      const consumer = spawn(function* () {
        const it = group.imap(
          function* (x: number) {
            started++;
            yield* sleep(FOREVER);
            return x;
          },
          Array.from({ length: 50 }, (_, i) => i),
          { maxsize: 2 },
        );
        yield* it.next();
      });
      yield* passes(2);
      expect(group.size).toBe(2);
      yield* consumer.kill();
      yield* group.join();
      yield* passes(2);
      expect(started).toBe(2);
      expect(group.size).toBe(0);
    });
  });

  it('stops at the end of a using block', async () => {
    await run(function* () {
      const group = new Group();
      let cleaned = 0;
      {
        using it = group.imapUnordered(
          function* (x: number) {
            try {
              yield* passes(x);
            } finally {
              cleaned++;
            }
            return x;
          },
          [1, 500, 500],
        );
        expect((yield* it.next()) && it.value).toBe(1);
      }
      yield* group.join();
      expect(cleaned).toBe(3);
    });
  });

  it('counts the tasks parked in next()', async () => {
    await run(function* () {
      const it = new Group().imap(function* (x: number) {
        yield* passes(2);
        return x;
      }, [1]);
      const reader = spawn(function* () {
        return (yield* it.next()) && it.value;
      });
      yield* sleep(0);
      expect(it.waiting).toBe(1);
      expect(yield* reader.get()).toBe(1);
      expect(it.waiting).toBe(0);
      expect(yield* it.next()).toBe(false);
    });
  });
});

describe('failures of members', () => {
  it('a member that fails while nobody waits for it is still reported by the hub', async () => {
    const hub = getHub();
    const previous = hub.reporter;
    const reports: HubReport[] = [];
    hub.reporter = (r) => reports.push(r);
    try {
      const error = new Error('member failed');
      const group = new Group();
      const task = group.spawn(function* () {
        yield* sleep(0);
        throw error;
      });
      await run(function* () {
        yield* sleep(0);
        yield* sleep(0);
        yield* sleep(0);
      });
      expect(reports).toEqual([{ kind: 'task-error', task, error }]);
      expect(group.size).toBe(0);
    } finally {
      hub.reporter = previous;
    }
  });
});
