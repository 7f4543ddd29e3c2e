/**
 * Port of gevent's `src/gevent/tests/test__event.py` (gevent 26.5.0): the PORTABLE and
 * ADAPT tests of CATALOG.md, one test per reference test, named after it.
 *
 * Not ported (N/A in CATALOG.md): the cross-thread tests (TestAsyncResultCrossThread,
 * TestEventCrossThread: a hub and its primitives live in one thread here) and
 * TestEventBasics::test_weakref.
 */
import { describe, expect, it } from 'vitest';
import {
  AsyncResult,
  Event,
  Timeout,
  idle,
  sleep,
  spawn,
  spawnLater,
  wait,
  withTimeout,
  type GreenletBody,
  type Task,
  type Waitable,
} from 'greenlet-ts';
import {
  ExpectedException,
  LARGE_TICK,
  expectNoTimersLeft,
  genericGetTests,
  genericWaitTests,
  inTask,
  raisedBy,
} from './harness.js';

expectNoTimersLeft();

/** The reference's DELAY (SMALL_TICK + SMALL_TICK_MAX_ADJ), scaled down with LARGE_TICK. */
const DELAY = LARGE_TICK;

class MyException extends Error {}

describe('TestEventWait', () => {
  genericWaitTests((timeout) => new Event().wait(timeout), false);

  it('test_cover: String(event) describes it', () => {
    expect(String(new Event())).toBe('Event(clear, 0 waiting)');
  });
});

describe('TestGeventWaitOnEvent', () => {
  genericWaitTests((timeout) => wait([new Event()], timeout === undefined ? {} : { timeout }), []);

  it('test_set_during_wait: a wait() made after the event was set and cleared again does not see it ready (gevent#771)', async () => {
    await inTask(function* () {
      const event = new Event();
      const waiter = spawn(function* () {
        const s = spawn(() => event.set());
        const res = yield* event.wait();
        expect(res).toBe(true);
        expect(event.ready()).toBe(true);
        yield* s.join();
        event.clear();
        expect(event.ready()).toBe(false);
        const o = yield* wait([event], { timeout: 10 });
        expect(event.ready()).toBe(false);
        expect(o).not.toContain(event);
      });
      yield* waiter.get();
    });
  });
});

describe('TestAsyncResultWait', () => {
  genericWaitTests((timeout) => new AsyncResult().wait(timeout), undefined);
});

describe('TestWaitAsyncResult', () => {
  genericWaitTests((timeout) => wait([new AsyncResult()], timeout === undefined ? {} : { timeout }), []);
});

describe('TestAsyncResultGet', () => {
  genericGetTests((timeout) => new AsyncResult().get(timeout));
});

describe('TestAsyncResult', () => {
  it('test_link: rawlink(null) raises TypeError; unlink(null) does not', () => {
    const ar = new AsyncResult();
    expect(() => ar.rawlink(null as unknown as () => void)).toThrow(TypeError);
    ar.unlink(null as unknown as () => void);
    ar.unlink(null as unknown as () => void);
    expect(String(ar)).toBe('AsyncResult(unset, 0 waiting)');
  });

  it('test_set_exc: a task waiting in get() raises the error set (exc_info is left out)', async () => {
    const log: unknown[] = [];
    await inTask(function* () {
      const e = new AsyncResult();
      expect(e.exception).toBeUndefined();
      spawn(function* () {
        const error = yield* raisedBy(() => e.get());
        expect(error).toBeInstanceOf(MyException);
        log.push(['caught', error]);
      });
      const obj = new MyException();
      e.setException(obj);
      yield* sleep(0);
      expect(log).toEqual([['caught', obj]]);
    });
  });

  it('test_set: a Timeout(0, error) interrupts get() before the value is set', async () => {
    await inTask(function* () {
      const event1 = new AsyncResult<string>();
      const timerExc = new MyException('interrupted');
      const g = spawnLater(DELAY, () => event1.set('hello event1'));
      try {
        using _armed = Timeout.startNew(0, timerExc);
        const error = yield* raisedBy(() => event1.get());
        expect(error).toBe(timerExc);
      } finally {
        g.kill({ block: false });
      }
    });
  });

  it('test_set_with_timeout: withTimeout({ ms, timeoutValue }) around a get() nobody answers evaluates to timeoutValue', async () => {
    await inTask(function* () {
      const event2 = new AsyncResult();
      const X = {};
      const result = yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => event2.get());
      expect(result).toBe(X);
    });
  });

  it('test_nonblocking_get: getNowait() (gevent: get(block=False) and get_nowait()) raises Timeout', () => {
    const ar = new AsyncResult();
    expect(() => ar.getNowait()).toThrow(Timeout);
    expect(() => ar.getNowait()).toThrow(Timeout);
  });
});

