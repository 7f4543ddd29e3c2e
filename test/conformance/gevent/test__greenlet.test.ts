/**
 * Port of gevent's `src/gevent/tests/test__greenlet.py` (gevent 26.5.0), which tests
 * gevent's `Greenlet` (greenlet-ts's `Task`): the PORTABLE and ADAPT tests of
 * CATALOG.md, one test per reference test, named after it. The classes gevent derives
 * to run the same tests another way (TestReturn_link_value, TestKillAfterStart, ...) run
 * here with the same variations (`describe.each`).
 *
 * Mechanical mapping: `gevent.spawn(f, *args)` → `spawn(f, ...args)`; a task raising with
 * `getcurrent().throw(err)` → `throw err`; link targets that are bound methods
 * (`q.put`) → arrows (`(t) => q.put(t)`); `bool(g)` → `g.active`.
 *
 * Not ported (N/A in CATALOG.md): spawn_raw, keyword arguments, exc_info,
 * spawn_tree_locals / spawning_stack, add_spawn_callback, the minimal_ident of a
 * greenlet whose parent is not the hub, `with greenlet:` (TestContextManager), and the
 * C / pure-Python module checks.
 */
import { describe, expect, it } from 'vitest';
import {
  AsyncResult,
  Channel,
  GreenletExit,
  Queue,
  Task,
  getHub,
  joinall,
  killall,
  settrace,
  sleep,
  spawn,
  spawnLater,
  withTimeout,
  type GreenletBody,
  type SwitchOp,
  type KillOptions,
  type Task as TaskType,
} from 'greenlet-ts';
import {
  ExpectedException,
  FOREVER,
  LARGE_TICK,
  SMALLEST_RELIABLE_DELAY,
  SMALL_TICK,
  collectReports,
  expectNoTimersLeft,
  genericGetTests,
  genericWaitTests,
  inTask,
  raisedBy,
} from './harness.js';

expectNoTimersLeft();
const reports = collectReports();

const DELAY = SMALL_TICK;
/** The reference's `X = object()`: what a timed-out wait evaluates to. */
const X = Object.freeze({ X: true });

class ExpectedError extends ExpectedException {}

function* sleeper(ms: number): GreenletBody<void> {
  yield* sleep(ms);
}

function dummyTestFunc(..._args: unknown[]): void {}

/** A task that fails with `error` as soon as it runs (the reference's `getcurrent().throw(err)`). */
function raising(error: Error): TaskType<never> {
  return spawn((): never => {
    throw error;
  });
}

describe('TestLink', () => {
  it('test_link_to_asyncresult: link(result) sets the AsyncResult, also when linked after the end', async () => {
    await inTask(function* () {
      const p = spawn(() => 100);
      const event = new AsyncResult<number>();
      p.link(event);
      expect(yield* event.get()).toBe(100);
      for (let i = 0; i < 3; i++) {
        const event2 = new AsyncResult<number>();
        p.link(event2);
        expect(yield* event2.get()).toBe(100);
      }
    });
  });

  it('test_link_to_asyncresult_exception: link(result) passes the task\'s error on', async () => {
    await inTask(function* () {
      const err = new ExpectedError('test_link_to_asyncresult_exception');
      const p = raising(err);
      const event = new AsyncResult();
      p.link(event);
      expect(yield* raisedBy(() => event.get())).toBe(err);
      for (let i = 0; i < 3; i++) {
        const event2 = new AsyncResult();
        p.link(event2);
        expect(yield* raisedBy(() => event2.get())).toBe(err);
      }
    });
  });

  it('test_link_to_queue: a link that puts the task into a queue (p.link(q.put) with an arrow)', async () => {
    await inTask(function* () {
      const p = spawn(() => 100);
      const q = new Queue<TaskType<number>>();
      p.link((t) => q.put(t));
      expect(yield* (yield* q.get()).get()).toBe(100);
      for (let i = 0; i < 3; i++) {
        p.link((t) => q.put(t));
        expect(yield* (yield* q.get()).get()).toBe(100);
      }
    });
  });

  it('test_link_to_channel: three tasks linked to one channel each send themselves', async () => {
    await inTask(function* () {
      const tasks = [spawn(() => 101), spawn(() => 102), spawn(() => 103)];
      const q = new Channel<TaskType<number>>();
      for (const p of tasks) p.link((t) => q.send(t));
      const results: number[] = [];
      for (let i = 0; i < 3; i++) results.push(yield* ((yield* q.recv()) as TaskType<number>).get());
      expect(results.sort()).toEqual([101, 102, 103]);
    });
  });
});

