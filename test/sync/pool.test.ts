/**
 * Pool: gevent.pool.Pool, a group with a bound on how many tasks run at once.
 *
 * Port of gevent's src/gevent/tests/test__pool.py. gevent's durations (sleep(0.1),
 * random sleeps) become numbers of `sleep(0)` yields, so every ordering is decided by
 * the scheduler; gevent's `TestPool` runs for sizes 1, 2, 3, 10 and unbounded, and so
 * does the `describe.each` below.
 *
 * N/A in test__pool.py:
 * - TestCoroutinePool::test_stderr_raising: the hub printing a traceback to a broken
 *   sys.stderr; the hub here reports through a reporter function;
 * - TestCoroutinePool::test_multiple_coros: an ordering of gevent.event.Event waiters,
 *   covered by the Event tests;
 * - TestPool::test_async_timeout, test_async (timing of AsyncResult.get): timing only;
 * - TestPool::test_imap_no_stop / test_imap_final_sleep (gevent#423, gevent#311): an
 *   input iterable that blocks (a Queue, a generator that sleeps); a JavaScript iterable
 *   cannot block;
 * - TestJoinSleep*: gevent's generic wait-timing harness; `join(timeout)` is covered.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Event, GreenletExit, Queue, Task, Timeout, getHub, run, sleep, spawn, withTimeout, type GreenletBody } from 'greenlet-ts';
import { TaskSet } from '../../src/sync/group.js';
import { Pool, PoolFull } from '../../src/sync/pool.js';
import { raisedBy } from '../raised.js';

/** Long enough to mean "until killed": no test waits for it to pass. */
const FOREVER = 100_000;

class ExpectedError extends Error {}

/** A task body that lasts `n` scheduler passes. */
function* passes(n: number): GreenletBody<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

function* sleepFor(ms: number): GreenletBody<void> {
  yield* sleep(ms);
}

function* sqr(x: number, wait = 0): GreenletBody<number> {
  yield* passes(wait);
  return x * x;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
});

