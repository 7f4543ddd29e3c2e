/**
 * Port of greenlet's `src/greenlet/tests/test_generator_nested.py` (anchor 74b3c41):
 * generators built from greenlets, consumed by other such generators.
 *
 * The reference's `genlet` is a greenlet subclass used as an iterator: each `next()`
 * records the consuming greenlet and switches into the genlet, and `Yield(value, level)`
 * switches `level` consumers up (a level-2 yield also leaves a `child` link so that the
 * next `next()` resumes the inner genlet directly). Port notes:
 * - `Yield` switches, so it is a generator function used as `yield* Yield(value)`; so is
 *   the reference's `nested(i)`.
 * - The reference puts `parent = None` on the class, which shadows greenlet's `parent`
 *   descriptor: `self.parent = getcurrent()` then stores the consumer in a plain
 *   attribute while the real parent link (used when the genlet dies) stays untouched.
 *   Here the consumer lives in a field with another name, `consumer`.
 * - Python's `__next__` switches in both places a genlet is consumed. Here top-level
 *   code (the main greenlet) uses the iterator protocol (`next()`, `for...of`), which
 *   switches synchronously, and code inside a genlet uses `yield* g.advance()`, the same
 *   step as a generator.
 * - Genlet classes are built by `Genlet(func)` as in the reference; instances are made
 *   with `new`.
 *
 * No test of this file is N/A. (test_genlet_bad and test_nested_genlets assert nothing
 * in the reference; the ports assert the error and the sequence the reference produces.)
 */
import { describe, expect, it } from 'vitest';
import { Greenlet, getcurrent, type GreenletBody } from 'greenlet-ts';

/** Python's built-in RuntimeError, which the reference's `Yield` raises. */
class RuntimeError extends Error {}

/** The reference's `genlet`. */
abstract class GenletBase<A extends unknown[]> extends Greenlet implements Iterable<unknown> {
  /** The reference's instance attribute `parent`: the greenlet that called `next()`. */
  consumer: Greenlet | null = null;
  child: GenletBase<unknown[]> | null = null;
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

  setChild(child: GenletBase<unknown[]>): void {
    this.child = child;
  }

  /** The first half of `__next__`: the greenlet to switch to (and the links it updates). */
  private resumeTarget(): Greenlet {
    if (this.child !== null) {
      let child = this.child;
      while (child.child !== null) {
        const tmp = child;
        child = child.child;
        tmp.child = null;
      }
      return child;
    }
    this.consumer = getcurrent();
    return this;
  }

  /** The second half of `__next__`: `if self: return result` else StopIteration. */
  private step(result: unknown): IteratorResult<unknown> {
    if (this.active) return { done: false, value: result };
    return { done: true, value: undefined };
  }

  /** `__next__` from the main greenlet (top-level code): switches synchronously. */
  next(): IteratorResult<unknown> {
    const result: unknown = this.resumeTarget().switch();
    return this.step(result);
  }

  /** `__next__` from inside a greenlet: `const r = yield* g.advance()`. */
  *advance(): GreenletBody<IteratorResult<unknown>> {
    const result: unknown = yield* this.resumeTarget().switch();
    return this.step(result);
  }

  /**
   * `__iter__`, for top-level `for...of`. The reference returns the genlet itself; here a
   * thin iterator over `next()`, because a greenlet's `throw()` is not an iterator's.
   */
  [Symbol.iterator](): Iterator<unknown> {
    return { next: () => this.next() };
  }
}

/** The reference's `Yield(value, level=1)`. */
function* Yield(value: unknown, level = 1): GreenletBody<void> {
  let g: Greenlet | null = getcurrent();
  while (level !== 0) {
    if (!(g instanceof GenletBase)) throw new RuntimeError('yield outside a genlet');
    if (level > 1) (g.consumer as GenletBase<unknown[]>).setChild(g);
    g = g.consumer;
    level -= 1;
  }
  yield* (g as Greenlet).switch(value);
}

/** The reference's `Genlet(func)`: a genlet class that runs `func`. */
function Genlet<A extends unknown[]>(func: (...args: A) => GreenletBody<void>) {
  return class TheGenlet extends GenletBase<A> {
    protected override fn(...args: A): GreenletBody<void> {
      return func(...args);
    }
  };
}

/**
 * `for x in genlet: body(x)` inside a greenlet (the reference's nested `for` loops over
 * genlets, which switch).
 */
function* forEachOf(genlet: GenletBase<unknown[]>, body: (x: unknown) => GreenletBody<void>): GreenletBody<void> {
  for (let r = yield* genlet.advance(); r.done !== true; r = yield* genlet.advance()) {
    yield* body(r.value);
  }
}

// ____________________________________________________________

/** A plain generator, for comparison (iterated by `for...of`; it never switches). */
function* g1(n: number, seen: number[]): Generator<number, void, unknown> {
  for (let i = 0; i < n; i++) {
    seen.push(i + 1);
    yield i;
  }
}