describe('TestUnlink', () => {
  describe.each(['link', 'linkValue', 'linkException'] as const)('%s', (method) => {
    const name = { link: 'test_func_link', linkValue: 'test_func_link_value', linkException: 'test_func_link_exception' }[method];
    it(`${name}: hasLinks() after ${method} and unlink`, async () => {
      await inTask(function* () {
        const p = spawn(dummyTestFunc);
        const other = (): void => {};
        p[method](dummyTestFunc);
        expect(p.hasLinks()).toBe(true);
        p.unlink(dummyTestFunc);
        expect(p.hasLinks()).toBe(false);
        p[method](other);
        expect(p.hasLinks()).toBe(true);
        p.unlink(other);
        expect(p.hasLinks()).toBe(false);
        yield* p.kill();
      });
    });
  });
});

// --- LinksTestCase and its subclasses ----------------------------------------------------

type LinkMethod = 'link' | 'linkValue' | 'linkException';

/** The reference's set_links: an AsyncResult, a queue, a callback and 20 more targets. */
function setLinks(p: TaskType, method: LinkMethod) {
  const event = new AsyncResult<unknown>();
  p[method](event);
  const queue = new Queue<TaskType>(1);
  p[method]((t) => queue.put(t));
  const callbackFlag = ['initial'];
  p[method](() => void callbackFlag.splice(callbackFlag.indexOf('initial'), 1));
  for (let i = 0; i < 10; i++) {
    p[method](new AsyncResult());
    const extra = new Queue<TaskType>(1);
    p[method]((t) => extra.put(t));
  }
  return { event, queue, callbackFlag };
}

/** The reference's set_links_timeout: targets that the link method given never fires. */
function setLinksTimeout(p: TaskType, method: LinkMethod) {
  const event = new AsyncResult<unknown>();
  p[method](event);
  const queue = new Channel<TaskType>();
  p[method]((t) => queue.send(t));
  return { event, queue };
}

function* checkTimedOut(event: AsyncResult<unknown>, queue: Channel<TaskType>): GreenletBody<void> {
  expect(yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => event.get())).toBe(X);
  expect(yield* withTimeout({ ms: DELAY, timeoutValue: X }, () => queue.recv())).toBe(X);
}

describe.each<[string, LinkMethod]>([
  ['TestReturn_link', 'link'],
  ['TestReturn_link_value', 'linkValue'],
])('%s', (_name, method) => {
  function* testReturn(p: TaskType, result: unknown): GreenletBody<void> {
    const { event, queue, callbackFlag } = setLinks(p, method);
    // stuff that will time out because there's no unhandled exception:
    const untouched = setLinksTimeout(p, 'linkException');
    yield* sleep(DELAY * 2);
    expect(p.active).toBe(false);
    expect(yield* event.get()).toBe(result);
    expect(yield* (yield* queue.get()).get()).toBe(result);
    yield* sleep(DELAY);
    expect(callbackFlag).toEqual([]);
    yield* checkTimedOut(untouched.event, untouched.queue);
  }

  it('test_return: every target gets the value, also targets linked after the end', async () => {
    await inTask(function* () {
      const p = spawn(() => 25);
      for (let i = 0; i < 3; i++) yield* testReturn(p, 25);
      yield* p.kill();
    });
  });

  function* testKill(p: TaskType): GreenletBody<void> {
    const { event, queue, callbackFlag } = setLinks(p, method);
    const untouched = setLinksTimeout(p, 'linkException');
    yield* p.kill();
    yield* sleep(DELAY);
    expect(p.active).toBe(false);
    expect(yield* event.get()).toBeInstanceOf(GreenletExit);
    expect((yield* queue.get()).value).toBeInstanceOf(GreenletExit);
    yield* sleep(DELAY);
    expect(callbackFlag).toEqual([]);
    yield* checkTimedOut(untouched.event, untouched.queue);
  }

  it('test_kill: every target gets the GreenletExit of a killed task', async () => {
    await inTask(function* () {
      const p = spawn(sleeper, DELAY);
      for (let i = 0; i < 3; i++) yield* testKill(p);
    });
  });
});

