/**
 * explore(), replay() and shrinking: schedules drawn from a seed (the run queue, select,
 * timer ties), failures found and reported with their shrunk schedule, replays that
 * reproduce them exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Channel,
  Event,
  Lock,
  LoopExit,
  Queue,
  Timeout,
  getHub,
  joinall,
  recvCase,
  select,
  sleep,
  spawn,
  waitFor,
  type GreenletBody,
  type Task,
} from 'greenlet-ts';
import { LeakedTaskError, RealIoError, ScheduleFailure, UncaughtTaskError, explore, replay, virtualTime } from 'greenlet-ts/testing';
import { configLoaded, crossTransfers, overdraft } from '../../examples/testing/schedule-bugs.js';

afterEach(() => {
  const hub = getHub();
  expect(hub.control).toBe(null);
  expect([hub.liveCount, hub.timers.size]).toEqual([0, 0]);
});

async function failureOf(promise: Promise<unknown>): Promise<ScheduleFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ScheduleFailure);
  return error as ScheduleFailure;
}

/** Counter increments that lose updates when another task runs between read and write. */
function* lostUpdates(): GreenletBody<void> {
  const counter = { value: 0 };
  const tasks: Task[] = [];
  for (let i = 0; i < 3; i++) {
    tasks.push(
      spawn(function* incrementer() {
        for (let k = 0; k < 3; k++) {
          const read = counter.value;
          yield* sleep(0);
          counter.value = read + 1;
          yield* sleep(0);
        }
      }),
    );
  }
  yield* joinall(tasks);
  if (counter.value !== 9) throw new Error(`lost updates: the counter is ${counter.value}, not 9`);
}

/** The same, with a lock around read and write: right under every schedule. */
function* lockedUpdates(): GreenletBody<number> {
  const counter = { value: 0 };
  const lock = new Lock();
  const tasks: Task[] = [];
  for (let i = 0; i < 3; i++) {
    tasks.push(
      spawn(function* () {
        for (let k = 0; k < 3; k++) {
          yield* lock.run(function* () {
            const read = counter.value;
            yield* sleep(0);
            counter.value = read + 1;
          });
        }
      }),
    );
  }
  yield* joinall(tasks);
  if (counter.value !== 9) throw new Error(`lost updates: the counter is ${counter.value}, not 9`);
  return counter.value;
}

