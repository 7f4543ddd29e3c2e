/**
 * Event: a level-triggered flag tasks wait for.
 * Behaviours from gevent's src/gevent/tests/test__event.py and the EventTests of
 * src/gevent/tests/lock_tests.py (run by test__threading_2.py), cited per test.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  getHub,
  getcurrent,
  joinall,
  run,
  sleep,
  spawn,
  wait,
  withTimeout,
  type GreenletBody,
  type HubReport,
  type Task,
} from 'greenlet-ts';
import { AsyncResult } from '../../src/sync/async-result.js';
import { Event } from '../../src/sync/event.js';
import { sharedStep } from './contention.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

describe('the flag', () => {
  it('is clear at first, raised by set() and lowered by clear(), idempotently (gevent: lock_tests.py::EventTests::test_is_set)', () => {
    const evt = new Event();
    expect(evt.isSet()).toBe(false);
    evt.set();
    expect(evt.isSet()).toBe(true);
    evt.set();
    expect(evt.isSet()).toBe(true);
    evt.clear();
    expect(evt.isSet()).toBe(false);
    evt.clear();
    expect(evt.isSet()).toBe(false);
  });

  it('ready() follows the flag, so wait() and iwait() can watch an event', () => {
    const evt = new Event();
    expect(evt.ready()).toBe(false);
    evt.set();
    expect(evt.ready()).toBe(true);
  });

  it('describes itself with its state and its waiters (gevent: test__event.py::TestEventWait::test_cover)', async () => {
    const evt = new Event();
    expect(String(evt)).toBe('Event(clear, 0 waiting)');
    await run(function* () {
      const waiter = spawn(function* () {
        return yield* evt.wait();
      });
      yield* sleep(0);
      expect(String(evt)).toBe('Event(clear, 1 waiting)');
      evt.set();
      expect(String(evt)).toBe('Event(set, 0 waiting)');
      yield* waiter.join();
    });
  });
});

describe('wait()', () => {
  it('evaluates to false when the timeout passes on a clear event (gevent: test__event.py::TestEventWait)', async () => {
    const evt = new Event();
    const result = await run(function* () {
      return yield* evt.wait(10);
    });
    expect(result).toBe(false);
    expect(evt.waiting).toBe(0);
  });

  it('with a zero timeout evaluates to false on a clear event and true on a set one (gevent: lock_tests.py::EventTests::test_timeout)', async () => {
    const evt = new Event();
    const results = await run(function* () {
      const before = yield* evt.wait(0);
      evt.set();
      const after = yield* evt.wait(0);
      return [before, after];
    });
    expect(results).toEqual([false, true]);
  });

  it('does not block when the flag is up, and does not switch either (departs from gevent: test__event.py::TestEventBasics::test_wait_while_notifying)', async () => {
    // gevent >= 20.5.1 makes such a waiter run after the tasks woken by set(); here it
    // continues at once: no switch, the cheapest possible path.
    const evt = new Event();
    const order: string[] = [];
    await run(function* () {
      const other = spawn(function* () {
        order.push('other task');
      });
      evt.set();
      expect(yield* evt.wait()).toBe(true);
      order.push('waiter continued');
      yield* other.join();
    });
    expect(order).toEqual(['waiter continued', 'other task']);
  });

  it('a sleep(0) after a wait() on a set event gives gevent\'s order: the tasks set() woke run first', async () => {
    const evt = new Event();
    const results: number[] = [];
    await run(function* () {
      function* waitThenAppend(n: number): GreenletBody<void> {
        yield* evt.wait();
        results.push(n);
      }
      spawn(waitThenAppend, 1);
      spawn(waitThenAppend, 2);
      yield* sleep(0);
      evt.set();
      yield* evt.wait();
      yield* sleep(0);
      results.push(3);
    });
    expect(results).toEqual([1, 2, 3]);
  });

  it('from the main greenlet throws a BlockingError naming the call', () => {
    const evt = new Event();
    expect(() => evt.wait()).toThrow(BlockingError);
    expect(() => evt.wait()).toThrow(/event\.wait\(\).*only a task can block/);
  });

  it('leaves the event cleanly when the waiting task is killed, running its finally', async () => {
    const evt = new Event();
    const log: string[] = [];
    await run(function* () {
      const waiter = spawn(function* () {
        try {
          yield* evt.wait();
          log.push('woken');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      expect(evt.waiting).toBe(1);
      yield* waiter.kill();
      expect(waiter.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally']);
    expect(evt.waiting).toBe(0);
    expect(evt.linkCount()).toBe(0);
  });

  it('leaves the event cleanly when a Timeout of the task strikes', async () => {
    const evt = new Event();
    const caught = await run(function* () {
      const timeout = Timeout.startNew(5);
      try {
        yield* evt.wait();
        return 'woken';
      } catch (error) {
        return error === timeout ? 'timed out' : error;
      } finally {
        timeout.cancel();
      }
    });
    expect(caught).toBe('timed out');
    expect(evt.waiting).toBe(0);
  });

  it('works under withTimeout with a timeout value', async () => {
    const evt = new Event();
    const result = await run(function* () {
      return yield* withTimeout({ ms: 5, timeoutValue: 'gave up' }, function* () {
        return yield* evt.wait();
      });
    });
    expect(result).toBe('gave up');
    expect(evt.waiting).toBe(0);
  });
});

describe('set()', () => {
  function* waitTwice(evt: Event, results1: boolean[], results2: boolean[]) {
    yield* evt.wait();
    results1.push(evt.isSet());
    yield* evt.wait();
    results2.push(evt.isSet());
  }

  it('wakes every waiting task, and later waits pass straight through (gevent: lock_tests.py::EventTests::test_notify)', async () => {
    const evt = new Event();
    await run(function* () {
      for (let round = 0; round < 2; round++) {
        // The second round runs after an explicit set() and clear(), as in the reference.
        const results1: boolean[] = [];
        const results2: boolean[] = [];
        const tasks = Array.from({ length: 5 }, () => spawn(waitTwice, evt, results1, results2));
        yield* sleep(0);
        expect(results1).toEqual([]);
        expect(evt.waiting).toBe(5);
        evt.set();
        for (const t of tasks) yield* t.join();
        expect(results1).toEqual([true, true, true, true, true]);
        expect(results2).toEqual([true, true, true, true, true]);
        evt.set();
        evt.clear();
      }
    });
  });

  for (const n of [1, 100, 1000]) {
    it(`followed at once by clear() still wakes all ${n} waiters, each with true (gevent: test__event.py::TestEvent_SetThenClear${n === 1 ? '' : n})`, async () => {
      const evt = new Event();
      const results = await run(function* () {
        const waiters = Array.from({ length: n }, () =>
          spawn(function* () {
            return yield* evt.wait();
          }),
        );
        yield* sleep(0);
        evt.set();
        evt.clear();
        const out: boolean[] = [];
        for (const w of waiters) out.push(yield* w.get());
        return out;
      });
      expect(results).toEqual(Array.from({ length: n }, () => true));
      expect(evt.waiting).toBe(0);
    });
  }

  it('wakes the waiters in the order they started waiting (gevent: Event docstring, versionchanged 1.5a3)', async () => {
    const evt = new Event();
    const order: number[] = [];
    await run(function* () {
      const tasks = [3, 1, 2].map((i) =>
        spawn(function* () {
          yield* evt.wait();
          order.push(i);
        }),
      );
      yield* sleep(0);
      evt.set();
      for (const t of tasks) yield* t.join();
    });
    expect(order).toEqual([3, 1, 2]);
  });

  it('wakes a task that timed out and waits again at its new place, after those that waited meanwhile (gevent: each wait() appends its link)', async () => {
    const evt = new Event();
    const order: string[] = [];
    await run(function* () {
      const again = spawn(function* () {
        if (!(yield* evt.wait(5))) order.push('timed out');
        yield* evt.wait();
        order.push('waited again');
      });
      const steady = spawn(function* () {
        yield* evt.wait();
        order.push('steady');
      });
      while (order.length === 0 || evt.waiting < 2) yield* sleep(1); // until it waits again
      evt.set();
      yield* joinall([again, steady]);
    });
    expect(order).toEqual(['timed out', 'steady', 'waited again']);
    expect(evt.linkCount()).toBe(0);
  });

  it('wakes the others in their order when tasks in the middle were killed, and a killed task that waits again in its finally at its new place', async () => {
    const evt = new Event();
    const order: string[] = [];
    await run(function* () {
      const waiter = (name: string) =>
        spawn(function* () {
          yield* evt.wait();
          order.push(name);
        });
      const first = waiter('first');
      const killed = waiter('killed');
      const stubborn = spawn(function* () {
        try {
          yield* evt.wait();
          order.push('stubborn woken');
        } finally {
          yield* evt.wait();
          order.push('stubborn in finally');
        }
      });
      const last = waiter('last');
      yield* sleep(0);
      expect(evt.waiting).toBe(4);
      yield* killed.kill();
      stubborn.kill({ block: false }); // it leaves the wait at once, and waits again when it runs
      yield* sleep(0);
      expect(evt.waiting).toBe(3);
      evt.set();
      yield* joinall([first, killed, stubborn, last]);
    });
    expect(order).toEqual(['first', 'last', 'stubborn in finally']);
    expect(evt.linkCount()).toBe(0);
  });

  it('forgets, one by one, waiters whose timeouts expire while another still waits, and wakes the rest in order', async () => {
    const evt = new Event();
    const woken: number[] = [];
    await run(function* () {
      const steady = spawn(function* () {
        yield* evt.wait();
        woken.push(-1);
      });
      // Three rounds of 1,000 timed waiters: each round's expire one by one, in the order
      // they came, except every tenth, whose timeout is long enough to see the set().
      const staying: Task[] = [];
      for (let round = 0; round < 3; round++) {
        const leaving: Task[] = [];
        for (let i = 0; i < 1000; i++) {
          const n = round * 1000 + i;
          const task = spawn(function* () {
            if (yield* evt.wait(n % 10 === 0 ? 600_000 : 1 + (i % 5))) woken.push(n);
          });
          (n % 10 === 0 ? staying : leaving).push(task);
        }
        yield* joinall(leaving);
        expect(evt.waiting).toBe(1 + (round + 1) * 100);
      }
      evt.set();
      yield* joinall([steady, ...staying]);
    });
    expect(woken).toEqual([-1, ...Array.from({ length: 300 }, (_, k) => k * 10)]);
    expect(evt.waiting).toBe(0);
  });

  it('works from plain code, such as a host timer callback', async () => {
    const evt = new Event();
    setTimeout(() => evt.set(), 1);
    const result = await run(function* () {
      return yield* evt.wait();
    });
    expect(result).toBe(true);
  });

  it('does not let a waiter that arrives after a clear() see the earlier set (gevent: test__event.py::TestGeventWaitOnEvent::test_set_during_wait)', async () => {
    const evt = new Event();
    await run(function* () {
      const setter = spawn(function* () {
        evt.set();
      });
      expect(yield* evt.wait()).toBe(true);
      expect(evt.ready()).toBe(true);
      yield* setter.join();
      evt.clear();
      expect(evt.ready()).toBe(false);
      const ready = yield* wait([evt], { timeout: 10 });
      expect(evt.ready()).toBe(false);
      expect(ready).not.toContain(evt);
    });
    expect(evt.linkCount()).toBe(0);
  });
});

describe('wait([...]) and rawlink', () => {
  it('wait([event]) on a set event returns it at once, twice in a row (gevent: test__event.py::TestEventBasics::test_gevent_wait_twice_when_already_set)', async () => {
    const evt = new Event();
    evt.set();
    const results = await run(function* () {
      const first = yield* wait([evt]);
      const second = yield* wait([evt]);
      return [first, second];
    });
    expect(results).toEqual([[evt], [evt]]);
  });

  it('wait([event]) on a clear event times out with nothing ready (gevent: test__event.py::TestGeventWaitOnEvent)', async () => {
    const evt = new Event();
    const ready = await run(function* () {
      return yield* wait([evt], { timeout: 10 });
    });
    expect(ready).toEqual([]);
    expect(evt.linkCount()).toBe(0);
  });

  function* sender(events: Event[], asyncs: AsyncResult<number>[]) {
    while (events.length !== 0 || asyncs.length !== 0) {
      yield* sleep(0);
      events.pop()?.set();
      yield* sleep(0);
      asyncs.pop()?.set(1);
    }
  }

  for (const count of [undefined, 1, 2]) {
    it(`wait() over events and async results returns ${count ?? 'all'} of them as they become ready (gevent: test__event.py::TestWait${count === undefined ? '_notimeout' : `_count${count}`})`, async () => {
      const events = Array.from({ length: 5 }, () => new Event());
      const asyncs = Array.from({ length: 5 }, () => new AsyncResult<number>());
      const all = [...events, ...asyncs];
      await run(function* () {
        const s = spawn(sender, [...events], [...asyncs]);
        const results = yield* wait(all, count === undefined ? {} : { count });
        expect(results.length).toBe(count ?? 10);
        // The first to be ready are the last event, then the last async result.
        expect(results[0]).toBe(events[4]);
        if (count === undefined) expect(s.ready()).toBe(true);
        else expect(s.ready()).toBe(false);
        yield* s.kill();
      });
      for (const w of all) expect(w.linkCount()).toBe(0);
    });
  }

  it('rawlink calls the callback once, after set() has returned, from the hub, with the event', async () => {
    const evt = new Event();
    const calls: Event[] = [];
    evt.rawlink((e) => calls.push(e));
    expect(calls).toEqual([]);
    evt.set();
    expect(calls).toEqual([]);
    await Promise.resolve();
    expect(calls).toEqual([evt]);
    evt.clear();
    evt.set();
    await Promise.resolve();
    expect(calls).toEqual([evt]);
    expect(evt.linkCount()).toBe(0);
  });

  it('set() from a task: the callbacks run in the hub, in the order registered, before the tasks it woke, even one that waited first (departs from gevent, which runs waiters and callbacks in one order of registration)', async () => {
    const evt = new Event();
    const log: string[] = [];
    await run(function* () {
      const waiter = spawn(function* () {
        yield* evt.wait();
        log.push('waiter resumed');
      });
      yield* sleep(0);
      evt.rawlink(() => log.push(`callback 1 in ${getcurrent() === getHub() ? 'the hub' : 'a task'}`));
      evt.rawlink(() => log.push('callback 2'));
      evt.set();
      log.push('set() returned');
      yield* waiter.join();
    });
    expect(log).toEqual(['set() returned', 'callback 1 in the hub', 'callback 2', 'waiter resumed']);
  });

  it('rawlink on an event that is already set calls the callback soon, not synchronously', async () => {
    const evt = new Event();
    evt.set();
    const calls: string[] = [];
    evt.rawlink(() => calls.push('called'));
    expect(calls).toEqual([]);
    await Promise.resolve();
    expect(calls).toEqual(['called']);
  });

  it('unlink forgets a callback, and unlinking an unknown one does nothing (gevent: test__event.py::TestAsyncResult::test_link)', () => {
    const evt = new Event();
    const calls: string[] = [];
    const callback = () => calls.push('called');
    evt.rawlink(callback);
    evt.unlink(callback);
    evt.unlink(callback);
    evt.set();
    expect(calls).toEqual([]);
  });

  it('a callback that unlinks itself or a later one, or registers another, while the callbacks are called: the unlinked one is not called, the new one is, after the others (the flag is still up)', async () => {
    const evt = new Event();
    const calls: string[] = [];
    const third = () => calls.push('third');
    const fourth = () => calls.push('fourth');
    const first = () => {
      calls.push('first');
      evt.unlink(first);
      evt.unlink(third);
    };
    const second = () => {
      calls.push('second');
      evt.rawlink(fourth);
    };
    evt.rawlink(first);
    evt.rawlink(second);
    evt.rawlink(third);
    expect(evt.linkCount()).toBe(3);
    evt.set();
    expect(calls).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['first', 'second', 'fourth']);
    expect(evt.linkCount()).toBe(0);
  });

  it('a callback registered twice is called twice; unlink removes one registration, the first not called yet; linkCount counts each (gevent keeps a list)', async () => {
    const evt = new Event();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    evt.rawlink(a);
    evt.rawlink(b);
    evt.rawlink(a);
    expect(evt.linkCount()).toBe(3);
    evt.unlink(a);
    expect(evt.linkCount()).toBe(2);
    evt.set();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['b', 'a']);
    calls.length = 0;
    const dropsLater = () => {
      calls.push('drops the later a');
      evt.unlink(a);
    };
    evt.rawlink(a);
    evt.rawlink(dropsLater);
    evt.rawlink(a);
    evt.rawlink(a);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['a', 'drops the later a', 'a']);
    expect(evt.linkCount()).toBe(0);
  });

  it('unlink from the front, the end and the middle, past the middle of the list and registering again: the rest are called in order, once each', async () => {
    const evt = new Event();
    const calls: number[] = [];
    const cb = Array.from({ length: 10 }, (_, i) => () => void calls.push(i));
    for (const c of cb) evt.rawlink(c);
    for (const i of [0, 1, 2, 9, 5, 3]) evt.unlink(cb[i] as () => void);
    evt.rawlink(cb[0] as () => void);
    expect(evt.linkCount()).toBe(5);
    for (const i of [4, 6]) evt.unlink(cb[i] as () => void);
    evt.rawlink(cb[1] as () => void);
    expect(evt.linkCount()).toBe(4);
    evt.set();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual([7, 8, 0, 1]);
    expect(evt.linkCount()).toBe(0);
  });

  it('a callback registered while the callbacks are called is called by the next notification, after one already queued (gevent: _notify_link_list stops at the link that was last when it began)', async () => {
    const evt = new Event();
    const other = new Event();
    const calls: string[] = [];
    evt.rawlink(() => {
      calls.push('first');
      evt.rawlink(() => calls.push('late'));
    });
    evt.rawlink(() => calls.push('second'));
    other.rawlink(() => calls.push('other event'));
    evt.set();
    other.set();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['first', 'second', 'other event', 'late']);
  });

  it('a callback registered during a notification whose flag is cleared meanwhile waits for the next set(), as in gevent', async () => {
    const evt = new Event();
    const calls: string[] = [];
    evt.rawlink(() => {
      calls.push('first');
      evt.rawlink(() => calls.push('late'));
      evt.clear();
    });
    evt.set();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['first']);
    expect(evt.linkCount()).toBe(1);
    evt.set();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toEqual(['first', 'late']);
  });

  it('rawlink refuses what is not a function (gevent: test__event.py::TestAsyncResult::test_link)', () => {
    const evt = new Event();
    expect(() => evt.rawlink(null as unknown as () => void)).toThrow(TypeError);
  });

  it('reports a callback that throws through the hub reporter and still calls the others', async () => {
    const hub = getHub();
    const previous = hub.reporter;
    const reports: HubReport[] = [];
    hub.reporter = (r) => reports.push(r);
    try {
      const evt = new Event();
      const calls: string[] = [];
      const failure = new Error('callback failed');
      evt.rawlink(() => {
        throw failure;
      });
      evt.rawlink(() => calls.push('second'));
      evt.set();
      await Promise.resolve();
      expect(calls).toEqual(['second']);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ kind: 'callback-error', error: failure });
    } finally {
      hub.reporter = previous;
    }
  });
});

describe('property', () => {
  type Op =
    | { kind: 'wait' }
    | { kind: 'timedWait' }
    | { kind: 'kill'; index: number }
    | { kind: 'step' }
    | { kind: 'advance' }
    | { kind: 'set' }
    | { kind: 'clear' };

  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant<Op>({ kind: 'wait' }), weight: 4 },
    { arbitrary: fc.constant<Op>({ kind: 'timedWait' }), weight: 2 },
    { arbitrary: fc.nat(20).map<Op>((index) => ({ kind: 'kill', index })), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'step' }), weight: 3 },
    { arbitrary: fc.constant<Op>({ kind: 'advance' }), weight: 1 },
    { arbitrary: fc.constant<Op>({ kind: 'set' }), weight: 2 },
    { arbitrary: fc.constant<Op>({ kind: 'clear' }), weight: 2 },
  );

  it('every task waiting at set() is woken exactly once with true; kills and timeouts leave nothing registered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 8, maxLength: 30 }), async (ops) => {
        const evt = new Event();
        interface Waiter {
          task: Task;
          timed: boolean;
          started: boolean;
          waiting: boolean;
          killed: boolean;
          results: boolean[];
          finallies: number;
        }
        const waiters: Waiter[] = [];
        const presentAtSet = new Set<Waiter>();
        const start = (timed: boolean): void => {
          const w: Waiter = { task: null as unknown as Task, timed, started: false, waiting: false, killed: false, results: [], finallies: 0 };
          w.task = spawn(function* () {
            w.started = true;
            w.waiting = true;
            try {
              w.results.push(yield* evt.wait(timed ? 1 : undefined));
            } finally {
              w.waiting = false;
              w.finallies++;
            }
          });
          waiters.push(w);
        };
        await run(function* () {
          for (const o of ops) {
            switch (o.kind) {
              case 'wait':
                start(false);
                break;
              case 'timedWait':
                start(true);
                break;
              case 'kill':
              case 'step':
              case 'advance':
                yield* sharedStep(o, waiters);
                break;
              case 'set':
                for (const w of waiters) if (w.waiting && !w.killed) presentAtSet.add(w);
                evt.set();
                break;
              case 'clear':
                evt.clear();
                break;
            }
          }
          evt.set();
          for (const w of waiters) yield* w.task.join();
        });
        for (const w of waiters) {
          // A task killed before it started never runs, so it has no finally to run.
          expect(w.finallies).toBe(w.started ? 1 : 0);
          expect(w.results.length).toBeLessThanOrEqual(1);
          if (!w.killed) expect(w.results.length).toBe(1);
          // A timed waiter present at set() may have had its timeout strike just before.
          if (presentAtSet.has(w) && !w.timed) expect(w.results).toEqual([true]);
          if (w.results[0] === false) expect(w.timed).toBe(true);
        }
        expect(evt.waiting).toBe(0);
        expect(evt.linkCount()).toBe(0);
        expect(getHub().timers.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

});
