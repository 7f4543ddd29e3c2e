/**
 * No silent cleanup errors: an error that escapes a task while it is being killed (its
 * `finally` or `catch` throws as it unwinds) is never dropped. The rule, the same for
 * every kind of kill, blocking or not: the waiting a kill does is not a look at the
 * task's outcome, so the error goes to the hub's reporter unless something else takes it
 * (`get()`, `await`, `exception`, a link, a scope, which raises its first child failure in
 * its owner).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Event,
  GreenletExit,
  Pool,
  Task,
  getHub,
  killall,
  printReport,
  run,
  scope,
  sleep,
  spawn,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import { Group } from '../../src/sync/group.js';

class CleanupFailed extends Error {
  static {
    this.prototype.name = 'CleanupFailed';
  }
}

let reports: HubReport[] = [];
beforeEach(() => {
  reports = [];
  getHub().reporter = (report) => reports.push(report);
});
afterEach(() => {
  getHub().reporter = printReport;
});

/** A task parked forever whose `finally` throws `error`; `entered` is set once it parks. */
function failingCleanup(error: Error, entered = new Event()): Task {
  return spawn(function* parkedWithBadCleanup(): GreenletBody<void> {
    try {
      entered.set();
      yield* new Event().wait();
    } finally {
      // eslint-disable-next-line no-unsafe-finally
      throw error;
    }
  });
}

/** Let the hub pass end and its deferred reports go out. */
function* settle(): GreenletBody<void> {
  yield* sleep(0);
  yield* sleep(5);
}

function taskErrors(): unknown[] {
  return reports.filter((r) => r.kind === 'task-error').map((r) => (r as { error: unknown }).error);
}

describe('an error escaping finally during a kill', () => {
  it('is reported after a blocking kill, which itself returns normally', async () => {
    const error = new CleanupFailed('blocking kill');
    const outcome = await run(function* () {
      const task = failingCleanup(error);
      yield* sleep(0);
      yield* task.kill();
      const after = { ready: task.ready(), successful: task.successful() };
      yield* settle();
      return after;
    });
    expect(outcome).toEqual({ ready: true, successful: false });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'task-error', error });
    expect((reports[0] as unknown as { task: Task }).task.name).toMatch(/^parkedWithBadCleanup-\d+$/);
  });

  it('is reported after a non-blocking kill', async () => {
    const error = new CleanupFailed('non-blocking kill');
    await run(function* () {
      const task = failingCleanup(error);
      yield* sleep(0);
      task.kill(undefined, { block: false });
      yield* settle();
    });
    expect(taskErrors()).toEqual([error]);
  });

  it('is reported after a blocking kill with a timeout that the task outlives no more', async () => {
    const error = new CleanupFailed('kill with timeout');
    await run(function* () {
      const task = failingCleanup(error);
      yield* sleep(0);
      yield* task.kill(undefined, { timeout: 1000 });
      yield* settle();
    });
    expect(taskErrors()).toEqual([error]);
  });

  it('is raised, not reported, to a killer that then asks for the result with get()', async () => {
    const error = new CleanupFailed('taken by get');
    const got = await run(function* () {
      const task = failingCleanup(error);
      yield* sleep(0);
      yield* task.kill();
      try {
        yield* task.get();
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* settle();
      }
    });
    expect(got).toBe(error);
    expect(reports).toEqual([]);
  });

  it('is reported for each task killall kills, blocking or not', async () => {
    const errors = [new CleanupFailed('a'), new CleanupFailed('b'), new CleanupFailed('c')];
    await run(function* () {
      const blocking = [failingCleanup(errors[0] as Error), failingCleanup(errors[1] as Error)];
      const nonBlocking = [failingCleanup(errors[2] as Error)];
      yield* sleep(0);
      yield* killall(blocking);
      yield* killall(nonBlocking, undefined, { block: false });
      yield* settle();
    });
    expect(new Set(taskErrors())).toEqual(new Set(errors));
  });

  it('is reported for each member a group kills, and for each task a pool kills when it shuts down', async () => {
    const groupError = new CleanupFailed('group member');
    const poolErrors = [new CleanupFailed('pool 1'), new CleanupFailed('pool 2')];
    await run(function* () {
      const group = new Group();
      const pool = new Pool(2);
      group.add(failingCleanup(groupError));
      for (const error of poolErrors) {
        yield* pool.spawn(function* parkedInPool(): GreenletBody<void> {
          try {
            yield* new Event().wait();
          } finally {
            // eslint-disable-next-line no-unsafe-finally
            throw error;
          }
        });
      }
      yield* sleep(0);
      yield* group.kill();
      yield* pool.kill();
      yield* settle();
    });
    expect(new Set(taskErrors())).toEqual(new Set([groupError, ...poolErrors]));
  });

  it('is reported for a member killed with killone()', async () => {
    const error = new CleanupFailed('killone');
    await run(function* () {
      const group = new Group();
      const task = failingCleanup(error);
      group.add(task);
      yield* sleep(0);
      yield* group.killone(task);
      yield* settle();
    });
    expect(taskErrors()).toEqual([error]);
  });

  it('is reported for the tasks an imap() iterator kills when it is closed', async () => {
    const errors = [new CleanupFailed('item 1'), new CleanupFailed('item 2')];
    await run(function* () {
      const pool = new Pool(2);
      const it = pool.imap(function* (error: Error): GreenletBody<void> {
        try {
          yield* new Event().wait();
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw error;
        }
      }, errors);
      yield* sleep(0);
      yield* sleep(0);
      it.close();
      yield* pool.join();
      yield* settle();
    });
    expect(new Set(taskErrors())).toEqual(new Set(errors));
  });

  it('is raised by scope() when a child killed at the scope exit fails in its finally', async () => {
    const error = new CleanupFailed('scope child');
    const outcome = await run(function* () {
      try {
        yield* scope(function* (s) {
          s.spawn(function* (): GreenletBody<void> {
            try {
              yield* new Event().wait();
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw error;
            }
          });
          yield* sleep(0);
          return 'body done';
        });
        return 'no error';
      } catch (e) {
        return e;
      } finally {
        yield* settle();
      }
    });
    expect(outcome).toBe(error);
    expect(reports).toEqual([]);
  });

  it('is reported when a second child of a scope fails in its finally after the first failure', async () => {
    const first = new CleanupFailed('first');
    const second = new CleanupFailed('second, while killed');
    const outcome = await run(function* () {
      try {
        yield* scope(function* (s) {
          s.spawn(function* (): GreenletBody<void> {
            try {
              yield* new Event().wait();
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw second;
            }
          });
          s.spawn(function* (): GreenletBody<void> {
            yield* sleep(1);
            throw first;
          });
          yield* new Event().wait();
        });
        return 'no error';
      } catch (e) {
        return e;
      } finally {
        yield* settle();
      }
    });
    expect(outcome).toBe(first);
    expect(taskErrors()).toEqual([second]);
  });

  it('is not reported when the kill\'s own GreenletExit comes out: a kill is not a failure', async () => {
    await run(function* () {
      const task = spawn(function* () {
        yield* new Event().wait();
      });
      yield* sleep(0);
      yield* task.kill();
      expect(task.value).toBeInstanceOf(GreenletExit);
      yield* settle();
    });
    expect(reports).toEqual([]);
  });
});
