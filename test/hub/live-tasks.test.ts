/**
 * The hub's list of live tasks: `liveTasks()` (and what reads it: `parkedTasks()`,
 * `blockedTasks()`, `liveCount`) finds every task that has not ended, although a task made
 * by `spawn()` goes on the hub's linked list only when it first parks (a task that runs to
 * its end without parking never touches it).
 */
import { describe, expect, it } from 'vitest';
import { Event, Task, currentTask, getHub, run, spawn, type GreenletBody } from 'greenlet-ts';
import { NEXT } from '../../src/hub/hub.js';

function* returnAtOnce(): GreenletBody<number> {
  return 1;
}

/** The tasks on the hub's linked list itself, newest first. */
function linked(): Task[] {
  const list: Task[] = [];
  for (let task = getHub().liveHead; task !== null; task = task[NEXT]) list.push(task as Task);
  return list;
}

describe('the live tasks', () => {
  it('a spawned task that runs to its end without parking is never put on the linked list', async () => {
    await run(function* () {
      const before = linked().length;
      const tasks = [spawn(returnAtOnce), spawn(returnAtOnce)];
      expect(linked().length).toBe(before);
      for (const t of tasks) expect(yield* t.get()).toBe(1);
      // The task running run() parked in its first join: it is on the list, the two are not.
      expect(linked()).toContain(currentTask());
      for (const t of tasks) expect(linked()).not.toContain(t);
    });
  });

  it('liveTasks() lists the tasks spawned and not started yet, the current task, and the parked ones, each once', async () => {
    const never = new Event();
    await run(function* () {
      const me = currentTask();
      const parked = spawn(function* parker(): GreenletBody<void> {
        yield* never.wait();
      });
      yield* parked.join(0); // it runs and parks
      const queued = [spawn(returnAtOnce), spawn(returnAtOnce)];
      const live = getHub().liveTasks();
      expect(live).toContain(me);
      expect(live).toContain(parked);
      for (const t of queued) expect(live).toContain(t);
      expect(new Set(live).size).toBe(live.length);
      expect(live.length).toBe(getHub().liveCount);
      expect(getHub().parkedTasks()).toEqual([parked]);
      for (const t of queued) yield* t.join();
      expect(getHub().liveTasks()).not.toContain(queued[0]);
      never.set();
      yield* parked.join();
      expect(getHub().liveTasks()).toEqual([me]);
    });
  });

  it('a task made with new Task and never started is listed, until it is killed', async () => {
    const task = new Task(returnAtOnce);
    expect(getHub().liveTasks()).toContain(task);
    task.kill({ block: false });
    expect(getHub().liveTasks()).not.toContain(task);
    await run(function* () {
      // And spawned tasks are not mistaken for it: both are listed while live.
      const t = new Task(returnAtOnce);
      const s = spawn(returnAtOnce);
      expect(getHub().liveTasks()).toEqual(expect.arrayContaining([t, s]));
      t.start();
      yield* t.join();
      yield* s.join();
    });
  });

  it('a spawn that the constructor refuses (an async function) leaves the next new Task listed', () => {
    expect(() => spawn((async () => 1) as unknown as () => GreenletBody<number>)).toThrow(/is async/);
    const task = new Task(returnAtOnce);
    expect(getHub().liveTasks()).toContain(task);
    expect(linked()).toContain(task);
    task.kill({ block: false });
  });

  it('a task that parks after it has run is listed while parked, and its wait is reported', async () => {
    const gate = new Event();
    await run(function* () {
      const t = spawn(function* waiter(): GreenletBody<void> {
        yield* gate.wait();
      });
      yield* t.join(0);
      expect(linked()).toContain(t);
      expect(getHub().blockedTasks().map((b) => b.waitingOn)).toContain('Event(clear, 1 waiting)');
      gate.set();
      yield* t.join();
      expect(linked()).not.toContain(t);
    });
  });
});
