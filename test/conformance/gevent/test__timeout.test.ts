/**
 * Port of gevent's `src/gevent/tests/test__timeout.py` (gevent 26.5.0): the PORTABLE and
 * ADAPT tests of CATALOG.md, one test per reference test, named after it.
 *
 * `get_hub().switch()` (block with nothing that could wake the greenlet) becomes a wait
 * that nothing ends (`sleep(FOREVER)`); `with timeout:` becomes
 * `try { using _armed = timeout.start(); ... } catch (e) { ... }`, with the timeout
 * still in scope in the `catch`; `close()` is `cancel()`.
 *
 * Not ported (N/A in CATALOG.md): `Timeout(s, False)` (test_expires_false,
 * test_context_manager_false: the silent block is `withTimeout({ ms, timeoutValue })`)
 * and a string as the exception (test_expires_str, test_context_manager_str).
 */
import { describe, expect, it } from 'vitest';
import { Timeout, sleep, withTimeout, type GreenletBody } from 'greenlet-ts';
import { FOREVER, expectNoTimersLeft, inTask, raisedBy } from './harness.js';

expectNoTimersLeft();

const SHOULD_EXPIRE = 10;
const SHOULD_NOT_EXPIRE = SHOULD_EXPIRE * 2;

describe('TestDirectRaise', () => {
  it('test_direct_raise_class: a Timeout thrown without being started is not pending', () => {
    try {
      throw new Timeout();
    } catch (t) {
      expect(t).toBeInstanceOf(Timeout);
      expect((t as Timeout).pending).toBe(false);
    }
  });

  it('test_direct_raise_instance: the Timeout caught is the one thrown, and is not pending', () => {
    const timeout = new Timeout();
    try {
      throw timeout;
    } catch (t) {
      expect(t).toBe(timeout);
      expect((t as Timeout).pending).toBe(false);
    }
  });
});

describe('Test', () => {
  /** The reference's _test: a wait nothing ends is interrupted by `timeout` itself. */
  function* waitForever(timeout: Timeout, close: boolean): GreenletBody<Timeout> {
    const ex = yield* raisedBy(() => sleep(FOREVER));
    expect(ex).toBe(timeout);
    if (close) timeout.cancel();
    return ex as Timeout;
  }

  it('test_expires: a started Timeout strikes a wait nothing ends; restarted, it strikes again', async () => {
    await inTask(function* () {
      const timeout = new Timeout(SHOULD_EXPIRE);
      timeout.start();
      yield* waitForever(timeout, false);
      timeout.start(); // restart
      yield* waitForever(timeout, true);
    });
  });

  it('test_expires_non_exception: an error that is not an Error (nor an Error class) is refused with TypeError when the Timeout starts', async () => {
    class OldStyle {}
    await inTask(function* () {
      expect(() => new Timeout(SHOULD_EXPIRE, {} as never).start()).toThrow(TypeError);
      expect(() => new Timeout(SHOULD_EXPIRE, OldStyle as never).start()).toThrow(TypeError);
      expect(() => new Timeout(SHOULD_EXPIRE, new OldStyle() as never).start()).toThrow(/must be an Error or an Error class/);
      yield* sleep(SHOULD_NOT_EXPIRE); // nothing was armed
    });
  });

  it('test_context_manager: `with timeout:` is a `using` declaration in a try block; the timeout is in scope in the catch', async () => {
    await inTask(function* () {
      const timeout = new Timeout(SHOULD_EXPIRE);
      let caught: unknown = null;
      try {
        using _armed = timeout.start();
        yield* sleep(FOREVER);
      } catch (ex) {
        if (ex !== timeout) throw ex;
        caught = ex;
      }
      expect(caught).toBe(timeout);
      expect(timeout.pending).toBe(false);
    });
  });

  it('test_cancel: a cancelled Timeout never strikes and is not pending', async () => {
    await inTask(function* () {
      const timeout = new Timeout(SHOULD_EXPIRE);
      timeout.start();
      timeout.cancel();
      yield* sleep(SHOULD_NOT_EXPIRE);
      expect(timeout.pending).toBe(false);
    });
  });

  it('test_with_timeout: withTimeout raises, or evaluates to timeoutValue, or to the function\'s value', async () => {
    await inTask(function* () {
      const sleeper = (ms: number) => sleep(ms);
      expect(yield* raisedBy(() => withTimeout(SHOULD_EXPIRE, sleeper, SHOULD_NOT_EXPIRE))).toBeInstanceOf(Timeout);
      const X = {};
      expect(yield* withTimeout({ ms: SHOULD_EXPIRE, timeoutValue: X }, sleeper, SHOULD_NOT_EXPIRE)).toBe(X);
      expect(yield* withTimeout({ ms: SHOULD_NOT_EXPIRE, timeoutValue: X }, sleeper, SHOULD_EXPIRE)).toBeUndefined();
    });
  });
});
