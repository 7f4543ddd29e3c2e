/**
 * The switcher: the trampoline that moves control between greenlets of one thread.
 *
 * A greenlet's body is a generator; its "stack" is that generator, plus, when it used
 * `call()`, the generators of the calls above it (a {@link Frames} stack). A switch is a
 * request that travels out of the generator through `yield*` to this loop, which then
 * resumes (or starts) the target. Nothing is copied.
 *
 * How a request travels. `target.switch(v)` inside a greenlet stores the request in the
 * switcher state `S` (`reqKind`, `reqTarget`, `reqPayload`) and returns {@link PORT}, a
 * singleton iterator. `yield*` asks the port for its first result; the port sees the
 * pending request and answers with the frozen {@link MARK} result, which V8 and
 * SpiderMonkey hand unchanged to whoever called `generator.next()`: this loop.
 * JavaScriptCore (Bun, Safari) builds a new result object with the same `value` at every
 * `yield*` level instead (tc39/ecma262#1058), so the loop takes a result whose `value` is
 * {@link SIGNAL} as a switch too; on V8 the identity test answers first and the other
 * costs nothing. When the loop later resumes
 * the greenlet, `generator.next(value)` is forwarded by `yield*` to the port, which now
 * sees no pending request and answers `{done: true, value}`, so the `yield*` expression
 * evaluates to `value`. One shared port means a suspended greenlet costs no memory for
 * its pending switch.
 *
 * Where a greenlet's state lives. To keep a suspended greenlet small (the goal is a few
 * hundred bytes, generator included), the public greenlet object is its own record: the
 * four fields below are symbol-keyed properties of the object. Only when unreachable
 * greenlets are to be killed ({@link setKillUnreachable}) does a greenlet, the first time
 * it suspends, move its state to a separate record that does not point back at it; its
 * own STATE then reads WATCHED and its BODY holds that record, so that a
 * FinalizationRegistry can see the public object die and still reach the state to throw
 * `GreenletExit` in. The switcher always finds the record with {@link recOf}.
 *
 * Invariants (true whenever no user code is running):
 * - exactly one greenlet is current; it is main whenever `S.running` is false;
 * - `S.running` is true exactly while a top-level switch is inside {@link drive}; a
 *   top-level switch never nests in another;
 * - `S.reqState` is IDLE whenever the loop resumes a generator, so the port can tell a
 *   resume (IDLE) from a new request (REQUESTED);
 * - `S.reqState` is IN_TRACER or IN_LOOKUP while the loop runs plain user code whose result is not a
 *   frame (a trace function, the `run` lookup); `request()` refuses to build a switch
 *   then, because nothing would ever deliver it. A plain `run` or callee of `call()` may
 *   build one and return it: the returned request becomes the frame that performs it;
 * - a started greenlet that is not current is suspended at a `yield*` on the port, in
 *   its top frame.
 *
 * Greenlet states (`[STATE]`) and their transitions (FRAMED, not drawn, is STARTED with a
 * `Frames` body; it goes back to STARTED when the last `call()` returns):
 *
 * ```text
 *                 first switch()                 run returns or raises,
 *   PENDING ─────────────────────────▶ STARTED ──────────────────────────▶ DEAD
 *   (body = run,   (run looked up,     (body = top generator,             (body = null,
 *    not called)    then called)        or a Frames stack;                 parent kept)
 *      │                                current or suspended)                ▲
 *      └───────────── throw() before start: run never called ────────────────┘
 * ```
 *
 * The main greenlet is STARTED for the life of the thread and has no body: "switching to
 * main" means returning from the top-level `switch()` that started the loop.
 *
 * @module
 */
import type { Context } from './context.js';
import type { Greenlet } from './greenlet.js';
import { GreenletError, GreenletExit, MissingYieldError } from './errors.js';
import type { Operation } from './operation.js';

// Every export this file reads on its hot paths has a module-local twin that the code
// here uses (STATE_KEY for STATE, ST_DEAD for DEAD, VALUE_KIND for K_VALUE, NO_ARGS for
// EMPTY): V8 reads an exported binding through a cell, a load and a hole check per read.

/** PENDING, STARTED, FRAMED or DEAD; WATCHED on a greenlet whose record lives apart. */
const STATE_KEY: unique symbol = Symbol('greenlet-ts.state');
export const STATE: typeof STATE_KEY = STATE_KEY;
/**
 * PENDING: the `run` given to the constructor; STARTED: the top generator; FRAMED: a
 * Frames stack; DEAD: null; WATCHED: the detached record.
 */
const BODY_KEY: unique symbol = Symbol('greenlet-ts.body');
export const BODY: typeof BODY_KEY = BODY_KEY;
/** Where the result goes; null only for main. */
const PARENT_KEY: unique symbol = Symbol('greenlet-ts.parent');
export const PARENT: typeof PARENT_KEY = PARENT_KEY;
/** The context of its context variables (Python's `gr_context`); null until needed. */
const CTX_KEY: unique symbol = Symbol('greenlet-ts.context');
export const CTX: typeof CTX_KEY = CTX_KEY;

const ST_PENDING = 0;
const ST_STARTED = 1;
const ST_DEAD = 2;
export const PENDING = ST_PENDING;
export const STARTED = ST_STARTED;
export const DEAD = ST_DEAD;
/** STARTED, with a {@link Frames} stack as body (a state of its own so that telling it
 * apart costs a compare; `instanceof` on a generator walks four prototypes). */
const ST_FRAMED = 3;
export const FRAMED = ST_FRAMED;
/** On a greenlet object only: its state lives in the DetachedRec held in its BODY. */
const ST_WATCHED = 4;
export const WATCHED = ST_WATCHED;

/** The state the switcher keeps about a greenlet (see "Where a greenlet's state lives"). */
export interface Rec {
  [STATE_KEY]: number;
  [BODY_KEY]: unknown;
  [PARENT_KEY]: Greenlet | null;
  [CTX_KEY]: Context | null;
}

/** Transfer kinds: what a request or a delivery carries. */
const ARGS_KIND = 0; // payload: the switch() arguments as an array, packed on delivery
const VALUE_KIND = 1; // payload: one value, delivered as it is
const THROW_KIND = 2; // payload: an error, raised at the target's suspension point
const CALL_KIND = 3; // target: a function to push as a frame; payload: its arguments
export const K_ARGS = ARGS_KIND;
export const K_VALUE = VALUE_KIND;
export const K_THROW = THROW_KIND;
export const K_CALL = CALL_KIND;