describe('basics', () => {
  // gevent: test__pool.py::PoolBasicTests::test_execute_async
  it('counts free places, and applyAsync never blocks even when full', async () => {
    await run(function* () {
      const pool = new Pool(2);
      expect(pool.freeCount()).toBe(2);
      const r: number[] = [];
      const first = yield* pool.spawn((x: number) => r.push(x), 1);
      expect(pool.freeCount()).toBe(1);
      yield* first.get();
      expect(r).toEqual([1]);
      expect(pool.freeCount()).toBe(2);

      pool.applyAsync((x: number) => r.push(x), 2);
      expect(pool.freeCount()).toBe(1);
      pool.applyAsync((x: number) => r.push(x), 3);
      expect(pool.freeCount()).toBe(0);
      const waiting = pool.applyAsync((x: number) => r.push(x), 4);
      expect(pool.has(waiting)).toBe(false); // a task outside waits for room
      expect(r).toEqual([1]);
      yield* passes(3);
      expect(r.sort()).toEqual([1, 2, 3, 4]);
      yield* waiting.join();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_discard
  it('gives the place of a discarded task back', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const first = yield* pool.spawn(sleepFor, FOREVER);
      pool.discard(first);
      yield* first.kill();
      expect(pool.size).toBe(0);
      expect(pool.freeCount()).toBe(1);
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_add_method
  it('add() waits while the pool is full', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const first = spawn(sleepFor, FOREVER);
      const second = spawn(sleepFor, FOREVER);
      expect(pool.freeCount()).toBe(1);
      yield* pool.add(first);
      expect(pool.freeCount()).toBe(0);
      expect(pool.size).toBe(1);
      const timeout = Timeout.startNew(10);
      let caught: unknown;
      try {
        yield* pool.add(second);
      } catch (e) {
        caught = e;
      } finally {
        timeout.cancel();
      }
      expect(caught).toBe(timeout);
      expect(pool.freeCount()).toBe(0);
      expect(pool.size).toBe(1);
      expect(pool.waiting).toBe(0);
      yield* second.kill();
      yield* first.kill();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_add_method_non_blocking
  it('add() with blocking: false raises PoolFull when full', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const first = spawn(sleepFor, FOREVER);
      const second = spawn(sleepFor, FOREVER);
      yield* pool.add(first);
      expect(yield* raisedBy(pool.add(second, { blocking: false }))).toBeInstanceOf(PoolFull);
      yield* second.kill();
      yield* first.kill();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_add_method_timeout
  it('add() with a timeout raises PoolFull when the time is up', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const first = spawn(sleepFor, FOREVER);
      const second = spawn(sleepFor, FOREVER);
      yield* pool.add(first);
      let caught: unknown;
      try {
        yield* pool.add(second, { timeout: 10 });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(PoolFull);
      expect((caught as Error).message).toMatch(/is full after waiting 10 ms/);
      expect(pool.waiting).toBe(0);
      yield* second.kill();
      yield* first.kill();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_start_method_timeout
  it('start() with a timeout raises PoolFull and leaves the task unstarted', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const first = spawn(sleepFor, FOREVER);
      const second = new Task(sleepFor, FOREVER);
      yield* pool.add(first);
      let caught: unknown;
      try {
        yield* pool.start(second, { timeout: 10 });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(PoolFull);
      expect(second.started).toBe(false);
      yield* second.kill();
      yield* first.kill();
    });
  });

  // gevent: test__pool.py::PoolBasicTests::test_init_error
  it('refuses a negative or fractional size', () => {
    expect(() => new Pool(-1)).toThrow(RangeError);
    expect(() => new Pool(1.5)).toThrow(RangeError);
  });

  // gevent: test__pool.py::PoolBasicTests::test_apply (unbounded pool)
  it('without a size, never fills up', async () => {
    await run(function* () {
      const pool = new Pool();
      expect(pool.capacity).toBe(Infinity);
      expect(yield* pool.apply((a: number) => ['foo', a], 1)).toEqual(['foo', 1]);
      expect(pool.full()).toBe(false);
    });
  });

  it('is a TaskSet', () => {
    expect(new Pool(1)).toBeInstanceOf(TaskSet);
  });

  // gevent: test__pool.py::TestPool0::test_wait_full
  it('of size 0 is always full, and waitAvailable times out with 0', async () => {
    await run(function* () {
      const pool = new Pool(0);
      expect(pool.freeCount()).toBe(0);
      expect(pool.full()).toBe(true);
      expect(yield* pool.waitAvailable(10)).toBe(0);
      expect(pool.waiting).toBe(0);
    });
  });

  it('waitAvailable wakes when a place frees up, without taking it', async () => {
    await run(function* () {
      const pool = new Pool(1);
      yield* pool.spawn(passes, 2);
      expect(yield* pool.waitAvailable()).toBe(1);
      expect(pool.freeCount()).toBe(1);
    });
  });

  it('waitAvailable evaluates to the free places when the task resumes: two members ending before it runs give 2 (as gevent)', async () => {
    const seen = await run(function* () {
      const pool = new Pool(2);
      const go = new Event();
      yield* pool.spawn(() => go.wait());
      yield* pool.spawn(() => go.wait());
      const waiter = spawn(() => pool.waitAvailable());
      yield* sleep(0);
      go.set();
      return yield* waiter.get();
    });
    expect(seen).toBe(2);
  });

  it('waitAvailable is woken only by a place left after the tasks waiting in spawn took theirs (departs from gevent, which wakes it in arrival order)', async () => {
    const seen = await run(function* () {
      const pool = new Pool(1);
      const first = new Event();
      const second = new Event();
      const member = yield* pool.spawn(() => first.wait());
      const waiter = spawn(() => pool.waitAvailable());
      yield* sleep(0);
      const spawner = spawn(() => pool.spawn(() => second.wait()));
      yield* sleep(0);
      first.set();
      yield* member.join();
      yield* spawner.join();
      const whileTaken = waiter.ready();
      second.set();
      return [whileTaken, yield* waiter.get()];
    });
    expect(seen).toEqual([false, 1]);
  });

  it('spawnNowait raises PoolFull instead of waiting, and works from plain code', async () => {
    const pool = new Pool(1);
    const task = pool.spawnNowait(() => 'ran');
    expect(() => pool.spawnNowait(() => 'never')).toThrow(PoolFull);
    expect(await task).toBe('ran');
    expect(pool.size).toBe(0);
  });
});

describe('spawn', () => {
  // gevent: test__pool.py::TestSpawn::test
  it('waits until an old task ends when the pool is full', async () => {
    await run(function* () {
      const pool = new Pool(1);
      expect(pool.size).toBe(0);
      const first = yield* pool.spawn(passes, 2);
      expect(pool.size).toBe(1);
      yield* pool.spawn(passes, 2); // waits for the first to end
      expect(first.ready()).toBe(true);
      expect(pool.size).toBe(1);
      yield* pool.join();
      expect(pool.size).toBe(0);
    });
  });

  // gevent: test__pool.py::TestSpawn::testSpawnAndWait
  it('join() with a timeout on a busy pool evaluates to false, later to true', async () => {
    await run(function* () {
      const pool = new Pool(1);
      yield* pool.spawn(sleepFor, 30);
      expect(yield* pool.join(5)).toBe(false);
      expect(yield* pool.join()).toBe(true);
      expect(pool.size).toBe(0);
    });
  });

  it('gives freed places to the waiting spawners in the order they came', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const order: string[] = [];
      yield* pool.spawn(passes, 1);
      const spawners = ['a', 'b', 'c'].map((name) =>
        spawn(function* () {
          yield* pool.spawn(() => order.push(name));
        }),
      );
      yield* sleep(0);
      expect(pool.waiting).toBe(3);
      for (const s of spawners) yield* s.join();
      yield* pool.join();
      expect(order).toEqual(['a', 'b', 'c']);
    });
  });

  it('a spawner killed while waiting leaves no place taken', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const running = yield* pool.spawn(passes, 3);
      const spawner = spawn(function* () {
        yield* pool.spawn(() => 'never');
      });
      yield* sleep(0);
      expect(pool.waiting).toBe(1);
      yield* spawner.kill();
      expect(pool.waiting).toBe(0);
      yield* running.join();
      expect(pool.freeCount()).toBe(1);
    });
  });

  it('a spawner killed right after it was given a place still spawns, then dies', async () => {
    await run(function* () {
      const pool = new Pool(1);
      let ran = false;
      const holder = yield* pool.spawn(passes, 1);
      const spawner = spawn(function* () {
        yield* pool.spawn(() => {
          ran = true;
        });
        yield* sleep(FOREVER); // the kill strikes here
      });
      yield* sleep(0);
      yield* holder.join(); // frees the place: the spawner is woken with it
      yield* spawner.kill();
      yield* pool.join();
      expect(ran).toBe(true);
      expect(pool.freeCount()).toBe(1);
    });
  });
});

describe('apply', () => {
  // gevent: test__pool.py::TestCoroutinePool::test_reentrant
  it('runs inline when called from a member, so a full pool cannot deadlock', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const result = yield* pool.apply(function* () {
        return yield* pool.apply((a: number) => a + 1, 5);
      });
      expect(result).toBe(6);
    });
  });

  // gevent: test__pool.py::TestCoroutinePool::test_apply_raises
  it('raises the function’s error', async () => {
    await run(function* () {
      const pool = new Pool(1);
      let caught: unknown;
      try {
        yield* pool.apply(() => {
          throw new ExpectedError();
        });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(pool.freeCount()).toBe(1);
    });
  });
});