describe.each<[string, LinkMethod]>([
  ['TestRaise_link', 'link'],
  ['TestRaise_link_exception', 'linkException'],
])('%s', (_name, method) => {
  function* testRaise(p: TaskType): GreenletBody<void> {
    const { event, queue, callbackFlag } = setLinks(p, method);
    const untouched = setLinksTimeout(p, 'linkValue');
    yield* sleep(DELAY);
    expect(p.active).toBe(false);
    expect(yield* raisedBy(() => event.get())).toBeInstanceOf(ExpectedError);
    expect(yield* queue.get()).toBe(p);
    yield* sleep(DELAY);
    expect(callbackFlag).toEqual([]);
    yield* checkTimedOut(untouched.event, untouched.queue);
  }

  it('test_raise: every target gets the error of a task that fails', async () => {
    await inTask(function* () {
      const p = raising(new ExpectedError('test_raise'));
      for (let i = 0; i < 3; i++) yield* testRaise(p);
    });
  });
});

// --- TestStuff ---------------------------------------------------------------------------

describe('TestStuff', () => {
  it('test_minimal_id: a task has a small positive id (its parent, the hub, has none)', async () => {
    await inTask(function* () {
      const g = spawn(() => 1);
      expect(g.id).toBeGreaterThan(0);
      expect(g.parent).toBe(getHub());
      yield* g.join();
    });
  });

  it('test_wait_noerrors: joinall with raiseError; link(result), unlink(result), link again', async () => {
    await inTask(function* () {
      const x = spawn(() => 1);
      const y = spawn(() => 2);
      const z = spawn(() => 3);
      yield* joinall([x, y, z], { raiseError: true });
      expect([x.value, y.value, z.value]).toEqual([1, 2, 3]);
      let e = new AsyncResult<number>();
      x.link(e);
      expect(yield* e.get()).toBe(1);
      x.unlink(e);
      e = new AsyncResult<number>();
      x.link(e);
      expect(yield* e.get()).toBe(1);
    });
  });

  it('test_wait_error: joinall with raiseError raises the failure', async () => {
    await inTask(function* () {
      const x = spawn(function* () {
        yield* sleep(DELAY);
        return 1;
      });
      const y = raising(new ExpectedError('test_wait_error'));
      expect(yield* raisedBy(() => joinall([x, y], { raiseError: true }))).toBeInstanceOf(ExpectedError);
      expect(yield* raisedBy(() => joinall([y], { raiseError: true }))).toBeInstanceOf(ExpectedError);
      yield* x.join();
    });
  });

  it('test_joinall_exception_order: of several failures, joinall raises the earliest', async () => {
    await inTask(function* () {
      const a = spawn(function* () {
        yield* sleep(LARGE_TICK);
        throw new ExpectedError('first');
      });
      const b = raising(new ExpectedError('second'));
      const error = yield* raisedBy(() => joinall([a, b], { raiseError: true }));
      expect(error).toBeInstanceOf(ExpectedError);
      expect((error as Error).message).toBe('second');
      yield* joinall([a, b]);
    });
  });

  it('test_joinall_count_raise_error: count stops the wait after one task, without raising', async () => {
    await inTask(function* () {
      const sleeper2 = spawn(function* () {
        for (;;) yield* sleep(LARGE_TICK);
      });
      const raiser = raising(new ExpectedError('count'));
      yield* joinall([sleeper2, raiser], { raiseError: false, count: 1 });
      expect([raiser.dead, raiser.ready(), raiser.active]).toEqual([true, true, false]);
      expect([sleeper2.dead, sleeper2.ready()]).toEqual([false, false]);
      yield* sleeper2.kill();
      expect([sleeper2.dead, sleeper2.ready(), sleeper2.active]).toEqual([true, true, false]);
    });
  });

  it('test_multiple_listeners_error: a link that throws does not stop the others; each error is reported', async () => {
    await inTask(function* () {
      let results: number[] = [];
      const listener1 = (): never => {
        results.push(10);
        throw new ExpectedError('listener1');
      };
      const listener2 = (): never => {
        results.push(20);
        throw new ExpectedError('listener2');
      };
      const listener3 = (): never => {
        throw new ExpectedError('listener3');
      };
      let p: TaskType = spawn(() => 5);
      p.link(listener1);
      p.link(listener2);
      p.link(listener3);
      yield* sleep(DELAY);
      expect([[10, 20], [20, 10]]).toContainEqual(results);

      p = raising(new ExpectedError('test_multiple_listeners_error'));
      results = [];
      p.link(listener1);
      p.link(listener2);
      p.link(listener3);
      yield* sleep(DELAY);
      expect([[10, 20], [20, 10]]).toContainEqual(results);
    });
    // gevent's handle_error: here each failed link task is reported once.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reports.map((r) => (r.kind === 'task-error' ? (r.error as Error).message : r.kind)).sort()).toEqual(
      ['listener1', 'listener1', 'listener2', 'listener2', 'listener3', 'listener3'],
    );
  });

  /** The reference's Results: listener1 and listener2 each unlink the other. */
  function makeResults() {
    const results: number[] = [];
    const listeners = {
      listener1(p: { unlink(cb: never): void }): never {
        p.unlink(listeners.listener2 as never);
        results.push(5);
        throw new ExpectedError('listener1');
      },
      listener2(p: { unlink(cb: never): void }): never {
        p.unlink(listeners.listener1 as never);
        results.push(5);
        throw new ExpectedError('listener2');
      },
      listener3(): never {
        throw new ExpectedError('listener3');
      },
    };
    return { results, listeners };
  }

  it('test_multiple_listeners_error_unlink_Greenlet_link: a link that unlinks a later one stops it, though the notification has begun', async () => {
    await inTask(function* () {
      const p = spawn(() => 5);
      const { results, listeners } = makeResults();
      p.link(listeners.listener1);
      p.link(listeners.listener2);
      p.link(listeners.listener3);
      yield* sleep(DELAY);
      expect(results).toEqual([5]);
      yield* p.kill();
    });
  });

  it('test_multiple_listeners_error_unlink_Greenlet_rawlink: the same with rawlink', async () => {
    await inTask(function* () {
      const p = spawn(() => 5);
      const { results, listeners } = makeResults();
      p.rawlink(listeners.listener1);
      p.rawlink(listeners.listener2);
      p.rawlink(listeners.listener3);
      yield* sleep(DELAY);
      expect(results).toEqual([5]);
    });
  });

  it('test_multiple_listeners_error_unlink_AsyncResult_rawlink: the same on an AsyncResult', async () => {
    await inTask(function* () {
      const e = new AsyncResult<number>();
      spawn(() => e.set(6));
      const { results, listeners } = makeResults();
      e.rawlink(listeners.listener1);
      e.rawlink(listeners.listener2);
      e.rawlink(listeners.listener3);
      yield* sleep(DELAY);
      expect(results).toEqual([5]);
    });
  });
});

