/**
 * select over channels: Go's `select` statement (src/runtime/select.go): ready cases,
 * `default`, timeout, send and receive cases, closed channels, the random choice among
 * ready cases, and the cleanup of a parked select when a case fires, when it times out
 * and when its task is killed. gevent has no select; none of these come from its tests.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BlockingError, GreenletExit, Timeout, getHub, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { Channel, ChannelClosed } from '../../src/sync/channel.js';
import { SELECT_NONE, recvCase, seedSelectRandom, select, sendCase } from '../../src/sync/select.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

function* sendTo<T>(ch: Channel<T>, value: T): GreenletBody<void> {
  yield* ch.send(value);
}

function* recvFrom<T>(ch: Channel<T>): GreenletBody<T | undefined> {
  return yield* ch.recv();
}

/** Nothing waits on any of the channels. */
function expectIdle(...channels: Channel<unknown>[]): void {
  for (const ch of channels) {
    expect([ch.sendWaiting, ch.recvWaiting]).toEqual([0, 0]);
  }
}

describe('ready cases', () => {
  it('a receive case with a buffered value fires at once with its index, value and ok', async () => {
    const a = new Channel<string>(1);
    const b = new Channel<number>(1);
    const r = await run(function* () {
      yield* b.send(5);
      const r = yield* select([recvCase(a), recvCase(b)]);
      return { index: r.index, value: r.value, ok: r.ok };
    });
    expect(r).toEqual({ index: 1, value: 5, ok: true });
    expect(b.length).toBe(0);
  });

  it('a send case fires at once when a receiver waits, handing it the value', async () => {
    const a = new Channel<number>();
    const result = await run(function* () {
      const receiver = spawn(recvFrom, a);
      yield* sleep(0);
      const r = yield* select([sendCase(a, 42)]);
      return [r.index, r.ok, yield* receiver.get()];
    });
    expect(result).toEqual([0, true, 42]);
    expectIdle(a);
  });

  it('a receive case takes the value of a waiting sender and wakes it', async () => {
    const a = new Channel<string>();
    const result = await run(function* () {
      const sender = spawn(function* () {
        yield* a.send('x');
        return 'sender woke';
      });
      yield* sleep(0);
      const r = yield* select([recvCase(a)]);
      return [r.value, yield* sender.get()];
    });
    expect(result).toEqual(['x', 'sender woke']);
  });

  it('a receive case on a closed, drained channel is ready with ok false', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    a.close();
    const r = await run(function* () {
      const r = yield* select([recvCase(a), recvCase(b)]);
      return { index: r.index, value: r.value, ok: r.ok };
    });
    expect(r).toEqual({ index: 0, value: undefined, ok: false });
    expectIdle(a, b);
  });

  it('a send case on a closed channel raises ChannelClosed when chosen', async () => {
    const a = new Channel<number>();
    a.close();
    const error = await run(function* () {
      try {
        yield* select([sendCase(a, 1)]);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(ChannelClosed);
  });

  it("with order 'listed' picks the first ready case", async () => {
    const chans = [new Channel<number>(1), new Channel<number>(1), new Channel<number>(1)];
    const indexes = await run(function* () {
      const seen: number[] = [];
      for (let i = 0; i < 20; i++) {
        for (const ch of chans) if (ch.length === 0) yield* ch.send(i);
        const r = yield* select([recvCase(chans[0]!), recvCase(chans[1]!), recvCase(chans[2]!)], { order: 'listed' });
        seen.push(r.index);
      }
      return seen;
    });
    expect(new Set(indexes)).toEqual(new Set([0]));
  });

  it('chooses among ready cases uniformly at random (loose check, fixed seed)', async () => {
    seedSelectRandom(12345);
    const chans = [new Channel<number>(1), new Channel<number>(1), new Channel<number>(1)];
    const counts = await run(function* () {
      const counts = [0, 0, 0];
      const cases = chans.map((ch) => recvCase(ch));
      for (let i = 0; i < 3000; i++) {
        for (const ch of chans) if (ch.length === 0) yield* ch.send(i);
        const r = yield* select(cases);
        counts[r.index]!++;
      }
      return counts;
    });
    // Expected 1000 each; a fair choice lands within ±10% with overwhelming probability.
    for (const c of counts) expect(c).toBeGreaterThan(900), expect(c).toBeLessThan(1100);
  });

  it('picks the same sequence again after the same seed', async () => {
    const chans = [new Channel<number>(1), new Channel<number>(1)];
    const sequence = (): Promise<number[]> =>
      run(function* () {
        const seen: number[] = [];
        for (let i = 0; i < 50; i++) {
          for (const ch of chans) if (ch.length === 0) yield* ch.send(i);
          seen.push((yield* select([recvCase(chans[0]!), recvCase(chans[1]!)])).index);
        }
        for (const ch of chans) ch.tryRecv();
        return seen;
      });
    seedSelectRandom(7);
    const first = await sequence();
    seedSelectRandom(7);
    expect(await sequence()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([0, 1]));
  });
});

describe('default and timeout', () => {
  it('default evaluates to SELECT_NONE at once when no case is ready, and registers nothing', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const r = await run(function* () {
      return yield* select([recvCase(a), sendCase(b, 1)], { default: true });
    });
    expect(r).toBe(SELECT_NONE);
    expect(r).toEqual({ index: -1, value: undefined, ok: false });
    expectIdle(a, b);
  });

  it('default does not hide a ready case', async () => {
    const a = new Channel<number>(1);
    a.trySend(3);
    const r = await run(function* () {
      const r = yield* select([recvCase(a)], { default: true });
      return [r.index, r.value];
    });
    expect(r).toEqual([0, 3]);
  });

  it('a timeout evaluates to SELECT_NONE when no case fires in time, and takes every case out of its channel', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(0);
    const r = await run(function* () {
      return yield* select([recvCase(a), sendCase(b, 1)], { timeout: 5 });
    });
    expect(r).toBe(SELECT_NONE);
    expectIdle(a, b);
  });

  it('a case that fires before the timeout cancels the timer', async () => {
    const a = new Channel<number>();
    const r = await run(function* () {
      spawn(sendTo, a, 8);
      const r = yield* select([recvCase(a)], { timeout: 10_000 });
      return [r.index, r.value];
    });
    expect(r).toEqual([0, 8]);
  });

  it('with no cases and a timeout only waits', async () => {
    const r = await run(function* () {
      return yield* select([], { timeout: 1 });
    });
    expect(r).toBe(SELECT_NONE);
  });

  it('with no cases and no timeout waits until killed (Go: select {})', async () => {
    const log: string[] = [];
    await run(function* () {
      const forever = spawn(function* () {
        try {
          yield* select([]);
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      expect(getHub().blockedTasks().find((b) => b.name === forever.name)?.waitingOn).toBe('select() with no cases');
      yield* forever.kill();
    });
    expect(log).toEqual(['finally']);
  });
});

describe('a parked select', () => {
  it('is woken by the first channel that gets a value, and leaves all the others', async () => {
    const a = new Channel<string>();
    const b = new Channel<string>();
    const c = new Channel<string>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        const r = yield* select([recvCase(a), recvCase(b), recvCase(c)]);
        return [r.index, r.value];
      });
      yield* sleep(0);
      expect([a.recvWaiting, b.recvWaiting, c.recvWaiting]).toEqual([1, 1, 1]);
      yield* b.send('via b');
      expect([a.recvWaiting, b.recvWaiting, c.recvWaiting]).toEqual([0, 0, 0]);
      return yield* selector.get();
    });
    expect(result).toEqual([1, 'via b']);
  });

  it('takes exactly one value: a second send on another of its channels waits for a real receiver', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        return (yield* select([recvCase(a), recvCase(b)])).value;
      });
      yield* sleep(0);
      yield* a.send(1);
      const second = spawn(sendTo, b, 2);
      yield* sleep(0);
      expect(b.sendWaiting).toBe(1);
      const fromB = yield* b.recv();
      yield* second.join();
      return [yield* selector.get(), fromB];
    });
    expect(result).toEqual([1, 2]);
    expectIdle(a, b);
  });

  it('fires a send case when a receiver arrives, and only that case', async () => {
    const out = new Channel<string>();
    const other = new Channel<string>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        const r = yield* select([recvCase(other), sendCase(out, 'offered')]);
        return [r.index, r.value];
      });
      yield* sleep(0);
      expect(out.sendWaiting).toBe(1);
      const got = yield* out.recv();
      return [got, yield* selector.get()];
    });
    expect(result).toEqual(['offered', [1, 'offered']]);
    expectIdle(out, other);
  });

  it('with a send and a receive on the same channel does not meet itself; another task takes one side', async () => {
    const ch = new Channel<string>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        const r = yield* select([recvCase(ch), sendCase(ch, 'mine')]);
        return [r.index, r.value];
      });
      yield* sleep(0);
      expect([ch.sendWaiting, ch.recvWaiting]).toEqual([1, 1]);
      const got = yield* ch.recv();
      return [got, yield* selector.get()];
    });
    expect(result).toEqual(['mine', [1, 'mine']]);
    expectIdle(ch);
  });

  it('is woken with ok false when a channel of a receive case closes', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        const r = yield* select([recvCase(a), recvCase(b)]);
        return [r.index, r.value, r.ok];
      });
      yield* sleep(0);
      b.close();
      return yield* selector.get();
    });
    expect(result).toEqual([1, undefined, false]);
    expectIdle(a, b);
  });

  it('raises ChannelClosed when the channel of a send case closes, and leaves its other channels', async () => {
    const a = new Channel<number>();
    const out = new Channel<number>();
    const result = await run(function* () {
      const selector = spawn(function* () {
        try {
          yield* select([recvCase(a), sendCase(out, 1)]);
          return 'fired';
        } catch (e) {
          return e instanceof ChannelClosed ? 'ChannelClosed' : e;
        }
      });
      yield* sleep(0);
      out.close();
      return yield* selector.get();
    });
    expect(result).toBe('ChannelClosed');
    expectIdle(a, out);
  });

  it('handed a value and killed before it runs still gets the value first', async () => {
    const a = new Channel<string>();
    const b = new Channel<string>();
    const log: string[] = [];
    await run(function* () {
      const selector = spawn(function* () {
        try {
          const r = yield* select([recvCase(a), recvCase(b)]);
          log.push(`got ${String(r.value)}`);
          yield* sleep(0); // the kill strikes here
          log.push('not reached');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* a.send('precious');
      yield* selector.kill();
    });
    expect(log).toEqual(['got precious', 'finally']);
    expectIdle(a, b);
  });

  it('is reported with all its cases', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(2);
    await run(function* () {
      const selector = spawn(function* () {
        yield* select([recvCase(a), null, sendCase(b, 1)]);
      });
      yield* b.send(0);
      yield* b.send(0);
      yield* sleep(0);
      expect(getHub().blockedTasks().find((t) => t.name === selector.name)?.waitingOn).toBe(
        'select(recv on Channel(unbuffered, 1 receiver waiting), send on Channel(capacity 2, 2 buffered, 1 sender waiting))',
      );
      yield* selector.kill();
    });
  });
});

