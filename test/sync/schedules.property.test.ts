/**
 * The sync primitives' invariants under explored schedules: queues, channels and select,
 * locks and semaphores, pools, scopes, events. Each property draws a scenario and a
 * schedule (the order ready tasks run, select's choices, timer ties) with fast-check and
 * replays the scenario under that schedule on virtual time; fast-check shrinks both. Each
 * also runs a fixed scenario under PCT schedules with explore(). Every run is also checked
 * by the runtime: no task error unobserved, no wait that can never end, no task left.
 *
 * About 4,000 schedules in all; `npm run explore` runs 20 times as many
 * (GREENLET_EXPLORE_SCALE=20). Seeds are fixed (FC_SEED overrides fast-check's).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AsyncResult,
  BoundedSemaphore,
  Channel,
  ChannelClosed,
  ChannelTimeout,
  Empty,
  Event,
  Full,
  GreenletExit,
  LifoQueue,
  Lock,
  Pool,
  PriorityQueue,
  Queue,
  RLock,
  Semaphore,
  ShutDown,
  joinall,
  recvCase,
  scope,
  select,
  sendCase,
  sleep,
  spawn,
  type GreenletBody,
  type Task,
} from 'greenlet-ts';
import { explore, replay } from 'greenlet-ts/testing';
import { schedules } from 'greenlet-ts/testing/fast-check';

const SCALE = Number(process.env.GREENLET_EXPLORE_SCALE ?? 1);
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20250611;
/** Scenario × schedule pairs per property, and PCT runs of its fixed scenario. */
const PAIRS = 400 * SCALE;
const PCT_RUNS = 250 * SCALE;
const TIMEOUT = 60_000 * SCALE;

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Property: `program(scenario)` passes under every drawn schedule; and under PCT for `fixed`. */
function underSchedules<S>(name: string, scenario: fc.Arbitrary<S>, program: (s: S) => () => GreenletBody<void>, fixed: S): void {
  it(`${name}, under ${PAIRS} drawn scenarios and schedules`, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, schedules(), async (s, schedule) => {
        await replay(program(s), schedule);
      }),
      { seed: SEED, numRuns: PAIRS },
    );
  }, TIMEOUT);
  it(`${name}, under ${PCT_RUNS} PCT schedules of one scenario`, async () => {
    await expect(explore(program(fixed), { runs: PCT_RUNS, seed: SEED, strategy: 'pct' })).resolves.toBeDefined();
  }, TIMEOUT);
}

// --- queues -----------------------------------------------------------------------------

type QueueKind = 'fifo' | 'lifo' | 'priority';
interface QueueScenario {
  kind: QueueKind;
  maxsize: number | undefined;
  /** Per producer: how many items, and how each is put (0 put, 1 put(item, 1 ms), 2 putNowait). */
  producers: number[][];
  /** Per consumer: how each get is made (0 get, 1 get(1 ms), 2 getNowait, 3 sleep(0)). */
  consumers: number[][];
  /** Kill this consumer (index modulo their number) after the producers have started, or not. */
  kill: number | null;
}

const queueScenario: fc.Arbitrary<QueueScenario> = fc.record({
  kind: fc.constantFrom<QueueKind>('fifo', 'lifo', 'priority'),
  maxsize: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  producers: fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
  consumers: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  kill: fc.option(fc.nat(2), { nil: null }),
});

