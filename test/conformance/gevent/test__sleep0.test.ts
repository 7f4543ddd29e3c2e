/**
 * Port of gevent's `src/gevent/tests/test__sleep0.py` (gevent 26.5.0), a module-level
 * script: a loop around `sleep(0)` under `Timeout(0.01, False)` ends.
 */
import { describe, expect, it } from 'vitest';
import { sleep, withTimeout, type GreenletBody } from 'greenlet-ts';
import { expectNoTimersLeft, inTask } from './harness.js';

expectNoTimersLeft();

describe('(module script)', () => {
  it('sleep(0) in a loop under Timeout(0.01, False): a task looping on sleep(0) under a silent 10 ms timeout ends', async () => {
    const result = await inTask(function* () {
      return yield* withTimeout({ ms: 10, timeoutValue: 'timed out' }, function* (): GreenletBody<never> {
        for (;;) yield* sleep(0);
      });
    });
    expect(result).toBe('timed out');
  });
});
