/**
 * Conformance: garbage collection of greenlets and the kill of unreachable ones.
 *
 * Ports of greenlet's src/greenlet/tests/test_gc.py, test_weakref.py (3 tests), the GC
 * tests of test_greenlet.py (test_dealloc, test_dealloc_catches_GreenletExit_throws_other,
 * test_parent_restored_on_kill) and the doctests of docs/greenlet_gc.rst
 * (rules R-55..R-61 of greenlet-semantics.md).
 *
 * How the port differs from CPython (and so how these tests are written):
 * - the kill of unreachable greenlets is opt-in: every test here runs with
 *   `setKillUnreachable(true)` and its own unraisable hook, both restored afterwards;
 * - JavaScript finalizes asynchronously and in no guaranteed order: a test drops
 *   its references, then waits for an end state with `collectUntil` (bounded rounds of
 *   `gc()` + a macrotask); nothing is asserted about the moment or the order of kills;
 * - greenlets are created and switched in synchronous helpers, so that no frame of the
 *   async test function keeps a reference to them, and their bodies never capture their
 *   own greenlet (a greenlet referenced from its own suspended frames is never collected:
 *   the documented limit R-61, pinned by the last test);
 * - "nothing in gc.garbage" assertions are dropped (no such list in JavaScript); Python's
 *   `__del__` finalizers become a FinalizationRegistry.
 *
 * N/A in test_gc.py:
 * - test_crashing_deferred_object (3.15+): `gc.collect()` inside a greenlet touching
 *   CPython's deferred reference counts; `gc()` inside a greenlet is ordinary synchronous
 *   code in JavaScript.
 * N/A in test_weakref.py: none.
 * N/A GC-related tests of test_greenlet.py (listed for completeness; the file's other
 * tests are ported elsewhere):
 * - test_dealloc_other_thread: a greenlet dropped from another thread; greenlets
 *   never cross threads in JavaScript;
 * - test_dealloc_switch_args_not_lost: the last reference lost in the middle of a switch
 *   JavaScript's GC never runs inside a synchronous switch;
 * - test_issue_245_reference_counting_subclass_(no_)threads: CPython reference counts.
 * N/A in docs/greenlet_gc.rst: the first "Manually Clearing Cycles Works" example runs
 * `run()` outside any greenlet: plain garbage collection, nothing of greenlet's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Greenlet,
  GreenletExit,
  getcurrent,
  setKillUnreachable,
  setUnraisableHook,
  type GreenletBody,
  type SwitchOp,
  type UnraisableHook,
} from 'greenlet-ts';
import { collectRounds, collectUntil } from './fixtures/gc-harness.js';

class SomeError extends Error {
  static {
    this.prototype.name = 'SomeError';
  }
}

/** Errors the unraisable hook received during the current test. */
let unraisable: { error: unknown; greenlet: Greenlet }[] = [];
let previousKill = false;
let previousHook: UnraisableHook | undefined;

beforeEach(() => {
  unraisable = [];
  previousKill = setKillUnreachable(true);
  previousHook = setUnraisableHook((error, greenlet) => {
    unraisable.push({ error, greenlet });
  });
});

afterEach(() => {
  setKillUnreachable(previousKill);
  if (previousHook !== undefined) setUnraisableHook(previousHook);
});

/**
 * The greenlets a test holds on to, by name. The async test functions never hold a
 * greenlet themselves (a suspended async function may keep dead temporaries alive); they
 * drop one with `parked.delete(name)`.
 */
const parked = new Map<string, Greenlet>();
afterEach(() => parked.clear());

/** Create a greenlet, switch to it once, keep it under `name`; returns what main got. */
function park<A extends unknown[]>(
  name: string,
  run: (...args: A) => GreenletBody<unknown>,
  parent: Greenlet | null,
  ...args: A
): unknown {
  const g = new Greenlet(run, parent);
  parked.set(name, g);
  return g.switch(...args);
}

/**
 * `getcurrent().parent`, evaluated in a plain function. A greenlet body that evaluated
 * `getcurrent()` itself could keep its own greenlet in a temporary of its suspended
 * frame (V8 saves the whole register file of a suspended generator), which pins it like
 * a closure over its own variable: such a greenlet is never collected.
 */
function parentOfCurrent(): Greenlet {
  return getcurrent().parent!;
}

/** `getcurrent()[name] = value` (or delete it), out of the greenlet's frame (see above). */
function setOnCurrent(name: string, value: unknown): void {
  const current = getcurrent() as unknown as Record<string, unknown>;
  if (value === undefined) delete current[name];
  else current[name] = value;
}

