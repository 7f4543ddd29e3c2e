/**
 * `waitFor`: a task waits for a promise, the bridge from promise-based code into tasks
 * (the other way, a task is awaitable: `await task`). With an operation instead of a
 * promise, `waitFor((signal) => fetch(url, { signal }))`, the operation gets an
 * AbortSignal that aborts when the task leaves the wait early, so killing the task or a
 * Timeout really cancels the request.
 *
 * How a wait works. The waiting task parks on a {@link PromiseWait}; the promise's
 * reactions, attached at once, wake it from a microtask with the value (or raise the
 * rejection). Waits on a promise whose reactions are attached and have not run yet join
 * their list instead of attaching their own, so tasks that wait on one promise share one
 * pair of reactions, woken in the order they began to wait (see {@link listen}). A kill
 * or Timeout makes the hub call `unpark`, which detaches the task; the
 * operation's signal is aborted when the task resumes with that error, so the reason is
 * the very error that ended the wait.
 *
 * Invariants:
 * - `wait.task` is non-null exactly while the task is parked on the wait and nobody has
 *   woken it; the promise's reactions wake it only then, so a promise that settles after
 *   the task left (killed, timed out) never wakes it, wherever it is now.
 * - Both reactions are attached before the task parks: no rejection is ever unhandled,
 *   including that of a promise whose waiter was killed (its outcome is dropped), and the
 *   wait holds no reference to the task once it has left, so a promise that never settles
 *   keeps nothing alive but the small wait record.
 * - `lastList` is set only while its promise's reactions have not run: a wait that joins
 *   it is woken by them.
 * - The signal is aborted if and only if the task left the wait before the promise
 *   settled, with the error it left with.
 *
 * Coming from gevent: gevent has no promises. The name is asyncio's `wait_for(aw,
 * timeout)`, which does the same; `wait` is taken by gevent's `wait(objects)` (hub), and
 * `await` is a keyword.
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import { Operation, lazy, operationReused } from '../core/operation.js';
import { REQ_IDLE, REQ_OP_PENDING, SWITCHER, immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import {
  HOST_WAIT,
  blockingOperation,
  INTERRUPT,
  NO_INTERRUPT,
  currentTask,
  park,
  wakeFromHost,
  type Parking,
  type Schedulable,
} from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { AbortError } from './abort.js';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /**
   * Give up after this many milliseconds: raise a {@link Timeout} in the task (and abort
   * the operation's signal with it).
   */
  timeout?: number;
}

/** An operation that takes an AbortSignal: `(signal) => fetch(url, { signal })`. */
export type AbortableOperation<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * A task parked on a promise, in the list of the waits on that promise (see
 * {@link listen}). Besides this record the first wait on a promise allocates only the
 * list, the two reactions (closures over the list) and what `then` makes of them; the
 * next ones nothing.
 */
class PromiseWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT): a data property of the prototype, read at every wake. */
  declare readonly [HOST_WAIT]: boolean;

  /** The parked task; null once it was woken or has left. */
  task: Schedulable | null;
  /** The next wait on the same promise (see {@link listen}). */
  next: PromiseWait | null = null;

  constructor(task: Schedulable) {
    this.task = task;
  }

  /** The hub: the task leaves (killed, Timeout, or the `timeout` option). */
  unpark(): void {
    this.task = null;
  }

  toString(): string {
    return 'waitFor(promise)';
  }
}
Object.defineProperty(PromiseWait.prototype, HOST_WAIT, { value: true });

/** The wait of the operation form, `waitFor((signal) => ...)`: it can cancel the operation. */
class OperationWait extends PromiseWait {
  /** The promise settled while the task waited, and woke it. */
  settled = false;

  constructor(
    task: Schedulable,
    readonly controller: AbortController,
    readonly label: string,
  ) {
    super(task);
  }

  /** The task left before the promise settled: cancel the operation. */
  abandon(reason: unknown): void {
    const controller = this.controller;
    if (!controller.signal.aborted) controller.abort(reason);
  }

  override toString(): string {
    return `waitFor(${this.label})`;
  }
}

/** Nothing to forget: used when a pending kill strikes before the operation starts. */
const NOT_STARTED: Parking = {
  unpark() {},
  toString: () => 'waitFor(not started)',
};

const NO_REASON: unique symbol = Symbol('no reason');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Wait in the current task for a promise: `yield* waitFor(promise)` evaluates to its
 * value, or raises its rejection. Any other value is returned as it is, like `await`.
 *
 * Given an operation instead, `waitFor((signal) => ...)` calls it with an `AbortSignal`
 * and waits for what it returns. The signal is aborted, with the error as `reason`, if
 * the task is killed or a {@link Timeout} strikes while it waits, so the operation really
 * stops:
 *
 * ```ts
 * const response = yield* waitFor((signal) => fetch(url, { signal }), { timeout: 5000 });
 * // Read the body under the same signal: an async function as the operation.
 * const text = yield* waitFor(async (signal) => (await fetch(url, { signal })).text());
 * ```
 *
 * A promise that settles after the task left the wait wakes nothing and is dropped; its
 * rejection never becomes an unhandled rejection. The signal is not aborted when the
 * promise settles normally (a fetch body read later still needs it).
 *
 * @param options - `timeout`: give up after this many milliseconds with a {@link Timeout}.
 * @throws BlockingError when called outside a task (in async code, use `await`).
 */
export function waitFor<T>(operation: AbortableOperation<T>, options?: WaitForOptions): SwitchOp<Awaited<T>>;
export function waitFor<T>(promise: T | PromiseLike<T>, options?: WaitForOptions): SwitchOp<Awaited<T>>;
export function waitFor(awaited: unknown, options?: WaitForOptions): SwitchOp<unknown> {
  return lazy(WAIT_FOR, awaited, options, undefined);
}