describe('explore', () => {
  it('resolves to { runs, seed } when the program passes under every schedule', async () => {
    await expect(explore(lockedUpdates, { runs: 300, seed: 11 })).resolves.toEqual({ runs: 300, seed: 11 });
    await expect(explore(lockedUpdates, { runs: 300, seed: 11, strategy: 'pct' })).resolves.toEqual({ runs: 300, seed: 11 });
  });

  it('draws a seed when none is given, and makes 1000 runs by default', async () => {
    const result = await explore(lockedUpdates);
    expect(result.runs).toBe(1000);
    expect(Number.isInteger(result.seed)).toBe(true);
  });

  it('runs the default schedule first: a program that fails under it fails at run 1, with an empty schedule', async () => {
    const failure = await failureOf(
      explore(function* () {
        yield* sleep(5);
        throw new Error('always');
      }, { runs: 50, seed: 1 }),
    );
    expect([failure.run, failure.strategy, failure.schedule]).toEqual([1, 'fifo', []]);
    expect(failure.message).toMatch(/^explore\(\): the program fails under the default schedule \(run 1 of 50\)\n {2}Error: always\n/);
  });

  it('finds a failure at the same run, with the same schedule and report, for the same seed, every time', async () => {
    const first = await failureOf(explore(crossTransfers, { runs: 1000, seed: 5 }));
    for (let i = 0; i < 5; i++) {
      const again = await failureOf(explore(crossTransfers, { runs: 1000, seed: 5 }));
      expect([again.run, again.seed, again.schedule]).toEqual([first.run, first.seed, first.schedule]);
      expect(again.message).toBe(first.message);
    }
  });

  it('explores which ready case a select takes', async () => {
    function* prefersFirst(): GreenletBody<void> {
      const urgent = new Channel<string>(1);
      const normal = new Channel<string>(1);
      urgent.trySend('urgent');
      normal.trySend('normal');
      const r = yield* select([recvCase(urgent), recvCase(normal)]);
      if (r.value !== 'urgent') throw new Error(`took ${String(r.value)} first`);
    }
    const failure = await failureOf(explore(prefersFirst, { runs: 50, seed: 3 }));
    expect(failure.schedule).toEqual([1]);
    expect(failure.deviations).toHaveLength(1);
    expect(failure.deviations[0]?.kind).toBe('case');
    expect(failure.deviations[0]?.text).toMatch(
      /^ {2}\[0\] select in prefersFirst-1 at test\/testing\/explore\.test\.ts:\d+:\d+ took ready case 2 of 2, not the first listed$/,
    );
  });

  it('explores the order of timers due at the same instant', async () => {
    function* timeoutFirst(): GreenletBody<void> {
      const timeout = Timeout.startNew(10);
      try {
        // Its own deadline is the Timeout's, set after it.
        if (!(yield* new Event().wait(10))) throw new Error('the wait gave up before the Timeout struck');
      } catch (e) {
        if (e !== timeout) throw e;
      } finally {
        timeout.cancel();
      }
    }
    await expect(virtualTime(timeoutFirst)).resolves.toBeUndefined();
    const failure = await failureOf(explore(timeoutFirst, { runs: 200, seed: 8 }));
    expect(failure.schedule).toEqual([1]);
    expect(failure.deviations[0]?.text).toBe(
      '  [0] at 10 ms, fired the timed wait of timeoutFirst-1 (Event(clear, 1 waiting)) before the Timeout of timeoutFirst-1 (Event(clear, 1 waiting)), set first for the same instant',
    );
  });

  it('explores the order of sleeps due at the same instant', async () => {
    function* sleepers(): GreenletBody<void> {
      const woke: string[] = [];
      const sleeper = (name: string) =>
        spawn(function* sleeper() {
          yield* sleep(10);
          woke.push(name);
        });
      // b sleeps once a sleeps: the only choice left is which timer fires first.
      const a = sleeper('a');
      yield* sleep(0);
      yield* joinall([a, sleeper('b')]);
      if (woke[0] !== 'a') throw new Error(`${String(woke[0])} woke first`);
    }
    await expect(virtualTime(sleepers)).resolves.toBeUndefined();
    const failure = await failureOf(explore(sleepers, { runs: 200, seed: 8 }));
    expect(failure.schedule).toEqual([1]);
    expect(failure.deviations[0]?.text).toBe(
      '  [0] at 10 ms, fired the timed wait of sleeper-3 (sleep()) before the timed wait of sleeper-2 (sleep()), set first for the same instant',
    );
  });

  it('reports a task error nobody observed, a deadlock and a leaked task as failures', async () => {
    const uncaught = await failureOf(
      explore(function* () {
        spawn(function* () {
          throw new Error('nobody joins me');
        });
        yield* sleep(1);
      }, { runs: 5, seed: 1 }),
    );
    expect(uncaught.cause).toBeInstanceOf(UncaughtTaskError);

    const deadlock = await failureOf(
      explore(function* () {
        yield* new Queue<number>().get();
      }, { runs: 5, seed: 1 }),
    );
    expect(deadlock.cause).toBeInstanceOf(LoopExit);

    const leak = await failureOf(
      explore(function* () {
        spawn(function* () {
          yield* sleep(1000);
        });
      }, { runs: 5, seed: 1 }),
    );
    expect(leak.cause).toBeInstanceOf(LeakedTaskError);
  });

  it('refuses a program that waits on real I/O, naming the call, unless realIo is set', async () => {
    function* usesPromise(): GreenletBody<number> {
      return yield* waitFor(Promise.resolve(42));
    }
    const failure = await failureOf(explore(usesPromise, { runs: 10, seed: 1 }));
    expect(failure.cause).toBeInstanceOf(RealIoError);
    expect((failure.cause as RealIoError).call).toBe('waitFor(promise)');
    expect((failure.cause as Error).message).toMatch(/^usesPromise-1 waits on the host: waitFor\(promise\) at test\/testing\/explore\.test\.ts:\d+:\d+\. explore\(\) controls every wait/);
    await expect(explore(usesPromise, { runs: 10, seed: 1, realIo: true })).resolves.toEqual({ runs: 10, seed: 1 });
  });

  it('refuses bad options with errors that say what is expected', async () => {
    await expect(explore(lockedUpdates, { runs: 0 })).rejects.toThrow(/^explore\(\): runs is a whole number >= 1, not 0$/);
    await expect(explore(lockedUpdates, { strategy: 'dfs' as 'pct' })).rejects.toThrow(/^explore\(\): strategy is 'random' or 'pct', not "dfs"$/);
    await expect(replay(lockedUpdates, [1, -1])).rejects.toThrow(/^replay\(\) takes a seed \(a number\) or a schedule \(an array of whole numbers >= 0\)/);
  });
});

describe('the three bugs of docs/testing.md', () => {
  const cases = [
    ['a check-then-act race across a yield*', overdraft, /^Error: overdrawn: the balance is -100$/],
    ['a lost wakeup in a hand-made condition variable', configLoaded, /^LoopExit: the program would wait forever/],
    ['a lock-order deadlock', crossTransfers, /^LoopExit: the program would wait forever/],
  ] as const;

  for (const [name, program, cause] of cases) {
    it(`${name}: passes under the default schedule, and explore finds it`, async () => {
      await expect(virtualTime(program)).resolves.toBeUndefined();
      const failure = await failureOf(explore(program, { runs: 1000, seed: 42 }));
      expect(`${(failure.cause as Error).name}: ${(failure.cause as Error).message}`.split('\n')[0]).toMatch(cause);
      expect(failure.deviations).toHaveLength(1);
    });
  }
});

