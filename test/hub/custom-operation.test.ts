/**
 * The public protocol for a new kind of operation (src/core/operation.ts): an `Operation`
 * made with `blockingOperation`, whose method returns `lazy(op, this, a, b)`. It behaves
 * as the library's own: nothing happens until `yield*`, a dropped one is named, and plain
 * code gets a BlockingError.
 */
import { describe, expect, it } from 'vitest';
import {
  BlockingError,
  MissingYieldError,
  Queue,
  blockingOperation,
  lazy,
  run,
  sleep,
  spawn,
  type GreenletBody,
  type SwitchOp,
} from 'greenlet-ts';

/** A mailbox whose `take(n)` waits for n letters and evaluates to them, joined. */
class Mailbox {
  readonly letters = new Queue<string>();
  performed = 0;

  take(n: number): SwitchOp<string> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`mailbox.take(n) takes a whole number > 0, not ${n}`);
    return lazy(TAKE, this, n, undefined);
  }
}

const TAKE = blockingOperation<Mailbox, number, undefined, string>('mailbox.take()', function* (box, n): GreenletBody<string> {
  box.performed++;
  const got: string[] = [];
  while (got.length < n) got.push(yield* box.letters.get());
  return got.join('');
});

describe('an operation written with the public protocol', () => {
  it('does its work at the yield*, in the task that performs it', async () => {
    const box = new Mailbox();
    const result = await run(function* () {
      const taker = spawn(function* () {
        return yield* box.take(3);
      });
      for (const letter of ['a', 'b', 'c', 'd']) {
        box.letters.putNowait(letter);
        yield* sleep(0);
      }
      return yield* taker.get();
    });
    expect(result).toBe('abc');
    expect(box.letters.qsize()).toBe(1);
    expect(box.performed).toBe(1);
  });

  it('made without yield* does nothing, and the next operation names it', async () => {
    const box = new Mailbox();
    box.letters.putNowait('x');
    const error = await run(function* () {
      const slip = spawn(function* () {
        box.take(1); // forgot yield*
        yield* sleep(0);
      });
      yield* slip.join();
      return slip.exception;
    });
    expect(error).toBeInstanceOf(MissingYieldError);
    expect((error as Error).message).toMatch(/^mailbox\.take\(\) was never performed: write `yield\* mailbox\.take\(\)`/);
    expect(box.performed).toBe(0);
    expect(box.letters.qsize()).toBe(1);
  });

  it('made in plain code raises a BlockingError naming it; a bad argument raises at the call', () => {
    const box = new Mailbox();
    expect(() => box.take(1)).toThrow(BlockingError);
    expect(() => box.take(1)).toThrow(/^mailbox\.take\(\) blocks/);
    expect(() => box.take(0)).toThrow(new RangeError('mailbox.take(n) takes a whole number > 0, not 0'));
    expect(box.performed).toBe(0);
  });
});
