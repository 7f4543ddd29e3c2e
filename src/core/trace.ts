/**
 * Tracing switches: Python greenlet's `settrace` / `gettrace`.
 *
 * @module
 */
import { getTracer, setTracer, type TraceFunction } from './switcher.js';

export type { TraceFunction };

/**
 * Install `fn` to be called on every transfer of control between greenlets of this
 * thread, and return the previous trace function (or null). `null` removes tracing.
 *
 * `fn(event, [origin, target])` runs after `target` has become current, where `event`
 * is `'switch'` for a value transfer (a switch, `run` returning to the parent, a switch
 * to itself) or `'throw'` for an error transfer (`throw()`, an uncaught error going to
 * the parent, a kill). Treat other events as reserved. The function must not switch
 * (that throws a `GreenletError`). If it throws, it is removed and its error is raised in
 * the target in place of the transfer.
 */
export function settrace(fn: TraceFunction | null): TraceFunction | null {
  if (fn !== null && typeof fn !== 'function') {
    throw new TypeError('settrace() takes a function or null');
  }
  return setTracer(fn);
}

/** The installed trace function, or null. */
export function gettrace(): TraceFunction | null {
  return getTracer();
}
