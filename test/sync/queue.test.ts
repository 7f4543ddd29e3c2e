/**
 * gevent.queue: Queue, LifoQueue, PriorityQueue (and JoinableQueue, the same class).
 * Behaviours from gevent's src/gevent/tests/test__queue.py (HEAD, and the TestNoWait /
 * TestJoinEmpty classes of its older versions), cited per test; shutdown from CPython
 * 3.13's Lib/test/test_queue.py where gevent has no test of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BlockingError, GreenletExit, Task, Timeout, getHub, joinall, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { raisedBy } from '../raised.js';
import {
  Empty,
  Full,
  JoinableQueue,
  LifoQueue,
  PriorityQueue,
  Queue,
  ShutDown,
  TaskDoneError,
  SimpleQueue,
} from '../../src/sync/queue.js';

class RuntimeError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

/** Nothing is left registered on the queue. */
function expectNoWaiters(q: Queue<unknown>): void {
  expect({ getters: q.getters, putters: q.putters, peekers: q.peekers, joiners: q.joiners }).toEqual({
    getters: 0,
    putters: 0,
    peekers: 0,
    joiners: 0,
  });
}

/** Run `body` in a task and report whether any other task ran before it ended. */
function* withoutSwitching<R>(body: () => GreenletBody<R>): GreenletBody<{ result: R; switched: boolean }> {
  let switched = false;
  const witness = spawn(function* () {
    switched = true;
  });
  const result = yield* body();
  const before = switched;
  yield* witness.join();
  return { result, switched: before };
}