/** The brand of what every suspension yields; user code never sees it unless it misuses `yield`. */
export interface SwitchSignal {
  readonly '#greenlet-ts': 'switch';
}

/**
 * An operation: what `yield*` consumes, typed with what it evaluates to. A switch
 * (`g.switch(v)`), a blocking call (`queue.get()`, `sleep(ms)`) and every other
 * operation of the library return one; it does nothing until `yield*` runs it.
 */
export interface SwitchOp<T> {
  [Symbol.iterator](): Iterator<SwitchSignal, T, unknown>;
}

/**
 * What {@link setEndHook} installs: called when a child of the hook's owner has returned
 * (`failed` false, `outcome` its value) or raised (`failed` true, `outcome` the error),
 * with the owner current. If it takes the end, it returns what {@link endTransfer} returned:
 * the greenlet the owner would have transferred to next. False if it did nothing.
 */
export type EndHook = (dead: Greenlet, failed: boolean, outcome: unknown) => Greenlet | false;

/**
 * What {@link setPickHook} installs: called when the switcher carries out a
 * {@link requestPick}, with the greenlet that made it still current; it names the greenlet
 * to transfer to by returning what {@link endTransfer} returned.
 */
export type PickHook = () => Greenlet;

/** A trace function: see `settrace`. */
export type TraceFunction = (event: 'switch' | 'throw', args: [origin: Greenlet, target: Greenlet]) => void;

// --- state of this thread's switcher ---------------------------------------------------

// Request states (`S.reqState`). Module-local: V8 reads an exported binding through a
// cell, which costs ~12 instructions per read on the switch path (measured with
// callgrind); operation.ts gets copies through the REQ_* exports below.
const IDLE = 0;
const REQUESTED = 1;
/** Running a trace function. */
const IN_TRACER = 2;
/** Looking `run` up (a subclass getter may run). */
const IN_LOOKUP = 3;
/** A lazy operation waits in the slot for the `yield*` that performs it (operation.ts). */
const OP_PENDING = 4;
/** Running a callback that must not block or switch (see {@link callOutside}). */
const IN_CALLBACK = 5;

/** @internal The request states operation.ts needs. */
export const REQ_IDLE = IDLE;
export const REQ_REQUESTED = REQUESTED;
export const REQ_OP_PENDING = OP_PENDING;

/**
 * All mutable state of the switcher, in one object: V8 reads and writes the fields of an
 * object with a stable shape much faster than module-level `let` bindings (measured: a
 * switch round trip went from ~70 ns to ~45 ns).
 */
export class SwitcherState {
  /**
   * The current greenlet, in `cur.g`. (Its record, `recOf(current)`, is not kept beside
   * it: a store of a young object into a long-lived one costs a write barrier, ~50
   * instructions, and the current greenlet is stored at every transfer. For the same
   * reason it lives in a small record of its own, which a top-level switch to the end
   * hook's owner (a hub's pass) makes afresh: while the record is young, storing a task
   * just spawned into it costs no barrier.)
   */
  cur: CurrentSlot = new CurrentSlot(undefined as unknown as Greenlet);
  main!: Greenlet;
  mainRec!: Rec;
  running = false;
  tracer: TraceFunction | null = null;
  /** Detach and watch greenlets at their first suspension (see setKillUnreachable). */
  killUnreachable = false;
  reqState = IDLE;
  reqKind = ARGS_KIND;
  reqTarget: unknown = null;
  reqPayload: unknown = undefined;
  /** The pending lazy operation (OP_PENDING) and its operands. */
  op: Operation<never, never, never, unknown> | null = null;
  opSelf: unknown = undefined;
  opA: unknown = undefined;
  opB: unknown = undefined;
  /** Whether {@link lazy} records where each operation was made (recordOperationSites). */
  opSites = false;
  /** Where the pending operation was made, when opSites is on. */
  opSite: Error | null = null;
  /**
   * The greenlet whose death made the latest delivery to its parent. The hub reads it
   * to learn which of its tasks ended without wrapping every task in a frame of its own.
   */
  died: Greenlet | null = null;
  /** The greenlet whose children's ends go to {@link endHook} (see {@link setEndHook}), or null. */
  endOwner: Greenlet | null = null;
  endHook: EndHook | null = null;
  /** What names the target of a {@link requestPick} (see {@link setPickHook}), or null. */
  pick: PickHook | null = null;
  /** Transfers made since the thread started (for statistics: switches per second). */
  switches = 0;
}

/** Where {@link SwitcherState} keeps the current greenlet (see its `cur`). */
class CurrentSlot {
  constructor(public g: Greenlet) {}
}

const S = new SwitcherState();


/** What every switch yields: user code never sees it unless it misuses `yield`. */
const SIGNAL: SwitchSignal = Object.freeze({ '#greenlet-ts': 'switch' as const });

const MARK: IteratorYieldResult<SwitchSignal> = Object.freeze({ done: false as const, value: SIGNAL });

/**
 * What the port answers on a resume. Reused: `yield*` reads `value` at once, and the
 * loop clears it as soon as the greenlet hands control back, so no value outlives its
 * delivery.
 */
const RESUMED: IteratorReturnResult<unknown> = { done: true, value: undefined };

/** Arguments of a switch with none: Python's `()`. Shared and frozen. */
const NO_ARGS: readonly [] = Object.freeze([]) as readonly [];
export const EMPTY: readonly [] = NO_ARGS;

class Port implements Iterator<SwitchSignal, unknown, unknown> {
  [Symbol.iterator](): this {
    // A request is consumed by the first `yield*` on it; a second one would evaluate to
    // undefined without switching. (The throw lives in a function of its own: with a
    // throw here V8 no longer inlines this method into each `yield*`, which cost a switch
    // round trip ~3 % in instructions, measured with callgrind.)
    return S.reqState === REQUESTED ? this : portReused();
  }
  next(value?: unknown): IteratorResult<SwitchSignal, unknown> {
    if (S.reqState === REQUESTED) {
      S.reqState = IDLE;
      return MARK;
    }
    RESUMED.value = value;
    return RESUMED;
  }
  throw(error?: unknown): IteratorResult<SwitchSignal, unknown> {
    throw error;
  }
  return(value?: unknown): IteratorResult<SwitchSignal, unknown> {
    return { done: true, value };
  }
}

function portReused(): never {
  throw performedTwice('a switch request');
}

/** The one iterator every `yield*` of a switch delegates to. */
const PORT = new Port();