function queueProgram(s: QueueScenario): () => GreenletBody<void> {
  return function* queues() {
    const q =
      s.kind === 'fifo' ? new Queue<number>(s.maxsize) : s.kind === 'lifo' ? new LifoQueue<number>(s.maxsize) : new PriorityQueue<number>(s.maxsize);
    const accepted: number[] = [];
    const received: number[][] = s.consumers.map(() => []);
    let entered = 0;
    let finished = 0;
    const producers = s.producers.map((puts, p) =>
      spawn(function* producer() {
        for (const [i, how] of puts.entries()) {
          const item = p * 100 + i;
          try {
            if (how === 0) yield* q.put(item);
            else if (how === 1) yield* q.put(item, 1);
            else q.putNowait(item);
            accepted.push(item);
          } catch (e) {
            if (e instanceof ShutDown) return;
            if (!(e instanceof Full)) throw e;
          }
        }
      }),
    );
    const consumers = s.consumers.map((gets, c) =>
      spawn(function* consumer() {
        entered++;
        try {
          for (const how of gets) {
            try {
              if (how === 0) received[c]!.push(yield* q.get());
              else if (how === 1) received[c]!.push(yield* q.get(1));
              else if (how === 2) received[c]!.push(q.getNowait());
              else yield* sleep(0);
            } catch (e) {
              if (e instanceof ShutDown) return;
              if (!(e instanceof Empty)) throw e;
            }
          }
        } finally {
          finished++;
        }
      }),
    );
    if (s.kill !== null) {
      yield* sleep(0);
      yield* consumers[s.kill % consumers.length]!.kill();
    }
    // Let everyone run out of things to do, then release whoever still waits.
    yield* joinall([...producers, ...consumers], { timeout: 100 });
    q.shutdown();
    yield* joinall([...producers, ...consumers]);
    const drained: number[] = [];
    for (;;) {
      try {
        drained.push(q.getNowait());
      } catch (e) {
        if (e instanceof ShutDown) break;
        throw e;
      }
    }
    const delivered = [...received.flat(), ...drained];
    check(new Set(delivered).size === delivered.length, `an item was delivered twice: ${delivered.join(',')}`);
    check(
      [...delivered].sort((a, b) => a - b).join() === [...accepted].sort((a, b) => a - b).join(),
      `accepted ${accepted.join(',')} but delivered ${delivered.join(',')}`,
    );
    if (s.kind === 'fifo') {
      for (const got of [...received, drained]) {
        for (let i = 1; i < got.length; i++) {
          const [a, b] = [got[i - 1]!, got[i]!];
          check(Math.floor(a / 100) !== Math.floor(b / 100) || a < b, `FIFO broken: ${got.join(',')}`);
        }
      }
    }
    check(finished === entered, `${entered} consumers started, ${finished} ran their finally`);
    check(q.getters + q.putters + q.peekers + q.joiners === 0, `still registered: ${String(q)}`);
  };
}

describe('Queue, LifoQueue, PriorityQueue: no item lost or delivered twice, FIFO per producer, every finally run', () => {
  underSchedules('random producers and consumers, timed and non-blocking calls, a kill', queueScenario, queueProgram, {
    kind: 'fifo',
    maxsize: 1,
    producers: [
      [0, 1, 0],
      [2, 0, 1],
    ],
    consumers: [
      [0, 1, 0, 2],
      [1, 0, 3, 0],
    ],
    kill: 1,
  });
});

// --- channels and select ----------------------------------------------------------------

interface ChannelScenario {
  capacities: [number, number];
  /** Per sender: per value, 0 send on its channel, 1 select over sending on both, 2 send with a 1 ms timeout. */
  senders: { ch: number; sends: number[] }[];
  /** Per receiver: 0 recv on ch 0, 1 recv on ch 1, 2 select over both, 3 select over both with a 1 ms timeout. */
  receivers: number[][];
}

const channelScenario: fc.Arbitrary<ChannelScenario> = fc.record({
  capacities: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  senders: fc.array(
    fc.record({ ch: fc.integer({ min: 0, max: 1 }), sends: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }) }),
    { minLength: 1, maxLength: 3 },
  ),
  receivers: fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
});