// --- TestStr -----------------------------------------------------------------------------

describe('TestStr', () => {
  it('test_function: a task is shown with the name of its function', async () => {
    await inTask(function* () {
      const g = spawn(dummyTestFunc);
      expect(String(g)).toMatch(/^<Task "dummyTestFunc-\d+" ready>$/);
      expect(g.ready()).toBe(false);
      yield* g.join();
      expect(g.ready()).toBe(true);
      expect(String(g)).toMatch(/^<Task "dummyTestFunc-\d+" done>$/);
    });
  });

  it('test_method: a bound method\'s task, and a name assigned to it', async () => {
    await inTask(function* () {
      class A {
        method(): void {}
      }
      const a = new A();
      const g = spawn(a.method.bind(a));
      expect(String(g)).toMatch(/^<Task "bound method-\d+" ready>$/);
      g.name = 'Foo';
      expect(String(g)).toBe('<Task "Foo" ready>');
      yield* g.join();
      expect(g.ready()).toBe(true);
      expect(String(g)).toBe('<Task "Foo" done>');
    });
  });

  it('test_subclass: a subclass\'s tasks are named after it (arguments are not shown)', () => {
    class Subclass extends Task<void, unknown[]> {
      override *run(): GreenletBody<void> {}
    }
    expect(String(new Subclass())).toMatch(/^<Task "Subclass-\d+" new>$/);
    expect(String(new Subclass(undefined, 'question', 42))).toMatch(/^<Task "Subclass-\d+" new>$/);
  });
});

