/**
 * `select`: wait on several channel operations at once and perform exactly one, Go's
 * `select` statement. Cases are records made by {@link recvCase} and {@link sendCase};
 * the result is the case that fired, filled in, typed by its position.
 *
 * How it works, as Go's select.go: (1) poll every case; if some are ready, perform one
 * chosen uniformly at random among them (or the first in list order with
 * `order: 'listed'`) and evaluate to it without blocking; (2) otherwise, with `default`,
 * evaluate to {@link SELECT_NONE}; (3) otherwise register every case record with its
 * channel end and park the task. The first channel operation that matches one of the
 * records takes that record out of its queue and calls it: the record takes every other
 * record of the same select out of its queue, stores the value, and wakes the task with
 * itself. All of that happens before any other code runs, so a select can never fire
 * twice, nor take a value it does not deliver.
 *
 * What select asks of a channel end is a public protocol, {@link RecvSelectable} and
 * {@link SendSelectable} (below): a ready check, a commit, and registering and
 * unregistering a waiter. `Channel` implements both; the cross-thread ends of
 * `greenlet-ts/workers` and the NATS subscriptions and job receivers of
 * `greenlet-ts/nats` implement them too, so a new kind of channel end takes part in
 * `select` (and in the iterators built on the same protocol) by implementing it.
 *
 * Invariants:
 * - a case record is registered (with its channel end, `task !== null`) exactly while
 *   the select that owns it is parked; all records of one select are registered or none;
 * - a parked select is woken exactly once, by the record that fired, with that record
 *   (or with {@link SELECT_NONE} when its timeout passes, or by an error: a kill, an
 *   outer Timeout, or ChannelClosed for a send case), and by then none of its records is
 *   registered anywhere;
 * - the Parking of a parked select is its first case record, whose `unpark` (a kill, a
 *   timeout) releases every record of the select.
 *
 * Allocation: the case records only, and they may be reused by later selects (not by two
 * selects at once), which makes a select loop allocation-free.
 *
 * @module
 */
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, getHub, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import type { ChannelClosed } from './channel.js';

// --- the selectable protocol ---------------------------------------------------------------

/**
 * A waiter for a value that is not a plain parked task: a select receive case, a channel
 * iterator's `next()`, a pending step of `for await`. A receive end queues it with
 * {@link RecvSelectable.addReceiver} and, when a value comes (or the end), first takes it
 * out of its queue, then calls `received` once.
 */
export interface ReceiverWaiter<T> {
  /** Given a value (`ok` true), or told the end is closed and drained (`undefined`, false). */
  received(value: T | undefined, ok: boolean): void;
}

/**
 * A sender that is not a plain parked task: a select send case. A send end queues it with
 * {@link SendSelectable.addSender}; when a receiver takes its `value` (or the end closes),
 * the end first takes it out of its queue, then calls `sent()` (or `failed(error)`) once.
 */
export interface SenderWaiter<T> {
  /** The value it offers; read when it is taken. */
  readonly value: T;
  /** Its value was taken. */
  sent(): void;
  /** The end closed while it waited: the sender raises `error`. */
  failed(error: ChannelClosed): void;
}

/** Where a receive that is committed at once puts what it received. */
export interface RecvSlot<T> {
  value: T | undefined;
  /** False when the end is closed and drained (`value` is then undefined). */
  ok: boolean;
}

/**
 * The receive side of a channel end, as `select` (and iteration) uses it. Implemented by
 * `Channel`, `RemoteReceiver`, and the receive ends of `greenlet-ts/nats`; implement it
 * to make a new kind of receive end work with `recvCase()`.
 *
 * The protocol, in the order select uses it:
 * 1. **ready check**: `recvReady()` says whether a receive would complete now, with a
 *    value or with the end. It has no effect.
 * 2. **commit**: `recvNow(slot)`, called only right after `recvReady()` returned true
 *    (nothing ran in between), receives into `slot` at once: a value and `ok` true, or
 *    the end (`ok` false).
 * 3. **register**: `addReceiver(waiter)`, called only when `recvReady()` is false,
 *    queues the waiter behind the receivers already waiting. When a value comes, the end
 *    takes the first waiter out of its queue, then calls `waiter.received(value, true)`;
 *    when it closes, it does the same with `(undefined, false)` for every waiter. A waiter
 *    is called at most once and never after it was unregistered.
 * 4. **unregister**: `removeReceiver(waiter)` takes a waiter out (its select fired on
 *    another case, was killed, or timed out); false if it was not queued (it has been
 *    called already).
 *
 * Invariants an implementation keeps: a value is handed to exactly one receiver, never
 * lost between the check and the commit, and never given to a waiter that has left; a
 * closed end stays ready (it reports the end) once drained.
 */
