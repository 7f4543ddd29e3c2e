/**
 * Lock (a BoundedSemaphore of one) and RLock (re-entrant, owned by a task).
 * Behaviours from the BaseLockTests / LockTests / RLockTests of gevent's
 * src/gevent/tests/lock_tests.py (run by test__threading_2.py) and from
 * src/gevent/tests/test__lock.py, with tasks in the place of threads; cited per test.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  getHub,
  getcurrent,
  run,
  sleep,
  spawn,
  type GreenletBody,
  type Task,
} from 'greenlet-ts';
import { Lock, NotOwnerError, RLock } from '../../src/sync/lock.js';
import { BoundedSemaphore, OverReleaseError } from '../../src/sync/semaphore.js';
import { sharedStep } from './contention.js';

class MyError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

type AnyLock = Lock | RLock;

/** The tests every lock passes (gevent: lock_tests.py::BaseLockTests). */
function baseLockTests(name: string, make: () => AnyLock): void {
  describe(`${name}: common lock behaviour`, () => {
    it('can be acquired and released (gevent: lock_tests.py::BaseLockTests::test_acquire_release)', async () => {
      const lock = make();
      await run(function* () {
        expect(yield* lock.acquire()).toBe(true);
        expect(lock.locked()).toBe(true);
        lock.release();
      });
      expect(lock.locked()).toBe(false);
    });

    it('tryAcquire takes a free lock (gevent: lock_tests.py::BaseLockTests::test_try_acquire)', () => {
      const lock = make();
      expect(lock.tryAcquire()).toBe(true);
      lock.release();
      expect(lock.locked()).toBe(false);
    });

    it('tryAcquire by another task fails while the lock is held (gevent: lock_tests.py::BaseLockTests::test_try_acquire_contended)', async () => {
      const lock = make();
      const result = await run(function* () {
        yield* lock.acquire();
        const other = spawn(function* () {
          return lock.tryAcquire();
        });
        const got = yield* other.get();
        lock.release();
        return got;
      });
      expect(result).toBe(false);
    });

    it('blocks contending tasks until it is released, then lets them all through (gevent: lock_tests.py::BaseLockTests::test_acquire_contended)', async () => {
      const lock = make();
      const finished: number[] = [];
      await run(function* () {
        yield* lock.acquire();
        const tasks = Array.from({ length: 5 }, (_, i) =>
          spawn(function* () {
            yield* lock.acquire();
            lock.release();
            finished.push(i);
          }),
        );
        yield* sleep(0);
        expect(finished).toEqual([]);
        expect(lock.waiting).toBe(5);
        lock.release();
        for (const t of tasks) yield* t.join();
      });
      expect(finished).toEqual([0, 1, 2, 3, 4]);
      expect(lock.locked()).toBe(false);
    });

    it('run() releases the lock after a return and after an error (gevent: lock_tests.py::BaseLockTests::test_with)', async () => {
      const lock = make();
      const error = new MyError();
      await run(function* () {
        expect(
          yield* lock.run(function* () {
            return 'done';
          }),
        ).toBe('done');
        const other = spawn(function* () {
          yield* lock.acquire();
          lock.release();
        });
        yield* other.join();
        let caught: unknown;
        try {
          yield* lock.run(() => {
            throw error;
          });
        } catch (e) {
          caught = e;
        }
        expect(caught).toBe(error);
        const again = spawn(function* () {
          yield* lock.acquire();
          lock.release();
        });
        yield* again.join();
      });
      expect(lock.locked()).toBe(false);
    });

    it('acquire evaluates to false when the timeout passes while another task holds it', async () => {
      const lock = make();
      const result = await run(function* () {
        yield* lock.acquire();
        const other = spawn(function* () {
          return yield* lock.acquire(10);
        });
        const got = yield* other.get();
        lock.release();
        return got;
      });
      expect(result).toBe(false);
      expect(lock.waiting).toBe(0);
    });

    it('hands the lock to waiters in arrival order, so a newcomer cannot take it first', async () => {
      const lock = make();
      const order: string[] = [];
      await run(function* () {
        yield* lock.acquire();
        const waiters = ['a', 'b', 'c'].map((n) =>
          spawn(function* () {
            yield* lock.run(function* () {
              order.push(n);
              yield* sleep(0);
            });
          }),
        );
        yield* sleep(0);
        lock.release();
        expect(lock.locked()).toBe(true);
        const newcomer = spawn(function* () {
          return lock.tryAcquire();
        });
        expect(yield* newcomer.get()).toBe(false);
        for (const w of waiters) yield* w.join();
      });
      expect(order).toEqual(['a', 'b', 'c']);
      expect(lock.locked()).toBe(false);
    });

    it('a queued task that is killed leaves the queue and runs its finally', async () => {
      const lock = make();
      const log: string[] = [];
      await run(function* () {
        yield* lock.acquire();
        const waiter = spawn(function* () {
          try {
            yield* lock.acquire();
            log.push('acquired');
          } finally {
            log.push('finally');
          }
        });
        yield* sleep(0);
        expect(lock.waiting).toBe(1);
        yield* waiter.kill();
        expect(lock.waiting).toBe(0);
        lock.release();
      });
      expect(log).toEqual(['finally']);
      expect(lock.locked()).toBe(false);
    });

    it('a task handed the lock and killed before it runs keeps it until run() releases it', async () => {
      const lock = make();
      const log: string[] = [];
      await run(function* () {
        yield* lock.acquire();
        const holder = spawn(function* () {
          yield* lock.run(function* () {
            log.push('inside');
            yield* sleep(0);
            log.push('not reached');
          });
        });
        yield* sleep(0);
        lock.release();
        holder.kill(undefined, { block: false });
        expect(lock.locked()).toBe(true);
        yield* holder.join();
        expect(holder.value).toBeInstanceOf(GreenletExit);
      });
      expect(log).toEqual(['inside']);
      expect(lock.locked()).toBe(false);
    });

    it('a Timeout of the task that strikes while it is queued leaves the lock to its holder', async () => {
      const lock = make();
      const outcome = await run(function* () {
        yield* lock.acquire();
        const waiter = spawn(function* () {
          const timeout = Timeout.startNew(5);
          try {
            yield* lock.acquire();
            return 'acquired';
          } catch (e) {
            return e === timeout ? 'timed out' : e;
          } finally {
            timeout.cancel();
          }
        });
        const result = yield* waiter.get();
        lock.release();
        return result;
      });
      expect(outcome).toBe('timed out');
      expect(lock.waiting).toBe(0);
      expect(lock.locked()).toBe(false);
    });

    it('acquire from the main greenlet throws a BlockingError', () => {
      const lock = make();
      expect(() => lock.acquire()).toThrow(BlockingError);
    });
  });
}

