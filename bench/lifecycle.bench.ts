/**
 * Task lifecycle benchmarks against hand-written async/await, measured in the same run:
 * spawn and join, kill (one at a time and 100,000 at once, every `finally` run), waiting
 * for promises, and the memory of a parked task.
 *
 * The async/await side is written the way Node teaches it: an async function call is the
 * spawn, `await` the join, an `AbortController` and the `signal` option of
 * `node:timers/promises` the kill.
 */
import { setTimeout as sleepAsync } from 'node:timers/promises';
import * as greenletTs from 'greenlet-ts';
import { Event, Task, killall, run, sleep, spawn, waitFor, type GreenletBody } from 'greenlet-ts';
import type { Library } from './core.bench.js';
import { type Benchmark, bytesPerItem, heapAfterGc, median, medianNsPerItem } from './harness.js';
import { SPAWN_COUNT } from './hub.bench.js';

function* returnAtOnce(): GreenletBody<number> {
  return 1;
}

async function returnAtOnceAsync(): Promise<number> {
  return 1;
}

/** hub.spawn_join: spawn 100,000 tasks that return at once, join each; per task. */
export async function spawnJoin(lib: Library = greenletTs): Promise<number> {
  return medianNsPerItem(
    (n) =>
      lib.run(function* () {
        const tasks: Task[] = new Array(n);
        for (let i = 0; i < n; i++) tasks[i] = lib.spawn(returnAtOnce);
        for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
      }),
    SPAWN_COUNT,
  );
}

/** The baseline: call 100,000 async functions that return at once, await each. */
async function callAwaitAsync(): Promise<number> {
  return medianNsPerItem(async (n) => {
    const promises: Promise<number>[] = new Array(n);
    for (let i = 0; i < n; i++) promises[i] = returnAtOnceAsync();
    for (let i = 0; i < n; i++) await promises[i];
  }, SPAWN_COUNT);
}

/**
 * hub.spawn_join.closure: as hub.spawn_join, with a generator function made afresh for
 * each task, as `spawn(function* () {...})` in a loop writes it. V8 gives every generator
 * function's objects a map of their own, so what one closure's task taught the engine's
 * caches does not serve the next.
 */
export async function spawnJoinClosures(lib: Library = greenletTs): Promise<number> {
  return medianNsPerItem(
    (n) =>
      lib.run(function* () {
        const tasks: Task[] = new Array(n);
        for (let i = 0; i < n; i++) {
          tasks[i] = lib.spawn(function* (): GreenletBody<number> {
            return i;
          });
        }
        for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
      }),
    SPAWN_COUNT,
  );
}

/** Its baseline: an async function made afresh for each call, awaited. */
async function callAwaitAsyncClosures(): Promise<number> {
  return medianNsPerItem(async (n) => {
    const promises: Promise<number>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      promises[i] = (async (): Promise<number> => {
        return i;
      })();
    }
    for (let i = 0; i < n; i++) await promises[i];
  }, SPAWN_COUNT);
}

/**
 * The floor of hub.spawn_join, a stripped experiment: the least any task system pays that
 * starts a task after `spawn` returns (as gevent's and ours do) rather than inside the
 * call (as an async function does). A spawn records the function in a three-field
 * record; a loop (the "scheduler") then calls each, runs its generator to the end and
 * stores the result; a join reads it. No hub, no switcher, no live list, no checks.
 */
class FloorTask {
  result: unknown = undefined;
  done = false;
  constructor(readonly fn: () => Generator<never, number, unknown>) {}
}

function* rawReturnAtOnce(): Generator<never, number, unknown> {
  return 1;
}

