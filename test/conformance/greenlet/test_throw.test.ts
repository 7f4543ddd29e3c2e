/**
 * Port of greenlet's `src/greenlet/tests/test_throw.py` (anchor 74b3c41): the PORTABLE
 * and ADAPT tests of the catalog (`greenlet-tests-catalog.md`).
 *
 * Not applicable (N/A) to a JavaScript port, with the reason:
 * - test_non_traceback_param: `throw()`'s third argument (a traceback object) does not
 *   exist in JS; errors carry their own stack (R-36).
 */
import { describe, expect, it } from 'vitest';
import { Greenlet, GreenletExit, getcurrent, type GreenletBody } from 'greenlet-ts';

/** Python's built-in RuntimeError and IndexError, which the reference throws. */
class RuntimeError extends Error {}
class IndexError extends Error {}

/** The error `action` throws; fails the test when it returns normally. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  throw new Error('expected the action to throw, but it returned normally');
}

/** The reference's `switch(*args)`: `greenlet.getcurrent().parent.switch(*args)`. */
function* switchToParent(...args: unknown[]): GreenletBody<unknown> {
  const parent = getcurrent().parent;
  if (parent === null) throw new Error('switchToParent() called from the main greenlet');
  return yield* parent.switch(...args);
}

describe('ThrowTests', () => {
  it('test_class: throw(ErrorClass) raises a new instance at the pending switch, where it is caught', () => {
    function* f(): GreenletBody<void> {
      try {
        yield* switchToParent('ok');
      } catch (e) {
        if (!(e instanceof RuntimeError)) throw e;
        yield* switchToParent('ok');
        return;
      }
      yield* switchToParent('fail');
    }
    const g = new Greenlet(f);
    const first = g.switch();
    expect(first).toBe('ok');

    const res = g.throw(RuntimeError);

    expect(res).toBe('ok');
  });

  /** The reference's `f` of test_val: replies "ok" only for a RuntimeError("ciao"). */
  function* expectsCiao(): GreenletBody<void> {
    try {
      yield* switchToParent('ok');
    } catch (e) {
      if (!(e instanceof RuntimeError)) throw e;
      if (e.message === 'ciao') {
        yield* switchToParent('ok');
        return;
      }
    }
    yield* switchToParent('fail');
  }

  it('test_val: throw(instance) delivers that instance with its message', () => {
    const g = new Greenlet(expectsCiao);
    const first = g.switch();
    expect(first).toBe('ok');

    const res = g.throw(new RuntimeError('ciao'));

    expect(res).toBe('ok');
  });

  it('test_val: throw(ErrorClass, "ciao") instantiates the class with the message', () => {
    const g = new Greenlet(expectsCiao);
    const first = g.switch();
    expect(first).toBe('ok');

    const res = g.throw(RuntimeError, 'ciao');

    expect(res).toBe('ok');
  });

  it('test_kill: throw() kills with GreenletExit and returns it', () => {
    const sent: unknown[] = [];
    function* f(): GreenletBody<void> {
      sent.push(yield* switchToParent('ok'));
      yield* switchToParent('fail');
    }
    const g = new Greenlet(f);
    const first = g.switch();
    expect(first).toBe('ok');

    const res = g.throw();

    expect(res).toBeInstanceOf(GreenletExit);
    expect(g.dead).toBe(true);
    expect(sent).toEqual([]);
  });

  it('test_kill: throw() on a dead greenlet is eaten and returns a GreenletExit', () => {
    function* f(): GreenletBody<void> {
      yield* switchToParent('ok');
      yield* switchToParent('fail');
    }
    const g = new Greenlet(f);
    g.switch();
    g.throw();
    expect(g.dead).toBe(true);

    const res = g.throw(); // immediately eaten by the already-dead greenlet

    expect(res).toBeInstanceOf(GreenletExit);
    expect(g.dead).toBe(true);
  });

  describe('test_throw_goes_to_original_parent', () => {
    const main = getcurrent();

    function* f1(): GreenletBody<string> {
      try {
        yield* main.switch('f1 ready to catch');
      } catch (e) {
        if (!(e instanceof IndexError)) throw e;
        return 'caught';
      }
      return 'normal exit';
    }

    function* f2(): GreenletBody<void> {
      yield* main.switch('from f2');
    }

    it('test_throw_goes_to_original_parent: a throw into an unstarted greenlet kills it and its unstarted parent, and reaches main', () => {
      const g1 = new Greenlet(f1);
      const g2 = new Greenlet(f2, g1);

      const error = thrownBy(() => g2.throw(IndexError));

      expect(error).toBeInstanceOf(IndexError);
      expect(g2.dead).toBe(true);
      expect(g1.dead).toBe(true);
    });

    it('test_throw_goes_to_original_parent: a throw into an unstarted greenlet goes to its suspended parent, which catches it', () => {
      const g1 = new Greenlet(f1);
      const g2 = new Greenlet(f2, g1);
      const ready = g1.switch();
      expect(ready).toBe('f1 ready to catch');

      const res = g2.throw(IndexError);

      expect(res).toBe('caught');
      expect(g2.dead).toBe(true);
      expect(g1.dead).toBe(true);
    });

    it('test_throw_goes_to_original_parent: a throw into a suspended greenlet goes to its parent, not to the thrower', () => {
      const g1 = new Greenlet(f1);
      const g2 = new Greenlet(f2, g1);
      const ready = g1.switch();
      expect(ready).toBe('f1 ready to catch');
      const fromF2 = g2.switch();
      expect(fromF2).toBe('from f2');

      const res = g2.throw(IndexError);

      expect(res).toBe('caught');
      expect(g2.dead).toBe(true);
      expect(g1.dead).toBe(true);
    });
  });

  it('test_instance_of_wrong_type: an instance plus a separate value is a TypeError', () => {
    const error = thrownBy(() => getcurrent().throw(new Error(), new Error()));

    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('instance exception may not have a separate value');
  });

  it('test_not_throwable: throwing a string is a TypeError', () => {
    // @ts-expect-error -- a string is neither an Error nor an Error class
    const error = thrownBy(() => getcurrent().throw('abc'));

    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('exceptions must be classes, or instances, not string');
  });
});