function channelProgram(s: ChannelScenario): () => GreenletBody<void> {
  return function* channels() {
    const chans = s.capacities.map((c) => new Channel<number>(c));
    const sent = new Map<number, number>(); // value → channel
    const got: { value: number; ch: number; by: number }[] = [];
    const senders = s.senders.map(({ ch, sends }, p) =>
      spawn(function* sender() {
        for (const [i, how] of sends.entries()) {
          const value = p * 100 + i * 2;
          try {
            if (how === 0) {
              yield* chans[ch]!.send(value);
              sent.set(value, ch);
            } else if (how === 2) {
              yield* chans[ch]!.send(value, 1);
              sent.set(value, ch);
            } else {
              // Each case its own value, so that what was sent where stays known.
              const r = yield* select([sendCase(chans[0]!, value), sendCase(chans[1]!, value + 1)]);
              sent.set(value + r.index, r.index);
            }
          } catch (e) {
            if (e instanceof ChannelClosed) return;
            if (!(e instanceof ChannelTimeout)) throw e;
          }
        }
      }),
    );
    const receivers = s.receivers.map((ops, by) =>
      spawn(function* receiver() {
        for (const how of ops) {
          if (how <= 1) {
            const [v, ok] = yield* chans[how]!.recvOk();
            if (ok) got.push({ value: v, ch: how, by });
          } else {
            const r = yield* select([recvCase(chans[0]!), recvCase(chans[1]!)], how === 3 ? { timeout: 1 } : {});
            if (r.index !== -1 && r.ok) got.push({ value: r.value, ch: r.index, by });
          }
        }
      }),
    );
    // Let everyone run out of things to do, then release whoever still waits.
    yield* joinall([...senders, ...receivers], { timeout: 100 });
    for (const c of chans) c.close();
    yield* joinall([...senders, ...receivers]);
    const left: { value: number; ch: number }[] = [];
    chans.forEach((c, ch) => {
      for (let r = c.tryRecv(); r[1]; r = c.tryRecv()) left.push({ value: r[0], ch });
    });
    const delivered = [...got, ...left];
    check(new Set(delivered.map((d) => d.value)).size === delivered.length, 'a value was received twice');
    check(delivered.length === sent.size, `sent ${sent.size} values, ${delivered.length} received or left`);
    for (const d of delivered) check(sent.get(d.value) === d.ch, `${d.value} came out of the wrong channel`);
    const last = new Map<string, number>();
    for (const { value, ch, by } of got) {
      const key = `${by}/${ch}/${Math.floor(value / 100)}`;
      check(value > (last.get(key) ?? -1), `receiver ${by} got ${value} after ${last.get(key)} from one sender`);
      last.set(key, value);
    }
    for (const c of chans) check(c.sendWaiting + c.recvWaiting === 0, `still registered: ${String(c)}`);
  };
}

describe('Channel and select: no value lost or received twice, FIFO per sender, nothing left registered', () => {
  underSchedules('random senders and receivers, selects with and without timeouts', channelScenario, channelProgram, {
    capacities: [0, 1],
    senders: [
      { ch: 0, sends: [0, 1, 2] },
      { ch: 1, sends: [1, 0, 1] },
    ],
    receivers: [
      [2, 3, 0, 2],
      [1, 2, 3, 2],
    ],
  });
});

// --- locks and semaphores -----------------------------------------------------------------

type LockKind = 'Lock' | 'RLock' | 'Semaphore' | 'BoundedSemaphore';
interface LockScenario {
  kind: LockKind;
  /** Per task: per critical section, 0 acquire/release, 1 acquire(1 ms), 2 run(), with a hold of 0 or 1 ms. */
  tasks: { how: number; hold: number }[][];
  kill: number | null;
}

