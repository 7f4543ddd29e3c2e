/**
 * Groups of tasks: gevent.pool's `Group`, the `TaskSet` base it shares with `Pool`
 * (membership, join, kill, apply, map, imap, imapUnordered), and `MapIterator`, the lazy
 * result iterator of `imap` / `imapUnordered`.
 *
 * Membership. A task is a member from `add` / `start` / `spawn` until it ends (a rawlink
 * of the set removes it, in the hub, as the task settles) or until `discard`. The set
 * never holds an ended task: adding one that has already ended does nothing.
 *
 * Invariants of a TaskSet (true whenever no code of the set is running):
 * - every member carries exactly one rawlink of this set (`#onEnd`); `discard` removes it;
 * - `dying` ⊆ members: the members this set has killed and that have not ended yet, so
 *   that `kill` / `killone` raise in each task at most once (gevent's `dying`);
 * - `joiners` is non-empty only while there are members: whoever removes the last
 *   member wakes every joiner with `true`.
 *
 * Invariants of a MapIterator (see the class):
 * - `spawned - delivered <= maxsize`: at most `maxsize` results are running or waiting
 *   for the consumer; the spawner parks before it pulls the next item from the input;
 * - a consumer parks only when nothing can be delivered; whoever makes a result
 *   deliverable (a child that ends, the spawner that ends, `close`) hands it straight to
 *   the first parked consumer, so a woken consumer never re-checks;
 * - `running` maps exactly the children that started and have not ended to their index.
 *
 * Coming from gevent:
 * - `len(group)` is `group.size` (as `Set.size`); `Pool`'s bound is `pool.capacity`;
 * - `Group.spawn` never blocks and returns the task; `Pool.spawn` may block and is a
 *   switch operation (`yield* pool.spawn(fn)`). TypeScript cannot type one method both
 *   ways, so `Pool` extends `TaskSet`, not `Group`: test for `instanceof TaskSet`;
 * - `map` is structured (gevent#1933): on the first error it kills the tasks still
 *   running, waits for them and then raises; it never leaves tasks behind;
 * - `imap` / `imapUnordered` take one iterable (zip several yourself), return a
 *   `MapIterator` read with `yield* it.next()`, and stop their spawner when closed or
 *   when the consumer is killed in `next()` (gevent#1215);
 * - `apply` kills the task it started when the caller stops waiting (killed or timed out);
 * - `applyAsync` has no callback argument: use `task.linkValue(cb)`;
 * - `join` from a member of the same group raises instead of waiting forever.
 *
 * @module
 */
