/**
 * `scope()` and `Scope`: structured concurrency, beyond gevent (Trio's nurseries,
 * effection's scopes). Tasks spawned through a scope never outlive it.
 *
 * Two forms:
 * - `yield* scope(function* (s) { ... })` runs the body in the current task (the
 *   *owner*). When the body ends, however it ends, the children still running are killed
 *   and the scope *waits* until every one of them has ended (their `finally` blocks have
 *   run) before it returns the body's value or raises.
 * - `using s = new Scope()` ties the children to a block. `[Symbol.dispose]` is
 *   synchronous, so at the end of the block it can only *kill* the children, not wait
 *   for them: their `finally` blocks run soon after, in their own tasks.
 *
 * Failure. The first child that fails (ends with an error other than `GreenletExit`)
 * cancels the scope: its siblings are killed and the owner is interrupted wherever it is
 * blocked. With `scope()` the body is interrupted with a `GreenletExit` of the scope's
 * own (let it through: `if (isGreenletExit(e)) throw e`), and the scope raises the
 * child's error once every child has ended. With `using` there is no exit point that
 * could translate a cancellation, so the owner is interrupted with the child's error
 * itself; if the owner never blocked again, `[Symbol.dispose]` raises it. Later failures
 * (a sibling whose `finally` throws while it is killed) cannot propagate too: they go to
 * the hub's reporter, as errors nobody waited for.
 *
 * Invariants:
 * - `children` holds exactly the tasks spawned here that have not ended, each with one
 *   rawlink of this scope;
 * - only an OPEN scope spawns; a scope is OPEN while its body (or `using` block) runs,
 *   EXITING while `scope()` waits for the children, CLOSED after;
 * - `waiters` is non-empty only while `children` is: removing the last child wakes them;
 * - the owner is interrupted at most once by the scope, and only while OPEN; a
 *   cancellation that has not struck when the body ends is withdrawn.
 *
 * @module
 */
