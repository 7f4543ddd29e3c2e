/**
 * Properties of gevent.queue's Queue, LifoQueue and PriorityQueue under random
 * operations: the order each kind promises (against a model), and, across many tasks
 * that put, get, peek, time out, get killed and see the queue shut down, that no item
 * is lost or delivered twice, that every task ran its `finally`, and that afterwards
 * nothing is left registered (getters, putters, peekers, joiners, hub timers).
 *
 * The runs use fixed seeds (override with FC_SEED) so that `npm test` is deterministic.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Task, Timeout, getHub, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { Empty, Full, LifoQueue, PriorityQueue, Queue, ShutDown, TaskDoneError } from '../../src/sync/queue.js';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20250611;

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

type Kind = 'fifo' | 'lifo' | 'priority';

function makeQueue(kind: Kind, maxsize: number | undefined): Queue<number> {
  switch (kind) {
    case 'fifo':
      return new Queue<number>(maxsize);
    case 'lifo':
      return new LifoQueue<number>(maxsize);
    case 'priority':
      return new PriorityQueue<number>(maxsize);
  }
}

function expectNoWaiters(q: Queue<number>): void {
  expect([q.getters, q.putters, q.peekers, q.joiners]).toEqual([0, 0, 0, 0]);
}

function errorName(e: unknown): string {
  if (e instanceof Empty) return 'Empty';
  if (e instanceof Full) return 'Full';
  if (e instanceof ShutDown) return 'ShutDown';
  if (e instanceof TaskDoneError) return 'TaskDoneError';
  throw e;
}

// --- the order each kind promises, against a model ------------------------------------

type ModelOp =
  | { op: 'put'; value: number }
  | { op: 'get' }
  | { op: 'peek' }
  | { op: 'taskDone' }
  | { op: 'shutdown'; immediate: boolean };

/** What a queue of `kind` should do, on a plain array. */
class Model {
  items: { value: number; seq: number }[] = [];
  unfinished = 0;
  shut = false;
  private seq = 0;
  constructor(
    readonly kind: Kind,
    readonly maxsize: number,
  ) {}

  /** Index of the item that comes out next. */
  private next(): number {
    if (this.kind === 'fifo') return 0;
    if (this.kind === 'lifo') return this.items.length - 1;
    let best = 0;
    this.items.forEach((it, i) => {
      const b = this.items[best] as { value: number; seq: number };
      if (it.value < b.value || (it.value === b.value && it.seq < b.seq)) best = i;
    });
    return best;
  }

  apply(op: ModelOp): unknown {
    switch (op.op) {
      case 'put':
        if (this.shut) return 'ShutDown';
        if (this.items.length >= this.maxsize) return 'Full';
        this.items.push({ value: op.value, seq: this.seq++ });
        this.unfinished++;
        return undefined;
      case 'get':
      case 'peek': {
        if (this.items.length === 0) return this.shut ? 'ShutDown' : 'Empty';
        const i = this.next();
        const item = this.items[i] as { value: number };
        if (op.op === 'get') this.items.splice(i, 1);
        return item.value;
      }
      case 'taskDone':
        if (this.unfinished === 0) return 'TaskDoneError';
        this.unfinished--;
        return undefined;
      case 'shutdown':
        this.shut = true;
        if (op.immediate) {
          this.unfinished = Math.max(0, this.unfinished - this.items.length);
          this.items = [];
        }
        return undefined;
    }
  }
}

function applyToQueue(q: Queue<number>, op: ModelOp): unknown {
  try {
    switch (op.op) {
      case 'put':
        return q.putNowait(op.value);
      case 'get':
        return q.getNowait();
      case 'peek':
        return q.peekNowait();
      case 'taskDone':
        return q.taskDone();
      case 'shutdown':
        return q.shutdown(op.immediate);
    }
  } catch (e) {
    return errorName(e);
  }
}

