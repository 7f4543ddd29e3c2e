/**
 * `Task`: gevent's `Greenlet`, a greenlet the hub schedules, with a result, links and
 * kill; and `spawn()` / `spawnLater()`.
 *
 * @module
 */
import { call } from '../core/call.js';
import type { Context } from '../core/context.js';
import { GreenletError, GreenletExit } from '../core/errors.js';
import { Greenlet, type ErrorClass, type GreenletBody, type Switched } from '../core/greenlet.js';
import {
  BODY,
  CTX,
  DEAD,
  EMPTY,
  K_ARGS,
  K_THROW,
  PARENT,
  REQ_IDLE,
  REQ_OP_PENDING,
  STATE,
  SWITCHER,
  describe,
  getCurrentGreenlet,
  getMainGreenlet,
  immediate,
  recOf,
  request,
  type Performed,
  type SwitchOp,
} from '../core/switcher.js';
import { Operation, lazy, operationReused } from '../core/operation.js';
import {
  INTERRUPT,
  NEW,
  NEXT,
  NO_INTERRUPT,
  PARKED,
  PREV,
  READY,
  SETTLE,
  STATUS,
  TASK_BITS,
  WAIT,
  WAKE,
  blockingError,
  blockingOperation,
  currentTask as currentSchedulable,
  getHub,
  interrupt,
  nameError,
  park,
  runRawlink,
  schedOf,
  scheduleStart,
  wakeKindOf,
  wake,
  wakeThrow,
  type Hub,
  type Parking,
  type Schedulable,
} from './hub.js';
import { Timer, now } from './timers.js';
import { Timeout } from './timeout.js';

// Module-local copies of the keys and values this file reads on its hot paths: V8 reads an
// imported binding through a cell, a load and a hole check per read.
const STATUS_KEY: typeof STATUS = STATUS;
const WAKE_KEY: typeof WAKE = WAKE;
const WAIT_KEY: typeof WAIT = WAIT;
const INTERRUPT_KEY: typeof INTERRUPT = INTERRUPT;
const PREV_KEY: typeof PREV = PREV;
const NEXT_KEY: typeof NEXT = NEXT;
const SETTLE_KEY: typeof SETTLE = SETTLE;
const STATE_KEY: typeof STATE = STATE;
const BODY_KEY: typeof BODY = BODY;
const CTX_KEY: typeof CTX = CTX;
const NOTHING_PENDING: typeof NO_INTERRUPT = NO_INTERRUPT;
const NO_ARGS: typeof EMPTY = EMPTY;

/** A callback run when a task ends; it gets the task. */
export type LinkCallback<T extends Task = Task> = (task: T) => unknown;

/**
 * What a task can be linked to besides a callback: an object that takes a finished
 * task's outcome, such as an `AsyncResult` (gevent's `task.link(result)`).
 */
export interface LinkTarget<R = unknown> {
  setFrom(task: Task<R, never>): void;
}

/** Options of {@link Task.kill} and {@link killall}. */
export interface KillOptions {
  /** What to raise in the task: an error, or an error class (default: a new `GreenletExit`). */
  error?: Error | ErrorClass;
  /** Wait until the task has ended (default true; plain code never waits). */
  block?: boolean;
  /** Wait at most this many milliseconds. */
  timeout?: number;
}

// The task's bits of its status word (hub.ts's STATUS, from bit TASK_BITS up): the
// outcome, and whether it was looked at.
const OUTCOME = 3 << TASK_BITS;
const OUTCOME_PENDING = 0;
const OUTCOME_VALUE = 1 << TASK_BITS;
const OUTCOME_ERROR = 2 << TASK_BITS;
/** Set once the outcome counts as looked at (a join, a get, a link, `exception`). */
const OBSERVED = 4 << TASK_BITS;
/**
 * Set while the task may be in the hub's map of awaited tasks (`await task`, `run()`): its
 * end then takes it out of the map. A bit, so that the end of every other task does not
 * look the task up in the map while some run() is awaited (nearly always).
 */
const AWAITED = 8 << TASK_BITS;
/**
 * Set while the links are being fired (from the first to the last, a link task's run
 * included): a link registered meanwhile joins the list and fires in the same
 * notification, as in gevent (whose `_notify_links` loops until the list is empty).
 */
const NOTIFYING = 16 << TASK_BITS;

const LINK_ALL = 0;
const LINK_VALUE = 1;
const LINK_EXCEPTION = 2;

