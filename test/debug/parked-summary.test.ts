/**
 * debug/parked-summary: `summariseParked()`, the cheap summary of parked tasks that an
 * operator endpoint answers with (the demo's /stats).
 */
import { describe, expect, it } from 'vitest';
import { Event, Queue, run, sleep, spawn } from 'greenlet-ts';
import { summariseParked } from 'greenlet-ts/debug';

describe('summariseParked', () => {
  it('counts the parked tasks by what they wait on, most first, and describes the longest-parked first', async () => {
    const summary = await run(function* () {
      const event = new Event();
      const queue = new Queue<number>();
      const first = spawn(function* firstToPark() {
        yield* event.wait();
      });
      yield* sleep(30);
      const others = [
        ...Array.from({ length: 3 }, () => spawn(function* sleeper() {
          yield* sleep(10_000);
        })),
        ...Array.from({ length: 2 }, () => spawn(function* getter() {
          yield* queue.get();
        })),
      ];
      yield* sleep(5);
      const s = summariseParked({ longest: 2 });
      for (const t of [first, ...others]) yield* t.kill();
      return s;
    });
    expect(summary.parkedTasks).toBe(6);
    expect(summary.liveTasks).toBeGreaterThanOrEqual(7); // and the task running run()
    expect(summary.waitingOn).toEqual([
      { kind: 'sleep()', tasks: 3 },
      { kind: 'QueueWait', tasks: 2 },
      { kind: 'Event', tasks: 1 },
    ]);
    expect(summary.longest).toHaveLength(2);
    expect(summary.longest[0]).toMatchObject({ name: expect.stringMatching(/^firstToPark-\d+$/), waitingOn: 'Event(clear, 1 waiting)' });
    expect(summary.longest[0]?.parkedForMs).toBeGreaterThanOrEqual(25);
    expect((summary.longest[0]?.parkedForMs ?? 0) >= (summary.longest[1]?.parkedForMs ?? 0)).toBe(true);
  });

  it('describes none with longest: 0, and refuses a count that is not a whole number >= 0', () => {
    expect(summariseParked({ longest: 0 }).longest).toEqual([]);
    expect(() => summariseParked({ longest: -1 })).toThrow('summariseParked({ longest }) takes a whole number >= 0, not -1');
  });
});
