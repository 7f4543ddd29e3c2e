/**
 * Port of greenlet's `src/greenlet/tests/test_generator.py` (anchor 74b3c41): a
 * generator built from greenlets.
 *
 * The reference's `genlet` is a greenlet subclass used as an iterator: each `next()`
 * records the consuming greenlet and switches into the genlet, and `Yield(value)` (called
 * anywhere inside the genlet) switches back to that consumer. Port notes:
 * - `Yield` switches, so it is a generator function used as `yield* Yield(value)`.
 * - The reference puts `parent = None` on the class, which shadows greenlet's `parent`
 *   descriptor: `self.parent = getcurrent()` then stores the consumer in a plain
 *   attribute while the real parent link (used when the genlet dies) stays untouched.
 *   Here the consumer lives in a field with another name, `consumer`.
 * - `next()` switches synchronously, so genlets are iterated from the main greenlet
 *   (top-level code), as the reference test does.
 *
 * No test of this file is N/A.
 */
import { describe, expect, it } from 'vitest';
import { Greenlet, getcurrent, type GreenletBody } from 'greenlet-ts';

/** Python's built-in RuntimeError, which the reference's `Yield` raises. */
class RuntimeError extends Error {}

/** The reference's `genlet`. */
abstract class Genlet<A extends unknown[]> extends Greenlet implements Iterable<unknown> {
  /** The reference's instance attribute `parent`: the greenlet that called `next()`. */
  consumer: Greenlet | null = null;
  readonly args: A;

  constructor(...args: A) {
    super();
    this.args = args;
  }

  /** The reference's class attribute `fn`: the function the genlet runs. */
  protected abstract fn(...args: A): GreenletBody<void>;

  override *run(): GreenletBody<void> {
    yield* this.fn(...this.args);
  }

  /**
   * `__iter__`. The reference returns the genlet itself; here a thin iterator over
   * `next()`, because a greenlet's `throw()` is not an iterator's `throw()`.
   */
  [Symbol.iterator](): Iterator<unknown> {
    return { next: () => this.next() };
  }

  /** `__next__`, from the main greenlet: switch into the genlet until it yields or dies. */
  next(): IteratorResult<unknown> {
    this.consumer = getcurrent();
    const result: unknown = this.switch();
    if (this.active) return { done: false, value: result };
    return { done: true, value: undefined };
  }
}

/** The reference's `Yield(value)`: switch to the consumer of the nearest enclosing genlet. */
function* Yield(value: unknown): GreenletBody<void> {
  let g: Greenlet | null = getcurrent();
  while (!(g instanceof Genlet)) {
    if (g === null) throw new RuntimeError('yield outside a genlet');
    g = g.parent;
  }
  const consumer = g.consumer;
  if (consumer === null) throw new RuntimeError('genlet has no consumer');
  yield* consumer.switch(value);
}

/** The reference's `generator(func)`: a genlet class that runs `func`. */
function generator<A extends unknown[]>(func: (...args: A) => GreenletBody<void>) {
  return class Generator extends Genlet<A> {
    protected override fn(...args: A): GreenletBody<void> {
      return func(...args);
    }
  };
}

describe('GeneratorTests', () => {
  it('test_generator: a genlet yields each value to the loop that iterates it, three times over', () => {
    const seen: number[] = [];
    const G = generator(function* g(n: number): GreenletBody<void> {
      for (let i = 0; i < n; i++) {
        seen.push(i);
        yield* Yield(i);
      }
    });

    for (let k = 0; k < 3; k++) {
      for (const j of new G(5)) {
        seen.push(j as number);
      }
    }

    expect(seen).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  });
});
