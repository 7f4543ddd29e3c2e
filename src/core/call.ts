/**
 * `call()`: run a generator function as a frame of the current greenlet, kept by the
 * switcher instead of V8's `yield*` chain.
 *
 * @module
 */
import { K_CALL, request, type SwitchOp, type SwitchSignal } from './switcher.js';

/**
 * Call `fn(...args)` as a new frame of the current greenlet and evaluate to what it
 * returns: `const n = yield* call(parse, input)`. It behaves like `yield* fn(...args)`
 * (errors, kills and `finally` blocks travel the same way), but the switcher keeps the
 * frame itself: a switch made 50 calls deep costs what a switch at the top costs, while
 * with nested `yield*` V8 passes every resume through each level. Use it for recursion
 * and deep call chains; plain `yield* fn()` is fine for shallow ones. A plain
 * (non-generator) `fn` is simply called.
 */
export function call<A extends unknown[], R>(
  fn: (...args: A) => Generator<SwitchSignal, R, unknown> | R,
  ...args: A
): SwitchOp<R> {
  return request(fn, K_CALL, args) as SwitchOp<R>;
}