/** Python's `fmain` (test_greenlet.py): records the class of what interrupts it. */
function* fmain(seen: unknown[]): GreenletBody<never> {
  try {
    yield* parentOfCurrent().switch();
  } catch (e) {
    seen.push((e as object).constructor);
    throw e;
  }
  throw new SomeError();
}

describe('test_gc.py', () => {
  it('test_dead_circular_ref: a dead greenlet whose run returned the greenlet itself is collected', async () => {
    const ref = (() => {
      const result: Greenlet = new Greenlet(function* () {
        return getcurrent();
      }).switch<Greenlet>();
      expect(result).toBeInstanceOf(Greenlet);
      expect(result.dead).toBe(true);
      return new WeakRef(result);
    })();
    await collectUntil(() => ref.deref() === undefined, { description: 'the dead greenlet is collected' });
  });

  it('test_circular_greenlet: an unstarted greenlet that references itself is collected', async () => {
    class CircularGreenlet extends Greenlet {
      self: CircularGreenlet | null = null;
    }
    const ref = (() => {
      const o = new CircularGreenlet();
      o.self = o;
      return new WeakRef(o);
    })();
    await collectUntil(() => ref.deref() === undefined, { description: 'the self-referencing greenlet is collected' });
  });

  it('test_inactive_ref: an unstarted subclass greenlet whose run is its own bound method is collected', async () => {
    class InactiveGreenlet extends Greenlet {
      constructor() {
        super();
        // Python: greenlet.__init__(self, run=self.run), a bound method: a cycle.
        this.run = InactiveGreenlet.prototype.run.bind(this);
      }
      override *run(): GreenletBody<void> {}
    }
    const ref = (() => new WeakRef(new InactiveGreenlet()))();
    await collectUntil(() => ref.deref() === undefined, { description: 'the unstarted greenlet is collected' });
  });

  it('test_finalizer_crash: a suspended greenlet in a cycle with an array is collected and killed without error', async () => {
    // CPython <= 3.14 leaks this greenlet (the test is marked fails_leakcheck there); a
    // tracing GC sees the cycle, so in JavaScript it is killed like any unreachable one.
    const out: string[] = [];
    const finalizers = new FinalizationRegistry<string>((held) => out.push(held));
    (() => {
      const array: Greenlet[] = [];
      const parent = getcurrent();
      const g = new Greenlet(function* () {
        const withFinalizer = {};
        finalizers.register(withFinalizer, 'object_with_finalizer collected');
        setOnCurrent('object', withFinalizer); // getcurrent().object = object_with_finalizer()
        try {
          yield* parent.switch();
        } catch (e) {
          if (!(e instanceof GreenletExit)) throw e;
          out.push('Got greenlet exit!');
        } finally {
          setOnCurrent('object', undefined); // del getcurrent().object
        }
      });
      (g as Greenlet & { array?: Greenlet[] }).array = array;
      array.push(g);
      g.switch();
    })();
    await collectUntil(() => out.includes('object_with_finalizer collected'), {
      description: 'the greenlet is killed and its object collected',
    });
    expect(out).toEqual(['Got greenlet exit!', 'object_with_finalizer collected']);
    expect(unraisable).toEqual([]);
  });

  it('test_cycle_in_suspended_frame: cycles in a suspended frame are freed once its greenlet becomes garbage', async () => {
    const out: string[] = [];
    const finalizers = new FinalizationRegistry<string>((held) => out.push(held));
    class Cycle {
      cycle: Cycle | null = null;
      constructor() {
        finalizers.register(this, '(Running finalizer)');
      }
    }
    function* inner(): GreenletBody<boolean> {
      const cycle1 = new Cycle();
      const cycle2 = new Cycle();
      cycle1.cycle = cycle2;
      cycle2.cycle = cycle1;
      yield* parentOfCurrent().switch();
      return cycle1.cycle === cycle2; // the cycle stays live in the suspended frame
    }
    function* outer(): GreenletBody<void> {
      const glet = new Greenlet(inner);
      yield* glet.switch();
      out.push('Collecting garbage');
      globalThis.gc!();
    }
    (() => {
      const outerGlet = new Greenlet(outer);
      outerGlet.switch();
      expect(outerGlet.dead).toBe(true);
    })();
    expect(out).toEqual(['Collecting garbage']);
    await collectUntil(() => out.length === 3, { description: 'both finalizers of the cycle run' });
    expect(out).toEqual(['Collecting garbage', '(Running finalizer)', '(Running finalizer)']);
  });
});

