/**
 * Memory the hub gives back: what a burst of tasks made large is returned once the burst
 * has passed (heap measured after full collections; vitest runs Node with --expose-gc).
 */
import { expect, it } from 'vitest';
import { run, spawn, type Task } from 'greenlet-ts';
import { settledHeapUsed } from '../conformance/greenlet/fixtures/gc-harness.js';

const MB = 1024 * 1024;

function* returnAtOnce(i: number) {
  return i;
}

/** Spawn `count` tasks at once (all ready together), join them all; the tasks are dropped after. */
function burst(count: number): Promise<number> {
  return run(function* () {
    const tasks: Task<number>[] = new Array(count);
    for (let i = 0; i < count; i++) tasks[i] = spawn(returnAtOnce, i);
    let sum = 0;
    for (const task of tasks) sum += yield* task.get();
    return sum;
  });
}

it('the run queue gives back the room a burst of ready tasks took', async () => {
  await burst(1000); // the hub and the code paths warmed up
  const before = await settledHeapUsed();
  const count = 300_000;
  expect(await burst(count)).toBe((count * (count - 1)) / 2);
  const after = await settledHeapUsed();
  // 300,000 ready at once grow the queue's ring to 2^19 slots (4 MB); kept, it would show here.
  expect(after - before).toBeLessThan(1 * MB);
});
