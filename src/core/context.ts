/**
 * Context variables per greenlet: Python's `contextvars`, as greenlet's `gr_context`
 * uses them.
 *
 * Each greenlet has its own {@link Context} (`greenlet.context`, null until first used);
 * a {@link ContextVar} reads and writes the context of the greenlet that is current. No
 * value is saved or restored on a switch: the switcher changes the current greenlet, and
 * with it the context every variable sees.
 *
 * @module
 */
import { CTX, getCurrentRecord, isGenerator } from './switcher.js';

/** Raised by {@link ContextVar.get} for a variable with no value and no default. */
export class LookupError extends Error {
  static {
    this.prototype.name = 'LookupError';
  }
}

/**
 * A mapping from context variables to values: what one greenlet sees. Obtain the
 * current one's copy with {@link copyContext}, give it to a greenlet with
 * `g.context = ctx`, or run a function inside it with {@link Context.run}.
 */
export class Context implements Iterable<[ContextVar<unknown>, unknown]> {
  /** @internal */
  readonly vars: Map<ContextVar<unknown>, unknown>;

  constructor(vars?: Iterable<[ContextVar<unknown>, unknown]>) {
    this.vars = new Map(vars);
  }

  /** The variable's value in this context, or undefined when it has none here. */
  get<T>(variable: ContextVar<T>): T | undefined {
    return this.vars.get(variable as ContextVar<unknown>) as T | undefined;
  }

  /** Whether the variable has a value in this context. */
  has(variable: ContextVar<unknown>): boolean {
    return this.vars.has(variable);
  }

  /** How many variables have a value in this context. */
  get size(): number {
    return this.vars.size;
  }

  [Symbol.iterator](): IterableIterator<[ContextVar<unknown>, unknown]> {
    return this.vars.entries();
  }

  /** A new context with the same values. */
  copy(): Context {
    return new Context(this.vars);
  }

  /**
   * Call `fn(...args)` with this context as the current greenlet's context, then put
   * the previous one back. If `fn` is a generator function, the returned generator
   * enters the context each time it runs in a greenlet, until it finishes, so
   * `new Greenlet((...a) => ctx.run(body, ...a))` runs `body` inside `ctx` across
   * switches. Unlike Python, greenlets may leave such runs in any order.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    const rec = getCurrentRecord();
    const previous = rec[CTX];
    rec[CTX] = this;
    let result: R;
    try {
      result = fn(...args);
    } finally {
      rec[CTX] = previous;
    }
    if (isGenerator(result)) return enter(this, result) as R;
    return result;
  }
}

function* enter<Y, R, N>(ctx: Context, body: Generator<Y, R, N>): Generator<Y, R, N> {
  const rec = getCurrentRecord();
  const previous = rec[CTX];
  rec[CTX] = ctx;
  try {
    return yield* body;
  } finally {
    rec[CTX] = previous;
  }
}

const MISSING: unique symbol = Symbol('MISSING');

/** What {@link ContextVar.set} returns, to undo the change with {@link ContextVar.reset}. */
export class Token<T> {
  /** Marks a token whose variable had no value before the `set`. */
  static readonly MISSING: typeof MISSING = MISSING;
  #used = false;

  /** @internal */
  constructor(
    readonly variable: ContextVar<T>,
    readonly context: Context,
    readonly oldValue: T | typeof MISSING,
  ) {}

  /** @internal */
  use(): void {
    if (this.#used) throw new Error(`${String(this.variable)}: this token has already been used once`);
    this.#used = true;
  }
}

/**
 * A variable whose value belongs to the current greenlet's context.
 *
 * ```ts
 * const requestId = new ContextVar<string>('requestId', { default: '-' });
 * requestId.set('r-1');          // in this greenlet only
 * requestId.get();               // 'r-1' here; '-' in a new greenlet
 * ```
 *
 * Create variables once, at module level: a context keeps every variable set in it.
 */
export class ContextVar<T> {
  readonly name: string;
  readonly #default: T | typeof MISSING;

  constructor(name: string, options?: { default: T }) {
    this.name = name;
    this.#default = options !== undefined && 'default' in options ? options.default : MISSING;
  }

  /**
   * The value in the current greenlet's context; else `fallback` if given; else the
   * variable's default; else a {@link LookupError}.
   */
  get(fallback?: T): T {
    const ctx = getCurrentRecord()[CTX];
    if (ctx !== null) {
      const vars = ctx.vars;
      const value = vars.get(this as ContextVar<unknown>);
      if (value !== undefined || vars.has(this as ContextVar<unknown>)) return value as T;
    }
    if (arguments.length > 0) return fallback as T;
    if (this.#default !== MISSING) return this.#default;
    throw new LookupError(`${String(this)} has no value in this context and no default`);
  }

  /** Set the value in the current greenlet's context (creating that context if it has none). */
  set(value: T): Token<T> {
    const rec = getCurrentRecord();
    const ctx = (rec[CTX] ??= new Context());
    const vars = ctx.vars as Map<ContextVar<T>, T>;
    const token = new Token<T>(this, ctx, vars.has(this) ? (vars.get(this) as T) : MISSING);
    vars.set(this, value);
    return token;
  }

  /** Undo the `set` that returned `token`, in the context where it was made. */
  reset(token: Token<T>): void {
    if (token.variable !== this) throw new TypeError(`${String(token.variable)}'s token cannot reset ${String(this)}`);
    const ctx = getCurrentRecord()[CTX];
    if (token.context !== ctx) throw new TypeError(`${String(this)}: the token was created in a different Context`);
    token.use();
    const vars = ctx.vars as Map<ContextVar<T>, T>;
    if (token.oldValue === MISSING) vars.delete(this);
    else vars.set(this, token.oldValue);
  }

  toString(): string {
    return `<ContextVar name=${JSON.stringify(this.name)}>`;
  }
}

/** A copy of the current greenlet's context (empty if it has none). */
export function copyContext(): Context {
  const ctx = getCurrentRecord()[CTX];
  return ctx === null ? new Context() : ctx.copy();
}
