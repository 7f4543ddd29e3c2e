/**
 * The hub's list of live tasks: `liveTasks()` (and what reads it: `parkedTasks()`,
 * `blockedTasks()`, `liveCount`) finds every task that has not ended, once, in the order
 * its TSDoc gives, although a task made by `spawn()` goes on the hub's linked list only
 * when it first parks (a task that runs to its end without parking never touches it: what
 * that saves is measured by the benchmarks, docs/benchmarks.md; these tests pin what
 * a user sees).
 */
import { describe, expect, it } from 'vitest';
import { Event, Task, currentTask, getHub, run, spawn, type GreenletBody } from 'greenlet-ts';

function* returnAtOnce(): GreenletBody<number> {
  return 1;
}

describe('the live tasks', () => {
  it('tasks that run to their end without parking are listed while they live, once each, and not after; parked tasks stay listed', async () => {
    const never = new Event();
    await run(function* () {
      const hub = getHub();
      const me = currentTask();
      const parked = spawn(function* parker(): GreenletBody<void> {
        yield* never.wait();
      });
      yield* parked.join(0); // this task parks first, then the parker: both are on the list
      const seenWhileRunning: Task[][] = [];
      const counts: number[] = [];
      function* looksAround(): GreenletBody<number> {
        seenWhileRunning.push(hub.liveTasks() as Task[]);
        counts.push(hub.liveCount);
        return 1;
      }
      const tasks = [spawn(looksAround), spawn(looksAround)];
      // Queued: after the listed ones, in the order they will run.
      expect(hub.liveTasks()).toEqual([me, parked, ...tasks]);
      expect(hub.liveCount).toBe(4);
      for (const t of tasks) expect(yield* t.get()).toBe(1);
      // Each saw itself as the current task, and the one after it still queued.
      expect(seenWhileRunning).toEqual([
        [me, parked, tasks[0], tasks[1]],
        [me, parked, tasks[1]],
      ]);
      expect(counts).toEqual([4, 3]);
      // Ended: gone, and the end of a task that was never on the list took nobody else off it.
      const more = Array.from({ length: 1000 }, () => spawn(returnAtOnce));
      for (const t of more) yield* t.join();
      expect(hub.liveTasks()).toEqual([me, parked]);
      expect(hub.liveCount).toBe(2);
      expect(hub.parkedTasks()).toEqual([parked]);
      expect(hub.blockedTasks().map((b) => b.waitingOn)).toEqual(['Event(clear, 1 waiting)']);
      never.set();
      yield* parked.join();
      expect(hub.liveTasks()).toEqual([me]);
      expect(hub.liveCount).toBe(1);
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
    task.kill({ block: false });
  });

  it('a task that parks after it has run is listed while parked, and its wait is reported', async () => {
    const gate = new Event();
    await run(function* () {
      const t = spawn(function* waiter(): GreenletBody<void> {
        yield* gate.wait();
      });
      yield* t.join(0);
      expect(getHub().parkedTasks()).toContain(t);
      expect(getHub().blockedTasks().map((b) => b.waitingOn)).toContain('Event(clear, 1 waiting)');
      gate.set();
      yield* t.join();
      expect(getHub().liveTasks()).not.toContain(t);
    });
  });
});
