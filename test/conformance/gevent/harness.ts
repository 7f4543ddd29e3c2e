/**
 * What the ports of gevent's tests share (see CATALOG.md for the mapping).
 *
 * - gevent's tests run in the main greenlet, which may block; here each test body runs
 *   in a task: `await inTask(function* () { ... })`.
 * - `gevent.get_hub().loop.run_callback(fn)` (code run by the hub, outside any greenlet)
 *   becomes plain code run from a host callback: {@link hubCallback}.
 * - Durations are milliseconds. gevent's SMALL_TICK (10 ms) is kept; LARGE_TICK (200 ms)
 *   is 50 ms here, to keep the suite fast. Elapsed times are checked from below (a wait
 *   never ends early) and, generously, from above: CI machines are shared.
 * - gevent's `gevent.testing.timing` base classes (AbstractGenericWaitTestCase,
 *   AbstractGenericGetTestCase) are {@link genericWaitTests} and {@link genericGetTests}:
 *   each makes the same tests for every class that inherits them.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Timeout, getHub, printReport, run, type GreenletBody, type HubReport, type SwitchOp } from 'greenlet-ts';

/** gevent.testing's ExpectedException. */
export class ExpectedException extends Error {
  static {
    this.prototype.name = 'ExpectedException';
  }
}

/** Python's RuntimeError, which several tests raise through a Timeout. */
export class RuntimeError extends Error {
  static {
    this.prototype.name = 'RuntimeError';
  }
}

/** gevent.testing.timing.SMALL_TICK, in ms. */
export const SMALL_TICK = 10;
/** gevent.testing.timing.LARGE_TICK (200 ms in gevent), scaled down. */
export const LARGE_TICK = 50;
/** gevent.testing.timing.SMALLEST_RELIABLE_DELAY, in ms. */
export const SMALLEST_RELIABLE_DELAY = 1;
/** Longer than any test: a wait that only a kill or a Timeout ends. */
export const FOREVER = 100_000;

/** Run `body` in a task, as gevent's tests run in the main greenlet: `await inTask(function* () { ... })`. */
export function inTask<R>(body: () => GreenletBody<R>): Promise<R> {
  return run(body);
}

/** gevent's `get_hub().loop.run_callback(fn)`: `fn` runs soon, from plain code. */
export function hubCallback(fn: () => void): void {
  queueMicrotask(fn);
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/**
 * gevent's `_check_delay_bounds`: the wait lasted at least `timeout` (1 ms of slack for
 * the clock) and, generously, not much longer.
 */
export function expectDelay(elapsed: number, timeout: number): void {
  expect(elapsed).toBeGreaterThanOrEqual(timeout - SMALLEST_RELIABLE_DELAY);
  expect(elapsed).toBeLessThan(timeout * 5 + 500);
}

/** The error `body` raises (in the current task); fails if it returns. */
export function* raisedBy(body: () => SwitchOp<unknown>): GreenletBody<unknown> {
  try {
    yield* body();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to raise, but it returned');
}

/** The error `action` throws synchronously; fails if it returns. */
export function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned');
}

/**
 * Collect the hub's reports during each test of the file instead of printing them
 * (gevent's tests patch `hub.handle_error` / `print_exception` the same way). Returns
 * the reports of the running test.
 */
export function collectReports(): HubReport[] {
  const reports: HubReport[] = [];
  beforeEach(() => {
    reports.length = 0;
    getHub().reporter = (report) => reports.push(report);
  });
  afterEach(() => {
    getHub().reporter = printReport;
  });
  return reports;
}

/** After each test: no timer is left in the hub (every Timeout was cancelled). */
export function expectNoTimersLeft(): void {
  afterEach(() => {
    expect(getHub().timers.size).toBe(0);
  });
}

/** What a wait given no timeout but interrupted by an outer Timeout looks like. */
export type TimedWait = (timeout: number | undefined) => SwitchOp<unknown>;

/**
 * gevent.testing.timing.AbstractGenericWaitTestCase: `wait(timeout)` returns (here: its
 * timeout value, `expected`) after the timeout, and an outer Timeout that strikes first
 * is the error raised.
 */
export function genericWaitTests(wait: TimedWait, expected: unknown): void {
  it('test_returns_none_after_timeout: evaluates to its timeout value after the timeout, not before', async () => {
    const [result, elapsed] = await inTask(function* () {
      const start = performance.now();
      const r = yield* wait(LARGE_TICK);
      return [r, since(start)] as const;
    });
    expect(result).toEqual(expected);
    expectDelay(elapsed, LARGE_TICK);
  });
  outerTimeoutTest(wait);
}

/**
 * gevent.testing.timing.AbstractGenericGetTestCase: `wait(timeout)` raises
 * `timeoutError` after the timeout; a Timeout started around a wait without a timeout
 * raises that Timeout (or its own error); an outer Timeout is not lost.
 */
export function genericGetTests(wait: TimedWait, timeoutError: abstract new (...args: never[]) => Error = Timeout): void {
  it(`test_raises_timeout_number: raises ${timeoutError.name} after the timeout, not before`, async () => {
    const [error, elapsed] = await inTask(function* () {
      const start = performance.now();
      const e = yield* raisedBy(() => wait(SMALL_TICK));
      return [e, since(start)] as const;
    });
    expect(error).toBeInstanceOf(timeoutError);
    expectDelay(elapsed, SMALL_TICK);
  });
  timeoutObjectTests(wait);
  outerTimeoutTest(wait);
}

/** The two tests of AbstractGenericGetTestCase that pass a Timeout object as the timeout. */
export function timeoutObjectTests(wait: TimedWait): void {
  it('test_raises_timeout_Timeout: a Timeout started around the wait is the error raised', async () => {
    const timeout = new Timeout(SMALL_TICK);
    const [error, elapsed] = await inTask(function* () {
      const start = performance.now();
      const e = yield* raisedBy(function* () {
        using _armed = timeout.start();
        yield* wait(undefined);
      });
      return [e, since(start)] as const;
    });
    expect(error).toBe(timeout);
    expect(timeout.pending).toBe(false);
    expectDelay(elapsed, SMALL_TICK);
  });

  it('test_raises_timeout_Timeout_exc_customized: a Timeout with its own error raises that error', async () => {
    const error = new RuntimeError('expected error');
    const timeout = new Timeout(SMALL_TICK, error);
    const raised = await inTask(function* () {
      return yield* raisedBy(function* () {
        using _armed = timeout.start();
        yield* wait(undefined);
      });
    });
    expect(raised).toBe(error);
  });
}

/** _DelayWaitMixin.test_outer_timeout_is_not_lost. */
export function outerTimeoutTest(wait: TimedWait): void {
  it('test_outer_timeout_is_not_lost: an outer Timeout that strikes first is the error raised', async () => {
    const raised = await inTask(function* () {
      const timeout = Timeout.startNew(SMALLEST_RELIABLE_DELAY);
      try {
        const error = yield* raisedBy(() => wait(1000));
        return [error, timeout] as const;
      } finally {
        timeout.cancel();
      }
    });
    expect(raised[0]).toBe(raised[1]);
  });
}
