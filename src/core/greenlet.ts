/**
 * The `Greenlet` class: Python's `greenlet.greenlet` on generator functions.
 *
 * @module
 */
import { Context } from './context.js';
import { GreenletError, GreenletExit } from './errors.js';
import {
  BODY,
  CTX,
  DEAD,
  FRAMED,
  PARENT,
  STATE,
  depthOf,
  K_ARGS,
  K_THROW,
  PENDING,
  recOf,
  type Rec,
  STARTED,
  describe,
  getCurrentGreenlet,
  initMain,
  recordOf,
  isAsync,
  asyncError,
  K_VALUE,
  EMPTY,
  request,
  typeName,
  type SwitchOp,
  type SwitchSignal,
} from './switcher.js';

// Module-local copies of the keys and the state the constructor reads (it runs at every
// spawn): V8 reads an imported binding through a cell, a load and a hole check per read.
const STATE_KEY: typeof STATE = STATE;
const BODY_KEY: typeof BODY = BODY;
const PARENT_KEY: typeof PARENT = PARENT;
const CTX_KEY: typeof CTX = CTX;
const ST_PENDING = PENDING;

/** The generator a greenlet's `run` returns: it suspends only through `yield*` of a switch. */
export type GreenletBody<R> = Generator<SwitchSignal, R, unknown>;

/**
 * The body of a greenlet: a generator function (it can switch, with `yield*`) or a plain
 * function (it runs to completion when the greenlet starts; its result goes to the parent).
 */
export type RunFunction<A extends unknown[] = unknown[], R = unknown> = (...args: A) => GreenletBody<R> | R;

/**
 * What `switch()` and `throw()` return. Inside a greenlet it is a request that only
 * `yield*` carries out, and `yield*` evaluates to `T`:
 * `const v = yield* other.switch(x)`. Called from the main greenlet (plain top-level
 * code) the switch happens at once and the call returns the value itself, typed `T`
 * too. One exception: when `T` is itself iterable (an array, a string), TypeScript cannot
 * type one object as both a `T` and the switch request; top-level code then gets all of
 * `T`'s members except its iterator (`list.length`, `list.map(...)`, `list[0]` work),
 * and `for...of` needs `g.switch() as unknown as string[]`.
 */
export type Switched<T> = T extends Iterable<unknown>
  ? SwitchOp<T> & Omit<T, typeof Symbol.iterator>
  : SwitchOp<T> & T;

/** An `Error` subclass that `throw()` can instantiate. */
export type ErrorClass = new (...args: never[]) => Error;

/**
 * A greenlet: an independent line of execution that you switch to explicitly.
 *
 * Its body is a generator function. Inside it, `yield* other.switch(value)` suspends this
 * greenlet exactly there, resumes `other` (starting it if it has not started) and
 * evaluates to whatever is sent back when someone switches to this greenlet again. From
 * plain top-level code (the main greenlet) `g.switch(value)` runs synchronously and
 * returns what main is sent.
 *
 * ```ts
 * const gr1 = new Greenlet(function* () {
 *   console.log(12);
 *   yield* gr2.switch();
 *   console.log(34);
 * });
 * const gr2 = new Greenlet(function* () {
 *   console.log(56);
 *   yield* gr1.switch();
 *   console.log(78); // never printed: nobody switches back to gr2
 * });
 * gr1.switch(); // prints 12, 56, 34
 * ```
 *
 * When `run` returns, the greenlet is dead and the value goes to its `parent` (by default
 * the greenlet that created it); an uncaught error is raised in the parent instead, and
 * an uncaught {@link GreenletExit} arrives there as an ordinary value.
 *
 * Subclasses may define `*run()` instead of passing `run`. Instances accept any extra
 * properties.
 *
 * @typeParam A - the parameters of `run`: what the first `switch()` passes.
 * @typeParam R - what `run` returns.
 */
export class Greenlet<A extends unknown[] = unknown[], R = unknown> implements Rec {
  // The switcher's state for this greenlet; symbol keys keep it out of the way of
  // subclasses and of Object.keys / JSON (see switcher.ts, "Where a greenlet's state
  // lives"). Read it through recOf(), never directly.
  /** @internal */
  declare [STATE]: number;
  /** @internal */
  declare [BODY]: unknown;
  /** @internal */
  declare [PARENT]: Greenlet | null;
  /** @internal */
  declare [CTX]: Context | null;

  /**
   * The body. Before the greenlet starts this is the function given to the constructor
   * (or assigned), and it may be replaced; once started it reads as `undefined` and
   * cannot be set (the reference deletes it). A subclass may define `*run()` as a method
   * instead; that one stays visible.
   */
  run?(...args: A): GreenletBody<R> | R;

