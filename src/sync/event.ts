/**
 * `Event`: gevent's `gevent.event.Event`, a level-triggered flag that tasks wait for.
 *
 * How it works. The event keeps one list, in arrival order, of what waits for it: tasks
 * parked in `wait()` and callbacks registered with `rawlink()` (that is how `iwait` and
 * `wait` watch it). `set()` raises the flag and, before it returns, wakes every parked task
 * with `true` (they run in the hub's current pass, in the order they arrived); the
 * callbacks are called after `set()` has returned, from the hub at its next turn (before
 * it resumes another task), in the order they were registered, as gevent does. `clear()`
 * lowers the flag and wakes nobody. A task that calls `wait()` while the flag is up does
 * not block.
 *
 * Invariants:
 * - while the flag is up, no task is parked on the event (`set()` woke them all, and `wait()`
 *   returns at once); callbacks may still be registered, with a notification scheduled;
 * - every task in `links` is PARKED on this event (the event is its Parking), and `waiting`
 *   counts them; every other entry is a callback registered with `rawlink()` and not called yet;
 * - a task woken by `set()` evaluates its `wait()` to `true` even if the flag was cleared
 *   again before it ran: it learns that the flag was set at least once while it waited
 *   (gevent ≥ 1.1, CPython bpo-13502).
 *
 * @module
 */
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, getHub, runRawlink, park, wake, type Parking, type Schedulable } from '../hub/hub.js';
import type { Waitable } from '../hub/wait.js';

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
  /** Parked tasks and rawlink callbacks, in arrival order; null until something waits. */
  #links: Set<Schedulable | EventCallback> | null = null;
  #waiting = 0;
  #flushScheduled = false;

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
    return this.#links === null ? 0 : this.#links.size;
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
    if (this.#links !== null) this.#notify();
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
    (this.#links ??= new Set()).add(task);
    this.#waiting++;
    return park(task, this, timeout, false);
  }

  /**
   * Call `callback(event)` once, after the flag is next raised (or soon, if it is up
   * already): from the hub, after `set()` has returned, so it must neither block nor throw
   * (an error it throws goes to the hub's reporter). Callbacks are called in the order they
   * were registered; one that unlinks a later one stops it. `iwait` and `wait` use this.
   */
  rawlink(callback: (event: this) => void): void {
    if (typeof callback !== 'function') {
      throw new TypeError(`Event.rawlink() takes a function, not ${callback === null ? 'null' : typeof callback}`);
    }
    (this.#links ??= new Set()).add(callback as EventCallback);
    if (this.#flag) this.#scheduleFlush();
  }

  /** Forget a callback given to {@link Event.rawlink}; does nothing if it is not registered. */
  unlink(callback: (event: this) => void): void {
    if (typeof callback === 'function') this.#links?.delete(callback as EventCallback);
  }

  /** @internal Parking: a parked task leaves the wait (killed or timed out). */
  unpark(task: Schedulable): void {
    if (this.#links?.delete(task) === true) this.#waiting--;
  }

  /** What the event is, for reports and debugging: `Event(clear, 2 waiting)`. */
  toString(): string {
    return `Event(${this.#flag ? 'set' : 'clear'}, ${this.#waiting} waiting)`;
  }

  /** Wake every parked task now; the callbacks are called from the hub soon after. */
  #notify(): void {
    const links = this.#links as Set<Schedulable | EventCallback>;
    let callbacks = false;
    for (const link of links) {
      if (typeof link === 'function') {
        callbacks = true;
      } else {
        links.delete(link);
        wake(link, true);
      }
    }
    this.#waiting = 0;
    if (callbacks) this.#scheduleFlush();
  }

  /** Call the callbacks from the hub's next turn (gevent's notifier callback). */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    getHub().callSoon(this.#flush);
  }

  /**
   * Call the callbacks registered now, in order, skipping any unlinked meanwhile (by an
   * earlier callback). Those registered by a callback wait for the next notification.
   */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const links = this.#links;
    if (links === null) return;
    const callbacks: EventCallback[] = [];
    for (const link of links) if (typeof link === 'function') callbacks.push(link);
    for (const callback of callbacks) {
      if (!links.delete(callback)) continue;
      callLink(callback, this);
    }
  };
}

function callLink(callback: EventCallback, event: Event): void {
  runRawlink(callback, event, () => `a rawlink callback of ${String(event)}`);
}

const EVENT_WAIT = blockingOperation<Event, number | undefined, undefined, boolean>('event.wait()', (ev, timeout) =>
  ev.performWait(timeout),
);