async function spawnJoinFloor(): Promise<number> {
  return medianNsPerItem(async (n) => {
    const tasks: FloorTask[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = new FloorTask(rawReturnAtOnce);
    for (let i = 0; i < n; i++) {
      const task = tasks[i] as FloorTask;
      task.result = task.fn().next().value;
      task.done = true;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (tasks[i] as FloorTask).result as number;
    return sum;
  }, SPAWN_COUNT);
}

const AN_HOUR_MS = 3_600_000;

let started = 0;
let cleanups = 0;

function* sleepAnHour(): GreenletBody<void> {
  started++;
  try {
    yield* sleep(AN_HOUR_MS);
  } finally {
    cleanups++;
  }
}

async function sleepAnHourAsync(signal: AbortSignal): Promise<void> {
  started++;
  try {
    await sleepAsync(AN_HOUR_MS, undefined, { signal });
  } finally {
    cleanups++;
  }
}

function checkCleanups(expected: number): void {
  if (started !== expected || cleanups !== expected) {
    throw new Error(`${started} of ${expected} started, ${cleanups} finally blocks ran`);
  }
}

/** Tasks parked per batch in hub.kill; batches per measurement. */
const KILL_BATCH = 1000;
const KILL_BATCHES = 20;

/**
 * hub.kill: one task at a time, kill a task parked in a one-hour sleep and wait until it
 * has ended (its `finally` ran); per kill. Only the kills are timed: batches of 1,000
 * tasks are spawned and parked first.
 */
async function killOneByOne(): Promise<number> {
  const perKill: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const ns = await run(function* () {
      let total = 0;
      for (let b = 0; b < KILL_BATCHES; b++) {
        started = cleanups = 0;
        const tasks: Task[] = new Array(KILL_BATCH);
        for (let i = 0; i < KILL_BATCH; i++) tasks[i] = spawn(sleepAnHour);
        while (started < KILL_BATCH) yield* sleep(0);
        const t0 = performance.now();
        for (let i = 0; i < KILL_BATCH; i++) yield* (tasks[i] as Task).kill();
        total += performance.now() - t0;
        checkCleanups(KILL_BATCH);
      }
      return (total * 1e6) / (KILL_BATCH * KILL_BATCHES);
    });
    perKill.push(ns);
  }
  return median(perKill);
}

/** The baseline: abort one async function at a time and await its end. */
async function abortOneByOne(): Promise<number> {
  const perKill: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let total = 0;
    for (let b = 0; b < KILL_BATCHES; b++) {
      started = cleanups = 0;
      const controllers: AbortController[] = new Array(KILL_BATCH);
      const calls: Promise<void>[] = new Array(KILL_BATCH);
      for (let i = 0; i < KILL_BATCH; i++) {
        const controller = new AbortController();
        controllers[i] = controller;
        calls[i] = sleepAnHourAsync(controller.signal);
      }
      const t0 = performance.now();
      for (let i = 0; i < KILL_BATCH; i++) {
        (controllers[i] as AbortController).abort();
        await (calls[i] as Promise<void>).catch(() => {});
      }
      total += performance.now() - t0;
      checkCleanups(KILL_BATCH);
    }
    perKill.push((total * 1e6) / (KILL_BATCH * KILL_BATCHES));
  }
  return median(perKill);
}

const KILLALL_COUNT = 100_000;

/** hub.killall: kill 100,000 tasks parked in a one-hour sleep at once and wait for all to end; per task. */
async function killAllAtOnce(): Promise<number> {
  const perTask: number[] = [];
  for (let rep = 0; rep < 4; rep++) {
    const ns = await run(function* () {
      started = cleanups = 0;
      const tasks: Task[] = new Array(KILLALL_COUNT);
      for (let i = 0; i < KILLALL_COUNT; i++) tasks[i] = spawn(sleepAnHour);
      while (started < KILLALL_COUNT) yield* sleep(0);
      const t0 = performance.now();
      yield* killall(tasks);
      const ms = performance.now() - t0;
      checkCleanups(KILLALL_COUNT);
      return (ms * 1e6) / KILLALL_COUNT;
    });
    if (rep > 0) perTask.push(ns);
  }
  return median(perTask);
}

/** The baseline: abort 100,000 async functions at once and wait until all have ended. */
async function abortAllAtOnce(): Promise<number> {
  const perTask: number[] = [];
  for (let rep = 0; rep < 4; rep++) {
    started = cleanups = 0;
    const controllers: AbortController[] = new Array(KILLALL_COUNT);
    const calls: Promise<void>[] = new Array(KILLALL_COUNT);
    for (let i = 0; i < KILLALL_COUNT; i++) {
      const controller = new AbortController();
      controllers[i] = controller;
      calls[i] = sleepAnHourAsync(controller.signal);
    }
    const t0 = performance.now();
    for (const controller of controllers) controller.abort();
    await Promise.allSettled(calls);
    const ms = performance.now() - t0;
    checkCleanups(KILLALL_COUNT);
    if (rep > 0) perTask.push((ms * 1e6) / KILLALL_COUNT);
  }
  return median(perTask);
}

