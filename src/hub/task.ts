/**
 * `Task`: gevent's `Greenlet`, a greenlet the hub schedules, with a result, links and
 * kill; and `spawn()` / `spawnLater()`.
 *
 * @module
 */
import { GreenletError, GreenletExit } from '../core/errors.js';
import { Greenlet, type ErrorClass, type GreenletBody } from '../core/greenlet.js';
import {
  BODY,
  CTX,
  DEAD,
  K_ARGS,
  K_THROW,
  STATE,
  describe,
  getCurrentGreenlet,
  immediate,
  recOf,
  request,
  type SwitchOp,
} from '../core/switcher.js';
import {
  DEADLINE,
  INTERRUPT,
  NEW,
  NEXT,
  NO_INTERRUPT,
  PARKED,
  PARKED_AT,
  PREV,
  READY,
  SCHED,
  SETTLE,
  WAIT,
  WAKE,
  WAKE_KIND,
  currentTask,
  getHub,
  interrupt,
  nameError,
  park,
  wake,
  wakeThrow,
  type Parking,
  type Schedulable,
} from './hub.js';
import { Timer, now } from './timers.js';
import { Timeout } from './timeout.js';

/** A callback run when a task ends; it gets the task. */
export type LinkCallback<T extends Task = Task> = (task: T) => unknown;

const OUTCOME_PENDING = 0;
const OUTCOME_VALUE = 1;
const OUTCOME_ERROR = 2;

const LINK_ALL = 0;
const LINK_VALUE = 1;
const LINK_EXCEPTION = 2;

/** A registered callback: `raw` ones run in the hub at once, others in a new task. */
class Link {
  constructor(
    readonly callback: LinkCallback,
    readonly filter: number,
    readonly raw: boolean,
    /** Whether it counts as handling the task's error (internal watchers do not). */
    readonly observes: boolean,
  ) {}
}

/**
 * Internal to the library: watch a task's end without handling its error, so that a
 * failure nobody else sees is still reported (used by interop's AbortSignal ties).
 */
export const WATCH_END: unique symbol = Symbol('greenlet-ts.watchEnd');
/** Internal: the outcome without marking the error as handled: `[failed, result]`. */
export const PEEK_OUTCOME: unique symbol = Symbol('greenlet-ts.peekOutcome');
/**
 * Internal: `join()` that does not count as looking at the outcome: the wait of a kill
 * (see {@link Task.kill}), which must not hide an error the task raises as it unwinds.
 */
export const JOIN_QUIETLY: unique symbol = Symbol('greenlet-ts.joinQuietly');

/** A task parked in join() or get() of another task. */
class Joiner implements Parking {
  constructor(
    readonly waiter: Schedulable,
    readonly target: Task,
    /** get() wants the value (or the error); join() wants `true`. */
    readonly wantsValue: boolean,
    /** Whether it counts as handling the task's error (a kill's wait does not). */
    readonly observes: boolean,
  ) {}
  unpark(): void {
    this.target.removeJoiner(this);
  }
  toString(): string {
    return `${this.wantsValue ? 'get' : 'join'}(${this.target.name})`;
  }
}

let nextId = 1;

/**
 * A greenlet run by the hub: gevent's `Greenlet`. Create and start one with
 * {@link spawn}; wait for it with `yield* task.join()` or `yield* task.get()` inside
 * another task, or `await task` from async code; stop it with `yield* task.kill()`.
 *
 * ```ts
 * const t = spawn(function* (url: string) {
 *   const body = yield* fetchText(url);
 *   return body.length;
 * }, 'https://example.com');
 * const length = yield* t.get(); // inside a task: the value, or the task's error
 * ```
 *
 * A task that ends with an error nobody waits for (no `join`, `get`, link or `await`)
 * is reported through the hub's reporter (by default printed to stderr, as gevent does).
 *
 * @typeParam R - what the task's function returns.
 * @typeParam A - the function's parameters.
 */
