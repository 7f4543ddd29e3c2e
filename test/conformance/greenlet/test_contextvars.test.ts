/**
 * Conformance: context variables per greenlet (Python's `gr_context`).
 *
 * Port of greenlet's src/greenlet/tests/test_contextvars.py (the 8 ADAPT tests) and of
 * the doctests of docs/contextvars.rst (rules R-70..R-73 of greenlet-semantics.md).
 *
 * Spelling: `ContextVar<T>(name, { default })` with `get()`/`set()`; `Context` with
 * `get(var)` (Python's `ctx[var]`) and `run(fn, ...args)`; `copyContext()`; `g.context`
 * is Python's `gr_context`. `ctx.run` is not a bound method, so Python's
 * `greenlet(copy_context().run)` becomes `new Greenlet((...a) => ctx.run(f, ...a))`.
 *
 * Dropped: the reference-count assertions at the end of
 * test_context_assignment_while_running (`sys.getrefcount`; no reference counts in
 * JavaScript) and, in the same test, `del gr.gr_context` raising AttributeError (a
 * `delete` of an inherited accessor is a silent no-op in JavaScript, R-45/R-73).
 *
 * N/A in test_contextvars.py:
 * - test_context_assignment_different_thread: reading or writing the context of a
 *   greenlet running in another thread (ValueError); greenlets never cross threads in
 *   JavaScript.
 */
import { describe, expect, it } from 'vitest';
import { Context, ContextVar, Greenlet, copyContext, getcurrent, type GreenletBody, type Switched } from 'greenlet-ts';

// As the reference says: create context variables at module level, never in closures.
const ID_VAR = new ContextVar<number | null>('id', { default: null });

type PropagateBy = 'run' | 'set' | 'share' | null;

/** Python's `_increment`: a greenlet body that counts under its own id, twice. */
function* increment(
  greenletId: number,
  callback: () => Switched<unknown>,
  counts: Map<number, number>,
  expected: number | null,
): GreenletBody<void> {
  expect(ID_VAR.get()).toBe(expected);
  ID_VAR.set(greenletId);
  for (let i = 0; i < 2; i++) {
    const id = ID_VAR.get() as number;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    yield* callback();
  }
}

/** Python's `_test_context`, run by each test inside `copyContext().run(...)`. */
function testContext(propagateBy: PropagateBy): void {
  ID_VAR.set(0);

  const main = getcurrent();
  const callback = (): Switched<unknown> => main.switch();
  const counts = new Map<number, number>([0, 1, 2, 3, 4].map((i) => [i, 0]));

  const lets = [1, 2, 3, 4].map((i) => {
    const expected = propagateBy === 'share' ? i - 1 : propagateBy === 'set' || propagateBy === 'run' ? 0 : null;
    if (propagateBy === 'run') {
      const ctx = copyContext();
      return new Greenlet(() => ctx.run(increment, i, callback, counts, expected));
    }
    return new Greenlet(() => increment(i, callback, counts, expected));
  });

  for (const glet of lets) {
    if (propagateBy === 'set') glet.context = copyContext();
    else if (propagateBy === 'share') glet.context = getcurrent().context;
  }

  for (let i = 0; i < 2; i++) {
    const id = ID_VAR.get() as number;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const glet of lets) glet.switch();
  }

  if (propagateBy === 'run') {
    // Python must leave each context.run() in reverse order of entry (the port need not).
    for (const glet of [...lets].reverse()) glet.switch();
  } else {
    for (const glet of lets) glet.switch();
  }

  for (const glet of lets) {
    expect(glet.dead).toBe(true);
    // With run(), the greenlet leaves the run() as it dies and there is no context
    // "underneath"; otherwise the context still reflects the one it was running in.
    if (propagateBy === 'run') expect(glet.context).toBeNull();
    else expect(glet.context).not.toBeNull();
  }

  if (propagateBy === 'share') {
    expect(Object.fromEntries(counts)).toEqual({ 0: 1, 1: 1, 2: 1, 3: 1, 4: 6 });
  } else {
    expect(new Set(counts.values())).toEqual(new Set([2]));
  }
}

