/**
 * The loop idiom with `using` in the for initializer: `for (using it = pool.imap(...);
 * yield* it.next(); )`. A file of its own because esbuild does not lower `using` there, so
 * runtimes without `using` (JavaScriptCore's shell) cannot parse it (test/runtimes/files.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Group, Pool, getHub, run, sleep, type GreenletBody } from 'greenlet-ts';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

function* square(x: number): GreenletBody<number> {
  yield* sleep(x % 3);
  return x * x;
}

describe('imap', () => {
  it('`for (using it = pool.imap(...); yield* it.next(); )` reads the results in order', async () => {
    const seen = await run(function* () {
      const pool = new Pool(2);
      const got: number[] = [];
      for (using it = pool.imap(square, [1, 2, 3, 4]); yield* it.next(); ) got.push(it.value);
      return got;
    });
    expect(seen).toEqual([1, 4, 9, 16]);
  });

  it('breaking out of a `using` loop kills the tasks still running', async () => {
    await run(function* () {
      const group = new Group();
      let first: number | undefined;
      for (using it = group.imap(square, [1, 2, 3, 4, 5, 6]); yield* it.next(); ) {
        first = it.value;
        break;
      }
      expect(first).toBe(1);
      yield* sleep(0);
      expect(group.size).toBe(0);
    });
  });
});