export interface RecvSelectable<T> {
  /** Ready check: would a receive complete now (a value, or the end)? */
  recvReady(): boolean;
  /** Commit: receive now into `slot`; only right after `recvReady()` returned true. */
  recvNow(slot: RecvSlot<T>): void;
  /** Register a waiter; only while `recvReady()` is false. */
  addReceiver(waiter: ReceiverWaiter<T>): void;
  /** Unregister a waiter; false if it was not queued. */
  removeReceiver(waiter: ReceiverWaiter<T>): boolean;
  /** For reports: what the end is. */
  toString(): string;
  /**
   * @internal True when values come from the host (another thread, the network), so a
   * select waiting on the end waits on the host (see the hub's HOST_WAIT).
   */
  readonly [HOST_WAIT]?: boolean;
}

/**
 * The send side of a channel end, as `select` uses it. Implemented by `Channel` and
 * `RemoteSender`; implement it to make a new kind of send end work with `sendCase()`.
 *
 * 1. **ready check**: `sendReady()` says whether a send would complete now, or raise
 *    (a closed end is "ready": sending on it raises ChannelClosed). No effect.
 * 2. **commit**: `sendNow(value)`, only right after `sendReady()` returned true, sends at
 *    once, or raises `ChannelClosed` on a closed end.
 * 3. **register**: `addSender(waiter)`, only while `sendReady()` is false, queues the
 *    waiter behind the senders already waiting. When there is room, the end takes the
 *    first waiter out, sends `waiter.value` and calls `waiter.sent()`; when it closes, it
 *    takes every waiter out and calls `waiter.failed(error)`.
 * 4. **unregister**: `removeSender(waiter)`; false if it was not queued.
 */
export interface SendSelectable<T> {
  /** Ready check: would a send complete (or raise) now? */
  sendReady(): boolean;
  /** Commit: send now; only right after `sendReady()` returned true. Raises ChannelClosed if closed. */
  sendNow(value: T): void;
  /** Register a waiter; only while `sendReady()` is false. */
  addSender(waiter: SenderWaiter<T>): void;
  /** Unregister a waiter; false if it was not queued. */
  removeSender(waiter: SenderWaiter<T>): boolean;
  /** For reports: what the end is. */
  toString(): string;
  /** @internal True when room comes from the host (another thread's credits): see {@link RecvSelectable}. */
  readonly [HOST_WAIT]?: boolean;
}

/** A case of a select that is parked; `cases` is the array given to select. */
type Registered = { task: Schedulable; group: readonly CaseSlot[] };

/** An element of the cases array: a case, or `null` / `undefined` for a disabled one. */
export type CaseSlot = RecvCase<unknown> | SendCase<unknown> | null | undefined;

/**
 * A receive case of {@link select}: "receive from `channel`". Made by {@link recvCase}.
 * When it fires, `value` and `ok` hold what was received, as with
 * `Channel.recvOk()`: a value and `true`, or `undefined` and `false` if the channel is
 * closed and drained.
 */
export class RecvCase<T> implements ReceiverWaiter<T>, Parking {
  /** Tells receive cases from send cases. */
  readonly kind = 'recv' as const;
  /** Its position in the cases array of the select that fired it. */
  index = -1;
  /** The value received (undefined when `ok` is false). */
  value: T | undefined = undefined;
  /** false when the channel was closed and drained. */
  ok = false;
  /** @internal The task of the parked select that owns it. */ task: Schedulable | null = null;
  /** @internal The cases of that select. */ group: readonly CaseSlot[] | null = null;

