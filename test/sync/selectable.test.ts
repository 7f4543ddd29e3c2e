/**
 * sync/select: the selectable protocol is public. A new kind of channel end, written
 * against `RecvSelectable` / `SendSelectable` alone (no Channel underneath), takes part in
 * `select` beside a Channel: ready cases fire at once, a parked select is woken by the
 * end's waiter call, and a select that leaves (another case fired, a kill, a timeout)
 * unregisters its waiter.
 */
import { describe, expect, it } from 'vitest';
import {
  Channel,
  ChannelClosed,
  recvCase,
  run,
  select,
  sendCase,
  sleep,
  spawn,
  type ReceiverWaiter,
  type RecvSelectable,
  type RecvSlot,
  type SendSelectable,
  type SenderWaiter,
} from 'greenlet-ts';

/** A mailbox: an unbounded buffer with its own waiters, implementing only the protocol. */
class Mailbox<T> implements RecvSelectable<T> {
  readonly items: T[] = [];
  readonly waiters: ReceiverWaiter<T>[] = [];

  put(value: T): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.received(value, true);
    else this.items.push(value);
  }

  recvReady(): boolean {
    return this.items.length !== 0;
  }
  recvNow(slot: RecvSlot<T>): void {
    slot.value = this.items.shift();
    slot.ok = true;
  }
  addReceiver(waiter: ReceiverWaiter<T>): void {
    this.waiters.push(waiter);
  }
  removeReceiver(waiter: ReceiverWaiter<T>): boolean {
    const i = this.waiters.indexOf(waiter);
    if (i === -1) return false;
    this.waiters.splice(i, 1);
    return true;
  }
  toString(): string {
    return `Mailbox(${this.items.length} items)`;
  }
}

/** A sink that takes values only while it is open for them: the send side of the protocol. */
class Sink<T> implements SendSelectable<T> {
  readonly taken: T[] = [];
  readonly waiters: SenderWaiter<T>[] = [];
  open = false;
  closed = false;

  letIn(): void {
    this.open = true;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.taken.push(waiter.value);
      waiter.sent();
    }
  }
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.failed(new ChannelClosed(`${String(this)} closed`));
  }

  sendReady(): boolean {
    return this.open || this.closed;
  }
  sendNow(value: T): void {
    if (this.closed) throw new ChannelClosed(`${String(this)} closed`);
    this.taken.push(value);
  }
  addSender(waiter: SenderWaiter<T>): void {
    this.waiters.push(waiter);
  }
  removeSender(waiter: SenderWaiter<T>): boolean {
    const i = this.waiters.indexOf(waiter);
    if (i === -1) return false;
    this.waiters.splice(i, 1);
    return true;
  }
  toString(): string {
    return 'Sink';
  }
}

describe('the selectable protocol', () => {
  it('a ready end of a new kind fires at once, by its commit', async () => {
    const r = await run(function* () {
      const box = new Mailbox<string>();
      box.put('waiting already');
      const r = yield* select([recvCase(box), recvCase(new Channel<number>())]);
      return { index: r.index, value: r.value, left: box.items.length };
    });
    expect(r).toEqual({ index: 0, value: 'waiting already', left: 0 });
  });

  it('a parked select is woken by the end calling its waiter, and leaves the other end', async () => {
    const r = await run(function* () {
      const box = new Mailbox<string>();
      const channel = new Channel<number>();
      const chooser = spawn(function* () {
        const r = yield* select([recvCase(box), recvCase(channel)]);
        return r.index === 0 ? `mailbox: ${r.value}` : `channel: ${r.value}`;
      });
      yield* sleep(0);
      const registered = { box: box.waiters.length, channel: channel.recvWaiting };
      box.put('hello');
      const got = yield* chooser.get();
      return { registered, got, after: { box: box.waiters.length, channel: channel.recvWaiting } };
    });
    expect(r).toEqual({ registered: { box: 1, channel: 1 }, got: 'mailbox: hello', after: { box: 0, channel: 0 } });
  });

  it('a select that fires on a Channel, is killed, or times out unregisters from the new end', async () => {
    const r = await run(function* () {
      const box = new Mailbox<string>();
      const channel = new Channel<number>();
      const byChannel = spawn(function* () {
        return (yield* select([recvCase(box), recvCase(channel)])).index;
      });
      yield* sleep(0);
      yield* channel.send(7);
      const firedIndex = yield* byChannel.get();
      const afterChannel = box.waiters.length;

      const killed = spawn(function* () {
        yield* select([recvCase(box)]);
      });
      yield* sleep(0);
      yield* killed.kill();
      const afterKill = box.waiters.length;

      const timedOut = yield* select([recvCase(box)], { timeout: 10 });
      return { firedIndex, afterChannel, afterKill, timedOut: timedOut.index, afterTimeout: box.waiters.length };
    });
    expect(r).toEqual({ firedIndex: 1, afterChannel: 0, afterKill: 0, timedOut: -1, afterTimeout: 0 });
  });

  it('a send end of a new kind: sent when it lets the value in, ChannelClosed when it closes', async () => {
    const r = await run(function* () {
      const sink = new Sink<number>();
      const sender = spawn(function* () {
        return (yield* select([sendCase(sink, 1)])).index;
      });
      yield* sleep(0);
      sink.letIn();
      const index = yield* sender.get();
      const closedSink = new Sink<number>();
      const failing = spawn(function* () {
        try {
          yield* select([sendCase(closedSink, 2)]);
          return 'sent';
        } catch (e) {
          return e;
        }
      });
      yield* sleep(0);
      closedSink.close();
      return { index, taken: sink.taken, error: yield* failing.get(), waiting: closedSink.waiters.length };
    });
    expect(r.index).toBe(0);
    expect(r.taken).toEqual([1]);
    expect(r.error).toBeInstanceOf(ChannelClosed);
    expect(r.waiting).toBe(0);
  });
});
