/**
 * The peers workloads in effection (4.x), as its guides teach them: `run`, `spawn` and
 * `yield* task`, `sleep(0)` to yield, `createQueue`, `withResolvers` as the event,
 * `task.halt()` to kill, `until(promise)` for a promise.
 */
import { all, createQueue, run, sleep, spawn, until, withResolvers, type Operation, type Task } from 'effection';
import { heapAfterGc } from '../harness.js';
import { AN_HOUR_MS, expectCount, stopwatch, timed, type Peer } from './workloads.js';

function* returnAtOnce(): Operation<number> {
  return 1;
}

function* yieldOnce(): Operation<number> {
  yield* sleep(0);
  return 1;
}

function spawnAndJoinEach(n: number, body: () => Operation<number>): Promise<void> {
  return run(function* () {
    const tasks: Task<number>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(body);
    for (let i = 0; i < n; i++) yield* tasks[i] as Task<number>;
  });
}

let started = 0;
let cleanups = 0;

function* untilAllStarted(n: number): Operation<void> {
  while (started < n) yield* sleep(0);
}

export const effection: Peer = {
  name: 'effection',

  spawnJoin: (n) => timed(n, () => spawnAndJoinEach(n, returnAtOnce)),

  spawnYieldJoin: (n) => timed(n, () => spawnAndJoinEach(n, yieldOnce)),

  pingPong: (n) =>
    timed(n, () =>
      run(function* () {
        const ping = createQueue<number, void>();
        const pong = createQueue<number, void>();
        const ponger = yield* spawn(function* () {
          for (let i = 0; i < n; i++) pong.add(((yield* ping.next()).value as number) + 1);
        });
        for (let i = 0; i < n; i++) {
          ping.add(i);
          yield* pong.next();
        }
        yield* ponger;
      }),
    ),

  parkedBytes: (n) =>
    run(function* () {
      started = 0;
      const event = withResolvers<void>();
      const tasks: Task<void>[] = new Array(n).fill(null);
      const before = heapAfterGc();
      for (let i = 0; i < n; i++) {
        tasks[i] = yield* spawn(function* () {
          started++;
          yield* event.operation;
        });
      }
      yield* untilAllStarted(n);
      const after = heapAfterGc();
      expectCount('tasks parked', started, n);
      event.resolve();
      for (const task of tasks) yield* task;
      return (after - before) / n;
    }),

  kill: (n) =>
    run(function* () {
      started = 0;
      cleanups = 0;
      const tasks: Task<void>[] = new Array(n);
      for (let i = 0; i < n; i++) {
        tasks[i] = yield* spawn(function* () {
          started++;
          try {
            yield* sleep(AN_HOUR_MS);
          } finally {
            cleanups++;
          }
        });
      }
      yield* untilAllStarted(n);
      const stop = stopwatch(n);
      yield* all(tasks.map((task) => task.halt()));
      return { ...stop(), cleanups };
    }),

  fanOut: (n) =>
    timed(n, () =>
      run(function* () {
        const resolved = Promise.resolve(1);
        const tasks: Task<number>[] = new Array(n);
        for (let i = 0; i < n; i++) tasks[i] = yield* spawn(() => until(resolved));
        for (let i = 0; i < n; i++) yield* tasks[i] as Task<number>;
      }),
    ),

  timerBytes: (n) =>
    run(function* () {
      started = 0;
      const tasks: Task<void>[] = new Array(n).fill(null);
      const before = heapAfterGc();
      for (let i = 0; i < n; i++) {
        const ms = AN_HOUR_MS + i;
        tasks[i] = yield* spawn(function* () {
          started++;
          yield* sleep(ms);
        });
      }
      yield* untilAllStarted(n);
      const after = heapAfterGc();
      expectCount('tasks asleep', started, n);
      yield* all(tasks.map((task) => task.halt()));
      return (after - before) / n;
    }),
};