  /**
   * Create a greenlet; nothing runs until the first switch.
   *
   * @param run - the body; `undefined` to use the subclass's `run` method or assign one
   *   later. `null` is kept as it is and fails when the greenlet starts.
   * @param parent - where the result goes when `run` ends; defaults to the greenlet
   *   current now.
   */
  constructor(run?: ((...args: A) => GreenletBody<R> | R) | null, parent?: Greenlet | null) {
    let p: Greenlet;
    if (parent === undefined || parent === null) {
      p = getCurrentGreenlet();
    } else {
      // A parent that the prototype holds already (a hub's task: its hub) is a greenlet.
      if (parent !== this[PARENT_KEY]) checkGreenlet(parent);
      p = parent;
    }
    if (typeof run === 'function' && isAsync(run)) throw asyncError('run');
    this[STATE_KEY] = ST_PENDING;
    this[BODY_KEY] = run;
    // A subclass may keep the usual value of a field on its prototype (a hub's task has the
    // hub as its parent and, nearly always, no context): the field is then an own property
    // only of the instances whose value differs, one field less on every other instance.
    if (this[PARENT_KEY] !== p) this[PARENT_KEY] = p;
    if (this[CTX_KEY] !== null) this[CTX_KEY] = null;
  }

  /**
   * Switch to this greenlet. The first switch starts `run` with these arguments; later
   * ones resume it, and its pending `yield* x.switch()` evaluates to the arguments packed
   * as the reference does: none → `[]` (shared, frozen), one → that value, several → an
   * array of them.
   *
   * Inside a greenlet write `yield* g.switch(...)`; at top level, `g.switch(...)`.
   * Switching to a dead greenlet switches to its nearest live ancestor instead.
   *
   * @typeParam T - what the switch evaluates to (what this greenlet is next sent); you
   *   state it, the switcher cannot know it.
   */
  switch<T = unknown>(...args: unknown[]): Switched<T>;
  switch(): unknown {
    // `arguments` instead of a rest parameter: a switch with one value, by far the most
    // common, then allocates nothing.
    const n = arguments.length;
    if (n === 1) return request(this, K_VALUE, arguments[0]);
    return request(this, K_ARGS, n === 0 ? EMPTY : Array.prototype.slice.call(arguments));
  }

  /**
   * Raise an error in this greenlet at the point where it is suspended, switching to it.
   * With no argument the error is a new {@link GreenletExit}: the kill idiom. A greenlet
   * that does not catch it dies, and `throw()` returns the `GreenletExit` (as the value
   * the parent receives). An error class is instantiated with the remaining arguments.
   *
   * - Not started: the greenlet dies without running, and the error goes to its parent.
   * - Dead: the error goes to the nearest live ancestor; a `GreenletExit` comes back as
   *   a value.
   * - The current greenlet: raised at once, in the caller.
   *
   * Inside a greenlet write `yield* g.throw(...)`.
   */
  throw<T = unknown>(error?: Error | ErrorClass, ...args: unknown[]): Switched<T> {
    return request(this, K_THROW, makeError(error, args)) as Switched<T>;
  }

  /** True once the greenlet has finished, by returning, raising or being killed. */
  get dead(): boolean {
    return recOf(this)[STATE] === DEAD;
  }

  /** True while started and not dead: Python's `bool(g)`. The main greenlet is always active. */
  get active(): boolean {
    const state = recOf(this)[STATE];
    return state === STARTED || state === FRAMED;
  }

  /** True once the greenlet has started (it stays true after death). */
  get started(): boolean {
    return recOf(this)[STATE] !== PENDING;
  }

  /**
   * Where this greenlet's result (or error) goes when `run` ends. Can be changed at any
   * time to any greenlet of this thread; a change that would make a cycle throws
   * `GreenletError("cyclic parent chain")`. The main greenlet's parent is `null` and
   * cannot be set.
   */
  get parent(): Greenlet | null {
    return recOf(this)[PARENT];
  }

  set parent(value: Greenlet | null) {
    const rec = recOf(this);
    if (rec[PARENT] === null) throw new GreenletError('cannot set the parent of a main greenlet');
    checkGreenlet(value);
    for (let g: Greenlet | null = value; g !== null; g = recOf(g)[PARENT]) {
      if (recOf(g) === rec) throw new GreenletError('cyclic parent chain');
    }
    rec[PARENT] = value;
  }

  /**
   * The context of this greenlet's context variables (Python's `gr_context`): `null`
   * until a variable is set in it, or until assigned. Assigning a {@link Context} (for
   * instance `copyContext()` before the first switch, or another greenlet's context to
   * share it) takes effect immediately, even while suspended or running; `null` resets
   * it to empty. A new greenlet does not inherit its creator's variables.
   */
  get context(): Context | null {
    return recOf(this)[CTX];
  }

