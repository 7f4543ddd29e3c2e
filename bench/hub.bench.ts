/**
 * Hub benchmarks: spawning tasks through the hub, ping-pong between tasks, the
 * async/await equivalent, and memory per sleeping task.
 */
import { Queue, getHub, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { type Benchmark, bytesPerItem, heapAfterGc } from './harness.js';

/** Median of `reps` timings of `fn`, in ms, after one warm-up run. */
async function medianMs(fn: () => Promise<unknown>, reps = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[reps >> 1] as number;
}

const SPAWN_COUNT = 100_000;

function* yieldOnce(): GreenletBody<void> {
  yield* sleep(0);
}

/** hub.spawn_sleep0_join: spawn 100,000 tasks that each sleep(0), join them all. */
async function spawnSleepJoin(): Promise<number> {
  const ms = await medianMs(() =>
    run(function* () {
      const tasks: Task[] = new Array(SPAWN_COUNT);
      for (let i = 0; i < SPAWN_COUNT; i++) tasks[i] = spawn(yieldOnce);
      for (let i = 0; i < SPAWN_COUNT; i++) yield* (tasks[i] as Task).join();
    }),
  );
  return (ms * 1e6) / SPAWN_COUNT;
}

const PINGPONG_ROUNDS = 200_000;

/**
 * The async/await way to hand a value back and forth between two coroutines: each side
 * awaits a promise the other resolves (one promise per message, as any async channel
 * must create).
 */
async function asyncPingPong(): Promise<number> {
  const ms = await medianMs(async () => {
    let resolvePing: (v: number) => void = () => {};
    let resolvePong: (v: number) => void = () => {};
    const nextPing = () => new Promise<number>((r) => (resolvePing = r));
    const nextPong = () => new Promise<number>((r) => (resolvePong = r));
    let ping = nextPing();
    const ponger = (async () => {
      for (let i = 0; i < PINGPONG_ROUNDS; i++) {
        const v = await ping;
        ping = nextPing();
        const reply = nextPong;
        resolvePong(v + 1);
        void reply;
      }
    })();
    for (let i = 0; i < PINGPONG_ROUNDS; i++) {
      const pong = nextPong();
      resolvePing(i);
      await pong;
    }
    await ponger;
  }, 3);
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

/** hub.queue.pingpong: a round trip through two unbounded queues between two tasks. */
async function queuePingPong(): Promise<number> {
  const ms = await medianMs(() =>
    run(function* () {
      const ping = new Queue<number>();
      const pong = new Queue<number>();
      const ponger = spawn(function* () {
        for (let i = 0; i < PINGPONG_ROUNDS; i++) pong.putNowait((yield* ping.get()) + 1);
      });
      for (let i = 0; i < PINGPONG_ROUNDS; i++) {
        ping.putNowait(i);
        yield* pong.get();
      }
      yield* ponger.join();
    }),
  3);
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

const TIMER_COUNT = 1_000_000;

function* sleepLong(ms: number): GreenletBody<void> {
  yield* sleep(ms);
}

/** hub.timers: heap per task asleep on its own deadline, a million of them. */
async function sleepingTaskBytes(): Promise<number> {
  const tasks: Task[] = new Array(TIMER_COUNT).fill(null);
  const before = heapAfterGc();
  // Distinct deadlines far in the future; the tasks start and park in one hub pass.
  await run(function* () {
    for (let i = 0; i < TIMER_COUNT; i++) tasks[i] = spawn(sleepLong, 3_600_000 + i);
    yield* sleep(0);
  });
  const after = heapAfterGc();
  if (getHub().timers.size < TIMER_COUNT) throw new Error(`only ${getHub().timers.size} timers armed`);
  for (const t of tasks) t.kill();
  await run(function* () {
    yield* sleep(0);
  });
  return (after - before) / TIMER_COUNT;
}

function* rawSuspendOnce(i: number): Generator<number, number, unknown> {
  yield i;
  return i;
}

export const hubBenchmarks: Benchmark[] = [
  {
    name: 'hub.spawn_sleep0_join',
    unit: 'ns/op',
    what: `spawn ${SPAWN_COUNT.toLocaleString('en')} tasks that each sleep(0), join all; per task`,
    measure: spawnSleepJoin,
    baseline: 'core.spawn',
    target: 'report (< 1.5 µs)',
  },
  {
    name: 'hub.queue.pingpong',
    unit: 'ns/op',
    what: 'round trip through Queues between two tasks',
    measure: queuePingPong,
    baseline: 'core.switch',
    target: '≤ 3',
  },
  {
    name: 'hub.async.pingpong_raw',
    unit: 'ns/op',
    what: 'round trip between two async functions handing values through promises',
    measure: asyncPingPong,
    baseline: 'core.switch',
    target: 'report',
  },
  {
    name: 'hub.timers',
    unit: 'B/item',
    what: `heap per task asleep on its own deadline, ${TIMER_COUNT.toLocaleString('en')} of them`,
    measure: sleepingTaskBytes,
    baseline: 'a raw suspended generator',
    baselineMeasure: () =>
      bytesPerItem(TIMER_COUNT, (i) => {
        const g = rawSuspendOnce(i);
        g.next();
        return g;
      }),
    target: 'report',
    isolate: true,
  },
];
