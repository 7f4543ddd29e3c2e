/**
 * Property tests of Channel and select: random scripts of send / recv / recvOk /
 * iterator next / trySend / tryRecv / select (blocking, default, timeout) run by a few
 * tasks over a few channels of random capacities, beside async functions receiving with
 * `for await`, while a controller task interleaves
 * hub passes, pauses of 2 ms (so that timeouts strike), kills and closes, and some tasks
 * run under an outer Timeout. Whatever the
 * interleaving:
 * - every value whose send completed is received exactly once or is still buffered at
 *   the end, and no other value is ever received (no loss, no duplicate);
 * - each receiver gets the values of one sender on one channel in the order they were
 *   sent, and what is left buffered comes after everything received (FIFO);
 * - every task ends, and every task that started ran its `finally`, however it ended
 *   (done, killed, timed out);
 * - nothing stays registered: no sender or receiver waits on any channel, no timer is
 *   left in the hub.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { GreenletExit, Timeout, getHub, joinall, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { Channel, ChannelClosed, ChannelTimeout } from '../../src/sync/channel.js';
import { recvCase, seedSelectRandom, select, sendCase, type RecvCase, type SendCase } from '../../src/sync/select.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

type Op =
  | { kind: 'send'; ch: number; timeout: number | undefined }
  | { kind: 'recv'; ch: number; flavor: 'recv' | 'recvOk' | 'iterate'; timeout: number | undefined }
  | { kind: 'trySend'; ch: number }
  | { kind: 'tryRecv'; ch: number }
  | { kind: 'select'; cases: { ch: number; send: boolean }[]; mode: 'block' | 'default' | 'timeout' }
  | { kind: 'yield' };

type Control = { kind: 'step' } | { kind: 'wait' } | { kind: 'kill'; task: number } | { kind: 'close'; ch: number };

interface Scenario {
  capacities: number[];
  tasks: { ops: Op[]; outerTimeout: number | undefined }[];
  control: Control[];
  /** Plain async functions receiving with `for await`, each breaking after `limit` values. */
  asyncConsumers: { ch: number; limit: number }[];
  seed: number;
}

function scenarioArb(channels: number, maxTasks: number): fc.Arbitrary<Scenario> {
  const ch = fc.integer({ min: 0, max: channels - 1 });
  // Mostly untimed waits; timed ones use 0 or 1 ms, so that some strike and some do not.
  const timeout = fc.constantFrom(undefined, undefined, undefined, 0, 1);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), ch, timeout }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('recv' as const),
        ch,
        flavor: fc.constantFrom('recv' as const, 'recvOk' as const, 'iterate' as const),
        timeout,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('trySend' as const), ch }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tryRecv' as const), ch }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('select' as const),
        cases: fc.array(fc.record({ ch, send: fc.boolean() }), { minLength: 1, maxLength: 3 }),
        mode: fc.constantFrom('block' as const, 'block' as const, 'default' as const, 'timeout' as const),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'yield' as const }) },
  );
  const task = fc.record({
    ops: fc.array(op, { minLength: 1, maxLength: 8 }),
    outerTimeout: fc.constantFrom(undefined, undefined, undefined, 1, 2),
  });
  const control: fc.Arbitrary<Control> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'step' as const }) },
    // Let real time pass, so that the 0 and 1 ms timeouts of blocked tasks strike.
    { weight: 1, arbitrary: fc.constant({ kind: 'wait' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), task: fc.nat({ max: maxTasks - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), ch }) },
  );
  return fc.record({
    capacities: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: channels, maxLength: channels }),
    tasks: fc.array(task, { minLength: 2, maxLength: maxTasks }),
    control: fc.array(control, { maxLength: 12 }),
    asyncConsumers: fc.array(fc.record({ ch, limit: fc.integer({ min: 1, max: 4 }) }), { maxLength: 2 }),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  });
}

/**
 * A value names its sender and its place in that sender's script: task * 1000 + op * 10
 * (+ the case's position for a select send case), so a sender's values grow.
 */
const senderOf = (v: number): number => Math.floor(v / 1000);