const FANOUT_COUNT = 10_000;

/** interop.waitfor_fanout: 10,000 tasks each waitFor() an already resolved promise, joined; per task. */
/**
 * The promise every fan-out task waits for, and each side's task body, made once: a body
 * made afresh for each measurement would be a new call target for code that V8 compiled
 * for the last one, and code compiled on stack replacement stays in V8's cache and
 * deoptimizes on every later run (measured: "wrong call target" on every run of the async
 * baseline once its loop had been so compiled; docs/benchmarks-log.md, "The spread from process
 * to process").
 */
const FANOUT_RESOLVED = Promise.resolve(1);
const fanOutWaiter = (): ReturnType<typeof waitFor<number>> => waitFor(FANOUT_RESOLVED);
const fanOutWaiterAsync = async (): Promise<number> => await FANOUT_RESOLVED;

async function waitForFanOut(): Promise<number> {
  const waiter = fanOutWaiter;
  return medianNsPerItem(
    (n) =>
      run(function* () {
        const tasks: Task[] = new Array(n);
        for (let i = 0; i < n; i++) tasks[i] = spawn(waiter);
        for (let i = 0; i < n; i++) yield* (tasks[i] as Task).join();
      }),
    FANOUT_COUNT,
    9,
  );
}

/** The baseline: 10,000 async functions each awaiting an already resolved promise, Promise.all. */
async function awaitFanOut(): Promise<number> {
  const waiter = fanOutWaiterAsync;
  return medianNsPerItem(
    async (n) => {
      const calls: Promise<number>[] = new Array(n);
      for (let i = 0; i < n; i++) calls[i] = waiter();
      await Promise.all(calls);
    },
    FANOUT_COUNT,
    9,
  );
}

/**
 * The floor of interop.waitfor_fanout, a stripped experiment: the least a design with
 * deferred-start generator tasks pays for this workload. A spawn is a record (the
 * function, the body, the result) on a run queue; a loop starts each body, an iterator
 * whose first step attaches one reaction (both handlers: a rejection must reach the
 * task too) and suspends; the reaction puts the task on a ready list, drained from one
 * microtask per batch, which resumes the body to its end and stores the result; the
 * "join" reads the results once the last task has ended. No hub, no switcher, no live
 * list, no wait record, no checks.
 */
class FloorWaitTask {
  body: FloorWait | null = null;
  result: unknown = undefined;
  constructor(readonly fn: () => FloorWait) {}
}

/** The ready list of the floor's "scheduler", and what it resumes each task with. */
let floorReady: FloorWaitTask[] = [];
let floorValues: unknown[] = [];
let floorDraining = false;
let floorLeft = 0;
let floorAllEnded: () => void = () => {};
/** The task being started: the wait's first step reads it (a scheduler's "current task"). */
let floorCurrent: FloorWaitTask | null = null;

function floorWake(task: FloorWaitTask, value: unknown): void {
  floorReady.push(task);
  floorValues.push(value);
  if (!floorDraining) {
    floorDraining = true;
    queueMicrotask(floorDrain);
  }
}

function floorDrain(): void {
  floorDraining = false;
  const ready = floorReady;
  const values = floorValues;
  floorReady = [];
  floorValues = [];
  for (let i = 0; i < ready.length; i++) floorStep(ready[i] as FloorWaitTask, values[i]);
}

function floorStep(task: FloorWaitTask, value: unknown): void {
  const r = (task.body as FloorWait).next(value);
  if (r.done === true) {
    task.result = r.value;
    if (--floorLeft === 0) floorAllEnded();
  }
}