  constructor(
    /** The channel end to receive from. */
    readonly channel: RecvSelectable<T>,
  ) {}

  /** @internal The channel gives it a value, or tells it the channel closed. */
  received(value: T | undefined, ok: boolean): void {
    const task = (this as RecvCase<T> & Registered).task;
    releaseGroup(this.group, this);
    this.value = value;
    this.ok = ok;
    wake(task, this);
  }

  /** @internal The parked select was killed or timed out. */
  unpark(): void {
    releaseGroup(this.group, null);
  }

  /** @internal Whether a channel of the select is fed by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return hostFed(this.group, this);
  }

  /** For reports: the whole select this case waits in. */
  toString(): string {
    return describeSelect(this.group, this);
  }
}

/**
 * A send case of {@link select}: "send `value` on `channel`". Made by
 * {@link sendCase}; set `value` before each select to reuse the record. When it fires,
 * the value was sent (`ok` is true). A send case chosen on a closed channel raises
 * `ChannelClosed` from the select, as Go's does.
 */
export class SendCase<T> implements SenderWaiter<T>, Parking {
  /** Tells send cases from receive cases. */
  readonly kind = 'send' as const;
  /** Its position in the cases array of the select that fired it. */
  index = -1;
  /** Always true once fired (a send either happens or raises). */
  ok = true;
  /** @internal */ task: Schedulable | null = null;
  /** @internal */ group: readonly CaseSlot[] | null = null;

  constructor(
    /** The channel end to send on. */
    readonly channel: SendSelectable<T>,
    /** The value to send. */
    public value: T,
  ) {}

  /** @internal A receiver took the value. */
  sent(): void {
    const task = (this as SendCase<T> & Registered).task;
    releaseGroup(this.group, this);
    this.ok = true;
    wake(task, this);
  }

  /** @internal The channel closed while the select waited: the select raises. */
  failed(error: ChannelClosed): void {
    const task = (this as SendCase<T> & Registered).task;
    releaseGroup(this.group, this);
    wakeThrow(task, error);
  }

  /** @internal The parked select was killed or timed out. */
  unpark(): void {
    releaseGroup(this.group, null);
  }

  /** @internal Whether a channel of the select is fed by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return hostFed(this.group, this);
  }

  /** For reports: the whole select this case waits in. */
  toString(): string {
    return describeSelect(this.group, this);
  }
}

/** A case for {@link select}: receive from `channel` (any {@link RecvSelectable} end). */
export function recvCase<T>(channel: RecvSelectable<T>): RecvCase<T> {
  return new RecvCase(channel);
}

/** A case for {@link select}: send `value` on `channel` (any {@link SendSelectable} end). */
export function sendCase<T>(channel: SendSelectable<T>, value: T): SendCase<T> {
  return new SendCase(channel, value);
}

/** What a select evaluates to when no case fired: `default` was taken, or the timeout passed. */
export interface SelectNone {
  readonly index: -1;
  readonly value: undefined;
  readonly ok: false;
}

/** The result of a select in which no case fired (`index === -1`). */
export const SELECT_NONE: SelectNone = Object.freeze({ index: -1, value: undefined, ok: false } as const);

/** The result when case `C`, at position `N`, fired. */
export type CaseResult<C, N extends number> =
  C extends RecvCase<infer T>
    ? { readonly index: N; readonly value: T; readonly ok: true } | { readonly index: N; readonly value: undefined; readonly ok: false }
    : C extends SendCase<infer T>
      ? { readonly index: N; readonly value: T; readonly ok: true }
      : never;

/**
 * What `select(cases)` evaluates to: one member per case, discriminated by `index`
 * (the case's position), then by `ok` for receive cases.
 */
export type SelectResult<C extends readonly CaseSlot[]> = {
  [K in keyof C]: CaseResult<C[K], K extends `${infer N extends number}` ? N : number>;
}[number];

/** How a select chooses among several ready cases. */
export type SelectOrder = 'random' | 'listed';

