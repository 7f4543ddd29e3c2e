/**
 * Memory the hub gives back: what a burst of sleeping tasks made large is returned once the
 * burst has passed (heap measured after full collections; vitest runs Node with --expose-gc,
 * the runtimes runner gives Deno and Bun their collectors too).
 */
import { expect, it } from 'vitest';
import { killall, run, sleep, spawn, type Task } from 'greenlet-ts';
import { settledHeapUsed } from '../conformance/greenlet/fixtures/gc-harness.js';

const MB = 1024 * 1024;

/**
 * The JS heap after full collections, plus the memory outside it, where typed arrays (the
 * timer heap's deadlines and sequence numbers) keep their buffers. `external` counts those
 * buffers on Node, Deno and Bun; `arrayBuffers` does only on Node (Deno and Bun report 0).
 * Bun counts them in `heapUsed` as well: there they count twice, which only makes room kept
 * show more.
 */
async function used(): Promise<number> {
  const heap = await settledHeapUsed();
  return heap + process.memoryUsage().external;
}

/**
 * A few hub passes with nothing to run (each `sleep(0)` ends a pass): what a burst left
 * for the passes after it (the run queue's chunks are dropped as they drain, the timer
 * heap halves as it empties) is given back by then.
 */
function quietPasses() {
  return run(function* () {
    for (let pass = 0; pass < 4; pass++) yield* sleep(0);
  });
}

it('the timer heap gives back the room a burst of sleeping tasks took', async () => {
  const sleepers = (count: number) =>
    run(function* () {
      const tasks: Task[] = new Array(count);
      for (let i = 0; i < count; i++) tasks[i] = spawn(sleep, 3_600_000 + i);
      yield* sleep(0); // every one asleep, its own entry in the heap
      yield* killall(tasks);
    });
  await sleepers(1000);
  await quietPasses(); // the run queue gives its room back too (tested below): one chunk in both readings
  const before = await used();
  await sleepers(200_000);
  await quietPasses();
  // Bun (JavaScriptCore) often keeps the burst's 200,000 ended tasks and their GreenletExits
  // (36.8 MB: 200,000 more Objects and Errors in bun:jsc's heapStats, no arrays) through
  // several full collections, then frees them: the heap is read again, up to 5 times (it
  // took 4 at most in the runs measured). Room the timer heap kept would stay however
  // often it is read: without its shrinking, Node reads 5.3 MB here, Deno 5.3, Bun 8.5.
  let grown = (await used()) - before;
  for (let reads = 1; reads < 5 && grown >= 1 * MB; reads++) grown = (await used()) - before;
  // 200,000 entries grow the heap's arrays to 2^18 slots (5 MB in all); kept, they would show here.
  expect(grown).toBeLessThan(1 * MB);
}, 120_000); // 401,000 tasks and the collections between (and up to 5 readings): past the 20 s default at a load of 25 (2 cores)

it('the run queue gives back the room a burst of ready tasks took', async () => {
  const burst = (count: number) =>
    run(function* () {
      const tasks: Task[] = new Array(count);
      for (let i = 0; i < count; i++) tasks[i] = spawn(function* () {});
      for (const task of tasks) yield* task.join();
    });
  await burst(1000);
  await quietPasses();
  const before = await used();
  // 300,000 tasks ready at once: 1,172 chunks of 257 slots, 2.4 MB with 8-byte slots;
  // kept, they would show here.
  await burst(300_000);
  await quietPasses();
  // Bun may keep the burst's ended tasks through several collections (see above).
  let grown = (await used()) - before;
  for (let reads = 1; reads < 5 && grown >= 1 * MB; reads++) grown = (await used()) - before;
  expect(grown).toBeLessThan(1 * MB);
}, 120_000); // 301,000 tasks and the collections between: as above
