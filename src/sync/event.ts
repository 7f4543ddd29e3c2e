/**
 * `Event`: gevent's `gevent.event.Event`, a level-triggered flag that tasks wait for.
 *
 * How it works. The event keeps two lists of what waits for it: the tasks parked in
 * `wait()`, in arrival order, and the callbacks registered with `rawlink()` (that is how
 * `iwait` and `wait` watch it), in registration order. `set()` raises the flag and, before
 * it returns, wakes every parked task with `true` (they run in the hub's current pass, in
 * the order they arrived); the callbacks are called after `set()` has returned, from the
 * hub at its next turn (before it resumes another task), in the order they were
 * registered, as gevent does. `clear()` lowers the flag and wakes nobody. A task that calls
 * `wait()` while the flag is up does not block.
 *
 * The tasks are an array (8 B a waiter; a `Set` took 21), from which a task that leaves
 * early (killed, timed out) is not searched for. The latest to arrive is popped; the
 * first (timeouts of one length expire, and `killall` kills, in arrival order) moves the
 * array's head past it, and past the stale entries behind it, and the array is sliced when
 * the head passes its middle; any other stays as a stale entry until `set()`, or until the
 * stale entries outnumber the tasks that wait, when the array is rebuilt from the live ones
 * (`parkedTasks`). A task's entry is live when the task is PARKED on this event and no
 * later entry names it: a task that timed out and waits again is at its new place in the
 * order.
 *
 * Invariants:
 * - while the flag is up, no task is parked on the event (`set()` woke them all, and `wait()`
 *   returns at once); callbacks may still be registered, with a notification scheduled;
 * - every task PARKED on this event (the event is its Parking) has an entry in `waiters`
 *   at `head` or after, its last one; `waiting` counts these tasks; `waiters` is null when
 *   `waiting` is 0; the entries before `head` are null; every other entry is stale, and
 *   `waiters.length - head <= 2 * waiting + 1`;
 * - `rawlinks` holds the callbacks registered with `rawlink()` and not called yet, in
 *   order, once per registration (rawlinks.ts), or is null if none was ever registered;
 * - a task woken by `set()` evaluates its `wait()` to `true` even if the flag was cleared
 *   again before it ran: it learns that the flag was set at least once while it waited
 *   (gevent ≥ 1.1, CPython bpo-13502).
 *
 * @module
 */
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import {
  PARKED,
  WAIT,
  blockingOperation,
  currentTask,
  park,
  schedOf,
  wake,
  type Parking,
  type Schedulable,
} from '../hub/hub.js';
import type { Waitable } from '../hub/wait.js';
import { Rawlinks } from './rawlinks.js';

type EventCallback = (event: Event) => void;

/**
 * A flag that tasks can wait for: gevent's `Event` (and `threading.Event`). One task (or
 * plain code, or a callback) calls {@link Event.set}; every task blocked in
 * {@link Event.wait} wakes up; tasks that wait later pass straight through until
 * {@link Event.clear} lowers the flag again.
 *
 * ```ts
 * const started = new Event();
 * spawn(function* () {
 *   yield* server.listen();
 *   started.set();
 * });
 * yield* started.wait();              // inside a task: blocks until set()
 * const ok = yield* started.wait(500); // false if not set within 500 ms
 * ```
 *
 * `set()`, `clear()` and `isSet()` work from anywhere, including the main greenlet and
 * plain callbacks; `wait()` blocks, so it runs inside a task. An `Event` is a
 * {@link Waitable}: `iwait` and `wait` accept it.
 *
 * Coming from gevent: `is_set()` is `isSet()`; `linkcount()` is `linkCount()`. A task that
 * calls `wait()` on an event that is already set continues without a switch (gevent ≥ 20.5.1
 * lets the tasks woken by `set()` run first).
 */
export class Event implements Waitable, Parking {
  #flag = false;
  /** The parked tasks in arrival order, from `head` on, with stale entries (see the header); null while none waits. */
  #waiters: (Schedulable | null)[] | null = null;
  /** Where the entries of `waiters` begin: those before it have left (null). */
  #head = 0;
  /** How many tasks are parked on the event. */
  #waiting = 0;
  /** The rawlink callbacks (see rawlinks.ts); null until one is registered. */
  #rawlinks: Rawlinks<Event> | null = null;

  /** Whether the flag is up. */
  isSet(): boolean {
    return this.#flag;
  }

  /** The same as {@link Event.isSet}: what `iwait` and `wait` ask. */
  ready(): boolean {
    return this.#flag;
  }

  /** How many tasks are blocked in {@link Event.wait} right now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** How many tasks and callbacks wait for the event (gevent's `linkcount()`). */
  linkCount(): number {
    return this.#waiting + (this.#rawlinks === null ? 0 : this.#rawlinks.count);
  }

