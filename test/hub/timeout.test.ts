/**
 * Timeout and withTimeout. Behaviours from gevent's src/gevent/tests/test__timeout.py and
 * test__api_timeout.py, cited per test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BlockingError, Timeout, getHub, run, sleep, spawn, withTimeout, type GreenletBody } from 'greenlet-ts';

class ExpectedError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

function* nap(ms: number): GreenletBody<string> {
  yield* sleep(ms);
  return 'finished';
}

describe('Timeout', () => {
  it('raises itself in the task when the delay passes (gevent: Test::test_expires)', async () => {
    const raised = await run(function* () {
      const t = Timeout.startNew(10);
      try {
        yield* sleep(10_000);
        return null;
      } catch (e) {
        return [e === t, t.pending];
      } finally {
        t.cancel();
      }
    });
    expect(raised).toEqual([true, false]);
  });

  it('raises the error it was given instead, class or instance (gevent: Test::test_expires_str, test_direct_raise_class)', async () => {
    const result = await run(function* () {
      const out: unknown[] = [];
      for (const error of [ExpectedError, new ExpectedError('instance')]) {
        const t = Timeout.startNew(5, error);
        try {
          yield* sleep(10_000);
        } catch (e) {
          out.push(e instanceof ExpectedError);
        } finally {
          t.cancel();
        }
      }
      return out;
    });
    expect(result).toEqual([true, true]);
  });

  it('strikes at any call depth, unwinding every frame', async () => {
    const log: string[] = [];
    function* deep(n: number): GreenletBody<void> {
      try {
        if (n === 0) yield* sleep(10_000);
        else yield* deep(n - 1);
      } finally {
        log.push(`finally ${n}`);
      }
    }
    const caught = await run(function* () {
      const t = Timeout.startNew(5);
      try {
        yield* deep(2);
      } catch (e) {
        return e === t;
      } finally {
        t.cancel();
      }
      return false;
    });
    expect(caught).toBe(true);
    expect(log).toEqual(['finally 0', 'finally 1', 'finally 2']);
  });

  it('cancel() prevents it (gevent: Test::test_cancel)', async () => {
    const result = await run(function* () {
      const t = Timeout.startNew(5);
      t.cancel();
      yield* sleep(20);
      return t.pending;
    });
    expect(result).toBe(false);
  });

  it('a timeout that never fires: undefined delay', async () => {
    const result = await run(function* () {
      const t = Timeout.startNew(undefined);
      yield* sleep(5);
      return t.pending;
    });
    expect(result).toBe(false);
  });

  it('using cancels it at the end of the block', async () => {
    const result = await run(function* () {
      {
        using t = Timeout.startNew(10);
        expect(t.pending).toBe(true);
      }
      yield* sleep(30);
      return 'no timeout raised';
    });
    expect(result).toBe('no timeout raised');
  });

  it('nested timeouts: the outer one passes through the inner block (gevent: Test::test_nested_timeout)', async () => {
    const result = await run(function* () {
      const outer = Timeout.startNew(5);
      try {
        const inner = Timeout.startNew(10_000);
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e === inner) return 'inner';
          throw e;
        } finally {
          inner.cancel();
        }
      } catch (e) {
        return e === outer ? 'outer' : 'other';
      } finally {
        outer.cancel();
      }
      return 'none';
    });
    expect(result).toBe('outer');
  });

  it('one that is caught does not leak out: the task carries on and later waits are unaffected', async () => {
    const result = await run(function* () {
      const t = Timeout.startNew(5);
      try {
        yield* sleep(10_000);
      } catch (e) {
        if (e !== t) throw e;
      }
      yield* sleep(20);
      return 'carried on';
    });
    expect(result).toBe('carried on');
  });

  it('a timeout that struck while the task was busy is dropped when cancelled before the next wait', async () => {
    const result = await run(function* () {
      const t = Timeout.startNew(1);
      // Busy without blocking past the deadline: the timer fires when the task is not parked.
      const until = performance.now() + 20;
      while (performance.now() < until) {
        // spin
      }
      yield* sleep(0); // the timer fires while this task is queued; the error waits for its next park
      t.cancel();
      yield* sleep(5);
      return 'no timeout';
    });
    expect(result).toBe('no timeout');
  });

  it('cannot be started in the main greenlet', () => {
    expect(() => Timeout.startNew(10)).toThrow(BlockingError);
  });
});

describe('withTimeout (gevent: Test::test_with_timeout)', () => {
  it('evaluates to the function\'s result when it is in time', async () => {
    const result = await run(function* () {
      return yield* withTimeout(1000, nap, 1);
    });
    expect(result).toBe('finished');
  });

  it('raises the Timeout when the time runs out, after the function\'s finally blocks', async () => {
    const log: string[] = [];
    const result = await run(function* () {
      try {
        yield* withTimeout(5, function* () {
          try {
            yield* sleep(10_000);
          } finally {
            log.push('inner finally');
          }
        });
        return null;
      } catch (e) {
        log.push('caught');
        return e instanceof Timeout;
      }
    });
    expect(result).toBe(true);
    expect(log).toEqual(['inner finally', 'caught']);
  });

  it('evaluates to timeoutValue instead, silently', async () => {
    const result = await run(function* () {
      return yield* withTimeout({ ms: 5, timeoutValue: 'too slow' }, nap, 10_000);
    });
    expect(result).toBe('too slow');
  });

  it('lets another timeout\'s error through even with timeoutValue', async () => {
    const result = await run(function* () {
      const outer = Timeout.startNew(5);
      try {
        yield* withTimeout({ ms: 10_000, timeoutValue: 'inner value' }, nap, 10_000);
        return 'no error';
      } catch (e) {
        return e === outer ? 'outer timeout' : 'other';
      } finally {
        outer.cancel();
      }
    });
    expect(result).toBe('outer timeout');
  });

  it('also bounds a task that another task waits for: kill on timeout with get()', async () => {
    const result = await run(function* () {
      const slow = spawn(nap, 10_000);
      try {
        return yield* withTimeout(5, function* () {
          return yield* slow.get();
        });
      } catch (e) {
        yield* slow.kill();
        return e instanceof Timeout ? 'timed out' : 'other';
      }
    });
    expect(result).toBe('timed out');
  });
});
