/**
 * The bounds of the I/O tests (bounded.ts): a wait that never ends fails with a message
 * saying what it waited for, and the test's `finally` blocks run.
 */
import { describe, expect, it } from 'vitest';
import { Event, getHub } from 'greenlet-ts';
import { TestBoundExceeded, runWithin, until, within } from './bounded.js';

describe('the I/O tests\' bounds', () => {
  it('runWithin raises TestBoundExceeded where the task waits, runs its finally, and leaves no timer', async () => {
    let finallyRan = false;
    const outcome = runWithin(50, function* parkedForever() {
      try {
        yield* new Event().wait();
      } finally {
        finallyRan = true;
      }
    });
    await expect(outcome).rejects.toThrow(TestBoundExceeded);
    await expect(outcome).rejects.toThrow("the test's task (parkedForever) did not finish within 50 ms");
    expect(finallyRan).toBe(true);
    expect(getHub().timers.size).toBe(0);
  });

  it('runWithin evaluates to what the task returns, and cancels its bound', async () => {
    expect(await runWithin(5000, function* () {
      return 42;
    })).toBe(42);
    expect(getHub().timers.size).toBe(0);
  });

  it('until raises after its bound, naming the condition', async () => {
    const outcome = runWithin(5000, function* () {
      yield* until(() => 1 + 1 === 3, undefined, 30);
    });
    await expect(outcome).rejects.toThrow(/^waited 30 ms for \(\) => 1 \+ 1 === 3 to hold$/);
  });

  it('within rejects after its bound, and passes a value that comes in time', async () => {
    await expect(within(new Promise(() => {}), 20, 'nothing')).rejects.toThrow('waited 20 ms for nothing');
    expect(await within(Promise.resolve('in time'), 1000, 'a value')).toBe('in time');
  });
});