baseLockTests('Lock', () => new Lock());
baseLockTests('RLock', () => new RLock());

describe('Lock', () => {
  it('is a BoundedSemaphore of one permit', () => {
    const lock = new Lock();
    expect(lock).toBeInstanceOf(BoundedSemaphore);
    expect(lock.counter).toBe(1);
    expect(lock.initialValue).toBe(1);
  });

  it('is not re-entrant: a second acquire by the holder waits until someone releases (gevent: lock_tests.py::LockTests::test_reacquire)', async () => {
    const lock = new Lock();
    const phase: string[] = [];
    await run(function* () {
      const t = spawn(function* () {
        yield* lock.acquire();
        phase.push('first');
        yield* lock.acquire();
        phase.push('second');
      });
      yield* sleep(0);
      yield* sleep(0);
      expect(phase).toEqual(['first']);
      lock.release();
      yield* t.join();
    });
    expect(phase).toEqual(['first', 'second']);
  });

  it('can be released by a task that did not acquire it (gevent: lock_tests.py::LockTests::test_different_thread)', async () => {
    const lock = new Lock();
    await run(function* () {
      yield* lock.acquire();
      const other = spawn(function* () {
        lock.release();
      });
      yield* other.join();
      expect(lock.locked()).toBe(false);
      yield* lock.acquire();
      lock.release();
    });
  });

  it('refuses a release while unlocked with an OverReleaseError that says what to do', () => {
    const lock = new Lock();
    expect(() => lock.release()).toThrow(OverReleaseError);
    expect(() => lock.release()).toThrow(/^Lock released while it is not locked: .*yield\* lock\.run\(fn\)/);
    expect(lock.counter).toBe(1);
  });

  it('describes itself', async () => {
    const lock = new Lock();
    expect(String(lock)).toBe('Lock(unlocked, 0 waiting)');
    lock.tryAcquire();
    expect(String(lock)).toBe('Lock(locked, 0 waiting)');
    lock.release();
  });
});

