/**
 * The timer heap's host timer for deadlines further off than a host timer can wait
 * (2^31 - 1 ms, 24.8 days): Node, Deno and the browsers fire a longer `setTimeout` after
 * 1 ms or at once, so a task in `sleep(Infinity)` or a month's sleep would wake the heap
 * over and over. The heap asks the host for at most 2^31 - 1 ms at a time.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { run, sleep, spawn } from 'greenlet-ts';
import { HEAP_INDEX, TimerHeap, type OwnEntry } from '../../src/hub/timers.js';

const MAX_HOST_DELAY = 2 ** 31 - 1;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every delay the heap asks the host for while `fn` runs. */
function hostDelays(fn: (heap: TimerHeap) => void): unknown[] {
  const delays: unknown[] = [];
  const real = globalThis.setTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
    delays.push(ms);
    const handle = real(callback, 0);
    clearTimeout(handle); // never fires: only the delay asked for is looked at
    return handle;
  }) as typeof setTimeout);
  fn(new TimerHeap(() => {}, () => {}));
  vi.restoreAllMocks();
  return delays;
}

const entry = (): OwnEntry => ({ [HEAP_INDEX]: -1 });

it.each([
  ['Infinity', Infinity],
  ['a month', 30 * 24 * 3_600_000],
  ['2^31 ms', 2 ** 31],
])('a deadline %s off is waited for 2^31 - 1 ms at a time', (_, ms) => {
  expect(hostDelays((heap) => heap.addOwn(entry(), ms))).toEqual([MAX_HOST_DELAY]);
});

it('a deadline within 2^31 - 1 ms is armed as it is, and an earlier one arms again', () => {
  const delays = hostDelays((heap) => {
    heap.addOwn(entry(), Infinity);
    heap.addOwn(entry(), 3_600_000);
    heap.addOwn(entry(), 2 ** 40); // after the host timer: nothing to arm
  });
  expect(delays).toHaveLength(2);
  expect(delays[0]).toBe(MAX_HOST_DELAY);
  expect(delays[1]).toBeGreaterThanOrEqual(3_600_000);
  expect(delays[1]).toBeLessThanOrEqual(3_600_001);
});

it('a task asleep forever is killed from its sleep as any sleeping task is', async () => {
  const events: string[] = [];
  await run(function* () {
    const t = spawn(function* () {
      try {
        yield* sleep(Infinity);
      } finally {
        events.push('finally');
      }
    });
    yield* sleep(0);
    yield* t.kill();
    events.push('killed');
  });
  expect(events).toEqual(['finally', 'killed']);
});
