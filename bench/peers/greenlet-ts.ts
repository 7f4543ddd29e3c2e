/**
 * The peers workloads in greenlet-ts, as the guide teaches them: `spawn` and `yield*
 * t.join()`, `Queue`, `Event`, `killall`, `waitFor`.
 */
import { Event, Queue, killall, run, sleep, spawn, waitFor, type GreenletBody, type Task } from 'greenlet-ts';
import { heapAfterGc } from '../harness.js';
import { AN_HOUR_MS, expectCount, stopwatch, timed, type Peer } from './workloads.js';

function* returnAtOnce(): GreenletBody<number> {
  return 1;
}

function* yieldOnce(): GreenletBody<number> {
  yield* sleep(0);
  return 1;
}

function spawnAndJoinEach(n: number, body: () => GreenletBody<number>): Promise<void> {
  return run(function* () {
    const tasks: Task[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = spawn(body);
    for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
  });
}

let started = 0;
let cleanups = 0;

function* parkOn(event: Event): GreenletBody<void> {
  started++;
  yield* event.wait();
}

function* sleepAnHour(): GreenletBody<void> {
  started++;
  try {
    yield* sleep(AN_HOUR_MS);
  } finally {
    cleanups++;
  }
}

function* sleepUntil(ms: number): GreenletBody<void> {
  started++;
  yield* sleep(ms);
}

/** Let every spawned task run up to its first park (a pass runs for the switch interval at most). */
function* untilAllStarted(n: number): GreenletBody<void> {
  while (started < n) yield* sleep(0);
}

export const greenletTs: Peer = {
  name: 'greenlet-ts',

  spawnJoin: (n) => timed(n, () => spawnAndJoinEach(n, returnAtOnce)),

  spawnYieldJoin: (n) => timed(n, () => spawnAndJoinEach(n, yieldOnce)),

  pingPong: (n) =>
    timed(n, () =>
      run(function* () {
        const ping = new Queue<number>();
        const pong = new Queue<number>();
        const ponger = spawn(function* () {
          for (let i = 0; i < n; i++) pong.putNowait((yield* ping.get()) + 1);
        });
        for (let i = 0; i < n; i++) {
          ping.putNowait(i);
          yield* pong.get();
        }
        yield* ponger.join();
      }),
    ),

  async parkedBytes(n) {
    started = 0;
    const event = new Event();
    const tasks: Task[] = new Array(n).fill(null);
    const before = heapAfterGc();
    await run(function* () {
      for (let i = 0; i < n; i++) tasks[i] = spawn(parkOn, event);
      yield* untilAllStarted(n);
    });
    const after = heapAfterGc();
    expectCount('tasks parked', started, n);
    return (after - before) / n;
  },

  kill: (n) =>
    run(function* () {
      started = 0;
      cleanups = 0;
      const tasks: Task[] = new Array(n);
      for (let i = 0; i < n; i++) tasks[i] = spawn(sleepAnHour);
      yield* untilAllStarted(n);
      const stop = stopwatch(n);
      yield* killall(tasks);
      return { ...stop(), cleanups };
    }),

  fanOut: (n) =>
    timed(n, () =>
      run(function* () {
        const resolved = Promise.resolve(1);
        const tasks: Task[] = new Array(n);
        for (let i = 0; i < n; i++) tasks[i] = spawn(() => waitFor(resolved));
        for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
      }),
    ),

  async timerBytes(n) {
    started = 0;
    const tasks: Task[] = new Array(n).fill(null);
    const before = heapAfterGc();
    await run(function* () {
      for (let i = 0; i < n; i++) tasks[i] = spawn(sleepUntil, AN_HOUR_MS + i);
      yield* untilAllStarted(n);
    });
    const after = heapAfterGc();
    expectCount('tasks asleep', started, n);
    return (after - before) / n;
  },
};
