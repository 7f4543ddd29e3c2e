/**
 * The one rule, broken: an operation made without `yield*` does nothing, is reported by
 * name in the task that made the slip, and never harms another task. Each misuse runs
 * beside a bystander task that must still finish.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlockingError,
  Channel,
  Event,
  Greenlet,
  GreenletError,
  Lock,
  MissingYieldError,
  Queue,
  getHub,
  recordOperationSites,
  run,
  settrace,
  sleep,
  spawn,
  waitFor,
  type GreenletBody,
  type Task,
} from 'greenlet-ts';

afterEach(() => {
  expect(getHub().liveCount).toBe(0);
  expect(getHub().timers.size).toBe(0);
});

/** A task that was ready when the slip happened and must run to its end. */
function bystander(log: string[]): Task<string> {
  return spawn(function* () {
    log.push('bystander starts');
    yield* sleep(0);
    log.push('bystander ends');
    return 'done';
  });
}

/** The error a task failed with. */
function* failureOf(t: Task): GreenletBody<unknown> {
  yield* t.join();
  return t.exception;
}

describe('an operation made without yield* has no effect', () => {
  it('queue.get() takes no item, and the next operation names it', async () => {
    const log: string[] = [];
    const q = new Queue<number>(undefined, [1, 2, 3]);
    const error = await run(function* () {
      const other = bystander(log);
      const slip = spawn(function* () {
        q.get(); // forgot yield*
        expect(q.qsize()).toBe(3);
        yield* sleep(0);
      });
      const e = yield* failureOf(slip);
      expect(yield* other.get()).toBe('done');
      return e;
    });
    expect(q.qsize()).toBe(3);
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/^queue\.get\(\) was never performed: write `yield\* queue\.get\(\)`/);
    expect(log).toEqual(['bystander starts', 'bystander ends']);
  });

  it('two gets in a row fail at the second, with every item still queued', async () => {
    const q = new Queue<number>(undefined, [1, 2, 3]);
    await run(function* () {
      let caught: unknown;
      try {
        q.get();
        q.get();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(MissingYieldError);
      expect(q.qsize()).toBe(3);
      // The slot is empty again: the task goes on normally.
      expect(yield* q.get()).toBe(1);
    });
    expect(q.qsize()).toBe(2);
  });

  it('operations collected in an array are caught, and nothing is taken', async () => {
    const q = new Queue<number>(undefined, [1, 2]);
    const caught = await run(function* () {
      try {
        [1, 2].map(() => q.get());
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(caught).toBeInstanceOf(MissingYieldError);
    expect(q.qsize()).toBe(2);
  });

  it('a forgotten event.wait() registers no waiter, and a ready bystander runs on', async () => {
    const log: string[] = [];
    const ev = new Event();
    const error = await run(function* () {
      const other = bystander(log);
      const slip = spawn(function* () {
        ev.wait();
      });
      const e = yield* failureOf(slip);
      yield* other.join();
      return e;
    });
    expect(ev.waiting).toBe(0);
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/finished with event\.wait\(\) made and never performed: write `yield\* event\.wait\(\)`/);
    expect(log).toEqual(['bystander starts', 'bystander ends']);
  });

  it('a forgotten task.kill() kills nothing', async () => {
    const outcome = await run(function* () {
      const victim = spawn(function* () {
        yield* sleep(20);
        return 'survived';
      });
      const slip = spawn(function* () {
        victim.kill();
        yield* sleep(0);
      });
      const e = yield* failureOf(slip);
      return [e, yield* victim.get()] as const;
    });
    expect(outcome[0]).toBeInstanceOf(MissingYieldError);
    expect((outcome[0] as Error).message).toMatch(/^task\.kill\(\) was never performed/);
    expect(outcome[1]).toBe('survived');
  });

  it('a forgotten sleep(100) is named as sleep(), at the end of the task', async () => {
    const error = await run(function* () {
      const slip = spawn(function* () {
        sleep(100);
      });
      return yield* failureOf(slip);
    });
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/finished with sleep\(\) made and never performed: write `yield\* sleep\(\)`/);
    expect(getHub().timers.size).toBe(0);
  });

  it('a forgotten lock.acquire() takes no lock', async () => {
    const lock = new Lock();
    await run(function* () {
      const slip = spawn(function* () {
        lock.acquire();
      });
      expect(yield* failureOf(slip)).toBeInstanceOf(MissingYieldError);
      expect(lock.locked()).toBe(false);
    });
  });

  it('a switch requested after a forgotten operation names the operation', async () => {
    const q = new Queue<number>(undefined, [7]);
    const error = await run(function* () {
      const g = new Greenlet(function* () {
        return 1;
      });
      try {
        q.get();
        yield* g.switch();
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/^queue\.get\(\) was never performed/);
    expect(q.qsize()).toBe(1);
  });

  it('an operation performed twice is refused the second time', async () => {
    const q = new Queue<number>(undefined, [1, 2]);
    const error = await run(function* () {
      const op = q.get();
      expect(yield* op).toBe(1);
      try {
        yield* op;
      } catch (e) {
        return e;
      }
      return null;
    });
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/consumed by `yield\*` twice/);
    expect(q.qsize()).toBe(1);
  });

  it('without recordOperationSites(), the message says how to have the line that made the operation', async () => {
    const error = await run(function* () {
      const slip = spawn(function* () {
        new Queue<number>().get();
        yield* sleep(0);
      });
      return yield* failureOf(slip);
    });
    expect((error as Error).message).toMatch(
      / \(call recordOperationSites\(\) before it happens to have the line that made it in the error's cause\)$/,
    );
    expect((error as Error).cause).toBeUndefined();
  });

  describe('recordOperationSites()', () => {
    // Named functions, found by name in the stacks: bundlers for the other runtimes move
    // statements to lines of their own, so line numbers could not tell them apart.
    function makeTheSlip(q: Queue<number>): void {
      q.get();
    }
    function* performTheNextOperation(): GreenletBody<void> {
      yield* sleep(0);
    }
    function makeTheLastSlip(ev: Event): void {
      ev.wait();
    }
    let was = false;
    beforeEach(() => {
      was = recordOperationSites();
    });
    afterEach(() => {
      recordOperationSites(was);
    });

    it('the cause of the error found at the next operation holds the line of the slip, not that of the next operation', async () => {
      const q = new Queue<number>(undefined, [1]);
      const error = await run(function* () {
        const slip = spawn(function* () {
          makeTheSlip(q);
          yield* performTheNextOperation();
        });
        return yield* failureOf(slip);
      });
      expect(error).toBeInstanceOf(MissingYieldError);
      expect((error as Error).message).toMatch(/^queue\.get\(\) was never performed: .* \(its cause holds the line that made it\)$/);
      const cause = (error as Error).cause as Error;
      expect(cause.name).toBe('OperationSite');
      expect(cause.message).toBe('queue.get() was made here');
      expect(cause.stack).toContain('makeTheSlip');
      expect(cause.stack).not.toContain('performTheNextOperation');
      expect((error as Error).stack).toContain('performTheNextOperation');
      expect((error as Error).stack).not.toContain('makeTheSlip');
      expect(q.qsize()).toBe(1);
    });

    it('a slip that ends its task: the cause holds its line', async () => {
      const error = await run(function* () {
        const ev = new Event();
        const slip = spawn(function* () {
          makeTheLastSlip(ev);
        });
        return yield* failureOf(slip);
      });
      expect(error).toBeInstanceOf(MissingYieldError);
      expect((error as Error).message).toMatch(/finished with event\.wait\(\) made and never performed: .* \(its cause holds the line that made it\)$/);
      expect(((error as Error).cause as Error).stack).toContain('makeTheLastSlip');
      expect((error as Error).stack).not.toContain('makeTheLastSlip');
    });

    it('turned off, it records nothing more', async () => {
      recordOperationSites(false);
      const error = await run(function* () {
        const slip = spawn(function* () {
          new Queue<number>().get();
          yield* sleep(0);
        });
        return yield* failureOf(slip);
      });
      expect((error as Error).cause).toBeUndefined();
    });
  });

  // queue.put()/get() and channel.send()/recv()/recvOk() are consumed by iterators of
  // their own (a copy of Operation's, for speed): the same protocol, kind by kind.
  // [name, make it, queue size and channel length after it was performed once]
  const hotKinds: [string, (q: Queue<number>, ch: Channel<number>) => unknown, [number, number]][] = [
    ['queue.put()', (q) => q.put(9), [3, 1]],
    ['queue.get()', (q) => q.get(), [1, 1]],
    ['channel.send()', (_q, ch) => ch.send(9), [2, 2]],
    ['channel.recv()', (_q, ch) => ch.recv(), [2, 0]],
    ['channel.recvOk()', (_q, ch) => ch.recvOk(), [2, 0]],
  ];
  for (const [name, make, after] of hotKinds) {
    it(`${name}: made and dropped is named at the next operation; performed twice is refused; nothing moves either time`, async () => {
      const q = new Queue<number>(undefined, [1, 2]);
      const ch = new Channel<number>(2);
      ch.trySend(1);
      const [slip, twice] = await run(function* () {
        let slip: unknown = null;
        try {
          make(q, ch);
          yield* sleep(0);
        } catch (e) {
          slip = e;
        }
        const op = make(q, ch) as Iterable<unknown>;
        yield* op as Generator<never, unknown>;
        try {
          yield* op as Generator<never, unknown>;
        } catch (e) {
          return [slip, e];
        }
        return [slip, null];
      });
      expect(slip).toBeInstanceOf(MissingYieldError);
      expect((slip as Error).message).toBe(
        `${name} was never performed: write \`yield* ${name}\` where you make it. ` +
          'An operation does nothing until `yield*` runs it; one made without `yield*` is dropped unperformed ' +
          "(call recordOperationSites() before it happens to have the line that made it in the error's cause)",
      );
      expect(twice).toBeInstanceOf(GreenletError);
      expect((twice as Error).message).toMatch(/consumed by `yield\*` twice/);
      // Performed once only: the queue held 2 items, the channel 1 value.
      expect([q.qsize(), ch.length]).toEqual(after);
    });
  }

  it('a bare yield of an operation is named and performs nothing', async () => {
    const q = new Queue<number>(undefined, [1]);
    const error = await run(function* () {
      const slip = spawn(function* () {
        yield q.get() as never;
      });
      return yield* failureOf(slip);
    });
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/yielded queue\.get\(\) with a bare `yield`, which does not perform it/);
    expect(q.qsize()).toBe(1);
  });
});

describe('operations made where nothing can perform them', () => {
  it('task.get() from plain code on a finished task says to read task.value or await it', async () => {
    const t = spawn(() => 42);
    await t;
    expect(() => t.get()).toThrow(BlockingError);
    expect(() => t.get()).toThrow(/task\.get\(\) blocks, .*main greenlet.*read `task\.value`/);
    expect(t.value).toBe(42);
  });

  it('queue.get() from a timer callback raises at once and takes nothing', async () => {
    const q = new Queue<number>(undefined, [1]);
    const error = await new Promise((resolve) => {
      setTimeout(() => {
        try {
          q.get();
          resolve(null);
        } catch (e) {
          resolve(e);
        }
      }, 0);
    });
    expect(error).toBeInstanceOf(BlockingError);
    expect((error as Error).message).toMatch(/^queue\.get\(\) blocks, and it was called in the main greenlet/);
    expect(q.qsize()).toBe(1);
  });

  it('an operation made in a rawlink callback raises there; the task that fired the link goes on', async () => {
    const reports: unknown[] = [];
    const saved = getHub().reporter;
    getHub().reporter = (r) => reports.push(r);
    try {
      const q = new Queue<number>(undefined, [1]);
      const result = await run(function* () {
        const first = spawn(() => 'first');
        first.rawlink(() => {
          q.get(); // a callback cannot block: refused, not left pending in the task
        });
        yield* first.join();
        yield* sleep(0);
        return yield* q.get();
      });
      expect(result).toBe(1);
    } finally {
      getHub().reporter = saved;
    }
    expect(reports).toHaveLength(1);
    const report = reports[0] as { kind: string; error: Error };
    expect(report.kind).toBe('callback-error');
    expect(report.error).toBeInstanceOf(BlockingError);
    expect(report.error.message).toMatch(/queue\.get\(\) blocks, and it was called in a callback/);
  });

  it('getHub().throw() from a rawlink callback is refused, and the task waiting on the link wakes', async () => {
    const reports: unknown[] = [];
    const saved = getHub().reporter;
    getHub().reporter = (r) => reports.push(r);
    try {
      const log: string[] = [];
      const out = await run(function* () {
        const other = bystander(log);
        const first = spawn(() => 'first');
        first.rawlink(() => {
          getHub().throw(new Error('from a callback'));
        });
        const joined = yield* first.join();
        yield* other.join();
        return joined;
      });
      expect(out).toBe(true);
      expect(log).toEqual(['bystander starts', 'bystander ends']);
    } finally {
      getHub().reporter = saved;
    }
    const report = reports[0] as { kind: string; error: Error };
    expect(report.kind).toBe('callback-error');
    expect(report.error.message).toMatch(/cannot switch to <Hub .* from inside a callback/);
  });
});

describe('promises', () => {
  it('yield* promise says to write yield* waitFor(promise)', async () => {
    const error = await run(function* () {
      const t = spawn(function* () {
        yield* (Promise.resolve(1) as unknown as GreenletBody<number>);
      });
      return yield* failureOf(t);
    });
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/write it as `yield\* waitFor\(promise\)`|`yield\* waitFor\(promise\)`/);
  });

  it('yield promise says to write yield* waitFor(promise)', async () => {
    const error = await run(function* () {
      const t = spawn(function* () {
        yield Promise.resolve(1) as never;
      });
      return yield* failureOf(t);
    });
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/yielded a promise.*`yield\* waitFor\(promise\)`/);
  });

  it('waitFor(promise) made without yield* attaches nothing', async () => {
    let thens = 0;
    const thenable = {
      then(resolve: (v: number) => void) {
        thens++;
        resolve(1);
      },
    };
    const error = await run(function* () {
      const t = spawn(function* () {
        waitFor(thenable as unknown as PromiseLike<number>);
      });
      return yield* failureOf(t);
    });
    expect(error).toBeInstanceOf(MissingYieldError);
    expect(thens).toBe(0);
  });
});