describe('replay', () => {
  it('reproduces the failure of a shrunk schedule 100 times out of 100', async () => {
    const failure = await failureOf(explore(overdraft, { runs: 1000, seed: 42 }));
    for (let i = 0; i < 100; i++) {
      const error = await replay(overdraft, failure.schedule).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toBe((failure.cause as Error).message);
    }
  });

  it("reproduces the run as explore found it from the run's seed and strategy", async () => {
    for (const strategy of ['random', 'pct'] as const) {
      const failure = await failureOf(explore(crossTransfers, { runs: 1000, seed: 42, strategy }));
      await expect(replay(crossTransfers, failure.seed, { strategy })).rejects.toBeInstanceOf(LoopExit);
    }
  });

  it('resolves to what the program returns when the schedule passes', async () => {
    await expect(replay(lockedUpdates, [1, 2, 0, 1])).resolves.toBe(9);
    await expect(replay(lockedUpdates, 1234)).resolves.toBe(9);
  });
});

describe('shrinking', () => {
  /** Fails only if `victim` runs before `first` at their start; noise tasks add decisions. */
  function* oneBadOrder(): GreenletBody<void> {
    const order: string[] = [];
    const noise = Array.from({ length: 4 }, () =>
      spawn(function* noise() {
        for (let i = 0; i < 3; i++) yield* sleep(0);
      }),
    );
    const first = spawn(function* first() {
      order.push('first');
    });
    const victim = spawn(function* victim() {
      order.push('victim');
    });
    yield* joinall([...noise, first, victim]);
    if (order[0] !== 'first') throw new Error('victim ran first');
  }

  it('yields a schedule whose every deviation is needed: undoing any one of them makes the run pass', async () => {
    const failure = await failureOf(explore(oneBadOrder, { runs: 1000, seed: 9 }));
    expect(failure.original.filter((v) => v !== 0).length).toBeGreaterThan(1);
    expect(failure.deviations.length).toBe(1);
    failure.schedule.forEach((v, i) => {
      if (v === 0) return;
      const undone = failure.schedule.slice();
      undone[i] = 0;
      return expect(replay(oneBadOrder, undone)).resolves.toBeUndefined();
    });
    expect(failure.deviations[0]?.text).toMatch(/ran victim-\d+ before first-\d+, which was ready first/);
  });

  it('can be turned off: the schedule is then the one the failing run made', async () => {
    const failure = await failureOf(explore(oneBadOrder, { runs: 1000, seed: 9, shrink: false }));
    expect(failure.schedule).toEqual(failure.original);
  });

  it('stops after shrinkRuns replays', async () => {
    const failure = await failureOf(explore(oneBadOrder, { runs: 1000, seed: 9, shrinkRuns: 1 }));
    expect(failure.message).toMatch(/\nSchedule shrunk in 1 replay from /);
  });

  it('gives the replay call in the failure', async () => {
    const failure = await failureOf(explore(overdraft, { runs: 1000, seed: 42 }));
    expect(failure.replayCall).toBe('await replay(overdraft, [0, 0, 1])');
    expect(failure.message).toContain('\nReplay it: await replay(overdraft, [0, 0, 1])\n');
  });
});

describe('GREENLET_SEED', () => {
  afterEach(() => {
    delete process.env.GREENLET_SEED;
  });

  it('set to a schedule, makes only that run', async () => {
    process.env.GREENLET_SEED = '[1]';
    const failure = await failureOf(explore(configLoaded, { runs: 1000, seed: 42 }));
    expect([failure.strategy, failure.run, failure.schedule]).toEqual(['schedule', 1, [1]]);
    process.env.GREENLET_SEED = '[]';
    await expect(explore(configLoaded, { runs: 1000, seed: 42 })).resolves.toEqual({ runs: 1, seed: 42 });
  });

  it("set to a run's seed, makes only that run", async () => {
    const found = await failureOf(explore(crossTransfers, { runs: 1000, seed: 42 }));
    process.env.GREENLET_SEED = String(found.seed);
    const again = await failureOf(explore(crossTransfers, { runs: 1000, seed: 7 }));
    expect([again.seed, again.run, again.schedule]).toEqual([found.seed, 1, found.schedule]);
  });

  it('refuses a value that is neither', async () => {
    process.env.GREENLET_SEED = 'abc';
    await expect(explore(configLoaded)).rejects.toThrow(/^GREENLET_SEED=abc is neither a seed \(a whole number\) nor a schedule/);
  });
});