describe.each([1, 2, 3, 10, Infinity])('a pool of %s (gevent: test__pool.py::TestPool*)', (size) => {
  // gevent: test__pool.py::TestPool::test_apply
  it('apply evaluates to the result', async () => {
    await run(function* () {
      const pool = new Pool(size);
      expect(yield* pool.apply(sqr, 5)).toBe(25);
    });
  });

  // gevent: test__pool.py::TestPool::test_map
  it('map evaluates to the results in order', async () => {
    await run(function* () {
      const pool = new Pool(size);
      const slow = (x: number) => sqr(x, x % 3);
      expect(yield* pool.map(slow, range(10))).toEqual(range(10).map((x) => x * x));
      expect(yield* pool.map(slow, range(100))).toEqual(range(100).map((x) => x * x));
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_it_small, test_imap_random
  it('imap hands the results over in order, then done', async () => {
    await run(function* () {
      const pool = new Pool(size);
      const it = pool.imap((x: number) => sqr(x, (x * 7) % 4), range(10));
      for (let i = 0; i < 10; i++) expect((yield* it.next()) && it.value).toBe(i * i);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_unordered, test_imap_unordered_random
  it('imapUnordered hands every result over', async () => {
    await run(function* () {
      const pool = new Pool(size);
      const results = yield* pool.imapUnordered((x: number) => sqr(x, (x * 7) % 4), range(50)).toArray();
      expect(results.sort((a, b) => a - b)).toEqual(range(50).map((x) => x * x));
    });
  });

  // gevent: test__pool.py::TestPool::test_empty_imap, test_empty_imap_unordered, test_empty_map
  it('map, imap and imapUnordered of no items are empty', async () => {
    await run(function* () {
      const pool = new Pool(size);
      expect(yield* pool.map(sqr, [])).toEqual([]);
      expect(yield* pool.imap(sqr, []).toArray()).toEqual([]);
      expect(yield* pool.imapUnordered(sqr, []).toArray()).toEqual([]);
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_unordered_sleep
  it('imapUnordered returns the results in the order they end', async () => {
    await run(function* () {
      const pool = new Pool(size);
      const results = yield* pool
        .imapUnordered(function* (x: number) {
          yield* passes(x);
          return String(x);
        }, [10, 1, 2])
        .toArray();
      expect(results).toEqual(size === 1 ? ['10', '1', '2'] : ['1', '2', '10']);
    });
  });

  // gevent: test__pool.py::TestPool::test_terminate
  it('kill() stops a map running in the pool quickly', async () => {
    await run(function* () {
      const pool = new Pool(size);
      const n = (size === Infinity ? 10 : size) * 2;
      const mapper = spawn(function* () {
        return yield* pool.map(sleepFor, new Array<number>(n).fill(FOREVER));
      });
      yield* passes(2);
      yield* pool.kill();
      const results = yield* mapper.get();
      expect(results).toHaveLength(n);
      for (const r of results) expect(r).toBeInstanceOf(GreenletExit);
    });
  });

  // gevent: test__pool.py::TestPool::test_imap_unordered_bounded_queue
  it('imap and imapUnordered with maxsize 1 keep at most one result ahead of a slow reader', async () => {
    await run(function* () {
      const pool = new Pool(size);
      for (const ordered of [false, true]) {
        let started = 0;
        const fn = (i: number) => {
          started++;
          return i;
        };
        const it = ordered ? pool.imap(fn, range(30), { maxsize: 1 }) : pool.imapUnordered(fn, range(30), { maxsize: 1 });
        const read: number[] = [];
        while (yield* it.next()) {
          read.push(it.value);
          expect(started).toBeLessThanOrEqual(read.length + 1);
          yield* passes(2);
          expect(started).toBeLessThanOrEqual(read.length + 1);
        }
        expect(read.sort((a, b) => a - b)).toEqual(range(30));
      }
    });
  });
});

describe('errors', () => {
  // gevent: test__pool.py::TestErrorInIterator::test
  it('map raises the error of the items’ iterator', async () => {
    await run(function* () {
      function* errorIter(): Generator<number> {
        yield 1;
        yield 2;
        throw new ExpectedError();
      }
      let caught: unknown;
      try {
        yield* new Pool(3).map(() => null, errorIter());
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
    });
  });

  // gevent: test__pool.py::TestErrorInIterator::test_unordered
  it('imapUnordered raises the error of the items’ iterator', async () => {
    await run(function* () {
      function* errorIter(): Generator<number> {
        yield 1;
        yield 2;
        throw new ExpectedError();
      }
      let caught: unknown;
      try {
        yield* new Pool(3).imapUnordered(() => null, errorIter()).toArray();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
    });
  });

  // gevent: test__pool.py::TestErrorInHandler::test_map; gevent#1933
  it('map raises the first error after killing and awaiting the tasks still running', async () => {
    await run(function* () {
      const pool = new Pool(3);
      const started: number[] = [];
      const cleaned: number[] = [];
      let caught: unknown;
      try {
        yield* pool.map(function* (x: number) {
          started.push(x);
          try {
            if (x === 0) throw new ExpectedError('divide by zero');
            yield* sleep(FOREVER);
            return 1 / x;
          } finally {
            cleaned.push(x);
          }
        }, [1, 0, 2]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      // 2 was killed before it ever ran; every task that ran has finished its cleanup.
      expect(started).toEqual([1, 0]);
      expect(cleaned.sort()).toEqual([0, 1]);
      expect(pool.size).toBe(0);
    });
  });

  // gevent#1933
  it('map never starts the items after the first error', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const started: number[] = [];
      let caught: unknown;
      try {
        yield* pool.map(function* (x: number) {
          started.push(x);
          yield* sleep(0);
          if (x === 2) throw new ExpectedError();
          return x;
        }, range(10));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ExpectedError);
      expect(started).toEqual([0, 1, 2]);
    });
  });

  // gevent: test__pool.py::TestErrorInHandler::test_imap
  it('imap raises an item’s error at its place and goes on', async () => {
    await run(function* () {
      const it = new Pool(1).imap((x: number) => {
        if (x === 0) throw new ExpectedError();
        return 1 / x;
      }, [1, 0, 2]);
      expect((yield* it.next()) && it.value).toBe(1);
      yield* expectRaises(it.next(), ExpectedError);
      expect((yield* it.next()) && it.value).toBe(0.5);
      expect(yield* it.next()).toBe(false);
    });
  });

  // gevent: test__pool.py::TestErrorInHandler::test_imap_unordered
  it('imapUnordered raises an item’s error in turn and goes on', async () => {
    await run(function* () {
      const it = new Pool(1).imapUnordered((x: number) => {
        if (x === 0) throw new ExpectedError();
        return 1 / x;
      }, [1, 0, 2]);
      expect((yield* it.next()) && it.value).toBe(1);
      yield* expectRaises(it.next(), ExpectedError);
      expect((yield* it.next()) && it.value).toBe(0.5);
      expect(yield* it.next()).toBe(false);
    });
  });

  it('imap killed in next() stops its spawner, which was waiting for room in the pool', async () => {
    await run(function* () {
      const pool = new Pool(2);
      let started = 0;
      const consumer = spawn(function* () {
        const it = pool.imap(function* (x: number) {
          started++;
          yield* sleep(FOREVER);
          return x;
        }, range(20));
        yield* it.next();
      });
      yield* passes(2);
      expect(pool.size).toBe(2);
      expect(pool.waiting).toBe(1); // the spawner
      yield* consumer.kill();
      yield* pool.join();
      expect(pool.waiting).toBe(0);
      expect(started).toBe(2);
    });
  });
});

/** Run `op` and check it raises an instance of `type`. */
function* expectRaises(op: Iterable<unknown>, type: new (...args: never[]) => Error): GreenletBody<void> {
  let caught: unknown;
  try {
    yield* op as GreenletBody<unknown>;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(type);
}

describe('the bound (property)', () => {
  it('is never exceeded, whatever the durations, and kills leave nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
        async (size, producers, killAfter) => {
          let running = 0;
          let most = 0;
          let started = 0;
          let finished = 0;
          function* work(passesCount: number): GreenletBody<void> {
            started++;
            running++;
            most = Math.max(most, running);
            try {
              yield* passes(passesCount);
            } finally {
              running--;
              finished++;
            }
          }
          await run(function* () {
            const pool = new Pool(size);
            const tasks = producers.map((durations) =>
              spawn(function* () {
                for (const d of durations) yield* pool.spawn(work, d);
              }),
            );
            // Kill some producers while they wait for room (or after they are done).
            const killers = tasks.map((task, i) => {
              const after = killAfter[i];
              return after === undefined
                ? null
                : spawn(function* () {
                    yield* passes(after);
                    yield* task.kill();
                  });
            });
            for (const t of tasks) yield* t.join();
            for (const k of killers) if (k !== null) yield* k.join();
            yield* pool.join();
            expect(pool.size).toBe(0);
            expect(pool.waiting).toBe(0);
            expect(pool.freeCount()).toBe(size);
          });
          expect(most).toBeLessThanOrEqual(size);
          expect(finished).toBe(started);
          expect(getHub().timers.size).toBe(0);
          expect(getHub().liveCount).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('map and imapUnordered never run more than the pool’s capacity at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        async (size, durations, maxsize) => {
          let running = 0;
          let most = 0;
          function* work(d: number): GreenletBody<number> {
            running++;
            most = Math.max(most, running);
            try {
              yield* passes(d);
              return d;
            } finally {
              running--;
            }
          }
          await run(function* () {
            const pool = new Pool(size);
            expect(yield* pool.map(work, durations)).toEqual(durations);
            const unordered = yield* pool.imapUnordered(work, durations, { maxsize }).toArray();
            expect(unordered.sort()).toEqual([...durations].sort());
          });
          expect(most).toBeLessThanOrEqual(size);
          expect(getHub().liveCount).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('timeouts', () => {
  it('a Timeout around spawn on a full pool leaves no waiter behind', async () => {
    await run(function* () {
      const pool = new Pool(1);
      const holder = yield* pool.spawn(sleepFor, FOREVER);
      const outcome = yield* withTimeout({ ms: 10, timeoutValue: 'timed out' }, function* () {
        yield* pool.spawn(() => 'never');
        return 'spawned';
      });
      expect(outcome).toBe('timed out');
      expect(pool.waiting).toBe(0);
      yield* holder.kill();
      expect(pool.freeCount()).toBe(1);
    });
  });
});

describe('functions that return an operation (gevent: pool.spawn(gevent.sleep, 10))', () => {
  it('run as tasks of the pool: spawn, map and apply evaluate to what the operation evaluates to', async () => {
    await run(function* () {
      const pool = new Pool(2);
      const sleeper = yield* pool.spawn(sleep, 5);
      expect(pool.has(sleeper)).toBe(true);
      yield* sleeper.join();
      expect(sleeper.successful()).toBe(true);
      expect(yield* pool.map(sleep, [1, 2])).toEqual([undefined, undefined]);
      const q = new Queue<string>({ items: ['item'] });
      expect(yield* pool.apply((queue: Queue<string>) => queue.get(), q)).toBe('item');
    });
  });
});
