/**
 * Type tests: what TypeScript infers for greenlets, switches and calls.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  Context,
  ContextVar,
  Greenlet,
  call,
  getcurrent,
  type GreenletBody,
  type SwitchOp,
  type SwitchSignal,
} from 'greenlet-ts';

describe('Greenlet type parameters', () => {
  it('infers the parameters and result of a generator run', () => {
    const g = new Greenlet(function* (a: number, b: string) {
      yield* getcurrent().switch();
      return `${b}${a}`;
    });
    expectTypeOf(g).toEqualTypeOf<Greenlet<[a: number, b: string], string>>();
  });

  it('infers the result of a plain-function run', () => {
    const g = new Greenlet((x: number) => x > 0);
    expectTypeOf(g).toEqualTypeOf<Greenlet<[x: number], boolean>>();
  });

  it('types a subclass run method', () => {
    class Parser extends Greenlet<[input: string], number> {
      override *run(input: string): GreenletBody<number> {
        yield* getcurrent().switch();
        return input.length;
      }
    }
    expectTypeOf<Parser['run']>().toEqualTypeOf<(input: string) => GreenletBody<number>>();
  });

  it('is assignable to the unparameterised Greenlet', () => {
    const g = new Greenlet(function* (n: number) {
      return n;
    });
    expectTypeOf(g).toExtend<Greenlet>();
    expectTypeOf(getcurrent()).toEqualTypeOf<Greenlet>();
  });
});

describe('what yield* evaluates to', () => {
  it('is unknown for a switch, unless the caller states the type', () => {
    function* body(other: Greenlet): GreenletBody<void> {
      const v = yield* other.switch(1);
      expectTypeOf(v).toBeUnknown();
      const n = yield* other.switch<number>(2);
      expectTypeOf(n).toBeNumber();
      const t = yield* other.throw<string>(new Error('x'));
      expectTypeOf(t).toBeString();
    }
    expectTypeOf(body).returns.toEqualTypeOf<GreenletBody<void>>();
  });

  it('is the callee result type for call()', () => {
    function* parse(text: string): GreenletBody<number[]> {
      return text.split(',').map(Number);
    }
    function* body(): GreenletBody<void> {
      const numbers = yield* call(parse, '1,2');
      expectTypeOf(numbers).toEqualTypeOf<number[]>();
      // @ts-expect-error: the arguments are checked against the callee's parameters
      yield* call(parse, 42);
    }
    expectTypeOf(body).returns.toEqualTypeOf<GreenletBody<void>>();
  });

  it('makes a bare yield in a greenlet body a type error', () => {
    function* bad(): GreenletBody<void> {
      // @ts-expect-error: only switch signals travel through a greenlet's yield
      yield 5;
    }
    expectTypeOf(bad).returns.toEqualTypeOf<GreenletBody<void>>();
  });

  it('gives a top-level switch the stated type', () => {
    const g = new Greenlet(function* () {
      return 1;
    });
    const n: number = g.switch<number>();
    expectTypeOf(n).toBeNumber();
    expectTypeOf(g.switch<number>()).toExtend<SwitchOp<number>>();
  });
});

describe('signals and contexts', () => {
  it('types the generator a switch delegates to', () => {
    expectTypeOf<ReturnType<SwitchOp<string>[typeof Symbol.iterator]>>().toEqualTypeOf<
      Iterator<SwitchSignal, string, unknown>
    >();
  });

  it('types context variables by their value', () => {
    const v = new ContextVar<number>('n', { default: 0 });
    expectTypeOf(v.get()).toBeNumber();
    expectTypeOf(new Context().get(v)).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: the value must match the variable's type
    v.set('x');
  });
});

describe('iterable values', () => {
  it('keeps the stated type when it is itself iterable', () => {
    function* body(other: Greenlet): GreenletBody<void> {
      const list = yield* other.switch<number[]>();
      expectTypeOf(list).toEqualTypeOf<number[]>();
      const text = yield* other.switch<string>();
      expectTypeOf(text).toBeString();
    }
    expectTypeOf(body).returns.toEqualTypeOf<GreenletBody<void>>();
    const g = new Greenlet(function* () {
      return [1];
    });
    // At top level an iterable value keeps every member but its iterator.
    const list = g.switch<number[]>();
    expectTypeOf(list.length).toBeNumber();
    expectTypeOf(list[0]).toEqualTypeOf<number | undefined>();
    expectTypeOf(list.map((x) => String(x))).toEqualTypeOf<string[]>();
  });
});

describe('call() and what builds on it', () => {
  it('types generator functions, plain functions and functions returning a switch', () => {
    function* body(other: Greenlet): GreenletBody<void> {
      const a = yield* call(function* (n: number): GreenletBody<number> {
        return n;
      }, 1);
      expectTypeOf(a).toBeNumber();
      const b = yield* call((s: string) => s.toUpperCase(), 'x');
      expectTypeOf(b).toBeString();
      const c = yield* call(() => other.switch<boolean>());
      expectTypeOf(c).toBeBoolean();
    }
    expectTypeOf(body).returns.toEqualTypeOf<GreenletBody<void>>();
  });
});

describe('spawn and run', () => {
  it('type the task from generator functions, plain functions and functions returning a switch', async () => {
    const { spawn, run, Queue } = await import('greenlet-ts');
    const q = new Queue<number>();
    expectTypeOf(spawn(function* (n: number): GreenletBody<string> {
      return String(n);
    }, 1)).toEqualTypeOf<import('greenlet-ts').Task<string, [n: number]>>();
    expectTypeOf(spawn((s: string) => s.length, 'x')).toEqualTypeOf<import('greenlet-ts').Task<number, [s: string]>>();
    expectTypeOf(spawn(() => q.get())).toEqualTypeOf<import('greenlet-ts').Task<number, []>>();
    expectTypeOf(run(() => [1, 2])).toEqualTypeOf<Promise<number[]>>();
  });
});