describe('cleanup', () => {
  it('killing a parked select takes every case out of its channel and runs its finally', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    const log: string[] = [];
    await run(function* () {
      yield* b.send(0);
      const selector = spawn(function* () {
        try {
          yield* select([recvCase(a), sendCase(b, 1), recvCase(a)]);
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      expect([a.recvWaiting, b.sendWaiting]).toEqual([2, 1]);
      yield* selector.kill();
      expect(selector.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally']);
    expectIdle(a, b);
    expect(b.tryRecv()).toEqual([0, true]);
    expect(b.tryRecv()).toEqual([undefined, false]);
  });

  it('an outer Timeout striking a parked select takes every case out of its channel', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const same = await run(function* () {
      const timeout = Timeout.startNew(5);
      try {
        yield* select([recvCase(a), sendCase(b, 1)]);
      } catch (e) {
        return e === timeout;
      } finally {
        timeout.cancel();
      }
      return false;
    });
    expect(same).toBe(true);
    expectIdle(a, b);
  });

  it('a kill that came while the task was busy strikes when the select parks, with nothing left registered', async () => {
    const first = new Channel<string>();
    const a = new Channel<number>();
    const log: string[] = [];
    await run(function* () {
      const selector = spawn(function* () {
        try {
          log.push(`got ${String(yield* first.recv())}`);
          yield* select([recvCase(a), sendCase(a, 1)]); // the kill strikes here
          log.push('not reached');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* first.send('value'); // the selector is now ready, with the value in hand
      selector.kill(undefined, { block: false });
      yield* selector.join();
    });
    expect(log).toEqual(['got value', 'finally']);
    expectIdle(first, a);
  });
});

describe('cases', () => {
  it('null and undefined cases are disabled and keep the positions of the others', async () => {
    const a = new Channel<number>(1);
    a.trySend(1);
    const r = await run(function* () {
      const r = yield* select([null, undefined, recvCase(a)]);
      return [r.index, r.value];
    });
    expect(r).toEqual([2, 1]);
  });

  it('can be reused by later selects, which then allocate nothing', async () => {
    const a = new Channel<number>();
    const quit = new Channel<void>();
    const got = await run(function* () {
      const consumer = spawn(function* () {
        const values: number[] = [];
        const cases = [recvCase(a), recvCase(quit)] as const;
        for (;;) {
          const r = yield* select(cases);
          if (r.index === 1) return values;
          if (r.ok) values.push(r.value);
        }
      });
      for (const n of [1, 2, 3]) yield* a.send(n);
      quit.close();
      return yield* consumer.get();
    });
    expect(got).toEqual([1, 2, 3]);
    expectIdle(a, quit);
  });

  it('a case record cannot serve two selects at once', async () => {
    const a = new Channel<number>();
    const shared = recvCase(a);
    const error = await run(function* () {
      const first = spawn(function* () {
        yield* select([shared]);
      });
      yield* sleep(0);
      try {
        yield* select([shared], { default: true });
      } catch (e) {
        return e;
      } finally {
        yield* first.kill();
      }
      return null;
    });
    expect((error as Error).message).toMatch(/belongs to a select that is waiting in another task/);
    expectIdle(a);
  });

  it('the same case record twice in one select is refused, leaving nothing registered', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const twice = recvCase(a);
    const error = await run(function* () {
      try {
        yield* select([twice, recvCase(b), twice]);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect((error as Error).message).toMatch(/same case record twice \(at position 2/);
    expectIdle(a, b);
    // The record is free again.
    a.close();
    const r = await run(function* () {
      return (yield* select([twice])).index;
    });
    expect(r).toBe(0);
  });

  it('select in the main greenlet throws a BlockingError', () => {
    expect(() => select([recvCase(new Channel<number>())])).toThrow(BlockingError);
  });

  it('types the result by position, then by ok', async () => {
    const nums = new Channel<number>(1);
    const strs = new Channel<string>(1);
    nums.trySend(1);
    await run(function* () {
      const r = yield* select([recvCase(nums), sendCase(strs, 'x')], { timeout: 10 });
      if (r.index === 0) {
        if (r.ok) expectTypeOf(r.value).toEqualTypeOf<number>();
        else expectTypeOf(r.value).toEqualTypeOf<undefined>();
      } else if (r.index === 1) {
        expectTypeOf(r.value).toEqualTypeOf<string>();
      } else {
        expectTypeOf(r.index).toEqualTypeOf<-1>();
      }
      nums.trySend(2);
      const plain = yield* select([recvCase(nums)]);
      expectTypeOf(plain.index).toEqualTypeOf<0>();
      strs.tryRecv();
    });
  });
});
