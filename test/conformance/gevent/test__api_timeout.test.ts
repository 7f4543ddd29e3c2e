/**
 * Port of gevent's `src/gevent/tests/test__api_timeout.py` (gevent 26.5.0): its five
 * tests, all ADAPT in CATALOG.md. Each `with Timeout(...) as t:` becomes
 * `const t = new Timeout(...); try { using _armed = t.start(); ... } catch (e) { ... }`:
 * the timeout is armed for the try block and still in scope in the catch.
 * `Timeout(s, False)` becomes `withTimeout({ ms, timeoutValue })`.
 */
import { describe, expect, it } from 'vitest';
import { Timeout, sleep, withTimeout, type GreenletBody } from 'greenlet-ts';
import { collectUntil } from '../greenlet/fixtures/gc-harness.js';
import { expectNoTimersLeft, inTask, raisedBy, since } from './harness.js';

expectNoTimersLeft();

const DELAY = 10;

class Error2 extends Error {}
class IOError extends Error {}
class ValueError extends Error {}
class ZeroDivisionError extends Error {}

/** A CPU-bound stretch: the event loop does not turn. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('Test', () => {
  it('test_timeout_calls_update_now: a Timeout started after a CPU-bound stretch counts from its start (gevent#97)', async () => {
    await inTask(function* () {
      yield* sleep(0); // a new pass begins
      busyWait(DELAY * 3);
      const start = performance.now();
      const t = new Timeout(DELAY * 2);
      const error = yield* raisedBy(function* () {
        using _armed = t.start();
        expect(t.pending).toBe(true);
        yield* sleep(DELAY * 100);
      });
      expect(error).toBe(t);
      expect(since(start)).toBeGreaterThanOrEqual(DELAY * 2 - 1);
    });
  });

  it('test_sleep_calls_update_now: a sleep started after a CPU-bound stretch lasts as long as asked', async () => {
    await inTask(function* () {
      yield* sleep(0);
      busyWait(DELAY * 3);
      const start = performance.now();
      yield* sleep(DELAY);
      expect(since(start)).toBeGreaterThanOrEqual(DELAY - 1);
    });
  });

  it('test_api: a Timeout around a block: nothing if the block ends first; else the Timeout, or its own error; cancel() in the block; silent; none', async () => {
    await inTask(function* () {
      // Nothing happens if the block finishes before the timeout expires.
      let t = new Timeout(DELAY * 2);
      expect(t.pending).toBe(false);
      {
        using _armed = t.start();
        expect(t.pending).toBe(true);
        yield* sleep(DELAY);
      }
      // the timer was cancelled
      expect(t.pending).toBe(false);
      yield* sleep(DELAY * 2);

      // An exception is raised if it is not.
      t = new Timeout(DELAY);
      const t2 = t;
      expect(
        yield* raisedBy(function* () {
          using _armed = t2.start();
          yield* sleep(DELAY * 10);
        }),
      ).toBe(t);

      // The error raised can be customized...
      expect(
        yield* raisedBy(function* () {
          using _armed = Timeout.startNew(DELAY, new IOError('Operation takes way too long'));
          yield* sleep(DELAY * 10);
        }),
      ).toBeInstanceOf(IOError);

      // ... with a class as well,
      expect(
        yield* raisedBy(function* () {
          using _armed = Timeout.startNew(DELAY, ValueError);
          yield* sleep(DELAY * 10);
        }),
      ).toBeInstanceOf(ValueError);

      // ... even the class of the error being handled.
      try {
        throw new ZeroDivisionError();
      } catch (handled) {
        const kind = (handled as Error).constructor as new () => Error;
        expect(
          yield* raisedBy(function* () {
            using _armed = Timeout.startNew(DELAY, kind);
            yield* sleep(DELAY * 10);
            throw new Error('should not get there');
          }),
        ).toBeInstanceOf(ZeroDivisionError);
      }

      // It is possible to cancel the timer inside the block.
      {
        using timer = Timeout.startNew(DELAY);
        timer.cancel();
        yield* sleep(DELAY * 2);
      }

      // A silent timeout ends the block without an error (gevent: Timeout(s, False)).
      const XDELAY = 20;
      const start = performance.now();
      yield* withTimeout({ ms: XDELAY, timeoutValue: undefined }, () => sleep(XDELAY * 2));
      const delta = since(start);
      expect(delta).toBeGreaterThanOrEqual(XDELAY - 1);
      expect(delta).toBeLessThan(XDELAY * 2 * 5);

      // Passing null as the delay disables the timer.
      {
        using _armed = new Timeout(null).start();
        yield* sleep(DELAY);
      }
      yield* sleep(DELAY);
    });
  });

  it('test_ref: the error given to a Timeout is not kept once the block is over', async () => {
    let collected = false;
    const registry = new FinalizationRegistry<null>(() => {
      collected = true;
    });
    await inTask(function* () {
      yield* (function* (): GreenletBody<void> {
        const err = new Error2();
        registry.register(err, null);
        using _armed = Timeout.startNew(DELAY * 2, err);
        yield* sleep(DELAY);
      })();
    });
    await collectUntil(() => collected, { description: 'the error was collected' });
  });

  it('test_nested_timeout: nested timeouts: each raises its own error, and only while its block runs', async () => {
    await inTask(function* () {
      const X = {};
      const silentOuter = yield* withTimeout({ ms: DELAY, timeoutValue: X }, function* (): GreenletBody<void> {
        yield* withTimeout({ ms: DELAY * 10, timeoutValue: undefined }, () => sleep(DELAY * 3 * 20));
        throw new Error('should not get there');
      });
      expect(silentOuter).toBe(X);

      {
        const t1 = new Timeout(DELAY);
        const t2 = new Timeout(DELAY * 20);
        using _t1 = t1.start();
        {
          using _t2 = t2.start();
          expect(yield* raisedBy(() => sleep(DELAY * 30))).toBe(t1);
          expect(t1.pending).toBe(false);
          expect(t2.pending).toBe(true);
        }
        expect(t2.pending).toBe(false);
      }

      const t1 = new Timeout(DELAY * 20);
      const t2 = new Timeout(DELAY);
      {
        using _t1 = t1.start();
        {
          using _t2 = t2.start();
          expect(yield* raisedBy(() => sleep(DELAY * 30))).toBe(t2);
          expect(t1.pending).toBe(true);
          expect(t2.pending).toBe(false);
        }
      }
      expect(t1.pending).toBe(false);
    });
  });
});
