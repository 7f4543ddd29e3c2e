/**
 * `startNow(task)` (internal) before the hub has ever run: its generator has not started,
 * so there is no place where it waits for a direct start's pass to hand it the rest (see
 * Hub.startNow). The task is queued and the hub started at once instead: the hub's first
 * pass runs it, before startNow returns. This file's only test needs a hub that has not
 * run yet: each test file runs in a fresh realm (a fork under vitest, a process or a page
 * on the other runtimes), and nothing here runs the hub before it; the test checks that.
 */
import { expect, it, vi } from 'vitest';
import { Event, Task, getHub, spawn, switchCount } from 'greenlet-ts';
import { inHostCallback } from '../host-callback.js';

const hub = getHub();


it('from a host callback, starts the hub, whose first pass runs the task and what it spawns before startNow returns; later passes count as before', async () => {
  expect(hub.started, 'the hub has run before this test: it needs a fresh one').toBe(false);
  const log: string[] = [];
  const event = new Event();
  const first = { startedAfter: false, switches: 0, passes: 0, microtasks: 0 };
  await inHostCallback(() => {
    const queued = vi.spyOn(globalThis, 'queueMicrotask');
    const switches = switchCount();
    const passes = hub.passes;
    hub.startNow(
      new Task(function* () {
        log.push('task runs');
        spawn(() => log.push('spawned task runs'));
        yield* event.wait();
        log.push('task woken');
      }),
    );
    log.push('startNow returned');
    first.startedAfter = hub.started;
    first.switches = switchCount() - switches;
    first.passes = hub.passes - passes;
    first.microtasks = queued.mock.calls.length;
    queued.mockRestore();
  });
  expect(log).toEqual(['task runs', 'spawned task runs', 'startNow returned']);
  // The hub's own first pass (which hub.passes does not count). Its switches, starts not
  // counted: main starts the hub, the hub starts the task, whose park starts the spawned
  // task; that one's end goes back to the hub (1), which ends the pass and goes back to
  // main (2). (A direct start here would leave the hub unstarted.)
  expect(first).toEqual({ startedAfter: true, switches: 2, passes: 0, microtasks: 0 });

  // The wake of the parked task from a host callback is a pass of its own, counted.
  let passes = hub.passes;
  await inHostCallback(() => {
    event.set();
    log.push('event set');
  });
  expect(log.slice(3)).toEqual(['event set', 'task woken']);
  expect(hub.passes - passes).toBe(1);

  // Now that the hub runs, startNow takes the direct start: main starts the task, whose
  // end goes straight back to main (1), the hub's generator not resumed.
  passes = hub.passes;
  const switches = switchCount();
  await inHostCallback(() => hub.startNow(new Task(() => log.push('second task runs'))));
  expect(log.slice(5)).toEqual(['second task runs']);
  expect([switchCount() - switches, hub.passes - passes]).toEqual([1, 1]);
});