interface Outcome {
  sent: Map<number, number>; // value → channel, for every send that completed
  received: { value: number; ch: number; by: number }[];
  leftover: { value: number; ch: number }[];
  started: boolean[];
  finallyRan: boolean[];
  unexpected: unknown[];
  tasks: Task[];
  channels: Channel<number>[];
}

async function play(scenario: Scenario): Promise<Outcome> {
  seedSelectRandom(scenario.seed);
  const channels = scenario.capacities.map((c) => new Channel<number>(c));
  const sent = new Map<number, number>();
  const received: Outcome['received'] = [];
  const started = scenario.tasks.map(() => false);
  const finallyRan = scenario.tasks.map(() => false);
  const unexpected: unknown[] = [];
  const tasks: Task[] = [];

  function* perform(me: number, op: Op, seq: number): GreenletBody<void> {
    const got = (value: number | undefined, ch: number): void => {
      received.push({ value: value as number, ch, by: me });
    };
    switch (op.kind) {
      case 'send': {
        const value = me * 1000 + seq * 10;
        yield* channels[op.ch]!.send(value, op.timeout);
        sent.set(value, op.ch);
        break;
      }
      case 'recv': {
        const ch = channels[op.ch]!;
        if (op.flavor === 'recv') {
          // Values are never undefined here, so undefined means closed.
          const v = yield* ch.recv(op.timeout);
          if (v !== undefined) got(v, op.ch);
        } else if (op.flavor === 'recvOk') {
          const [v, ok] = yield* ch.recvOk(op.timeout);
          if (ok) got(v, op.ch);
        } else {
          const it = ch.iterate();
          if (yield* it.next(op.timeout)) got(it.value, op.ch);
        }
        break;
      }
      case 'trySend': {
        const value = me * 1000 + seq * 10;
        if (channels[op.ch]!.trySend(value)) sent.set(value, op.ch);
        break;
      }
      case 'tryRecv': {
        const [v, ok] = channels[op.ch]!.tryRecv();
        if (ok) got(v, op.ch);
        break;
      }
      case 'select': {
        const cases: (RecvCase<number> | SendCase<number>)[] = op.cases.map((c, i) =>
          c.send ? sendCase(channels[c.ch]!, me * 1000 + seq * 10 + i) : recvCase(channels[c.ch]!),
        );
        const options = op.mode === 'default' ? { default: true } : op.mode === 'timeout' ? { timeout: 1 } : {};
        const r = yield* select(cases, options);
        if (r.index === -1) break;
        const fired = cases[r.index]!;
        const ch = op.cases[r.index]!.ch;
        if (fired.kind === 'send') sent.set(fired.value, ch);
        else if (r.ok) got(r.value, ch);
        break;
      }
      case 'yield':
        yield* sleep(0);
        break;
    }
  }

  function* script(me: number, ops: Op[], outerMs: number | undefined): GreenletBody<void> {
    started[me] = true;
    const outer = outerMs === undefined ? null : Timeout.startNew(outerMs);
    try {
      for (let seq = 0; seq < ops.length; seq++) {
        try {
          yield* perform(me, ops[seq]!, seq);
        } catch (error) {
          if (error instanceof ChannelTimeout || error instanceof ChannelClosed) continue;
          throw error;
        }
      }
    } catch (error) {
      if (error !== outer && !(error instanceof GreenletExit)) unexpected.push(error);
      if (error instanceof GreenletExit) throw error;
    } finally {
      outer?.cancel();
      finallyRan[me] = true;
    }
  }

  // Async consumers start first: their pending steps queue up with the task receivers.
  const consumers = scenario.asyncConsumers.map(async ({ ch, limit }, k) => {
    let n = 0;
    for await (const value of channels[ch]!) {
      received.push({ value, ch, by: 100 + k });
      if (++n === limit) break;
    }
  });

  await run(function* () {
    scenario.tasks.forEach((t, i) => tasks.push(spawn(script, i, t.ops, t.outerTimeout)));
    for (const action of scenario.control) {
      if (action.kind === 'step') yield* sleep(0);
      else if (action.kind === 'wait') yield* sleep(2);
      else if (action.kind === 'kill') tasks[action.task % tasks.length]!.kill(undefined, { block: false });
      else if (!channels[action.ch]!.closed) channels[action.ch]!.close();
    }
    // The end: closing every channel releases every wait, so every script finishes.
    for (const ch of channels) if (!ch.closed) ch.close();
    yield* joinall(tasks, { timeout: 2000 });
  });
  await Promise.all(consumers);

  const leftover: Outcome['leftover'] = [];
  channels.forEach((ch, i) => {
    for (let r = ch.tryRecv(); r[1]; r = ch.tryRecv()) leftover.push({ value: r[0], ch: i });
  });
  return { sent, received, leftover, started, finallyRan, unexpected, tasks, channels };
}