function newCtxRun(propagateBy: PropagateBy): void {
  copyContext().run(testContext, propagateBy);
}

describe('test_contextvars.py', () => {
  it('test_context_propagated_by_context_run: greenlets running inside Context.run see a copy, isolated from each other', () => {
    newCtxRun('run');
  });

  it('test_context_propagated_by_setting_attribute: a copied context assigned before the start is inherited and isolated', () => {
    newCtxRun('set');
  });

  it('test_context_not_propagated: a new greenlet starts in an empty context', () => {
    newCtxRun(null);
  });

  it("test_context_shared: greenlets given the creator's context share it", () => {
    newCtxRun('share');
  });

  it('test_break_ctxvars: leaving Context.run in another order than entered does not break anything', () => {
    const main = getcurrent();
    const ctx1 = copyContext();
    const ctx2 = copyContext();
    const let1 = new Greenlet((f: () => GreenletBody<unknown>) => ctx1.run(f));
    const let2 = new Greenlet((f: () => GreenletBody<unknown>) => ctx2.run(f));
    const toMain = function* (): GreenletBody<unknown> {
      return yield* main.switch();
    };
    expect(let1.switch(toMain)).toEqual([]);
    expect(let2.switch(toMain)).toEqual([]);
    // let2 entered its context after let1; let1 now leaves its own first. CPython's
    // Context.run would complain; a greenlet's run is not affected.
    expect(let1.switch()).toEqual([]);
    expect(let1.dead).toBe(true);
    expect(let1.context).toBeNull();
    expect(let2.active).toBe(true);
    expect(let2.switch()).toEqual([]);
    expect(let2.dead).toBe(true);
    expect(let2.context).toBeNull();
  });

  it('test_not_broken_if_using_attribute_instead_of_context_run: assigned contexts tolerate any switch order', () => {
    const main = getcurrent();
    const toMain = function* (): GreenletBody<unknown> {
      return yield* main.switch();
    };
    const let1 = new Greenlet(toMain);
    const let2 = new Greenlet(toMain);
    const ctx1 = copyContext();
    const ctx2 = copyContext();
    let1.context = ctx1;
    let2.context = ctx2;
    expect(let1.switch()).toEqual([]);
    expect(let2.switch()).toEqual([]);
    expect(let1.switch()).toEqual([]);
    expect(let2.switch()).toEqual([]);
    expect(let1.dead).toBe(true);
    expect(let2.dead).toBe(true);
    expect(let1.context).toBe(ctx1);
    expect(let2.context).toBe(ctx2);
  });

  it('test_context_assignment_while_running: the context is created lazily and can be replaced while running or suspended', () => {
    ID_VAR.set(null);

    const gr: Greenlet = new Greenlet(function* () {
      expect(ID_VAR.get()).toBeNull();
      expect(gr.context).toBeNull();

      // Context is created on first use
      ID_VAR.set(1);
      expect(gr.context).toBeInstanceOf(Context);
      expect(ID_VAR.get()).toBe(1);
      expect(gr.context!.get(ID_VAR)).toBe(1);

      // Clearing the context makes it get re-created as another empty context when next used
      const oldContext = gr.context!;
      gr.context = null; // assign null while running
      expect(ID_VAR.get()).toBeNull();
      expect(gr.context).toBeNull();
      ID_VAR.set(2);
      expect(gr.context).toBeInstanceOf(Context);
      expect(ID_VAR.get()).toBe(2);
      expect(gr.context!.get(ID_VAR)).toBe(2);

      const newContext = gr.context!;
      yield* getcurrent().parent!.switch([oldContext, newContext]);
      // parent switches us back to oldContext

      expect(ID_VAR.get()).toBe(1);
      gr.context = newContext; // assign non-null while running
      expect(ID_VAR.get()).toBe(2);

      yield* getcurrent().parent!.switch();
      // parent switches us back to no context
      expect(ID_VAR.get()).toBeNull();
      expect(gr.context).toBeNull();
      gr.context = oldContext;
      expect(ID_VAR.get()).toBe(1);

      yield* getcurrent().parent!.switch();
      // parent switches us back to no context
      expect(ID_VAR.get()).toBeNull();
      expect(gr.context).toBeNull();
    });

    expect(gr.context).toBeNull();
    const [oldContext, newContext] = gr.switch() as [Context, Context];
    expect(newContext).toBe(gr.context);
    expect(oldContext.get(ID_VAR)).toBe(1);
    expect(newContext.get(ID_VAR)).toBe(2);
    expect(newContext.run(() => ID_VAR.get())).toBe(2);
    gr.context = oldContext; // assign non-null while suspended
    gr.switch();
    expect(gr.context).toBe(newContext);
    gr.context = null; // assign null while suspended
    gr.switch();
    expect(gr.context).toBe(oldContext);
    gr.context = null;
    gr.switch();
    expect(gr.context).toBeNull();
    expect(gr.dead).toBe(true);
  });

  it('test_context_assignment_wrong_type: assigning anything but a Context or null raises TypeError', () => {
    const g = new Greenlet();
    const notAContext: unknown = { vars: new Map() };
    expect(() => {
      g.context = notAContext as Context;
    }).toThrow(TypeError);
    expect(() => {
      g.context = notAContext as Context;
    }).toThrow(/greenlet context must be a Context or null/);
    expect(g.context).toBeNull();
  });
});