/** A registered callback: `raw` ones run in the hub at once, others in a new task. */
class Link {
  constructor(
    /** What unlink() compares with: the callback, or the link target. */
    readonly callback: LinkCallback | LinkTarget<never>,
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

// Task's own methods that are not its API. Symbol keys rather than #private methods: a
// class with #private methods stamps a brand on each instance, one field more per task.
const CANCEL_START_TIMER: unique symbol = Symbol('cancelStartTimer');
const ADD_JOINER: unique symbol = Symbol('addJoiner');
const KILL_NOW: unique symbol = Symbol('killNow');
const END_BEFORE_START: unique symbol = Symbol('endBeforeStart');
const NOTIFY_LINKS: unique symbol = Symbol('notifyLinks');
const SHIFT_LINK: unique symbol = Symbol('shiftLink');
const PUSH_LINK: unique symbol = Symbol('pushLink');
const FIRE_LINK: unique symbol = Symbol('fireLink');
const START_LINK_TASK: unique symbol = Symbol('startLinkTask');
const ADD_LINK: unique symbol = Symbol('addLink');
const EXTRAS: unique symbol = Symbol('extras');
const NOTIFY_ALL: unique symbol = Symbol('notifyAll');
// The task's own two fields (see Task's LINKS and ORIGIN). Symbol keys rather than
// #private fields: a class with instance fields has an initializer that V8 (11, Node 20)
// calls at every construction, and a subclass's `super()` call is then made through the
// generic construct stub rather than inlined (HttpServer's Exchange, at every request).
const LINKS: unique symbol = Symbol('links');
const ORIGIN: unique symbol = Symbol('origin');


/** What few tasks need, kept off the task record until one does (see Task's fields). */
class TaskExtras {
  constructor(
    /** What the task's ORIGIN held before: its function, or once it has ended, the function's name. */
    public fn: unknown,
  ) {}
  /** A name given with `task.name = ...`, or null. */
  name: string | null = null;
  /** The timer of startLater(), or null. */
  startTimer: StartTimer | null = null;
  /** The task's id, once asked for; 0 until then. */
  id = 0;
}

/** A task with extras has ended: its function is dropped for its name, as on the task itself. */
function settleExtras(extras: TaskExtras): void {
  if (typeof extras.fn === 'function') extras.fn = functionName(getHub(), extras.fn);
}

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

const HUB = getHub();

/** A task's arguments: those given to its constructor after the function. */
function argumentsAfterFirst(args: IArguments): unknown[] {
  return Array.prototype.slice.call(args, 1) as unknown[];
}

/** A new task starts with a copy of its spawner's context variables, if it has any. */
function inheritContext(task: Task, ctx: Context): void {
  if (ctx.size !== 0) task[CTX_KEY] = ctx.copy();
}

/**
 * The name of the function a task ran, read as the task drops the function at its end.
 * Reading a function's `name` costs V8 a call into the runtime (about 190 instructions,
 * measured with callgrind), and a program often spawns the same function many times in a
 * pass: the hub keeps the last function and its name until the pass ends (so that it
 * holds no function for longer). A cache keyed by function (a WeakMap) cost an entry,
 * about 2,000 instructions and work for every collection, for each generator function
 * made afresh for its task (`spawn(function* () {...})` in a loop).
 */
function functionName(hub: Hub, fn: Function): unknown {
  if (fn === hub.lastFn) return hub.lastFnName;
  const name = fn.name as unknown;
  hub.lastFn = fn;
  hub.lastFnName = name;
  return name;
}

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
  /** @internal */ declare [STATUS]: number;
  /** @internal */ declare [WAKE]: unknown;
  /** @internal */ declare [WAIT]: Parking | null;
  /** @internal */ declare [INTERRUPT]: unknown;
  /** @internal */ declare [PREV]: Schedulable | null;
  /** @internal */ declare [NEXT]: Schedulable | null;
  /**
   * The links and waiting joins, in the order registered: none (null), one (the usual
   * case: a join), or an array of several. (The result, once there is one, is kept in the
   * hub's WAKE field, which a task that has ended no longer uses.)
   */
  /** @internal */ declare [LINKS]: Link | Joiner | (Link | Joiner)[] | null;
  /**
   * The function until the task ends (its name is read only if `name` is), then that
   * name; or, in the few tasks that need more (a name given, a start timer), a
   * TaskExtras that holds it with the rest.
   */
  /** @internal */ declare [ORIGIN]: unknown;

  /**
   * Create a task that will call `run(...args)`; it does not start until
   * {@link Task.start} (which {@link spawn} calls).
   */
  constructor(run: (...args: A) => SwitchOp<R>, ...args: A);
  constructor(run?: ((...args: A) => GreenletBody<R> | R) | null, ...args: A);
  constructor(run?: ((...args: A) => GreenletBody<R> | R) | null) {
    // Made by spawn() (or for Hub.startNow), the task is queued or current at once and goes
    // on the hub's list of live tasks only if it parks (see Hub.adopt). Read and reset
    // before super(), which refuses an async function: the next task made must not count
    // as spawned then.
    const spawned = HUB.spawning;
    HUB.spawning = false;
    super(run, HUB);
    // The constructor is kept small, so that V8 inlines it into spawn() and the loop that
    // calls it (no generic construct stub; docs/benchmarks-log.md, task lifecycle): what
    // few tasks need is out of line, and `this` is read once (each read of `this` in a
    // derived constructor is checked for super() having run).
    const task: Task<R, A> = this;
    task[LINKS] = null;
    task[ORIGIN] = run;
    // NEW, to start with its arguments (K_ARGS), no outcome yet.
    task[STATUS_KEY] = 0;
    // A task with no arguments (the usual case) keeps none: EMPTY is shared. (`arguments`
    // rather than a rest parameter, which would allocate an array on every spawn.)
    task[WAKE_KEY] = arguments.length <= 1 ? NO_ARGS : argumentsAfterFirst(arguments);
    task[WAIT_KEY] = null;
    task[INTERRUPT_KEY] = NOTHING_PENDING;
    task[PREV_KEY] = null;
    task[NEXT_KEY] = null;
    // Context variables are inherited: the task starts with a copy of its spawner's
    // context (unlike a raw greenlet, which starts empty). Greenlet-local storage is not.
    const ctx = recOf(getCurrentGreenlet())[CTX_KEY];
    if (ctx !== null) inheritContext(task, ctx);
    HUB.adopt(task, spawned);
  }

  /** Schedule the task to start on the hub's next pass. Does nothing if already started. */
  start(): this {
    if (schedOf(this) === NEW) {
      this[CANCEL_START_TIMER]();
      scheduleStart(this);
    }
    return this;
  }

  /** Start the task `ms` milliseconds from now. */
  startLater(ms: number): this {
    if (schedOf(this) === NEW) {
      const extras = this[EXTRAS]();
      if (extras.startTimer === null) {
        extras.startTimer = new StartTimer(this);
        getHub().timers.add(extras.startTimer, ms);
      }
    }
    return this;
  }

  private [CANCEL_START_TIMER](): void {
    const extras = this[ORIGIN];
    if (extras instanceof TaskExtras && extras.startTimer !== null) {
      getHub().timers.remove(extras.startTimer);
      extras.startTimer = null;
    }
  }

  /**
   * A small number unique among this thread's tasks, never reused (gevent's
   * `minimal_ident`). As gevent's, it is given when first asked for (here or by the
   * default {@link Task.name}), so ids count tasks in the order their ids were first
   * used, not the order they were created; until then a task carries none.
   */
  get id(): number {
    const extras = this[EXTRAS]();
    if (extras.id === 0) extras.id = nextId++;
    return extras.id;
  }

  /** The task's name, for reports: the function's name and the id, unless set. */
  get name(): string {
    let fn = this[ORIGIN];
    if (fn instanceof TaskExtras) {
      if (fn.name !== null) return fn.name;
      fn = fn.fn;
    }
    const fnName = typeof fn === 'function' ? (fn.name as unknown) : fn;
    return `${typeof fnName === 'string' && fnName !== '' ? fnName : this.constructor.name}-${this.id}`;
  }

  set name(value: string) {
    this[EXTRAS]().name = String(value);
  }

  private [EXTRAS](): TaskExtras {
    const origin = this[ORIGIN];
    if (origin instanceof TaskExtras) return origin;
    return (this[ORIGIN] = new TaskExtras(origin));
  }

  /**
   * True from `start()` (or `spawn`) until the task ends, even before it first runs:
   * gevent's `bool(g)`. False for a task that was never started, and once it has ended.
   */
  override get active(): boolean {
    return schedOf(this) !== NEW && (this[STATUS_KEY] & OUTCOME) === OUTCOME_PENDING;
  }

  /**
   * The same as {@link Task.active}, as gevent's `started` is its `bool(g)`: true once
   * scheduled, false again once the task has ended. (A raw `Greenlet`'s `started` stays
   * true after death.)
   */
  override get started(): boolean {
    return this.active;
  }

  /** True once the task has ended, however: its result is known. */
  ready(): boolean {
    return (this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING;
  }

  /** True if the task ended without an error (a kill by GreenletExit counts as success). */
  successful(): boolean {
    return (this[STATUS_KEY] & OUTCOME) === OUTCOME_VALUE;
  }

  /** What the task returned (a `GreenletExit` if it was killed), or undefined. */
  get value(): R | undefined {
    return (this[STATUS_KEY] & OUTCOME) === OUTCOME_VALUE ? (this[WAKE_KEY] as R) : undefined;
  }

  /** The error the task ended with, or undefined. Reading it counts as handling it. */
  get exception(): unknown {
    if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_ERROR) return undefined;
    this[STATUS_KEY] |= OBSERVED;
    return this[WAKE_KEY];
  }

  /**
   * Wait until the task has ended, at most `timeout` ms if given. Evaluates to whether
   * it has ended; never raises the task's error. Inside a task: `yield* t.join()`.
   */
  join(timeout?: number): SwitchOp<boolean> {
    return lazy(JOIN, this as Task, timeout, undefined);
  }

  /** @internal Performs {@link Task.join}. */
  performJoin(timeout: number | undefined): Performed<boolean> {
    if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING) {
      this[STATUS_KEY] |= OBSERVED;
      return immediate(true);
    }
    return this[ADD_JOINER](false, timeout, false, false) as Performed<boolean>;
  }