/** Settle a promise, or report that it is still pending after the microtasks ran. */
async function state<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown } | 'pending'> {
  let out: { value?: T; error?: unknown } | 'pending' = 'pending';
  p.then(
    (value) => (out = { value }),
    (error: unknown) => (out = { error }),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return out;
}

describe('put and get', () => {
  it('an item put is peeked and got without switching (gevent: test__queue.py::TestQueue::test_send_first)', async () => {
    const q = new Queue<string>();
    const { result, switched } = await run(() =>
      withoutSwitching(function* () {
        yield* q.put('hi');
        const peeked = yield* q.peek();
        const got = yield* q.get();
        return [peeked, got];
      }),
    );
    expect(result).toEqual(['hi', 'hi']);
    expect(switched).toBe(false);
    expect(q.empty()).toBe(true);
  });

  it('a getter waiting on an empty queue receives the item put later (gevent: test__queue.py::UsesOnlyOneItemMixin::test_send_last)', async () => {
    const q = new Queue<string>();
    await run(function* () {
      const waiter = spawn(function* () {
        const t = Timeout.startNew(1000);
        try {
          expect(yield* q.get()).toBe('hi2');
        } finally {
          t.cancel();
        }
        return 'OK';
      });
      yield* sleep(0);
      expect(q.getters).toBe(1);
      yield* q.put('hi2');
      expect(yield* waiter.get()).toBe('OK');
    });
    expectNoWaiters(q);
  });

  it('a put into a queue with a waiting getter hands the item to it: the queue never holds it', async () => {
    const q = new Queue<number>();
    await run(function* () {
      const getter = spawn(function* () {
        return yield* q.get();
      });
      yield* sleep(0);
      yield* q.put(7);
      expect(q.qsize()).toBe(0);
      expect(q.getters).toBe(0);
      expect(yield* getter.get()).toBe(7);
    });
  });

  it('put waits while the queue is full and resumes when a get makes room (gevent: test__queue.py::TestSimpleQueue::test_max_size)', async () => {
    const q = new Queue<string>(2);
    const results: string[] = [];
    await run(function* () {
      const putter = spawn(function* () {
        yield* q.put('a');
        results.push('a');
        yield* q.put('b');
        results.push('b');
        yield* q.put('c');
        results.push('c');
        return 'OK';
      });
      yield* sleep(0);
      expect(results).toEqual(['a', 'b']);
      expect(q.putters).toBe(1);
      expect(yield* q.get()).toBe('a');
      yield* sleep(0);
      expect(results).toEqual(['a', 'b', 'c']);
      expect(yield* q.get()).toBe('b');
      expect(yield* q.get()).toBe('c');
      expect(yield* putter.get()).toBe('OK');
    });
    expectNoWaiters(q);
  });

  it('several waiting getters each receive one item, in the order they started waiting (gevent: test__queue.py::TestSimpleQueue::test_multiple_waiters)', async () => {
    const q = new Queue<string>();
    const received: [number, string][] = [];
    await run(function* () {
      const getters = [0, 1, 2, 3].map((i) =>
        spawn(function* () {
          received.push([i, yield* q.get()]);
        }),
      );
      yield* sleep(0);
      expect(q.getters).toBe(4);
      yield* q.put('1');
      yield* sleep(0);
      expect(received).toEqual([[0, '1']]);
      yield* q.put('2');
      yield* q.put('3');
      yield* q.put('4');
      for (const g of getters) yield* g.join();
    });
    expect(received).toEqual([
      [0, '1'],
      [1, '2'],
      [2, '3'],
      [3, '4'],
    ]);
    expectNoWaiters(q);
  });

  it('an item put by a task that has ended since is still there to get (gevent: test__queue.py::TestSimpleQueue::test_senders_that_die)', async () => {
    const q = new Queue<string>();
    const got = await run(function* () {
      spawn(function* () {
        yield* q.put('sent');
      });
      return yield* q.get();
    });
    expect(got).toBe('sent');
  });

  it('qsize, size, empty and full follow the items; an unbounded queue is never full', async () => {
    const q = new Queue<number>(2);
    expect([q.qsize(), q.size, q.empty(), q.full()]).toEqual([0, 0, true, false]);
    q.putNowait(1);
    expect([q.qsize(), q.empty(), q.full()]).toEqual([1, false, false]);
    q.putNowait(2);
    expect([q.size, q.full()]).toEqual([2, true]);
    const unbounded = new Queue<number>();
    for (let i = 0; i < 1000; i++) unbounded.putNowait(i);
    expect(unbounded.full()).toBe(false);
    expect(unbounded.maxsize).toBe(Infinity);
    expect(q.maxsize).toBe(2);
  });

  it('starts with the items given to the constructor, each an unfinished task (gevent: Queue(maxsize, items))', () => {
    const q = new Queue<number>(undefined, [1, 2, 3]);
    expect(q.toArray()).toEqual([1, 2, 3]);
    expect(q.unfinishedTasks).toBe(3);
    expect(q.getNowait()).toBe(1);
  });

  it('reads maxsize 0 as unbounded, as gevent does; refuses negative and fractional sizes', () => {
    expect(new Queue(0).maxsize).toBe(Infinity);
    expect(new Queue({ maxsize: 0 }).full()).toBe(false);
    expect(() => new Queue(-1)).toThrow(/maxsize must be a positive integer, or 0 \/ undefined/);
    expect(() => new Queue(1.5)).toThrow(RangeError);
    expect(new Queue(null).maxsize).toBe(Infinity);
  });

  it('refuses a negative timeout (gevent 24.10.1: ValueError, as CPython)', async () => {
    const q = new Queue<number>();
    await run(function* () {
      expect(() => q.get(-1)).toThrow(RangeError);
      expect(() => q.put(1, -1)).toThrow(/timeout must be a non-negative number/);
    });
    expect(q.qsize()).toBe(0);
  });

  it('JoinableQueue is Queue under its old name (gevent 25.4.1)', () => {
    expect(JoinableQueue).toBe(Queue);
    const q: JoinableQueue<number> = new JoinableQueue<number>();
    expect(q).toBeInstanceOf(Queue);
  });

  it('a blocking call from the main greenlet raises BlockingError naming the operation (gevent: test__queue.py::TestSimpleQueue::test_peek_empty raises LoopExit)', () => {
    const q = new Queue<number>();
    expect(() => q.peek()).toThrow(BlockingError);
    expect(() => q.get()).toThrow(/queue\.get\(\) blocks, and it was called in the main greenlet/);
    expect(() => q.put(1)).toThrow(BlockingError);
    expect(q.qsize()).toBe(0);
  });

  it('a task parked on the queue is reported with the operation and the queue', async () => {
    const q = new Queue<number>(3);
    await run(function* () {
      const getter = spawn(function* () {
        return yield* q.get();
      });
      yield* sleep(0);
      expect(String(getter)).toContain('on queue.get() on Queue(maxsize=3, 0 items, 1 getter)');
      q.putNowait(1);
      yield* getter.join();
    });
  });
});

describe('peek', () => {
  it('peek with a timeout on an empty queue raises Empty (gevent: test__queue.py::TestSimpleQueue::test_peek_empty)', async () => {
    const q = new Queue<number>();
    const raised = await run(function* () {
      try {
        yield* q.peek(10);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(raised).toBeInstanceOf(Empty);
    expectNoWaiters(q);
  });

  it('a task waiting in peek sees the item put and leaves it in the queue (gevent: test__queue.py::TestSimpleQueue::test_peek_multi_greenlet)', async () => {
    const q = new Queue<number>();
    await run(function* () {
      const peeker = spawn(function* () {
        return yield* q.peek();
      });
      yield* sleep(0);
      expect(q.peekers).toBe(1);
      yield* q.put(1);
      expect(yield* peeker.get()).toBe(1);
      expect(yield* q.peek()).toBe(1);
      expect(q.qsize()).toBe(1);
    });
    expectNoWaiters(q);
  });

  it('peekers see an item that a waiting getter takes at once', async () => {
    const q = new Queue<string>();
    await run(function* () {
      const peeker = spawn(function* () {
        return yield* q.peek();
      });
      const getter = spawn(function* () {
        return yield* q.get();
      });
      yield* sleep(0);
      q.putNowait('x');
      expect(yield* peeker.get()).toBe('x');
      expect(yield* getter.get()).toBe('x');
      expect(q.qsize()).toBe(0);
    });
    expectNoWaiters(q);
  });

  it('peekNowait returns the next item without removing it, and raises Empty on an empty queue', () => {
    const q = new Queue<number>();
    expect(() => q.peekNowait()).toThrow(Empty);
    q.putNowait(5);
    q.putNowait(6);
    expect(q.peekNowait()).toBe(5);
    expect(q.qsize()).toBe(2);
  });
});

describe('nowait variants from plain code (gevent: TestNoWait, UsesOnlyOneItemMixin)', () => {
  it('putNowait from callbacks fills a queue of one and then raises Full (gevent: test__queue.py::UsesOnlyOneItemMixin::test_put_nowait_simple)', async () => {
    const q = new Queue<number>(1);
    const results: unknown[] = [];
    const store = (fn: () => unknown): void => {
      try {
        results.push(fn());
      } catch (e) {
        results.push(e);
      }
    };
    await new Promise<void>((resolve) => {
      setTimeout(() => store(() => q.putNowait(2)), 0);
      setTimeout(() => {
        store(() => q.putNowait(3));
        resolve();
      }, 0);
    });
    expect(results[0]).toBeUndefined();
    expect(results[1]).toBeInstanceOf(Full);
    expect(q.toArray()).toEqual([2]);
  });

  it('putNowait from plain code wakes a task waiting in get (gevent: test__queue.py::UsesOnlyOneItemMixin::test_put_nowait_unlock)', async () => {
    const q = new Queue<number>();
    const getter = spawn(function* () {
      return yield* q.get();
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(false);
    expect(q.getters).toBe(1);
    q.putNowait(10);
    expect(getter.ready()).toBe(false);
    expect(await getter).toBe(10);
    expect(q.empty()).toBe(true);
    expectNoWaiters(q);
  });

  it('getNowait from callbacks returns the item and then raises Empty (gevent: test__queue.py::TestSimpleQueue::test_get_nowait_simple)', async () => {
    const q = new Queue<number>(1);
    q.putNowait(4);
    const results: unknown[] = [];
    await new Promise<void>((resolve) => {
      const store = (): void => {
        try {
          results.push(q.getNowait());
        } catch (e) {
          results.push(e);
        }
      };
      setTimeout(store, 0);
      setTimeout(() => {
        store();
        resolve();
      }, 0);
    });
    expect(results[0]).toBe(4);
    expect(results[1]).toBeInstanceOf(Empty);
  });

  it('getNowait from plain code empties a queue that a finished task filled (gevent: test__queue.py::TestSimpleQueue::test_get_nowait_unlock)', async () => {
    const q = new Queue<number>(1);
    const putter = spawn(function* () {
      yield* q.put(5);
    });
    expect(q.empty()).toBe(true);
    await putter;
    expect(q.full()).toBe(true);
    expect(q.getNowait()).toBe(5);
    expect(q.empty()).toBe(true);
    expect(putter.ready()).toBe(true);
  });

  it('getNowait from plain code lets a putter blocked on a full queue put its item and resume (gevent: test__queue.py::TestChannel::test_get_nowait_unlock_channel, on a Queue of one)', async () => {
    const q = new Queue<number>(1, [4]);
    const putter = spawn(function* () {
      yield* q.put(5);
      return 'put';
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(q.putters).toBe(1);
    expect(q.getNowait()).toBe(4);
    expect(q.toArray()).toEqual([5]);
    expect(q.putters).toBe(0);
    expect(await putter).toBe('put');
    expect(q.getNowait()).toBe(5);
  });

  it('getNowait on an empty queue says how to wait instead', () => {
    const q = new Queue<number>();
    expect(() => q.getNowait()).toThrow(/use `yield\* queue\.get\(\)` in a task, or `await queue\.getAsync\(\)`/);
  });
});

describe('waiters that leave', () => {
  it('a getter that times out leaves the queue usable (gevent: test__queue.py::TestSimpleQueue::test_waiters_that_cancel)', async () => {
    const q = new Queue<string>();
    const outcome = await run(function* () {
      const t = Timeout.startNew(0, new RuntimeError());
      try {
        return yield* q.get();
      } catch (e) {
        if (e instanceof RuntimeError) return 'timed out';
        throw e;
      } finally {
        t.cancel();
      }
    });
    expect(outcome).toBe('timed out');
    expect(q.getters).toBe(0);
    q.putNowait('hi');
    expect(q.getNowait()).toBe('hi');
  });

  it('of two getters, the one that times out does not take the item from the other (gevent: test__queue.py::TestSimpleQueue::test_two_waiters_one_dies)', async () => {
    const q = new Queue<string>();
    const [dying, waiting] = await run(function* () {
      const dyingTask = spawn(function* () {
        const t = Timeout.startNew(0, new RuntimeError());
        try {
          return yield* q.get();
        } catch (e) {
          if (e instanceof RuntimeError) return 'timed out';
          throw e;
        } finally {
          t.cancel();
        }
      });
      const waitingTask = spawn(function* () {
        return yield* q.get();
      });
      yield* sleep(20);
      yield* q.put('hi');
      return [yield* dyingTask.get(), yield* waitingTask.get()];
    });
    expect(dying).toBe('timed out');
    expect(waiting).toBe('hi');
    expectNoWaiters(q);
  });

  it('when every getter timed out, the item put stays in the queue (gevent: test__queue.py::TestSimpleQueue::test_two_bogus_waiters)', async () => {
    const q = new Queue<string>();
    const outcomes = await run(function* () {
      const receive = function* (): GreenletBody<string> {
        const t = Timeout.startNew(0, new RuntimeError());
        try {
          return yield* q.get();
        } catch (e) {
          if (e instanceof RuntimeError) return 'timed out';
          throw e;
        } finally {
          t.cancel();
        }
      };
      const a = spawn(receive);
      const b = spawn(receive);
      yield* sleep(20);
      yield* q.put('sent');
      return [yield* a.get(), yield* b.get(), yield* q.get()];
    });
    expect(outcomes).toEqual(['timed out', 'timed out', 'sent']);
    expectNoWaiters(q);
  });

  it('a getter killed while waiting runs its finally and leaves the getters list', async () => {
    const q = new Queue<number>();
    let cleaned = false;
    await run(function* () {
      const getter = spawn(function* () {
        try {
          return yield* q.get();
        } finally {
          cleaned = true;
        }
      });
      yield* sleep(0);
      expect(q.getters).toBe(1);
      yield* getter.kill();
      expect(getter.value).toBeInstanceOf(GreenletExit);
    });
    expect(cleaned).toBe(true);
    expectNoWaiters(q);
  });

  it('a getter handed an item and killed before it runs still receives the item; the kill strikes at its next wait', async () => {
    const q = new Queue<number>();
    const received: number[] = [];
    let cleaned = false;
    await run(function* () {
      const getter = spawn(function* () {
        try {
          for (;;) received.push(yield* q.get());
        } finally {
          cleaned = true;
        }
      });
      yield* sleep(0);
      q.putNowait(1);
      getter.kill(undefined, { block: false });
      yield* getter.join();
    });
    expect(received).toEqual([1]);
    expect(cleaned).toBe(true);
    expect(q.qsize()).toBe(0);
    expectNoWaiters(q);
  });

  it('a putter killed while waiting for room runs its finally, and its item is not put', async () => {
    const q = new Queue<string>(1, ['first']);
    let cleaned = false;
    await run(function* () {
      const putter = spawn(function* () {
        try {
          yield* q.put('never');
        } finally {
          cleaned = true;
        }
      });
      yield* sleep(0);
      expect(q.putters).toBe(1);
      yield* putter.kill();
    });
    expect(cleaned).toBe(true);
    expect(q.toArray()).toEqual(['first']);
    expect(q.unfinishedTasks).toBe(1);
    expectNoWaiters(q);
  });

  it('putters blocked on a full queue put their items in the order they arrived', async () => {
    const q = new Queue<string>(1, ['0']);
    await run(function* () {
      const putters = ['a', 'b', 'c'].map((x) =>
        spawn(function* () {
          yield* q.put(x);
        }),
      );
      yield* sleep(0);
      expect(q.putters).toBe(3);
      const got: string[] = [];
      for (let i = 0; i < 4; i++) got.push(yield* q.get());
      expect(got).toEqual(['0', 'a', 'b', 'c']);
      for (const p of putters) yield* p.join();
    });
    expectNoWaiters(q);
  });
});

/** The queue kinds that share the interrupt tests, as gevent runs them for each class. */
const kinds: [string, (maxsize?: number) => Queue<number>][] = [
  ['Queue', (maxsize) => new Queue<number>(maxsize)],
  ['LifoQueue', (maxsize) => new LifoQueue<number>(maxsize)],
  ['PriorityQueue', (maxsize) => new PriorityQueue<number>(maxsize)],
];

describe.each(kinds)('%s: a get interrupted by a timeout (gevent: test__queue.py::TestGetInterrupt*)', (_name, make) => {
  it('get(timeout) on an empty queue raises Empty (AbstractGenericGetTestCase::test_raises_timeout_number)', async () => {
    const q = make();
    const raised = await run(function* () {
      try {
        yield* q.get(10);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(raised).toBeInstanceOf(Empty);
    expect((raised as Error).message).toMatch(/no item arrived within 10 ms/);
    expectNoWaiters(q);
  });

  it('a Timeout around get raises that Timeout (AbstractGenericGetTestCase::test_raises_timeout_Timeout)', async () => {
    const q = make();
    const timeout = new Timeout(10);
    const raised = await run(function* () {
      timeout.start();
      try {
        yield* q.get();
        return null;
      } catch (e) {
        return e;
      } finally {
        timeout.cancel();
      }
    });
    expect(raised).toBe(timeout);
    expectNoWaiters(q);
  });

  it('a Timeout with its own error raises that error (AbstractGenericGetTestCase::test_raises_timeout_Timeout_exc_customized)', async () => {
    const q = make();
    const error = new RuntimeError('expected error');
    const raised = await run(function* () {
      const t = Timeout.startNew(10, error);
      try {
        yield* q.get();
        return null;
      } catch (e) {
        return e;
      } finally {
        t.cancel();
      }
    });
    expect(raised).toBe(error);
    expectNoWaiters(q);
  });

  it('an outer Timeout shorter than the get timeout is raised, not Empty (_DelayWaitMixin::test_outer_timeout_is_not_lost)', async () => {
    const q = make();
    const raised = await run(function* () {
      const t = Timeout.startNew(5);
      try {
        yield* q.get(1000);
        return null;
      } catch (e) {
        return e === t ? 'outer timeout' : e;
      } finally {
        t.cancel();
      }
    });
    expect(raised).toBe('outer timeout');
    expectNoWaiters(q);
  });
});

describe.each(kinds)('%s: a put interrupted by a timeout (gevent: test__queue.py::TestPutInterrupt*)', (_name, make) => {
  /** gevent's TestPutInterrupt.wait: fill the queue of one, then put with a timeout. */
  function* fillAndPut(q: Queue<number>, timeout?: number): GreenletBody<void> {
    while (!q.full()) yield* q.put(1);
    yield* q.put(2, timeout);
  }

  it('put(item, timeout) on a full queue raises Full and does not put the item (test_raises_timeout_number)', async () => {
    const q = make(1);
    const raised = await run(function* () {
      try {
        yield* fillAndPut(q, 10);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(raised).toBeInstanceOf(Full);
    expect(q.toArray()).toEqual([1]);
    expectNoWaiters(q);
  });

  it('a Timeout around put raises that Timeout (test_raises_timeout_Timeout)', async () => {
    const q = make(1);
    const raised = await run(function* () {
      const t = Timeout.startNew(10);
      try {
        yield* fillAndPut(q);
        return null;
      } catch (e) {
        return e === t ? 'the Timeout' : e;
      } finally {
        t.cancel();
      }
    });
    expect(raised).toBe('the Timeout');
    expectNoWaiters(q);
  });

  it('a Timeout with its own error raises that error (test_raises_timeout_Timeout_exc_customized)', async () => {
    const q = make(1);
    const error = new RuntimeError('expected error');
    const raised = await run(function* () {
      const t = Timeout.startNew(10, error);
      try {
        yield* fillAndPut(q);
        return null;
      } catch (e) {
        return e;
      } finally {
        t.cancel();
      }
    });
    expect(raised).toBe(error);
    expectNoWaiters(q);
  });

  it('an outer Timeout shorter than the put timeout is raised, not Full (test_outer_timeout_is_not_lost)', async () => {
    const q = make(1);
    const raised = await run(function* () {
      const t = Timeout.startNew(5);
      try {
        yield* fillAndPut(q, 1000);
        return null;
      } catch (e) {
        return e === t ? 'outer timeout' : e;
      } finally {
        t.cancel();
      }
    });
    expect(raised).toBe('outer timeout');
    expectNoWaiters(q);
  });
});

describe('task_done and join (gevent: TestQueue::test_task_done, TestJoinEmpty)', () => {
  it('each item got counts as unfinished until taskDone (gevent: test__queue.py::TestQueue::test_task_done)', async () => {
    const q = new Queue<object>();
    const X = {};
    await run(function* () {
      spawn(function* () {
        yield* q.put(X);
      });
      const result = yield* q.get();
      expect(result).toBe(X);
      expect(q.unfinishedTasks).toBe(1);
      q.taskDone();
      expect(q.unfinishedTasks).toBe(0);
    });
  });

  it('join returns at once when nothing was ever put (gevent: test__queue.py::TestJoinEmpty::test_issue_45)', async () => {
    const q = new Queue<number>();
    const { result, switched } = await run(() =>
      withoutSwitching(function* () {
        return yield* q.join();
      }),
    );
    expect(result).toBe(true);
    expect(switched).toBe(false);
  });

  it('join waits until every item put is marked done, also items handed straight to a getter', async () => {
    const q = new Queue<number>();
    const order: string[] = [];
    await run(function* () {
      const worker = spawn(function* () {
        for (let i = 0; i < 3; i++) {
          const item = yield* q.get();
          yield* sleep(0);
          order.push(`done ${item}`);
          q.taskDone();
        }
      });
      yield* sleep(0);
      for (let i = 0; i < 3; i++) yield* q.put(i);
      expect(q.unfinishedTasks).toBe(3);
      expect(yield* q.join()).toBe(true);
      order.push('joined');
      yield* worker.join();
    });
    expect(order).toEqual(['done 0', 'done 1', 'done 2', 'joined']);
    expectNoWaiters(q);
  });

  it('join with a timeout evaluates to false when items are still unfinished', async () => {
    const q = new Queue<number>(undefined, [1]);
    const joined = await run(function* () {
      return yield* q.join(10);
    });
    expect(joined).toBe(false);
    expectNoWaiters(q);
  });

  it('taskDone called more times than items were put raises TaskDoneError (gevent: ValueError)', () => {
    const q = new Queue<number>();
    q.putNowait(1);
    q.getNowait();
    q.taskDone();
    expect(() => q.taskDone()).toThrow(TaskDoneError);
    expect(() => q.taskDone()).toThrow(/more times than items were put/);
    expect(q.unfinishedTasks).toBe(0);
  });

  it('joinAsync resolves when the last item is marked done', async () => {
    const q = new Queue<number>(undefined, [1, 2]);
    const joined = q.joinAsync();
    expect(await state(joined)).toBe('pending');
    q.getNowait();
    q.taskDone();
    expect(await state(joined)).toBe('pending');
    q.getNowait();
    q.taskDone();
    expect(await joined).toBe(true);
    expectNoWaiters(q);
  });
});

describe('shutdown (gevent 25 / CPython 3.13)', () => {
  it('after shutdown, puts raise ShutDown and gets drain the items left, then raise ShutDown (gevent: test__queue.py::TestQueue::test_shutdown_all_methods_in_one_thread)', async () => {
    const q = new Queue<string>();
    await run(function* () {
      yield* q.put('L');
      q.putNowait('O');
      q.shutdown();
      expect(yield* raisedBy(q.put('E'))).toBeInstanceOf(ShutDown);
      expect(() => q.putNowait('W')).toThrow(ShutDown);
      expect('LO').toContain(yield* q.get());
      q.taskDone();
      expect('LO').toContain(yield* q.get());
      q.taskDone();
      expect(yield* q.join()).toBe(true);
      expect(yield* raisedBy(q.get())).toBeInstanceOf(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      expect(yield* raisedBy(q.get(1000))).toBeInstanceOf(ShutDown);
    });
    expect(q.isShutdown).toBe(true);
  });

  it('shutdown(immediate) drops the items: gets raise at once, taskDone has nothing left, join returns (gevent: test__queue.py::TestQueue::test_shutdown_immediate_all_methods_in_one_thread)', async () => {
    const q = new Queue<string>();
    await run(function* () {
      yield* q.put('L');
      q.putNowait('O');
      q.shutdown(true);
      expect(yield* raisedBy(q.put('E'))).toBeInstanceOf(ShutDown);
      expect(() => q.putNowait('W')).toThrow(ShutDown);
      expect(yield* raisedBy(q.get())).toBeInstanceOf(ShutDown);
      expect(() => q.getNowait()).toThrow(ShutDown);
      expect(() => q.taskDone()).toThrow(TaskDoneError);
      expect(yield* q.join()).toBe(true);
    });
    expect(q.qsize()).toBe(0);
  });

  it('shutdown wakes every waiting getter with ShutDown; their finally blocks run (CPython: test_queue.py::BaseQueueTestMixin::test_shutdown_get)', async () => {
    const q = new Queue<number>();
    let cleaned = 0;
    const outcomes = await run(function* () {
      const getters = [1, 2].map(() =>
        spawn(function* () {
          try {
            return yield* q.get();
          } catch (e) {
            return e instanceof ShutDown ? 'ShutDown' : e;
          } finally {
            cleaned++;
          }
        }),
      );
      yield* sleep(0);
      expect(q.getters).toBe(2);
      q.shutdown();
      const out: unknown[] = [];
      for (const g of getters) out.push(yield* g.get());
      return out;
    });
    expect(outcomes).toEqual(['ShutDown', 'ShutDown']);
    expect(cleaned).toBe(2);
    expectNoWaiters(q);
  });

  it('shutdown wakes a putter waiting for room with ShutDown; its item is not put (CPython: test_queue.py::BaseQueueTestMixin::test_shutdown_put)', async () => {
    const q = new Queue<number>(1, [1]);
    const outcome = await run(function* () {
      const putter = spawn(function* () {
        try {
          yield* q.put(2);
          return 'put';
        } catch (e) {
          return e instanceof ShutDown ? 'ShutDown' : e;
        }
      });
      yield* sleep(0);
      q.shutdown();
      return yield* putter.get();
    });
    expect(outcome).toBe('ShutDown');
    expect(q.toArray()).toEqual([1]);
    expectNoWaiters(q);
  });

  it('shutdown(immediate) releases the tasks waiting in join', async () => {
    const q = new Queue<number>(undefined, [1, 2]);
    const joined = await run(function* () {
      const joiner = spawn(function* () {
        return yield* q.join();
      });
      yield* sleep(0);
      expect(q.joiners).toBe(1);
      q.shutdown(true);
      return yield* joiner.get();
    });
    expect(joined).toBe(true);
    expect(q.unfinishedTasks).toBe(0);
    expectNoWaiters(q);
  });

  it('a non-immediate shutdown leaves the joiners waiting for the items left', async () => {
    const q = new Queue<number>(undefined, [1]);
    await run(function* () {
      const joiner = spawn(function* () {
        return yield* q.join();
      });
      yield* sleep(0);
      q.shutdown();
      yield* sleep(0);
      expect(joiner.ready()).toBe(false);
      yield* q.get();
      q.taskDone();
      expect(yield* joiner.get()).toBe(true);
    });
    expectNoWaiters(q);
  });
});

describe('LifoQueue and PriorityQueue', () => {
  it('LifoQueue returns the most recent item first, also to peek', () => {
    const q = new LifoQueue<number>();
    for (const x of [1, 2, 3]) q.putNowait(x);
    expect(q.peekNowait()).toBe(3);
    expect([q.getNowait(), q.getNowait(), q.getNowait()]).toEqual([3, 2, 1]);
  });

  it('LifoQueue is joinable and can be shut down (gevent 24.10.1: LifoQueue extends JoinableQueue)', () => {
    const q = new LifoQueue<number>(undefined, [1]);
    expect(q.unfinishedTasks).toBe(1);
    q.shutdown(true);
    expect(q.unfinishedTasks).toBe(0);
    expect(() => q.putNowait(2)).toThrow(ShutDown);
  });

  it('PriorityQueue returns the lowest number first by default', () => {
    const q = new PriorityQueue<number>(undefined, [5, 1, 4]);
    q.putNowait(2);
    q.putNowait(3);
    expect(q.peekNowait()).toBe(1);
    expect([1, 2, 3, 4, 5].map(() => q.getNowait())).toEqual([1, 2, 3, 4, 5]);
  });

  it('PriorityQueue orders strings by default', () => {
    const q = new PriorityQueue<string>();
    for (const s of ['pear', 'apple', 'fig']) q.putNowait(s);
    expect(q.toArray()).toEqual(['apple', 'fig', 'pear']);
  });

  it('PriorityQueue orders by the comparator given, and equal priorities keep their insertion order', () => {
    type Job = { priority: number; name: string };
    const q = new PriorityQueue<Job>((a, b) => a.priority - b.priority, 10);
    const jobs: Job[] = [
      { priority: 2, name: 'b1' },
      { priority: 1, name: 'a1' },
      { priority: 2, name: 'b2' },
      { priority: 1, name: 'a2' },
      { priority: 2, name: 'b3' },
    ];
    for (const job of jobs) q.putNowait(job);
    expect(q.maxsize).toBe(10);
    expect(jobs.map(() => q.getNowait().name)).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
  });

  it('PriorityQueue refuses items it cannot order by default before changing anything', () => {
    const q = new PriorityQueue<unknown>();
    expect(() => q.putNowait({ priority: 1 })).toThrow(/give the queue a comparator/);
    q.putNowait(1);
    expect(() => q.putNowait('2')).toThrow(/cannot order a string against the numbers/);
    expect(q.toArray()).toEqual([1]);
    expect(q.unfinishedTasks).toBe(1);
  });

  it('a putter whose item the priority queue refuses gets the error when room is made (gevent: Queue._unlock)', async () => {
    const q = new PriorityQueue<unknown>(1, [1]);
    const outcome = await run(function* () {
      const putter = spawn(function* () {
        try {
          yield* q.put({ not: 'orderable' });
          return 'put';
        } catch (e) {
          return e;
        }
      });
      yield* sleep(0);
      expect(q.getNowait()).toBe(1);
      return yield* putter.get();
    });
    expect(outcome).toBeInstanceOf(TypeError);
    expect(q.qsize()).toBe(0);
    expectNoWaiters(q);
  });
});

describe('async code', () => {
  it('getAsync takes an item at once when there is one', async () => {
    const q = new Queue<number>(undefined, [1, 2]);
    expect(await q.getAsync()).toBe(1);
    expect(q.toArray()).toEqual([2]);
  });

  it('getters are served in arrival order whether they are tasks or promises', async () => {
    const q = new Queue<number>();
    const got: [string, number][] = [];
    const first = spawn(function* () {
      got.push(['task 1', yield* q.get()]);
    });
    await new Promise((r) => setTimeout(r, 1));
    const promise = q.getAsync().then((x) => got.push(['promise', x]));
    const second = spawn(function* () {
      got.push(['task 2', yield* q.get()]);
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(q.getters).toBe(3);
    q.putNowait(1);
    q.putNowait(2);
    q.putNowait(3);
    await Promise.all([first, promise, second]);
    expect(got.sort((a, b) => a[1] - b[1])).toEqual([
      ['task 1', 1],
      ['promise', 2],
      ['task 2', 3],
    ]);
    expectNoWaiters(q);
  });

  it('an item handed to a getAsync promise is delivered even if the queue is shut down right after', async () => {
    const q = new Queue<string>();
    const p = q.getAsync();
    q.putNowait('kept');
    q.shutdown(true);
    expect(await p).toBe('kept');
  });

  it('getAsync with a timeout rejects with Empty and leaves the getters list', async () => {
    const q = new Queue<number>();
    await expect(q.getAsync({ timeout: 5 })).rejects.toBeInstanceOf(Empty);
    expectNoWaiters(q);
  });

  it('getAsync rejects with the reason of an aborted signal and leaves the getters list', async () => {
    const q = new Queue<number>();
    const controller = new AbortController();
    const p = q.getAsync({ signal: controller.signal, timeout: 10_000 });
    expect(q.getters).toBe(1);
    controller.abort(new RuntimeError('stop'));
    await expect(p).rejects.toThrow('stop');
    expectNoWaiters(q);
    q.putNowait(1);
    expect(q.toArray()).toEqual([1]);
  });

  it('getAsync with an already aborted signal rejects without registering', async () => {
    const q = new Queue<number>();
    await expect(q.getAsync({ signal: AbortSignal.abort(new RuntimeError('early')) })).rejects.toThrow('early');
    expectNoWaiters(q);
  });

  it('putAsync waits for room in line with waiting tasks, and is rejected with Full on timeout', async () => {
    const q = new Queue<number>(1, [0]);
    const put = q.putAsync(1);
    expect(q.putters).toBe(1);
    expect(await state(put)).toBe('pending');
    await expect(q.putAsync(2, { timeout: 5 })).rejects.toBeInstanceOf(Full);
    expect(q.getNowait()).toBe(0);
    await put;
    expect(q.toArray()).toEqual([1]);
    expectNoWaiters(q);
  });

  it('for await consumes the queue and ends once it is shut down and drained (gevent: test__queue.py::TestChannel::test_iterable, StopIteration → shutdown)', async () => {
    const q = new Queue<number>();
    spawn(function* () {
      for (let i = 0; i < 3; i++) {
        yield* q.put(i);
        yield* sleep(0);
      }
      yield* q.put(3);
      q.shutdown();
    });
    const seen: number[] = [];
    for await (const x of q) seen.push(x);
    expect(seen).toEqual([0, 1, 2, 3]);
    expectNoWaiters(q);
  });

  it('a getAsync promise waiting when the queue shuts down rejects with ShutDown', async () => {
    const q = new Queue<number>();
    const p = q.getAsync();
    q.shutdown();
    await expect(p).rejects.toBeInstanceOf(ShutDown);
    expectNoWaiters(q);
  });
});

describe('tasks and the hub', () => {
  it('a task ends with the queue left clean after being killed in get, put, peek and join', async () => {
    const full = new Queue<number>(1, [1]);
    const empty = new Queue<number>();
    await run(function* () {
      const tasks: Task[] = [
        spawn(function* () {
          yield* empty.get(1000);
        }),
        spawn(function* () {
          yield* empty.peek(1000);
        }),
        spawn(function* () {
          yield* full.put(2, 1000);
        }),
        spawn(function* () {
          yield* full.join(1000);
        }),
      ];
      yield* sleep(0);
      expect([empty.getters, empty.peekers, full.putters, full.joiners]).toEqual([1, 1, 1, 1]);
      for (const t of tasks) yield* t.kill();
    });
    expectNoWaiters(full);
    expectNoWaiters(empty);
  });
});

describe('first come, first served with a waiting getter', () => {
  it('an item put while a task waits in get() is its: a getNowait() by the putter raises Empty (gevent lets the putter take it back)', async () => {
    await run(function* () {
      for (const q of [new Queue<string>(), new LifoQueue<string>(), new PriorityQueue<string>()]) {
        const getter = spawn(() => q.get());
        yield* sleep(0);
        q.putNowait('x');
        expect(() => q.getNowait()).toThrow(Empty);
        expect(yield* getter.get()).toBe('x');
      }
    });
  });

  it('a getter of an ordered queue takes the item the order gives when it runs: the lowest of a PriorityQueue, the newest of a LifoQueue (as in gevent)', async () => {
    const got = await run(function* () {
      const priority = new PriorityQueue<number>();
      const lifo = new LifoQueue<string>();
      const p = spawn(() => priority.get());
      const l = spawn(() => lifo.get());
      yield* sleep(0);
      priority.putNowait(5);
      priority.putNowait(1);
      lifo.putNowait('a');
      lifo.putNowait('b');
      return [yield* p.get(), yield* l.get(), priority.toArray(), lifo.toArray()];
    });
    expect(got).toEqual([1, 'b', [5], ['a']]);
  });
});

describe('a producer and a consumer on a bounded queue', () => {
  function* lines(pause: boolean): GreenletBody<string[]> {
    const q = new Queue<number>(1);
    const log: string[] = [];
    const consumer = spawn(function* () {
      for (let k = 0; k < 4; k++) log.push(`got ${yield* q.get()}`);
    });
    const producer = spawn(function* () {
      for (const i of [3, 1, 4, 2]) {
        yield* q.put(i);
        log.push(`put ${i}`);
        if (pause) yield* sleep(0);
      }
    });
    yield* joinall([consumer, producer]);
    return log;
  }

  it('hand over at once, so their lines interleave unlike gevent\'s; the items and their order are the same (departs from gevent)', async () => {
    expect(await run(() => lines(false))).toEqual(['put 3', 'put 1', 'got 3', 'got 1', 'got 4', 'put 4', 'put 2', 'got 2']);
  });

  it('a sleep(0) after each put gives gevent\'s lines: put 3, got 3, put 1, got 1, ...', async () => {
    expect(await run(() => lines(true))).toEqual(['put 3', 'got 3', 'put 1', 'got 1', 'put 4', 'got 4', 'put 2', 'got 2']);
  });
});

describe('SimpleQueue and options', () => {
  it('SimpleQueue is a Queue without taskDone and join; Queue extends it', () => {
    const q = new SimpleQueue<number>({ maxsize: 2, items: [1] });
    expect(q.maxsize).toBe(2);
    expect(q.qsize()).toBe(1);
    expect('taskDone' in q).toBe(false);
    expect(new Queue()).toBeInstanceOf(SimpleQueue);
    expect(new Queue({ items: [1, 2] }).unfinishedTasks).toBe(2);
  });
});