/**
 * The frames of a greenlet that used `call()`: `top` runs, `below` wait for it. The
 * switcher resumes a greenlet through its body's `next`/`throw`, so a greenlet with a
 * Frames body costs one extra call per resume, whatever its depth.
 */
class Frames {
  constructor(
    public top: Iterator<unknown>,
    readonly below: Iterator<unknown>[],
  ) {}
  next(value: unknown): IteratorResult<unknown> {
    return this.top.next(value);
  }
  throw(error: unknown): IteratorResult<unknown> {
    return (this.top.throw as (e: unknown) => IteratorResult<unknown>).call(this.top, error);
  }
  get depth(): number {
    return this.below.length + 1;
  }
}

/** Called once by greenlet.ts with this thread's main greenlet. */
export function initMain(main: Greenlet): void {
  S.main = main;
  S.mainRec = main;
  S.cur = new CurrentSlot(main);
}

export function getCurrentGreenlet(): Greenlet {
  return S.cur.g;
}

export function getCurrentRecord(): Rec {
  return recOf(S.cur.g);
}

export function getMainGreenlet(): Greenlet {
  return S.main;
}

/**
 * How many times control has passed from one greenlet to another in this thread (starts
 * excluded). Sample it twice to get switches per second.
 */
export function switchCount(): number {
  return S.switches;
}

/** Whether a top-level switch is in progress (code runs inside the switcher). */
export function isSwitcherRunning(): boolean {
  return S.running;
}

/**
 * An operation that is already complete: `yield*` evaluates to `value` without any
 * switch. Blocking primitives return it when they need not block. The object is shared;
 * it must be consumed by `yield*` at once, as every operation is.
 */
export function immediate<T>(value: T): Performed<T> {
  READY_OP.value = value;
  return READY_OP as Performed<T>;
}

/**
 * What an operation's `perform` returns: an iterator that `yield*` drives (and can also
 * consume directly): a ready value, a park, a generator.
 */
export type Performed<T> = SwitchOp<T> & Iterator<SwitchSignal, T, unknown>;

class ReadyOp implements Iterator<SwitchSignal, unknown, unknown> {
  value: unknown = undefined;
  /** Reused: `yield*` reads the value at once; the next ready operation overwrites it. */
  private readonly result: IteratorReturnResult<unknown> = { done: true, value: undefined };
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorResult<SwitchSignal, unknown> {
    this.result.value = this.value;
    this.value = undefined;
    return this.result;
  }
}

const READY_OP = new ReadyOp();

/**
 * Let `owner` take the ends of its children without being resumed for each (the hub: it
 * settles the task that ended and names the next one to run). When a child of `owner`
 * returns or raises (in its generator, or a `run` that is a plain function, at once), and
 * no trace function is set, the switcher makes `owner` current and calls `hook` as plain
 * code where it would have delivered the outcome to `owner`. If the hook takes the end, the transfer it made with
 * {@link endTransfer} happens next, from `owner`, and `owner` stays suspended where it was;
 * if not, the outcome goes to `owner` as usual. Ends a trace function must see (it sees
 * every transfer) and ends of greenlets killed before they started always go to `owner`.
 * One owner per thread; `null` removes it. Returns the owner and hook installed before.
 */
export function setEndHook(owner: Greenlet | null, hook: EndHook | null): [owner: Greenlet | null, hook: EndHook | null] {
  const previous: [Greenlet | null, EndHook | null] = [S.endOwner, S.endHook];
  S.endOwner = hook === null ? null : owner;
  S.endHook = owner === null ? null : hook;
  return previous;
}

/**
 * `dead` ended in its generator with `k`/`p` for its parent `owner`, the end hook's
 * owner: offer the end to the hook, with `owner` current. What the hook returns: the
 * greenlet to transfer to ({@link endTransfer} recorded the kind and payload), or false.
 */
function offerEnd(dead: Greenlet, owner: Greenlet, k: number, p: unknown): Greenlet | false {
  S.cur.g = owner;
  S.died = null;
  return (S.endHook as EndHook)(dead, k === THROW_KIND, p);
}

/**
 * For an end hook that takes an end (see {@link setEndHook}): the transfer its owner makes
 * next, to `target`, of `kind` with `payload`. Returns `target`, for the hook to return.
 * The target goes back through the hook's return value rather than through the request
 * slot: storing a young greenlet (a task just spawned) into the switcher's long-lived
 * state costs a write barrier, about 50 instructions.
 */
export function endTransfer(target: Greenlet, kind: number, payload: unknown): Greenlet {
  S.reqKind = kind;
  S.reqPayload = payload;
  return target;
}

/**
 * Install the hook that names the target of every {@link requestPick} (the hub: its next
 * ready task, or itself); `null` removes it. Returns the hook installed before.
 */
export function setPickHook(hook: PickHook | null): PickHook | null {
  const previous = S.pick;
  S.pick = hook;
  return previous;
}

/**
 * Stands for the target of a {@link requestPick} in the request slot until the switcher
 * carries the switch out and the pick hook names it.
 */
const PICK: object = Object.freeze({});

/**
 * Inside a greenlet, with a pick hook installed: a switch whose target the pick hook names
 * when the switcher carries it out (`yield*` on the returned port), rather than now; the
 * hook also gives the kind and payload, with {@link endTransfer}. Nothing runs between
 * the two, so the hook sees what the caller would have seen. A park uses it: the task it
 * resumes next goes to the switcher through the hook's return value rather than through
 * the request slot, as storing a young greenlet (a task just spawned) into the switcher's
 * long-lived state costs a write barrier, about 50 instructions.
 */
export function requestPick(): unknown {
  if (S.reqState !== IDLE || S.cur.g === S.main || S.pick === null) throw refuseRequest(PICK);
  S.reqState = REQUESTED;
  S.reqTarget = PICK;
  return PORT;
}

/** The greenlet whose death caused the latest delivery, if any; clears it. */
export function takeDied(): Greenlet | null {
  const g = S.died;
  S.died = null;
  return g;
}

export function getTracer(): TraceFunction | null {
  return S.tracer;
}

export function setTracer(fn: TraceFunction | null): TraceFunction | null {
  const previous = S.tracer;
  S.tracer = fn;
  return previous;
}

/** Where the state of greenlet `g` is: `g` itself, or its detached record. */
export function recOf(g: Rec): Rec {
  return g[STATE_KEY] === ST_WATCHED ? (g[BODY_KEY] as Rec) : g;
}