const modelOp: fc.Arbitrary<ModelOp> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 9 }).map<ModelOp>((value) => ({ op: 'put', value })), weight: 6 },
  { arbitrary: fc.constant<ModelOp>({ op: 'get' }), weight: 4 },
  { arbitrary: fc.constant<ModelOp>({ op: 'peek' }), weight: 1 },
  { arbitrary: fc.constant<ModelOp>({ op: 'taskDone' }), weight: 2 },
  { arbitrary: fc.boolean().map<ModelOp>((immediate) => ({ op: 'shutdown', immediate })), weight: 1 },
);

const kindArb = fc.constantFrom<Kind>('fifo', 'lifo', 'priority');
const maxsizeArb = fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined });

describe('order', () => {
  it('putNowait/getNowait/peekNowait/taskDone/shutdown behave as the model of each kind: FIFO, LIFO, lowest first with ties in insertion order', () => {
    fc.assert(
      fc.property(kindArb, maxsizeArb, fc.array(modelOp, { maxLength: 60 }), (kind, maxsize, ops) => {
        const q = makeQueue(kind, maxsize);
        const model = new Model(kind, maxsize ?? Infinity);
        for (const op of ops) {
          expect(applyToQueue(q, op)).toEqual(model.apply(op));
          expect(q.qsize()).toBe(model.items.length);
          expect(q.unfinishedTasks).toBe(model.unfinished);
          expect(q.full()).toBe(model.items.length >= (maxsize ?? Infinity));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('waiting getters, tasks and promises mixed, are served in the order they started waiting, each with the item the queue order gives when it takes one', async () => {
    await fc.assert(
      fc.asyncProperty(
        kindArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 8, maxLength: 8 }),
        async (kind, areTasks, values) => {
          const q = makeQueue(kind, undefined);
          const items = values.slice(0, areTasks.length);
          const received: number[] = [];
          const promises: Promise<void>[] = [];
          await run(function* () {
            const tasks: Task[] = [];
            for (const [i, isTask] of areTasks.entries()) {
              if (isTask) {
                tasks.push(
                  spawn(function* () {
                    received[i] = yield* q.get();
                  }),
                );
                yield* sleep(0); // the getter runs and parks before the next one arrives
              } else {
                promises.push(q.getAsync().then((x) => void (received[i] = x)));
              }
            }
            expect(q.getters).toBe(areTasks.length);
            for (const item of items) q.putNowait(item);
            for (const t of tasks) yield* t.join();
          });
          await Promise.all(promises);
          expect(received).toEqual(expectedTakes(kind, areTasks, items));
          expectNoWaiters(q);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });
});

/**
 * What each waiting getter receives when `items` are put one after the other, with no
 * switch in between: a FIFO queue hands each item to the next getter at once; an ordered
 * queue wakes the next getter for each item put, a promise takes the queue's next item at
 * once, a task when it runs (after the puts, in the order it was woken), as in gevent.
 */
function expectedTakes(kind: Kind, areTasks: boolean[], items: number[]): number[] {
  if (kind === 'fifo') return items;
  const store: { value: number; seq: number }[] = [];
  const take = (): number => {
    let i = store.length - 1;
    if (kind === 'priority') {
      i = 0;
      store.forEach((it, k) => {
        const best = store[i] as { value: number; seq: number };
        if (it.value < best.value || (it.value === best.value && it.seq < best.seq)) i = k;
      });
    }
    return (store.splice(i, 1)[0] as { value: number }).value;
  };
  const out: number[] = [];
  const woken: number[] = [];
  let next = 0;
  items.forEach((value, seq) => {
    store.push({ value, seq });
    while (next < areTasks.length && store.length > woken.length) {
      if (areTasks[next] === true) woken.push(next);
      else out[next] = take();
      next++;
    }
  });
  for (const i of woken) out[i] = take();
  return out;
}

// --- many tasks, kills, timeouts and shutdown ------------------------------------------

type ProducerOp =
  | { op: 'put' }
  | { op: 'putTimed'; ms: number }
  | { op: 'putNowait' }
  | { op: 'yield' };

type ConsumerOp =
  | { op: 'get' }
  | { op: 'getTimed'; ms: number }
  | { op: 'getUnderTimeout'; ms: number }
  | { op: 'getNowait' }
  | { op: 'peek' }
  | { op: 'peekTimed'; ms: number }
  | { op: 'iterate'; ms: number | undefined }
  | { op: 'yield' };

type ControlOp =
  | { op: 'yield' }
  | { op: 'sleep'; ms: number }
  | { op: 'kill'; target: number }
  | { op: 'join'; ms: number }
  | { op: 'shutdown'; immediate: boolean };

interface Scenario {
  kind: Kind;
  maxsize: number | undefined;
  producers: ProducerOp[][];
  consumers: ConsumerOp[][];
  asyncConsumer: number[] | null;
  asyncProducer: number[] | null;
  control: ControlOp[];
}

const ms = fc.integer({ min: 0, max: 2 });

const producerOp: fc.Arbitrary<ProducerOp> = fc.oneof(
  { arbitrary: fc.constant<ProducerOp>({ op: 'put' }), weight: 4 },
  { arbitrary: ms.map<ProducerOp>((m) => ({ op: 'putTimed', ms: m })), weight: 2 },
  { arbitrary: fc.constant<ProducerOp>({ op: 'putNowait' }), weight: 2 },
  { arbitrary: fc.constant<ProducerOp>({ op: 'yield' }), weight: 2 },
);

const consumerOp: fc.Arbitrary<ConsumerOp> = fc.oneof(
  { arbitrary: fc.constant<ConsumerOp>({ op: 'get' }), weight: 4 },
  { arbitrary: ms.map<ConsumerOp>((m) => ({ op: 'getTimed', ms: m })), weight: 2 },
  { arbitrary: ms.map<ConsumerOp>((m) => ({ op: 'getUnderTimeout', ms: m })), weight: 1 },
  { arbitrary: fc.constant<ConsumerOp>({ op: 'getNowait' }), weight: 2 },
  { arbitrary: fc.constant<ConsumerOp>({ op: 'peek' }), weight: 1 },
  { arbitrary: ms.map<ConsumerOp>((m) => ({ op: 'peekTimed', ms: m })), weight: 1 },
  { arbitrary: fc.option(ms, { nil: undefined }).map<ConsumerOp>((m) => ({ op: 'iterate', ms: m })), weight: 2 },
  { arbitrary: fc.constant<ConsumerOp>({ op: 'yield' }), weight: 2 },
);

const controlOp: fc.Arbitrary<ControlOp> = fc.oneof(
  { arbitrary: fc.constant<ControlOp>({ op: 'yield' }), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 2 }).map<ControlOp>((m) => ({ op: 'sleep', ms: m })), weight: 2 },
  { arbitrary: fc.nat(7).map<ControlOp>((target) => ({ op: 'kill', target })), weight: 3 },
  { arbitrary: ms.map<ControlOp>((m) => ({ op: 'join', ms: m })), weight: 1 },
  { arbitrary: fc.boolean().map<ControlOp>((immediate) => ({ op: 'shutdown', immediate })), weight: 1 },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  kind: kindArb,
  maxsize: maxsizeArb,
  producers: fc.array(fc.array(producerOp, { maxLength: 8 }), { minLength: 1, maxLength: 3 }),
  consumers: fc.array(fc.array(consumerOp, { maxLength: 8 }), { minLength: 1, maxLength: 3 }),
  asyncConsumer: fc.option(fc.array(ms, { minLength: 1, maxLength: 6 }), { nil: null }),
  asyncProducer: fc.option(fc.array(ms, { minLength: 1, maxLength: 6 }), { nil: null }),
  control: fc.array(controlOp, { maxLength: 10 }),
});

/** What one run observed. */
interface Outcome {
  accepted: number[];
  /** Items received, per consumer (tasks, then the async consumer). */
  receivedBy: number[][];
  drained: number[];
  dropped: number[];
  entered: number;
  finallyRan: number;
}

async function play(s: Scenario, q: Queue<number>): Promise<Outcome> {
  const accepted: number[] = [];
  const receivedBy: number[][] = s.consumers.map(() => []);
  const drained: number[] = [];
  const dropped: number[] = [];
  let finallyRan = 0;
  /** Tasks whose body started: a task killed before it first runs has no finally to run. */
  let entered = 0;

  /** Runs `op`; Full, Empty and a consumer's own Timeout are outcomes, ShutDown ends the task. */
  function* producer(id: number, ops: ProducerOp[]): GreenletBody<void> {
    entered++;
    try {
      for (let seq = 0; seq < ops.length; seq++) {
        const op = ops[seq] as ProducerOp;
        const item = id * 100 + seq;
        try {
          if (op.op === 'put') {
            yield* q.put(item);
            accepted.push(item);
          } else if (op.op === 'putTimed') {
            yield* q.put(item, op.ms);
            accepted.push(item);
          } else if (op.op === 'putNowait') {
            q.putNowait(item);
            accepted.push(item);
          } else {
            yield* sleep(0);
          }
        } catch (e) {
          if (e instanceof Full) continue;
          if (e instanceof ShutDown) return;
          throw e;
        }
      }
    } finally {
      finallyRan++;
    }
  }

  function* consumer(id: number, ops: ConsumerOp[]): GreenletBody<void> {
    const received = receivedBy[id] as number[];
    const take = (item: number): void => {
      received.push(item);
      q.taskDone();
    };
    entered++;
    try {
      for (const op of ops) {
        try {
          switch (op.op) {
            case 'get':
              take(yield* q.get());
              break;
            case 'getTimed':
              take(yield* q.get(op.ms));
              break;
            case 'getUnderTimeout': {
              const t = Timeout.startNew(op.ms);
              try {
                take(yield* q.get());
              } catch (e) {
                if (e !== t) throw e;
              } finally {
                t.cancel();
              }
              break;
            }
            case 'getNowait':
              take(q.getNowait());
              break;
            case 'peek':
              yield* q.peek();
              break;
            case 'peekTimed':
              yield* q.peek(op.ms);
              break;
            case 'iterate': {
              // One step of a consumer loop: false once the queue is shut down and drained.
              const it = q.iterate();
              if (!(yield* it.next(op.ms))) return;
              take(it.value);
              break;
            }
            case 'yield':
              yield* sleep(0);
              break;
          }
        } catch (e) {
          if (e instanceof Empty) continue;
          if (e instanceof ShutDown) return;
          throw e;
        }
      }
    } finally {
      finallyRan++;
    }
  }

  const asyncReceived: number[] = [];
  const asyncConsumer = async (timeouts: number[]): Promise<void> => {
    for (const [i, timeout] of timeouts.entries()) {
      try {
        const item = await q.getAsync(i % 2 === 0 ? undefined : { timeout });
        asyncReceived.push(item);
        q.taskDone();
      } catch (e) {
        if (e instanceof Empty) continue;
        if (e instanceof ShutDown) return;
        throw e;
      }
    }
  };
  /** Puts items 900, 901, ...; every other one with a timeout. */
  const asyncProducer = async (timeouts: number[]): Promise<void> => {
    for (const [seq, timeout] of timeouts.entries()) {
      const item = 900 + seq;
      try {
        await q.putAsync(item, seq % 2 === 0 ? undefined : { timeout });
        accepted.push(item);
      } catch (e) {
        if (e instanceof Full) continue;
        if (e instanceof ShutDown) return;
        throw e;
      }
    }
  };
  const asyncDone = Promise.all([
    s.asyncConsumer === null ? undefined : asyncConsumer(s.asyncConsumer),
    s.asyncProducer === null ? undefined : asyncProducer(s.asyncProducer),
  ]);

  await run(function* () {
    const tasks: Task[] = [
      ...s.producers.map((ops, id) => spawn(producer, id, ops)),
      ...s.consumers.map((ops, id) => spawn(consumer, id, ops)),
    ];
    for (const op of s.control) {
      switch (op.op) {
        case 'yield':
          yield* sleep(0);
          break;
        case 'sleep':
          yield* sleep(op.ms);
          break;
        case 'kill': {
          const target = tasks[op.target % tasks.length] as Task;
          target.kill(undefined, { block: false });
          break;
        }
        case 'join':
          yield* q.join(op.ms);
          break;
        case 'shutdown':
          if (op.immediate) dropped.push(...q.toArray());
          q.shutdown(op.immediate);
          break;
      }
    }
    // Let the timed waits run out, release whoever still waits, then wait for everyone.
    yield* sleep(4);
    q.shutdown();
    for (const t of tasks) yield* t.join();
  });
  await asyncDone;
  for (;;) {
    try {
      drained.push(q.getNowait());
      q.taskDone();
    } catch (e) {
      expect(e).toBeInstanceOf(ShutDown);
      break;
    }
  }
  return {
    accepted,
    receivedBy: [...receivedBy, asyncReceived],
    drained,
    dropped,
    entered,
    finallyRan,
  };
}

describe('many tasks', () => {
  it('random puts, gets (from tasks and promises), timeouts, kills and shutdown lose no item, deliver none twice, keep FIFO order per producer, run every finally and leave nothing registered', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const q = makeQueue(s.kind, s.maxsize);
        const o = await play(s, q);

        const delivered = [...o.receivedBy.flat(), ...o.drained, ...o.dropped];
        expect(new Set(delivered).size).toBe(delivered.length); // nothing twice
        expect([...delivered].sort((a, b) => a - b)).toEqual([...o.accepted].sort((a, b) => a - b)); // nothing lost or invented

        if (s.kind === 'fifo') {
          // Items of one producer leave in the order it put them.
          for (const seen of [...o.receivedBy, o.drained]) {
            const lastSeq = new Map<number, number>();
            for (const item of seen) {
              const producer = Math.floor(item / 100);
              expect(item % 100).toBeGreaterThan(lastSeq.get(producer) ?? -1);
              lastSeq.set(producer, item % 100);
            }
          }
        }

        expect(o.finallyRan).toBe(o.entered);
        expect(q.unfinishedTasks).toBe(0);
        expectNoWaiters(q);
        expect(getHub().timers.size).toBe(0);
      }),
      { seed: SEED, numRuns: 150 },
    );
  }, 60_000);

  it('a queue of one between one producer and one consumer, with kills of the consumer, delivers each accepted item exactly once in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(40), { maxLength: 5 }),
        async (count, killSteps) => {
          const q = new Queue<number>(1);
          const received: number[] = [];
          let finallies = 0;
          let entered = 0;
          await run(function* () {
            const producer = spawn(function* () {
              try {
                for (let i = 0; i < count; i++) yield* q.put(i);
              } catch (e) {
                if (!(e instanceof ShutDown)) throw e;
              }
            });
            let consumer: Task | null = null;
            const startConsumer = (): Task =>
              spawn(function* () {
                entered++;
                try {
                  for (;;) received.push(yield* q.get());
                } catch (e) {
                  if (!(e instanceof ShutDown)) throw e;
                } finally {
                  finallies++;
                }
              });
            consumer = startConsumer();
            for (let step = 0; step <= 40 && !producer.ready(); step++) {
              if (killSteps.includes(step)) {
                consumer.kill(undefined, { block: false });
                yield* consumer.join();
                consumer = startConsumer();
              }
              yield* sleep(0);
            }
            yield* producer.join();
            q.shutdown();
            yield* consumer.join();
            expect(finallies).toBe(entered);
          });
          expect(received).toEqual([...Array(count).keys()]);
          expectNoWaiters(q);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  }, 60_000);
});
