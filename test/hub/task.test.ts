/**
 * Tasks (gevent's Greenlet): starting, results, joining, killing, links.
 * Behaviours from gevent's src/gevent/tests/test__greenlet.py, cited per test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AsyncResult,
  ContextVar,
  Group,
  GreenletError,
  GreenletExit,
  Task,
  Timeout,
  getHub,
  currentTask,
  currentTaskOrNull,
  getcurrent,
  killall,
  run,
  sleep,
  spawn,
  spawnLater,
  type GreenletBody,
} from 'greenlet-ts';
import { collectUntil } from '../conformance/greenlet/fixtures/gc-harness.js';

class ExpectedError extends Error {}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

describe('starting', () => {
  it('spawn schedules the task for the next hub pass instead of running it synchronously', async () => {
    const order: string[] = [];
    const task = spawn(function* () {
      order.push('task ran');
    });
    order.push('after spawn');
    expect(task.started).toBe(true);
    expect(task.ready()).toBe(false);
    await task;
    expect(order).toEqual(['after spawn', 'task ran']);
  });

  it('start() is idempotent: a task runs once however often it is started (gevent: TestStart::test_start)', async () => {
    let runs = 0;
    const task = new Task(function* () {
      runs++;
    });
    expect(task.started).toBe(false);
    task.start();
    task.start();
    await task;
    task.start();
    expect(runs).toBe(1);
  });

  it('spawnLater starts the task after the delay, not before', async () => {
    const order: string[] = [];
    await run(function* () {
      const later = spawnLater(20, function* () {
        order.push('later');
      });
      yield* sleep(0);
      order.push('before the delay');
      yield* later.join();
    });
    expect(order).toEqual(['before the delay', 'later']);
  });

  it('passes the spawn arguments to the function and types the result', async () => {
    const task = spawn(function* (a: number, b: string) {
      yield* sleep(0);
      return `${b}${a}`;
    }, 7, 'x');
    const value: string = await task;
    expect(value).toBe('x7');
  });

  it('runs tasks in the order they were spawned', async () => {
    const order: number[] = [];
    await run(function* () {
      const tasks = [1, 2, 3, 4].map((i) =>
        spawn(function* () {
          order.push(i);
        }),
      );
      for (const t of tasks) yield* t.join();
    });
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('gives each task a name from its function and a small id (gevent: TestStuff::test_minimal_id)', () => {
    function* fetchPage() {}
    const a = new Task(fetchPage);
    expect(a.name).toBe(`fetchPage-${a.id}`);
    a.name = 'custom';
    expect(a.name).toBe('custom');
    a.kill();
  });

  it('gives a task its id when first asked for, as gevent gives minimal_ident: ids count in order of first use', () => {
    function* fetchPage() {}
    const older = new Task(fetchPage);
    const newer = new Task(fetchPage);
    const first = newer.id;
    expect(older.id).toBe(first + 1);
    expect(newer.id).toBe(first);
    expect(newer.name).toBe(`fetchPage-${first}`);
    older.kill();
    newer.kill();
  });

  it('keeps its name from its function once it has ended, and a name given before or after', async () => {
    function* fetchPage() {
      return 1;
    }
    const plain = spawn(fetchPage);
    const named = spawn(fetchPage);
    named.name = 'given';
    const later = new Task(fetchPage).startLater(1);
    later.name = 'given later';
    await run(function* () {
      yield* plain.join();
      yield* named.join();
      yield* later.join();
    });
    expect(plain.name).toBe(`fetchPage-${plain.id}`);
    expect(named.name).toBe('given');
    expect(later.name).toBe('given later');
    later.name = 'renamed after its end';
    expect(later.name).toBe('renamed after its end');
  });

  it('is the current greenlet inside its own function', async () => {
    const task: Task = spawn(function* () {
      return getcurrent() === task;
    });
    expect(await task).toBe(true);
  });

  it('refuses to resolve a promise with itself when the task returns itself', async () => {
    const task: Task = spawn(function* () {
      return getcurrent();
    });
    await expect(task.toPromise()).rejects.toThrow(/returned itself: awaiting it would never end/);
  });

  it('starts with a copy of its spawner\'s context variables', async () => {
    const requestId = new ContextVar<string>('requestId', { default: '-' });
    const seen = await run(function* () {
      requestId.set('r-1');
      const child = spawn(function* () {
        const inherited = requestId.get();
        requestId.set('changed in child');
        return inherited;
      });
      const inherited = yield* child.get();
      return [inherited, requestId.get()];
    });
    expect(seen).toEqual(['r-1', 'r-1']);
  });

  it('refuses to change the parent of a task', () => {
    const task = new Task(function* () {});
    expect(() => {
      task.parent = getcurrent();
    }).toThrow(GreenletError);
    task.kill();
  });

  // gevent: Greenlet.run drops _run, args and kwargs once the function has returned.
  it('drops its function when it ends, keeps the name, and the hub holds it no longer than the pass', async () => {
    let freed = 0;
    const registry = new FinalizationRegistry(() => freed++);
    // Spawned and awaited from plain code: the last task to end is one of these.
    const tasks = [1, 2, 3].map((n) => {
      const big = new Array(1000).fill(n);
      // A generator function made for this task, holding `big`.
      const fetchPage = function* (): GreenletBody<number> {
        return big.length;
      };
      registry.register(fetchPage, n);
      return spawn(fetchPage);
    });
    expect(await Promise.all(tasks)).toEqual([1000, 1000, 1000]);
    const names = tasks.map((t) => t.name.replace(/-\d+$/, ''));
    expect(names).toEqual(['fetchPage', 'fetchPage', 'fetchPage']);
    await collectUntil(() => freed === 3, { description: 'the functions of the 3 ended tasks to be collected' });
    expect(freed).toBe(3);
  });
});

describe('results', () => {
  it('records the return value: ready, successful, value (gevent: TestBasic::test_simple_exit)', async () => {
    const task = spawn(function* () {
      yield* sleep(0);
      return 42;
    });
    await task;
    expect(task.ready()).toBe(true);
    expect(task.successful()).toBe(true);
    expect(task.value).toBe(42);
    expect(task.exception).toBeUndefined();
    expect(task.dead).toBe(true);
  });

  it('records the error: not successful, exception set, get() raises it (gevent: TestBasic::test_error_exit)', async () => {
    const error = new ExpectedError('boom');
    const task = spawn(function* () {
      yield* sleep(0);
      throw error;
    });
    await expect(task).rejects.toBe(error);
    expect(task.successful()).toBe(false);
    expect(task.exception).toBe(error);
    expect(task.value).toBeUndefined();
    const raised = await run(function* () {
      try {
        yield* task.get();
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(raised).toBe(error);
  });

  it('join() waits without raising the task\'s error', async () => {
    const joined = await run(function* () {
      const task = spawn(function* () {
        yield* sleep(0);
        throw new ExpectedError('not raised by join');
      });
      const ended = yield* task.join();
      return [ended, task.ready(), task.successful()];
    });
    expect(joined).toEqual([true, true, false]);
  });

  it('join(timeout) evaluates to false when the task is still running (gevent: TestJoin)', async () => {
    const result = await run(function* () {
      const slow = spawn(function* () {
        yield* sleep(1000);
      });
      const ended = yield* slow.join(10);
      yield* slow.kill();
      return ended;
    });
    expect(result).toBe(false);
  });

  it('get(timeout) raises Timeout when the task is still running (gevent: TestGet)', async () => {
    const raised = await run(function* () {
      const slow = spawn(function* () {
        yield* sleep(1000);
      });
      try {
        yield* slow.get(10);
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* slow.kill();
      }
    });
    expect(raised).toBeInstanceOf(Timeout);
  });

  it('get({ block: false }) raises Timeout at once when the task is not ready', async () => {
    const raised = await run(function* () {
      const slow = spawn(function* () {
        yield* sleep(1000);
      });
      try {
        yield* slow.get(undefined, { block: false });
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* slow.kill();
      }
    });
    expect(raised).toBeInstanceOf(Timeout);
  });

  it('refuses to let a task wait for itself', async () => {
    const raised = await run(function* () {
      const self = getcurrent() as Task;
      try {
        yield* self.join();
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(raised).toBeInstanceOf(GreenletError);
    expect((raised as Error).message).toMatch(/cannot wait for itself/);
  });
});

describe('kill', () => {
  it('a task killed before it starts never runs, and its links still fire (gevent: TestKill::test_block)', async () => {
    let ran = false;
    const linked: Task[] = [];
    const task = spawn(function* () {
      ran = true;
    });
    task.rawlink((t) => linked.push(t));
    task.kill();
    expect(task.dead).toBe(true);
    expect(task.ready()).toBe(true);
    expect(task.successful()).toBe(true);
    expect(task.value).toBeInstanceOf(GreenletExit);
    await run(function* () {
      yield* sleep(0);
    });
    expect(ran).toBe(false);
    expect(linked).toEqual([task]);
  });

  it('kill() of a suspended task raises GreenletExit where it waits; its finally runs (gevent: TestKillWhileRunning)', async () => {
    const log: string[] = [];
    const result = await run(function* () {
      const task = spawn(function* () {
        try {
          yield* sleep(10_000);
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      yield* task.kill();
      return [task.dead, task.successful(), (task.value as unknown) instanceof GreenletExit];
    });
    expect(log).toEqual(['finally']);
    expect(result).toEqual([true, true, true]);
  });

  it('kill at any call depth unwinds every frame', async () => {
    const log: string[] = [];
    function* level(n: number): GreenletBody<void> {
      try {
        if (n === 0) yield* sleep(10_000);
        else yield* level(n - 1);
      } finally {
        log.push(`unwound ${n}`);
      }
    }
    await run(function* () {
      const task = spawn(level, 3);
      yield* sleep(0);
      yield* task.kill();
    });
    expect(log).toEqual(['unwound 0', 'unwound 1', 'unwound 2', 'unwound 3']);
  });

  it('kill with an error class or instance raises that error, and the task fails with it', async () => {
    const result = await run(function* () {
      const a = spawn(function* () {
        yield* sleep(10_000);
      });
      const b = spawn(function* () {
        yield* sleep(10_000);
      });
      yield* sleep(0);
      yield* a.kill(ExpectedError);
      const instance = new ExpectedError('by instance');
      yield* b.kill(instance);
      return [a.exception instanceof ExpectedError, b.exception === instance];
    });
    expect(result).toEqual([true, true]);
  });

  it('the GreenletExit of a kill carries no stack frames; an error given to kill() keeps its stack', async () => {
    const limit = Error.stackTraceLimit;
    const result = await run(function* () {
      const plain = spawn(function* () {
        yield* sleep(10_000);
      });
      const given = spawn(function* () {
        yield* sleep(10_000);
      });
      yield* sleep(0);
      yield* plain.kill();
      const error = new ExpectedError('with a stack');
      yield* given.kill(error);
      return { exit: plain.value as unknown as GreenletExit, error: given.exception as ExpectedError };
    });
    // A frame: V8's "    at f (file:1:2)", SpiderMonkey's and JavaScriptCore's "f@file:1:2".
    const frame = /^\s+at |@.*:\d+:\d+$/m;
    expect(result.exit).toBeInstanceOf(GreenletExit);
    // Error.stackTraceLimit is V8's and JavaScriptCore's; elsewhere the exit keeps its stack.
    if (typeof limit === 'number') expect(result.exit.stack ?? '').not.toMatch(frame);
    expect(result.error.stack).toMatch(frame);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('kill({ block: false }) returns at once; the task dies when the hub gets to it (gevent: TestKill::test_non_block)', async () => {
    const result = await run(function* () {
      const task = spawn(function* () {
        yield* sleep(10_000);
      });
      yield* sleep(0);
      task.kill(undefined, { block: false });
      const deadRightAfter = task.dead;
      yield* task.join();
      return [deadRightAfter, task.dead];
    });
    expect(result).toEqual([false, true]);
  });

  it('a task that kills itself raises GreenletExit at once', async () => {
    const log: string[] = [];
    const task = spawn(function* () {
      const self = getcurrent() as Task;
      try {
        yield* self.kill();
        log.push('not reached');
      } finally {
        log.push('finally');
      }
    });
    await task;
    expect(log).toEqual(['finally']);
    expect(task.value).toBeInstanceOf(GreenletExit);
  });

  it('kill({ block: false }) of itself from a plain callback takes effect at its next blocking call', async () => {
    const log: string[] = [];
    const task = spawn(function* () {
      const self = getcurrent() as Task;
      // A callback that happens to run inside the task (an event emitted synchronously).
      [self].forEach((t) => t.kill(undefined, { block: false }));
      log.push('still running after the callback');
      try {
        yield* sleep(10_000);
      } finally {
        log.push('finally');
      }
    });
    await task;
    expect(log).toEqual(['still running after the callback', 'finally']);
    expect((task.value as unknown) instanceof GreenletExit).toBe(true);
  });

  it('a kill caught by the task is the task\'s choice: it goes on', async () => {
    const result = await run(function* () {
      const stubborn = spawn(function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (!(e instanceof GreenletExit)) throw e;
        }
        return 'survived';
      });
      yield* sleep(0);
      yield* stubborn.kill();
      return stubborn.value;
    });
    expect(result).toBe('survived');
  });

  it('kill of an ended task does nothing', async () => {
    const task = spawn(function* () {
      return 1;
    });
    await task;
    task.kill();
    expect(task.value).toBe(1);
  });
});

describe('links (gevent: TestLink, TestUnlink, TestReturn_link, TestRaise_link)', () => {
  it('link runs the callback in a new task with the ended task, whatever the outcome', async () => {
    const seen: [string, Task][] = [];
    const ok = spawn(function* () {
      return 1;
    });
    const failed = spawn(function* () {
      throw new ExpectedError('x');
    });
    ok.link((t) => {
      seen.push(['ok', t]);
    });
    failed.link((t) => {
      seen.push(['failed', t]);
    });
    await run(function* () {
      yield* ok.join();
      yield* failed.join();
      yield* sleep(0);
    });
    expect(seen).toEqual([
      ['ok', ok],
      ['failed', failed],
    ]);
  });

  it('linkValue fires only on success, linkException only on failure', async () => {
    const fired: string[] = [];
    const ok = spawn(function* () {
      return 1;
    });
    const failed = spawn(function* () {
      throw new ExpectedError('x');
    });
    for (const [name, t] of [['ok', ok], ['failed', failed]] as const) {
      t.linkValue(() => {
        fired.push(`${name}:value`);
      });
      t.linkException(() => {
        fired.push(`${name}:exception`);
      });
    }
    await run(function* () {
      yield* ok.join();
      yield* failed.join();
      yield* sleep(0);
    });
    expect(fired.sort()).toEqual(['failed:exception', 'ok:value']);
  });

  it('a link added after the end still fires', async () => {
    const task = spawn(function* () {
      return 'done';
    });
    await task;
    const seen = await new Promise<Task[]>((resolve) => task.rawlink((t) => resolve([t])));
    expect(seen).toEqual([task]);
  });

  it('unlink removes the first registration of a callback, as gevent\'s list.remove (gevent: TestUnlink::test_func_link)', async () => {
    const fired: string[] = [];
    const callback = (t: Task) => {
      fired.push(t === task ? 'fired' : 'wrong task');
    };
    const task = spawn(function* () {
      yield* sleep(0);
    });
    task.link(callback);
    task.rawlink(callback);
    expect(task.hasLinks()).toBe(true);
    task.unlink(callback); // the link(): the rawlink() stays
    expect(task.hasLinks()).toBe(true);
    await run(function* () {
      yield* task.join();
      yield* sleep(0);
    });
    expect(fired).toEqual(['fired']);
    const again = spawn(function* () {});
    again.link(callback);
    again.rawlink(callback);
    again.unlink(callback);
    again.unlink(callback);
    expect(again.hasLinks()).toBe(false);
    await run(function* () {
      yield* again.join();
      yield* sleep(0);
    });
    expect(fired).toEqual(['fired']);
  });

  it('unlink() of its only link leaves none, and a join then waits alone', async () => {
    const fired: string[] = [];
    const callback = () => {
      fired.push('fired');
    };
    const task = spawn(function* () {
      yield* sleep(0);
      return 'done';
    });
    task.rawlink(callback);
    task.unlink(callback);
    expect(task.hasLinks()).toBe(false);
    const value = await run(function* () {
      return yield* task.get();
    });
    expect(value).toBe('done');
    expect(fired).toEqual([]);
    expect(task.hasLinks()).toBe(false);
  });

  it('a link callback may block: it runs in a task of its own', async () => {
    const log: string[] = [];
    const task = spawn(function* () {
      return 'x';
    });
    task.link(function* (t: Task) {
      yield* sleep(1);
      log.push(`after sleeping, ${String(t.value)}`);
    });
    await run(function* () {
      yield* task.join();
      yield* sleep(20);
    });
    expect(log).toEqual(['after sleeping, x']);
  });
});

describe('errors nobody waits for', () => {
  it('are reported once through the hub reporter, with the task', async () => {
    const hub = getHub();
    const previous = hub.reporter;
    const reports: unknown[] = [];
    hub.reporter = (r) => reports.push(r);
    try {
      const error = new ExpectedError('unobserved');
      const task = spawn(function* () {
        throw error;
      });
      await run(function* () {
        yield* sleep(0);
        yield* sleep(0);
      });
      expect(reports).toEqual([{ kind: 'task-error', task, error }]);
    } finally {
      hub.reporter = previous;
    }
  });

  it('are not reported when the task is awaited right after spawn, even if it fails in its first pass', async () => {
    const hub = getHub();
    const previous = hub.reporter;
    const reports: unknown[] = [];
    hub.reporter = (r) => reports.push(r);
    try {
      const error = new ExpectedError('awaited at once');
      await expect(
        spawn(function* () {
          throw error;
        }),
      ).rejects.toBe(error);
      await run(function* () {
        yield* sleep(0);
      });
      expect(reports).toEqual([]);
    } finally {
      hub.reporter = previous;
    }
  });

  it('are not reported when someone joins, links or awaits the task', async () => {
    const hub = getHub();
    const previous = hub.reporter;
    const reports: unknown[] = [];
    hub.reporter = (r) => reports.push(r);
    try {
      const joined = spawn(function* () {
        throw new ExpectedError('joined');
      });
      const linked = spawn(function* () {
        throw new ExpectedError('linked');
      });
      linked.rawlink(() => {});
      const awaited = spawn(function* () {
        throw new ExpectedError('awaited');
      });
      const caught = awaited.then(
        () => null,
        (e: unknown) => e,
      );
      await run(function* () {
        yield* joined.join();
        yield* sleep(0);
      });
      expect(await caught).toBeInstanceOf(ExpectedError);
      expect(reports).toEqual([]);
    } finally {
      hub.reporter = previous;
    }
  });
});

describe('gevent spellings: option objects, getNowait, currentTask', () => {
  it('kill({ block: false }) raises in the task and returns at once; kill({ error }) picks the error', async () => {
    class Stop extends Error {}
    const log = await run(function* () {
      const seen: string[] = [];
      const t = spawn(function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          seen.push(e instanceof Stop ? 'Stop' : String(e));
          yield* sleep(1);
          seen.push('cleaned up');
        }
      });
      yield* sleep(0);
      t.kill({ error: Stop, block: false });
      seen.push('kill returned');
      yield* t.join();
      return seen;
    });
    expect(log).toEqual(['kill returned', 'Stop', 'cleaned up']);
  });

  it('kill(error, { block }) is the same as kill({ error, block }); anything but an error or an options object raises TypeError', async () => {
    await run(function* () {
      const t = spawn(() => sleep(10_000));
      yield* sleep(0);
      expect(() => t.kill(42 as never)).toThrow(TypeError);
      expect(t.ready()).toBe(false);
      const error = new ExpectedError('positional');
      yield* t.kill(error, { timeout: 100 });
      expect(t.exception).toBe(error);
    });
  });

  it('getNowait() returns the value of a task that ended, raises its error, and raises Timeout before the end; it works from plain code', async () => {
    const t = spawn(function* () {
      yield* sleep(1);
      return 7;
    });
    expect(() => t.getNowait()).toThrow(Timeout);
    expect(() => t.getNowait()).toThrow(/has not ended yet/);
    await t;
    expect(t.getNowait()).toBe(7);
    const failed = spawn(() => {
      throw new ExpectedError('boom');
    });
    await failed.then(
      () => undefined,
      () => undefined,
    );
    expect(() => failed.getNowait()).toThrow(ExpectedError);
  });

  it('currentTask() is the running task, typed as a Task; outside a task it raises GreenletError and currentTaskOrNull() is null', async () => {
    const t = spawn(function* () {
      const me = currentTask();
      me.name = 'renamed';
      return me;
    });
    const me = await t.toPromise().catch(() => null);
    expect(t.name).toBe('renamed');
    expect(me).toBeNull(); // a task that returns itself is not resolved with itself
    expect(() => currentTask()).toThrow(GreenletError);
    expect(() => currentTask()).toThrow(/use currentTaskOrNull\(\)/);
    expect(currentTaskOrNull()).toBeNull();
  });

  it('a task killed before it ever ran is dead when kill() returns, and its waiters and links are served at once', async () => {
    await run(function* () {
      const t = spawn(() => 'never');
      const group = new Group([t]);
      const linked: string[] = [];
      t.rawlink(() => void linked.push('rawlink'));
      t.kill({ block: false });
      expect([t.dead, t.ready(), t.successful()]).toEqual([true, true, true]);
      expect(linked).toEqual(['rawlink']);
      expect(group.size).toBe(0);
    });
  });

  it('switch() and throw() of a task are refused with GreenletError, saying what to use', async () => {
    await run(function* () {
      const t = spawn(() => sleep(10_000));
      yield* sleep(0);
      expect(() => t.switch()).toThrow(GreenletError);
      expect(() => t.switch()).toThrow(/Wake it through what it waits on/);
      expect(() => t.throw(new Error())).toThrow(/kill\(error\)/);
      yield* t.kill();
    });
  });

  it('killall(tasks, { timeout }) raises a Timeout when a task outlives it; killall(tasks, error) kills with that error', async () => {
    await run(function* () {
      const stubborn = spawn(function* () {
        try {
          yield* sleep(10_000);
        } catch {
          yield* sleep(10_000);
        }
      });
      yield* sleep(0);
      let raised: unknown;
      try {
        yield* killall([stubborn], { timeout: 5 });
      } catch (e) {
        raised = e;
      }
      expect(raised).toBeInstanceOf(Timeout);
      expect((raised as Error).message).toMatch(/1 of 1 task still running after 5 ms/);
      const error = new ExpectedError('second');
      yield* killall([stubborn], error);
      expect(stubborn.exception).toBe(error);
    });
  });
});

describe('links', () => {
  it('fire in the order registered, raw and not; a link callback runs before the later links fire', async () => {
    const log = await run(function* () {
      const seen: string[] = [];
      const t = spawn(() => 1);
      t.link(function* () {
        seen.push('link 1 starts');
        yield* sleep(1);
        seen.push('link 1 ends');
      });
      t.rawlink(() => void seen.push('rawlink 2'));
      t.link(() => void seen.push('link 3'));
      yield* t.join();
      seen.push('joined');
      yield* sleep(5);
      return seen;
    });
    expect(log).toEqual(['link 1 starts', 'rawlink 2', 'link 3', 'joined', 'link 1 ends']);
  });

  it('link(asyncResult) sets the result to the value, or the error, of the task', async () => {
    await run(function* () {
      const ok = new AsyncResult<number>();
      spawn(() => 5).link(ok);
      expect(yield* ok.get()).toBe(5);
      const bad = new AsyncResult<number>();
      const error = new ExpectedError('bad');
      spawn((): number => {
        throw error;
      }).linkException(bad);
      let raised: unknown;
      try {
        yield* bad.get();
      } catch (e) {
        raised = e;
      }
      expect(raised).toBe(error);
    });
  });

  it('refuses what is neither a callback nor a link target', () => {
    const t = new Task(() => 1);
    expect(() => t.link(42 as never)).toThrow(TypeError);
    expect(() => t.rawlink({ setFrom() {} } as never)).toThrow(TypeError);
  });
});