function check(outcome: Outcome): void {
  const { sent, received, leftover, started, finallyRan, unexpected, tasks, channels } = outcome;
  expect(unexpected).toEqual([]);

  // Every task ended, and every task that started ran its finally (a task killed before
  // it starts never runs, as in greenlet).
  expect(tasks.every((t) => t.ready())).toBe(true);
  expect(finallyRan).toEqual(started);

  // Nothing is registered anywhere.
  for (const ch of channels) expect([ch.sendWaiting, ch.recvWaiting]).toEqual([0, 0]);

  // No loss, no duplicate, nothing that was not sent: every completed send is received
  // once or still buffered, on the channel it was sent on.
  const delivered = [...received, ...leftover];
  const values = delivered.map((d) => d.value);
  expect(new Set(values).size).toBe(values.length);
  expect(new Map(delivered.map((d) => [d.value, d.ch]))).toEqual(sent);

  // FIFO: per receiver, channel and sender, values come in the order they were sent...
  const lastSeen = new Map<string, number>();
  for (const { value, ch, by } of received) {
    const key = `${by}/${ch}/${senderOf(value)}`;
    expect(value).toBeGreaterThan(lastSeen.get(key) ?? -1);
    lastSeen.set(key, value);
  }
  // ...and what is left in a buffer was sent after everything received from it.
  for (const { value, ch } of leftover) {
    for (const r of received) {
      if (r.ch === ch && senderOf(r.value) === senderOf(value)) expect(r.value).toBeLessThan(value);
    }
  }
}

describe('channels and select under random interleavings', () => {
  it('lose no value, duplicate none, keep FIFO order, and leave nothing registered', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb(3, 4), async (scenario) => {
        check(await play(scenario));
      }),
      { numRuns: 150 },
    );
  });

  it('hold the same with many tasks contending on two unbuffered channels', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb(2, 6).map((s) => ({ ...s, capacities: s.capacities.map(() => 0) })),
        async (scenario) => {
          check(await play(scenario));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('killing any of the blocked senders or receivers keeps the others in arrival order', async () => {
    // Exercises taking waiters out of the middle of a wait queue, and its growth.
    const arb = fc.record({
      count: fc.integer({ min: 1, max: 14 }),
      kills: fc.array(fc.nat({ max: 13 }), { maxLength: 14 }),
      receiving: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ count, kills, receiving }) => {
        const ch = new Channel<number>();
        const got = await run(function* () {
          const received: number[] = [];
          const waiters = Array.from({ length: count }, (_, i) =>
            receiving
              ? spawn(function* () {
                  const v = yield* ch.recv();
                  received.push(i * 100 + (v as number));
                })
              : spawn(function* () {
                  yield* ch.send(i);
                }),
          );
          yield* sleep(0);
          const killed = new Set(kills.filter((k) => k < count));
          for (const k of kills) if (k < count) yield* waiters[k]!.kill();
          const alive = [...Array(count).keys()].filter((i) => !killed.has(i));
          expect(receiving ? ch.recvWaiting : ch.sendWaiting).toBe(alive.length);
          const order: number[] = [];
          for (let n = 0; n < alive.length; n++) {
            if (receiving) yield* ch.send(n);
            else order.push((yield* ch.recv()) as number);
          }
          yield* joinall(waiters);
          // A receiver i that got the n-th value recorded i * 100 + n.
          return receiving ? received.map((r) => Math.floor(r / 100)) : order;
        });
        const alive = [...Array(count).keys()].filter((i) => !kills.includes(i));
        expect(got).toEqual(alive);
        expect([ch.sendWaiting, ch.recvWaiting]).toEqual([0, 0]);
      }),
      { numRuns: 150 },
    );
  });
});
