/**
 * The hub's run queue (src/hub/run-queue.ts), a chain of chunks: in the hub, a burst of
 * tasks runs in the order it became ready and the queue's room comes back as it drains;
 * under random pushes and shifts, first in first out against a plain array, across every
 * chunk added and dropped, holding one chunk more than its length needs at most.
 * (test/hub/memory.test.ts measures the room given back in the heap.)
 *
 * The runs use fixed seeds (override with FC_SEED) so that `npm test` is deterministic.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { getHub, run, spawn, type Task } from 'greenlet-ts';
import type { Schedulable } from '../../src/hub/hub.js';
import { RUN_QUEUE_CHUNK, RunQueue } from '../../src/hub/run-queue.js';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20261207;

/** The queue only stores and hands back its entries: numbered objects stand in for tasks. */
const entry = (n: number) => ({ n }) as unknown as Schedulable;
const numberOf = (task: Schedulable | undefined) => (task as unknown as { n: number } | undefined)?.n;

/** Shift one entry and check that it is `n` (a plain check: `expect` per entry would make the runs take minutes). */
function shiftExpecting(queue: RunQueue, n: number | undefined): void {
  const got = numberOf(queue.shift());
  if (got !== n) throw new Error(`shift() gave ${got}, expected ${n}`);
}

/** A push of `count` entries, or a shift of `count` entries. */
type Step = { op: 'push'; count: number } | { op: 'shift'; count: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  // Mostly small steps, sometimes a burst that spans several chunks; counts that end a
  // chunk exactly, or one short of it or past it, come up often.
  ...(['push', 'shift'] as const).map((op) =>
    fc.record({
      op: fc.constant(op),
      count: fc.oneof(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: RUN_QUEUE_CHUNK - 1, max: RUN_QUEUE_CHUNK + 1 }),
        fc.integer({ min: 100, max: 3000 }),
      ),
    }),
  ),
);

it('runs a burst of tasks in the order they became ready, and gives the room back as it drains', async () => {
  const queue = getHub().queue as RunQueue;
  const burst = 100_000;
  const order: number[] = [];
  function* record(i: number) {
    order.push(i);
  }
  let grownTo = 0;
  let afterRun = 0;
  await run(function* () {
    const tasks: Task[] = new Array(burst);
    for (let i = 0; i < burst; i++) tasks[i] = spawn(record, i);
    grownTo = queue.capacity;
    for (const task of tasks) yield* task.join();
    afterRun = queue.capacity;
  });
  // The 100,000 tasks queued (the spawner was running, not queued), and room for the next push.
  expect(grownTo).toBe((Math.floor(burst / RUN_QUEUE_CHUNK) + 1) * RUN_QUEUE_CHUNK);
  expect(order).toEqual(Array.from({ length: burst }, (_, i) => i));
  expect(afterRun).toBe(RUN_QUEUE_CHUNK);
  expect(queue.length).toBe(0);
});

it('keeps first-in-first-out order across every chunk added and dropped, holding one chunk more than it needs at most', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
      const queue = new RunQueue();
      const model: number[] = [];
      let pushed = 0;
      for (const s of steps) {
        if (s.op === 'push') {
          for (let i = 0; i < s.count; i++) {
            queue.push(entry(pushed));
            model.push(pushed++);
          }
        } else {
          for (let i = 0; i < s.count; i++) shiftExpecting(queue, model.shift());
        }
        const queued = queue.queued();
        if (queue.length !== model.length || queued.length !== model.length || queued.some((task, i) => numberOf(task) !== model[i])) {
          throw new Error(`queued ${queued.map(numberOf).join()} (length ${queue.length}), expected ${model.join()}`);
        }
        const room = queue.capacity;
        if (!(room % RUN_QUEUE_CHUNK === 0 && room > queue.length && room - queue.length < 2 * RUN_QUEUE_CHUNK)) {
          throw new Error(`${room} slots held with ${queue.length} queued: not whole chunks, more than one chunk to spare, or full`);
        }
      }
      // Drained: every entry comes out in order, then nothing, and one chunk is left.
      while (model.length !== 0) shiftExpecting(queue, model.shift());
      shiftExpecting(queue, undefined);
      expect(queue.capacity).toBe(RUN_QUEUE_CHUNK);
    }),
    { seed: SEED, numRuns: 200 },
  );
});

it('holds one chunk in a steady workload that never queues a chunk\'s worth', () => {
  const queue = new RunQueue();
  for (let pass = 0; pass < 100; pass++) {
    for (let i = 0; i < 100; i++) queue.push(entry(i));
    for (let i = 0; i < 100; i++) shiftExpecting(queue, i);
    expect(queue.capacity).toBe(RUN_QUEUE_CHUNK);
  }
});