/** The record of a greenlet of this thread, or undefined for anything else. */
export function recordOf(g: unknown): Rec | undefined {
  return typeof g === 'object' && g !== null && typeof (g as Partial<Rec>)[STATE_KEY] === 'number'
    ? recOf(g as Rec)
    : undefined;
}

/** How many `call()` frames deep a started greenlet is (1 without any). */
export function depthOf(rec: Rec): number {
  return rec[STATE_KEY] === ST_FRAMED ? (rec[BODY_KEY] as Frames).depth : 1;
}

// --- building requests -----------------------------------------------------------------

/**
 * Entry point of `switch()`, `throw()` and `call()`. Inside a greenlet it only records
 * the request and returns the port for `yield*` to carry out. From the main greenlet it
 * performs the whole transfer synchronously and returns what main is sent (J1).
 */
export function request(target: unknown, kind: number, payload: unknown): unknown {
  if (S.cur.g !== S.main) {
    if (S.reqState !== IDLE) throw refuseRequest(target);
    S.reqState = REQUESTED;
    S.reqKind = kind;
    S.reqTarget = target;
    S.reqPayload = payload;
    return PORT;
  }
  if (S.running || S.reqState === IN_CALLBACK) throw refuseRequest(target);
  if (kind === CALL_KIND) {
    throw new GreenletError(
      'call() runs a function as a frame of the current greenlet, and the main greenlet has no frames: ' +
        'call the function directly here, or write `yield* call(fn, ...args)` inside a greenlet',
    );
  }
  return transferFromMain(target as Greenlet, kind, payload);
}

export function refuseRequest(target: unknown): GreenletError {
  if (S.reqState === OP_PENDING) return forgottenOperation();
  if (S.reqState === REQUESTED) {
    const forgotten = S.reqTarget;
    const kind = S.reqKind;
    clearRequest();
    return new GreenletError(
      `${describe(S.cur.g)} built ${describeRequest(kind, forgotten)} but never performed it: ` +
        'inside a greenlet write `yield* target.switch(...)` (or `yield* target.throw(...)`, `yield* call(fn)`); ' +
        'without `yield*` the call only builds the request',
    );
  }
  const where =
    S.reqState === IN_TRACER
      ? 'a trace function'
      : S.reqState === IN_LOOKUP
        ? 'the lookup of run'
        : S.reqState === IN_CALLBACK
          ? 'a callback (a link, a rawlink, an event listener)'
          : 'plain code called by the switcher';
  return new GreenletError(
    `cannot switch to ${describeTarget(target)} from inside ${where}: only a greenlet's generator code can ` +
      'switch, with `yield* target.switch(...)`; trace functions, getters and plain functions run while the ' +
      'switcher is busy, so record what you need there and switch afterwards',
  );
}

function clearRequest(): void {
  S.reqState = IDLE;
  S.reqTarget = null;
  S.reqPayload = undefined;
  S.op = null;
  S.opSelf = S.opA = S.opB = undefined;
}

// --- lazy operations (the protocol is operation.ts's; the slot is here) ------------------

/** Marks the one object every lazy operation returns (operation.ts makes it). */
export const LAZY_OP: unique symbol = Symbol('greenlet-ts.lazyOp');

/** Whether `x` is the lazy-operation object of operation.ts. */
function isLazy(x: unknown): x is Iterable<unknown> {
  return typeof x === 'object' && x !== null && (x as { [LAZY_OP]?: unknown })[LAZY_OP] === true;
}

/** The operation a greenlet made and did not perform, as an error; empties the slot. */
export function forgottenOperation(): MissingYieldError {
  const name = (S.op as Operation<unknown, unknown, unknown, unknown>).describe(S.opSelf);
  const site = takeSite();
  clearRequest();
  return new MissingYieldError(
    `${name} was never performed: write \`yield* ${name}\` where you make it. ` +
      'An operation does nothing until `yield*` runs it; one made without `yield*` is dropped unperformed' +
      siteHint(site),
    site === null ? undefined : { cause: site },
  );
}

/** Where the pending operation was made (recordOperationSites), taken from the slot. */
function takeSite(): Error | null {
  const site = S.opSite;
  S.opSite = null;
  return site;
}

/** The end of a MissingYieldError's message: where to look for the line that made it. */
function siteHint(site: Error | null): string {
  return site === null
    ? ' (call recordOperationSites() before it happens to have the line that made it in the error\'s cause)'
    : ' (its cause holds the line that made it)';
}

export function performedTwice(what: string): GreenletError {
  return new GreenletError(
    `${what} was consumed by \`yield*\` twice, or outside the greenlet that made it: each one runs once, ` +
      'with `yield*` right where it is made; make it again (call the method again) to do it again',
  );
}

/**
 * Run `fn(arg)` as a callback in which nothing can block or switch (hub links, rawlinks,
 * listeners): operations made inside take their `outside` path, switches are refused.
 * Whatever was pending before is left as it was.
 */
export function callOutside<T, R>(fn: (arg: T) => R, arg: T): R {
  const saved = S.reqState;
  S.reqState = IN_CALLBACK;
  try {
    return fn(arg);
  } finally {
    S.reqState = saved;
  }
}

/** @internal The switcher's state, for operation.ts, which fills and empties the slot. */
export const SWITCHER: SwitcherState = S;

// --- the loop --------------------------------------------------------------------------

function transferFromMain(target: Greenlet, kind: number, payload: unknown): unknown {
  S.running = true;
  // A hub's pass: the tasks it runs are stored as the current greenlet into a young record.
  if (target === S.endOwner) S.cur = new CurrentSlot(S.main);
  try {
    return drive(target, kind, payload);
  } finally {
    S.running = false;
    if (S.cur.g !== S.main) {
      // Only an internal failure leaves the loop without switching to main.
      S.cur.g = S.main;
    }
    if (S.reqState !== IDLE) clearRequest();
    // Whoever needed to know which greenlet died has read it by now; do not keep it alive.
    S.died = null;
  }
}

/** A unique marker for "no error" where `undefined` could be a thrown value. */
const NONE: unique symbol = Symbol('none');

const NEXT = 0;
const RAISE = 1;

/**
 * Deliver `p` (of kind `k`) to `t`, then keep driving whichever greenlet is current
 * until a transfer reaches main. Returns what main is sent, or throws what main is
 * thrown. Precondition: `S.running` is true and main is current.
 */