// Module-local copies of the switcher's slot and states, for WAIT_FOR's own iterator below.
const S = SWITCHER;
const IDLE = REQ_IDLE;
const OP_PENDING = REQ_OP_PENDING;

const WAIT_FOR = blockingOperation<unknown, WaitForOptions | undefined, undefined, unknown>(
  'waitFor()',
  performWaitFor,
  null,
  // A hot kind (see Operation's [Symbol.iterator]): its iterator calls performWaitFor
  // directly instead of through the generic call every kind shares.
  class extends Operation<unknown, WaitForOptions | undefined, undefined, unknown> {
    override [Symbol.iterator](): Performed<unknown> {
      if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return operationReused();
      const awaited = S.opSelf;
      const options = S.opA as WaitForOptions | undefined;
      S.reqState = IDLE;
      S.op = null;
      S.opSelf = S.opA = undefined;
      return performWaitFor(awaited, options) as Performed<unknown>;
    }
  },
);

function performWaitFor(awaited: unknown, options: WaitForOptions | undefined): Performed<unknown> {
  const task = currentTask('waitFor()');
  const timeout = options?.timeout;
  if (typeof awaited === 'function' && !isThenable(awaited)) {
    // A kill already pending (the task was killed while it ran): do not start the
    // operation only to cancel it; the kill strikes at this wait.
    if (task[INTERRUPT] !== NO_INTERRUPT) return park(task, NOT_STARTED);
    const controller = new AbortController();
    const operation = awaited as AbortableOperation<unknown>;
    const promise = operation(controller.signal);
    if (!isThenable(promise)) return immediate(promise);
    const wait = new OperationWait(task, controller, operation.name === '' ? 'operation' : operation.name);
    listenAbortable(promise, wait);
    return parkAbortable(task, wait, timeout);
  }
  if (!isThenable(awaited)) return immediate(awaited);
  const wait = new PromiseWait(task);
  listen(awaited, wait);
  return timeout === undefined ? park(task, wait) : park(task, wait, timeout, new Timeout(timeout), true);
}

/**
 * The waits on one native promise whose reactions have not run yet, in the order they
 * began: the reactions wake them all. The list, not each wait, holds the last one, so that
 * a wait joins it with stores into records as young as itself (a store of a young object
 * into a long-lived one, such as the module's own variables, costs a write barrier, ~50
 * instructions: the module's variable is written once per list).
 */
class WaitList {
  tail: PromiseWait;
  constructor(
    readonly promise: Promise<unknown>,
    readonly head: PromiseWait,
  ) {
    this.tail = head;
  }
}

/**
 * The list of the native promise the latest wait attached reactions to, until they run.
 * A task that waits on the same promise joins that list instead of attaching reactions of
 * its own: many tasks waiting on one promise (a fan-out) cost one pair of reactions, and
 * each a record. Held until the reactions run, or until a wait on another promise takes
 * the place.
 */
let lastList: WaitList | null = null;

/**
 * Attach the promise's reactions: both in one `then` (a rejection must reach the task
 * too), closures over a list that later waits on the same promise join (see
 * {@link lastList}). They wake every task of the list that still waits there, in the
 * order the tasks began to wait, as reactions of their own would have.
 */
function listen(awaited: PromiseLike<unknown>, wait: PromiseWait): void {
  const last = lastList;
  if (last !== null && awaited === last.promise) {
    last.tail.next = wait;
    last.tail = wait;
    return;
  }
  // Promise.resolve adopts foreign thenables and turns a `then` that throws into a
  // rejection (a new promise each time: those never share a list); for a native promise
  // it is the promise itself.
  const promise = Promise.resolve(awaited);
  const list = new WaitList(promise, wait);
  lastList = list;
  promise.then(
    (value) => wakeList(list, false, value),
    (error) => wakeList(list, true, error),
  );
}

/**
 * The reactions of {@link listen}: wake every task of `list` that still waits there, with
 * the promise's value or (`throws`) its rejection. A waiter that left drops it: a
 * rejection is handled, and dropped.
 */
function wakeList(list: WaitList, throws: boolean, outcome: unknown): void {
  if (lastList === list) lastList = null;
  for (let w: PromiseWait | null = list.head; w !== null; w = w.next) {
    const task = w.task;
    if (task === null) continue; // the waiter left
    w.task = null;
    wakeFromHost(task, throws, outcome);
  }
}

/** {@link listen} for the operation form: a settlement that wakes the task marks the wait settled. */
function listenAbortable(promise: PromiseLike<unknown>, wait: OperationWait): void {
  Promise.resolve(promise).then(
    (value) => settleAbortable(wait, false, value),
    (error) => settleAbortable(wait, true, error),
  );
}

/** The settlement reached an abortable wait: wake its task, unless it left. */
function settleAbortable(wait: OperationWait, throws: boolean, outcome: unknown): void {
  const task = wait.task;
  if (task === null) return;
  wait.task = null;
  wait.settled = true;
  wakeFromHost(task, throws, outcome);
}

/** Park on `wait`, and abort its signal with whatever makes the task leave early. */
function* parkAbortable(task: Schedulable, wait: OperationWait, timeout: number | undefined): GreenletBody<unknown> {
  let reason: unknown = NO_REASON;
  try {
    return yield* (timeout === undefined
      ? park(task, wait)
      : park(task, wait, timeout, new Timeout(timeout), true));
  } catch (error) {
    reason = error;
    throw error;
  } finally {
    if (!wait.settled) {
      wait.task = null;
      wait.abandon(reason === NO_REASON ? new AbortError(`the task left ${String(wait)}`) : reason);
    }
  }
}
