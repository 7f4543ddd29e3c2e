/**
 * Channel: Go's channel semantics (unbuffered rendezvous, buffered FIFO, close, non-
 * blocking operations), timeouts, kills, and iteration. Behaviours from gevent's
 * src/gevent/tests/test__queue.py (TestChannel, the UsesOnlyOneItemMixin it runs, and
 * TestGetInterruptChannel / TestPutInterruptChannel) are cited per test; the rest pin down
 * the Go semantics of src/runtime/chan.go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BlockingError, GreenletExit, Timeout, getHub, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import {
  Channel,
  ChannelAlreadyClosed,
  ChannelClosed,
  ChannelTimeout,
  type RecvResult,
} from '../../src/sync/channel.js';

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

describe('a new channel', () => {
  it('is unbuffered by default, open and empty', () => {
    const ch = new Channel<number>();
    expect([ch.capacity, ch.length, ch.closed, ch.sendWaiting, ch.recvWaiting]).toEqual([0, 0, false, 0, 0]);
    expect(String(ch)).toBe('Channel(unbuffered)');
  });

  it('refuses a capacity that is negative or not a whole number', () => {
    expect(() => new Channel(-1)).toThrow(RangeError);
    expect(() => new Channel(1.5)).toThrow(/whole number >= 0/);
    expect(() => new Channel(Number.NaN)).toThrow(RangeError);
    expect(new Channel(Infinity).capacity).toBe(Infinity);
  });

  it('refuses to block in the main greenlet, naming the operation', () => {
    const ch = new Channel<number>();
    expect(() => ch.send(1)).toThrow(BlockingError);
    expect(() => ch.recv()).toThrow(/channel\.recv\(\).*only a task can block/);
  });
});

describe('an unbuffered channel', () => {
  it('blocks a sender until a receiver takes the value (gevent: test__queue.py::TestChannel::test_zero_max_size)', async () => {
    const ch = new Channel<string>();
    const log: string[] = [];
    await run(function* () {
      const sender = spawn(function* () {
        yield* ch.send('hi');
        log.push('sent');
      });
      yield* sleep(0);
      expect(sender.ready()).toBe(false);
      expect(ch.sendWaiting).toBe(1);
      const receiver = spawn(function* () {
        log.push(`received ${String(yield* ch.recv())}`);
      });
      yield* receiver.join();
      yield* sender.join();
    });
    expect(log).toEqual(['received hi', 'sent']);
    expectIdle(ch);
  });

  it('hands a value to a waiting receiver and lets the sender go on; the receiver runs when the sender blocks (departs from gevent: test__queue.py::TestChannel::test_send)', async () => {
    // gevent's put() switches to the receiver before it returns, giving
    // ['sending', 'hello', 'sent hello', 'world', 'sent world']; here, as in Go, a send
    // to a waiting receiver completes at once and the receiver runs in the same pass.
    const ch = new Channel<string>();
    const events: string[] = [];
    await run(function* () {
      const other = spawn(function* () {
        events.push(String(yield* ch.recv()));
        events.push(String(yield* ch.recv()));
      });
      events.push('sending');
      yield* ch.send('hello');
      events.push('sent hello');
      yield* ch.send('world');
      events.push('sent world');
      yield* other.join();
    });
    expect(events).toEqual(['sending', 'hello', 'sent hello', 'sent world', 'world']);
  });

  it('takes the value of a waiting sender and wakes it (gevent: test__queue.py::TestChannel::test_wait)', async () => {
    // gevent's order is ['waiting', 'sending hello', 'hello', 'sending world', 'world',
    // 'sent world']: there a put waits until the receiver has run. Here the put to a
    // waiting receiver returns first, and the receiver runs when the sender blocks.
    const ch = new Channel<string>();
    const events: string[] = [];
    await run(function* () {
      const other = spawn(function* () {
        events.push('sending hello');
        yield* ch.send('hello');
        events.push('sending world');
        yield* ch.send('world');
        events.push('sent world');
      });
      events.push('waiting');
      events.push(String(yield* ch.recv()));
      events.push(String(yield* ch.recv()));
      yield* other.join();
    });
    expect(events).toEqual(['waiting', 'sending hello', 'sending world', 'hello', 'world', 'sent world']);
  });

  it('delivers to a receiver that waits under a Timeout (gevent: test__queue.py::TestChannel::test_send_last)', async () => {
    const ch = new Channel<string>();
    const result = await run(function* () {
      const waiter = spawn(function* () {
        const timeout = Timeout.startNew(1000);
        try {
          return yield* ch.recv();
        } finally {
          timeout.cancel();
        }
      });
      yield* sleep(0);
      yield* ch.send('hi2');
      return yield* waiter.get();
    });
    expect(result).toBe('hi2');
  });

  it('serves blocked senders in the order they arrived', async () => {
    const ch = new Channel<number>();
    const received = await run(function* () {
      for (const n of [1, 2, 3]) spawn(sendTo, ch, n);
      yield* sleep(0);
      expect(ch.sendWaiting).toBe(3);
      return [yield* ch.recv(), yield* ch.recv(), yield* ch.recv()];
    });
    expect(received).toEqual([1, 2, 3]);
    expectIdle(ch);
  });

  it('serves blocked receivers in the order they arrived', async () => {
    const ch = new Channel<string>();
    const got: string[] = [];
    await run(function* () {
      const receivers = ['a', 'b', 'c'].map((name) =>
        spawn(function* () {
          got.push(`${name}:${String(yield* ch.recv())}`);
        }),
      );
      yield* sleep(0);
      expect(ch.recvWaiting).toBe(3);
      for (const v of ['1', '2', '3']) yield* ch.send(v);
      for (const r of receivers) yield* r.join();
    });
    expect(got).toEqual(['a:1', 'b:2', 'c:3']);
  });

  it('never buffers: length stays 0 while a sender waits', async () => {
    const ch = new Channel<number>();
    await run(function* () {
      const sender = spawn(sendTo, ch, 7);
      yield* sleep(0);
      expect([ch.length, ch.sendWaiting]).toEqual([0, 1]);
      expect(yield* ch.recv()).toBe(7);
      yield* sender.join();
    });
  });
});

describe('a buffered channel', () => {
  it('takes sends without a receiver until it is full, and gives values back in FIFO order', async () => {
    const ch = new Channel<number>(3);
    const received = await run(function* () {
      for (const n of [1, 2, 3]) yield* ch.send(n);
      expect(ch.length).toBe(3);
      return [yield* ch.recv(), yield* ch.recv(), yield* ch.recv()];
    });
    expect(received).toEqual([1, 2, 3]);
    expect(ch.length).toBe(0);
  });

  it('blocks a sender when full; a receive moves that sender\'s value into the buffer behind the others', async () => {
    const ch = new Channel<number>(2);
    const log: string[] = [];
    await run(function* () {
      yield* ch.send(1);
      yield* ch.send(2);
      const sender = spawn(function* () {
        yield* ch.send(3);
        log.push('3 sent');
      });
      yield* sleep(0);
      expect([ch.length, ch.sendWaiting]).toEqual([2, 1]);
      expect(yield* ch.recv()).toBe(1);
      expect([ch.length, ch.sendWaiting]).toEqual([2, 0]);
      yield* sender.join();
      log.push(`then ${String(yield* ch.recv())} ${String(yield* ch.recv())}`);
    });
    expect(log).toEqual(['3 sent', 'then 2 3']);
  });

  it('hands a value straight to a waiting receiver, without buffering it', async () => {
    const ch = new Channel<string>(5);
    const got = await run(function* () {
      const receiver = spawn(recvFrom, ch);
      yield* sleep(0);
      yield* ch.send('direct');
      expect(ch.length).toBe(0);
      return yield* receiver.get();
    });
    expect(got).toBe('direct');
  });

  it('with capacity Infinity never blocks a sender', async () => {
    const ch = new Channel<number>(Infinity);
    const length = await run(function* () {
      for (let i = 0; i < 1000; i++) yield* ch.send(i);
      return ch.length;
    });
    expect(length).toBe(1000);
    expect(ch.tryRecv()).toEqual([0, true]);
  });
});

describe('close()', () => {
  it('lets receivers drain the buffer, then gives them undefined, and [undefined, false] with recvOk', async () => {
    const ch = new Channel<string>(2);
    const got = await run(function* () {
      yield* ch.send('a');
      yield* ch.send('b');
      ch.close();
      const results: unknown[] = [yield* ch.recv(), yield* ch.recvOk(), yield* ch.recv(), yield* ch.recvOk()];
      return results;
    });
    expect(got).toEqual(['a', ['b', true], undefined, [undefined, false]]);
    expect(ch.closed).toBe(true);
  });

  it('wakes every blocked receiver with "done"', async () => {
    const ch = new Channel<number>();
    const results = await run(function* () {
      const plain = spawn(function* () {
        return yield* ch.recv();
      });
      const withOk = spawn(function* () {
        return yield* ch.recvOk();
      });
      yield* sleep(0);
      expect(ch.recvWaiting).toBe(2);
      ch.close();
      expect(ch.recvWaiting).toBe(0);
      return [yield* plain.get(), yield* withOk.get()];
    });
    expect(results).toEqual([undefined, [undefined, false]]);
  });

  it('makes every blocked sender raise ChannelClosed, and their values are never received', async () => {
    const ch = new Channel<number>(1);
    const outcomes = await run(function* () {
      yield* ch.send(0);
      const senders = [1, 2].map((n) =>
        spawn(function* () {
          try {
            yield* ch.send(n);
            return 'sent';
          } catch (error) {
            return error instanceof ChannelClosed ? 'ChannelClosed' : error;
          }
        }),
      );
      yield* sleep(0);
      expect(ch.sendWaiting).toBe(2);
      ch.close();
      const results = [yield* senders[0]!.get(), yield* senders[1]!.get()];
      return [...results, yield* ch.recv(), yield* ch.recv()];
    });
    expect(outcomes).toEqual(['ChannelClosed', 'ChannelClosed', 0, undefined]);
    expectIdle(ch);
  });

  it('makes later sends raise ChannelClosed with a message saying what to do', async () => {
    const ch = new Channel<number>(5);
    ch.close();
    const error = await run(function* () {
      try {
        yield* ch.send(1);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(ChannelClosed);
    expect((error as Error).name).toBe('ChannelClosed');
    expect((error as Error).message).toMatch(/send on Channel\(capacity 5, closed\).*only after its last send/);
    expect(() => ch.trySend(1)).toThrow(ChannelClosed);
  });

  it('a second time raises ChannelAlreadyClosed', () => {
    const ch = new Channel<number>();
    ch.close();
    expect(() => ch.close()).toThrow(ChannelAlreadyClosed);
    expect(() => ch.close()).toThrow(/already closed: a channel is closed once/);
  });

  it('works from plain code, and the woken tasks run in the next hub pass', async () => {
    const ch = new Channel<number>();
    const task = spawn(function* () {
      return yield* ch.recvOk();
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(ch.recvWaiting).toBe(1);
    ch.close();
    expect(await task).toEqual([undefined, false]);
  });
});

describe('recvOk()', () => {
  it('tells an undefined value from the end of the channel', async () => {
    const ch = new Channel<string | undefined>(2);
    const results = await run(function* () {
      yield* ch.send(undefined);
      ch.close();
      return [yield* ch.recvOk(), yield* ch.recvOk()];
    });
    expect(results).toEqual([
      [undefined, true],
      [undefined, false],
    ]);
  });

  it('types the value as T once ok is checked', async () => {
    const ch = new Channel<number>(1);
    const doubled = await run(function* () {
      yield* ch.send(21);
      const [value, ok]: RecvResult<number> = yield* ch.recvOk();
      if (!ok) return -1;
      return value * 2; // value: number here
    });
    expect(doubled).toBe(42);
  });
});

describe('trySend() and tryRecv()', () => {
  it('trySend is refused when nobody receives and there is no room (gevent: test__queue.py::TestChannel::test_put_nowait_simple)', async () => {
    // gevent: both put_nowait calls from hub callbacks raise Full on a Channel.
    const ch = new Channel<number>();
    const results: boolean[] = [];
    queueMicrotask(() => results.push(ch.trySend(2)));
    queueMicrotask(() => results.push(ch.trySend(3)));
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(results).toEqual([false, false]);
  });

  it('trySend from a callback hands the value to a waiting receiver (gevent: test__queue.py::TestChannel::test_put_nowait_unlock)', async () => {
    const ch = new Channel<number>();
    const p = spawn(recvFrom, ch);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(p.ready()).toBe(false);
    const sent = await new Promise<boolean>((resolve) => setTimeout(() => resolve(ch.trySend(10)), 0));
    expect(sent).toBe(true);
    expect(await p).toBe(10);
    expectIdle(ch);
  });

  it('tryRecv from a callback takes a waiting sender\'s value and wakes it (gevent: test__queue.py::TestChannel::test_get_nowait_unlock_channel)', async () => {
    const ch = new Channel<number>();
    const p = spawn(sendTo, ch, 5);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(ch.sendWaiting).toBe(1);
    const result = await new Promise<RecvResult<number>>((resolve) => setTimeout(() => resolve(ch.tryRecv()), 0));
    expect(result).toEqual([5, true]);
    await p;
    expect(p.dead).toBe(true);
    expectIdle(ch);
  });

  it('tryRecv gives [undefined, false] when nothing is ready, and buffered values first', () => {
    const ch = new Channel<string>(2);
    expect(ch.tryRecv()).toEqual([undefined, false]);
    expect(ch.trySend('x')).toBe(true);
    expect(ch.trySend('y')).toBe(true);
    expect(ch.trySend('z')).toBe(false);
    expect(ch.tryRecv()).toEqual(['x', true]);
    ch.close();
    expect(ch.tryRecv()).toEqual(['y', true]);
    expect(ch.tryRecv()).toEqual([undefined, false]);
  });
});

describe('timeouts', () => {
  it('recv(ms) raises a ChannelTimeout, which is a Timeout, and leaves no waiter (gevent: test__queue.py::TestGetInterruptChannel::test_raises_timeout_number)', async () => {
    const ch = new Channel<number>();
    const error = await run(function* () {
      try {
        yield* ch.recv(5);
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(ChannelTimeout);
    expect(error).toBeInstanceOf(Timeout);
    expect((error as Error).message).toBe('recv() on Channel(unbuffered) gave up after 5 ms');
    expectIdle(ch);
  });

  it('send(value, ms) raises a ChannelTimeout and the value is never received (gevent: test__queue.py::TestPutInterruptChannel::test_raises_timeout_number)', async () => {
    const ch = new Channel<number>();
    const outcome = await run(function* () {
      try {
        yield* ch.send(1, 5);
      } catch (e) {
        return e instanceof ChannelTimeout ? 'timed out' : e;
      }
      return 'sent';
    });
    expect(outcome).toBe('timed out');
    expect(ch.tryRecv()).toEqual([undefined, false]);
    expectIdle(ch);
  });

  it('an outer Timeout interrupts a blocked recv and is raised as itself (gevent: test__queue.py::TestGetInterruptChannel::test_raises_timeout_Timeout)', async () => {
    const ch = new Channel<number>();
    const same = await run(function* () {
      const timeout = Timeout.startNew(5);
      try {
        yield* ch.recv(10_000);
      } catch (e) {
        return e === timeout;
      } finally {
        timeout.cancel();
      }
      return false;
    });
    expect(same).toBe(true);
    expectIdle(ch);
  });

  it('an outer Timeout with a custom error raises that error in a blocked send (gevent: test__queue.py::TestPutInterruptChannel::test_raises_timeout_Timeout_exc_customized)', async () => {
    const ch = new Channel<number>();
    const expected = new RangeError('expected error');
    const caught = await run(function* () {
      const timeout = Timeout.startNew(5, expected);
      try {
        yield* ch.send(1);
      } catch (e) {
        return e;
      } finally {
        timeout.cancel();
      }
      return null;
    });
    expect(caught).toBe(expected);
    expectIdle(ch);
  });

  it('a value that arrives before the timeout is received and the timer is cancelled', async () => {
    const ch = new Channel<number>();
    const got = await run(function* () {
      spawn(sendTo, ch, 9);
      return yield* ch.recv(10_000);
    });
    expect(got).toBe(9);
  });
});

describe('killing a blocked task', () => {
  it('takes a blocked sender out of the channel: its value is never received, and its finally runs', async () => {
    const ch = new Channel<number>();
    const log: string[] = [];
    await run(function* () {
      const sender = spawn(function* () {
        try {
          yield* ch.send(1);
          log.push('sent');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* sender.kill();
      expect(sender.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally']);
    expect(ch.tryRecv()).toEqual([undefined, false]);
    expectIdle(ch);
  });

  it('a receiver handed a value and killed before it runs still gets the value first', async () => {
    const ch = new Channel<string>();
    const log: string[] = [];
    await run(function* () {
      const receiver = spawn(function* () {
        try {
          log.push(`got ${String(yield* ch.recv())}`);
          yield* ch.recv(); // the kill strikes here
          log.push('not reached');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* ch.send('precious');
      yield* receiver.kill();
    });
    expect(log).toEqual(['got precious', 'finally']);
    expectIdle(ch);
  });

  it('a blocked sender whose value was taken and is killed before it runs completes its send first', async () => {
    const ch = new Channel<string>();
    const log: string[] = [];
    await run(function* () {
      const sender = spawn(function* () {
        try {
          yield* ch.send('v');
          log.push('send returned');
          yield* sleep(0); // the kill strikes here
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      log.push(`received ${String(yield* ch.recv())}`);
      yield* sender.kill();
    });
    expect(log).toEqual(['received v', 'send returned', 'finally']);
  });
});

describe('iterating inside a task', () => {
  it('iterate() gives every value in order, undefined included, and ends when the channel is closed and drained', async () => {
    const ch = new Channel<number | undefined>();
    const got = await run(function* () {
      spawn(function* () {
        for (const v of [1, undefined, 3]) yield* ch.send(v);
        ch.close();
      });
      const values: (number | undefined)[] = [];
      for (const it = ch.iterate(); yield* it.next(); ) values.push(it.value);
      return values;
    });
    expect(got).toEqual([1, undefined, 3]);
  });

  it('ends at once on a closed channel with nothing buffered (gevent: test__queue.py::TestChannel::test_iterable)', async () => {
    // gevent ends the iteration with a StopIteration item; here close() ends it.
    const ch = new Channel<number>();
    ch.close();
    const got = await run(function* () {
      const values: number[] = [];
      for (const it = ch.iterate(); yield* it.next(); ) values.push(it.value);
      return values;
    });
    expect(got).toEqual([]);
  });

  it('break leaves the remaining values in the channel', async () => {
    const ch = new Channel<number>(5);
    const [first, rest] = await run(function* () {
      for (const n of [1, 2, 3]) yield* ch.send(n);
      let seen = -1;
      for (const it = ch.iterate(); yield* it.next(); ) {
        seen = it.value;
        break;
      }
      return [seen, ch.length];
    });
    expect([first, rest]).toEqual([1, 2]);
  });

  it('a killed task leaves no iterator waiting on the channel', async () => {
    const ch = new Channel<number>();
    const log: string[] = [];
    await run(function* () {
      const consumer = spawn(function* () {
        try {
          for (const it = ch.iterate(); yield* it.next(); ) log.push(String(it.value));
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      expect(ch.recvWaiting).toBe(1);
      yield* consumer.kill();
    });
    expect(log).toEqual(['finally']);
    expectIdle(ch);
  });

  it('forEach runs a generator callback to its end for each value, so the callback may block', async () => {
    const ch = new Channel<string>();
    const results = new Channel<string>(10);
    await run(function* () {
      const consumer = spawn(function* () {
        yield* ch.forEach(function* (v): GreenletBody<void> {
          yield* sleep(0);
          yield* results.send(v.toUpperCase());
        });
      });
      for (const v of ['a', 'b']) yield* ch.send(v);
      ch.close();
      yield* consumer.join();
    });
    expect([results.tryRecv(), results.tryRecv(), results.tryRecv()]).toEqual([['A', true], ['B', true], [undefined, false]]);
  });

  it('forEach calls a plain callback too', async () => {
    const ch = new Channel<number>(3);
    const seen: number[] = [];
    await run(function* () {
      for (const n of [1, 2, 3]) yield* ch.send(n);
      ch.close();
      yield* ch.forEach((n) => seen.push(n));
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('async iteration', () => {
  it('for await receives what tasks send, and ends when the channel is closed', async () => {
    const ch = new Channel<number>();
    spawn(function* () {
      for (const n of [1, 2, 3]) yield* ch.send(n);
      ch.close();
    });
    const got: number[] = [];
    for await (const n of ch) got.push(n);
    expect(got).toEqual([1, 2, 3]);
    expectIdle(ch);
  });

  it('serves promise waiters and task waiters together, in arrival order', async () => {
    const ch = new Channel<string>();
    const got: string[] = [];
    const first = spawn(function* () {
      got.push(`task 1: ${String(yield* ch.recv())}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
    const iterator = ch[Symbol.asyncIterator]();
    const pending = iterator.next().then((r) => got.push(`async: ${String(r.value)}`));
    const third = spawn(function* () {
      got.push(`task 3: ${String(yield* ch.recv())}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(ch.recvWaiting).toBe(3);
    await run(function* () {
      for (const v of ['a', 'b', 'c']) yield* ch.send(v);
    });
    await Promise.all([first, pending, third]);
    expect(got.sort()).toEqual(['async: b', 'task 1: a', 'task 3: c']);
  });

  it('a blocked sender is woken when async code takes its value', async () => {
    const ch = new Channel<number>();
    const sender = spawn(function* () {
      yield* ch.send(1);
      return 'sent';
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
    const iterator = ch[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ value: 1, done: false });
    expect(await sender).toBe('sent');
  });

  it('return() while a step is pending stops waiting: the step ends as done and no value is taken', async () => {
    const ch = new Channel<number>(1);
    const iterator = ch[Symbol.asyncIterator]();
    const step = iterator.next();
    expect(ch.recvWaiting).toBe(1);
    await iterator.return!();
    expect(await step).toEqual({ value: undefined, done: true });
    expectIdle(ch);
    expect(ch.trySend(7)).toBe(true);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(ch.length).toBe(1);
  });

  it('a pending step ends as done when the channel closes', async () => {
    const ch = new Channel<number>();
    const iterator = ch[Symbol.asyncIterator]();
    const step = iterator.next();
    ch.close();
    expect(await step).toEqual({ value: undefined, done: true });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});

describe('reports', () => {
  it('a task blocked on a channel is reported with the operation and the channel', async () => {
    const ch = new Channel<number>(1);
    await run(function* () {
      yield* ch.send(1);
      const sender = spawn(sendTo, ch, 2);
      sender.name = 'producer';
      yield* sleep(0);
      const blocked = getHub().blockedTasks().find((b) => b.name === 'producer');
      expect(blocked?.waitingOn).toBe('send on Channel(capacity 1, 1 buffered, 1 sender waiting)');
      yield* sender.kill();
    });
  });
});

describe('gevent spellings', () => {
  it('balance is senders waiting minus receivers waiting (gevent: Channel.balance)', async () => {
    await run(function* () {
      const ch = new Channel<number>();
      expect(ch.balance).toBe(0);
      const senders = [spawn(() => ch.send(1)), spawn(() => ch.send(2))];
      yield* sleep(0);
      expect(ch.balance).toBe(2);
      expect(yield* ch.recv()).toBe(1);
      expect(yield* ch.recv()).toBe(2);
      for (const s of senders) yield* s.join();
      const receiver = spawn(() => ch.recv());
      yield* sleep(0);
      expect(ch.balance).toBe(-1);
      yield* ch.send(3);
      expect(yield* receiver.get()).toBe(3);
      expect(ch.balance).toBe(0);
    });
  });

  it('a send to a waiting receiver returns at once; a sleep(0) after it gives gevent\'s order (the receiver runs first)', async () => {
    const orders = await run(function* () {
      const result: string[][] = [];
      for (const yieldAfterSend of [false, true]) {
        const ch = new Channel<string>();
        const events: string[] = [];
        const receiver = spawn(function* () {
          events.push(String(yield* ch.recv()));
        });
        yield* sleep(0);
        yield* ch.send('hello');
        if (yieldAfterSend) yield* sleep(0);
        events.push('sent hello');
        yield* receiver.join();
        result.push(events);
      }
      return result;
    });
    expect(orders).toEqual([
      ['sent hello', 'hello'],
      ['hello', 'sent hello'],
    ]);
  });
});
