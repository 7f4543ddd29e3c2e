/**
 * When a task's links fire, against gevent 22.10.2's Greenlet: links (`link` and `rawlink`)
 * added to a task that has ended (one, and several interleaved with spawns and with an
 * Event's rawlinks), added while the task's links are being fired, and unlinked before they
 * were called. The same program, link-order.py, run by Debian's gevent (`/usr/bin/python3`,
 * package python3-gevent, which .ci/run installs; where it is not installed that half is
 * skipped, saying so), prints gevent's log of each scenario.
 *
 * Where they agree, one expectation holds both. Where they differ, the difference is one
 * docs/coming-from-gevent.md describes ("Link callbacks run in tasks, in order", and "A
 * task's links fire as it ends"), and both logs are pinned: the hub runs its callbacks (an
 * Event's rawlinks, a notification of links) before the tasks that are ready, where gevent
 * runs callbacks and spawned greenlets in one queue; a `link` callback's new task runs after
 * the tasks already ready, where gevent switches into the link's greenlet at once; and a
 * task's links fire as it ends, where gevent queues their notification (so that a `join()`
 * woken by it runs while it is under way).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { Event, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { gevent } from './has-gevent.js';

/** The scenarios where gevent and ours log the same. */
const same = {
  deadOneLink: ['link'],
  deadAddedWhileNotifying: ['first rawlink', 'second rawlink', 'added rawlink', 'added link'],
  addedWhileNotifying: ['other task', 'link starts', 'first rawlink', 'second rawlink', 'added rawlink', 'added link', 'link resumes'],
  unlinkDuringNotification: ['a unlinks c', 'b'],
  unlinkOnDeadBeforeCalled: ['e'],
  unlinkOnDeadFirstOfTwo: ['f', 'g'],
};

/** Where they differ (see the header). */
const geventOnly = {
  deadSeveral: ['A rawlink', 'B link', 'D rawlink', 'X spawned', 'C event rawlink', 'Y spawned'],
  deadAfterSpawnAndEvent: ['X spawned', 'C event rawlink', 'A rawlink', 'B link'],
  setThenEnd: ['task ends', 'event rawlink', 'task rawlink', 'task link'],
  justJoined: ['A rawlink', 'B link', 'X spawned'],
};
const oursOnly = {
  // The notification of A, B and D (one, in registration order) and the Event's, as hub
  // callbacks, before the tasks X and Y; B's task after them; D once B's task has run.
  deadSeveral: ['A rawlink', 'C event rawlink', 'X spawned', 'Y spawned', 'B link', 'D rawlink'],
  deadAfterSpawnAndEvent: ['C event rawlink', 'A rawlink', 'X spawned', 'B link'],
  // The task's links fire as it ends, before the Event's notification queued by set().
  setThenEnd: ['task ends', 'task rawlink', 'event rawlink', 'task link'],
  // join() returned after the notification: A and B get a new one, B's task after X.
  justJoined: ['A rawlink', 'X spawned', 'B link'],
};

function* noop(): GreenletBody<void> {}

/** Joined, then a hub turn: the notification that woke join() is over. */
function* dead(): GreenletBody<Task> {
  const g = spawn(noop);
  yield* g.join();
  yield* sleep(0);
  return g;
}

function* turns(n = 4): GreenletBody<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

function* scenarios(): GreenletBody<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  let log: string[] = [];
  const logs = (entry: string) => () => void log.push(entry);

  let g = yield* dead();
  g.link(logs('link'));
  yield* turns();
  out.deadOneLink = log;

  log = [];
  g = yield* dead();
  g.rawlink(logs('A rawlink'));
  spawn(logs('X spawned'));
  g.link(logs('B link'));
  let e = new Event();
  e.rawlink(logs('C event rawlink'));
  e.set();
  g.rawlink(logs('D rawlink'));
  spawn(logs('Y spawned'));
  yield* turns();
  out.deadSeveral = log;

  log = [];
  g = yield* dead();
  e = new Event();
  spawn(logs('X spawned'));
  e.rawlink(logs('C event rawlink'));
  e.set();
  g.rawlink(logs('A rawlink'));
  g.link(logs('B link'));
  yield* turns();
  out.deadAfterSpawnAndEvent = log;

  log = [];
  const deadTask = yield* dead();
  deadTask.rawlink(() => {
    log.push('first rawlink');
    deadTask.rawlink(logs('added rawlink'));
    deadTask.link(logs('added link'));
  });
  deadTask.rawlink(logs('second rawlink'));
  yield* turns();
  out.deadAddedWhileNotifying = log;

  log = [];
  const live = spawn(noop);
  live.link(function* () {
    log.push('link starts');
    yield* sleep(0);
    log.push('link resumes');
  });
  live.rawlink(() => {
    log.push('first rawlink');
    live.rawlink(logs('added rawlink'));
    live.link(logs('added link'));
  });
  live.rawlink(logs('second rawlink'));
  spawn(logs('other task'));
  yield* turns(5);
  out.addedWhileNotifying = log;

  log = [];
  const set = new Event();
  g = spawn(() => {
    set.set();
    log.push('task ends');
  });
  set.rawlink(logs('event rawlink'));
  g.rawlink(logs('task rawlink'));
  g.link(logs('task link'));
  yield* turns();
  out.setThenEnd = log;

  log = [];
  g = spawn(noop);
  yield* g.join();
  spawn(logs('X spawned'));
  g.rawlink(logs('A rawlink'));
  g.link(logs('B link'));
  yield* turns();
  out.justJoined = log;

  log = [];
  const unlinking = spawn(noop);
  const c = logs('c');
  unlinking.rawlink(() => {
    log.push('a unlinks c');
    unlinking.unlink(c);
  });
  unlinking.rawlink(logs('b'));
  unlinking.link(c);
  yield* turns();
  out.unlinkDuringNotification = log;

  log = [];
  g = yield* dead();
  const d = logs('d');
  g.link(d);
  g.rawlink(logs('e'));
  g.unlink(d);
  yield* turns();
  out.unlinkOnDeadBeforeCalled = log;

  log = [];
  g = yield* dead();
  const f = logs('f');
  g.rawlink(f);
  g.link(f);
  g.unlink(f);
  g.rawlink(logs('g'));
  yield* turns();
  out.unlinkOnDeadFirstOfTwo = log;

  return out;
}

it("ours: links added to an ended task fire in one notification, in order, and unlink() takes back one not called yet; the differences from gevent are those the header names", async () => {
  expect(await run(scenarios)).toEqual({ ...same, ...oursOnly });
});

it.skipIf(!gevent)(
  `gevent logs the same where ours agrees, and what the header says where it does not (Debian's gevent${gevent ? '' : ': not installed, skipped'})`,
  async () => {
    const program = fileURLToPath(new URL('link-order.py', import.meta.url));
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [program], { timeout: 60_000 });
    expect(JSON.parse(stdout) as unknown).toEqual({ ...same, ...geventOnly });
  },
  60_000,
);