export class Task<R = unknown, A extends unknown[] = unknown[]> extends Greenlet<A, R> implements PromiseLike<R> {
  /** @internal */ declare [SCHED]: number;
  /** @internal */ declare [WAKE_KIND]: number;
  /** @internal */ declare [WAKE]: unknown;
  /** @internal */ declare [WAIT]: Parking | null;
  /** @internal */ declare [PARKED_AT]: number;
  /** @internal */ declare [DEADLINE]: Timer | null;
  /** @internal */ declare [INTERRUPT]: unknown;
  /** @internal */ declare [PREV]: Schedulable | null;
  /** @internal */ declare [NEXT]: Schedulable | null;
  #outcome = OUTCOME_PENDING;
  #result: unknown = undefined;
  #links: (Link | Joiner)[] | null = null;
  #name: string | null = null;
  #observed = false;
  #startTimer: StartTimer | null = null;
  /** The name of the function, kept for `name` (the function itself is dropped at start). */
  readonly #fnName: string;
  /** A small number unique among this thread's tasks (gevent's `minimal_ident`). */
  readonly id: number;

  /**
   * Create a task that will call `run(...args)`; it does not start until
   * {@link Task.start} (which {@link spawn} calls).
   */
  constructor(run?: ((...args: A) => GreenletBody<R> | R) | null, ...args: A) {
    const hub = getHub();
    super(run, hub);
    this.id = nextId++;
    this.#fnName = typeof run === 'function' ? run.name : '';
    this[SCHED] = NEW;
    this[WAKE_KIND] = K_ARGS;
    this[WAKE] = args;
    this[WAIT] = null;
    this[PARKED_AT] = 0;
    this[DEADLINE] = null;
    this[INTERRUPT] = NO_INTERRUPT;
    this[PREV] = null;
    this[NEXT] = null;
    // Context variables are inherited: the task starts with a copy of its spawner's
    // context (unlike a raw greenlet, which starts empty). Greenlet-local storage is not.
    const ctx = recOf(getCurrentGreenlet())[CTX];
    if (ctx !== null && ctx.size !== 0) this[CTX] = ctx.copy();
    hub.adopt(this);
  }

  /** Schedule the task to start on the hub's next pass. Does nothing if already started. */
  start(): this {
    if (this[SCHED] === NEW) {
      this.#cancelStartTimer();
      this[SCHED] = READY;
      getHub().enqueue(this);
    }
    return this;
  }