describe('RLock', () => {
  it('can be acquired again by its owner, counting the levels (gevent: lock_tests.py::RLockTests::test_reacquire)', async () => {
    const lock = new RLock();
    await run(function* () {
      yield* lock.acquire();
      yield* lock.acquire();
      expect(lock.count).toBe(2);
      lock.release();
      yield* lock.acquire();
      lock.release();
      expect(lock.count).toBe(1);
      lock.release();
    });
    expect(lock.count).toBe(0);
    expect(lock.owner).toBeNull();
  });

  it('refuses a release when it is not held, also after balanced acquires (gevent: lock_tests.py::RLockTests::test_release_unacquired)', async () => {
    const lock = new RLock();
    expect(() => lock.release()).toThrow(NotOwnerError);
    await run(function* () {
      yield* lock.acquire();
      yield* lock.acquire();
      lock.release();
      yield* lock.acquire();
      lock.release();
      lock.release();
      expect(() => lock.release()).toThrow(NotOwnerError);
    });
  });

  it('refuses a release by a task that does not own it and stays held (gevent: lock_tests.py::RLockTests::test_different_thread)', async () => {
    const lock = new RLock();
    await run(function* () {
      const owner = spawn(function* () {
        yield* lock.acquire();
      });
      yield* owner.join();
      expect(lock.owner).toBe(owner);
      expect(() => lock.release()).toThrow(NotOwnerError);
      expect(lock.owner).toBe(owner);
      expect(lock.count).toBe(1);
    });
    // The owner ended while holding it: as in gevent, the lock stays held.
    expect(lock.locked()).toBe(true);
  });

  it('names the owner and the offender in its NotOwnerError', async () => {
    const lock = new RLock();
    expect(() => lock.release()).toThrow(/^cannot release an RLock that is not locked \(released by the main greenlet\)/);
    await run(function* () {
      const owner = spawn(function* () {
        yield* lock.acquire();
      });
      owner.name = 'owner-task';
      yield* owner.join();
      const offender = spawn(function* () {
        try {
          lock.release();
        } catch (e) {
          return e;
        }
      });
      offender.name = 'offender-task';
      const error = yield* offender.get();
      expect(error).toBeInstanceOf(NotOwnerError);
      expect((error as Error).name).toBe('NotOwnerError');
      expect((error as Error).message).toBe(
        'cannot release an RLock held by owner-task: offender-task does not hold it, and only the owner may release ' +
          'an RLock (use a Lock or a Semaphore to signal between tasks)',
      );
    });
  });

  it('knows its owner: the task that holds it, and nobody else (gevent: lock_tests.py::RLockTests::test__is_owned)', async () => {
    const lock = new RLock();
    await run(function* () {
      const me = getcurrent();
      expect(lock.owner).toBeNull();
      yield* lock.acquire();
      expect(lock.owner).toBe(me);
      yield* lock.acquire();
      expect(lock.owner).toBe(me);
      const other = spawn(function* () {
        return lock.owner === getcurrent();
      });
      expect(yield* other.get()).toBe(false);
      lock.release();
      expect(lock.owner).toBe(me);
      lock.release();
      expect(lock.owner).toBeNull();
    });
  });

  it('goes to a task blocked on it once released, and not before (gevent: test__lock.py::TestRLockMultiThread::test_acquire_in_one_then_another)', async () => {
    const lock = new RLock();
    const acquired: boolean[] = [];
    await run(function* () {
      yield* lock.acquire();
      const other = spawn(function* () {
        acquired.push(yield* lock.acquire());
        lock.release();
      });
      yield* sleep(0);
      expect(acquired).toEqual([]);
      lock.release();
      yield* other.join();
    });
    expect(acquired).toEqual([true]);
  });

  it('is not given to a timed acquire that runs out before the release (gevent: test__lock.py::TestRLockMultiThread::test_acquire_in_one_then_another_timed)', async () => {
    const lock = new RLock();
    const acquired = await run(function* () {
      yield* lock.acquire();
      const other = spawn(function* () {
        return yield* lock.acquire(5);
      });
      const result = yield* other.get();
      lock.release();
      return result;
    });
    expect(acquired).toBe(false);
    expect(lock.locked()).toBe(false);
    expect(lock.waiting).toBe(0);
  });

  it('run() may take the lock again inside, and releases every level', async () => {
    const lock = new RLock();
    const counts = await run(function* () {
      return yield* lock.run(function* () {
        const inner = yield* lock.run(function* () {
          yield* sleep(0);
          return lock.count;
        });
        return [inner, lock.count];
      });
    });
    expect(counts).toEqual([2, 1]);
    expect(lock.locked()).toBe(false);
  });

  it('can be held by the main greenlet through tryAcquire, and handed to a task on release', async () => {
    const lock = new RLock();
    expect(lock.tryAcquire()).toBe(true);
    expect(lock.tryAcquire()).toBe(true);
    expect(lock.count).toBe(2);
    const task = spawn(function* () {
      yield* lock.acquire();
      const owned = lock.owner === getcurrent();
      lock.release();
      return owned;
    });
    await Promise.resolve();
    lock.release();
    lock.release();
    expect(await task).toBe(true);
    expect(lock.locked()).toBe(false);
  });

  it('describes itself with its owner, its count and its waiters', async () => {
    const lock = new RLock();
    expect(String(lock)).toBe('RLock(unlocked, 0 waiting)');
    lock.tryAcquire();
    lock.tryAcquire();
    expect(String(lock)).toBe('RLock(held 2x by the main greenlet, 0 waiting)');
    lock.release();
    lock.release();
  });
});