import { call } from '../core/call.js';
import { GreenletError, GreenletExit } from '../core/errors.js';
import type { ErrorClass, GreenletBody } from '../core/greenlet.js';
import { Operation, lazy } from '../core/operation.js';
import { getCurrentGreenlet, immediate, isGenerator, type Performed, type SwitchOp } from '../core/switcher.js';
import { STATUS, blockingOperation, currentTask, getHub, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { JOIN_QUIETLY, Task, WATCH_END, awaitEnds, killOptions, spawn, type KillOptions } from '../hub/task.js';
import { now } from '../hub/timers.js';
import { joinall } from '../hub/wait.js';

/** A function a group runs in a task: a generator function (it may block) or a plain one. */
export type TaskFunction<A extends unknown[], R> = (...args: A) => GreenletBody<R> | R;

/**
 * A function that returns an operation, such as `sleep` or `(x) => queue.put(x)`: a
 * group runs it in a task too (`pool.spawn(sleep, 10)`, gevent's
 * `pool.spawn(gevent.sleep, 10)`). The methods take it through an overload of their own,
 * so that TypeScript infers what the operation evaluates to.
 */
export type OperationFunction<A extends unknown[], R> = (...args: A) => SwitchOp<R>;

export type { KillOptions } from '../hub/task.js';

/** Options of {@link TaskSet.join}, as gevent's keywords. */
export interface JoinOptions {
  /** Give up after this many milliseconds: `join` then evaluates to false. */
  timeout?: number;
  /** Raise the error of the first task that failed. */
  raiseError?: boolean;
}

/** Options of {@link TaskSet.imap} and {@link TaskSet.imapUnordered}. */
export interface MapOptions {
  /**
   * At most this many results may be running or waiting to be read (an integer >= 1):
   * the input is read no further until the consumer catches up. Unbounded by default.
   */
  maxsize?: number;
}

/**
 * @internal The set's way to start a task for map, imap and apply: Group spawns at once,
 * Pool may wait for room first.
 */
export const ADMIT: unique symbol = Symbol('greenlet-ts.admit');

// --- a FIFO of parked tasks --------------------------------------------------------------

/**
 * @internal A list of parked tasks, in arrival order: the Parking every wait of this
 * layer's groups, pools and scopes uses. Its `toString` says what they wait on.
 */
export class WaitList implements Parking {
  readonly #tasks: Schedulable[] = [];

  constructor(readonly describe: () => string) {}

  get length(): number {
    return this.#tasks.length;
  }

  /** Park `task` here (see `park` for `ms`, `onTimeout` and `timeoutThrows`). */
  park<T>(task: Schedulable, ms?: number, onTimeout?: unknown, timeoutThrows = false): Performed<T> {
    this.#tasks.push(task);
    return park<T>(task, this, ms, onTimeout, timeoutThrows);
  }

  /** Take the longest-waiting task out of the list (the caller then wakes it). */
  shift(): Schedulable | undefined {
    return this.#tasks.shift();
  }

  /** Wake every parked task with `value`. */
  wakeAll(value: unknown): void {
    const tasks = this.#tasks.splice(0);
    for (const task of tasks) wake(task, value);
  }

  unpark(task: Schedulable): void {
    const i = this.#tasks.indexOf(task);
    if (i !== -1) this.#tasks.splice(i, 1);
  }

  toString(): string {
    return this.describe();
  }
}

/** Whether the code running now is a task (and so may block). */
function inTask(): boolean {
  return (getCurrentGreenlet() as Partial<Schedulable>)[STATUS] !== undefined;
}

// --- TaskSet -------------------------------------------------------------------------------

/**
 * What {@link Group} and `Pool` have in common: a set of running tasks you can wait for,
 * kill, and map functions over. Ended tasks leave the set by themselves.
 *
 * ```ts
 * const group = new Group();
 * group.spawn(fetchPage, 'a');
 * group.spawn(fetchPage, 'b');
 * yield* group.join();             // both have ended
 * const sizes = yield* group.map(fetchSize, urls); // in the order of urls
 * ```
 */
export abstract class TaskSet implements Iterable<Task> {
  readonly #members = new Set<Task>();
  readonly #dying = new Set<Task>();
  readonly #joiners = new WaitList(() => `join(${this.toString()})`);
  readonly #onEnd = (task: Task): void => {
    this.#forget(task);
  };

  /** How many tasks are in the set (gevent's `len(group)`). */
  get size(): number {
    return this.#members.size;
  }

  /** Whether `task` is in the set (gevent's `task in group`). */
  has(task: Task): boolean {
    return this.#members.has(task);
  }

  /** The tasks in the set, in the order they joined it. */
  [Symbol.iterator](): IterableIterator<Task> {
    return this.#members.values();
  }

  /**
   * How many tasks are parked in this set's blocking methods (`join`, and for a pool
   * `spawn`, `add`, `start` and `waitAvailable`). Zero once nothing waits.
   */
  get waiting(): number {
    return this.#joiners.length;
  }

  /** Stop tracking `task` (it keeps running). Does nothing if it is not in the set. */
  discard(task: Task): void {
    if (!this.#members.has(task)) return;
    task.unlink(this.#onEnd);
    this.#forget(task);
  }

  /** @internal Start tracking `task`, which has not ended. */
  protected track(task: Task): void {
    this.#members.add(task);
    // Membership does not count as handling a member's error: a failure nobody waits
    // for is still reported by the hub.
    task[WATCH_END](this.#onEnd);
  }

  #forget(task: Task): void {
    if (!this.#members.delete(task)) return;
    this.#dying.delete(task);
    if (this.#members.size === 0 && this.#joiners.length !== 0) this.#joiners.wakeAll(true);
    this.released();
  }

  /** @internal Called after a member left the set (ended or discarded). */
  protected released(): void {}

  /**
   * Whether the set cannot take another task without waiting. Always false for a
   * {@link Group}.
   */
  abstract full(): boolean;

  /**
   * Wait until a task can be added without waiting; evaluates to how many can
   * (`Infinity` for a group), or 0 if `timeout` ms passed first.
   */
  waitAvailable(timeout?: number): SwitchOp<number> {
    return lazy(WAIT_AVAILABLE, this, timeout, undefined);
  }

  /** @internal Performs {@link TaskSet.waitAvailable}. */
  abstract performWaitAvailable(timeout: number | undefined): Performed<number>;

  /** @internal Start `fn(...args)` as a member, waiting for room if needed. */
  abstract [ADMIT]<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): SwitchOp<Task<R, A>>;

  /** @internal Start `fn(...args)` as a member now; only called when not full. */
  protected abstract spawnNow<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): Task<R, A>;

  /**
   * Wait until the set is empty, at least once; evaluates to true, or to false if
   * `timeout` ms passed first. Another task may have joined by the time the caller
   * runs again. With `raiseError`, raise the error of the first task (among those in
   * the set when `join` was called) that failed.
   *
   * The options may come as an object, as gevent's keywords:
   * `yield* group.join({ timeout: 1000, raiseError: true })`.
   *
   * ```ts
   * const emptied = yield* group.join(1000);
   * ```
   */
  join(options?: JoinOptions): SwitchOp<boolean>;
  join(timeout?: number, raiseError?: boolean): SwitchOp<boolean>;
  join(timeoutOrOptions?: number | JoinOptions, raiseErrorArg = false): SwitchOp<boolean> {
    const options = typeof timeoutOrOptions === 'object' && timeoutOrOptions !== null ? timeoutOrOptions : undefined;
    const timeout = options !== undefined ? options.timeout : (timeoutOrOptions as number | undefined);
    const raiseError = options !== undefined ? options.raiseError === true : raiseErrorArg;
    return lazy(SET_JOIN, this, timeout, raiseError);
  }

  /** @internal Performs {@link TaskSet.join}. */
  performJoin(timeout: number | undefined, raiseError: boolean): Performed<boolean> {
    if (this.#members.size === 0) return immediate(true);
    const task = currentTask('group.join()');
    if (this.#members.has(task as unknown as Task)) {
      throw new GreenletError(
        `${task.name} cannot wait for its own group to become empty: it is a member, so the group never will. ` +
          'Join the group from a task outside it, or join the other tasks one by one',
      );
    }
    if (!raiseError) return this.#joiners.park(task, timeout, false);
    return this.#joinRaising(task, [...this.#members], timeout);
  }

  *#joinRaising(task: Schedulable, members: Task[], timeout: number | undefined): GreenletBody<boolean> {
    const emptied = yield* this.#joiners.park<boolean>(task, timeout, false);
    for (const member of members) if (member.ready() && !member.successful()) throw member.exception;
    return emptied;
  }

  /**
   * Kill every task in the set (`error` defaults to a new `GreenletExit`; an error class
   * makes one instance per task). With `block` (the default) and inside a task, wait
   * until they have all ended, killing those that join meanwhile, at most `timeout` ms
   * (then return quietly). A task is killed once, however often `kill` is called.
   *
   * With `block: false` the kill is not an operation: it happens at the call and returns
   * nothing to `yield*` (the form for plain code and callbacks).
   *
   * ```ts
   * yield* group.kill();                       // and wait
   * group.kill({ block: false });              // just raise in each
   * ```
   */
  kill(options: KillOptions & { block: false }): void;
  kill(error: Error | ErrorClass | undefined, options: Omit<KillOptions, 'error'> & { block: false }): void;
  kill(options?: KillOptions): SwitchOp<void>;
  kill(error?: Error | ErrorClass, options?: Omit<KillOptions, 'error'>): SwitchOp<void>;
  kill(errorOrOptions?: Error | ErrorClass | KillOptions, options?: KillOptions): SwitchOp<void> | void;
  kill(errorOrOptions?: Error | ErrorClass | KillOptions, options?: KillOptions): SwitchOp<void> | void {
    const opts = killOptions(errorOrOptions, options);
    if (opts.block === false) {
      this.#killRound(opts.error);
      return DONE_OP;
    }
    return lazy(SET_KILL, this, opts, undefined);
  }

  /** @internal Performs {@link TaskSet.kill}. */
  performKill({ error, timeout }: KillOptions): Performed<void> {
    this.#killRound(error);
    if (!inTask() || this.#members.size === 0) return immediate(undefined);
    return this.#killAndWait(error, timeout);
  }

  /** @internal Made where nothing can wait: kill without waiting. */
  killOutside({ error }: KillOptions): SwitchOp<void> {
    this.#killRound(error);
    return DONE_OP;
  }

  #killRound(error: Error | ErrorClass | undefined): void {
    for (const task of [...this.#members]) {
      if (this.#dying.has(task)) continue;
      this.#dying.add(task);
      task.kill(error, { block: false });
    }
  }

  *#killAndWait(error: Error | ErrorClass | undefined, timeout: number | undefined): GreenletBody<void> {
    const deadline = timeout === undefined ? Infinity : now() + timeout;
    while (this.#members.size !== 0) {
      const left = deadline - now();
      if (left <= 0) return;
      // A kill's wait: an error a member raises as it unwinds is reported, not taken here.
      if (!(yield* awaitEnds([...this.#members], deadline === Infinity ? undefined : left))) return;
      this.#killRound(error);
    }
  }

  /**
   * Kill `task` if it is in the set and this set has not killed it already; with `block`
   * (the default) and inside a task, wait until it has ended, at most `timeout` ms.
   */
  killone(task: Task, options: KillOptions & { block: false }): void;
  killone(task: Task, error: Error | ErrorClass | undefined, options: Omit<KillOptions, 'error'> & { block: false }): void;
  killone(task: Task, options?: KillOptions): SwitchOp<void>;
  killone(task: Task, error?: Error | ErrorClass, options?: Omit<KillOptions, 'error'>): SwitchOp<void>;
  killone(task: Task, errorOrOptions?: Error | ErrorClass | KillOptions, options?: KillOptions): SwitchOp<void> | void;
  killone(task: Task, errorOrOptions?: Error | ErrorClass | KillOptions, options?: KillOptions): SwitchOp<void> | void {
    const opts = killOptions(errorOrOptions, options);
    if (opts.block === false) {
      this.#killMember(task, opts.error);
      return DONE_OP;
    }
    return lazy(SET_KILLONE, this, task, opts);
  }

  /** @internal Performs {@link TaskSet.killone}. */
  performKillone(task: Task, { error, timeout }: KillOptions): Performed<void> {
    if (!this.#killMember(task, error) || !inTask() || getCurrentGreenlet() === task) return immediate(undefined);
    return task[JOIN_QUIETLY](timeout) as Performed<unknown> as Performed<void>;
  }

  /** Kill `task` if it is a member this set has not killed yet; whether it did. */
  #killMember(task: Task, error: Error | ErrorClass | undefined): boolean {
    if (!this.#members.has(task) || this.#dying.has(task)) return false;
    this.#dying.add(task);
    task.kill({ error, block: false });
    return true;
  }

  /**
   * Run `fn(...args)` in a task of this set and wait for its result (or its error). If
   * the caller is itself a member, `fn` runs right here instead: waiting for a free
   * place held by the caller would wait forever. If the caller stops waiting (killed,
   * or a Timeout), the task is killed.
   *
   * ```ts
   * const size = yield* pool.apply(fetchSize, url);
   * ```
   */
  apply<A extends unknown[], R>(fn: OperationFunction<A, R>, ...args: A): SwitchOp<R>;
  apply<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): SwitchOp<R>;
  apply<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): SwitchOp<R> {
    return lazy(SET_APPLY, this, fn as TaskFunction<unknown[], unknown>, args) as SwitchOp<R>;
  }

  /** @internal Performs {@link TaskSet.apply}. */
  *performApply<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): GreenletBody<R> {
    if (this.#members.has(getCurrentGreenlet() as Task)) return (yield* call(fn, ...(args as Parameters<typeof fn>))) as R;
    const task = yield* this[ADMIT](fn, args);
    try {
      return yield* task.get();
    } finally {
      task.kill(undefined, { block: false });
    }
  }

  /**
   * Start `fn(...args)` and return its task without waiting, even when the set is full
   * (then a task outside the set waits for room and runs it as a member). Works from
   * plain code too. For a callback on success: `set.applyAsync(fn, x).linkValue(cb)`.
   */
  applyAsync<A extends unknown[], R>(fn: OperationFunction<A, R>, ...args: A): Task<R>;
  applyAsync<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R>;
  applyAsync<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R> {
    if (!this.full()) return this.spawnNow(fn, args);
    // gevent's "weasel" path: an untracked task waits for room, then applies.
    const set = this;
    return spawn(function* applyWhenFree(): GreenletBody<R> {
      return yield* set.performApply(fn, args);
    });
  }

  /**
   * Run `fn(item)` for every item, each in a task of this set (a pool runs at most its
   * capacity at once), and evaluate to the results in the order of `items`. On the
   * first error the tasks still running are killed and awaited, the remaining items are
   * never started, and the error is raised (gevent#1933). If the caller is killed, the
   * tasks are killed too.
   *
   * ```ts
   * const squares = yield* pool.map(function* (x: number) { yield* sleep(10); return x * x; }, [1, 2, 3]);
   * ```
   */
  map<T, R>(fn: OperationFunction<[T], R>, items: Iterable<T>): SwitchOp<R[]>;
  map<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>): SwitchOp<R[]>;
  map<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>): SwitchOp<R[]> {
    return lazy(SET_MAP, this, fn as TaskFunction<[unknown], unknown>, items) as SwitchOp<R[]>;
  }

  /**
   * Like {@link TaskSet.map}, lazily: the results come one by one, in the order of
   * `items`, from `yield* it.next()`. Tasks start at once (as many as the set and
   * `maxsize` allow), not when you ask. An error of `fn` is raised by the `next()` that
   * reaches its item; iteration then goes on. Declare the iterator with `using` (or
   * close it in a `finally`): closing it stops reading `items` and kills the tasks
   * still running (gevent#1215).
   *
   * ```ts
   * using it = pool.imap(fetchPage, urls, { maxsize: 4 });
   * while (yield* it.next()) save(it.value);
   * ```
   */
  imap<T, R>(fn: OperationFunction<[T], R>, items: Iterable<T>, options?: MapOptions): MapIterator<T, R>;
  imap<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>, options?: MapOptions): MapIterator<T, R>;
  imap<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>, options: MapOptions = {}): MapIterator<T, R> {
    return new MapIterator<T, R>(this, fn, items, true, false, options.maxsize);
  }

  /** Like {@link TaskSet.imap}, with the results in the order the tasks end. */
  imapUnordered<T, R>(fn: OperationFunction<[T], R>, items: Iterable<T>, options?: MapOptions): MapIterator<T, R>;
  imapUnordered<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>, options?: MapOptions): MapIterator<T, R>;
  imapUnordered<T, R>(fn: TaskFunction<[T], R>, items: Iterable<T>, options: MapOptions = {}): MapIterator<T, R> {
    return new MapIterator<T, R>(this, fn, items, false, false, options.maxsize);
  }

  toString(): string {
    return `${this.constructor.name}(${this.#members.size} task${this.#members.size === 1 ? '' : 's'})`;
  }
}

// --- Group ---------------------------------------------------------------------------------

/**
 * A set of running tasks, without limit: gevent's `pool.Group`. Tasks leave it when
 * they end. Use it to wait for, or kill, tasks that belong together; for a bound on how
 * many run at once use `Pool`, and for children that must not outlive a block of code
 * use `scope`.
 *
 * ```ts
 * const group = new Group();
 * for (const url of urls) group.spawn(fetchPage, url);
 * if (!(yield* group.join(5000))) yield* group.kill(); // give up after 5 s
 * ```
 */
export class Group extends TaskSet {
  /** A group, tracking `tasks` (those that have not ended) from now on. */
  constructor(tasks: Iterable<Task> = []) {
    super();
    for (const task of tasks) this.add(task);
  }

  /**
   * Track `task` until it ends. A task that has already ended is not added. Usually
   * called before the task starts: see {@link Group.start}.
   */
  add(task: Task): void {
    if (task.ready() || this.has(task)) return;
    this.track(task);
  }

  /** Add the task and start it (if it has not started). */
  start<T extends Task>(task: T): T {
    this.add(task);
    return task.start();
  }

  /**
   * Create a task running `fn(...args)`, add it and start it: gevent's `group.spawn`.
   * Never blocks; works from plain code too.
   */
  spawn<A extends unknown[], R>(fn: OperationFunction<A, R>, ...args: A): Task<R, A>;
  spawn<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R, A>;
  spawn<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R, A> {
    return this.start(new Task<R, A>(fn, ...args));
  }

  /** Always false: a group has no limit. */
  full(): boolean {
    return false;
  }

  /** @internal A group always has room: `waitAvailable()` evaluates to `Infinity` at once. */
  performWaitAvailable(): Performed<number> {
    return immediate(Infinity);
  }

  /** @internal */
  [ADMIT]<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): SwitchOp<Task<R, A>> {
    return immediate(this.spawn(fn, ...args));
  }

  /** @internal */
  protected spawnNow<A extends unknown[], R>(fn: TaskFunction<A, R>, args: A): Task<R, A> {
    return this.spawn(fn, ...args);
  }
}

