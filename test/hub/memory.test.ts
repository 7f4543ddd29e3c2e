/**
 * Memory the hub gives back: what a burst of sleeping tasks made large is returned once the
 * burst has passed (heap measured after full collections; vitest runs Node with --expose-gc).
 */
import { expect, it } from 'vitest';
import { killall, run, sleep, spawn, type Task } from 'greenlet-ts';
import { settledHeapUsed } from '../conformance/greenlet/fixtures/gc-harness.js';

const MB = 1024 * 1024;

it('the timer heap gives back the room a burst of sleeping tasks took', async () => {
  const sleepers = (count: number) =>
    run(function* () {
      const tasks: Task[] = new Array(count);
      for (let i = 0; i < count; i++) tasks[i] = spawn(sleep, 3_600_000 + i);
      yield* sleep(0); // every one asleep, its own entry in the heap
      yield* killall(tasks);
    });
  const used = async () => {
    const heap = await settledHeapUsed();
    // The heap's deadlines and sequence numbers are typed arrays, outside heapUsed.
    return heap + process.memoryUsage().arrayBuffers;
  };
  await sleepers(1000);
  // The run queue keeps the room its largest burst took: grow it to this burst's size first,
  // with tasks that never touch the timer heap, so that only the heap's room is measured.
  await run(function* () {
    const tasks: Task[] = new Array(200_000);
    for (let i = 0; i < tasks.length; i++) tasks[i] = spawn(function* () {});
    for (const task of tasks) yield* task.join();
  });
  const before = await used();
  await sleepers(200_000);
  const after = await used();
  // 200,000 entries grow the heap's arrays to 2^18 slots (5 MB in all); kept, they would show here.
  expect(after - before).toBeLessThan(1 * MB);
});