describe('property', () => {
  type Op =
    | { kind: 'worker'; depth: number; hold: number; timed: boolean }
    | { kind: 'kill'; index: number }
    | { kind: 'step' }
    | { kind: 'advance' };

  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant('worker' as const), depth: fc.integer({ min: 1, max: 3 }), hold: fc.nat(2), timed: fc.boolean() }),
      weight: 5,
    },
    { arbitrary: fc.nat(20).map<Op>((index) => ({ kind: 'kill', index })), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'step' }), weight: 4 },
    { arbitrary: fc.constant<Op>({ kind: 'advance' }), weight: 1 },
  );

  it('RLock: one owner at a time at any nesting depth, waiters served in arrival order, nothing left behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 8, maxLength: 40 }), async (ops) => {
        const lock = new RLock();
        interface Worker {
          task: Task;
          started: boolean;
          killed: boolean;
          arrival: number;
          queued: boolean;
          entered: boolean;
          exited: boolean;
          timedOut: boolean;
          finallies: number;
        }
        const workers: Worker[] = [];
        const entries: Worker[] = [];
        const violations: string[] = [];
        let arrivals = 0;
        let holder: Worker | null = null;
        function* nested(w: Worker, level: number, depth: number, hold: number): GreenletBody<void> {
          return yield* lock.run(function* () {
            if (lock.owner !== w.task || lock.count !== level) violations.push(`level ${level}: count ${lock.count}`);
            if (level < depth) {
              yield* nested(w, level + 1, depth, hold);
            } else {
              for (let i = 0; i < hold; i++) yield* sleep(0);
            }
          });
        }
        const startWorker = (depth: number, hold: number, timed: boolean): void => {
          const w: Worker = { task: null as unknown as Task, started: false, killed: false, arrival: -1, queued: false, entered: false, exited: false, timedOut: false, finallies: 0 };
          w.task = spawn(function* () {
            w.started = true;
            try {
              w.arrival = arrivals++;
              if (lock.owner === null && lock.waiting !== 0) violations.push('the lock is free while tasks wait');
              w.queued = lock.owner !== null;
              if (timed && !(yield* lock.acquire(1))) {
                w.timedOut = true;
                return;
              }
              if (!timed) yield* lock.acquire();
              try {
                if (holder !== null) violations.push('two owners at once');
                holder = w;
                w.entered = true;
                entries.push(w);
                yield* nested(w, 2, depth + 1, hold);
              } finally {
                holder = null;
                w.exited = true;
                lock.release();
              }
            } finally {
              w.finallies++;
            }
          });
          workers.push(w);
        };
        await run(function* () {
          for (const o of ops) {
            switch (o.kind) {
              case 'worker':
                startWorker(o.depth, o.hold, o.timed);
                break;
              case 'kill':
              case 'step':
              case 'advance':
                yield* sharedStep(o, workers);
                break;
            }
          }
          for (const w of workers) yield* w.task.join();
        });
        expect(violations).toEqual([]);
        for (const w of workers) {
          expect(w.finallies).toBe(w.started ? 1 : 0);
          expect(w.exited).toBe(w.entered);
          expect(w.entered && w.timedOut).toBe(false);
          if (!w.killed && w.started) expect(w.entered || w.timedOut).toBe(true);
        }
        const queuedEntries = entries.filter((w) => w.queued).map((w) => w.arrival);
        expect(queuedEntries).toEqual([...queuedEntries].sort((a, b) => a - b));
        expect(lock.owner).toBeNull();
        expect(lock.count).toBe(0);
        expect(lock.waiting).toBe(0);
        expect(getHub().timers.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
