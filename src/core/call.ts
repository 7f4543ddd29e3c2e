/**
 * `call()`: run a generator function as a frame of the current greenlet, kept by the
 * switcher instead of V8's `yield*` chain.
 *
 * @module
 */
import { K_CALL, request, type SwitchOp, type SwitchSignal } from './switcher.js';

/**
 * Any function `call()` (and what is built on it: `withTimeout`, `sem.run`) can run: a
 * generator function, a plain function returning a switch operation (`() =>
 * queue.get()`), or a plain function returning a value.
 */
export type Callable = (...args: never[]) => unknown;

/**
 * What running `F` with `call()` evaluates to: a generator's return value, a switch
 * operation's result, or a plain function's return value.
 */
export type CallResult<F extends Callable> =
  ReturnType<F> extends Generator<SwitchSignal, infer R, unknown>
    ? R
    : ReturnType<F> extends SwitchOp<infer R>
      ? R
      : ReturnType<F>;

/**
 * Call `fn(...args)` as a new frame of the current greenlet and evaluate to what it
 * returns: `const n = yield* call(parse, input)`. It behaves like `yield* fn(...args)`
 * (errors, kills and `finally` blocks travel the same way), but the switcher keeps the
 * frame itself: a switch made 50 calls deep costs what a switch at the top costs, while
 * with nested `yield*` V8 passes every resume through each level. Use it for recursion
 * and deep call chains; plain `yield* fn()` is fine for shallow ones. A plain
 * (non-generator) `fn` is simply called.
 */
export function call<F extends Callable>(fn: F, ...args: Parameters<F>): SwitchOp<CallResult<F>> {
  return request(fn, K_CALL, args) as SwitchOp<CallResult<F>>;
}