// --- MapIterator ---------------------------------------------------------------------------

const NOTHING: unique symbol = Symbol('nothing');

/** What `next()` evaluates to once every result has been read. */
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** A result on its way to the consumer: a value, or an error to raise. */
interface Outcome {
  readonly ok: boolean;
  readonly value: unknown;
}

/**
 * The results of {@link TaskSet.imap} and {@link TaskSet.imapUnordered}, one at a time.
 * A task of its own (the spawner) reads the input and starts a task per item in the
 * set; `next()` hands the results over.
 *
 * Read it with `yield* it.next()`, which evaluates to `true` with the result in
 * `it.value`, or to `false` once everything has been read (the same protocol as a
 * channel's or a queue's `iterate()`; a `for...of` loop cannot wait):
 *
 * ```ts
 * using it = group.imapUnordered(fetchPage, urls);
 * while (yield* it.next()) console.log(it.value);
 * // or: yield* it.forEach((page) => console.log(page));
 * // or: const pages = yield* it.toArray();
 * ```
 *
 * Closing it (`close()`, or the end of the `using` block) stops the spawner and kills
 * the tasks still running; so does killing the task that waits in `next()`.
 */
export class MapIterator<T, R> implements Disposable {
  /**
   * The result the last successful `next()` evaluated to, read right after it (another
   * task's `next()` may replace it later). Undefined before, and at the end.
   */
  value: R = undefined as R;
  readonly #set: TaskSet;
  readonly #fn: TaskFunction<[T], R>;
  #items: Iterator<T> | null;
  readonly #ordered: boolean;
  /** map(): the first error is raised at once, and ends the iteration. */
  readonly #failFast: boolean;
  readonly #maxsize: number;
  readonly #spawner: Task<void>;
  #spawnerEnded = false;
  /** The error that stopped the spawner (the input's iterator, or room that never came). */
  #spawnError: unknown = NOTHING;
  /** failFast only: the first error, raised by the next `next()`. */
  #failure: unknown = NOTHING;
  readonly #running = new Map<Task, number>();
  readonly #inOrder = new Map<number, Outcome>();
  readonly #byEnd: Outcome[] = [];
  #nextIndex = 0;
  #spawned = 0;
  #delivered = 0;
  /** The last result (or final error) was delivered, or the iterator was closed. */
  #finished = false;
  readonly #consumers = new WaitList(() => `${this.#label}.next()`);
  readonly #window = new WaitList(() => `${this.#label}: ${this.#maxsize} results not read yet`);
  readonly #settling = new WaitList(() => `${this.#label}: ${this.#running.size} tasks ending`);
  readonly #onChildEnd = (task: Task): void => {
    this.#childEnded(task);
  };

  /** @internal Use `imap`, `imapUnordered` or `map` of a group or pool. */
  constructor(
    set: TaskSet,
    fn: TaskFunction<[T], R>,
    items: Iterable<T>,
    ordered: boolean,
    failFast: boolean,
    maxsize: number | undefined,
  ) {
    if (maxsize !== undefined && !(Number.isInteger(maxsize) && maxsize >= 1)) {
      throw new RangeError(`maxsize must be an integer >= 1 (or left out for no bound), not ${String(maxsize)}`);
    }
    this.#set = set;
    this.#fn = fn;
    this.#items = items[Symbol.iterator]();
    this.#ordered = ordered;
    this.#failFast = failFast;
    this.#maxsize = maxsize ?? Infinity;
    const spawner = spawn(() => this.#spawnAll());
    spawner.name = `${this.#label} spawner-${spawner.id}`;
    spawner[WATCH_END](() => this.#spawnerEnd());
    this.#spawner = spawner;
  }

  get #label(): string {
    const name = this.#fn.name === '' ? 'fn' : this.#fn.name;
    return `${this.#failFast ? 'map' : this.#ordered ? 'imap' : 'imapUnordered'}(${name})`;
  }

  /** How many tasks are parked in `next()`. */
  get waiting(): number {
    return this.#consumers.length;
  }

  /**
   * Wait for the next result: `true` with it in {@link MapIterator.value}, or `false`
   * when all have been read (and on every call after that). Raises the error of the
   * item's task, then goes on with the next item; raises the input's own error (a
   * throwing iterable) after the results of the items before it, and then ends.
   */
  next(): SwitchOp<boolean> {
    return lazy(MAP_NEXT, this as MapIterator<unknown, unknown>, undefined, undefined);
  }

  /** @internal Performs {@link MapIterator.next}. */
  performNext(): Performed<boolean> {
    const outcome = this.#take();
    if (outcome !== NOTHING) {
      if (!outcome.ok) throw outcome.value;
      return immediate(this.#show(outcome.value as IteratorResult<R, undefined>));
    }
    const task = currentTask('imap().next()');
    return this.#await(task);
  }

  #show(result: IteratorResult<R, undefined>): boolean {
    this.value = result.value as R;
    return result.done !== true;
  }

  *#await(task: Schedulable): GreenletBody<boolean> {
    try {
      return this.#show(yield* this.#consumers.park<IteratorResult<R, undefined>>(task));
    } catch (error) {
      // The consumer is being killed: nobody will read the rest (gevent#1215).
      if (error instanceof GreenletExit) this.close();
      throw error;
    }
  }

  /**
   * Call `fn(result)` for every result, in this iterator's order, then close it (also
   * when `fn` or a result raises). If `fn` is a generator function, each call runs to
   * its end before the next result is read.
   *
   * ```ts
   * yield* pool.imapUnordered(fetchPage, urls).forEach((page) => save(page));
   * ```
   */
  forEach(fn: (result: R) => unknown): SwitchOp<void> {
    return lazy(MAP_FOR_EACH, this as MapIterator<unknown, unknown>, fn as (result: unknown) => unknown, undefined);
  }

  /** @internal Performs {@link MapIterator.forEach}. */
  *performForEach(fn: (result: R) => unknown): GreenletBody<void> {
    try {
      while (yield* this.performNext()) {
        const r = fn(this.value);
        if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
      }
    } finally {
      this.close();
    }
  }

  /**
   * Read every remaining result into an array, in this iterator's order. If a result is
   * an error (or the caller is killed), close the iterator, wait until its tasks have
   * ended, and raise.
   */
  toArray(): SwitchOp<R[]> {
    return lazy(MAP_TO_ARRAY, this as MapIterator<unknown, unknown>, undefined, undefined) as SwitchOp<R[]>;
  }

  /** @internal Performs {@link MapIterator.toArray}. */
  *performToArray(): GreenletBody<R[]> {
    const results: R[] = [];
    try {
      while (yield* this.performNext()) results.push(this.value);
      return results;
    } finally {
      this.close();
      const task = currentTask('imap().toArray()');
      while (!this.#settled()) yield* this.#settling.park(task);
    }
  }

  /**
   * Stop: read no more items, kill the tasks still running (without waiting for them),
   * drop the results not read, and end the iteration (a task waiting in `next()` gets
   * `{ done: true }`). Safe to call more than once.
   */
  close(): void {
    this.#finished = true;
    this.#inOrder.clear();
    this.#byEnd.length = 0;
    this.#cancelRest();
    this.#deliver();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `<MapIterator ${this.#label}: ${this.#running.size} running, ${this.#spawned - this.#delivered - this.#running.size} ready>`;
  }

  // --- the spawner ---

  *#spawnAll(): GreenletBody<void> {
    const items = this.#items as Iterator<T>;
    let exhausted = false;
    try {
      for (;;) {
        while (this.#spawned - this.#delivered >= this.#maxsize && !this.#finished) {
          yield* this.#window.park(currentTask('imap spawner'));
        }
        if (this.#finished) break;
        const step = items.next();
        if (step.done === true) {
          exhausted = true;
          break;
        }
        const task = yield* this.#set[ADMIT](this.#fn, [step.value]);
        if (this.#finished) {
          task.kill(undefined, { block: false });
          break;
        }
        this.#running.set(task, this.#spawned++);
        task.rawlink(this.#onChildEnd);
      }
    } catch (error) {
      if (!(error instanceof GreenletExit)) this.#spawnError = error;
    } finally {
      this.#items = null;
      // Let a generator given as input run its `finally` blocks.
      if (!exhausted && typeof items.return === 'function') {
        try {
          items.return();
        } catch (error) {
          if (this.#spawnError === NOTHING) this.#spawnError = error;
        }
      }
    }
  }

  #spawnerEnd(): void {
    this.#spawnerEnded = true;
    if (this.#spawnError !== NOTHING && this.#failFast && this.#failure === NOTHING && !this.#finished) {
      this.#failure = this.#spawnError;
      this.#cancelRest();
    }
    this.#deliver();
    this.#wakeSettled();
  }

  // --- results ---

  #childEnded(task: Task): void {
    const index = this.#running.get(task);
    if (index === undefined) return;
    this.#running.delete(task);
    if (!this.#finished && this.#failure === NOTHING) {
      const ok = task.successful();
      const outcome: Outcome = { ok, value: ok ? task.value : task.exception };
      if (!ok && this.#failFast) {
        this.#failure = outcome.value;
        this.#cancelRest();
      } else if (this.#ordered) {
        this.#inOrder.set(index, outcome);
      } else {
        this.#byEnd.push(outcome);
      }
      this.#deliver();
    } else if (!task.successful()) {
      // Its result will never be read (the iteration was closed, or failed fast), and it
      // failed anyway (its finally threw as it was killed): do not drop that error.
      getHub().report({ kind: 'task-error', task: task as unknown as Schedulable, error: task.exception });
    }
    this.#wakeSettled();
  }

  /**
   * The next thing to deliver, or NOTHING: a value as an IteratorResult, or an error.
   * Taking a result frees a place in the window, and wakes the spawner if it waits.
   */
  #take(): Outcome | typeof NOTHING {
    if (this.#finished) return { ok: true, value: DONE };
    if (this.#failure !== NOTHING) {
      this.#finished = true;
      return { ok: false, value: this.#failure };
    }
    let outcome: Outcome | undefined;
    if (this.#ordered) {
      outcome = this.#inOrder.get(this.#nextIndex);
      if (outcome !== undefined) {
        this.#inOrder.delete(this.#nextIndex);
        this.#nextIndex++;
      }
    } else {
      outcome = this.#byEnd.shift();
    }
    if (outcome !== undefined) {
      this.#delivered++;
      if (this.#window.length !== 0 && this.#spawned - this.#delivered < this.#maxsize) {
        wake(this.#window.shift() as Schedulable, undefined);
      }
      return outcome.ok ? { ok: true, value: { done: false, value: outcome.value } } : outcome;
    }
    if (this.#spawnerEnded && this.#delivered === this.#spawned) {
      this.#finished = true;
      if (this.#spawnError !== NOTHING) return { ok: false, value: this.#spawnError };
      return { ok: true, value: DONE };
    }
    return NOTHING;
  }

  /** Hand whatever can be delivered to the parked consumers, first come first served. */
  #deliver(): void {
    while (this.#consumers.length !== 0) {
      const outcome = this.#take();
      if (outcome === NOTHING) return;
      const consumer = this.#consumers.shift() as Schedulable;
      if (outcome.ok) wake(consumer, outcome.value);
      else wakeThrow(consumer, outcome.value);
    }
  }

  /** Stop the spawner and kill the running children, without waiting. */
  #cancelRest(): void {
    if (!this.#spawnerEnded) this.#spawner.kill(undefined, { block: false });
    for (const task of [...this.#running.keys()]) task.kill(undefined, { block: false });
  }

  #settled(): boolean {
    return this.#spawnerEnded && this.#running.size === 0;
  }

  #wakeSettled(): void {
    if (this.#settling.length !== 0 && this.#settled()) this.#settling.wakeAll(undefined);
  }
}

/** A completed operation that allocates nothing: what a kill that does not wait returns. */
const DONE_OP: SwitchOp<void> = Object.freeze({ [Symbol.iterator]: () => immediate(undefined) });

const WAIT_AVAILABLE = blockingOperation<TaskSet, number | undefined, undefined, number>(
  'pool.waitAvailable()',
  (set, timeout) => set.performWaitAvailable(timeout),
  (set) => `${operand(set)}.waitAvailable()`,
);
const SET_JOIN = blockingOperation<TaskSet, number | undefined, boolean, boolean>(
  'group.join()',
  (set, timeout, raiseError) => set.performJoin(timeout, raiseError),
  (set) => `${operand(set)}.join()`,
);
const SET_KILL = new Operation<TaskSet, KillOptions, undefined, void>(
  'group.kill()',
  (set, opts) => set.performKill(opts),
  (set, opts) => set.killOutside(opts),
  (set) => `${operand(set)}.kill()`,
);
const SET_KILLONE = new Operation<TaskSet, Task, KillOptions, void>(
  'group.killone()',
  (set, task, opts) => set.performKillone(task, opts),
  (set, task, opts) => {
    set.killone(task, { error: opts.error, block: false });
    return DONE_OP;
  },
  (set) => `${operand(set)}.killone()`,
);
const SET_APPLY = blockingOperation<TaskSet, TaskFunction<unknown[], unknown>, unknown[], unknown>(
  'group.apply()',
  (set, fn, args) => set.performApply(fn, args),
  (set) => `${operand(set)}.apply()`,
);
const SET_MAP = blockingOperation<TaskSet, TaskFunction<[unknown], unknown>, Iterable<unknown>, unknown[]>(
  'group.map()',
  (set, fn, items) => new MapIterator<unknown, unknown>(set, fn, items, true, true, undefined).performToArray(),
  (set) => `${operand(set)}.map()`,
);
const MAP_NEXT = blockingOperation<MapIterator<unknown, unknown>, undefined, undefined, boolean>('imap().next()', (it) =>
  it.performNext(),
);
const MAP_FOR_EACH = blockingOperation<MapIterator<unknown, unknown>, (result: unknown) => unknown, undefined, void>(
  'imap().forEach()',
  (it, fn) => it.performForEach(fn),
);
const MAP_TO_ARRAY = blockingOperation<MapIterator<unknown, unknown>, undefined, undefined, unknown[]>('imap().toArray()', (it) =>
  it.performToArray(),
);

/** How messages name a set: `group`, `pool`. */
function operand(set: TaskSet): string {
  const kind = set.constructor.name || 'Group';
  return kind.charAt(0).toLowerCase() + kind.slice(1);
}
