/**
 * `Operation`: how every blocking call of every layer is made and performed. The public
 * protocol for a new kind of operation (a new primitive, a client library's request).
 *
 * The rule: **making an operation has no effect; `yield*` performs it.** A method such as
 * `queue.get(timeout)` does not touch the queue; it returns `lazy(QUEUE_GET, this,
 * timeout, undefined)`, which records the operation and its operands in the switcher's
 * one pending-operation slot. The `yield*` that consumes it empties the slot and calls
 * `perform(self, a, b)`, which does the work and returns the iterator `yield*` then drives:
 * a ready value (`immediate(v)`), a park (the hub's `park()`), or a generator. An
 * operation made and dropped changes nothing and is reported, by name, as a
 * {@link MissingYieldError} at the greenlet's next operation, switch or end.
 *
 * ```ts
 * const RECV = new Operation<Mailbox, number | undefined, undefined, string>(
 *   'mailbox.recv()',
 *   (box, timeout) => box.performRecv(timeout),
 * );
 * class Mailbox {
 *   recv(timeout?: number): SwitchOp<string> {
 *     return lazy(RECV, this, timeout, undefined);
 *   }
 * }
 * ```
 *
 * Invariants kept by every operation of the library:
 * - the method that makes it reads its arguments and nothing else: every check that
 *   depends on state (is the item there, is the task dead) happens in `perform`;
 * - `perform` runs in the greenlet that made the operation, at its `yield*`, and may
 *   raise there (a bad argument, `Empty`, `ShutDown`);
 * - library code never makes a public operation without `yield*` (from a callback, say):
 *   it calls the function behind it.
 *
 * @module
 */
import { GreenletError } from './errors.js';
import {
  LAZY_OP,
  REQ_IDLE,
  REQ_OP_PENDING,
  REQ_REQUESTED,
  SWITCHER,
  forgottenOperation,
  performedTwice,
  refuseRequest,
  type SwitchOp,
  type SwitchSignal,
} from './switcher.js';

// Module-local copies: V8 reads an imported binding through a cell on every use, and these
// are read on every operation.
const S = SWITCHER;
const IDLE = REQ_IDLE;
const REQUESTED = REQ_REQUESTED;
const OP_PENDING = REQ_OP_PENDING;

export { callOutside } from './switcher.js';

/** Where an operation was made that no `yield*` can perform. */
export type Outside = 'main' | 'callback';

/**
 * A kind of operation: its name for messages (how users write it, e.g. `'queue.get()'`),
 * what performing it does, and what making it does where nothing can `yield*` (the main
 * greenlet, a callback): by default a {@link GreenletError} that says to run the code in
 * a greenlet.
 *
 * @typeParam Self - what the operation works on (the queue, the task).
 * @typeParam A - its first operand; `B` its second (use an array or object for more).
 * @typeParam R - what `yield*` evaluates to.
 */
export class Operation<Self, A = undefined, B = undefined, R = unknown> implements SwitchOp<R> {
  declare readonly [LAZY_OP]: true;

  constructor(
    /** How users write it, for messages: `'queue.get()'`. */
    readonly name: string,
    /**
     * Do it: returns the iterator that `yield*` drives (its return value is the result):
     * `immediate(value)`, the hub's `park(...)`, a generator. Never an operation made with
     * {@link lazy}: to do what another operation does, call its perform.
     */
    readonly perform: (self: Self, a: A, b: B) => Iterator<SwitchSignal, R, unknown>,
    /**
     * Made where no `yield*` can follow: in the main greenlet (plain code, async
     * functions) or in a callback. Carry it out at once and return a completed operation,
     * or throw.
     */
    readonly outside: (self: Self, a: A, b: B, where: Outside) => SwitchOp<R> = refuseOutside(name),
    /** The name for messages when it depends on `self` (`'lock.acquire()'` for a Lock). */
    readonly label: ((self: Self) => string) | null = null,
  ) {}

  /** How users write this operation made on `self`, for messages. */
  describe(self: Self): string {
    return this.label === null ? this.name : this.label(self);
  }

  /**
   * Called by the `yield*` that consumes the operation (see {@link lazy}): empty the slot
   * and perform. Lives here, not in the switcher, so that a park made by a perform has
   * no switcher frame above the greenlet's own frames (the debug layer's wait sites stop
   * at the switcher).
   *
   * Every kind shares this method, so its call of `this.perform` sees every kind's
   * perform, and V8 makes it a generic call with nothing inlined behind it (measured with
   * callgrind: about 50 instructions per operation, 6 % of a channel round trip). A kind
   * on a hot path of the library overrides this method with a copy that calls its
   * perform method directly (channel.send(), queue.get(), ...): the same five steps, on
   * the switcher's slot (`SWITCHER` of core/switcher.ts). Calling a shared helper for
   * the steps gave most of the gain back.
   */
  [Symbol.iterator](): Iterator<SwitchSignal, R, unknown> {
    // Throws only in functions of their own, so that V8 inlines this method (see Port's).
    if (S.reqState !== OP_PENDING || S.op !== (this as unknown)) return opReused();
    const self = S.opSelf as Self;
    const a = S.opA as A;
    const b = S.opB as B;
    S.reqState = IDLE;
    S.op = null;
    S.opSelf = S.opA = S.opB = undefined;
    return this.perform(self, a, b);
  }

