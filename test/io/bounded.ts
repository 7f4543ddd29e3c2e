/**
 * Bounds for the I/O tests' waits. A test that waits for something that never comes must
 * fail with a message saying what it waited for, within a bound at least 5 times what the
 * wait takes on an idle machine, and stop what it started (its `finally` blocks run), instead
 * of hanging until vitest gives up on it and leaving a task polling or a server open that
 * the next tests then trip over.
 *
 * - `runBounded(body)` is `run(body)` whose task gets at most {@link TEST_BODY_BOUND} ms
 *   (`runWithin(ms, body)` for another bound): then a {@link TestBoundExceeded} is raised
 *   wherever the task waits, so every wait inside it is bounded.
 * - `until(condition, what?)` waits, in a task, until `condition()` holds; at most `ms`.
 * - `within(promise, ms, what)` is `promise`, rejected after `ms` (for plain async code).
 */
import { Timeout, run, sleep, type GreenletBody, type SwitchOp } from 'greenlet-ts';

/**
 * How long a test's task may run by default (ms): 5 s less than vitest's 20 s per test (for
 * the cleanup after it), and more than 5 times the longest a test body of test/io with this
 * bound takes on an idle machine (about 1 s; 5 s with the two cores shared by ten others).
 */
export const TEST_BODY_BOUND = 15_000;

/** A test waited longer than its bound. */
export class TestBoundExceeded extends Error {
  static {
    this.prototype.name = 'TestBoundExceeded';
  }
}

/** `run(fn, ...args)`, its task bounded by {@link TEST_BODY_BOUND} ms. */
export function runBounded<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | SwitchOp<R>, ...args: A): Promise<R> {
  return runWithin(TEST_BODY_BOUND, fn, ...args);
}

/** `run(fn, ...args)`, its task bounded by `ms`: past it, {@link TestBoundExceeded} is raised where it waits. */
export function runWithin<A extends unknown[], R>(ms: number, fn: (...args: A) => GreenletBody<R> | SwitchOp<R>, ...args: A): Promise<R> {
  return run(function* boundedTestBody(): GreenletBody<R> {
    const bound = Timeout.startNew(
      ms,
      new TestBoundExceeded(`the test's task (${fn.name || 'anonymous'}) did not finish within ${ms} ms: it waits for something that does not come`),
    );
    try {
      return yield* fn(...args);
    } finally {
      bound.cancel();
    }
  });
}

/**
 * Wait, yielding to the event loop, until `condition()` holds; raise after `ms` if it never
 * does, saying `what` it waited for (by default, the condition's source).
 */
export function* until(condition: () => boolean, what = `${String(condition)} to hold`, ms = 5000): GreenletBody<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new TestBoundExceeded(`waited ${ms} ms for ${what}`);
    yield* sleep(2);
  }
}

/** `promise`, or a rejection with a {@link TestBoundExceeded} after `ms` (plain async code). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TestBoundExceeded(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
