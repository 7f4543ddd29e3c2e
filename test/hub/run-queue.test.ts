/**
 * The hub's run queue (src/hub/run-queue.ts): in the hub, a burst of tasks runs in the
 * order it became ready and the queue's room comes back afterwards; under random pushes,
 * shifts and pass ends, first in first out against a plain array, across every growing
 * and shrinking; the room of a burst comes back once the burst has passed; a steady
 * workload keeps its size. (test/hub/memory.test.ts measures the room given back in the heap.)
 *
 * The runs use fixed seeds (override with FC_SEED) so that `npm test` is deterministic.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { getHub, run, sleep, spawn, type Task } from 'greenlet-ts';
import type { Schedulable } from '../../src/hub/hub.js';
import { RUN_QUEUE_FLOOR, RUN_QUEUE_QUIET_PASSES, RunQueue } from '../../src/hub/run-queue.js';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20261207;

/** The queue only stores and hands back its entries: numbered objects stand in for tasks. */
const entry = (n: number) => ({ n }) as unknown as Schedulable;
const numberOf = (task: Schedulable | undefined) => (task as unknown as { n: number } | undefined)?.n;

/** Shift one entry and check that it is `n` (a plain check: `expect` per entry would make the runs take minutes). */
function shiftExpecting(queue: RunQueue, n: number | undefined): void {
  const got = numberOf(queue.shift());
  if (got !== n) throw new Error(`shift() gave ${got}, expected ${n}`);
}

/** A push of `count` entries, a shift of `count` entries, or the end of a hub pass. */
type Step = { op: 'push'; count: number } | { op: 'shift'; count: number } | { op: 'passEnded' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // Mostly small steps, sometimes a burst large enough to grow the buffer several times.
  { arbitrary: fc.record({ op: fc.constant('push' as const), count: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 3000 })) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('shift' as const), count: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 3000 })) }), weight: 4 },
  { arbitrary: fc.constant({ op: 'passEnded' as const }), weight: 3 },
);

it('runs a burst of tasks in the order they became ready, then gives the run queue its room back', async () => {
  const queue = getHub().queue as RunQueue;
  const burst = 100_000;
  const order: number[] = [];
  function* record(i: number) {
    order.push(i);
  }
  let grownTo = 0;
  let quietPasses = 0;
  await run(function* () {
    const tasks: Task[] = new Array(burst);
    for (let i = 0; i < burst; i++) tasks[i] = spawn(record, i);
    grownTo = queue.capacity;
    for (const task of tasks) yield* task.join();
    // Each sleep(0) ends a pass. The window that counts may still hold the last passes of
    // the burst (up to a quarter of the room): two windows of quiet passes at most.
    while (queue.capacity > RUN_QUEUE_FLOOR && quietPasses < 2 * RUN_QUEUE_QUIET_PASSES + 2) {
      yield* sleep(0);
      quietPasses++;
    }
  });
  expect(grownTo).toBe(131_072);
  expect(order).toEqual(Array.from({ length: burst }, (_, i) => i));
  expect(queue.capacity).toBe(RUN_QUEUE_FLOOR);
  expect(quietPasses).toBeLessThanOrEqual(2 * RUN_QUEUE_QUIET_PASSES + 1);
});

it('keeps first-in-first-out order across every growing and shrinking, and its size a power of two above its length', () => {
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
        } else if (s.op === 'shift') {
          for (let i = 0; i < s.count; i++) shiftExpecting(queue, model.shift());
        } else queue.passEnded();
        const queued = queue.queued();
        if (queue.length !== model.length || queued.some((task, i) => numberOf(task) !== model[i])) {
          throw new Error(`queued ${queued.map(numberOf).join()} (length ${queue.length}), expected ${model.join()}`);
        }
        const size = queue.capacity;
        if (!(size > queue.length && size >= RUN_QUEUE_FLOOR && Number.isInteger(Math.log2(size)))) {
          throw new Error(`capacity ${size} with ${queue.length} queued: not a power of two above the length and the floor`);
        }
      }
      // Drained: every entry comes out in order, then nothing.
      while (model.length !== 0) shiftExpecting(queue, model.shift());
      shiftExpecting(queue, undefined);
    }),
    { seed: SEED, numRuns: 200 },
  );
});

it('gives the room of a burst back once it has stayed small for the quiet passes, and keeps order through it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1000, max: 200_000 }), // the burst
      fc.integer({ min: 0, max: 40 }), // what stays queued across the quiet passes
      (burst, left) => {
        const queue = new RunQueue();
        for (let i = 0; i < burst; i++) queue.push(entry(i));
        const grown = queue.capacity;
        expect(grown).toBeGreaterThan(burst);
        let next = 0;
        while (queue.length > left) shiftExpecting(queue, next++);
        // The pass that drained the burst still saw it: the quiet passes count from the next one.
        queue.passEnded();
        for (let pass = 1; pass < RUN_QUEUE_QUIET_PASSES; pass++) {
          queue.passEnded();
          expect(queue.capacity).toBe(grown);
        }
        queue.passEnded();
        // Down to the smallest size above twice what stayed queued (the floor at least).
        let size = RUN_QUEUE_FLOOR;
        while (size <= 2 * left) size *= 2;
        expect(queue.capacity).toBe(size);
        // The tasks still queued across the shrink come out next, in order, then the new ones.
        queue.push(entry(burst));
        while (next <= burst) shiftExpecting(queue, next++);
        expect(queue.length).toBe(0);
      },
    ),
    { seed: SEED, numRuns: 30 },
  );
});

it('does not shrink while a burst comes back within the quiet passes', () => {
  const queue = new RunQueue();
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 5000; i++) queue.push(entry(i));
    while (queue.shift() !== undefined);
    queue.passEnded(); // the burst's pass
    for (let pass = 1; pass < RUN_QUEUE_QUIET_PASSES; pass++) queue.passEnded();
    expect(queue.capacity).toBe(8192);
  }
});

it('keeps the size of a steady workload: no growing or shrinking pass after pass', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20_000 }), // the burst before, if any
      fc.integer({ min: 1, max: 3000 }), // tasks made ready and run in each pass
      (burst, perPass) => {
        const queue = new RunQueue();
        for (let i = 0; i < burst; i++) queue.push(entry(i));
        while (queue.shift() !== undefined);
        queue.passEnded();
        const sizes: number[] = [];
        for (let pass = 0; pass < 6 * RUN_QUEUE_QUIET_PASSES; pass++) {
          for (let i = 0; i < perPass; i++) queue.push(entry(i));
          for (let i = 0; i < perPass; i++) shiftExpecting(queue, i);
          queue.passEnded();
          sizes.push(queue.capacity);
        }
        // The size may settle (grow to fit, or shrink from the burst's) in the first
        // passes; from then on it stays, and fits the workload with room to spare.
        const settled = sizes.slice(2 * RUN_QUEUE_QUIET_PASSES + 2);
        expect(new Set(settled).size).toBe(1);
        expect(settled[0]).toBeGreaterThan(perPass);
        expect(settled[0]).toBeLessThanOrEqual(Math.max(RUN_QUEUE_FLOOR, 4 * perPass));
      },
    ),
    { seed: SEED, numRuns: 60 },
  );
});