/** `waitFor(promise)` at its least: suspend once, resume with the value. */
class FloorWait implements Iterator<undefined, unknown> {
  started = false;
  constructor(readonly promise: Promise<unknown>) {}
  next(value?: unknown): IteratorResult<undefined, unknown> {
    if (this.started) return { done: true, value };
    this.started = true;
    const task = floorCurrent as FloorWaitTask;
    this.promise.then(
      (v) => floorWake(task, v),
      (e) => floorWake(task, e), // a real design raises it in the task; never taken here
    );
    return { done: false, value: undefined };
  }
}

const floorWaiter = (): FloorWait => new FloorWait(FANOUT_RESOLVED);

async function waitForFanOutFloor(): Promise<number> {
  const waiter = floorWaiter;
  return medianNsPerItem(
    async (n) => {
      const allEnded = new Promise<void>((resolve) => {
        floorAllEnded = resolve;
      });
      floorLeft = n;
      const tasks: FloorWaitTask[] = new Array(n);
      for (let i = 0; i < n; i++) tasks[i] = new FloorWaitTask(waiter);
      for (let i = 0; i < n; i++) {
        const task = tasks[i] as FloorWaitTask;
        floorCurrent = task;
        task.body = task.fn();
        floorStep(task, undefined);
      }
      floorCurrent = null;
      await allEnded;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (tasks[i] as FloorWaitTask).result as number;
      if (sum !== n) throw new Error(`the floor's tasks returned ${sum}, not ${n}`);
    },
    FANOUT_COUNT,
    9,
  );
}

/**
 * interop.waitfor_fanout.floor.fair: the floor above plus two things the hub must do and
 * the floor leaves out. A wait record per wait, through which the reaction reaches the
 * task (a kill would empty it, so that a late settlement wakes nobody), and fairness as the
 * hub had it before its switch interval: a pass resumes at most FAIR_PASS_BUDGET tasks,
 * starts and wakes alike, in one FIFO, then gives
 * the event loop a macrotask turn before it goes on; a reaction that readies a task asks
 * for a pass from a microtask, as the hub's kick does. Still no switcher, no live list,
 * no join that parks, no checks.
 */
/** The count of resumes that bounded a hub pass before the switch interval bounded it by time. */
const FAIR_PASS_BUDGET = 1000;

class FairTask {
  body: FairWait | null = null;
  result: unknown = undefined;
  /** What it resumes with. */
  value: unknown = undefined;
  constructor(readonly fn: () => FairWait) {}
}

/** The record a reaction reaches the task through. */
class FairWaitRecord {
  constructor(public task: FairTask | null) {}
}

let fairQueue: (FairTask | undefined)[] = [];
let fairHead = 0;
let fairInPass = false;
let fairKickPending = false;
let fairContinuePending = false;
let fairLeft = 0;
let fairAllEnded: () => void = () => {};
let fairCurrent: FairTask | null = null;

function fairReady(task: FairTask, value: unknown): void {
  task.value = value;
  fairQueue.push(task);
  if (!fairInPass && !fairKickPending) {
    fairKickPending = true;
    queueMicrotask(fairKicked);
  }
}

function fairKicked(): void {
  fairKickPending = false;
  if (!fairInPass) fairPass();
}

function fairContinue(): void {
  fairContinuePending = false;
  if (!fairInPass) fairPass();
}

function fairPass(): void {
  fairInPass = true;
  let budget = FAIR_PASS_BUDGET;
  while (fairHead < fairQueue.length) {
    if (budget-- === 0) {
      if (!fairContinuePending) {
        fairContinuePending = true;
        setImmediate(fairContinue);
      }
      break;
    }
    const task = fairQueue[fairHead] as FairTask;
    fairQueue[fairHead++] = undefined;
    fairCurrent = task;
    if (task.body === null) task.body = task.fn();
    const r = task.body.next(task.value);
    task.value = undefined;
    if (r.done === true) {
      task.result = r.value;
      if (--fairLeft === 0) fairAllEnded();
    }
  }
  fairCurrent = null;
  if (fairHead === fairQueue.length) {
    fairQueue = [];
    fairHead = 0;
  }
  fairInPass = false;
}

