/**
 * A host callback (plain main-greenlet code: an I/O event, a timer) that readies a task and
 * then runs the hub with `runNow()` pays for one pass of the hub, not two: the pass it runs
 * covers the microtask that readying the task from plain code asked for. `startNow(task)`
 * starts and runs a new task without asking for that microtask at all (what an HttpServer
 * does for each request).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Task, getHub, sleep, spawn } from 'greenlet-ts';
import { inHostCallback } from '../host-callback.js';

const hub = getHub();


// `hub.passes` counts the passes after the hub's first: make that one before any test.
beforeAll(() => inHostCallback(() => spawn(() => {})));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runNow() from a host callback', () => {
  it('runs a task spawned in the callback at once, in one pass of the hub', async () => {
    const log: string[] = [];
    let passes = 0;
    await inHostCallback(() => {
      const before = hub.passes;
      spawn(() => log.push('task ran'));
      log.push('spawned');
      hub.runNow();
      log.push('runNow returned');
      passes = -before;
    });
    passes += hub.passes;
    expect(log).toEqual(['spawned', 'task ran', 'runNow returned']);
    expect(passes).toBe(1);
  });

  it('still runs a task readied after its pass, in a pass of its own', async () => {
    const log: string[] = [];
    let passes = 0;
    await inHostCallback(() => {
      const before = hub.passes;
      spawn(() => log.push('first'));
      hub.runNow();
      spawn(() => log.push('second')); // no runNow: the microtask runs it
      passes = -before;
    });
    passes += hub.passes;
    expect(log).toEqual(['first', 'second']);
    expect(passes).toBe(2);
  });
});

describe('startNow() (internal)', () => {
  it('from a host callback, runs the task at once in one pass and asks for no microtask', async () => {
    const log: string[] = [];
    let passes = 0;
    let microtasks = 0;
    await inHostCallback(() => {
      const queued = vi.spyOn(globalThis, 'queueMicrotask');
      const before = hub.passes;
      hub.startNow(new Task(() => log.push('task ran')));
      log.push('startNow returned');
      passes = -before;
      microtasks = queued.mock.calls.length;
    });
    passes += hub.passes;
    expect(log).toEqual(['task ran', 'startNow returned']);
    expect(passes).toBe(1);
    expect(microtasks).toBe(0);
  });

  it('inside a task, only starts the new task: it runs when the caller parks', async () => {
    const log: string[] = [];
    const parent = spawn(function* () {
      hub.startNow(new Task(() => log.push('child ran')));
      log.push('parent goes on');
      yield* sleep(0);
      log.push('parent resumed');
    });
    await parent;
    expect(log).toEqual(['parent goes on', 'child ran', 'parent resumed']);
  });

  it('does not start a task twice', async () => {
    let runs = 0;
    await inHostCallback(() => {
      const task = new Task(() => runs++);
      hub.startNow(task);
      hub.startNow(task);
      task.start();
    });
    expect(runs).toBe(1);
  });
});
