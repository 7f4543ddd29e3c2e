/**
 * The JavaScript-only rules of the core (J1–J6 of greenlet-semantics.md §16), which have
 * no Python counterpart: how a top-level switch behaves, and the named errors for every
 * way a switch can be written wrong.
 */
import { describe, expect, it } from 'vitest';
import { Greenlet, GreenletError, call, getcurrent, settrace, type GreenletBody } from 'greenlet-ts';

const main = getcurrent();

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('J1: a top-level switch is synchronous', () => {
  it('returns the value main is sent, before the next statement runs', () => {
    const order: string[] = [];
    const g = new Greenlet(function* (): GreenletBody<void> {
      order.push('in g');
      yield* main.switch('sent to main');
      order.push('g resumed');
    });
    const value = g.switch();
    order.push('after switch');
    expect(value).toBe('sent to main');
    expect(order).toEqual(['in g', 'after switch']);
    expect(getcurrent()).toBe(main);
  });

  it('throws, at the call, the error that reaches main', () => {
    class Boom extends Error {}
    const g = new Greenlet(function* () {
      throw new Boom('from g');
    });
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(Boom);
    expect((error as Error).message).toBe('from g');
    expect(getcurrent()).toBe(main);
  });

  it('returns when a child of main finishes, with its return value', () => {
    expect(new Greenlet(function* (a: number, b: number) {
      return a + b;
    }).switch(2, 3)).toBe(5);
  });
});

describe('J2: a switch request never delegated with yield* is reported', () => {
  it('fails the next switch of the same greenlet, naming the forgotten target', () => {
    const target = new Greenlet(function* () {});
    const g = new Greenlet(function* (): GreenletBody<void> {
      target.switch(); // forgot yield*
      yield* main.switch();
    });
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/built a switch to <Greenlet pending> but never performed it/);
    expect((error as Error).message).toContain('write `yield* target.switch(...)`');
    expect(target.started).toBe(false);
  });

  it('fails the greenlet when it finishes with the request still pending', () => {
    const target = new Greenlet(function* () {});
    const g = new Greenlet(function* () {
      target.throw(); // forgot yield*
      return 'done';
    });
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(
      /finished with a throw into <Greenlet pending> that was never performed: write `yield\* target\.switch\(\.\.\.\)`/,
    );
    expect(g.dead).toBe(true);
    expect(target.started).toBe(false);
  });

  it('reports a request made from a plain callback inside a greenlet', () => {
    const other = new Greenlet(function* () {});
    const g = new Greenlet(function* (): GreenletBody<void> {
      [1, 2].forEach(() => other.switch()); // the second call finds the first one pending
    });
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toContain('but never performed it');
  });

  it('turns a bare yield into a GreenletError raised at that yield', () => {
    const seen: unknown[] = [];
    const g = new Greenlet(function* () {
      try {
        yield 42 as never;
      } catch (e) {
        seen.push(e);
      }
      return 'recovered';
    });
    expect(g.switch()).toBe('recovered');
    expect(seen[0]).toBeInstanceOf(GreenletError);
    expect((seen[0] as Error).message).toMatch(/yielded 42 to the switcher: .* a bare `yield` is not a switch/);
  });
});

describe('J3: no switch while the switcher runs plain code', () => {
  it('refuses a switch from a trace function, and leaves tracing working', () => {
    const errors: unknown[] = [];
    const other = new Greenlet(function* () {});
    const previous = settrace(() => {
      try {
        other.switch();
      } catch (e) {
        errors.push(e);
      }
    });
    try {
      expect(new Greenlet(function* () {
        return 'ran';
      }).switch()).toBe('ran');
    } finally {
      settrace(previous);
    }
    // One refusal in the greenlet (current is g), one when the value goes back to main.
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e).toBeInstanceOf(GreenletError);
      expect((e as Error).message).toMatch(/cannot switch to <Greenlet pending> from inside a trace function/);
    }
    expect(other.started).toBe(false);
  });

  it('reports a switch that a plain function used as run builds and drops', () => {
    const other = new Greenlet(function* () {});
    const g = new Greenlet(() => {
      other.switch();
    });
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/finished with a switch to <Greenlet pending> that was never performed/);
    expect(g.dead).toBe(true);
    expect(other.started).toBe(false);
  });
});