/** `waitFor(promise)` with a wait record: suspend once, resume with the value. */
class FairWait implements Iterator<undefined, unknown> {
  started = false;
  constructor(readonly promise: Promise<unknown>) {}
  next(value?: unknown): IteratorResult<undefined, unknown> {
    if (this.started) return { done: true, value };
    this.started = true;
    const wait = new FairWaitRecord(fairCurrent as FairTask);
    this.promise.then(
      (v) => {
        const task = wait.task;
        if (task === null) return;
        wait.task = null;
        fairReady(task, v);
      },
      (e) => {
        const task = wait.task;
        if (task === null) return;
        wait.task = null;
        fairReady(task, e); // a real design raises it in the task; never taken here
      },
    );
    return { done: false, value: undefined };
  }
}

const fairWaiter = (): FairWait => new FairWait(FANOUT_RESOLVED);

async function waitForFanOutFloorFair(): Promise<number> {
  const waiter = fairWaiter;
  return medianNsPerItem(
    async (n) => {
      const allEnded = new Promise<void>((resolve) => {
        fairAllEnded = resolve;
      });
      fairLeft = n;
      const tasks: FairTask[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const task = new FairTask(waiter);
        tasks[i] = task;
        fairReady(task, undefined);
      }
      await allEnded;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (tasks[i] as FairTask).result as number;
      if (sum !== n) throw new Error(`the fair floor's tasks returned ${sum}, not ${n}`);
    },
    FANOUT_COUNT,
    9,
  );
}

const PARKED_COUNT = 1_000_000;

function* parkOn(event: Event): GreenletBody<void> {
  started++;
  yield* event.wait();
}

/** hub.memory.parked: heap per task parked on an Event, a million of them. */
async function parkedTaskBytes(): Promise<number> {
  started = 0;
  const event = new Event();
  const tasks: Task[] = new Array(PARKED_COUNT).fill(null);
  const before = heapAfterGc();
  await run(function* () {
    for (let i = 0; i < PARKED_COUNT; i++) tasks[i] = spawn(parkOn, event);
    while (started < PARKED_COUNT) yield* sleep(0);
  });
  const after = heapAfterGc();
  event.set();
  await run(function* () {
    for (const t of tasks) yield* t.join();
  });
  return (after - before) / PARKED_COUNT;
}

/**
 * The smallest parked task, for hub.memory.parked.floor: a record with only the seven
 * fields a parked task cannot do without (a greenlet's four: state, body, parent,
 * context; and its scheduling state, what it waits on, what it resumes with), whose body
 * is `parkOn`'s own generator suspended in `yield*` of a one-shot wait, listed by the
 * thing it waits on. No hub, no timers, no links, no name.
 */
class FloorParked {
  state = 1;
  body: unknown = null;
  parent: unknown = null;
  context: unknown = null;
  sched = 3;
  wait: unknown = null;
  wake: unknown = 0;
}

/** A wait that suspends its generator once (never resumed here). */
const FLOOR_SUSPEND: Iterator<undefined, void> = { next: () => ({ done: false, value: undefined }) };
const floorEvent = {
  waiters: [] as FloorParked[],
  wait: () => ({ [Symbol.iterator]: () => FLOOR_SUSPEND }),
};

function floorParkedBytes(): number {
  const perItem = bytesPerItem(PARKED_COUNT, () => {
    const task = new FloorParked();
    const body = parkOn(floorEvent as unknown as Event);
    body.next();
    task.body = body;
    task.wait = floorEvent;
    floorEvent.waiters.push(task);
    return task;
  });
  floorEvent.waiters = [];
  return perItem;
}

const TASK_COUNT = 1_000_000;

function* parkForever(): GreenletBody<void> {
  yield* sleep(AN_HOUR_MS);
}

function* rawSuspendOnce(i: number): Generator<number, number, unknown> {
  yield i;
  return i;
}