function drive(t: Greenlet, k: number, p: unknown): unknown {
  /** The greenlet the transfer comes from. */
  let o: Greenlet = S.cur.g;
  /** False when an error goes back to the caller without any transfer (no trace event). */
  let transfer = true;
  for (;;) {
    let tr = (t as Partial<Rec>)[STATE_KEY] === ST_WATCHED ? ((t as Rec)[BODY_KEY] as Rec) : (t as Rec);
    if (tr[STATE_KEY] === undefined) {
      p = new GreenletError(
        `cannot switch to ${describeTarget(t)}: it is not a greenlet of this thread. Greenlets never move ` +
          'between threads (one sent with postMessage arrives as a plain copy): switch only to greenlets ' +
          'created in this thread',
      );
      k = THROW_KIND;
      t = o;
      tr = recOf(o);
      transfer = false;
    }
    if (tr[STATE_KEY] === ST_DEAD) {
      // a transfer to a dead greenlet goes to its first live ancestor, and a
      // kill sent to a dead greenlet comes back as a value.
      if (k === THROW_KIND && p instanceof GreenletExit) k = VALUE_KIND;
      do {
        t = tr[PARENT_KEY] as Greenlet;
        tr = recOf(t);
      } while (tr[STATE_KEY] === ST_DEAD);
    }

    let act = NEXT;
    let val: unknown;
    if (tr[STATE_KEY] === ST_PENDING) {
      // Starting.: `run` is looked up now, as an attribute, in the caller.
      let run: unknown;
      let failure: unknown = NONE;
      S.reqState = IN_LOOKUP;
      try {
        run = (t as { run?: unknown }).run;
      } catch (e) {
        failure = e;
      }
      S.reqState = IDLE;
      if (failure === NONE && run === undefined) {
        failure = new GreenletError(
          `${describe(t)} has no run function: pass one to \`new Greenlet(run)\`, assign \`g.run\` before ` +
            'the first switch, or define `*run()` in a subclass',
        );
      }
      if (failure !== NONE) {
        // a caller that is alive gets the error; a dying greenlet's result goes to
        // the next ancestor instead.
        k = THROW_KIND;
        p = failure;
        if (recOf(o)[STATE_KEY] !== ST_DEAD) {
          t = o;
          transfer = false;
        } else {
          t = tr[PARENT_KEY] as Greenlet;
        }
        continue;
      }
      const own = tr[BODY_KEY];
      tr[BODY_KEY] = null;
      S.cur.g = t;
      if (k === THROW_KIND) {
        // killed before it started; run is never called.
        tr[STATE_KEY] = ST_DEAD;
        if (S.tracer !== null) p = traceOr('throw', o, t, p);
        S.died = t;
        o = t;
        t = tr[PARENT_KEY] as Greenlet;
        if (p instanceof GreenletExit) k = VALUE_KIND;
        continue;
      }
      tr[STATE_KEY] = ST_STARTED;
      if (S.tracer !== null) {
        const e = traceOr('switch', o, t, NONE);
        if (e !== NONE) {
          // the tracer's error replaces the transfer; run never runs.
          tr[STATE_KEY] = ST_DEAD;
          S.died = t;
          o = t;
          t = tr[PARENT_KEY] as Greenlet;
          k = e instanceof GreenletExit ? VALUE_KIND : THROW_KIND;
          p = e;
          continue;
        }
      }
      // A function given to the constructor (or assigned) is called without `this`, as
      // Python calls run: a generator keeps its `this` for life, and a greenlet its own
      // suspended frames reach could never be collected and killed. A subclass's
      // run method gets the greenlet as `this`.
      let body: unknown;
      if (run === own && typeof run === 'function') {
        // The usual start, a function given to the constructor, is called here rather than
        // in start(): optimized on its own, start() would inline the run functions it
        // calls, and V8 counts that code against drive()'s inlining budget, so drive()
        // stopped inlining it (see docs/benchmarks-log.md, interop.waitfor_fanout).
        try {
          body =
            k === VALUE_KIND ? run(p) : p === NO_ARGS ? run() : Reflect.apply(run, undefined, p as unknown[]);
          if (isGeneratorObject(body)) {
            tr[BODY_KEY] = body;
            body = NONE;
          } else if (isLazy(body)) {
            body = body[Symbol.iterator]();
          }
        } catch (e) {
          body = new StartFailure(e);
        }
        if (body !== NONE && !(body instanceof StartFailure)) body = adopt(t, body);
      } else {
        body = start(t, run, run === own ? undefined : t, k, p);
      }
      if (body === NONE) {
        val = undefined;
      } else {
        // run raised, was no function, or returned a plain value: dead at once.
        tr[STATE_KEY] = ST_DEAD;
        S.died = t;
        o = t;
        t = tr[PARENT_KEY] as Greenlet;
        if (body instanceof StartFailure) {
          if (S.reqState !== IDLE) clearRequest();
          p = body.error;
          k = p instanceof GreenletExit ? VALUE_KIND : THROW_KIND;
        } else if (S.reqState !== IDLE) {
          p = danglingRequest(o);
          k = THROW_KIND;
        } else {
          p = body;
          k = VALUE_KIND;
        }
        // As when a generator ends (below): the end hook's owner may take the end.
        if (t === S.endOwner && S.tracer === null) {
          const next = offerEnd(o, t, k, p);
          if (next !== false) {
            o = t;
            t = next;
            k = S.reqKind;
            p = S.reqPayload;
            S.reqPayload = undefined;
          } else {
            S.died = o;
          }
        }
        continue;
      }
    } else {
      S.cur.g = t;
      S.switches++;
      if (S.tracer !== null && transfer) {
        const e = traceOr(k === THROW_KIND ? 'throw' : 'switch', o, t, NONE);
        if (e !== NONE) {
          k = THROW_KIND;
          p = e;
        }
      }
      if (k === VALUE_KIND) {
        val = p;
      } else if (k === ARGS_KIND) {
        val = pack(p as unknown[]);
      } else {
        act = RAISE;
        val = p;
      }
      if (tr === S.mainRec) {
        if (act === RAISE) throw val;
        return val;
      }
    }
    transfer = true;

    // Drive the current greenlet until it asks for a transfer or dies.
    let ended = false;
    for (;;) {
      let res: IteratorResult<unknown>;
      try {
        const body = tr[BODY_KEY] as Iterator<unknown>;
        // A generator is resumed through %GeneratorPrototype%'s own methods: `body.next`
        // would be a megamorphic lookup, as each generator function's objects have a map
        // of their own (measured with callgrind: ~75 instructions per resume).
        if (body === (PORT as Iterator<unknown>) && act === NEXT) {
          // A body that is the port itself: a plain run that returned a switch or a park
          // (`() => waitFor(p)`), started or resumed. The port's `next`, without its call.
          if (S.reqState === REQUESTED) {
            S.reqState = IDLE;
            res = MARK;
          } else {
            RESUMED.value = val;
            res = RESUMED;
          }
        } else if (body instanceof (GeneratorObject as unknown as new () => object)) {
          res = act === NEXT ? generatorNext.call(body, val) : generatorThrow.call(body, val);
        } else {
          res = act === NEXT ? body.next(val) : (body.throw as (e: unknown) => IteratorResult<unknown>).call(body, val);
        }
      } catch (e) {
        RESUMED.value = undefined;
        if (tr[STATE_KEY] === ST_FRAMED) {
          popFrame(tr);
          act = RAISE;
          val = e;
          continue;
        }
        // An operation made and dropped before the error did nothing: the error is the news.
        if (S.reqState !== IDLE) clearRequest();
        if (e instanceof TypeError) hintPromise(e);
        tr[STATE_KEY] = ST_DEAD;
        tr[BODY_KEY] = null;
        o = t;
        t = tr[PARENT_KEY] as Greenlet;
        k = e instanceof GreenletExit ? VALUE_KIND : THROW_KIND;
        p = e;
        ended = true;
        break;
      }
      if (res === MARK || (res.value === SIGNAL && res.done !== true)) {
        RESUMED.value = undefined;
        if (S.reqTarget === PICK) {
          // requestPick(): the hook names the target now (the slot may keep PICK: it is
          // read only while a request is pending, and holds nothing alive).
          if (S.killUnreachable && tr === (t as Rec)) watch(t);
          o = t;
          t = (S.pick as PickHook)();
          k = S.reqKind;
          p = S.reqPayload;
          S.reqPayload = undefined;
          break;
        }
        const kind = S.reqKind;
        const target = S.reqTarget;
        const payload = S.reqPayload;
        S.reqTarget = null;
        S.reqPayload = undefined;
        if (kind === CALL_KIND) {
          const frame = open(target, payload as unknown[]);
          if (frame === NONE) {
            pushFrame(tr, openedFrame as Iterator<unknown>);
            openedFrame = null;
            act = NEXT;
            val = undefined;
          } else if (frame instanceof StartFailure) {
            act = RAISE;
            val = frame.error;
          } else {
            act = NEXT;
            val = frame;
          }
          continue;
        }
        if (S.killUnreachable && tr === (t as Rec)) watch(t);
        o = t;
        t = target as Greenlet;
        k = kind;
        p = payload;
        break;
      }
      if (res.done === true) {
        // The body may be the port itself (a plain run that returned a switch): read the
        // value before clearing the shared result.
        const value = res.value;
        RESUMED.value = undefined;
        if (tr[STATE_KEY] === ST_FRAMED) {
          popFrame(tr);
          act = NEXT;
          val = value;
          continue;
        }
        tr[STATE_KEY] = ST_DEAD;
        tr[BODY_KEY] = null;
        o = t;
        t = tr[PARENT_KEY] as Greenlet;
        if (S.reqState !== IDLE) {
          k = THROW_KIND;
          p = danglingRequest(o);
        } else {
          k = VALUE_KIND;
          p = value;
        }
        ended = true;
        break;
      }
      act = RAISE;
      val = bareYield(t, res.value);
    }
    if (ended) {
      // `o` died (returned or raised) with `k`/`p` for its parent `t`: the end hook's owner
      // may take the end and name the next transfer (see setEndHook).
      const next = t === S.endOwner && S.tracer === null ? offerEnd(o, t, k, p) : false;
      if (next !== false) {
        o = t;
        t = next;
        k = S.reqKind;
        p = S.reqPayload;
        S.reqPayload = undefined;
      } else {
        S.died = o;
      }
    }
  }
}

