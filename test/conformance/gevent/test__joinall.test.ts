/** Port of gevent's `src/gevent/tests/test__joinall.py` (gevent 26.5.0): its one test. */
import { describe, expect, it } from 'vitest';
import { joinall, spawn } from 'greenlet-ts';
import { inTask } from './harness.js';

describe('Test', () => {
  it('test: joinall with a task listed twice waits for each once', async () => {
    await inTask(function* () {
      const func = (): void => {};
      const a = spawn(func);
      const b = spawn(func);
      const done = yield* joinall([a, b, a]);
      expect(done).toEqual([a, b]);
      expect([a.dead, b.dead]).toEqual([true, true]);
    });
  });
});
