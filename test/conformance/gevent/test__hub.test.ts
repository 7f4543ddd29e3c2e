/**
 * Port of gevent's `src/gevent/tests/test__hub.py` (gevent 26.5.0): the PORTABLE and
 * ADAPT tests of CATALOG.md, one test per reference test, named after it.
 * `hub.handle_error` is `hub.reporter`.
 *
 * Not ported (N/A in CATALOG.md): a socket closed while connecting to python.org (needs
 * the network), gevent's low-level `Waiter` (TestWaiterGet, TestWaiter), the monitor
 * thread (the debug layer's watchdog replaces it) and gevent's loop interfaces.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Event, getHub, printReport, sleep, spawn } from 'greenlet-ts';
import { ExpectedException, collectReports, expectDelay, expectNoTimersLeft, genericWaitTests, inTask, raisedBy, since } from './harness.js';

expectNoTimersLeft();

const DELAY = 50;

describe('TestExceptionInMainloop', () => {
  const reports = collectReports();

  it('test_sleep: an error in a callback the hub runs goes to the reporter, and sleep still sleeps as long as asked', async () => {
    await inTask(function* () {
      let start = performance.now();
      yield* sleep(DELAY);
      expectDelay(since(start), DELAY);

      const error = new ExpectedException('TestExceptionInMainloop.test_sleep/fail');
      const event = new Event();
      event.rawlink(() => {
        throw error;
      });
      const timer = setTimeout(() => event.set(), 1);
      try {
        start = performance.now();
        yield* sleep(DELAY);
        expectDelay(since(start), DELAY);
      } finally {
        clearTimeout(timer);
      }
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ kind: 'callback-error', error });
    });
  });
});

describe('TestSleep', () => {
  genericWaitTests((timeout) => sleep(timeout ?? 1000), undefined);

  it('test_simple: sleep(0)', async () => {
    await inTask(function* () {
      yield* sleep(0);
    });
  });
});

describe('TestHandleError', () => {
  afterEach(() => {
    getHub().reporter = printReport;
    vi.restoreAllMocks();
  });

  it('test_exception_in_custom_handle_error_does_not_crash: a reporter that throws does not stop get() from raising the task\'s error', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    let called = 0;
    getHub().reporter = () => {
      called++;
      throw new TypeError('bad reporter');
    };
    class MyException extends Error {}
    await inTask(function* () {
      const raises = (): never => {
        throw new MyException();
      };
      expect(yield* raisedBy(() => spawn(raises).get())).toBeInstanceOf(MyException);
      // One that nobody waits for reaches the broken reporter; the hub goes on.
      spawn(raises);
      yield* sleep(DELAY);
      expect(called).toBe(1);
      expect(yield* raisedBy(() => spawn(raises).get())).toBeInstanceOf(MyException);
    });
  });
});
