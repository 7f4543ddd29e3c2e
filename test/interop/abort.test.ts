import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  GreenletError,
  GreenletExit,
  run,
  sleep,
  spawn,
} from 'greenlet-ts';
import { AbortError, killOnAbort, spawnWithSignal, taskSignal } from '../../src/interop/abort.js';
import { expectCleanHub } from './clean-hub.js';

// No gevent counterpart: Python has no AbortSignal. The kill semantics are gevent's
// (test__greenlet.py::TestKill): the error is raised where the task blocks, finally runs.

const reports = expectCleanHub();

const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** A task body that parks until killed, recording that its finally ran. */
function parkForever(log: string[]) {
  return function* parked() {
    try {
      yield* sleep(60_000);
    } finally {
      log.push('finally');
    }
  };
}

describe('killOnAbort', () => {
  it("kills a parked task with the signal's reason when the signal aborts", async () => {
    const controller = new AbortController();
    const log: string[] = [];
    const reason = new Error('user cancelled');
    await run(function* () {
      const t = spawn(parkForever(log));
      killOnAbort(t, controller.signal);
      yield* sleep(0);
      controller.abort(reason);
      yield* t.join();
      expect(t.exception).toBe(reason);
    });
    expect(log).toEqual(['finally']);
  });

  it('kills with the DOMException AbortError that abort() without a reason gives', async () => {
    const controller = new AbortController();
    await run(function* () {
      const t = spawn(parkForever([]));
      killOnAbort(t, controller.signal);
      yield* sleep(0);
      controller.abort();
      yield* t.join();
      expect(t.exception).toBe(controller.signal.reason);
      expect((t.exception as Error).name).toBe('AbortError');
    });
  });

  it('wraps a reason that is not an Error in an AbortError with the reason as cause', async () => {
    const controller = new AbortController();
    await run(function* () {
      const t = spawn(parkForever([]));
      killOnAbort(t, controller.signal);
      yield* sleep(0);
      controller.abort('closing');
      yield* t.join();
      const error = t.exception as AbortError;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.name).toBe('AbortError');
      expect(error.cause).toBe('closing');
      expect(error.message).toMatch(/closing/);
    });
  });

  it('kills a task that has not started yet at once, so it never runs, when the signal is already aborted', async () => {
    // gevent: test__greenlet.py::TestKill (a greenlet killed before it starts never runs)
    const reason = new Error('too late');
    let ran = false;
    await run(function* () {
      const t = spawn(function* () {
        ran = true;
      });
      killOnAbort(t, AbortSignal.abort(reason));
      yield* t.join();
      expect(t.exception).toBe(reason);
    });
    expect(ran).toBe(false);
  });

  it('removes its abort listener when the task ends', async () => {
    const controller = new AbortController();
    await run(function* () {
      const t = spawn(function* () {
        yield* sleep(0);
        return 'done';
      });
      killOnAbort(t, controller.signal);
      expect(abortListeners(controller.signal)).toBe(1);
      yield* t.join();
    });
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('lets one long-lived signal guard many tasks without accumulating listeners', async () => {
    const controller = new AbortController();
    await run(function* () {
      for (let i = 0; i < 50; i++) {
        const t = spawn(function* () {
          yield* sleep(0);
        });
        killOnAbort(t, controller.signal);
        yield* t.join();
      }
    });
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('unties the task and the signal when disposed, so a later abort does not kill', async () => {
    const controller = new AbortController();
    const value = await run(function* () {
      const t = spawn(function* () {
        yield* sleep(0);
        yield* sleep(0);
        return 'survived';
      });
      const tie = killOnAbort(t, controller.signal);
      tie[Symbol.dispose]();
      expect(abortListeners(controller.signal)).toBe(0);
      controller.abort();
      return yield* t.get();
    });
    expect(value).toBe('survived');
  });

  it('raises the abort in the task at its next blocking call when the task aborts its own signal', async () => {
    const controller = new AbortController();
    const reason = new Error('self');
    const log: string[] = [];
    await run(function* () {
      const t = spawn(function* () {
        controller.abort(reason);
        log.push('still running after abort()');
        try {
          yield* sleep(0);
          log.push('not reached');
        } finally {
          log.push('finally');
        }
      });
      killOnAbort(t, controller.signal);
      yield* t.join();
      expect(t.exception).toBe(reason);
    });
    expect(log).toEqual(['still running after abort()', 'finally']);
  });
});

describe('spawnWithSignal', () => {
  it('spawns a task that is killed when the signal aborts', async () => {
    const controller = new AbortController();
    const log: string[] = [];
    await run(function* () {
      const t = spawnWithSignal(controller.signal, parkForever(log));
      yield* sleep(0);
      controller.abort(new Error('stop'));
      yield* t.join();
      expect((t.exception as Error).message).toBe('stop');
    });
    expect(log).toEqual(['finally']);
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('passes the arguments to the function, and returns its value when not aborted', async () => {
    const controller = new AbortController();
    const sum = await run(function* () {
      const t = spawnWithSignal(
        controller.signal,
        function* (a: number, b: number) {
          yield* sleep(0);
          return a + b;
        },
        2,
        3,
      );
      return yield* t.get();
    });
    expect(sum).toBe(5);
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('never runs the function when the signal is already aborted', async () => {
    let ran = false;
    const reason = new Error('already');
    const caught = await run(function* () {
      const t = spawnWithSignal(AbortSignal.abort(reason), function* () {
        ran = true;
      });
      try {
        yield* t.get();
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(reason);
    expect(ran).toBe(false);
  });
});

describe('taskSignal', () => {
  it("aborts with the kill's GreenletExit when the task is killed", async () => {
    let signal: AbortSignal | undefined;
    await run(function* () {
      const t = spawn(function* () {
        signal = taskSignal();
        yield* sleep(60_000);
      });
      yield* sleep(0);
      expect(signal?.aborted).toBe(false);
      yield* t.kill();
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe(t.value);
      expect(signal?.reason).toBeInstanceOf(GreenletExit);
    });
  });

  it('aborts with an AbortError naming the task when it returns normally', async () => {
    let signal: AbortSignal | undefined;
    await run(function* () {
      const t = spawn(function* worker() {
        signal = taskSignal();
        yield* sleep(0);
      });
      yield* t.join();
    });
    expect(signal?.reason).toBeInstanceOf(AbortError);
    expect((signal?.reason as Error).message).toMatch(/worker-\d+ has ended/);
  });

  it('aborts with the error the task failed with', async () => {
    const boom = new Error('boom');
    let signal: AbortSignal | undefined;
    await run(function* () {
      const t = spawn(function* () {
        signal = taskSignal();
        yield* sleep(0);
        throw boom;
      });
      yield* t.join();
    });
    expect(signal?.reason).toBe(boom);
  });

  it('gives the same signal for the same task, also when asked from outside', async () => {
    await run(function* () {
      const t = spawn(function* () {
        const inside = taskSignal();
        yield* sleep(0);
        return inside;
      });
      const outside = taskSignal(t);
      const inside = yield* t.get();
      expect(inside).toBe(outside);
    });
  });

  it('gives an already aborted signal for a task that has ended', async () => {
    await run(function* () {
      const t = spawn(function* () {
        return 1;
      });
      yield* t.join();
      const signal = taskSignal(t);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(AbortError);
    });
  });

  it('stops a promise-based operation the task started when the task is killed', async () => {
    let operationAborted = false;
    await run(function* () {
      const t = spawn(function* () {
        const signal = taskSignal();
        // Started, not waited for: it lives as long as the task.
        signal.addEventListener('abort', () => {
          operationAborted = true;
        });
        yield* sleep(60_000);
      });
      yield* sleep(0);
      yield* t.kill();
    });
    expect(operationAborted).toBe(true);
  });

  it('refuses to guess outside a task without an argument, saying to pass the task', () => {
    expect(() => taskSignal()).toThrow(GreenletError);
    expect(() => taskSignal()).toThrow(/outside a task.*taskSignal\(task\)/);
  });
});

describe('ties do not hide failures', () => {
  it('a failing task tied to a signal and with a task signal is still reported when nobody waits for it', async () => {
    class Unseen extends Error {}
    const error = new Unseen('nobody joins me');
    const controller = new AbortController();
    const task = spawn(function* () {
      yield* sleep(0);
      throw error;
    });
    killOnAbort(task, controller.signal);
    const signal = taskSignal(task);
    await run(function* () {
      yield* sleep(0);
      yield* sleep(0);
      yield* sleep(0);
    });
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(error);
    expect(reports).toEqual([{ kind: 'task-error', task, error }]);
    reports.length = 0; // expected: the afterEach check wants no other report
  });
});