  /**
   * Raise the flag and wake every task blocked in {@link Event.wait} (each one's wait
   * evaluates to `true`); the rawlink callbacks are called soon after, from the hub. Tasks
   * that wait from now on do not block, until {@link Event.clear}. Works from anywhere;
   * never blocks.
   *
   * ```ts
   * ready.set(); // e.g. from an EventEmitter listener
   * ```
   */
  set(): void {
    this.#flag = true;
    if (this.#waiters !== null) this.#wakeAll();
    if (this.#rawlinks !== null) this.#rawlinks.schedule();
  }

  /**
   * Lower the flag: tasks that call {@link Event.wait} from now on block until the next
   * {@link Event.set}. Tasks already woken by a `set()` still see `true`.
   */
  clear(): void {
    this.#flag = false;
  }

  /**
   * Block the current task until the flag is up, at most `timeout` milliseconds if given.
   * Evaluates to `true` if the flag was set (before the call or while waiting), `false` if
   * the time ran out. Inside a task: `const ok = yield* event.wait(100)`.
   *
   * A kill or a `Timeout` that strikes while the task waits leaves the wait cleanly:
   * the event forgets the task.
   */
  wait(timeout?: number): SwitchOp<boolean> {
    return lazy(EVENT_WAIT, this, timeout, undefined);
  }

  /** @internal Performs {@link Event.wait}. */
  performWait(timeout: number | undefined): Performed<boolean> {
    const task = currentTask('event.wait()');
    if (this.#flag) return immediate(true);
    if (this.#waiters === null) this.#waiters = [task];
    else this.#waiters.push(task);
    this.#waiting++;
    return park(task, this, timeout, false);
  }

  /**
   * Call `callback(event)` once, after the flag is next raised (or soon, if it is up
   * already): from the hub, after `set()` has returned, so it must neither block nor throw
   * (an error it throws goes to the hub's reporter). Callbacks are called in the order they
   * were registered; one that unlinks a later one stops it. A callback registered twice is
   * called twice (gevent calls it once per notification: docs/coming-from-gevent.md). One registered while the callbacks are being called is
   * called by the next notification, which the hub runs next if the flag is still up.
   * `iwait` and `wait` use this.
   */
  rawlink(callback: (event: this) => void): void {
    if (typeof callback !== 'function') {
      throw new TypeError(`Event.rawlink() takes a function, not ${callback === null ? 'null' : typeof callback}`);
    }
    (this.#rawlinks ??= new Rawlinks<Event>(this)).add(callback as EventCallback);
  }

  /**
   * Forget a callback given to {@link Event.rawlink}: its first registration not called
   * yet (one registered twice stays registered once, as gevent's `list.remove`); does
   * nothing if it is not registered.
   */
  unlink(callback: (event: this) => void): void {
    if (typeof callback === 'function') this.#rawlinks?.remove(callback as EventCallback);
  }

  /**
   * @internal Parking: a parked task leaves the wait (killed or timed out), or a task
   * that was to park here leaves before it parked (an interrupt pending: then its entry is
   * the last). The hub calls it once per wait that did not end by `set()`, while the task
   * is still PARKED here.
   */
  unpark(task: Schedulable): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    const waiting = --this.#waiting;
    if (waiting === 0) {
      this.#waiters = null;
      this.#head = 0;
    } else if (waiters[waiters.length - 1] === task) {
      waiters.pop();
    } else if (waiters[this.#head] === task) {
      // The first to arrive leaves (timeouts of one length expire, and killall() kills,
      // in arrival order): so do the stale entries right behind it. A task parked here
      // has an entry further on, so the loop stops before the end.
      let head = this.#head;
      do waiters[head++] = null;
      while (!this.#parkedHere(waiters[head] as Schedulable));
      if (head > waiters.length >> 1) {
        this.#waiters = waiters.slice(head);
        this.#head = 0;
      } else this.#head = head;
    } else if (waiters.length - this.#head > 2 * waiting) {
      this.#waiters = parkedTasks(this, waiters, this.#head, waiting, task);
      this.#head = 0;
    }
  }

  /** What the event is, for reports and debugging: `Event(clear, 2 waiting)`. */
  toString(): string {
    return `Event(${this.#flag ? 'set' : 'clear'}, ${this.#waiting} waiting)`;
  }

  /** Whether `task` is PARKED on this event (an entry of it in `waiters` may still be stale: see parkedTasks). */
  #parkedHere(task: Schedulable): boolean {
    return task[WAIT] === this && schedOf(task) === PARKED;
  }

  /** Wake every parked task now, in the order they arrived. */
  #wakeAll(): void {
    const waiters = this.#waiters as (Schedulable | null)[];
    const head = this.#head;
    const waiting = this.#waiting;
    this.#waiters = null;
    this.#head = 0;
    this.#waiting = 0;
    if (waiters.length - head === waiting) {
      for (let i = head; i < waiters.length; i++) wake(waiters[i] as Schedulable, true);
    } else {
      const tasks = parkedTasks(this, waiters, head, waiting, null);
      for (let i = 0; i < tasks.length; i++) wake(tasks[i] as Schedulable, true);
    }
  }
}

/**
 * The live entries of `waiters` from `head` on, in order, in a new array: each task parked
 * on `event` (`waiting` of them), at its last entry, but `leaving` (a task that is leaving
 * the wait: it is still PARKED there while the hub unparks it). Read from the end, so that
 * a task's last entry is the one kept, and only as far as the first of the `waiting` tasks.
 */
function parkedTasks(event: Event, waiters: (Schedulable | null)[], head: number, waiting: number, leaving: Schedulable | null): Schedulable[] {
  const live: Schedulable[] = [];
  const seen = new Set<Schedulable>();
  if (leaving !== null) seen.add(leaving);
  for (let i = waiters.length - 1; i >= head && live.length < waiting; i--) {
    const task = waiters[i] as Schedulable;
    if (task[WAIT] === event && schedOf(task) === PARKED && !seen.has(task)) {
      seen.add(task);
      live.push(task);
    }
  }
  return live.reverse();
}

const EVENT_WAIT = blockingOperation<Event, number | undefined, undefined, boolean>('event.wait()', (ev, timeout) =>
  ev.performWait(timeout),
);
