/**
 * The hub's timers on every kind of host timer handle: Node's and Bun's objects (with
 * ref/unref), the numbers of browsers and Deno, and JavaScriptCore's shell, whose
 * setTimeout returns nothing and whose timers cannot be cancelled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Timeout, getHub, run, sleep, withTimeout } from 'greenlet-ts';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
});

/** Run `body` with a setTimeout that returns `handle` and a clearTimeout that cancels nothing. */
async function withHostTimers(handle: unknown, body: () => Promise<void>): Promise<void> {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const set = (fn: () => void, ms?: number) => {
    realSet(fn, ms);
    return handle;
  };
  globalThis.setTimeout = set as unknown as typeof setTimeout;
  globalThis.clearTimeout = (() => {}) as typeof clearTimeout;
  try {
    await body();
  } finally {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  }
}

describe('hub timers', () => {
  for (const [host, handle] of [
    ['a number (browsers, Deno)', 7],
    ["nothing (JavaScriptCore's shell)", undefined],
  ] as const) {
    it(`sleep and Timeout work where setTimeout returns ${host} and cannot be cancelled`, async () => {
      await withHostTimers(handle, async () => {
        const order: string[] = [];
        const started = performance.now();
        await run(function* () {
          yield* sleep(5);
          order.push('slept 5 ms');
          try {
            yield* withTimeout(5, function* () {
              yield* sleep(60_000);
            });
          } catch (error) {
            order.push(error instanceof Timeout ? 'timed out after 5 ms' : `failed: ${String(error)}`);
          }
        });
        expect(order).toEqual(['slept 5 ms', 'timed out after 5 ms']);
        // The 60 s sleep left the heap (afterEach checks it) and did not hold the run up.
        expect(performance.now() - started).toBeLessThan(30_000);
      });
    });
  }
});