/** The error raised where greenlet `g` yielded `value` with a bare `yield`. */
function bareYield(g: Greenlet, value: unknown): GreenletError {
  if (S.reqState === OP_PENDING || S.reqState === REQUESTED) {
    // `yield queue.get()` or `yield other.switch()`: dropped, unperformed.
    const what =
      S.reqState === OP_PENDING
        ? (S.op as Operation<unknown, unknown, unknown, unknown>).describe(S.opSelf)
        : describeRequest(S.reqKind, S.reqTarget);
    const site = S.reqState === OP_PENDING ? takeSite() : null;
    clearRequest();
    return new MissingYieldError(
      `${describe(g)} yielded ${what} with a bare \`yield\`, which does not perform it: write \`yield*\` in its place. ` +
        'Inside a greenlet every operation and every switch is performed by `yield*`',
      site === null ? undefined : { cause: site },
    );
  }
  if (isThenable(value)) {
    return new GreenletError(
      `${describe(g)} yielded a promise to the switcher: a greenlet cannot await, so write ` +
        '`yield* waitFor(promise)` (from greenlet-ts) to wait for it; a bare `yield` is not a switch',
    );
  }
  return new GreenletError(
    `${describe(g)} yielded ${describeValue(value)} to the switcher: inside a greenlet every suspension ` +
      'is a `yield*` (`yield* other.switch(...)`, `yield* call(fn)`); a bare `yield` is not a switch',
  );
}

const PROMISE_HINT =
  ' (greenlet-ts: `yield*` performs operations and switches; if this was a promise, wait for it with ' +
  '`yield* waitFor(promise)`)';

/**
 * `yield* somePromise` fails inside the engine, with a message that does not say what to
 * write ("yield* (intermediate value) is not iterable", JavaScriptCore's "undefined is
 * not a function (near '...yield* p...')"). When such an error ends a greenlet, say it.
 */
function hintPromise(e: TypeError): void {
  const message = e.message;
  if (typeof message !== 'string' || message.includes('waitFor') || !/is not iterable|yield\*/.test(message)) return;
  try {
    e.message = message + PROMISE_HINT;
    if (typeof e.stack === 'string') e.stack = e.stack.replace(message, e.message);
  } catch {
    // A frozen error keeps its message.
  }
}