/** Options of {@link select}. */
export interface SelectOptions {
  /**
   * Give up after this many milliseconds: the select evaluates to {@link SELECT_NONE}
   * (Go's `case <-time.After(ms)`).
   */
  timeout?: number;
  /** Never block: if no case is ready now, evaluate to {@link SELECT_NONE} (Go's `default:`). */
  default?: boolean;
  /**
   * Among several ready cases, pick one uniformly at random (`'random'`, the default, as
   * Go does: no case can starve the others), or the first in the array (`'listed'`: a
   * priority order, which can starve later cases).
   */
  order?: SelectOrder;
}

/**
 * Wait until one of `cases` can proceed, perform it, and evaluate to it: Go's `select`.
 * Exactly one case fires. If several are ready, one is chosen uniformly at random. With
 * `{ timeout }` or `{ default: true }` it may evaluate to {@link SELECT_NONE}
 * (`index === -1`) instead. A `null` or `undefined` case is disabled (Go's nil channel),
 * so positions stay stable; with no enabled case and no timeout, it waits forever (or
 * until killed).
 *
 * The result is the case record that fired, with `index` (its position), `value` and
 * `ok` filled in; TypeScript types each position:
 *
 * ```ts
 * const r = yield* select([recvCase(jobs), recvCase(quit), sendCase(results, last)], { timeout: 1000 });
 * switch (r.index) {
 *   case 0:
 *     if (r.ok) handle(r.value);   // r.value: Job
 *     else jobsClosed = true;      // jobs is closed and drained
 *     break;
 *   case 1: return;                // quit received (or closed)
 *   case 2: break;                 // `last` was sent
 *   case -1: console.log('idle for a second');
 * }
 * ```
 *
 * A receive case on a closed channel is always ready (`ok` false); a send case on a
 * closed channel raises `ChannelClosed` if it is chosen. Killing the task or an outer
 * Timeout while it waits takes every case out of its channel. Case records can be made
 * once and reused by later selects, but not used by two selects at the same time, nor
 * twice in one; do not change the array while the select waits.
 */
export function select<const C extends readonly CaseSlot[]>(
  cases: C,
  options?: SelectOptions & { timeout?: undefined; default?: false },
): SwitchOp<SelectResult<C>>;
export function select<const C extends readonly CaseSlot[]>(
  cases: C,
  options: SelectOptions,
): SwitchOp<SelectResult<C> | SelectNone>;
export function select(cases: readonly CaseSlot[], options?: SelectOptions): SwitchOp<unknown> {
  return lazy(SELECT, cases, options, undefined);
}

const SELECT = blockingOperation<readonly CaseSlot[], SelectOptions | undefined, undefined, unknown>('select()', performSelect);

function performSelect(cases: readonly CaseSlot[], options: SelectOptions | undefined): Performed<unknown> {
  const task = currentTask('select()');
  const n = cases.length;
  const listed = options?.order === 'listed';

  // Pass 1: poll, choosing uniformly among the ready cases (reservoir sampling: the k-th
  // ready case replaces the choice with probability 1/k).
  let chosen: RecvCase<unknown> | SendCase<unknown> | null = null;
  let chosenIndex = -1;
  let ready = 0;
  for (let i = 0; i < n; i++) {
    const c = cases[i];
    if (c === null || c === undefined) continue;
    if (c.task !== null) throw inUse(c);
    if (c.kind === 'recv' ? c.channel.recvReady() : c.channel.sendReady()) {
      ready++;
      if (listed) {
        chosen = c;
        chosenIndex = i;
        break;
      }
      if (ready === 1 || nextRandom() % ready === 0) {
        chosen = c;
        chosenIndex = i;
      }
    }
  }
  if (chosen !== null) {
    // Schedule exploration (the testing layer) decides among several ready cases instead
    // of the random choice; `ready > 1` never holds with `order: 'listed'`, which stops at
    // the first.
    if (ready > 1) {
      const control = getHub().control;
      if (control !== null && control.chooseCase !== null) {
        chosenIndex = nthReady(cases, control.chooseCase(ready));
        chosen = cases[chosenIndex] as RecvCase<unknown> | SendCase<unknown>;
      }
    }
    if (chosen.kind === 'recv') {
      chosen.channel.recvNow(chosen);
    } else {
      chosen.channel.sendNow(chosen.value);
      chosen.ok = true;
    }
    chosen.index = chosenIndex;
    return immediate(chosen);
  }
  if (options?.default === true) return immediate(SELECT_NONE);

  // Pass 2: register every case and park. The first case is the Parking.
  let parking: Parking = SELECT_FOREVER;
  for (let i = 0; i < n; i++) {
    const c = cases[i];
    if (c === null || c === undefined) continue;
    if (c.task !== null) {
      releaseGroup(cases, null);
      throw new Error(
        `a select got the same case record twice (at position ${i}, ${c.kind} on ${String(c.channel)}): ` +
          'make one record per case (to use a channel twice, make two records)',
      );
    }
    c.index = i;
    c.task = task;
    c.group = cases;
    if (c.kind === 'recv') c.channel.addReceiver(c);
    else c.channel.addSender(c);
    if (parking === SELECT_FOREVER) parking = c;
  }
  return park(task, parking, options?.timeout, SELECT_NONE, false);
}