  /**
   * Never called by a correct program: `yield*` drives what `perform` returns, and a
   * perform that returned an operation (made with {@link lazy}) instead of performing it
   * lands here.
   */
  next(): never {
    throw new GreenletError(
      `the perform of ${this.name} returned an operation instead of performing it: call the function ` +
        'behind that operation (its perform) and return what it returns',
    );
  }
}

Object.defineProperty(Operation.prototype, LAZY_OP, { value: true });

/**
 * @internal Raises the error of an operation consumed twice, or by another greenlet: for
 * the `[Symbol.iterator]` of a hot kind (see {@link Operation}'s), which calls it as
 * `return operationReused()` so that it stays small enough to inline.
 */
export function operationReused(): never {
  throw performedTwice('an operation');
}

const opReused = operationReused;

function refuseOutside(name: string): (self: unknown, a: unknown, b: unknown, where: Outside) => never {
  return (_self, _a, _b, where) => {
    throw new GreenletError(
      `${name} was made in ${where === 'main' ? 'the main greenlet (plain code, callbacks, async functions)' : 'a callback'}, ` +
        `where nothing can perform it: run the code in a greenlet and write \`yield* ${name}\``,
    );
  };
}

/**
 * Make an operation: `queue.get(timeout)` is `lazy(QUEUE_GET, this, timeout, undefined)`.
 * It has no effect: it fills this thread's one pending-operation slot (its operands, four
 * fields of the switcher's state) and returns the operation object, whose
 * `[Symbol.iterator]()`, called by the `yield*` that consumes it, empties the slot and
 * performs it. So an operation made and dropped changes nothing, and the slot being full
 * when the next one is made, or a switch requested, or the greenlet ends, is exactly "a
 * `yield*` was forgotten": it is reported there, by name, as a {@link MissingYieldError}.
 * One slot suffices because a greenlet cannot switch away with the slot full (every
 * switch checks it), so the slot always belongs to the current greenlet.
 *
 * Where no `yield*` can follow (the main greenlet, a trace function, a callback run
 * through {@link callOutside}) the operation's `outside` decides: most refuse with a
 * named error, some (a kill that does not wait) are carried out at once.
 *
 * The hot path allocates nothing.
 */
export function lazy<Self, A, B, R>(op: Operation<Self, A, B, R>, self: Self, a: A, b: B): SwitchOp<R> {
  if (S.reqState === IDLE && S.cur.g !== S.main) {
    S.reqState = OP_PENDING;
    S.op = op as unknown as Operation<never, never, never, unknown>;
    S.opSelf = self;
    S.opA = a;
    S.opB = b;
    if (S.opSites) recordSite(op, self);
    return op;
  }
  return lazySlow(op, self, a, b);
}

/** While {@link recordOperationSites} is on: where the pending operation was made. Apart, so that `lazy` stays small. */
function recordSite<Self>(op: Operation<Self, never, never, unknown>, self: Self): void {
  S.opSite = new OperationSite(op.describe(self));
}

/**
 * Where an operation was made, recorded while {@link recordOperationSites} is on: the
 * `cause` of the {@link MissingYieldError} that reports the operation, with the stack of
 * the call that made it.
 */
class OperationSite extends Error {
  static {
    this.prototype.name = 'OperationSite';
  }
  constructor(name: string) {
    super(`${name} was made here`);
  }
}

/**
 * Record where each operation is made, so that a {@link MissingYieldError} can show the
 * line of the slip itself: its `cause` is an error whose stack is that of the call that
 * made the operation. Without it, the error's stack shows where the slip was found: the next
 * operation or switch of the same greenlet, or (for a slip at the end of a task) the
 * switcher. It captures a stack at every operation: turn it on while hunting a slip, or
 * in tests, not in production.
 *
 * ```ts
 * recordOperationSites();
 * // ... MissingYieldError: queue.get() was never performed: ... (its cause holds the line that made it)
 * //     [cause]: OperationSite: queue.get() was made here
 * //         at consumer (app.ts:12:7)
 * ```
 *
 * @param on - `false` turns recording off again.
 * @returns whether recording was on before.
 */
export function recordOperationSites(on = true): boolean {
  const was = S.opSites;
  S.opSites = on;
  if (!on) S.opSite = null;
  return was;
}

/** {@link lazy} when the slot is taken or nothing can perform: apart, so that `lazy` stays small. */
function lazySlow<Self, A, B, R>(op: Operation<Self, A, B, R>, self: Self, a: A, b: B): SwitchOp<R> {
  if (S.reqState === OP_PENDING) throw forgottenOperation();
  if (S.reqState === REQUESTED) throw refuseRequest(undefined);
  return op.outside(self, a, b, S.cur.g === S.main && S.reqState === IDLE ? 'main' : 'callback');
}