// --- the generic wait and get tests ------------------------------------------------------

describe('TestJoin', () => {
  genericWaitTests(function* (timeout) {
    const g = spawn(sleeper, FOREVER);
    try {
      return yield* g.join(timeout);
    } finally {
      g.kill({ block: false });
    }
  }, false);
});

describe('TestGet', () => {
  genericGetTests(function* (timeout) {
    const g = spawn(sleeper, FOREVER);
    try {
      return yield* g.get(timeout);
    } finally {
      g.kill({ block: false });
    }
  });
});

describe('TestJoinAll0', () => {
  const g = new Task(); // never started
  genericWaitTests((timeout) => joinall([g], timeout === undefined ? {} : { timeout }), []);
});

describe('TestJoinAll', () => {
  genericWaitTests(function* (timeout) {
    const g = spawn(sleeper, FOREVER);
    try {
      return yield* joinall([g], timeout === undefined ? {} : { timeout });
    } finally {
      g.kill({ block: false });
    }
  }, []);
});

// --- TestBasic ---------------------------------------------------------------------------

describe('TestBasic', () => {
  it('test_spawn_non_callable: spawn(1), spawnLater(1) and spawnLater(1, 1) raise TypeError', () => {
    expect(() => spawn(1 as never)).toThrow(TypeError);
    const spawnLaterUntyped = spawnLater as (...args: unknown[]) => unknown;
    expect(() => spawnLaterUntyped(1)).toThrow(TypeError);
    expect(() => spawnLaterUntyped(1, 1)).toThrow(TypeError);
  });

  function* func(delay: number, returnValue = 4): GreenletBody<number> {
    yield* sleep(delay);
    return returnValue;
  }

  it('test_simple_exit: the states of a task before start, after start, while it runs, and after it returns', async () => {
    await inTask(function* () {
      const linkTest: unknown[] = [];
      const g = new Task(func, SMALL_TICK, 5);
      g.rawlink((t) => void linkTest.push(t));
      const state = () => [g.active, g.dead, g.started, g.ready(), g.successful(), g.value, g.exception];
      expect(state()).toEqual([false, false, false, false, false, undefined, undefined]);

      g.start();
      expect(state()).toEqual([true, false, true, false, false, undefined, undefined]); // active, started: changed

      yield* sleep(1);
      expect(state()).toEqual([true, false, true, false, false, undefined, undefined]);
      expect(linkTest).toEqual([]);

      yield* sleep(SMALL_TICK * 2);
      expect(state()).toEqual([false, true, false, true, true, 5, undefined]); // changed
      expect(linkTest).toEqual([g]);
    });
  });

  it('test_error_exit: the states of a task after it failed; the error keeps its own properties', async () => {
    await inTask(function* () {
      const linkTest: unknown[] = [];
      const g = new Task(function* (delay: number, returnValue = 4): GreenletBody<never> {
        yield* sleep(delay);
        const error = new ExpectedError('test_error_exit') as ExpectedError & { myattr?: number };
        error.myattr = returnValue;
        throw error;
      }, SMALLEST_RELIABLE_DELAY, 5);
      g.rawlink((t) => void linkTest.push(t));
      g.start();
      yield* sleep(0);
      yield* sleep(LARGE_TICK);
      expect([g.active, g.dead, g.started, g.ready(), g.successful(), g.value]).toEqual([false, true, false, true, false, undefined]);
      expect((g.exception as { myattr?: number }).myattr).toBe(5);
      expect(linkTest).toEqual([g]);
    });
  });

  it('test_recursion_error: a stack overflow (RangeError) in a task ends it, and is reported once', async () => {
    let g = null as unknown as TaskType<number>;
    await inTask(function* () {
      const recur = (): number => recur() + 1;
      g = spawn(recur);
      yield* sleep(LARGE_TICK); // nobody waits for it: the hub reports it (gevent: handle_error)
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'task-error', task: g });
    expect((reports[0] as { error: unknown }).error).toBeInstanceOf(RangeError);
    await inTask(function* () {
      expect(yield* raisedBy(() => g.get())).toBeInstanceOf(RangeError);
    });
    expect(g.successful()).toBe(false);
    expect(g.dead).toBe(true);
  });
});

