/**
 * The peers workloads in plain async/await, as Node's documentation teaches them: an
 * async function call is the spawn, `await` the join, `AbortController` and the
 * `signal` option of `node:timers/promises` the cancellation, `queueMicrotask`-free
 * promise plumbing for the queue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { heapAfterGc } from '../harness.js';
import { AN_HOUR_MS, expectCount, stopwatch, timed, type Peer } from './workloads.js';

async function returnAtOnce(): Promise<number> {
  return 1;
}

async function yieldOnce(): Promise<number> {
  await null;
  return 1;
}

async function callAndAwaitEach(n: number, body: () => Promise<number>): Promise<void> {
  const promises: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = body();
  for (let i = 0; i < n; i++) await promises[i];
}

/** An unbounded queue whose `get` is a promise: the usual shape of one. */
class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly getters: ((item: T) => void)[] = [];
  put(item: T): void {
    const getter = this.getters.shift();
    if (getter !== undefined) getter(item);
    else this.items.push(item);
  }
  get(): Promise<T> {
    if (this.items.length !== 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

let started = 0;
let cleanups = 0;

async function parkOn(event: Promise<void>): Promise<void> {
  started++;
  await event;
}

async function sleepAnHour(signal: AbortSignal): Promise<void> {
  started++;
  try {
    await sleep(AN_HOUR_MS, undefined, { signal });
  } finally {
    cleanups++;
  }
}

async function sleepUntil(ms: number): Promise<void> {
  started++;
  await sleep(ms);
}

export const asyncAwait: Peer = {
  name: 'async/await',

  spawnJoin: (n) => timed(n, () => callAndAwaitEach(n, returnAtOnce)),

  spawnYieldJoin: (n) => timed(n, () => callAndAwaitEach(n, yieldOnce)),

  pingPong: (n) =>
    timed(n, async () => {
      const ping = new AsyncQueue<number>();
      const pong = new AsyncQueue<number>();
      const ponger = (async () => {
        for (let i = 0; i < n; i++) pong.put((await ping.get()) + 1);
      })();
      for (let i = 0; i < n; i++) {
        ping.put(i);
        await pong.get();
      }
      await ponger;
    }),

  async parkedBytes(n) {
    started = 0;
    let set!: () => void;
    const event = new Promise<void>((resolve) => (set = resolve));
    const tasks: Promise<void>[] = new Array(n).fill(null);
    const before = heapAfterGc();
    for (let i = 0; i < n; i++) tasks[i] = parkOn(event);
    const after = heapAfterGc();
    expectCount('functions parked', started, n);
    set();
    await Promise.all(tasks);
    return (after - before) / n;
  },

  async kill(n) {
    started = 0;
    cleanups = 0;
    const controllers: AbortController[] = new Array(n);
    const tasks: Promise<void>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const controller = new AbortController();
      controllers[i] = controller;
      tasks[i] = sleepAnHour(controller.signal);
    }
    expectCount('functions asleep', started, n);
    const stop = stopwatch(n);
    for (const controller of controllers) controller.abort();
    // Each rejects with an AbortError: the kill worked.
    await Promise.allSettled(tasks);
    return { ...stop(), cleanups };
  },

  fanOut: (n) =>
    timed(n, async () => {
      const resolved = Promise.resolve(1);
      const tasks: Promise<number>[] = new Array(n);
      for (let i = 0; i < n; i++) tasks[i] = (async () => await resolved)();
      await Promise.all(tasks);
    }),

  async timerBytes(n) {
    started = 0;
    const tasks: Promise<void>[] = new Array(n).fill(null);
    const before = heapAfterGc();
    for (let i = 0; i < n; i++) tasks[i] = sleepUntil(AN_HOUR_MS + i);
    const after = heapAfterGc();
    expectCount('functions asleep', started, n);
    // The child process exits with these timers pending.
    return (after - before) / n;
  },
};
