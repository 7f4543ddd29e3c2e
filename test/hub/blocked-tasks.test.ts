/**
 * What a program learns of tasks that wait forever, on every runtime: `blockedTasks()`
 * anywhere, and the hub's idle check (Hub.loopExitAfterMs) where it is on. Node's
 * beforeExit is test/hub/run.test.ts; Deno's and Bun's processes, test/runtimes/loop-exit.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Event, LoopExit, getHub, run, type Task } from 'greenlet-ts';

const hostLacksExitHook = 'Deno' in globalThis || 'Bun' in globalThis;
/** Browsers and JavaScriptCore's shell: no process, so nothing but the hub to ask. */
const noProcess = typeof (globalThis as { process?: unknown }).process === 'undefined';

const stuck: Task[] = [];
afterEach(() => {
  for (const task of stuck.splice(0)) task.kill();
  getHub().loopExitAfterMs = hostLacksExitHook ? 1000 : Infinity;
  // Each test's plain-code set() woke a task: forget it, so that the next test starts afresh.
  getHub().wokenFromOutside = false;
});

/** Settles to 'pending' if `promise` has not settled within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), new Promise((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe('tasks that wait forever', () => {
  it('blockedTasks() names every parked task and what it waits on, while their run() stays pending', async () => {
    getHub().loopExitAfterMs = Infinity;
    const never = new Event();
    const pending = run(function* waiter() {
      yield* never.wait();
    });
    expect(await within(pending, 50)).toBe('pending');
    expect(getHub().blockedTasks()).toEqual([{ name: expect.stringMatching(/^waiter-\d+$/), waitingOn: 'Event(clear, 1 waiting)', parkedForMs: expect.any(Number) }]);
    never.set();
    await pending;
    expect(getHub().blockedTasks()).toEqual([]);
  });

  it('the idle check is on by default only where the host has no exit hook under a top-level await (Deno, Bun)', () => {
    expect(getHub().loopExitAfterMs).toBe(hostLacksExitHook ? 1000 : Infinity);
  });

  it.skipIf(!noProcess)('turned on, the idle check rejects a run() whose tasks all wait on each other with LoopExit', async () => {
    getHub().loopExitAfterMs = 200;
    const never = new Event();
    const outcome = await within(
      run(function* waiter() {
        yield* never.wait();
      }),
      10_000,
    );
    stuck.push(...(getHub().parkedTasks() as unknown as Task[]));
    expect(outcome).toEqual({ error: expect.any(LoopExit) });
    expect(((outcome as { error: LoopExit }).error).message).toMatch(/^waiter-\d+ would wait forever: the event loop has nothing left to do, and 1 task is parked/);
  });

  it.skipIf(!noProcess)('once plain code (a host callback) has woken a task, the idle check stops guessing', async () => {
    getHub().loopExitAfterMs = 200;
    const ready = new Event();
    setTimeout(() => ready.set(), 50); // plain code wakes the waiter: host work the hub cannot see
    await run(function* () {
      yield* ready.wait();
    });
    const never = new Event();
    const pending = run(function* () {
      yield* never.wait();
    });
    expect(await within(pending, 1000)).toBe('pending');
    stuck.push(...(getHub().parkedTasks() as unknown as Task[]));
    never.set();
    await pending;
  });
});