  /**
   * Wait for the task's result: its return value, or its error raised here. With
   * `timeout` (ms), raise a {@link Timeout} if it has not ended by then; with
   * `block: false`, raise it at once. Inside a task: `const v = yield* t.get()`.
   */
  get(timeout?: number, options?: { block?: boolean }): SwitchOp<R> {
    return lazy(GET, this as Task, timeout, options) as SwitchOp<R>;
  }

  /** @internal Performs {@link Task.get}. */
  performGet(timeout: number | undefined, options: { block?: boolean } | undefined): Performed<unknown> {
    if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING) {
      this[STATUS_KEY] |= OBSERVED;
      if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR) throw this[WAKE_KEY];
      return immediate(this[WAKE_KEY]);
    }
    if (options?.block === false) return immediate(this.getNowait());
    return this[ADD_JOINER](true, timeout, true, new Timeout(timeout));
  }

  /**
   * The task's result now, without waiting: its value, or its error raised here; a
   * {@link Timeout} if it has not ended (gevent's `get(block=False)`). Works from anywhere.
   */
  getNowait(): R {
    if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_PENDING) {
      const timeout = new Timeout(0);
      timeout.message = `${this.name} has not ended yet: getNowait() does not wait; wait with \`yield* task.get()\` in a task, or \`await task\``;
      throw timeout;
    }
    this[STATUS_KEY] |= OBSERVED;
    if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR) throw this[WAKE_KEY];
    return this[WAKE_KEY] as R;
  }

  private [ADD_JOINER](
    wantsValue: boolean,
    timeout: number | undefined,
    timeoutThrows: boolean,
    onTimeout: unknown,
    observes = true,
  ): Performed<unknown> {
    const waiter = currentSchedulable(wantsValue ? 'task.get()' : 'task.join()');
    if (waiter === (this as Schedulable)) {
      throw new GreenletError(`${this.name} cannot wait for itself to end: it would wait forever`);
    }
    if (observes) this[STATUS_KEY] |= OBSERVED;
    const joiner = new Joiner(waiter, this, wantsValue, observes);
    this[PUSH_LINK](joiner);
    return park(waiter, joiner, timeout, onTimeout, timeoutThrows);
  }

  /** @internal See {@link JOIN_QUIETLY}. */
  [JOIN_QUIETLY](timeout?: number): Performed<boolean> {
    if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING) return immediate(true);
    return this[ADD_JOINER](false, timeout, false, false, false) as Performed<boolean>;
  }

  /** @internal */
  removeJoiner(joiner: Joiner): void {
    const links = this[LINKS];
    if (links === joiner) {
      this[LINKS] = null;
    } else if (Array.isArray(links)) {
      const i = links.indexOf(joiner);
      if (i !== -1) links.splice(i, 1);
    }
  }

  /**
   * Raise `error` (by default a new `GreenletExit`) in the task. A task that has not
   * started never runs (its links still fire). With `block` (the default) and inside a
   * task, `yield* t.kill()` also waits until it has ended, at most `timeout` ms. Never
   * raises, safe on ended tasks. A task that kills itself gets the error at once
   * (`yield* self.kill()`), or, with `block: false`, at its next blocking call.
   *
   * With `block: false` the kill is not an operation: it happens at the call, nothing
   * waits, and it returns nothing to `yield*` (the form for plain code and callbacks).
   * Made in plain code without options, `t.kill()` also kills at once without waiting.
   *
   * The options may come first, as gevent's keywords do: `t.kill({ block: false })`,
   * `yield* t.kill({ error: MyError, timeout: 100 })`; `t.kill(error, { block })` is the
   * same as `t.kill({ error, block })`. A value that is neither an error nor an error
   * class raises `TypeError` (gevent wraps it in a `BaseException`).
   *
   * Like gevent's, the error is raised where the task next blocks; if the task was just
   * handed a value (an item from a queue) it receives the value first and the error at
   * its next blocking call, so no item is lost. Every kill is delivered, as in gevent: a
   * second kill sent before the first has struck raises at the blocking call after it (in
   * the `finally` the first one runs).
   *
   * A kill hides no error: its wait is not a look at the task's outcome. If the task ends
   * with an error (a `finally` that throws as it unwinds, or a kill error other than a
   * `GreenletExit` that it lets through), that error is reported through the hub's
   * reporter, blocking kill or not, unless something takes it: `get()`, `await`,
   * `exception`, a link.
   */
  kill(options: KillOptions & { block: false }): void;
  kill(error: Error | ErrorClass | undefined, options: Omit<KillOptions, 'error'> & { block: false }): void;
  kill(options?: KillOptions): SwitchOp<void>;
  kill(error?: Error | ErrorClass, options?: Omit<KillOptions, 'error'>): SwitchOp<void>;
  kill(errorOrOptions?: Error | ErrorClass | KillOptions, options?: KillOptions): SwitchOp<void> | void {
    const opts = killOptions(errorOrOptions, options);
    if (opts.block === false) {
      if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_PENDING) this[KILL_NOW](toError(opts.error));
      return DONE;
    }
    return lazy(KILL, this as Task, opts, undefined);
  }

  /** @internal Performs {@link Task.kill} in the task that waits for the end. */
  performKill(opts: KillOptions): Performed<void> {
    if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING) return immediate(undefined);
    const err = toError(opts.error);
    // Killing itself: at once, where the switch is made.
    if (getCurrentGreenlet() === this) return request(this, K_THROW, err) as Performed<void>;
    if (!this[KILL_NOW](err)) return immediate(undefined);
    // A greenlet that is not a task cannot wait: the kill is sent, as from plain code.
    if ((getCurrentGreenlet() as Partial<Schedulable>)[STATUS_KEY] === undefined) return immediate(undefined);
    return this[JOIN_QUIETLY](opts.timeout) as Performed<unknown> as Performed<void>;
  }

  /** @internal Made where nothing can wait (plain code, a callback): kill without waiting. */
  killOutside(opts: KillOptions): SwitchOp<void> {
    if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_PENDING) this[KILL_NOW](toError(opts.error));
    return DONE;
  }

  /**
   * Send the kill; true if the task may still be running (there is an end to wait for).
   * A task killing itself this way gets the error at its next blocking call.
   */
  private [KILL_NOW](err: unknown): boolean {
    const sched = schedOf(this);
    if (sched === NEW || (sched === READY && wakeKindOf(this) === K_ARGS)) {
      // Not running yet (maybe queued to start): it never will; the hub skips it.
      this[CANCEL_START_TIMER]();
      this[END_BEFORE_START](err);
      return false;
    }
    interrupt(this, err);
    return true;
  }

  private [END_BEFORE_START](err: unknown): void {
    // The greenlet never started: mark it dead without running it.
    this[STATE_KEY] = DEAD;
    this[BODY_KEY] = null;
    const hub = getHub();
    hub.finish(this);
    const failed = !(err instanceof GreenletExit);
    if (failed) nameError(err, this.name);
    hub.monitor?.ended?.(this, failed, err);
    this[SETTLE_KEY](failed, err);
  }

  /** @internal The hub saw the task end: record the outcome, wake waiters, fire links. */
  [SETTLE_KEY](failed: boolean, outcome: unknown): void {
    const status = this[STATUS_KEY];
    this[STATUS_KEY] = (status & ~OUTCOME) | (failed ? OUTCOME_ERROR : OUTCOME_VALUE);
    this[WAKE_KEY] = outcome;
    // The function is dropped at the end, as a greenlet drops it; `name` needs only its name.
    const origin = this[ORIGIN];
    if (typeof origin === 'function') this[ORIGIN] = functionName(HUB, origin);
    // The rest is out of line and rare (awaited, named or delayed tasks; links other than a
    // lone join): the end hook, which settles every task, is bounded in what V8 inlines.
    else if (origin instanceof TaskExtras) settleExtras(origin);
    if ((status & AWAITED) !== 0) HUB.awaited.delete(this);
    const links = this[LINKS];
    if (links !== null) {
      if (links instanceof Joiner) {
        // The usual case, one task waiting in join() or get(): NOTIFY_LINKS's, inlined.
        if (links.observes) this[STATUS_KEY] |= OBSERVED;
        this[LINKS] = null;
        this[FIRE_LINK](links);
      } else {
        this[NOTIFY_ALL]();
      }
    }
    if (failed && (this[STATUS_KEY] & OBSERVED) === 0) HUB.unobserved.push(this);
  }

  /** Settling, with links to notify other than a lone join: the links' look, then the notification. */
  private [NOTIFY_ALL](): void {
    const links = this[LINKS] as Link | Joiner | (Link | Joiner)[];
    if (Array.isArray(links) ? links.some((l) => l.observes) : links.observes) this[STATUS_KEY] |= OBSERVED;
    this[NOTIFY_LINKS]();
  }

  /**
   * Fire the links in the order registered, from the live list as gevent does: a
   * callback that unlinks a later one stops it, even though the notification has begun.
   * A `link` callback runs in a new task, and the notification goes on only once that
   * task has run (until it first blocks, or to its end): gevent switches into a link's
   * greenlet at once, so what it does comes before the later links.
   */
  private [NOTIFY_LINKS](): void {
    const links = this[LINKS];
    if (links instanceof Joiner) {
      // The usual case, one task waiting in join() or get(): the loop below, without its calls.
      this[LINKS] = null;
      this[FIRE_LINK](links);
      return;
    }
    this[STATUS_KEY] |= NOTIFYING;
    for (let link = this[SHIFT_LINK](); link !== undefined; link = this[SHIFT_LINK]()) {
      if (this[FIRE_LINK](link)) return; // a link task resumes the notification
    }
    this[LINKS] = null;
    this[STATUS_KEY] &= ~NOTIFYING;
  }

  /** Take the first link off the list (the live list: unlink() may change it meanwhile). */
  private [SHIFT_LINK](): Link | Joiner | undefined {
    const links = this[LINKS];
    if (links === null) return undefined;
    if (Array.isArray(links)) return links.shift();
    this[LINKS] = null;
    return links;
  }

  /** Fire one link; true if it started a link task that resumes the notification. */
  private [FIRE_LINK](link: Link | Joiner): boolean {
    if (link instanceof Joiner) {
      if (!link.wantsValue) wake(link.waiter, true);
      else if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR) wakeThrow(link.waiter, this[WAKE_KEY]);
      else wake(link.waiter, this[WAKE_KEY]);
      return false;
    }
    if (link.filter === LINK_VALUE && (this[STATUS_KEY] & OUTCOME) !== OUTCOME_VALUE) return false;
    if (link.filter === LINK_EXCEPTION && (this[STATUS_KEY] & OUTCOME) !== OUTCOME_ERROR) return false;
    const callback = link.callback;
    if (typeof callback !== 'function') {
      // A link target (an AsyncResult): it takes the outcome at once, and cannot block.
      try {
        callback.setFrom(this as unknown as Task<never, never>);
      } catch (error) {
        getHub().report({ kind: 'callback-error', where: `a link target of ${this.name}`, error });
      }
    } else if (link.raw) {
      runRawlink(callback, this, () => `a rawlink callback of ${this.name}`);
    } else {
      this[START_LINK_TASK](callback);
      return true;
    }
    return false;
  }

  /**
   * Run a `link` callback in a new task; once that task has run (it started and then
   * blocked or ended, or it was killed before it could start), the hub goes on with the
   * rest of the links.
   */
  private [START_LINK_TASK](callback: LinkCallback): void {
    let resumed = false;
    const resume = (): void => {
      if (resumed) return;
      resumed = true;
      getHub().callSoon(() => this[NOTIFY_LINKS]());
    };
    const source = this;
    const task = spawn(function* linked(): GreenletBody<unknown> {
      resume(); // runs in the hub as soon as this task blocks or ends
      return yield* call(callback, source);
    });
    task.name = `${callback.name !== '' ? callback.name : 'link'}-${task.id}`;
    task[WATCH_END](resume);
  }

  /** @internal Called by the hub at the end of a pass for a failed task. */
  reportIfUnobserved(): void {
    if ((this[STATUS_KEY] & OBSERVED) === 0) {
      this[STATUS_KEY] |= OBSERVED;
      getHub().report({ kind: 'task-error', task: this, error: this[WAKE_KEY] });
    }
  }

  private [ADD_LINK](callback: LinkCallback<this> | LinkTarget<R>, filter: number, raw: boolean, observes = true): void {
    if (typeof callback !== 'function' && typeof (callback as Partial<LinkTarget<R>> | null)?.setFrom !== 'function') {
      throw new TypeError(
        `a link takes a callback function or a link target such as an AsyncResult, not ${callback === null ? 'null' : typeof callback}`,
      );
    }
    if (observes) this[STATUS_KEY] |= OBSERVED;
    const link = new Link(callback as LinkCallback | LinkTarget<never>, filter, raw, observes);
    const status = this[STATUS_KEY];
    this[PUSH_LINK](link);
    if ((status & OUTCOME) !== OUTCOME_PENDING && (status & NOTIFYING) === 0) {
      // Linked after the end and its notification: a new notification at the hub's next
      // turn, which the links registered until then join (gevent's rawlink schedules
      // _notify_links, and unlink() can still take the link back).
      this[STATUS_KEY] = status | NOTIFYING;
      getHub().callSoon(() => this[NOTIFY_LINKS]());
    }
  }

  private [PUSH_LINK](link: Link | Joiner): void {
    const links = this[LINKS];
    if (links === null) this[LINKS] = link;
    else if (Array.isArray(links)) links.push(link);
    else this[LINKS] = [links, link];
  }

  /**
   * Call `callback(task)` in a new task when this one ends, however it ends (also if it
   * has already ended). The callback may be a generator function and may block. Given
   * a link target such as an `AsyncResult` instead (gevent's `task.link(result)`), the
   * target takes the task's outcome: its value, or its error.
   *
   * Links fire in the order they were registered (with `rawlink` callbacks and waiting
   * joins); a link's callback starts in its new task after the notification is over.
   *
   * ```ts
   * const result = new AsyncResult<number>();
   * spawn(compute).link(result);
   * const n = yield* result.get();
   * ```
   */
  link(callback: LinkCallback<this> | LinkTarget<R>): void {
    this[ADD_LINK](callback, LINK_ALL, false);
  }

  /** Like {@link link}, only if the task ends successfully. */
  linkValue(callback: LinkCallback<this> | LinkTarget<R>): void {
    this[ADD_LINK](callback, LINK_VALUE, false);
  }

  /** Like {@link link}, only if the task ends with an error. */
  linkException(callback: LinkCallback<this> | LinkTarget<R>): void {
    this[ADD_LINK](callback, LINK_EXCEPTION, false);
  }

  /**
   * Call `callback(task)` directly in the hub when the task ends: cheaper than
   * {@link link}, but the callback must neither block nor throw.
   */
  rawlink(callback: LinkCallback<this>): void {
    if (typeof callback !== 'function') {
      throw new TypeError(`rawlink() takes a function, not ${callback === null ? 'null' : typeof callback}`);
    }
    this[ADD_LINK](callback, LINK_ALL, true);
  }

  /** @internal See {@link WATCH_END}. */
  [WATCH_END](callback: LinkCallback<this>): void {
    this[ADD_LINK](callback, LINK_ALL, true, false);
  }

  /** @internal See {@link PEEK_OUTCOME}. */
  [PEEK_OUTCOME](): [failed: boolean, result: unknown] {
    return [(this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR, this[WAKE_KEY]];
  }

  /**
   * Remove the first registration of `callback` (or of a link target) made with link,
   * linkValue, linkException or rawlink and not fired yet, even while the task's links are
   * being fired; one registered twice stays registered once (gevent's `list.remove`).
   */
  unlink(callback: LinkCallback<this> | LinkTarget<R>): void {
    const links = this[LINKS];
    if (links === null) return;
    if (!Array.isArray(links)) {
      if (links instanceof Link && links.callback === callback) this[LINKS] = null;
      return;
    }
    const i = links.findIndex((l) => l instanceof Link && l.callback === callback);
    if (i !== -1) links.splice(i, 1);
  }

  /** Whether any link or waiter is registered. */
  hasLinks(): boolean {
    const links = this[LINKS];
    return links !== null && (!Array.isArray(links) || links.length !== 0);
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
    this[STATUS_KEY] |= OBSERVED;
    return new Promise<R>((resolve, reject) => {
      const settle = (): void => {
        if ((this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR) reject(this[WAKE_KEY]);
        // A task is a thenable: resolving with itself would make the promise wait on itself.
        else if (this[WAKE_KEY] === this) reject(new TypeError(`${this.name} returned itself: awaiting it would never end`));
        else resolve(this[WAKE_KEY] as R);
      };
      if ((this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING) {
        settle();
        return;
      }
      const hub = getHub();
      const rejecters = hub.awaited.get(this);
      if (rejecters === undefined) hub.awaited.set(this, [reject]);
      else rejecters.push(reject);
      this[STATUS_KEY] |= AWAITED;
      this.rawlink(settle);
    });
  }

  override toString(): string {
    const state =
      (this[STATUS_KEY] & OUTCOME) !== OUTCOME_PENDING
        ? (this[STATUS_KEY] & OUTCOME) === OUTCOME_ERROR
          ? 'failed'
          : 'done'
        : ['new', 'ready', getCurrentGreenlet() === this ? 'running' : 'suspended', 'parked', 'done'][schedOf(this)];
    const waiting = schedOf(this) === PARKED ? ` on ${String(this[WAIT_KEY])}` : '';
    return `<Task "${this.name}" ${state}${waiting}>`;
  }

  /**
   * Refused: the hub resumes a task, with what it waited for. A raw switch into a parked
   * task would hand it a value its wait does not expect, and leave the switching greenlet
   * where nobody resumes it (gevent detects it later, in the task, as an "Invalid
   * switch"). Wake a task through what it waits on (an `Event`, a `Queue`, a `Channel`),
   * or `kill()` it.
   */
  override switch<T = unknown>(..._args: unknown[]): Switched<T> {
    throw new GreenletError(
      `cannot switch to ${this.name}: a task is resumed by the hub, with what it waits for. ` +
        'Wake it through what it waits on (an Event, a Queue, a Channel), or kill() it; use a raw Greenlet to switch by hand',
    );
  }

  /** Refused, as {@link Task.switch} is: raise an error in a task with `task.kill(error)`. */
  override throw<T = unknown>(..._args: unknown[]): Switched<T> {
    throw new GreenletError(
      `cannot throw into ${this.name} directly: a task is resumed by the hub. Write \`yield* task.kill(error)\` ` +
        '(or `task.kill({ error, block: false })`) to raise an error in it',
    );
  }

  /** A task's parent is always its hub. */
  override get parent(): Greenlet | null {
    return super.parent;
  }

  override set parent(_value: Greenlet | null) {
    throw new GreenletError(`the parent of ${describe(this)} is its hub and cannot change`);
  }
}

// A task's parent is always its hub, and its context is none unless it inherits or sets
// variables: both are kept on the prototype, and a task has them as own fields only where
// it differs (see the Greenlet constructor), two fields less on nearly every task.
Task.prototype[PARENT] = getHub();
Task.prototype[CTX] = null;

/** A completed operation that allocates nothing: what a kill that does not wait returns. */
const DONE: SwitchOp<void> = Object.freeze({ [Symbol.iterator]: () => immediate(undefined) });

// Module-local copies of the switcher's slot and states, for JOIN's own iterator below.
const S = SWITCHER;
const IDLE = REQ_IDLE;
const OP_PENDING = REQ_OP_PENDING;

const JOIN = blockingOperation<Task, number | undefined, undefined, boolean>(
  'task.join()',
  (t, timeout) => t.performJoin(timeout),
  null,
  // A hot kind (see Operation's [Symbol.iterator]): every join of a task passes here.
  class extends Operation<Task, number | undefined, undefined, boolean> {
    override [Symbol.iterator](): Performed<boolean> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const task = S.opSelf as Task;
      const timeout = S.opA as number | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = undefined;
      return task.performJoin(timeout);
    }
  },
);

const GET = new Operation<Task, number | undefined, { block?: boolean } | undefined, unknown>(
  'task.get()',
  (t, timeout, options) => t.performGet(timeout, options),
  (_t, _timeout, _options, where) => {
    const error = blockingError('task.get()', where);
    error.message += '. From plain code read `task.value` / `task.exception` once `task.ready()`, or `await task`';
    throw error;
  },
);

const KILL = new Operation<Task, KillOptions, undefined, void>(
  'task.kill()',
  (t, opts) => t.performKill(opts),
  (t, opts) => t.killOutside(opts),
);

class StartTimer extends Timer {
  constructor(readonly task: Task) {
    super();
  }
  fire(): void {
    scheduleStart(this.task);
  }
}

/**
 * The options of `kill(errorOrOptions, options)` and `killall`: gevent's keywords may
 * come first as an object, or after a positional error.
 */
export function killOptions(errorOrOptions: Error | ErrorClass | KillOptions | undefined, options: KillOptions | undefined): KillOptions {
  if (errorOrOptions === undefined || errorOrOptions === null) return options ?? {};
  if (typeof errorOrOptions === 'function' || errorOrOptions instanceof Error) {
    return { ...options, error: errorOrOptions };
  }
  if (typeof errorOrOptions === 'object' && options === undefined) return errorOrOptions;
  throw new TypeError(
    `kill() takes an error, an error class or an options object ({ error, block, timeout }), not ${typeof errorOrOptions}`,
  );
}

function toError(error: Error | ErrorClass | undefined): unknown {
  if (error === undefined) return newGreenletExit();
  if (error instanceof Error) return error;
  if (typeof error === 'function') return Reflect.construct(error, []);
  throw new TypeError(`kill() takes an error or an error class, not ${typeof error}`);
}

/**
 * The `GreenletExit` of a kill that names no error, made without capturing a stack: the
 * capture would cost more than the rest of the kill (several µs) and would only show
 * where `kill()` was called. An error given to `kill()` keeps its stack.
 */
function newGreenletExit(): GreenletExit {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GreenletExit();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Create a task running `fn(...args)` and schedule it to start on the hub's next pass
 * (not synchronously). gevent's `spawn`.
 */
export function spawn<A extends unknown[], R>(fn: (...args: A) => SwitchOp<R>, ...args: A): Task<R, A>;
export function spawn<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R, ...args: A): Task<R, A>;
export function spawn<A extends unknown[], R>(fn: (...args: A) => GreenletBody<R> | R): Task<R, A> {
  if (typeof fn !== 'function') throw notAFunction('spawn', fn);
  // Queued to start at once, the task goes on the hub's list of live tasks only if it
  // parks (see Hub.adopt); the constructor reads the flag and resets it.
  HUB.spawning = true;
  // `arguments` rather than a rest parameter: a spawn without arguments allocates no array.
  const task =
    arguments.length === 1
      ? (new Task<R, []>(fn as () => GreenletBody<R> | R) as unknown as Task<R, A>)
      : (Reflect.construct(Task, arguments) as Task<R, A>);
  // A new task is NEW, with no start timer: what start() does comes down to this.
  scheduleStart(task);
  return task;
}

function checkFunction(caller: string, fn: unknown): void {
  if (typeof fn !== 'function') throw notAFunction(caller, fn);
}

function notAFunction(caller: string, fn: unknown): TypeError {
  return new TypeError(`${caller}() takes the function to run, not ${fn === null ? 'null' : typeof fn}`);
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
  if (typeof ms !== 'number') throw new TypeError(`spawnLater() takes a delay in milliseconds first, not ${typeof ms}`);
  checkFunction('spawnLater', fn);
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

/**
 * The task running now, typed as a {@link Task}: gevent's `getcurrent()` inside a
 * greenlet (`getcurrent()` here is typed `Greenlet`, as it may be main or a raw
 * greenlet). Raises `GreenletError` outside a task; {@link currentTaskOrNull} returns
 * null there instead.
 *
 * ```ts
 * const me = currentTask();
 * spawn(function* () { yield* sleep(100); me.kill({ block: false }); });
 * ```
 */
export function currentTask(): Task {
  const g = getCurrentGreenlet();
  if (g instanceof Task) return g;
  const where = g === getMainGreenlet() ? 'the main greenlet (plain code, callbacks, async functions)' : String(g);
  throw new GreenletError(`currentTask() was called in ${where}, which is not a task; use currentTaskOrNull() where that can happen`);
}

/** The task running now, or null in the main greenlet or a raw greenlet. */
export function currentTaskOrNull(): Task | null {
  const g = getCurrentGreenlet();
  return g instanceof Task ? g : null;
}
