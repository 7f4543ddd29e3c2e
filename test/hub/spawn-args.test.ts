/**
 * The arguments a task starts with, as `spawn(fn, ...args)` and `new Task(fn, ...args)`
 * pass them (spawn() makes its task and schedules it itself, without `start()`).
 */
import { describe, expect, it } from 'vitest';
import { Task, run, spawn } from 'greenlet-ts';

/** What a task's function was called with: the count and the values. */
function* echo(...args: unknown[]): Generator<never, unknown[], unknown> {
  return [args.length, ...args];
}

describe('the arguments of a task', () => {
  it('are none for spawn(fn), and each value given, in order, for spawn(fn, ...args)', async () => {
    const results = await run(function* () {
      const tasks = [spawn(echo), spawn(echo, 'a'), spawn(echo, 1, undefined, null, 'd'), spawn(echo, ...Array.from({ length: 9 }, (_, i) => i))];
      const out: unknown[] = [];
      for (const t of tasks) out.push(yield* t.get());
      return out;
    });
    expect(results).toEqual([[0], [1, 'a'], [4, 1, undefined, null, 'd'], [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]]);
  });

  it('are kept by new Task(fn, ...args) until start(), and each task has its own', async () => {
    const shared = { n: 1 };
    const first = new Task(echo, shared, 'x');
    const second = new Task(echo, 'y');
    const results = await run(function* () {
      first.start();
      second.start();
      return [yield* first.get(), yield* second.get()];
    });
    expect(results).toEqual([[2, shared, 'x'], [1, 'y']]);
    expect((results[0] as unknown[])[1]).toBe(shared);
  });
});