describe('plain functions that return a switch', () => {
  it('a plain run may return a switch request: the switch is performed', () => {
    const order: string[] = [];
    const other = new Greenlet(function* (): GreenletBody<void> {
      order.push('other ran');
      yield* g.switch('back');
    });
    const g: Greenlet = new Greenlet(() => other.switch());
    expect(g.switch()).toBe('back');
    expect(order).toEqual(['other ran']);
    expect(g.dead).toBe(true);
  });

  it('a plain function given to call() may return a switch request', () => {
    const g = new Greenlet(function* () {
      return yield* call(() => main.switch('suspended in a call'));
    });
    expect(g.switch()).toBe('suspended in a call');
    expect(g.switch('resumed')).toBe('resumed');
  });
});

describe('bodies: generator objects and other iterators', () => {
  it('resumes generator functions made afresh for each greenlet with values and errors', () => {
    // Each closure's generator objects have a map of their own: the switcher resumes them
    // with %GeneratorPrototype%'s next/throw, never a lookup on the object.
    class Boom extends Error {}
    const seen: unknown[] = [];
    const greenlets = [1, 2, 3].map(
      (n) =>
        new Greenlet(function* (): GreenletBody<string> {
          seen.push(yield* main.switch(`ready ${n}`));
          try {
            yield* main.switch(`waiting ${n}`);
          } catch (e) {
            seen.push(e instanceof Boom ? `caught ${(e as Error).message}` : e);
          }
          return `done ${n}`;
        }),
    );
    expect(greenlets.map((g) => g.switch())).toEqual(['ready 1', 'ready 2', 'ready 3']);
    expect(greenlets.map((g, i) => g.switch(`value ${i + 1}`))).toEqual(['waiting 1', 'waiting 2', 'waiting 3']);
    expect(greenlets.map((g, i) => g.throw(new Boom(`boom ${i + 1}`)))).toEqual(['done 1', 'done 2', 'done 3']);
    expect(seen).toEqual(['value 1', 'value 2', 'value 3', 'caught boom 1', 'caught boom 2', 'caught boom 3']);
    expect(greenlets.every((g) => g.dead)).toBe(true);
  });

  it('resumes a body that is an operation, not a generator, after its call() frame returns', () => {
    // run returns the call() operation: that iterator is the body, the callee a frame over it.
    const g = new Greenlet(
      () =>
        call(function* (): GreenletBody<string> {
          const got = yield* main.switch('in the frame');
          return `frame got ${String(got)}`;
        }) as unknown as GreenletBody<string>,
    );
    expect(g.switch()).toBe('in the frame');
    expect(g.active).toBe(true);
    expect(g.switch('x')).toBe('frame got x');
    expect(g.dead).toBe(true);
  });

  it('raises an error thrown into a frame over an operation body at the switch that started it', () => {
    class Boom extends Error {}
    const g = new Greenlet(
      () =>
        call(function* (): GreenletBody<void> {
          yield* main.switch('in the frame');
        }) as unknown as GreenletBody<void>,
    );
    expect(g.switch()).toBe('in the frame');
    expect(caught(() => g.throw(new Boom('into the frame')))).toBeInstanceOf(Boom);
    expect(g.dead).toBe(true);
  });
});

describe('J4: what run may be', () => {
  it('accepts a plain function: its return value completes the greenlet at once', () => {
    const g = new Greenlet((x: number) => x * 2);
    expect(g.switch(21)).toBe(42);
    expect(g.dead).toBe(true);
  });

  it('refuses an async function at construction, saying what to write instead', () => {
    const error = caught(() => new Greenlet((async () => 1) as never));
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toBe(
      'run is async: the switcher cannot suspend an `await`. Write it as a generator function ' +
        '(`function*`) and switch with `yield*`; a promise is waited for from a greenlet through the hub, ' +
        'not with `await`',
    );
  });

  it('refuses an async run assigned later, at the assignment, without calling it', () => {
    let called = false;
    const g = new Greenlet();
    const error = caught(() => {
      g.run = (async () => {
        called = true;
      }) as never;
    });
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/^run is async/);
    expect(called).toBe(false);
    expect(g.run).toBeUndefined();
  });

  it('refuses an async generator method in a subclass', () => {
    class Async extends Greenlet {
      override run = (async function* () {}) as never;
    }
    const error = caught(() => new Async().switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/is async/);
  });
});