const lockScenario: fc.Arbitrary<LockScenario> = fc.record({
  kind: fc.constantFrom<LockKind>('Lock', 'RLock', 'Semaphore', 'BoundedSemaphore'),
  tasks: fc.array(
    fc.array(fc.record({ how: fc.integer({ min: 0, max: 2 }), hold: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 3 }),
    { minLength: 2, maxLength: 4 },
  ),
  kill: fc.option(fc.nat(3), { nil: null }),
});

function lockProgram(s: LockScenario): () => GreenletBody<void> {
  return function* locks() {
    const permits = s.kind === 'Semaphore' || s.kind === 'BoundedSemaphore' ? 2 : 1;
    const lock = s.kind === 'Lock' ? new Lock() : s.kind === 'RLock' ? new RLock() : s.kind === 'Semaphore' ? new Semaphore(2) : new BoundedSemaphore(2);
    let inside = 0;
    let entered = 0;
    let finished = 0;
    function* critical(hold: number): GreenletBody<void> {
      inside++;
      try {
        check(inside <= permits, `${inside} tasks hold ${String(lock)} at once`);
        if (lock instanceof RLock) {
          // Re-entrant: take it again inside.
          yield* lock.acquire();
          lock.release();
        }
        yield* sleep(hold);
      } finally {
        inside--;
      }
    }
    const tasks = s.tasks.map((sections) =>
      spawn(function* worker() {
        entered++;
        try {
          for (const { how, hold } of sections) {
            if (how === 2) {
              yield* lock.run(critical, hold);
            } else if (yield* lock.acquire(how === 1 ? 1 : undefined)) {
              try {
                yield* critical(hold);
              } finally {
                lock.release();
              }
            }
          }
        } finally {
          finished++;
        }
      }),
    );
    if (s.kill !== null) {
      yield* sleep(0);
      yield* tasks[s.kill % tasks.length]!.kill();
    }
    yield* joinall(tasks);
    check(finished === entered, `${entered} workers started, ${finished} ran their finally`);
    check(lock.waiting === 0, `still waiting: ${String(lock)}`);
    check(lock instanceof RLock ? !lock.locked() : (lock as Semaphore).counter === permits, `not given back: ${String(lock)}`);
  };
}

describe('Lock, RLock, Semaphore, BoundedSemaphore: never more holders than permits, every permit given back', () => {
  underSchedules('random critical sections, timed acquires, run(), a kill', lockScenario, lockProgram, {
    kind: 'BoundedSemaphore',
    tasks: [
      [{ how: 0, hold: 1 }, { how: 1, hold: 0 }],
      [{ how: 2, hold: 0 }, { how: 0, hold: 1 }],
      [{ how: 1, hold: 1 }, { how: 2, hold: 1 }],
    ],
    kill: 2,
  });
});

// --- pools ----------------------------------------------------------------------------------

interface PoolScenario {
  size: number;
  /** Per job: how long it works (0: sleep(0), otherwise ms). */
  jobs: number[];
  /** Kill the pool after this many jobs were started, or not. */
  killAfter: number | null;
}

const poolScenario: fc.Arbitrary<PoolScenario> = fc.record({
  size: fc.integer({ min: 1, max: 3 }),
  jobs: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 6 }),
  killAfter: fc.option(fc.nat(5), { nil: null }),
});

function poolProgram(s: PoolScenario): () => GreenletBody<void> {
  return function* pools() {
    const pool = new Pool(s.size);
    let running = 0;
    let started = 0;
    let finished = 0;
    const done: number[] = [];
    const tasks: Task[] = [];
    for (const [i, ms] of s.jobs.entries()) {
      if (s.killAfter !== null && i === s.killAfter) yield* pool.kill();
      tasks.push(
        yield* pool.spawn(function* job() {
          started++;
          running++;
          try {
            check(running <= s.size, `${running} jobs run in a pool of ${s.size}`);
            yield* sleep(ms);
            done.push(i);
          } finally {
            running--;
            finished++;
          }
        }),
      );
    }
    yield* pool.join();
    check(pool.size === 0, `${pool.size} members left`);
    check(finished === started, `${started} jobs started, ${finished} ran their finally`);
    check(tasks.every((t) => t.ready()), 'a job has not ended');
    if (s.killAfter === null || s.killAfter >= s.jobs.length) check(done.length === s.jobs.length, `only ${done.length} of ${s.jobs.length} jobs done`);
  };
}

describe('Pool: never more jobs running than its size, every job ends, kill ends them all', () => {
  underSchedules('random jobs, a kill of the pool', poolScenario, poolProgram, { size: 2, jobs: [1, 0, 2, 1, 0], killAfter: 3 });
});

// --- scopes ----------------------------------------------------------------------------------

interface ScopeScenario {
  /**
   * Per child: how long it works, and whether it fails at the end. At most one fails: a
   * second failure, once the scope is cancelled, goes to the hub's reporter (documented),
   * which fails a run.
   */
  children: { ms: number; fails: boolean }[];
  /** How long the body works before it returns. */
  body: number;
}

const scopeScenario: fc.Arbitrary<ScopeScenario> = fc
  .record({
    children: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }),
    failing: fc.option(fc.nat(3), { nil: null }),
    body: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ children, failing, body }) => ({
    children: children.map((ms, i) => ({ ms, fails: failing !== null && failing % children.length === i })),
    body,
  }));