describe('TestAsyncResultAsLinkTarget', () => {
  it('test_set: link, linkValue and linkException with AsyncResults as targets, for a task that returns', async () => {
    await inTask(function* () {
      const g = spawn(() => 1);
      const [s1, s2, s3] = [new AsyncResult<number>(), new AsyncResult<number>(), new AsyncResult<number>()];
      g.link(s1);
      g.linkValue(s2);
      g.linkException(s3);
      expect(yield* s1.get()).toBe(1);
      expect(yield* s2.get()).toBe(1);
      const X = {};
      const result = yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => s3.get());
      expect(result).toBe(X);
    });
  });

  it('test_set_exception: the same for a task that fails', async () => {
    await inTask(function* () {
      const g = spawn(() => {
        throw new ExpectedException('TestAsyncResultAsLinkTarget.test_set_exception');
      });
      const [s1, s2, s3] = [new AsyncResult(), new AsyncResult(), new AsyncResult()];
      g.link(s1);
      g.linkValue(s2);
      g.linkException(s3);
      expect(yield* raisedBy(() => s1.get())).toBeInstanceOf(ExpectedException);
      const X = {};
      const result = yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => s2.get());
      expect(result).toBe(X);
      expect(yield* raisedBy(() => s3.get())).toBeInstanceOf(ExpectedException);
    });
  });
});

describe.each([
  ['TestEvent_SetThenClear', 1],
  ['TestEvent_SetThenClear100', 100],
  ['TestEvent_SetThenClear1000', 1000],
])('%s', (_name, n) => {
  it('test: every waiter woken by set() ends its wait, though clear() follows at once', async () => {
    await inTask(function* () {
      const e = new Event();
      const waiters = Array.from({ length: n }, () => spawn(() => e.wait()));
      yield* sleep(1);
      e.set();
      e.clear();
      for (const greenlet of waiters) yield* greenlet.join();
      expect(waiters.every((w) => w.value === true)).toBe(true);
    });
  });
});

describe.each<[string, number | undefined, number | undefined]>([
  ['TestWait', undefined, 1000],
  ['TestWait_notimeout', undefined, undefined],
  ['TestWait_count1', 1, 1000],
  ['TestWait_count2', 2, 1000],
])('%s', (_name, count, timeout) => {
  const N = 5;
  const period = 1000 / 100;

  function* sender(events: Event[], asyncs: AsyncResult<unknown>[]): GreenletBody<void> {
    while (events.length !== 0 || asyncs.length !== 0) {
      yield* sleep(period);
      events.pop()?.set();
      yield* sleep(period);
      asyncs.pop()?.set(undefined);
    }
  }

  it('test: wait(events + results, { count, timeout }) evaluates to the objects set, as many as asked', async () => {
    await inTask(function* () {
      const events = Array.from({ length: N }, () => new Event());
      const asyncs = Array.from({ length: N }, () => new AsyncResult<unknown>());
      const maxLen = events.length + asyncs.length;
      const objects: Waitable[] = [...events, ...asyncs];
      const s: Task = spawn(sender, events, asyncs);
      const options = { ...(count === undefined ? {} : { count }), ...(timeout === undefined ? {} : { timeout }) };
      const results = yield* wait(objects, options);
      let expectedLen = timeout === undefined ? maxLen : Math.min(maxLen, timeout / period);
      if (count === undefined) {
        expect(s.ready()).toBe(true);
      } else {
        expectedLen = Math.min(count, expectedLen);
        expect(s.ready()).toBe(false);
        yield* s.kill();
      }
      expect(results).toHaveLength(expectedLen);
    });
  });
});

describe('TestEventBasics', () => {
  it('test_wait_while_notifying: a wait() on a set event goes on without a switch (departure: gevent runs the woken waiters first)', async () => {
    await inTask(function* () {
      const event = new Event();
      const results: number[] = [];
      function* waitThenAppend(arg: number): GreenletBody<void> {
        yield* event.wait();
        results.push(arg);
      }
      spawn(waitThenAppend, 1);
      spawn(waitThenAppend, 2);
      yield* idle();
      expect(event.linkCount()).toBe(2);
      event.set();
      yield* waitThenAppend(3);
      // gevent: [1, 2, 3] at this point.
      expect(results).toEqual([3]);
      yield* sleep(0);
      expect(results).toEqual([3, 1, 2]);
    });
  });

  it('test_gevent_wait_twice_when_already_set: wait([event]) twice on a set event', async () => {
    await inTask(function* () {
      const event = new Event();
      event.set();
      expect(yield* wait([event])).toEqual([event]);
      expect(yield* wait([event])).toEqual([event]);
    });
  });
});
