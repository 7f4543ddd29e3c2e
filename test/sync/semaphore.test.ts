/**
 * Semaphore and BoundedSemaphore: permits, FIFO hand-off, timeouts, kills, run().
 * Behaviours from gevent's src/gevent/tests/test__semaphore.py and the
 * BaseSemaphoreTests / SemaphoreTests / BoundedSemaphoreTests of
 * src/gevent/tests/lock_tests.py (run by test__threading_2.py), cited per test.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockingError, GreenletExit, Timeout, getHub, run, sleep, spawn, wait, type Task } from 'greenlet-ts';
import { BoundedSemaphore, OverReleaseError, Semaphore } from '../../src/sync/semaphore.js';
import { sharedStep } from './contention.js';

class MyError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

describe('construction and state', () => {
  it('refuses a negative or fractional initial value (gevent: lock_tests.py::BaseSemaphoreTests::test_constructor)', () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError);
    expect(() => new Semaphore(-Number.MAX_SAFE_INTEGER)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(/integer >= 0, not 1.5/);
    expect(() => new BoundedSemaphore(-1)).toThrow(RangeError);
  });

  it('starts with one permit by default', () => {
    const sem = new Semaphore();
    expect(sem.counter).toBe(1);
    expect(sem.locked()).toBe(false);
    expect(sem.ready()).toBe(true);
  });

  it('is locked, and not ready, when no permit is free', () => {
    const sem = new Semaphore(1);
    expect(sem.tryAcquire()).toBe(true);
    expect(sem.locked()).toBe(true);
    expect(sem.ready()).toBe(false);
    expect(sem.counter).toBe(0);
  });

  it('describes itself with its counter and its waiters', () => {
    expect(String(new Semaphore(2))).toBe('Semaphore(counter=2, 0 waiting)');
    expect(String(new BoundedSemaphore(3))).toBe('BoundedSemaphore(counter=3, 0 waiting)');
  });
});

describe('acquire() and release()', () => {
  it('take and give back permits without blocking while some are free (gevent: lock_tests.py::BaseSemaphoreTests::test_acquire)', async () => {
    await run(function* () {
      const one = new Semaphore(1);
      expect(yield* one.acquire()).toBe(true);
      one.release();
      const two = new Semaphore(2);
      expect(yield* two.acquire()).toBe(true);
      expect(yield* two.acquire()).toBe(true);
      two.release();
      two.release();
      expect(two.counter).toBe(2);
    });
  });

  it('acquire evaluates to false after the timeout when no permit comes (gevent: test__semaphore.py::TestSemaphore::test_acquire_returns_false_after_timeout)', async () => {
    const sem = new Semaphore(0);
    const result = await run(function* () {
      return yield* sem.acquire(10);
    });
    expect(result).toBe(false);
    expect(sem.waiting).toBe(0);
    expect(sem.counter).toBe(0);
  });

  it('a second acquirer blocks until the default single permit is released (gevent: lock_tests.py::BaseSemaphoreTests::test_default_value)', async () => {
    const sem = new Semaphore();
    const log: string[] = [];
    await run(function* () {
      yield* sem.acquire();
      const other = spawn(function* () {
        yield* sem.acquire();
        log.push('other acquired');
        sem.release();
      });
      yield* sleep(0);
      expect(log).toEqual([]);
      expect(sem.waiting).toBe(1);
      sem.release();
      yield* other.join();
    });
    expect(log).toEqual(['other acquired']);
    expect(sem.counter).toBe(1);
  });

  it('lets contending tasks through exactly as permits are released (gevent: lock_tests.py::BaseSemaphoreTests::test_acquire_contended)', async () => {
    const sem = new Semaphore(7);
    const results1: number[] = [];
    const results2: number[] = [];
    let phase = 0;
    await run(function* () {
      yield* sem.acquire();
      const tasks = Array.from({ length: 10 }, () =>
        spawn(function* () {
          yield* sem.acquire();
          results1.push(phase);
          yield* sem.acquire();
          results2.push(phase);
        }),
      );
      yield* sleep(0);
      expect([...results1, ...results2]).toEqual([0, 0, 0, 0, 0, 0]);
      phase = 1;
      for (let i = 0; i < 7; i++) sem.release();
      yield* sleep(0);
      expect([...results1, ...results2].sort()).toEqual([...Array(6).fill(0), ...Array(7).fill(1)]);
      phase = 2;
      for (let i = 0; i < 6; i++) sem.release();
      yield* sleep(0);
      expect([...results1, ...results2].sort()).toEqual([...Array(6).fill(0), ...Array(7).fill(1), ...Array(6).fill(2)]);
      // The semaphore is still locked.
      expect(sem.tryAcquire()).toBe(false);
      // A final release lets the last task finish.
      sem.release();
      for (const t of tasks) yield* t.join();
    });
    expect(sem.waiting).toBe(0);
  });

  it('serves waiting tasks in the order they arrived', async () => {
    const sem = new Semaphore(0);
    const order: number[] = [];
    await run(function* () {
      const tasks = [1, 2, 3, 4].map((i) =>
        spawn(function* () {
          yield* sem.acquire();
          order.push(i);
        }),
      );
      yield* sleep(0);
      for (let i = 0; i < 4; i++) sem.release();
      for (const t of tasks) yield* t.join();
    });
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('hands a released permit to the first waiter, so a newcomer cannot take it first (departs from gevent, where the newcomer wins)', async () => {
    // With gevent 22.10.2, `sem.release(); sem.acquire(blocking=False)` in the releasing
    // greenlet returns True and the waiter stays blocked. Here the permit is the waiter's.
    const sem = new Semaphore(0);
    const log: string[] = [];
    await run(function* () {
      const waiter = spawn(function* () {
        yield* sem.acquire();
        log.push('waiter got the permit');
        sem.release();
      });
      yield* sleep(0);
      sem.release();
      expect(sem.counter).toBe(0);
      expect(sem.tryAcquire()).toBe(false);
      log.push('newcomer refused');
      yield* waiter.join();
    });
    expect(log).toEqual(['newcomer refused', 'waiter got the permit']);
    expect(sem.counter).toBe(1);
  });

  it('does not let tasks that keep re-acquiring starve another waiter (gevent: test__semaphore.py::TestSemaphoreFair::test_fair_or_hangs)', async () => {
    const sem = new Semaphore();
    const log: string[] = [];
    await run(function* () {
      const loop = (name: string) =>
        spawn(function* () {
          for (let i = 0; i < 5; i++) {
            yield* sem.acquire();
            log.push(name);
            yield* sleep(0);
            sem.release();
          }
        });
      const keepGoing1 = loop('a');
      const keepGoing2 = loop('b');
      const exiting = spawn(function* () {
        yield* sem.acquire();
        log.push('exiting');
        sem.release();
      });
      yield* keepGoing1.join();
      yield* keepGoing2.join();
      yield* exiting.join();
    });
    // The third task is served after one turn of each loop, not after all of them.
    expect(log.indexOf('exiting')).toBe(2);
  });

  it('from the main greenlet, acquire throws a BlockingError naming the call', () => {
    const sem = new Semaphore(0);
    expect(() => sem.acquire()).toThrow(BlockingError);
    expect(() => sem.acquire()).toThrow(/semaphore\.acquire\(\)/);
  });

  it('release works from plain code and wakes a waiting task', async () => {
    const sem = new Semaphore(0);
    setTimeout(() => sem.release(), 1);
    const acquired = await run(function* () {
      return yield* sem.acquire();
    });
    expect(acquired).toBe(true);
    expect(sem.counter).toBe(0);
  });

  it('Semaphore allows releases beyond the initial value, adding permits (gevent: lock_tests.py::SemaphoreTests::test_release_unacquired)', async () => {
    const sem = new Semaphore(1);
    sem.release();
    expect(sem.counter).toBe(2);
    await run(function* () {
      yield* sem.acquire();
      yield* sem.acquire();
      sem.release();
    });
    expect(sem.counter).toBe(1);
  });
});

describe('tryAcquire()', () => {
  it('takes free permits and refuses when none is left (gevent: lock_tests.py::BaseSemaphoreTests::test_try_acquire)', () => {
    const sem = new Semaphore(2);
    expect(sem.tryAcquire()).toBe(true);
    expect(sem.tryAcquire()).toBe(true);
    expect(sem.tryAcquire()).toBe(false);
    sem.release();
    expect(sem.tryAcquire()).toBe(true);
  });

  it('under contention grants exactly the free permits (gevent: lock_tests.py::BaseSemaphoreTests::test_try_acquire_contended)', async () => {
    const sem = new Semaphore(4);
    sem.tryAcquire();
    const results: boolean[] = [];
    await run(function* () {
      const tasks = Array.from({ length: 5 }, () =>
        spawn(function* () {
          results.push(sem.tryAcquire());
          yield* sleep(0);
          results.push(sem.tryAcquire());
        }),
      );
      for (const t of tasks) yield* t.join();
    });
    expect(results.sort()).toEqual([...Array(7).fill(false), ...Array(3).fill(true)]);
  });
});

describe('kills and timeouts', () => {
  it('a queued task that is killed leaves the queue, runs its finally, and the permit goes to the next waiter', async () => {
    const sem = new Semaphore(0);
    const log: string[] = [];
    await run(function* () {
      const first = spawn(function* () {
        try {
          yield* sem.acquire();
          log.push('first acquired');
        } finally {
          log.push('first finally');
        }
      });
      const second = spawn(function* () {
        yield* sem.acquire();
        log.push('second acquired');
      });
      yield* sleep(0);
      expect(sem.waiting).toBe(2);
      yield* first.kill();
      expect(sem.waiting).toBe(1);
      sem.release();
      yield* second.join();
    });
    expect(log).toEqual(['first finally', 'second acquired']);
    expect(sem.counter).toBe(0);
  });

  it('a task woken with the permit and killed before it runs keeps the permit until run() releases it', async () => {
    const sem = new Semaphore(0);
    const log: string[] = [];
    await run(function* () {
      const holder = spawn(function* () {
        yield* sem.run(function* () {
          log.push('inside');
          yield* sleep(0); // the pending kill strikes here
          log.push('not reached');
        });
      });
      yield* sleep(0);
      sem.release(); // hands the permit to holder, which is now ready but has not run
      holder.kill(undefined, { block: false });
      expect(sem.counter).toBe(0);
      yield* holder.join();
      expect(holder.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['inside']);
    expect(sem.counter).toBe(1);
  });

  it('a Timeout of the task that strikes while it is queued leaves no permit taken', async () => {
    const sem = new Semaphore(0);
    const outcome = await run(function* () {
      const timeout = Timeout.startNew(5);
      try {
        yield* sem.acquire();
        return 'acquired';
      } catch (e) {
        return e === timeout ? 'timed out' : e;
      } finally {
        timeout.cancel();
      }
    });
    expect(outcome).toBe('timed out');
    expect(sem.waiting).toBe(0);
    sem.release();
    expect(sem.counter).toBe(1);
  });
});

describe('run()', () => {
  it('holds a permit while the function runs and releases it after a return or an error (gevent: lock_tests.py::BaseSemaphoreTests::test_with)', async () => {
    const sem = new Semaphore(2);
    function* withSem(error?: Error) {
      return yield* sem.run(function* () {
        expect(sem.tryAcquire()).toBe(true);
        sem.release();
        yield* sem.run(function* () {
          expect(sem.tryAcquire()).toBe(false);
          if (error !== undefined) throw error;
        });
        return 'done';
      });
    }
    await run(function* () {
      expect(yield* withSem()).toBe('done');
      expect(sem.tryAcquire()).toBe(true);
      sem.release();
      const error = new MyError();
      let caught: unknown;
      try {
        yield* withSem(error);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(error);
      expect(sem.tryAcquire()).toBe(true);
      sem.release();
    });
    expect(sem.counter).toBe(2);
  });

  it('passes the arguments and evaluates to what the function returns, also for a plain function', async () => {
    const sem = new Semaphore();
    const results = await run(function* () {
      const a = yield* sem.run(function* (x: number, y: number) {
        yield* sleep(0);
        return x + y;
      }, 2, 3);
      const b = yield* sem.run((s: string) => s.toUpperCase(), 'plain');
      return [a, b];
    });
    expect(results).toEqual([5, 'PLAIN']);
    expect(sem.counter).toBe(1);
  });

  it('bounds how many tasks run the function at once', async () => {
    const sem = new Semaphore(2);
    let inside = 0;
    let most = 0;
    await run(function* () {
      const tasks = Array.from({ length: 6 }, () =>
        spawn(function* () {
          yield* sem.run(function* () {
            inside++;
            most = Math.max(most, inside);
            yield* sleep(0);
            inside--;
          });
        }),
      );
      for (const t of tasks) yield* t.join();
    });
    expect(most).toBe(2);
  });
});

describe('wait(), ready() and rawlink', () => {
  it('wait() evaluates to the free permits at once, or waits for a release without taking the permit', async () => {
    const sem = new Semaphore(0);
    const result = await run(function* () {
      const waiter = spawn(function* () {
        return yield* sem.wait();
      });
      yield* sleep(0);
      sem.release();
      return yield* waiter.get();
    });
    expect(result).toBe(1);
    expect(sem.counter).toBe(1);
    expect(
      await run(function* () {
        return yield* sem.wait();
      }),
    ).toBe(1);
  });

  it('wait() evaluates to 0 when the timeout passes', async () => {
    const sem = new Semaphore(0);
    expect(
      await run(function* () {
        return yield* sem.wait(10);
      }),
    ).toBe(0);
    expect(sem.waiting).toBe(0);
  });

  it('wait([sem]) on a semaphore with a free permit returns at once (gevent: test__semaphore.py::TestSemaphore::test_rawlink_on_unacquired_runs_notifiers)', async () => {
    const sem = new Semaphore();
    const ready = await run(function* () {
      return yield* wait([sem]);
    });
    expect(ready).toEqual([sem]);
    expect(sem.linkCount()).toBe(0);
  });

  it('calls each rawlink callback once a permit is free (gevent: test__semaphore.py::TestSemaphore::test_release_twice)', async () => {
    const sem = new Semaphore();
    const result: string[] = [];
    sem.rawlink(() => result.push('a'));
    sem.release();
    sem.rawlink(() => result.push('b'));
    sem.release();
    await run(function* () {
      yield* sleep(1);
    });
    expect(result.sort()).toEqual(['a', 'b']);
    expect(sem.linkCount()).toBe(0);
  });

  it('calls a rawlink callback inside release(), in line with the waiting tasks', () => {
    const sem = new Semaphore(0);
    const result: string[] = [];
    sem.rawlink(() => result.push('called'));
    sem.release();
    expect(result).toEqual(['called']);
  });

  it('wait() evaluates to the free permits when the task resumes: two releases before it runs give 2 (as gevent)', async () => {
    const sem = new Semaphore(0);
    const seen = await run(function* () {
      const waiter = spawn(() => sem.wait());
      yield* sleep(0);
      yield* spawn(() => {
        sem.release();
        sem.release();
      }).join();
      return yield* waiter.get();
    });
    expect(seen).toBe(2);
  });

  it('wait() with an acquirer queued behind it evaluates to 0: the release hands the permit on before the waiter runs (departs from gevent, whose waiter runs first and sees 1)', async () => {
    const sem = new Semaphore(0);
    const seen = await run(function* () {
      const waiter = spawn(() => sem.wait());
      yield* sleep(0);
      const acquirer = spawn(() => sem.acquire());
      yield* sleep(0);
      sem.release(); // wakes the waiter, then hands the permit to the acquirer
      return [yield* waiter.get(), yield* acquirer.get(), sem.counter];
    });
    expect(seen).toEqual([0, true, 0]);
  });

  it('a callback registered twice is called twice; unlink removes its first registration, even after the first was called; linkCount counts each (gevent keeps a list)', () => {
    const sem = new Semaphore(0);
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    sem.rawlink(a);
    sem.rawlink(b);
    sem.rawlink(a);
    expect(sem.linkCount()).toBe(3);
    sem.unlink(a);
    expect(sem.linkCount()).toBe(2);
    sem.release();
    expect(calls).toEqual(['b', 'a']);
    expect(sem.tryAcquire()).toBe(true);
    calls.length = 0;
    // a, then a again, b, and a registered anew after the first a is unlinked: unlink
    // takes the earliest left each time.
    sem.rawlink(a);
    sem.rawlink(a);
    sem.rawlink(b);
    sem.unlink(a);
    sem.rawlink(a);
    sem.unlink(a);
    expect(sem.linkCount()).toBe(2);
    sem.release();
    expect(calls).toEqual(['b', 'a']);
    expect(sem.linkCount()).toBe(0);
  });

  it('rawlink refuses what is not a function, and unlink forgets a callback', () => {
    const sem = new Semaphore(0);
    expect(() => sem.rawlink(null as unknown as () => void)).toThrow(TypeError);
    const calls: string[] = [];
    const callback = () => calls.push('called');
    sem.rawlink(callback);
    sem.unlink(callback);
    sem.release();
    expect(calls).toEqual([]);
  });
});

describe('BoundedSemaphore', () => {
  it('refuses a release past its initial value with an OverReleaseError (gevent: lock_tests.py::BoundedSemaphoreTests::test_release_unacquired)', async () => {
    const sem = new BoundedSemaphore();
    expect(() => sem.release()).toThrow(OverReleaseError);
    await run(function* () {
      yield* sem.acquire();
    });
    sem.release();
    expect(() => sem.release()).toThrow(OverReleaseError);
    expect(sem.counter).toBe(1);
  });

  it('says what happened and what to write instead (gevent: ValueError "Semaphore released too many times")', () => {
    const sem = new BoundedSemaphore(2);
    let error: unknown;
    try {
      sem.release();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OverReleaseError);
    expect((error as Error).name).toBe('OverReleaseError');
    expect((error as Error).message).toMatch(/^BoundedSemaphore released too many times: all 2 of its permits are already free/);
    expect((error as Error).message).toContain('yield* sem.run(fn)');
  });

  it('behaves as a semaphore below its bound: waiters get released permits in order', async () => {
    const sem = new BoundedSemaphore(1);
    const order: number[] = [];
    await run(function* () {
      yield* sem.acquire();
      const tasks = [1, 2].map((i) =>
        spawn(function* () {
          yield* sem.run(function* () {
            order.push(i);
            yield* sleep(0);
          });
        }),
      );
      yield* sleep(0);
      sem.release();
      for (const t of tasks) yield* t.join();
    });
    expect(order).toEqual([1, 2]);
    expect(sem.counter).toBe(1);
  });
});

describe('property', () => {
  type Op =
    | { kind: 'worker'; hold: number; timed: boolean }
    | { kind: 'kill'; index: number }
    | { kind: 'step' }
    | { kind: 'advance' }
    | { kind: 'take' }
    | { kind: 'give' };

  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('worker' as const), hold: fc.nat(2), timed: fc.boolean() }), weight: 5 },
    { arbitrary: fc.nat(20).map<Op>((index) => ({ kind: 'kill', index })), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'step' }), weight: 4 },
    { arbitrary: fc.constant<Op>({ kind: 'advance' }), weight: 1 },
    { arbitrary: fc.constant<Op>({ kind: 'take' }), weight: 1 },
    { arbitrary: fc.constant<Op>({ kind: 'give' }), weight: 1 },
  );

  it('random acquires, releases, kills and timeouts never exceed the bound, serve waiters in arrival order, and leave nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.array(op, { minLength: 8, maxLength: 40 }), async (bound, bounded, ops) => {
        const sem = bounded ? new BoundedSemaphore(bound) : new Semaphore(bound);
        interface Worker {
          task: Task;
          started: boolean;
          killed: boolean;
          arrival: number;
          queued: boolean;
          entered: boolean;
          exited: boolean;
          finallies: number;
          timedOut: boolean;
        }
        const workers: Worker[] = [];
        const entries: Worker[] = [];
        let arrivals = 0;
        let inside = 0;
        let heldByDriver = 0;
        const violations: string[] = [];
        const body = (w: Worker, hold: number) =>
          function* () {
            w.entered = true;
            entries.push(w);
            inside++;
            if (inside + heldByDriver > bound) violations.push(`${inside + heldByDriver} holders with ${bound} permits`);
            try {
              for (let i = 0; i < hold; i++) yield* sleep(0);
            } finally {
              inside--;
              w.exited = true;
            }
          };
        const startWorker = (hold: number, timed: boolean): void => {
          const w: Worker = { task: null as unknown as Task, started: false, killed: false, arrival: -1, queued: false, entered: false, exited: false, finallies: 0, timedOut: false };
          w.task = spawn(function* () {
            w.started = true;
            try {
              w.arrival = arrivals++;
              // With a permit free nobody may be queued: a newcomer never jumps the queue.
              if (sem.counter > 0 && sem.waiting !== 0) violations.push('a permit is free while tasks wait');
              w.queued = sem.counter === 0;
              if (timed) {
                if (!(yield* sem.acquire(1))) {
                  w.timedOut = true;
                  return;
                }
                try {
                  yield* body(w, hold)();
                } finally {
                  sem.release();
                }
              } else {
                yield* sem.run(body(w, hold));
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
                startWorker(o.hold, o.timed);
                break;
              case 'kill':
              case 'step':
              case 'advance':
                yield* sharedStep(o, workers);
                break;
              case 'take':
                if (sem.tryAcquire()) {
                  heldByDriver++;
                  if (inside + heldByDriver > bound) violations.push('the driver took a permit too many');
                }
                break;
              case 'give':
                if (heldByDriver > 0) {
                  heldByDriver--;
                  sem.release();
                }
                break;
            }
          }
          for (; heldByDriver > 0; heldByDriver--) sem.release();
          for (const w of workers) yield* w.task.join();
        });
        expect(violations).toEqual([]);
        for (const w of workers) {
          expect(w.finallies).toBe(w.started ? 1 : 0);
          // Whoever got a permit gave it back; nobody both timed out and got one.
          expect(w.exited).toBe(w.entered);
          expect(w.entered && w.timedOut).toBe(false);
          if (!w.killed && w.started) expect(w.entered || w.timedOut).toBe(true);
        }
        // Tasks that had to queue got their permits in the order they arrived.
        const queuedEntries = entries.filter((w) => w.queued).map((w) => w.arrival);
        expect(queuedEntries).toEqual([...queuedEntries].sort((a, b) => a - b));
        expect(inside).toBe(0);
        expect(sem.counter).toBe(bound);
        expect(sem.waiting).toBe(0);
        expect(sem.linkCount()).toBe(0);
        expect(getHub().timers.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