function isThenable(v: unknown): boolean {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** `dead` ended with a request it built, or an operation it made, and never performed: the error it dies of (J2). */
function danglingRequest(dead: Greenlet): GreenletError {
  if (S.reqState === OP_PENDING) {
    const name = (S.op as Operation<unknown, unknown, unknown, unknown>).describe(S.opSelf);
    const site = takeSite();
    clearRequest();
    return new MissingYieldError(
      `${describe(dead)} finished with ${name} made and never performed: write \`yield* ${name}\` where you ` +
        'make it. An operation does nothing until `yield*` runs it' +
        siteHint(site),
      site === null ? undefined : { cause: site },
    );
  }
  const forgotten = S.reqTarget;
  const kind = S.reqKind;
  clearRequest();
  return new GreenletError(
    `${describe(dead)} finished with ${describeRequest(kind, forgotten)} that was never performed: ` +
      'write `yield* target.switch(...)`; without `yield*` the call only builds the request',
  );
}

function pack(args: unknown[]): unknown {
  return args.length === 1 ? args[0] : args.length === 0 ? NO_ARGS : args;
}

function pushFrame(rec: Rec, frame: Iterator<unknown>): void {
  if (rec[STATE_KEY] === ST_FRAMED) {
    const frames = rec[BODY_KEY] as Frames;
    frames.below.push(frames.top);
    frames.top = frame;
  } else {
    rec[BODY_KEY] = new Frames(frame, [rec[BODY_KEY] as Iterator<unknown>]);
    rec[STATE_KEY] = ST_FRAMED;
  }
}

/** The top frame ended; its caller becomes the top again (and the stack goes when empty). */
function popFrame(rec: Rec): void {
  const frames = rec[BODY_KEY] as Frames;
  const caller = frames.below.pop() as Iterator<unknown>;
  if (frames.below.length === 0) {
    rec[BODY_KEY] = caller;
    rec[STATE_KEY] = ST_STARTED;
  } else {
    frames.top = caller;
  }
}

class StartFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Call `run` (with `self` as `this`) for the greenlet `g`, which is now current. Returns
 * NONE when `run` produced an iterator (stored as the body, not yet advanced), a
 * StartFailure when it raised or cannot be used, or else the plain value a non-generator
 * `run` returned (J4). A plain function may build a switch and return it (`() =>
 * other.switch()`): the request is the iterator, and the switch happens; one that builds
 * a switch and drops it is caught when the greenlet ends, like any request never
 * performed.
 */
function start(g: Greenlet, run: unknown, self: Greenlet | undefined, k: number, p: unknown): unknown {
  if (typeof run !== 'function') {
    return new StartFailure(new TypeError(`run of ${describe(g)} must be a function, not ${typeName(run)}`));
  }
  // A run given to the constructor or assigned was checked then; a subclass method is
  // checked here.
  if (self !== undefined && isAsync(run)) return new StartFailure(asyncError(`run of ${describe(g)}`));
  let body: unknown;
  try {
    body = k === VALUE_KIND ? run.call(self, p) : p === NO_ARGS ? run.call(self) : Reflect.apply(run, self, p as unknown[]);
    // The usual body, a generator object, is told apart without a property lookup: those
    // of `next` and LAZY_OP miss V8's caches, as every generator function's objects have
    // a map of their own (measured with callgrind: about 200 instructions per start).
    if (isGeneratorObject(body)) {
      recOf(g)[BODY_KEY] = body;
      return NONE;
    }
    // A plain run that returns an operation (`() => queue.get()`): it is the body.
    if (isLazy(body)) body = body[Symbol.iterator]();
  } catch (e) {
    return new StartFailure(e);
  }
  return adopt(g, body);
}

/**
 * What `run` returned for `g` when it is no generator object (an operation's iterator
 * already made): an iterator becomes the body (NONE); a plain value is returned as it is (J4).
 */
function adopt(g: Greenlet, body: unknown): unknown {
  if (isIterator(body)) {
    recOf(g)[BODY_KEY] = body;
    return NONE;
  }
  return body;
}

/**
 * `x instanceof GeneratorObject`: whether `x` inherits from %GeneratorPrototype%, as the
 * objects of every generator function do (unless its `prototype` was replaced). V8 walks
 * the prototype chain inline for it; `Object.getPrototypeOf` would call into the runtime.
 */
function GeneratorObject(): void {}
GeneratorObject.prototype = Object.getPrototypeOf(function* () {}.prototype) as object;

const generatorPrototype = GeneratorObject.prototype as Generator<unknown, unknown, unknown>;
/** %GeneratorPrototype%.next and .throw, which every generator object inherits. */
const generatorNext = generatorPrototype.next as (this: object, value: unknown) => IteratorResult<unknown>;
const generatorThrow = generatorPrototype.throw as (this: object, error: unknown) => IteratorResult<unknown>;

/** Whether `x` is a generator object (see {@link GeneratorObject}). */
function isGeneratorObject(x: unknown): boolean {
  return x instanceof (GeneratorObject as unknown as new () => object);
}

let openedFrame: Iterator<unknown> | null = null;

/** Like {@link start}, for `call(fn, ...args)`; a new generator is left in `openedFrame`. */
function open(fn: unknown, args: unknown[]): unknown {
  if (typeof fn !== 'function') {
    return new StartFailure(new TypeError(`call() needs a function, not ${typeName(fn)}`));
  }
  if (isAsync(fn)) return new StartFailure(asyncError('the function given to call()'));
  let frame: unknown;
  try {
    frame = Reflect.apply(fn, undefined, args);
    if (isLazy(frame)) frame = frame[Symbol.iterator]();
  } catch (e) {
    return new StartFailure(e);
  }
  if (isIterator(frame)) {
    openedFrame = frame;
    return NONE;
  }
  return frame;
}

/** Whether `x` has a `next` method: what a `run` or a `call()` callee returns to be resumed. */
export function isIterator(x: unknown): x is Iterator<unknown> & object {
  return typeof x === 'object' && x !== null && typeof (x as { next?: unknown }).next === 'function';
}

/**
 * Whether `x` is a generator object (or behaves as one: `next`, `throw` and
 * `[Symbol.iterator]`), so that `yield* x` can run it: how library code tells a generator
 * function's result from a plain function's. `G` is the type to narrow to.
 */
export function isGenerator<G extends Generator<unknown, unknown, unknown> = Generator<unknown, unknown, unknown>>(
  x: unknown,
): x is G {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { next?: unknown }).next === 'function' &&
    typeof (x as { throw?: unknown }).throw === 'function' &&
    typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/** Async functions cannot be suspended by the switcher (J4): refuse them before they run. */
export function isAsync(fn: Function): boolean {
  const tag = (fn as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return tag === 'AsyncFunction' || tag === 'AsyncGeneratorFunction';
}

export function asyncError(what: string): GreenletError {
  return new GreenletError(
    `${what} is async: the switcher cannot suspend an \`await\`. Write it as a generator function ` +
      '(`function*`) and switch with `yield*`; a promise is waited for from a greenlet through the hub, ' +
      'not with `await`',
  );
}

/** Run the tracer for a transfer; returns `otherwise`, or the tracer's error. */
function traceOr(event: 'switch' | 'throw', origin: Greenlet, target: Greenlet, otherwise: unknown): unknown {
  const fn = S.tracer as TraceFunction;
  S.reqState = IN_TRACER;
  try {
    fn(event, [origin, target]);
    return otherwise;
  } catch (e) {
    S.tracer = null;
    return e;
  } finally {
    S.reqState = IDLE;
  }
}

// --- killing greenlets nobody can reach (R-55..R-58, J6) -------------------------------

/** Receives errors that have nowhere else to go, like Python's `sys.unraisablehook`. */
export type UnraisableHook = (error: unknown, greenlet: Greenlet) => void;

let unraisableHook: UnraisableHook = (error, greenlet) => {
  console.error(`greenlet-ts: error ignored while killing ${describe(greenlet)} after it became unreachable:`, error);
};

/**
 * Install the function that receives errors raised by greenlets killed because nothing
 * could reach them any more (see `setKillUnreachable`), which have nowhere else to go;
 * returns the hook installed before. The default prints them with `console.error`. As
 * Python's `sys.unraisablehook`.
 *
 * @throws TypeError when given something other than a function.
 */
export function setUnraisableHook(hookFn: UnraisableHook): UnraisableHook {
  if (typeof hookFn !== 'function') throw new TypeError('setUnraisableHook() takes a function');
  const previous = unraisableHook;
  unraisableHook = hookFn;
  return previous;
}

export function setKillUnreachable(on: boolean): boolean {
  const previous = S.killUnreachable;
  S.killUnreachable = on && registry !== null;
  return previous;
}

/** A greenlet's state once it lives apart from the greenlet (see setKillUnreachable). */
class DetachedRec implements Rec {
  [STATE_KEY]: number;
  [BODY_KEY]: unknown;
  [PARENT_KEY]: Greenlet | null;
  [CTX_KEY]: Context | null;
  /** The prototype of the greenlet, to make a new object for it if it is killed. */
  proto: object;

  constructor(g: Greenlet) {
    const own: Rec = g;
    this[STATE_KEY] = own[STATE_KEY];
    this[BODY_KEY] = own[BODY_KEY];
    this[PARENT_KEY] = own[PARENT_KEY];
    this[CTX_KEY] = own[CTX_KEY];
    this.proto = Object.getPrototypeOf(g) as object;
  }
}

const survivors = new Set<Greenlet>();

const registry: FinalizationRegistry<DetachedRec> | null =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<DetachedRec>(collect) : null;

/** A started greenlet suspends for the first time: move its state out and watch it. */
function watch(g: Greenlet): void {
  const rec = new DetachedRec(g);
  const own: Rec = g;
  own[STATE_KEY] = ST_WATCHED;
  own[BODY_KEY] = rec;
  own[PARENT_KEY] = null;
  own[CTX_KEY] = null;
  (registry as FinalizationRegistry<DetachedRec>).register(g, rec);
}

/**
 * The public object of a suspended greenlet was garbage-collected. Throw GreenletExit
 * into the greenlet, from main, with main as its parent for the time of the kill, so
 * that its `finally` blocks run. Finalization callbacks run as tasks of
 * their own, never inside a switch (J6).
 */
function collect(rec: DetachedRec): void {
  if (rec[STATE_KEY] === ST_DEAD) return;
  if (S.running) {
    // Cannot happen from a finalization task; should it ever, try again once the switch is over.
    queueMicrotask(() => collect(rec));
    return;
  }
  // A new object for the same greenlet: what getcurrent() returns during the kill.
  const g = Object.create(rec.proto) as Greenlet;
  const own: Rec = g;
  own[STATE_KEY] = ST_WATCHED;
  own[BODY_KEY] = rec;
  own[PARENT_KEY] = null;
  own[CTX_KEY] = null;
  const parent = rec[PARENT_KEY];
  rec[PARENT_KEY] = S.main;
  try {
    transferFromMain(g, THROW_KIND, new GreenletExit('Killing the greenlet because all references have vanished.'));
  } catch (e) {
    reportUnraisable(e, g);
  }
  // The kill ran user code, which may have left the greenlet alive.
  if ((rec[STATE_KEY] as number) !== ST_DEAD) {
    rec[PARENT_KEY] = parent;
    survivors.add(g);
    reportUnraisable(
      new GreenletError(
        `GreenletExit did not kill ${describe(g)}: it caught the kill and switched away instead of ending; ` +
          'it is kept alive from now on. Let GreenletExit propagate (rethrow it when isGreenletExit(e))',
      ),
      g,
    );
  }
}

function reportUnraisable(error: unknown, g: Greenlet): void {
  try {
    unraisableHook(error, g);
  } catch {
    // The hook of last resort has failed; there is no one left to tell.
  }
}

// --- descriptions for messages and toString() ------------------------------------------

/** `<Greenlet suspended active started>`-style text with the reference's state words. */
export function describe(g: Greenlet): string {
  const rec = recOf(g);
  const ctor = (Object.getPrototypeOf(g) as { constructor?: { name?: string } } | null)?.constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'Greenlet';
  const label = (g as { name?: unknown }).name;
  const head = typeof label === 'string' && label !== '' ? `${name} "${label}"` : name;
  let words: string;
  if (rec[STATE_KEY] === ST_DEAD) words = 'dead';
  else if (rec[STATE_KEY] === ST_PENDING) words = 'pending';
  else words = `${rec === recOf(S.cur.g) ? 'current' : 'suspended'} active started${rec === S.mainRec ? ' main' : ''}`;
  return `<${head} ${words}>`;
}

function describeTarget(t: unknown): string {
  if (t === PICK) return 'the next ready greenlet';
  return recordOf(t) !== undefined ? describe(t as Greenlet) : describeValue(t);
}

function describeRequest(kind: number, target: unknown): string {
  if (kind === CALL_KIND) return `a call() of ${typeof target === 'function' && target.name ? target.name : 'a function'}`;
  return `a ${kind === THROW_KIND ? 'throw into' : 'switch to'} ${describeTarget(target)}`;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (typeof v === 'object' && v !== null) return `an object (${typeName(v)})`;
  return String(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') {
    const ctor = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor;
    return ctor?.name || 'Object';
  }
  return typeof v;
}