describe('test_weakref.py', () => {
  it('test_dead_weakref: a weak reference to a finished greenlet is cleared', async () => {
    const ref = (() => {
      const g = new Greenlet(function* () {});
      g.switch();
      expect(g.dead).toBe(true);
      return new WeakRef(g);
    })();
    await collectUntil(() => ref.deref() === undefined, { description: 'the finished greenlet is collected' });
  });

  it('test_inactive_weakref: a weak reference to an unstarted greenlet is cleared', async () => {
    const ref = (() => new WeakRef(new Greenlet()))();
    await collectUntil(() => ref.deref() === undefined, { description: 'the unstarted greenlet is collected' });
  });

  it("test_dealloc_weakref: dropping a child kills its suspended parent, whose weak reference to the child is then dead", async () => {
    const seen: unknown[] = [];
    // Python's worker reads the global `g`, which by then is a weakref to the child.
    const box: { ref: WeakRef<Greenlet> | null } = { ref: null };
    (() => {
      const g = new Greenlet(function* () {
        try {
          yield* parentOfCurrent().switch();
        } finally {
          seen.push(box.ref?.deref());
        }
      });
      g.switch();
      const g2 = new Greenlet(function* () {}, g);
      box.ref = new WeakRef(g2);
    })();
    await collectUntil(() => seen.length > 0, { description: 'the parent greenlet is killed' });
    expect(seen).toEqual([undefined]);
  });
});

describe('test_greenlet.py (garbage collection)', () => {
  it('test_dealloc: dropping suspended greenlets throws GreenletExit into them', async () => {
    const seen: unknown[] = [];
    park('g1', fmain, null, seen);
    park('g2', fmain, null, seen);
    expect(seen).toEqual([]);
    parked.delete('g1');
    await collectUntil(() => seen.length >= 1, { description: 'g1 is killed' });
    expect(seen).toEqual([GreenletExit]);
    parked.delete('g2');
    await collectUntil(() => seen.length >= 2, { description: 'g2 is killed' });
    expect(seen).toEqual([GreenletExit, GreenletExit]);
  });

  it('test_dealloc_catches_GreenletExit_throws_other: an error escaping the kill goes to the unraisable hook', async () => {
    park(
      'g',
      function* () {
        try {
          yield* parentOfCurrent().switch();
        } catch (e) {
          if (e instanceof GreenletExit) throw new SomeError();
          throw e;
        }
      },
      null,
    );
    parked.delete('g');
    await collectUntil(() => unraisable.length > 0, { description: 'the kill reports to the unraisable hook' });
    expect(unraisable).toHaveLength(1);
    expect(unraisable[0]!.error).toBeInstanceOf(SomeError);
  });

  it('test_parent_restored_on_kill: during the kill the parent is the killer (main); a resurrected greenlet gets its parent back', async () => {
    const main = getcurrent();
    const result: Greenlet[] = [];
    (() => {
      const hub = new Greenlet(function* () {});
      parked.set('hub', hub);
      park(
        'g',
        function* () {
          try {
            // Wait to be killed by going back to the test.
            yield* main.switch();
          } catch (e) {
            if (!(e instanceof GreenletExit)) throw e;
            // Resurrect and switch to the parent.
            result.push(getcurrent().parent!);
            result.push(getcurrent());
            yield* hub.switch();
          }
        },
        hub,
      );
    })();
    parked.delete('g');
    await collectUntil(() => result.length > 0, { description: 'the greenlet is killed' });
    expect(result[0]).toBe(main);
    expect(result[1]!.parent).toBe(parked.get('hub'));
  });
});

