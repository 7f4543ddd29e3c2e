/**
 * The one-word slip, staged: a task makes an operation without `yield*` (and looks at what
 * the operation would have touched), while a bystander task is ready to run.
 * `const error = yield* slipBeside(() => { socket.readLine(); ... })`, then
 * `expectMissingYield(error, 'socket.readLine()')`.
 */
import { expect } from 'vitest';
import { MissingYieldError, sleep, spawn, type GreenletBody } from 'greenlet-ts';

/**
 * Run `slip` in a task of its own, beside a bystander task that is ready at that moment;
 * the task then makes its next operation (`sleep(0)`), where the forgotten one is
 * reported. Asserts that the bystander ran to its end; evaluates to the error the
 * slipping task failed with (null if it did not fail).
 */
export function* slipBeside(slip: () => void): GreenletBody<unknown> {
  const log: string[] = [];
  const bystander = spawn(function* () {
    log.push('bystander starts');
    yield* sleep(0);
    log.push('bystander ends');
    return 'done';
  });
  const slipping = spawn(function* () {
    slip();
    yield* sleep(0);
  });
  yield* slipping.join();
  expect(yield* bystander.get()).toBe('done');
  expect(log).toEqual(['bystander starts', 'bystander ends']);
  return slipping.exception ?? null;
}

/** `error` is the MissingYieldError that names `operation` and says to write `yield* operation`. */
export function expectMissingYield(error: unknown, operation: string): void {
  expect(error).toBeInstanceOf(MissingYieldError);
  const name = operation.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect((error as Error).message).toMatch(new RegExp(`^${name} was never performed: write \`yield\\* ${name}\``));
}