  /** Start the task `ms` milliseconds from now. */
  startLater(ms: number): this {
    if (this[SCHED] === NEW && this.#startTimer === null) {
      this.#startTimer = new StartTimer(this);
      getHub().timers.add(this.#startTimer, ms);
    }
    return this;
  }

  #cancelStartTimer(): void {
    if (this.#startTimer !== null) {
      getHub().timers.remove(this.#startTimer);
      this.#startTimer = null;
    }
  }

  /** The task's name, for reports: the function's name and the id, unless set. */
  get name(): string {
    if (this.#name !== null) return this.#name;
    const fnName = this.#fnName !== '' ? this.#fnName : this.constructor.name;
    return `${fnName}-${this.id}`;
  }

  set name(value: string) {
    this.#name = String(value);
  }

  /** True once `start()` (or `spawn`) has scheduled it, even before it first runs. */
  override get started(): boolean {
    return this[SCHED] !== NEW || this.#outcome !== OUTCOME_PENDING;
  }

  /** True once the task has ended, however: its result is known. */
  ready(): boolean {
    return this.#outcome !== OUTCOME_PENDING;
  }

  /** True if the task ended without an error (a kill by GreenletExit counts as success). */
  successful(): boolean {
    return this.#outcome === OUTCOME_VALUE;
  }

  /** What the task returned (a `GreenletExit` if it was killed), or undefined. */
  get value(): R | undefined {
    return this.#outcome === OUTCOME_VALUE ? (this.#result as R) : undefined;
  }

  /** The error the task ended with, or undefined. Reading it counts as handling it. */
  get exception(): unknown {
    if (this.#outcome !== OUTCOME_ERROR) return undefined;
    this.#observed = true;
    return this.#result;
  }

  /**
   * Wait until the task has ended, at most `timeout` ms if given. Evaluates to whether
   * it has ended; never raises the task's error. Inside a task: `yield* t.join()`.
   */
  join(timeout?: number): SwitchOp<boolean> {
    if (this.#outcome !== OUTCOME_PENDING) {
      this.#observed = true;
      return immediate(true);
    }
    return this.#wait(false, timeout, false, false) as SwitchOp<boolean>;
  }

  /**
   * Wait for the task's result: its return value, or its error raised here. With
   * `timeout` (ms), raise a {@link Timeout} if it has not ended by then; with
   * `block: false`, raise it at once. Inside a task: `const v = yield* t.get()`.
   */
  get(timeout?: number, options?: { block?: boolean }): SwitchOp<R> {
    if (this.#outcome !== OUTCOME_PENDING) {
      this.#observed = true;
      if (this.#outcome === OUTCOME_ERROR) throw this.#result;
      return immediate(this.#result as R);
    }
    if (options?.block === false) throw new Timeout(0);
    return this.#wait(true, timeout, true, new Timeout(timeout)) as SwitchOp<R>;
  }

  #wait(
    wantsValue: boolean,
    timeout: number | undefined,
    timeoutThrows: boolean,
    onTimeout: unknown,
    observes = true,
  ): SwitchOp<unknown> {
    const waiter = currentTask(wantsValue ? 'task.get()' : 'task.join()');
    if (waiter === (this as Schedulable)) {
      throw new GreenletError(`${this.name} cannot wait for itself to end: it would wait forever`);
    }
    if (observes) this.#observed = true;
    const joiner = new Joiner(waiter, this, wantsValue, observes);
    (this.#links ??= []).push(joiner);
    return park(waiter, joiner, timeout, onTimeout, timeoutThrows);
  }

  /** @internal See {@link JOIN_QUIETLY}. */
  [JOIN_QUIETLY](timeout?: number): SwitchOp<boolean> {
    if (this.#outcome !== OUTCOME_PENDING) return immediate(true);
    return this.#wait(false, timeout, false, false, false) as SwitchOp<boolean>;
  }

  /** @internal */
  removeJoiner(joiner: Joiner): void {
    const links = this.#links;
    if (links === null) return;
    const i = links.indexOf(joiner);
    if (i !== -1) links.splice(i, 1);
  }

  /**
   * Raise `error` (by default a new `GreenletExit`) in the task. A task that has not
   * started never runs (its links still fire). With `block` (the default) and inside a
   * task, `yield* t.kill()` also waits until it has ended, at most `timeout` ms. Never
   * raises, safe on ended tasks. Called from plain code, it does not wait. A task that
   * kills itself gets the error at once (`yield* self.kill()`), or, with `block: false`,
   * at its next blocking call: the form to use from a callback that may run inside it.
   *
   * Like gevent's, the error is raised where the task next blocks; if the task was just
   * handed a value (an item from a queue) it receives the value first and the error at
   * its next blocking call, so no item is lost.
   *
   * A kill hides no error: its wait is not a look at the task's outcome. If the task ends
   * with an error (a `finally` that throws as it unwinds, or a kill error other than a
   * `GreenletExit` that it lets through), that error is reported through the hub's
   * reporter, blocking kill or not, unless something takes it: `get()`, `await`,
   * `exception`, a link.
   */
  kill(error?: Error | ErrorClass, options?: { block?: boolean; timeout?: number }): SwitchOp<void> {
    if (this.#outcome !== OUTCOME_PENDING) return immediate(undefined);
    const err = toError(error);
    if (this[SCHED] === NEW || (this[SCHED] === READY && this[WAKE_KIND] === K_ARGS)) {
      // Not running yet (maybe queued to start): it never will; the hub skips it.
      this.#cancelStartTimer();
      this.#endBeforeStart(err);
      return immediate(undefined);
    }
    const current = getCurrentGreenlet();
    if (current === this) {
      // Killing itself: at once where a switch can be made; with block: false (safe from
      // plain code, a callback run inside the task) at its next blocking call.
      if (options?.block === false) {
        interrupt(this, err);
        return immediate(undefined);
      }
      return request(this, K_THROW, err) as SwitchOp<void>;
    }
    interrupt(this, err);
    if (options?.block !== false && (current as Partial<Schedulable>)[SCHED] !== undefined) {
      return this[JOIN_QUIETLY](options?.timeout) as SwitchOp<unknown> as SwitchOp<void>;
    }
    return immediate(undefined);
  }

  #endBeforeStart(err: unknown): void {
    // The greenlet never started: mark it dead without running it.
    this[STATE] = DEAD;
    this[BODY] = null;
    const hub = getHub();
    hub.finish(this);
    const failed = !(err instanceof GreenletExit);
    if (failed) nameError(err, this.name);
    hub.monitor?.ended?.(this, failed, err);
    this[SETTLE](failed, err);
  }

  /** @internal The hub saw the task end: record the outcome, wake waiters, fire links. */
  [SETTLE](failed: boolean, outcome: unknown): void {
    this.#outcome = failed ? OUTCOME_ERROR : OUTCOME_VALUE;
    this.#result = outcome;
    const hub = getHub();
    const rejecters = hub.awaited.get(this);
    if (rejecters !== undefined) hub.awaited.delete(this);
    const links = this.#links;
    this.#links = null;
    if (links !== null) {
      if (links.some((l) => l.observes)) this.#observed = true;
      for (const link of links) this.#fire(link);
    }
    if (failed && !this.#observed) hub.unobserved.push(this);
  }

  #fire(link: Link | Joiner): void {
    if (link instanceof Joiner) {
      if (!link.wantsValue) wake(link.waiter, true);
      else if (this.#outcome === OUTCOME_ERROR) wakeThrow(link.waiter, this.#result);
      else wake(link.waiter, this.#result);
      return;
    }
    if (link.filter === LINK_VALUE && this.#outcome !== OUTCOME_VALUE) return;
    if (link.filter === LINK_EXCEPTION && this.#outcome !== OUTCOME_ERROR) return;
    if (link.raw) {
      try {
        link.callback(this);
      } catch (error) {
        getHub().report({ kind: 'callback-error', where: `a rawlink callback of ${this.name}`, error });
      }
    } else {
      spawn(link.callback, this);
    }
  }

  /** @internal Called by the hub at the end of a pass for a failed task. */
  reportIfUnobserved(): void {
    if (!this.#observed) {
      this.#observed = true;
      getHub().report({ kind: 'task-error', task: this, error: this.#result });
    }
  }

  #addLink(callback: LinkCallback<this>, filter: number, raw: boolean, observes = true): void {
    if (typeof callback !== 'function') throw new TypeError('a link callback must be a function');
    if (observes) this.#observed = true;
    const link = new Link(callback as LinkCallback, filter, raw, observes);
    if (this.#outcome !== OUTCOME_PENDING) {
      // Linked after the end: it still fires, from the hub.
      getHub().soon(() => this.#fire(link));
      return;
    }
    (this.#links ??= []).push(link);
  }

  /**
   * Call `callback(task)` in a new task when this one ends, however it ends (also if it
   * has already ended). The callback may be a generator function and may block.
   */
  link(callback: LinkCallback<this>): void {
    this.#addLink(callback, LINK_ALL, false);
  }

  /** Like {@link link}, only if the task ends successfully. */
  linkValue(callback: LinkCallback<this>): void {
    this.#addLink(callback, LINK_VALUE, false);
  }

  /** Like {@link link}, only if the task ends with an error. */
  linkException(callback: LinkCallback<this>): void {
    this.#addLink(callback, LINK_EXCEPTION, false);
  }

  /**
   * Call `callback(task)` directly in the hub when the task ends: cheaper than
   * {@link link}, but the callback must neither block nor throw.
   */
  rawlink(callback: LinkCallback<this>): void {
    this.#addLink(callback, LINK_ALL, true);
  }

  /** @internal See {@link WATCH_END}. */
  [WATCH_END](callback: LinkCallback<this>): void {
    this.#addLink(callback, LINK_ALL, true, false);
  }

  /** @internal See {@link PEEK_OUTCOME}. */
  [PEEK_OUTCOME](): [failed: boolean, result: unknown] {
    return [this.#outcome === OUTCOME_ERROR, this.#result];
  }

  /** Remove every registration of `callback` made with link, linkValue, linkException or rawlink. */
  unlink(callback: LinkCallback<this>): void {
    const links = this.#links;
    if (links === null) return;
    this.#links = links.filter((l) => !(l instanceof Link && l.callback === callback));
  }

  /** Whether any link or waiter is registered. */
  hasLinks(): boolean {
    return this.#links !== null && this.#links.length !== 0;
  }

  /**
   * Await the task from async code: `const v = await task`. Resolves with its value or
   * rejects with its error; rejects with a {@link LoopExit} if the event loop runs dry
   * while the task is still parked (it would wait forever). As with promises, a value
   * that is itself a thenable (another task) is awaited in turn.
   */
  then<T1 = R, T2 = never>(
    onFulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onRejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.toPromise().then(onFulfilled, onRejected);
  }

  /** A promise of the task's result (see {@link Task.then}). */
  toPromise(): Promise<R> {
    this.#observed = true;
    return new Promise<R>((resolve, reject) => {
      const settle = (): void => {
        if (this.#outcome === OUTCOME_ERROR) reject(this.#result);
        // A task is a thenable: resolving with itself would make the promise wait on itself.
        else if (this.#result === this) reject(new TypeError(`${this.name} returned itself: awaiting it would never end`));
        else resolve(this.#result as R);
      };
      if (this.#outcome !== OUTCOME_PENDING) {
        settle();
        return;
      }
      const hub = getHub();
      const rejecters = hub.awaited.get(this);
      if (rejecters === undefined) hub.awaited.set(this, [reject]);
      else rejecters.push(reject);
      this.rawlink(settle);
    });
  }

  override toString(): string {
    const state =
      this.#outcome !== OUTCOME_PENDING
        ? this.#outcome === OUTCOME_ERROR
          ? 'failed'
          : 'done'
        : ['new', 'ready', getCurrentGreenlet() === this ? 'running' : 'suspended', 'parked', 'done'][this[SCHED]];
    const waiting = this[SCHED] === PARKED ? ` on ${String(this[WAIT])}` : '';
    return `<Task "${this.name}" ${state}${waiting}>`;
  }

  /** A task's parent is always its hub. */
  override get parent(): Greenlet | null {
    return super.parent;
  }

  override set parent(_value: Greenlet | null) {
    throw new GreenletError(`the parent of ${describe(this)} is its hub and cannot change`);
  }
}

class StartTimer extends Timer {
  constructor(readonly task: Task) {
    super();
  }
  fire(): void {
    const task = this.task as Task & { [SCHED]: number };
    if (task[SCHED] === NEW) {
      task[SCHED] = READY;
      getHub().enqueue(task);
    }
  }
}

function toError(error: Error | ErrorClass | undefined): unknown {
  if (error === undefined) return new GreenletExit();
  if (error instanceof Error) return error;
  if (typeof error === 'function') return Reflect.construct(error, []);
  throw new TypeError(`kill() takes an error or an error class, not ${typeof error}`);
}

/**
 * Create a task running `fn(...args)` and schedule it to start on the hub's next pass
 * (not synchronously). gevent's `spawn`.
 */
export function spawn<A extends unknown[], R>(fn: (...args: A) => SwitchOp<R>, ...args: A): Task<R, A>;
export function spawn<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R, ...args: A): Task<R, A>;
export function spawn<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R, ...args: A): Task<R, A> {
  return new Task<R, A>(fn, ...args).start();
}

/** Like {@link spawn}, starting `ms` milliseconds from now. */
export function spawnLater<A extends unknown[], R>(ms: number, fn: (...args: A) => SwitchOp<R>, ...args: A): Task<R, A>;
export function spawnLater<A extends unknown[], R>(
  ms: number,
  fn: (...args: A) => GreenletBody<R> | R,
  ...args: A
): Task<R, A>;
export function spawnLater<A extends unknown[], R>(
  ms: number,
  fn: (...args: A) => GreenletBody<R> | R,
  ...args: A
): Task<R, A> {
  return new Task<R, A>(fn, ...args).startLater(ms);
}

/**
 * @internal Wait until every one of `tasks` has ended, at most `timeout` ms, without
 * looking at their outcomes (the wait of `killall`, `group.kill()`: see {@link Task.kill}).
 * Evaluates to whether all have ended.
 */
export function* awaitEnds(tasks: Iterable<Task>, timeout?: number): GreenletBody<boolean> {
  const deadline = timeout === undefined ? Infinity : now() + timeout;
  for (const task of tasks) {
    if (task.ready()) continue;
    const left = deadline - now();
    if (left <= 0) return false;
    if (!(yield* task[JOIN_QUIETLY](deadline === Infinity ? undefined : left))) return false;
  }
  return true;
}

/** The task running now, or null in the main greenlet or a raw greenlet. */
export function currentTaskOrNull(): Task | null {
  const g = getCurrentGreenlet();
  return g instanceof Task ? g : null;
}