import { call } from '../core/call.js';
import { GreenletError, GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { getCurrentGreenlet, immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { STATUS, blockingOperation, clearInterrupt, currentTask, getHub, interrupt, type Schedulable } from '../hub/hub.js';
import { Task } from '../hub/task.js';
import { WaitList, type TaskFunction } from './group.js';

/** Raised by `spawn()` on a scope that has exited (or is exiting). */
export class ScopeClosed extends Error {
  static {
    this.prototype.name = 'ScopeClosed';
  }
}

const OPEN = 0;
const EXITING = 1;
const CLOSED = 2;

const NOTHING: unique symbol = Symbol('nothing');

/** Set in the static block of Scope: the body of `scope()`, with access to its privates. */
let runScope: <R>(body: (s: Scope) => GreenletBody<R> | R) => GreenletBody<R>;

/**
 * Run `body(s)` in the current task with a fresh {@link Scope} `s`; children spawned
 * with `s.spawn()` never outlive the call. When the body ends (returns, raises, or is
 * killed), the children still running are killed, and the call waits until all have
 * ended before it evaluates to the body's value or raises. If a child fails, its
 * siblings are killed, the body is interrupted, and that error comes out of the scope.
 *
 * ```ts
 * const [user, orders] = yield* scope(function* (s) {
 *   const u = s.spawn(fetchUser, id);
 *   const o = s.spawn(fetchOrders, id);   // if either fails, the other is killed
 *   return [yield* u.get(), yield* o.get()];
 * });
 *
 * yield* scope(function* (s) {
 *   s.spawn(heartbeat, conn);             // runs as long as the body does
 *   yield* serve(conn);
 * });                                     // heartbeat killed and awaited here
 * ```
 *
 * To wait for background children instead of killing them, end the body with
 * `yield* s.join()`. Scopes nest; a kill of the task running a scope kills the
 * scope's children first.
 */
export function scope<R>(body: (s: Scope) => GreenletBody<R> | R): SwitchOp<R> {
  return lazy(SCOPE, body as (s: Scope) => unknown, undefined, undefined) as SwitchOp<R>;
}

const SCOPE = blockingOperation<(s: Scope) => unknown, undefined, undefined, unknown>('scope()', (body) => runScope(body));

/**
 * The children of a {@link scope}, or of a block: `using s = new Scope()`. Spawn
 * children with `s.spawn(fn, ...args)`.
 *
 * ```ts
 * function* handle(conn: Connection) {
 *   using s = new Scope();
 *   s.spawn(heartbeat, conn);
 *   yield* serve(conn);
 * } // heartbeat is killed here (not awaited: dispose cannot block; prefer scope())
 * ```
 */
export class Scope implements Disposable, Iterable<Task> {
  readonly #children = new Set<Task>();
  /** The task whose body the scope belongs to (null if made in plain code). */
  readonly #owner: Schedulable | null;
  /** Opened by scope(): cancel the body with `#cancel`, and wait at the exit. */
  #structured = false;
  #state = OPEN;
  #failure: unknown = NOTHING;
  #failedTask: Task | null = null;
  #failedWhileOpen = false;
  #cancel: GreenletExit | null = null;
  readonly #waiters = new WaitList(() => `${this.toString()} ${this.#state === OPEN ? 'join()' : 'exit'}`);
  readonly #onChildEnd = (task: Task): void => {
    this.#childEnded(task);
  };

  /**
   * A scope for a `using` block, owned by the task running now (if any): a child's
   * failure is raised in that task.
   */
  constructor() {
    const g = getCurrentGreenlet() as Partial<Schedulable>;
    this.#owner = g[STATUS] !== undefined ? (g as Schedulable) : null;
  }

  /** How many children are running. */
  get size(): number {
    return this.#children.size;
  }

  /** Whether `task` is a running child of this scope. */
  has(task: Task): boolean {
    return this.#children.has(task);
  }

  /** The running children, in the order they were spawned. */
  [Symbol.iterator](): IterableIterator<Task> {
    return this.#children.values();
  }

  /** How many tasks are parked in `join()` (or in the exit of `scope()`). */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether the scope still accepts children. */
  get open(): boolean {
    return this.#state === OPEN;
  }

  /**
   * Create a child running `fn(...args)` and start it. Works from any task (a child may
   * spawn siblings) and from plain code, while the scope is open; raises
   * {@link ScopeClosed} after.
   */
  spawn<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: A): Task<R, A> {
    if (this.#state !== OPEN) {
      throw new ScopeClosed(
        `${this.toString()} has ${this.#state === EXITING ? 'begun to exit' : 'exited'}: its children are ` +
          'being killed, so it takes no new ones. Spawn from inside the scope while it runs, or into an outer scope',
      );
    }
    const task = new Task<R, A>(fn, ...args);
    this.#children.add(task);
    task.rawlink(this.#onChildEnd);
    return task.start();
  }

  /**
   * Wait until no child is running (children spawned meanwhile included). If a child
   * fails, the owner is interrupted here like anywhere else.
   */
  join(): SwitchOp<void> {
    return lazy(SCOPE_JOIN, this, undefined, undefined);
  }

  /** @internal Performs {@link Scope.join}. */
  performJoin(): Performed<void> {
    if (this.#children.size === 0) return immediate(undefined);
    const task = currentTask('scope.join()');
    if (this.#children.has(task as unknown as Task)) {
      throw new GreenletError(
        `${task.name} cannot wait for its own scope's children to end: it is one of them. Join from the body of the scope`,
      );
    }
    return this.#waiters.park(task);
  }

  /**
   * End of a `using` block: kill the children still running, without waiting (a
   * dispose cannot block). Raises the first child's failure if it was never raised in
   * the owner. Does nothing the second time.
   */
  [Symbol.dispose](): void {
    if (this.#structured) {
      throw new GreenletError(
        'a scope opened with scope() closes when its function returns: do not dispose it (or write `using s = new Scope()` for a block)',
      );
    }
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    for (const child of [...this.#children]) child.kill(undefined, { block: false });
    const failure = this.#failure;
    if (failure === NOTHING || !this.#failedWhileOpen) return;
    const owner = this.#owner;
    // Never raised: the owner did not block again before leaving the block.
    if (owner === null || clearInterrupt(owner, failure)) throw failure;
  }

  toString(): string {
    const owner = this.#owner === null ? '' : ` of ${this.#owner.name}`;
    return `Scope${owner}(${this.#children.size} running)`;
  }

  #childEnded(task: Task): void {
    if (!this.#children.delete(task)) return;
    if (!task.successful()) {
      const error = task.exception;
      if (this.#failure === NOTHING && this.#state !== CLOSED) {
        this.#failure = error;
        this.#failedTask = task;
        this.#failedWhileOpen = this.#state === OPEN;
        this.#cancelAll(task);
      } else {
        getHub().report({ kind: 'task-error', task: task as unknown as Schedulable, error });
      }
    }
    if (this.#children.size === 0 && this.#waiters.length !== 0) this.#waiters.wakeAll(undefined);
  }

  /** The first failure: kill the siblings and interrupt the owner's body. */
  #cancelAll(failed: Task): void {
    for (const child of [...this.#children]) child.kill(undefined, { block: false });
    const owner = this.#owner;
    if (this.#state !== OPEN || owner === null) return;
    if (this.#structured) {
      this.#cancel = new GreenletExit(`scope cancelled: its child ${failed.name} failed`);
      interrupt(owner, this.#cancel);
    } else {
      interrupt(owner, this.#failure);
    }
  }

  /** Which error leaves scope(), if any, once every child has ended. */
  #outcome(error: unknown, interruption: unknown): unknown {
    const failure = this.#failure;
    let thrown: unknown = NOTHING;
    if (interruption !== NOTHING) thrown = interruption;
    else if (error !== NOTHING && error !== this.#cancel && (error instanceof GreenletExit || !this.#failedWhileOpen)) {
      // The body failed first, or the owner is being killed from outside.
      thrown = error;
    } else if (failure !== NOTHING) thrown = failure;
    else thrown = error;
    const hub = getHub();
    if (failure !== NOTHING && thrown !== failure) {
      hub.report({ kind: 'task-error', task: this.#failedTask as unknown as Schedulable, error: failure });
    }
    if (error !== NOTHING && error !== thrown && error !== this.#cancel && !(error instanceof GreenletExit)) {
      hub.report({ kind: 'callback-error', where: `the body of ${this.toString()}, replaced by a child's failure`, error });
    }
    return thrown;
  }

  static {
    runScope = function* runScope<R>(body: (s: Scope) => GreenletBody<R> | R): GreenletBody<R> {
      const owner = currentTask('scope()');
      const s = new Scope();
      s.#structured = true;
      let result: R | undefined;
      let error: unknown = NOTHING;
      try {
        result = (yield* call(body, s)) as R;
      } catch (e) {
        error = e;
      }
      s.#state = EXITING;
      // A cancellation that did not strike (the body ended without blocking again).
      if (s.#cancel !== null) clearInterrupt(owner, s.#cancel);
      for (const child of [...s.#children]) child.kill(undefined, { block: false });
      let interruption: unknown = NOTHING;
      while (s.#children.size !== 0) {
        try {
          yield* s.#waiters.park(owner);
        } catch (e) {
          // Killed (or timed out) while waiting: pass it on to the children, keep waiting
          // for them, and raise it once they have ended.
          if (e === s.#cancel) continue;
          if (interruption === NOTHING) interruption = e;
          for (const child of [...s.#children]) child.kill(undefined, { block: false });
        }
      }
      s.#state = CLOSED;
      const thrown = s.#outcome(error, interruption);
      if (thrown !== NOTHING) throw thrown;
      return result as R;
    };
  }
}

const SCOPE_JOIN = blockingOperation<Scope, undefined, undefined, void>('scope.join()', (s) => s.performJoin());
