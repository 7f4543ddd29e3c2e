/**
 * AsyncResult: a one-shot value-or-error cell tasks wait for, and its Promise bridges.
 * Behaviours from gevent's src/gevent/tests/test__event.py, cited per test.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  getHub,
  run,
  sleep,
  spawn,
  wait,
  withTimeout,
  type Task,
} from 'greenlet-ts';
import { AsyncResult } from '../../src/sync/async-result.js';
import { sharedStep } from './contention.js';

class MyError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

describe('state', () => {
  it('is not ready, has no value and no exception until set (gevent: test__event.py::TestAsyncResult::test_set_exc)', () => {
    const r = new AsyncResult<number>();
    expect(r.ready()).toBe(false);
    expect(r.successful()).toBe(false);
    expect(r.value).toBeUndefined();
    expect(r.exception).toBeUndefined();
  });

  it('after set() is ready and successful and holds the value', () => {
    const r = new AsyncResult<number>();
    r.set(7);
    expect(r.ready()).toBe(true);
    expect(r.successful()).toBe(true);
    expect(r.value).toBe(7);
    expect(r.exception).toBeUndefined();
  });

  it('after setException() is ready, not successful, and holds the error', () => {
    const r = new AsyncResult<number>();
    const error = new MyError('failed');
    r.setException(error);
    expect(r.ready()).toBe(true);
    expect(r.successful()).toBe(false);
    expect(r.value).toBeUndefined();
    expect(r.exception).toBe(error);
  });

  it('set again replaces the value for later readers, as gevent does', () => {
    const r = new AsyncResult<number>();
    r.set(1);
    r.set(2);
    expect(r.getNowait()).toBe(2);
  });

  it('a value wins over an error set after it: get() returns the value, exception shows the error (as gevent)', () => {
    const r = new AsyncResult<number>();
    r.set(2);
    const error = new MyError('later');
    r.setException(error);
    expect(r.getNowait()).toBe(2);
    expect(r.successful()).toBe(true);
    expect(r.exception).toBe(error);
  });

  it('a value set after an error wins too; a second error replaces the first while no value is set', () => {
    const r = new AsyncResult<number>();
    const first = new MyError('first');
    const second = new MyError('second');
    r.setException(first);
    r.setException(second);
    expect(() => r.getNowait()).toThrow(second);
    r.set(3);
    expect(r.getNowait()).toBe(3);
    expect(r.successful()).toBe(true);
    expect(r.exception).toBe(second);
  });

  it('describes itself (gevent: test__event.py::TestAsyncResult::test_link)', () => {
    const r = new AsyncResult<number>();
    expect(String(r)).toBe('AsyncResult(unset, 0 waiting)');
    r.set(1);
    expect(String(r)).toBe('AsyncResult(value, 0 waiting)');
    const failed = new AsyncResult<number>();
    failed.setException(new MyError());
    expect(String(failed)).toBe('AsyncResult(exception, 0 waiting)');
  });
});

describe('get()', () => {
  it('evaluates to the value set by another task', async () => {
    const r = new AsyncResult<string>();
    const value = await run(function* () {
      spawn(function* () {
        r.set('hello');
      });
      return yield* r.get();
    });
    expect(value).toBe('hello');
  });

  it('raises the error given to setException in the waiting task (gevent: test__event.py::TestAsyncResult::test_set_exc)', async () => {
    const r = new AsyncResult<number>();
    const log: unknown[] = [];
    const obj = new MyError();
    await run(function* () {
      const waiter = spawn(function* () {
        try {
          yield* r.get();
        } catch (error) {
          log.push(['caught', error]);
        }
      });
      yield* sleep(0);
      r.setException(obj);
      yield* waiter.join();
    });
    expect(log).toEqual([['caught', obj]]);
  });

  it('on a result that is already set evaluates to the value, or raises the error, without blocking', async () => {
    const ok = new AsyncResult<number>();
    ok.set(5);
    const bad = new AsyncResult<number>();
    const error = new MyError('stored');
    bad.setException(error);
    const outcome = await run(function* () {
      const v = yield* ok.get();
      try {
        yield* bad.get();
        return [v, 'no error'];
      } catch (e) {
        return [v, e];
      }
    });
    expect(outcome).toEqual([5, error]);
  });

  it('raises a Timeout when nothing is set in time (gevent: test__event.py::TestAsyncResultGet)', async () => {
    const r = new AsyncResult<number>();
    const error = await run(function* () {
      try {
        return yield* r.get(10);
      } catch (e) {
        return e;
      }
    });
    expect(error).toBeInstanceOf(Timeout);
    expect(r.waiting).toBe(0);
  });

  it('is interrupted by a Timeout started by the task, with that Timeout\'s error (gevent: test__event.py::TestAsyncResult::test_set)', async () => {
    const r = new AsyncResult<string>();
    const timerError = new MyError('interrupted');
    const caught = await run(function* () {
      const timeout = Timeout.startNew(0, timerError);
      try {
        yield* r.get();
        return 'got a value';
      } catch (e) {
        return e;
      } finally {
        timeout.cancel();
      }
    });
    expect(caught).toBe(timerError);
    expect(r.waiting).toBe(0);
  });

  it('under withTimeout evaluates to the timeout value when nobody sets it (gevent: test__event.py::TestAsyncResult::test_set_with_timeout)', async () => {
    const r = new AsyncResult<string>();
    const marker = Symbol('timed out');
    const result = await run(function* () {
      return yield* withTimeout({ ms: 5, timeoutValue: marker }, function* () {
        return yield* r.get();
      });
    });
    expect(result).toBe(marker);
  });

  it('hands the same value to every waiting task', async () => {
    const r = new AsyncResult<number>();
    const values = await run(function* () {
      const waiters = Array.from({ length: 5 }, () =>
        spawn(function* () {
          return yield* r.get();
        }),
      );
      yield* sleep(0);
      expect(r.waiting).toBe(5);
      r.set(42);
      const out: number[] = [];
      for (const w of waiters) out.push(yield* w.get());
      return out;
    });
    expect(values).toEqual([42, 42, 42, 42, 42]);
    expect(r.waiting).toBe(0);
  });

  it('can be set from plain code, such as a host timer callback', async () => {
    const r = new AsyncResult<string>();
    setTimeout(() => r.set('from a callback'), 1);
    expect(
      await run(function* () {
        return yield* r.get();
      }),
    ).toBe('from a callback');
  });

  it('from the main greenlet throws a BlockingError naming the call', () => {
    const r = new AsyncResult<number>();
    expect(() => r.get()).toThrow(BlockingError);
    expect(() => r.get()).toThrow(/asyncResult\.get\(\)/);
  });

  it('leaves the result cleanly when the waiting task is killed, running its finally', async () => {
    const r = new AsyncResult<number>();
    const log: string[] = [];
    await run(function* () {
      const waiter = spawn(function* () {
        try {
          yield* r.get();
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* waiter.kill();
      expect(waiter.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally']);
    expect(r.waiting).toBe(0);
    expect(r.linkCount()).toBe(0);
  });
});

describe('getNowait()', () => {
  it('raises a Timeout when nothing is set yet (gevent: test__event.py::TestAsyncResult::test_nonblocking_get)', () => {
    const r = new AsyncResult<number>();
    expect(() => r.getNowait()).toThrow(Timeout);
    expect(() => r.getNowait()).toThrow(/no value or error has been set yet/);
  });

  it('returns the value or raises the error once set, from anywhere', () => {
    const r = new AsyncResult<number>();
    r.set(3);
    expect(r.getNowait()).toBe(3);
    const failed = new AsyncResult<number>();
    const error = new MyError();
    failed.setException(error);
    expect(() => failed.getNowait()).toThrow(error);
  });
});

describe('wait()', () => {
  it('evaluates to undefined when the timeout passes (gevent: test__event.py::TestAsyncResultWait)', async () => {
    const r = new AsyncResult<number>();
    const result = await run(function* () {
      return yield* r.wait(10);
    });
    expect(result).toBeUndefined();
    expect(r.waiting).toBe(0);
  });

  it('evaluates to the value once set, and to undefined for an error, without raising it (gevent: AsyncResult.wait docstring)', async () => {
    const ok = new AsyncResult<number>();
    const bad = new AsyncResult<number>();
    const results = await run(function* () {
      spawn(function* () {
        ok.set(9);
        bad.setException(new MyError());
      });
      return [yield* ok.wait(), yield* bad.wait()];
    });
    expect(results).toEqual([9, undefined]);
  });

  it('gevent.wait([result], timeout) returns nothing when nothing is set (gevent: test__event.py::TestWaitAsyncResult)', async () => {
    const r = new AsyncResult<number>();
    const ready = await run(function* () {
      return yield* wait([r], { timeout: 10 });
    });
    expect(ready).toEqual([]);
    expect(r.linkCount()).toBe(0);
  });
});

describe('as the outcome of a task', () => {
  it('setFrom copies the value of a task that succeeded; an exception-only link never fires (gevent: test__event.py::TestAsyncResultAsLinkTarget::test_set)', async () => {
    const s1 = new AsyncResult<number>();
    const s2 = new AsyncResult<number>();
    const s3 = new AsyncResult<number>();
    const marker = Symbol('timed out');
    const results = await run(function* () {
      const g = spawn(function* () {
        return 1;
      });
      g.link((t) => s1.setFrom(t));
      g.linkValue((t) => s2.setFrom(t));
      g.linkException((t) => s3.setFrom(t));
      const third = yield* withTimeout({ ms: 10, timeoutValue: marker }, function* () {
        return yield* s3.get();
      });
      return [yield* s1.get(), yield* s2.get(), third];
    });
    expect(results).toEqual([1, 1, marker]);
  });

  it('setFrom copies the error of a task that failed; a value-only link never fires (gevent: test__event.py::TestAsyncResultAsLinkTarget::test_set_exception)', async () => {
    const s1 = new AsyncResult<number>();
    const s2 = new AsyncResult<number>();
    const s3 = new AsyncResult<number>();
    const error = new MyError('TestAsyncResultAsLinkTarget.test_set_exception');
    const marker = Symbol('timed out');
    const results = await run(function* () {
      const g = spawn(function* (): Generator<never, number> {
        throw error;
      });
      g.link((t) => s1.setFrom(t));
      g.linkValue((t) => s2.setFrom(t));
      g.linkException((t) => s3.setFrom(t));
      const caught: unknown[] = [];
      try {
        yield* s1.get();
      } catch (e) {
        caught.push(e);
      }
      caught.push(
        yield* withTimeout({ ms: 10, timeoutValue: marker }, function* () {
          return yield* s2.get();
        }),
      );
      try {
        yield* s3.get();
      } catch (e) {
        caught.push(e);
      }
      return caught;
    });
    expect(results).toEqual([error, marker, error]);
  });
});

describe('rawlink', () => {
  it('refuses what is not a function, and unlink of an unknown callback does nothing (gevent: test__event.py::TestAsyncResult::test_link)', () => {
    const r = new AsyncResult<number>();
    expect(() => r.rawlink(null as unknown as () => void)).toThrow(TypeError);
    r.unlink(() => {});
    r.unlink(() => {});
  });

  it('calls the callback once, after set() has returned, from the hub, with the result', async () => {
    const r = new AsyncResult<number>();
    const seen: unknown[] = [];
    r.rawlink((x) => seen.push(x.value));
    r.set(4);
    expect(seen).toEqual([]);
    await run(function* () {
      yield* sleep(0);
    });
    r.set(5);
    await run(function* () {
      yield* sleep(0);
    });
    expect(seen).toEqual([4]);
    expect(r.linkCount()).toBe(0);
  });

  it('calls the callbacks in the order registered; one that unlinks a later one stops it (gevent: test__greenlet.py::TestStuff::test_multiple_listeners_error_unlink_AsyncResult_rawlink)', async () => {
    const r = new AsyncResult<number>();
    const seen: string[] = [];
    const second = (): void => {
      seen.push('second');
    };
    r.rawlink(() => {
      seen.push('first');
      r.unlink(second);
    });
    r.rawlink(second);
    r.rawlink(() => seen.push('third'));
    await run(function* () {
      r.set(1);
      seen.push('set returned');
      yield* sleep(0);
    });
    expect(seen).toEqual(['set returned', 'first', 'third']);
  });

  it('a callback registered twice is called twice; unlink removes its first registration; linkCount counts each (gevent keeps a list)', async () => {
    const r = new AsyncResult<number>();
    const seen: string[] = [];
    const a = (): void => void seen.push('a');
    const b = (): void => void seen.push('b');
    r.rawlink(a);
    r.rawlink(b);
    r.rawlink(a);
    expect(r.linkCount()).toBe(3);
    r.unlink(a);
    expect(r.linkCount()).toBe(2);
    await run(function* () {
      r.set(1);
      yield* sleep(0);
    });
    expect(seen).toEqual(['b', 'a']);
    r.rawlink(a);
    r.rawlink(a);
    await run(function* () {
      yield* sleep(0);
    });
    expect(seen).toEqual(['b', 'a', 'a', 'a']);
    expect(r.linkCount()).toBe(0);
  });

  it('on a result already set calls the callback from a microtask', async () => {
    const r = new AsyncResult<number>();
    r.set(1);
    const seen: string[] = [];
    r.rawlink(() => seen.push('called'));
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(['called']);
  });
});

describe('Promise bridges', () => {
  it('fromPromise: a task gets the value of a promise that resolves', async () => {
    const r = AsyncResult.fromPromise(new Promise<string>((resolve) => setTimeout(() => resolve('resolved'), 1)));
    expect(
      await run(function* () {
        return yield* r.get();
      }),
    ).toBe('resolved');
  });

  it('fromPromise: a task gets the rejection of a promise as the error', async () => {
    const error = new MyError('rejected');
    const r = AsyncResult.fromPromise(Promise.reject(error));
    const caught = await run(function* () {
      try {
        return yield* r.get();
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(error);
  });

  it('toPromise resolves with a value set later by a task', async () => {
    const r = new AsyncResult<number>();
    const promise = r.toPromise();
    await run(function* () {
      yield* sleep(0);
      r.set(11);
    });
    await expect(promise).resolves.toBe(11);
    expect(r.linkCount()).toBe(0);
  });

  it('toPromise rejects with the error, also when it was set before', async () => {
    const error = new MyError('stored');
    const r = new AsyncResult<number>();
    const early = r.toPromise();
    r.setException(error);
    await expect(early).rejects.toBe(error);
    await expect(r.toPromise()).rejects.toBe(error);
  });

  it('toPromise settles with the outcome the result holds when the hub notifies it', async () => {
    const r = new AsyncResult<number>();
    const promise = r.toPromise();
    r.set(1);
    r.set(2);
    await expect(promise).resolves.toBe(2);
    r.set(3);
    await expect(promise).resolves.toBe(2);
    await expect(r.toPromise()).resolves.toBe(3);
  });
});

describe('property', () => {
  type Op =
    | { kind: 'get' }
    | { kind: 'timedGet' }
    | { kind: 'wait' }
    | { kind: 'kill'; index: number }
    | { kind: 'step' }
    | { kind: 'advance' };

  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant<Op>({ kind: 'get' }), weight: 3 },
    { arbitrary: fc.constant<Op>({ kind: 'timedGet' }), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'wait' }), weight: 2 },
    { arbitrary: fc.nat(20).map<Op>((index) => ({ kind: 'kill', index })), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'step' }), weight: 3 },
    { arbitrary: fc.constant<Op>({ kind: 'advance' }), weight: 1 },
  );

  it('every task waiting when the outcome is set receives exactly that outcome, once; nothing stays registered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 8, maxLength: 30 }), fc.boolean(), async (ops, fails) => {
        const r = new AsyncResult<number>();
        const failure = new MyError('outcome');
        interface Waiter {
          task: Task;
          kind: 'get' | 'timedGet' | 'wait';
          waiting: boolean;
          killed: boolean;
          outcomes: unknown[];
          started: boolean;
          finallies: number;
        }
        const waiters: Waiter[] = [];
        const present = new Set<Waiter>();
        const start = (kind: Waiter['kind']): void => {
          const w: Waiter = { task: null as unknown as Task, kind, waiting: false, killed: false, outcomes: [], started: false, finallies: 0 };
          w.task = spawn(function* () {
            w.started = true;
            w.waiting = true;
            try {
              if (kind === 'wait') w.outcomes.push(['wait', yield* r.wait()]);
              else w.outcomes.push(['value', yield* r.get(kind === 'timedGet' ? 1 : undefined)]);
            } catch (e) {
              if (!(e instanceof GreenletExit)) w.outcomes.push(['error', e]);
              else throw e;
            } finally {
              w.waiting = false;
              w.finallies++;
            }
          });
          waiters.push(w);
        };
        await run(function* () {
          for (const o of ops) {
            switch (o.kind) {
              case 'get':
              case 'timedGet':
              case 'wait':
                start(o.kind);
                break;
              case 'kill':
              case 'step':
              case 'advance':
                yield* sharedStep(o, waiters);
                break;
            }
          }
          for (const w of waiters) if (w.waiting && !w.killed) present.add(w);
          if (fails) r.setException(failure);
          else r.set(17);
          for (const w of waiters) yield* w.task.join();
        });
        const expected = (w: Waiter): unknown[] =>
          w.kind === 'wait' ? ['wait', fails ? undefined : 17] : fails ? ['error', failure] : ['value', 17];
        const timedOut = (w: Waiter): boolean => {
          const [tag, payload] = w.outcomes[0] as [string, unknown];
          return w.kind === 'timedGet' && tag === 'error' && payload instanceof Timeout;
        };
        for (const w of waiters) {
          expect(w.finallies).toBe(w.started ? 1 : 0);
          expect(w.outcomes.length).toBeLessThanOrEqual(1);
          if (present.has(w)) {
            // Waiting when the outcome was set: it receives exactly that outcome (or, for a
            // timed get, its Timeout if that struck just before set()).
            expect(w.outcomes).toHaveLength(1);
            if (!timedOut(w)) expect(w.outcomes).toEqual([expected(w)]);
          } else if (w.killed) {
            // Killed before set(): no outcome, unless its own timeout had already struck.
            if (w.outcomes.length !== 0) expect(timedOut(w)).toBe(true);
          } else {
            // Timed out before set(), or started after it and found the outcome.
            expect(w.outcomes).toHaveLength(1);
            if (!timedOut(w)) expect(w.outcomes).toEqual([expected(w)]);
          }
        }
        expect(r.waiting).toBe(0);
        expect(r.linkCount()).toBe(0);
        expect(getHub().timers.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
