/**
 * Performing an operation that must fail: `expect(yield* raisedBy(q.get())).toBeInstanceOf(ShutDown)`.
 * Operations are lazy (they do nothing until `yield*` runs them), so their errors come
 * from the `yield*`, not from the call that makes them.
 */
import type { GreenletBody, SwitchOp } from 'greenlet-ts';

/** Perform `op` and evaluate to the error it raised; fail if it raised none. */
export function* raisedBy(op: SwitchOp<unknown>): GreenletBody<unknown> {
  let value: unknown;
  try {
    value = yield* op;
  } catch (e) {
    return e;
  }
  throw new Error(`expected the operation to raise, but it evaluated to ${String(value)}`);
}