describe('docs/contextvars.rst', () => {
  const example = new ContextVar<number>('example', { default: 0 });

  /** The doc's `set_it`, printing into `out`. */
  function setIt(out: string[]) {
    return function* (nextValue: number): GreenletBody<void> {
      const previousValue = example.get();
      out.push(`Value of example in greenlet  : ${previousValue}`);
      out.push(`Setting example in greenlet to: ${nextValue}`);
      example.set(nextValue);
    };
  }

  /** Each example runs in a copy of main's context, with `example` set to 1 there. */
  function inMainCopy(fn: () => void): void {
    copyContext().run(() => {
      example.set(1);
      fn();
    });
  }

  it('a new greenlet gets an empty context, unrelated to the current one', () => {
    inMainCopy(() => {
      const out: string[] = [];
      const gr1 = new Greenlet(setIt(out));
      gr1.switch(2);
      expect(out).toEqual(['Value of example in greenlet  : 0', 'Setting example in greenlet to: 2']);
      expect(example.get()).toBe(1);
    });
  });

  it('a greenlet given copyContext() sees a copy of the current context', () => {
    inMainCopy(() => {
      const out: string[] = [];
      const gr2 = new Greenlet(setIt(out));
      gr2.context = copyContext();
      gr2.switch(2);
      expect(out).toEqual(['Value of example in greenlet  : 1', 'Setting example in greenlet to: 2']);
      expect(example.get()).toBe(1); // not in the doc: the copy is isolated
    });
  });

  it("a greenlet given getcurrent().context shares the current context", () => {
    inMainCopy(() => {
      const out: string[] = [];
      const gr3 = new Greenlet(setIt(out));
      gr3.context = getcurrent().context;
      gr3.switch(2);
      expect(out).toEqual(['Value of example in greenlet  : 1', 'Setting example in greenlet to: 2']);
      expect(example.get()).toBe(2); // not in the doc: the context is shared
    });
  });

  it('a greenlet whose run is wrapped in copyContext().run runs in that copy', () => {
    inMainCopy(() => {
      const out: string[] = [];
      const ctx = copyContext();
      const gr4 = new Greenlet((f: (v: number) => GreenletBody<void>, v: number) => ctx.run(f, v));
      gr4.switch(setIt(out), 2);
      expect(out).toEqual(['Value of example in greenlet  : 1', 'Setting example in greenlet to: 2']);
      expect(example.get()).toBe(1);
    });
  });
});