describe('docs/greenlet_gc.rst', () => {
  it('an infinite loop waiting in a greenlet gets GreenletExit when the last reference goes', async () => {
    const out: string[] = [];
    park(
      'glet',
      function* () {
        out.push('Beginning greenlet');
        try {
          for (;;) {
            out.push('Switching to parent');
            yield* parentOfCurrent().switch();
          }
        } catch (e) {
          if (!(e instanceof GreenletExit)) throw e;
          out.push('Got GreenletExit; quitting');
        }
      },
      null,
    );
    expect(out).toEqual(['Beginning greenlet', 'Switching to parent']);
    parked.delete('glet'); // glet = None
    await collectUntil(() => out.length === 3, { description: 'the greenlet gets GreenletExit' });
    expect(out).toEqual(['Beginning greenlet', 'Switching to parent', 'Got GreenletExit; quitting']);
  });

  /**
   * The registries of `cycles()`, kept until the test ends. A FinalizationRegistry that is
   * itself garbage calls nothing: reachable only from the greenlet's frames, it could go
   * with them in the gc() that runs before its cleanup task (a round's timer can come
   * first when the machine is loaded), and its finalizers would then never run.
   */
  const registries = new Set<FinalizationRegistry<string>>();
  afterEach(() => registries.clear());

  /** The doc's `Cycle` (a class with `__del__`) and `run()`, with their output in `out`. */
  function cycles(out: string[]) {
    const finalizers = new FinalizationRegistry<string>((held) => out.push(held));
    registries.add(finalizers); // Python's __del__ belongs to the class, which lives on
    class Cycle {
      cycle: Cycle | null = null;
      constructor() {
        finalizers.register(this, '(Running finalizer)');
      }
    }
    function* collectIt(): GreenletBody<void> {
      out.push('Collecting garbage');
      globalThis.gc!();
    }
    function* run(collect: () => SwitchOp<unknown> = collectIt): GreenletBody<void> {
      let cycle1: Cycle | null = new Cycle();
      let cycle2: Cycle | null = new Cycle();
      cycle1.cycle = cycle2;
      cycle2.cycle = cycle1;
      out.push('Deleting cycle vars');
      cycle1 = null;
      cycle2 = null;
      yield* collect();
      out.push('Returning');
    }
    return { Cycle, run };
  }

  it('manually clearing cycles works: a cycle dropped inside a greenlet is collected', async () => {
    const out: string[] = [];
    (() => {
      const { run } = cycles(out);
      const glet = new Greenlet(run);
      glet.switch();
      expect(glet.dead).toBe(true);
    })();
    // CPython runs the finalizers inside gc.collect(), before "Returning"; JavaScript
    // finalizes later, so only the end state is compared.
    expect(out).toEqual(['Deleting cycle vars', 'Collecting garbage', 'Returning']);
    await collectUntil(() => out.length === 5, { description: 'both finalizers of the cycle run' });
    expect(out.slice(3)).toEqual(['(Running finalizer)', '(Running finalizer)']);
  });

  it('manually clearing cycles works: the cycle is found while its greenlet is suspended in main', async () => {
    const out: string[] = [];
    const main = getcurrent();
    (() => {
      const { run } = cycles(out);
      park('glet', run, null, () => main.switch());
    })();
    expect(out).toEqual(['Deleting cycle vars']);
    await collectUntil(() => out.length === 3, { description: 'both finalizers of the cycle run' });
    expect(out).toEqual(['Deleting cycle vars', '(Running finalizer)', '(Running finalizer)']);
    expect(parked.get('glet')!.active).toBe(true);
    parked.get('glet')!.throw(); // del glet, deterministically
  });

  it('cycles in suspended frames are not collected while the greenlet holding them is reachable', async () => {
    const out: string[] = [];
    const main = getcurrent();
    (() => {
      const { Cycle } = cycles(out);
      function* inner(): GreenletBody<boolean> {
        const cycle1 = new Cycle();
        const cycle2 = new Cycle();
        cycle1.cycle = cycle2;
        cycle2.cycle = cycle1;
        yield* parentOfCurrent().switch();
        return cycle1.cycle === cycle2; // the cycle stays live in the suspended frame
      }
      park(
        'outer',
        function* () {
          const glet = new Greenlet(inner);
          yield* glet.switch();
          // collect_it(), from main: JavaScript finalizes asynchronously.
          yield* main.switch();
        },
        null,
      );
    })();
    await collectRounds(10);
    expect(out).toEqual([]);
    parked.get('outer')!.throw(); // end outer now: its inner greenlet becomes garbage
  });
});

describe('documented limit (R-61)', () => {
  it('a greenlet referenced from its own suspended frame (this in a subclass run) is never collected nor killed', async () => {
    const out: string[] = [];
    class SelfReferencing extends Greenlet {
      override *run(): GreenletBody<void> {
        try {
          yield* this.parent!.switch(); // `this` lives in the suspended frame
        } finally {
          out.push('self-referencing greenlet killed');
        }
      }
    }
    const ref = (() => {
      const g = new SelfReferencing();
      g.switch();
      // A control greenlet that does not reference itself: collected and killed.
      park(
        'control',
        function* () {
          try {
            yield* parentOfCurrent().switch();
          } finally {
            out.push('control greenlet killed');
          }
        },
        null,
      );
      return new WeakRef(g);
    })();
    parked.delete('control');
    await collectUntil(() => out.includes('control greenlet killed'), { description: 'the control greenlet is killed' });
    await collectRounds(3);
    expect(out).toEqual(['control greenlet killed']);
    expect(ref.deref()).toBeInstanceOf(SelfReferencing);
    ref.deref()!.throw(); // end it deterministically
    expect(out).toEqual(['control greenlet killed', 'self-referencing greenlet killed']);
  });
});
