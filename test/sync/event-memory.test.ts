/**
 * Memory an Event gives back: its waiters are an array from which a task that leaves the
 * wait (timed out, killed) is removed lazily (src/sync/event.ts); the entries left behind
 * must not pile up while other tasks keep waiting. Heap measured after full collections
 * (vitest runs Node with --expose-gc; the runtimes runner gives Deno and Bun their
 * collectors too).
 */
import { expect, it } from 'vitest';
import { joinall, run, sleep, spawn, type Task } from 'greenlet-ts';
import { Event } from '../../src/sync/event.js';
import { settledHeapUsed } from '../conformance/greenlet/fixtures/gc-harness.js';

const MB = 1024 * 1024;

it('100,000 timed waits that expire one by one, while another task waits all along, leave nothing behind', async () => {
  const evt = new Event();
  let steady: Task | undefined;
  await run(function* () {
    steady = spawn(function* () {
      return yield* evt.wait();
    });
    yield* sleep(0);
  });
  /** `rounds` rounds of 1,000 tasks whose wait(1) expire in the order they came; each then ends. */
  const timedRounds = (rounds: number) =>
    run(function* () {
      for (let round = 0; round < rounds; round++) {
        const tasks: Task[] = new Array(1000);
        for (let i = 0; i < 1000; i++) tasks[i] = spawn(() => evt.wait(1));
        yield* joinall(tasks);
      }
    });
  await timedRounds(5);
  const before = await settledHeapUsed();
  await timedRounds(100);
  expect(evt.waiting).toBe(1);
  // Each ended task an entry kept would hold is ~200 B, 20 MB in all: kept, they would show
  // here. Bun may keep ended tasks through several collections (test/hub/memory.test.ts):
  // the heap is read again, up to 5 times.
  let grown = (await settledHeapUsed()) - before;
  for (let reads = 1; reads < 5 && grown >= 1 * MB; reads++) grown = (await settledHeapUsed()) - before;
  expect(grown).toBeLessThan(1 * MB);
  evt.set();
  expect(await run(() => (steady as Task<boolean>).get())).toBe(true);
  expect(evt.linkCount()).toBe(0);
}, 120_000); // 105,000 tasks and the collections between: well within it on an idle machine (~1 s)