// --- TestKill and its subclasses ---------------------------------------------------------

type Starter = (g: TaskType) => void;

describe.each<[string, Starter, boolean]>([
  ['TestKill', () => {}, false],
  ['TestKillAfterStart', (g) => void g.start(), false],
  ['TestKillAfterStartLater', (g) => void g.startLater(LARGE_TICK), false],
  // gevent's TestKillWhileRunning gives the greenlet a body that sleeps but does not start it.
  ['TestKillWhileRunning', () => {}, true],
])('%s', (_name, startGreenlet, sleeps) => {
  function* runInGreenlet(resultCollector: number[]): GreenletBody<void> {
    if (sleeps) yield* sleep(FOREVER);
    resultCollector.push(1);
  }

  /** The reference's __assertKilled. */
  function assertKilled(g: TaskType, successful: boolean): void {
    expect([g.active, g.dead, g.started, g.ready()]).toEqual([false, true, false, true]);
    if (successful) {
      expect(g.successful()).toBe(true);
      expect(g.value).toBeInstanceOf(GreenletExit);
      expect(g.exception).toBeUndefined();
    } else {
      expect(g.successful()).toBe(false);
      expect(g.value).not.toBeInstanceOf(GreenletExit);
      expect(g.exception).toBeDefined();
    }
  }

  function* killGreenlet(g: TaskType, block: boolean, useKillall: boolean, exc: KillOptions['error']): GreenletBody<void> {
    const killer = (): SwitchOp<void> =>
      useKillall ? killall([g], { error: exc, block }) : g.kill({ error: exc, block });
    yield* killer();
    if (!block) yield* sleep(SMALLEST_RELIABLE_DELAY); // a turn of the hub, for the kill to take effect
    const successful = exc === undefined || (typeof exc === 'function' && exc.prototype instanceof GreenletExit) || exc === GreenletExit;
    assertKilled(g, successful);
    yield* sleep(SMALL_TICK); // spin the loop to make sure it doesn't run
    assertKilled(g, successful);
    // kill second time must not hurt
    yield* killer();
    assertKilled(g, successful);
  }

  function* doTest(block: boolean, useKillall: boolean, exc?: KillOptions['error']): GreenletBody<void> {
    const linkTest: unknown[] = [];
    const result: number[] = [];
    const g = new Task(runInGreenlet, result);
    g.link((t) => void linkTest.push(t));
    startGreenlet(g);
    yield* killGreenlet(g, block, useKillall, exc);
    if (sleeps) yield* sleep(SMALL_TICK);
    expect(result).toEqual([]);
    expect(linkTest).toEqual([g]);
  }

  it('test_block: kill() waits; a killed task never runs; its links fire once', () => inTask(() => doTest(true, false)));
  it('test_non_block: kill({ block: false }), then a turn of the hub', () => inTask(() => doTest(false, false)));
  it('test_block_killall: killall([t]) waits', () => inTask(() => doTest(true, true)));
  it('test_non_block_killal: killall([t], { block: false })', () => inTask(() => doTest(false, true)));
  it('test_non_type_exception: kill with an error instance: the task fails with it', () =>
    inTask(() => doTest(true, false, new Error())));
  it('test_non_type_exception_non_block: the same without waiting', () => inTask(() => doTest(false, false, new Error())));
  it('test_non_type_exception_killall: the same through killall', () => inTask(() => doTest(true, true, new Error())));
  it('test_non_type_exception_killall_non_block: the same through killall, without waiting', () =>
    inTask(() => doTest(false, true, new Error())));

  /** A value that is not an error is refused at the call (gevent wraps it in a BaseException). */
  function* refusesNonError(block: boolean, useKillall: boolean): GreenletBody<void> {
    const result: number[] = [];
    const g = new Task(runInGreenlet, result);
    startGreenlet(g);
    const error = yield* raisedBy(() =>
      useKillall ? killall([g], { error: 42 as never, block }) : g.kill({ error: 42 as never, block }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(g.ready()).toBe(false);
    yield* g.kill();
    expect(result).toEqual([]);
  }

  it('test_non_exc_exception: kill with 42 raises TypeError; the task is untouched', () => inTask(() => refusesNonError(true, false)));
  it('test_non_exc_exception_non_block: the same without waiting', () => inTask(() => refusesNonError(false, false)));
  it('test_non_exc_exception_killall: the same through killall', () => inTask(() => refusesNonError(true, true)));
  it('test_non_exc_exception_killall_non_block: the same through killall, without waiting', () =>
    inTask(() => refusesNonError(false, true)));
});

// --- TestStart, TestRef, TestDeadPropertyDuringSwitch ---------------------------------

describe('TestStart', () => {
  it('test_start: start() after spawn, and after the end, does nothing', async () => {
    await inTask(function* () {
      const g = spawn(sleeper, SMALL_TICK);
      expect([g.started, g.dead]).toEqual([true, false]);
      g.start();
      expect([g.started, g.dead]).toEqual([true, false]);
      yield* g.join();
      expect([g.started, g.dead]).toEqual([false, true]);
      g.start(); // cannot start again
      expect([g.started, g.dead]).toEqual([false, true]);
    });
  });
});

describe('TestRef', () => {
  it('test_init: new Task() without a function', () => {
    const g = new Task();
    expect(g.started).toBe(false);
  });

  it('test_kill_scheduled: kill of a spawned task that never ran', async () => {
    await inTask(function* () {
      const g = spawn(sleeper, LARGE_TICK);
      yield* g.kill();
      expect(g.dead).toBe(true);
    });
  });

  it('test_kill_started: kill of a sleeping task', async () => {
    await inTask(function* () {
      const g = spawn(sleeper, LARGE_TICK);
      try {
        yield* sleep(SMALLEST_RELIABLE_DELAY);
      } finally {
        yield* g.kill();
      }
      expect(g.dead).toBe(true);
    });
  });
});

describe('TestDeadPropertyDuringSwitch', () => {
  it('test_dead_is_false_for_current_greenlet_during_switch: a switch event never sees its target dead', async () => {
    const deadValues: boolean[] = [];
    await inTask(function* () {
      const old = settrace((event, [, target]) => {
        if (event === 'switch') deadValues.push(target.dead);
      });
      try {
        const g = spawn(() => 42);
        yield* g.join();
      } finally {
        settrace(old);
      }
    });
    expect(deadValues.length).toBeGreaterThan(0);
    expect(deadValues.every((dead) => !dead)).toBe(true);
  });
});

