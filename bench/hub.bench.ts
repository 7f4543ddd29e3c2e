/**
 * Hub benchmarks: spawning tasks through the hub, ping-pong between tasks, the
 * async/await equivalent, and memory per sleeping task.
 */
import * as greenletTs from 'greenlet-ts';
import { getHub, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import type { Library } from './core.bench.js';
import { type Benchmark, bytesPerItem, heapAfterGc, medianMs, medianNsPerItem } from './harness.js';

export const SPAWN_COUNT = 100_000;

/** hub.spawn_sleep0_join: spawn 100,000 tasks that each sleep(0), join them all. */
export async function spawnSleepJoin(lib: Library = greenletTs): Promise<number> {
  function* yieldOnce(): GreenletBody<void> {
    yield* lib.sleep(0);
  }
  return medianNsPerItem(
    (n) =>
      lib.run(function* () {
        const tasks: Task[] = new Array(n);
        for (let i = 0; i < n; i++) tasks[i] = lib.spawn(yieldOnce);
        for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
      }),
    SPAWN_COUNT,
  );
}

/**
 * The floor of hub.spawn_sleep0_join, a stripped experiment: the least a design with
 * deferred-start generator tasks pays for this workload. A spawn is a record (the
 * function, the body, whether it ended, the result) on a run queue; a pass starts each body, a generator
 * that suspends in `yield*` of a shared `sleep(0)` iterator (it allocates nothing, as
 * the hub's does not); the suspended tasks go on the next pass's list; the event loop
 * gets one turn (`setImmediate`), as `sleep(0)` promises; the next pass resumes each to
 * its end and stores the result; the "join" reads the results. No hub, no switcher, no
 * live list, no pass budget, no checks.
 */
class FloorSleepTask {
  body: Iterator<unknown, unknown> | null = null;
  ended = false;
  result: unknown = undefined;
  constructor(readonly fn: () => Iterator<unknown, unknown>) {}
}

/** Set by the "scheduler" before it resumes a task parked in the floor's sleep(0). */
let floorResuming = false;
const FLOOR_SUSPEND: IteratorYieldResult<undefined> = { done: false, value: undefined };
const FLOOR_RESUMED: IteratorReturnResult<undefined> = { done: true, value: undefined };
const FLOOR_SLEEP0: IterableIterator<undefined, undefined> = {
  [Symbol.iterator]() {
    return this;
  },
  next() {
    if (!floorResuming) return FLOOR_SUSPEND;
    floorResuming = false;
    return FLOOR_RESUMED;
  },
};

function* floorYieldOnce(): Generator<undefined, void, unknown> {
  yield* FLOOR_SLEEP0;
}

async function spawnSleepJoinFloor(): Promise<number> {
  return medianNsPerItem(async (n) => {
    const tasks: FloorSleepTask[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = new FloorSleepTask(floorYieldOnce);
    const nextPass: FloorSleepTask[] = [];
    for (let i = 0; i < n; i++) {
      const task = tasks[i] as FloorSleepTask;
      const body = task.fn();
      task.body = body;
      const r = body.next();
      if (r.done === true) {
        task.ended = true;
        task.result = r.value;
      } else {
        nextPass.push(task);
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let i = 0; i < nextPass.length; i++) {
      const task = nextPass[i] as FloorSleepTask;
      floorResuming = true;
      const r = (task.body as Iterator<unknown, unknown>).next();
      if (r.done === true) {
        task.ended = true;
        task.result = r.value;
      }
    }
    let ended = 0;
    for (let i = 0; i < n; i++) if ((tasks[i] as FloorSleepTask).ended) ended++;
    if (ended !== n) throw new Error(`${ended} of the floor's ${n} tasks ended`);
  }, SPAWN_COUNT);
}

const PINGPONG_ROUNDS = 200_000;

/**
 * The same ping-pong in async/await: an unbuffered channel with the same rendezvous
 * semantics (a send completes when a receiver has the value), built on promises the
 * usual way, one promise per blocked operation.
 */
class AsyncChannel<T> {
  private readonly receivers: ((value: T) => void)[] = [];
  private readonly senders: { value: T; done: () => void }[] = [];
  send(value: T): Promise<void> {
    const receiver = this.receivers.shift();
    if (receiver !== undefined) {
      receiver(value);
      return Promise.resolve();
    }
    return new Promise((done) => this.senders.push({ value, done }));
  }
  recv(): Promise<T> {
    const sender = this.senders.shift();
    if (sender !== undefined) {
      sender.done();
      return Promise.resolve(sender.value);
    }
    return new Promise((resolve) => this.receivers.push(resolve));
  }
}

async function asyncChannelPingPong(): Promise<number> {
  const ms = await medianMs(async () => {
    const ping = new AsyncChannel<number>();
    const pong = new AsyncChannel<number>();
    const ponger = (async () => {
      for (let i = 0; i < PINGPONG_ROUNDS; i++) await pong.send((await ping.recv()) + 1);
    })();
    for (let i = 0; i < PINGPONG_ROUNDS; i++) {
      await ping.send(i);
      await pong.recv();
    }
    await ponger;
  }, 3);
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

/**
 * The floor of async/await hand-offs: two async functions that hand a value back and
 * forth through one promise per message and nothing else (no channel, no queue).
 */
async function asyncHandoffFloor(): Promise<number> {
  const ms = await medianMs(async () => {
    let resolvePing: (v: number) => void = () => {};
    let resolvePong: (v: number) => void = () => {};
    let ping = new Promise<number>((r) => (resolvePing = r));
    const ponger = (async () => {
      for (let i = 0; i < PINGPONG_ROUNDS; i++) {
        const v = await ping;
        ping = new Promise<number>((r) => (resolvePing = r));
        resolvePong(v + 1);
      }
    })();
    for (let i = 0; i < PINGPONG_ROUNDS; i++) {
      const pong = new Promise<number>((r) => (resolvePong = r));
      resolvePing(i);
      await pong;
    }
    await ponger;
  }, 3);
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

/** hub.channel.pingpong: a round trip through two unbuffered channels between two tasks. */
export async function channelPingPong(lib: Library = greenletTs): Promise<number> {
  const ms = await medianMs(() =>
    lib.run(function* () {
      const ping = new lib.Channel<number>();
      const pong = new lib.Channel<number>();
      const ponger = lib.spawn(function* () {
        for (let i = 0; i < PINGPONG_ROUNDS; i++) {
          const v = (yield* ping.recv()) as number;
          yield* pong.send(v + 1);
        }
      });
      for (let i = 0; i < PINGPONG_ROUNDS; i++) {
        yield* ping.send(i);
        yield* pong.recv();
      }
      yield* ponger.join();
    }),
  3);
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

/** hub.queue.pingpong: a round trip through two unbounded queues between two tasks. */
export async function queuePingPong(lib: Library = greenletTs): Promise<number> {
  const ms = await medianMs(() =>
    lib.run(function* () {
      const ping = new lib.Queue<number>();
      const pong = new lib.Queue<number>();
      const ponger = lib.spawn(function* () {
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
    measure: () => spawnSleepJoin(),
    baseline: 'core.spawn',
    target: '≤ 400 ns',
  },
  {
    name: 'hub.spawn_sleep0_join.floor',
    unit: 'ns/op',
    what: 'stripped experiment: deferred-start tasks (a 4-field record, a generator), sleep(0) as a next-pass list',
    measure: spawnSleepJoinFloor,
    baseline: 'hub.spawn_sleep0_join, interleaved',
    baselineMeasure: () => spawnSleepJoin(),
    target: 'report',
  },
  {
    name: 'hub.channel.pingpong',
    unit: 'ns/op',
    what: 'round trip through unbuffered Channels between two tasks',
    measure: () => channelPingPong(),
    baseline: 'core.switch',
    target: '≤ 3 (Go: 372 ns)',
  },
  {
    name: 'hub.queue.pingpong',
    unit: 'ns/op',
    what: 'round trip through Queues between two tasks',
    measure: () => queuePingPong(),
    baseline: 'core.switch',
    target: '≤ 3',
  },
  {
    name: 'hub.async.pingpong',
    unit: 'ns/op',
    what: 'the same ping-pong in async/await, through a promise-based unbuffered channel',
    measure: asyncChannelPingPong,
    baseline: 'hub.channel.pingpong',
    target: '≥ 1',
  },
  {
    name: 'hub.async.handoff_floor',
    unit: 'ns/op',
    what: 'async/await hand-off with one promise per message and no channel at all',
    measure: asyncHandoffFloor,
    baseline: 'hub.channel.pingpong',
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
    target: '≤ 2.3',
    isolate: true,
  },
];