const G2 = Genlet(function* g2(n: number, seen: number[]): GreenletBody<void> {
  for (let i = 0; i < n; i++) {
    seen.push(i + 1);
    yield* Yield(i);
  }
});

function* nested(i: number): GreenletBody<void> {
  yield* Yield(i);
}

const G3 = Genlet(function* g3(n: number, seen: number[]): GreenletBody<void> {
  for (let i = 0; i < n; i++) {
    seen.push(i + 1);
    yield* nested(i);
  }
});

const Ax = Genlet(function* a(n: number): GreenletBody<void> {
  if (n === 0) return;
  yield* forEachOf(new Ax(n - 1), function* (ii) {
    yield* Yield(ii);
  });
  yield* Yield(n);
});

const Perms = Genlet(function* perms(l: number[]): GreenletBody<void> {
  if (l.length > 1) {
    for (const e of l) {
      // The reference: x = [Yield([e] + p) for p in perms([x for x in l if x != e])]; assert x
      const x: unknown[] = [];
      yield* forEachOf(new Perms(l.filter((y) => y !== e)), function* (p) {
        x.push(yield* Yield([e, ...(p as number[])]));
      });
      if (x.length === 0) throw new Error('assert x: the inner permutations yielded nothing');
    }
  } else {
    yield* Yield(l);
  }
});

const Gr1 = Genlet(function* gr1(n: number): GreenletBody<void> {
  for (let ii = 1; ii < n; ii++) {
    yield* Yield(ii);
    yield* Yield(ii * ii, 2);
  }
});

const Gr2 = Genlet(function* gr2(n: number, seen: number[]): GreenletBody<void> {
  yield* forEachOf(new Gr1(n), function* (ii) {
    seen.push(ii as number);
  });
});

describe('NestedGeneratorTests', () => {
  it('test_layered_genlets: a two-level Yield skips the consuming genlet and reaches the outer loop', () => {
    const seen: number[] = [];

    for (const ii of new Gr2(5, seen)) {
      seen.push(ii as number);
    }

    expect(seen).toEqual([1, 1, 2, 4, 3, 9, 4, 16]);
  });

  it('test_permutations: recursive genlets yield all 24 permutations of four items', () => {
    const genPerms = new Perms([0, 1, 2, 3]);

    const permutations = [...genPerms];

    expect(permutations).toHaveLength(4 * 3 * 2 * 1);
    expect(permutations).toContainEqual([0, 1, 2, 3]);
    expect(permutations).toContainEqual([3, 2, 1, 0]);
    expect(new Set(permutations.map((p) => JSON.stringify(p))).size).toBe(24);
  });

  it('test_permutations: zipping two permutation genlets interleaves them until the shorter ends', () => {
    const first = new Perms([0, 1, 2, 3]);
    const second = new Perms([0, 1, 2]);
    const res: unknown[] = [];

    // Python's zip(): next() of each iterator in turn, stop at the first exhausted one.
    for (;;) {
      const a = first.next();
      if (a.done === true) break;
      const b = second.next();
      if (b.done === true) break;
      res.push([a.value, b.value]);
    }

    expect(res).toEqual([
      [
        [0, 1, 2, 3],
        [0, 1, 2],
      ],
      [
        [0, 1, 3, 2],
        [0, 2, 1],
      ],
      [
        [0, 2, 1, 3],
        [1, 0, 2],
      ],
      [
        [0, 2, 3, 1],
        [1, 2, 0],
      ],
      [
        [0, 3, 1, 2],
        [2, 0, 1],
      ],
      [
        [0, 3, 2, 1],
        [2, 1, 0],
      ],
    ]);
  });

  it.each([
    ['a plain generator (g1)', (n: number, seen: number[]): Iterable<unknown> => g1(n, seen)],
    ['a genlet (g2)', (n: number, seen: number[]): Iterable<unknown> => new G2(n, seen)],
    ['a genlet yielding from a nested call (g3)', (n: number, seen: number[]): Iterable<unknown> => new G3(n, seen)],
  ])('test_genlet_simple: %s interleaves its steps with the consuming loop', (_name, g) => {
    const seen: number[] = [];

    for (let k = 0; k < 3; k++) {
      for (const j of g(5, seen)) {
        seen.push(j as number);
      }
    }

    expect(seen).toEqual([1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 1, 0, 2, 1, 3, 2, 4, 3, 5, 4]);
  });

  it('test_genlet_bad: Yield() from the main greenlet throws RuntimeError', () => {
    const call = () => Yield(10).next();

    expect(call).toThrow(RuntimeError);
    expect(call).toThrow('yield outside a genlet');
  });

  it('test_genlet_bad: Yield() in a plain greenlet throws RuntimeError, which kills it and reaches main', () => {
    const g = new Greenlet(function* () {
      yield* Yield(10);
    });

    expect(() => g.switch()).toThrow(RuntimeError);
    expect(g.dead).toBe(true);
  });

  it('test_nested_genlets: a genlet recursing through nested genlets yields 1..n', () => {
    const seen: unknown[] = [];

    for (const ii of new Ax(5)) {
      seen.push(ii);
    }

    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});
