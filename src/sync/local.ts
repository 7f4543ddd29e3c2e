/**
 * `Local`: greenlet-local storage, gevent's `gevent.local.local`. One value per greenlet
 * (per task, and per raw greenlet; the main greenlet and the hub have one each).
 *
 * Storage. Each `Local` keeps a `WeakMap` from greenlet to value. Neither side keeps the
 * other alive: a value goes with its greenlet once the greenlet object is unreachable
 * (an ended task nobody refers to), and all of a `Local`'s values go with the `Local`
 * itself, even while their greenlets still run (gevent#981). Greenlet-local storage is
 * not inherited: a task spawned by another starts with no values. Context variables
 * (`ContextVar`) are the inherited kind: a task starts with a copy of its spawner's.
 *
 * Coming from gevent: instead of attributes on a `local()` object, a `Local<T>` holds
 * one value (use an object for several fields); a subclass `__init__` that runs once per
 * greenlet becomes the `init` function; reading a value that was never set raises
 * `LookupError` (gevent raises `AttributeError`), and `delete()` of a missing value
 * returns false instead of raising. gevent frees a greenlet's values as soon as it dies
 * (gevent#387); here they are freed when the ended task is no longer referenced.
 *
 * @module
 */
import { LookupError } from '../core/context.js';
import type { Greenlet } from '../core/greenlet.js';
import { getCurrentGreenlet } from '../core/switcher.js';

/**
 * A value private to each greenlet (each task): what one task sets, another does not
 * see, and a task spawned later starts without it.
 *
 * ```ts
 * const connection = new Local(() => openConnection()); // one per task, made on first use
 * function* handle(request: Request) {
 *   const conn = connection.get();                      // this task's own connection
 *   ...
 * }
 *
 * const user = new Local<string>();
 * user.set('ada');               // in this task only
 * user.get();                    // 'ada' here; LookupError in another task
 * user.get('anonymous');         // with a fallback instead of the error
 * ```
 *
 * @typeParam T - the type of the value.
 */
export class Local<T> {
  readonly #values = new WeakMap<Greenlet, T>();
  readonly #init: (() => T) | undefined;

  /**
   * @param init - called (in the greenlet, without arguments) the first time a
   *   greenlet reads a value it has not set; its result becomes that greenlet's value.
   *   Without it, reading an unset value raises `LookupError`.
   */
  constructor(init?: () => T) {
    if (init !== undefined && typeof init !== 'function') {
      throw new TypeError(`Local(init): init must be a function returning the first value, not ${typeof init}`);
    }
    this.#init = init;
  }

  /**
   * The current greenlet's value. If it has none: `fallback` when given (nothing is
   * stored), else the result of `init` (stored for this greenlet), else a `LookupError`.
   */
  get(fallback?: T): T {
    const g = getCurrentGreenlet();
    const values = this.#values;
    const value = values.get(g);
    if (value !== undefined || values.has(g)) return value as T;
    if (arguments.length > 0) return fallback as T;
    const init = this.#init;
    if (init === undefined) {
      throw new LookupError(
        `this Local has no value in ${String(g)}: each task has its own and does not inherit its ` +
          "spawner's. Set it in this task first, pass a fallback to get(), or give the Local an init function",
      );
    }
    const first = init();
    values.set(g, first);
    return first;
  }

  /** Set the current greenlet's value. */
  set(value: T): void {
    this.#values.set(getCurrentGreenlet(), value);
  }

  /** Whether the current greenlet has a value (set, or made by `init`). */
  has(): boolean {
    return this.#values.has(getCurrentGreenlet());
  }

  /**
   * Forget the current greenlet's value; the next `get()` runs `init` again. Returns
   * whether there was one.
   */
  delete(): boolean {
    return this.#values.delete(getCurrentGreenlet());
  }
}