  set context(value: Context | null) {
    if (value !== null && !(value instanceof Context)) {
      throw new TypeError(`greenlet context must be a Context or null, not ${typeName(value)}`);
    }
    recOf(this)[CTX] = value;
  }

  /**
   * A token for the suspended frame: `null` when the greenlet is not started, is
   * running, or is dead (as Python's `gr_frame`). Generators cannot be inspected from
   * outside, so it only tells how many frames deep (`call()` levels) the greenlet waits.
   */
  get frame(): { readonly greenlet: Greenlet; readonly depth: number } | null {
    const rec = recOf(this);
    if (rec[STATE] === PENDING || rec[STATE] === DEAD || rec[PARENT] === null || rec === recOf(getCurrentGreenlet())) return null;
    return { greenlet: this, depth: depthOf(rec) };
  }

  /** `<Greenlet suspended active started>`: the class name and the reference's state words. */
  toString(): string {
    return describe(this);
  }

  /** @internal */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return describe(this);
  }

  /** Greenlets cannot be copied or serialised; this throws to say so. */
  toJSON(): never {
    throw new TypeError(`cannot serialize ${describe(this)}: a greenlet is a live computation, not data`);
  }
}

// `run` is an accessor on the prototype so that a subclass method named `run` shadows it
// and so that it disappears once the greenlet has started.
Object.defineProperty(Greenlet.prototype, 'run', runAccessor(STATE_KEY, BODY_KEY, runOfStarted));

/**
 * `run`'s accessor. Its getter is read at every start (drive() looks `run` up as an
 * attribute, R-6/R-7), and V8 inlines a getter there only if it is "small" (27 bytecodes
 * at most: then whatever drive()'s inlining budget has left), otherwise a call of ~63
 * instructions per start (docs/benchmarks-log.md, interop.waitfor_fanout). Hence the keys as
 * parameters of this function (read from its context, with no hole check as module
 * variables need) and the state tested for truth: PENDING is 0, and every other state,
 * a watched greenlet's (its record elsewhere) among them, goes to `started`.
 */
function runAccessor(state: typeof STATE, body: typeof BODY, started: (g: Greenlet) => unknown): PropertyDescriptor {
  return {
    configurable: true,
    enumerable: false,
    get(this: Greenlet) {
      return this[state] ? started(this) : this[body];
    },
    set(this: Greenlet, value: unknown) {
      const rec = recOf(this);
      if (rec[STATE] !== PENDING) {
        throw new GreenletError(
          rec[PARENT] === null ? 'the main greenlet has no run' : 'run cannot be set after the start of the greenlet',
        );
      }
      if (typeof value === 'function' && isAsync(value)) throw asyncError('run');
      rec[BODY] = value;
    },
  };
}
if (PENDING !== 0) throw new Error('internal: runAccessor assumes that PENDING is 0');

/** `run` of a greenlet whose own state is not PENDING: started, or watched (its record then says). */
function runOfStarted(g: Greenlet): unknown {
  const rec = recOf(g);
  return rec[STATE] === PENDING ? rec[BODY] : undefined;
}

function checkGreenlet(value: unknown): asserts value is Greenlet {
  if (recordOf(value) === undefined) {
    throw new TypeError(`GreenletChecker: Expected any type of greenlet, not ${typeName(value)}`);
  }
}

function makeError(error: unknown, args: unknown[]): unknown {
  if (error === undefined) {
    if (args.length !== 0) throw new TypeError('throw() got arguments for no error class');
    return new GreenletExit();
  }
  if (error instanceof Error) {
    if (args.length !== 0) throw new TypeError('instance exception may not have a separate value');
    return error;
  }
  if (typeof error === 'function' && (error === Error || error.prototype instanceof Error)) {
    return Reflect.construct(error, args);
  }
  throw new TypeError(`exceptions must be classes, or instances, not ${typeName(error)}`);
}

/**
 * The greenlet running now: the main greenlet in plain top-level code, the greenlet
 * itself inside its `run` (a subclass instance if it is one), the target inside a trace
 * function.
 */
export function getcurrent(): Greenlet {
  return getCurrentGreenlet();
}

// Made by the constructor like any greenlet (then turned into main), so that main and the
// plain greenlets share one hidden class and the switcher's reads of their state stay
// monomorphic: about 8 % off a switch and a spawn, measured with bench/core.bench.ts.
const mainGreenlet = new Greenlet(null);
mainGreenlet[STATE] = STARTED;
mainGreenlet[BODY] = null;
mainGreenlet[PARENT] = null;
mainGreenlet[CTX] = new Context();
initMain(mainGreenlet);
