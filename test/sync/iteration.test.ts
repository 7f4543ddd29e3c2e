/**
 * The loop idiom shared by everything a task iterates: a queue, a channel, `iwait` and
 * `imap` (gevent's `for item in queue`, `for g in iwait(...)`, `for r in pool.imap(...)`).
 * `yield* it.next()` evaluates to `true` with the item in `it.value`, or `false` at the
 * end; `forEach(fn)` runs the loop for you.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Channel,
  Event,
  Group,
  LifoQueue,
  Pool,
  PriorityQueue,
  Queue,
  SimpleQueue,
  Empty,
  getHub,
  iwait,
  run,
  sleep,
  spawn,
  type GreenletBody,
  type Task,
} from 'greenlet-ts';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

function* square(x: number): GreenletBody<number> {
  yield* sleep(x % 3);
  return x * x;
}

describe('a queue', () => {
  it('iterate(): the loop takes every item and ends once the queue is shut down and drained, without a catch', async () => {
    const seen = await run(function* () {
      const q = new Queue<number>();
      const consumer = spawn(function* () {
        const got: number[] = [];
        for (const it = q.iterate(); yield* it.next(); ) {
          got.push(it.value);
          q.taskDone();
        }
        return got;
      });
      for (const x of [1, 2, 3]) yield* q.put(x);
      yield* q.join();
      q.shutdown();
      return yield* consumer.get();
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('iterate() over items put before the shutdown: the loop takes them all first', async () => {
    const seen = await run(function* () {
      const q = new SimpleQueue<string>();
      q.putNowait('a');
      q.putNowait('b');
      q.shutdown();
      const got: string[] = [];
      for (const it = q.iterate(); yield* it.next(); ) got.push(it.value);
      return got;
    });
    expect(seen).toEqual(['a', 'b']);
  });

  it('break leaves the rest in the queue; it.next(ms) raises Empty when nothing comes', async () => {
    await run(function* () {
      const q = new Queue<number>({ items: [1, 2, 3] });
      for (const it = q.iterate(); yield* it.next(); ) {
        if (it.value === 2) break;
      }
      expect(q.toArray()).toEqual([3]);
      q.getNowait();
      const it = q.iterate();
      let error: unknown;
      try {
        yield* it.next(5);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Empty);
    });
  });

  it('forEach(fn) calls a generator function for each item, which may block, until shutdown', async () => {
    const seen = await run(function* () {
      const q = new LifoQueue<number>({ items: [1, 2, 3] });
      q.shutdown();
      const got: number[] = [];
      yield* q.forEach(function* (x) {
        yield* sleep(1);
        got.push(x);
      });
      return got;
    });
    expect(seen).toEqual([3, 2, 1]);
  });

  it('a consumer loop of a PriorityQueue built with options gets the items lowest first', async () => {
    const seen = await run(function* () {
      const q = new PriorityQueue<{ p: number }>({ compare: (a, b) => a.p - b.p, items: [{ p: 3 }, { p: 1 }, { p: 2 }] });
      q.shutdown();
      const got: number[] = [];
      yield* q.forEach((x) => void got.push(x.p));
      return got;
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('a channel', () => {
  it('the same loop ends when the channel is closed and drained', async () => {
    const seen = await run(function* () {
      const ch = new Channel<number>(2);
      spawn(function* () {
        for (const x of [1, 2, 3]) yield* ch.send(x);
        ch.close();
      });
      const got: number[] = [];
      for (const it = ch.iterate(); yield* it.next(); ) got.push(it.value);
      return got;
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('iwait', () => {
  it('the same loop over objects as they become ready, then false', async () => {
    const seen = await run(function* () {
      const events = [new Event(), new Event(), new Event()];
      spawn(function* () {
        for (const i of [2, 0, 1]) {
          yield* sleep(1);
          events[i]?.set();
        }
      });
      const got: number[] = [];
      for (const it = iwait(events); yield* it.next(); ) got.push(events.indexOf(it.value));
      return got;
    });
    expect(seen).toEqual([2, 0, 1]);
  });

  it('`using it = iwait(...)` unregisters from the rest when the block is left early', async () => {
    await run(function* () {
      const ready = new Event();
      const never = new Event();
      ready.set();
      {
        using it = iwait([ready, never]);
        expect(yield* it.next()).toBe(true);
        expect(it.value).toBe(ready);
        expect(never.linkCount()).toBe(1);
      }
      expect(never.linkCount()).toBe(0);
    });
  });
});

describe('imap', () => {
  it('forEach reads every result as the tasks end, then closes the iterator', async () => {
    const seen = await run(function* () {
      const group = new Group();
      const got: number[] = [];
      yield* group.imapUnordered(square, [3, 1, 2]).forEach((r) => void got.push(r));
      expect(group.size).toBe(0);
      return got.sort((a, b) => a - b);
    });
    expect(seen).toEqual([1, 4, 9]);
  });

});

describe('tasks', () => {
  it('iwait over tasks: each as it ends', async () => {
    const seen = await run(function* () {
      // The tasks end in the order 1, 2, 3, set by a task that opens their gates one per
      // pass (sleeps of n * 5 ms, each counted from its own start, ended as [3, 1, 2] when a
      // loaded browser stalled 10 ms between starting the first task and the others).
      const gates = [new Event(), new Event(), new Event(), new Event()];
      const tasks: Task<number>[] = [3, 1, 2].map((n) =>
        spawn(function* () {
          yield* (gates[n] as Event).wait();
          return n;
        }),
      );
      spawn(function* () {
        for (const n of [1, 2, 3]) {
          (gates[n] as Event).set();
          yield* sleep(0);
        }
      });
      const got: number[] = [];
      yield* iwait(tasks).forEach((t) => void got.push(t.value as number));
      return got;
    });
    expect(seen).toEqual([1, 2, 3]);
  });
});