export const lifecycleBenchmarks: Benchmark[] = [
  {
    name: 'hub.spawn_join',
    unit: 'ns/op',
    what: `spawn ${SPAWN_COUNT.toLocaleString('en')} tasks that return at once, join each; per task`,
    measure: () => spawnJoin(),
    baseline: 'call async functions that return, await each',
    baselineMeasure: callAwaitAsync,
    target: '≤ 1.0',
  },
  {
    name: 'hub.spawn_join.closure',
    unit: 'ns/op',
    what: `as hub.spawn_join, a generator function made afresh for each task; per task`,
    measure: () => spawnJoinClosures(),
    baseline: 'call async functions made afresh for each call, await each',
    baselineMeasure: callAwaitAsyncClosures,
    target: 'report',
  },
  {
    name: 'hub.spawn_join.floor',
    unit: 'ns/op',
    what: 'stripped experiment: spawn = a 3-field record, a loop runs each generator, join reads the result',
    measure: spawnJoinFloor,
    baseline: 'call async functions that return, await each',
    baselineMeasure: callAwaitAsync,
    target: 'report',
  },
  {
    name: 'hub.kill',
    unit: 'ns/op',
    what: 'kill a task parked in sleep(1 h) and wait for its end (finally runs), one at a time',
    measure: killOneByOne,
    baseline: 'abort an async function awaiting a timer (AbortController), await it',
    baselineMeasure: abortOneByOne,
    target: '≤ 0.5',
  },
  {
    name: 'hub.killall',
    unit: 'ns/op',
    what: `killall() of ${KILLALL_COUNT.toLocaleString('en')} tasks parked in sleep(1 h), every finally run; per task`,
    measure: killAllAtOnce,
    baseline: 'abort as many async functions at once, allSettled',
    baselineMeasure: abortAllAtOnce,
    target: '≤ 0.5',
  },
  {
    name: 'interop.waitfor_fanout',
    unit: 'ns/op',
    what: `${FANOUT_COUNT.toLocaleString('en')} tasks each waitFor() a resolved promise, join each; per task`,
    measure: waitForFanOut,
    baseline: 'as many async functions awaiting it, Promise.all',
    baselineMeasure: awaitFanOut,
    target: '≤ 1.5',
  },
  {
    name: 'interop.waitfor_fanout.floor',
    unit: 'ns/op',
    what: 'stripped experiment: deferred-start tasks (a 3-field record, an iterator body), one reaction each, a ready list',
    measure: waitForFanOutFloor,
    baseline: 'as many async functions awaiting it, Promise.all',
    baselineMeasure: awaitFanOut,
    target: 'report',
  },
  {
    name: 'interop.waitfor_fanout.floor.fair',
    unit: 'ns/op',
    what: 'stripped experiment: the floor plus a wait record per wait and a pass budget (1,000 resumes, then a macrotask turn)',
    measure: waitForFanOutFloorFair,
    baseline: 'as many async functions awaiting it, Promise.all',
    baselineMeasure: awaitFanOut,
    target: 'report',
  },
  {
    name: 'hub.memory.parked',
    unit: 'B/item',
    what: `heap per task parked on an Event, ${PARKED_COUNT.toLocaleString('en')} of them`,
    measure: parkedTaskBytes,
    baseline: 'a raw suspended generator',
    baselineMeasure: () =>
      bytesPerItem(PARKED_COUNT, (i) => {
        const g = rawSuspendOnce(i);
        g.next();
        return g;
      }),
    target: '≤ 2.3',
    isolate: true,
  },
  {
    name: 'hub.memory.parked.floor',
    unit: 'B/item',
    what: `stripped experiment: ${PARKED_COUNT.toLocaleString('en')} of the smallest parked task (a 7-field record, the same generator in yield*, in a waiters array)`,
    measure: floorParkedBytes,
    baseline: 'a raw suspended generator',
    baselineMeasure: () =>
      bytesPerItem(PARKED_COUNT, (i) => {
        const g = rawSuspendOnce(i);
        g.next();
        return g;
      }),
    target: 'report',
    isolate: true,
  },
  {
    name: 'hub.memory.task',
    unit: 'B/item',
    what: `heap per task created and not started (the record alone, no generator yet), ${TASK_COUNT.toLocaleString('en')} of them`,
    measure: () => bytesPerItem(TASK_COUNT, () => new Task(parkForever)),
    baseline: 'a raw suspended generator',
    baselineMeasure: () =>
      bytesPerItem(TASK_COUNT, (i) => {
        const g = rawSuspendOnce(i);
        g.next();
        return g;
      }),
    target: 'report',
    isolate: true,
  },
];