/** Whether any channel of the select (or `self`'s, outside one) is fed by the host. */
function hostFed(group: readonly CaseSlot[] | null, self: RecvCase<unknown> | SendCase<unknown>): boolean {
  for (const c of group ?? [self]) {
    if (c !== null && c !== undefined && c.channel[HOST_WAIT] === true) return true;
  }
  return false;
}

/** The position in `cases` of the `k`-th (from 0) case that is ready now. */
function nthReady(cases: readonly CaseSlot[], k: number): number {
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    if (c === null || c === undefined) continue;
    if ((c.kind === 'recv' ? c.channel.recvReady() : c.channel.sendReady()) && k-- === 0) return i;
  }
  throw new Error(`internal error: select has no ready case number ${k}`);
}

/**
 * Take every registered record of `group` out of its channel's queue (except `fired`,
 * which its channel has already taken out) and mark them all free.
 */
function releaseGroup(group: readonly CaseSlot[] | null, fired: RecvCase<unknown> | SendCase<unknown> | null): void {
  if (group === null) return;
  for (let i = 0; i < group.length; i++) {
    const c = group[i];
    if (c === null || c === undefined || c.task === null) continue;
    if (c !== fired) {
      if (c.kind === 'recv') c.channel.removeReceiver(c);
      else c.channel.removeSender(c);
    }
    c.task = null;
    c.group = null;
  }
}

function inUse(c: RecvCase<unknown> | SendCase<unknown>): Error {
  return new Error(
    `this ${c.kind} case on ${String(c.channel)} belongs to a select that is waiting in another task: ` +
      'a case record can serve one select at a time; make a new one with recvCase()/sendCase()',
  );
}

function describeSelect(group: readonly CaseSlot[] | null, self: RecvCase<unknown> | SendCase<unknown>): string {
  const cases = group ?? [self];
  const parts: string[] = [];
  for (const c of cases) if (c !== null && c !== undefined) parts.push(`${c.kind} on ${String(c.channel)}`);
  return `select(${parts.join(', ')})`;
}

/** A select with no enabled case: only a kill or its timeout ends it. */
const SELECT_FOREVER: Parking = {
  unpark() {},
  toString: () => 'select() with no cases',
};

// --- the random choice -------------------------------------------------------------------

// xorshift32: fast, allocation-free, and seedable so that tests and simulations can
// replay a run. Not for anything that needs unpredictability.
let randomState = (Math.floor(Math.random() * 0xffffffff) >>> 0) || 1;

function nextRandom(): number {
  let x = randomState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  randomState = x >>> 0;
  return randomState;
}

/**
 * Seed the generator that picks among ready select cases, so that a run can be
 * replayed (tests, simulations). By default it is seeded from `Math.random()`.
 */
export function seedSelectRandom(seed: number): void {
  randomState = (Math.floor(Math.abs(seed)) >>> 0) || 1;
}