function scopeProgram(s: ScopeScenario): () => GreenletBody<void> {
  return function* scopes() {
    const finallies: number[] = [];
    const errors = s.children.map((_, i) => new Error(`child ${i} failed`));
    let raised: unknown = null;
    const children: Task[] = [];
    try {
      yield* scope(function* (sc) {
        for (const [i, child] of s.children.entries()) {
          children.push(
            sc.spawn(function* child_() {
              try {
                yield* sleep(child.ms);
                if (child.fails) throw errors[i];
              } finally {
                finallies.push(i);
              }
            }),
          );
        }
        yield* sleep(s.body);
      });
    } catch (e) {
      raised = e;
    }
    check(children.every((t) => t.ready()), 'a child outlived its scope');
    check(finallies.length === children.length, `${children.length} children, ${finallies.length} finally blocks run`);
    const failed = s.children.some((c) => c.fails);
    if (raised !== null) check(errors.includes(raised as Error), `the scope raised ${String(raised)}, not a child's error`);
    // A child that fails before the body ends always fails the scope.
    if (s.children.some((c) => c.fails && c.ms < s.body)) check(raised !== null, 'a child failed and the scope did not raise');
    if (!failed) check(raised === null, `no child failed, and the scope raised ${String(raised)}`);
    check(!(raised instanceof GreenletExit), 'the scope let its own cancellation out');
  };
}

describe('scope(): no child outlives it, every finally runs, the first failure comes out', () => {
  underSchedules('random children that fail or not', scopeScenario, scopeProgram, {
    children: [
      { ms: 1, fails: false },
      { ms: 1, fails: true },
      { ms: 0, fails: false },
      { ms: 2, fails: false },
    ],
    body: 2,
  });
});

// --- events ------------------------------------------------------------------------------------

interface EventScenario {
  kind: 'Event' | 'AsyncResult';
  /** Per waiter: its timeout in ms, or none. */
  waiters: (number | null)[];
  /** When the event is set. */
  setAt: number;
}

const eventScenario: fc.Arbitrary<EventScenario> = fc.record({
  kind: fc.constantFrom<'Event' | 'AsyncResult'>('Event', 'AsyncResult'),
  waiters: fc.array(fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }), { minLength: 1, maxLength: 5 }),
  setAt: fc.integer({ min: 0, max: 3 }),
});

function eventProgram(s: EventScenario): () => GreenletBody<void> {
  return function* events() {
    const event = s.kind === 'Event' ? new Event() : new AsyncResult<number>();
    const results: (boolean | number | undefined)[] = [];
    const waiters = s.waiters.map((timeout, i) =>
      spawn(function* waiter() {
        if (event instanceof Event) results[i] = yield* event.wait(timeout ?? undefined);
        else results[i] = yield* event.wait(timeout ?? undefined);
      }),
    );
    yield* sleep(s.setAt);
    if (event instanceof Event) event.set();
    else event.set(7);
    yield* joinall(waiters);
    s.waiters.forEach((timeout, i) => {
      const woken = s.kind === 'Event' ? results[i] === true : results[i] === 7;
      if (timeout === null || timeout > s.setAt) check(woken, `waiter ${i} (timeout ${timeout}) missed the set at ${s.setAt}`);
      if (timeout !== null && timeout < s.setAt) check(!woken, `waiter ${i} (timeout ${timeout}) saw a set at ${s.setAt}`);
    });
    check(event.waiting === 0, `still waiting: ${String(event)}`);
  };
}

describe('Event and AsyncResult: every waiter still waiting when it is set wakes, none that gave up before', () => {
  underSchedules('random waiters with and without timeouts', eventScenario, eventProgram, {
    kind: 'Event',
    waiters: [null, 1, 2, 3, null],
    setAt: 2,
  });
});

// --- a send on a closed channel is the sender's error ----------------------------------------

describe('ChannelClosed', () => {
  it('reaches every sender blocked when the channel closes, under every schedule', async () => {
    await explore(
      function* closing() {
        const ch = new Channel<number>();
        const outcomes: string[] = [];
        const senders = [1, 2, 3].map((v) =>
          spawn(function* sender() {
            try {
              yield* ch.send(v);
              outcomes.push('sent');
            } catch (e) {
              if (!(e instanceof ChannelClosed)) throw e;
              outcomes.push('closed');
            }
          }),
        );
        const receiver = spawn(function* receiver() {
          yield* ch.recv();
        });
        yield* sleep(0);
        ch.close();
        yield* joinall([...senders, receiver]);
        check(outcomes.filter((o) => o === 'sent').length <= 1, `more sends than receives: ${outcomes.join(',')}`);
        check(outcomes.length === 3, `${outcomes.length} senders ended`);
      },
      { runs: PCT_RUNS, seed: SEED },
    );
  }, TIMEOUT);
});