describe('other misuse leaves every other task where it was', () => {
  it('an async function as a body is refused at once; a bystander finishes', async () => {
    const log: string[] = [];
    await run(function* () {
      const other = bystander(log);
      expect(() => spawn((async () => 1) as unknown as () => number)).toThrow(/is async/);
      yield* other.join();
    });
    expect(log).toEqual(['bystander starts', 'bystander ends']);
  });

  it('a switch from a trace function is refused; a bystander finishes', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    await run(function* () {
      const other = bystander(log);
      const g = new Greenlet(function* () {
        return 1;
      });
      settrace(() => {
        try {
          g.switch();
        } catch (e) {
          errors.push(e);
        }
        settrace(null);
      });
      yield* sleep(0);
      yield* other.join();
    });
    settrace(null);
    expect(errors[0]).toBeInstanceOf(GreenletError);
    expect((errors[0] as Error).message).toMatch(/from inside a trace function/);
    expect(log).toEqual(['bystander starts', 'bystander ends']);
  });

  it('after a slip, the parked tasks are exactly those listed as blocked', async () => {
    const ev = new Event();
    await run(function* () {
      const parked = spawn(function* () {
        yield* ev.wait();
      });
      const slip = spawn(function* () {
        ev.wait();
        new Queue<number>().get();
      });
      yield* slip.join();
      expect(slip.exception).toBeInstanceOf(MissingYieldError);
      expect(getHub().blockedTasks().map((b) => b.name)).toEqual([parked.name]);
      ev.set();
      yield* parked.join();
    });
  });
});