describe('J5: a generator outside any greenlet', () => {
  it('gets a TypeError from yield*, because the switch already ran synchronously', () => {
    const ran: string[] = [];
    const target = new Greenlet(function* () {
      ran.push('target');
      return 1;
    });
    function* notAGreenlet(): Generator<unknown, void, unknown> {
      yield* target.switch();
    }
    const error = caught(() => notAGreenlet().next());
    expect(error).toBeInstanceOf(TypeError);
    expect(ran).toEqual(['target']);
  });
});

describe('J6 / rule 69: event-loop callbacks run in main and may resume greenlets', () => {
  it('resumes a greenlet from a timer callback', async () => {
    const log: string[] = [];
    const g = new Greenlet(function* (): GreenletBody<void> {
      const v = yield* main.switch();
      log.push(`resumed with ${String(v)}`);
    });
    g.switch();
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(getcurrent()).toBe(main);
        g.switch('tick');
        resolve();
      }, 0),
    );
    expect(log).toEqual(['resumed with tick']);
    expect(g.dead).toBe(true);
  });

  it('resumes a greenlet from a promise reaction', async () => {
    const g = new Greenlet(function* () {
      return (yield* main.switch()) as number;
    });
    g.switch();
    const result = await Promise.resolve(20).then((v) => g.switch(v + 1));
    expect(result).toBe(21);
  });
});

describe('cross-thread identity', () => {
  it('refuses to switch to an object that is not a greenlet of this thread', () => {
    const copy = structuredClone({ ...new Greenlet() });
    const error = caught(() => Greenlet.prototype.switch.call(copy as Greenlet));
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(
      /^cannot switch to an object \(Object\): it is not a greenlet of this thread\. Greenlets never move between threads/,
    );
  });
});

describe('switchCount', () => {
  it('counts each transfer of control between greenlets', async () => {
    const { switchCount } = await import('greenlet-ts');
    const a = new Greenlet(function* (): GreenletBody<void> {
      yield* main.switch();
      yield* main.switch();
    });
    a.switch(); // start: not a transfer to a started greenlet, then a → main
    const before = switchCount();
    a.switch(); // main → a, a → main
    expect(switchCount() - before).toBe(2);
    a.switch(); // main → a, a ends → main
    expect(switchCount() - before).toBe(4);
  });
});

describe('engines that copy iterator results at every yield* (JavaScriptCore)', () => {
  /**
   * JavaScriptCore hands `generator.next()` a fresh `{ value, done }` object for a result
   * that came through `yield*`, where V8 passes the delegate's own object. A body that
   * copies every result behaves as JavaScriptCore does, on any engine.
   */
  function copyingResults(gen: Iterator<unknown>): Iterator<unknown> {
    const copy = (r: IteratorResult<unknown>): IteratorResult<unknown> => ({ value: r.value, done: r.done }) as IteratorResult<unknown>;
    return {
      next: (v?: unknown) => copy(gen.next(v)),
      throw: (e?: unknown) => copy((gen.throw as (e: unknown) => IteratorResult<unknown>)(e)),
    };
  }

  it('switches back and forth when every result object is a copy', () => {
    const order: unknown[] = [];
    const a: Greenlet = new Greenlet(() =>
      copyingResults(
        (function* (): GreenletBody<void> {
          order.push('a1');
          order.push(yield* b.switch('to b'));
          order.push('a2');
        })(),
      ) as GreenletBody<void>,
    );
    const b: Greenlet = new Greenlet(() =>
      copyingResults(
        (function* (first: unknown): GreenletBody<string> {
          order.push(first);
          yield* a.switch('back to a');
          return 'b done';
        })('to b'),
      ) as GreenletBody<string>,
    );
    a.switch();
    expect(order).toEqual(['a1', 'to b', 'back to a', 'a2']);
    expect(a.dead).toBe(true);
  });

  it('still reports a bare yield of a plain value', () => {
    const g = new Greenlet(() =>
      copyingResults(
        (function* () {
          yield 42 as never;
        })(),
      ) as GreenletBody<void>,
    );
    const error = caught(() => g.switch());
    expect(error).toBeInstanceOf(GreenletError);
    expect((error as Error).message).toMatch(/yielded 42 to the switcher/);
  });
});
