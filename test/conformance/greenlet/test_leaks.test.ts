/**
 * Conformance: switching and dropping greenlets does not leak.
 *
 * Port of the ADAPT tests of greenlet's src/greenlet/tests/test_leaks.py (rules R-22 and
 * R-64 of greenlet-semantics.md). Python counts references and measures the process's
 * USS; here a `WeakRef` shows that an object is collectable, and `heapUsed` after full
 * collections (Node runs with `--expose-gc`) stands for the USS.
 *
 * N/A in test_leaks.py:
 * - test_kwarg_refs: keyword arguments do not exist in JavaScript;
 * - test_threaded_leak, test_threaded_adv_leak: main greenlets of exited threads; a
 *   worker's greenlets die with its isolate;
 * - test_issue251_killing_cross_thread_leaks_list, test_issue251_with_cleanup_disabled,
 *   test_issue251_issue252_need_to_collect_in_background,
 *   test_issue251_issue252_need_to_collect_in_background_cleanup_disabled,
 *   test_issue251_issue252_explicit_reference_not_collectable: greenlets dropped from
 *   another thread and CPython's optional cleanup knob; greenlets never cross
 *   threads in JavaScript;
 * - test_untracked_memory_doesnt_increase_unfinished_thread_dealloc_in_main: greenlets of
 *   a dead thread freed from main without running code; a worker's greenlets cannot reach
 *   the main thread. (Its sibling "..._dealloc_in_thread" is ported single-threaded: the
 *   greenlets are dropped in their own thread, which is the only thread they have.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Greenlet, GreenletExit, getcurrent, setKillUnreachable, setUnraisableHook, type UnraisableHook } from 'greenlet-ts';
import { collectUntil, settledHeapUsed } from './fixtures/gc-harness.js';

const MB = 1024 * 1024;

/**
 * `getcurrent().parent`, evaluated in a plain function: a greenlet body that evaluated
 * `getcurrent()` itself could keep its own greenlet alive in a temporary of its
 * suspended frame, and so never be collected (see gc.test.ts).
 */
function parentOfCurrent(): Greenlet {
  return getcurrent().parent!;
}

let unraisable: unknown[] = [];
let previousKill = false;
let previousHook: UnraisableHook | undefined;

beforeEach(() => {
  unraisable = [];
  previousKill = setKillUnreachable(false);
  previousHook = setUnraisableHook((error) => {
    unraisable.push(error);
  });
});

afterEach(() => {
  setKillUnreachable(previousKill);
  if (previousHook !== undefined) setUnraisableHook(previousHook);
});

describe('test_leaks.py', () => {
  it('test_arg_refs: the greenlet machinery keeps no reference to switched values once delivered', async () => {
    // Python: lambda *args: getcurrent().parent.switch(*args)
    const g = new Greenlet(function* (...args: unknown[]) {
      return yield* parentOfCurrent().switch(...args);
    });
    const h = new Greenlet(function* (arg: unknown) {
      return yield* parentOfCurrent().switch(arg);
    });
    const refs = (() => {
      const args = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
      const one = { name: 'one' };
      for (let i = 0; i < 100; i++) {
        g.switch(...args); // several values: delivered as an array
        h.switch(one); // one value: delivered as it is
      }
      return [...args, one].map((arg) => new WeakRef(arg));
    })();
    await collectUntil(() => refs.every((ref) => ref.deref() === undefined), {
      description: 'every switched value is collected',
    });
    // The greenlets themselves are still referenced (and finished).
    expect(g.dead).toBe(true);
    expect(h.dead).toBe(true);
  });

  it('test_untracked_memory_doesnt_increase: creating, starting and finishing greenlets returns all memory', async () => {
    function* f() {
      return 1;
    }
    const ITER = 10_000;
    let results = 0;
    const runIt = (): void => {
      for (let i = 0; i < ITER; i++) results += new Greenlet(f).switch() as number;
    };
    // Establish a baseline (code compiled, shapes and caches warm).
    for (let i = 0; i < 3; i++) runIt();
    const before = await settledHeapUsed();
    for (let i = 0; i < 5; i++) runIt();
    const after = await settledHeapUsed();
    expect(results).toBe(8 * ITER);
    // 50,000 greenlets: a leak of even 21 bytes each would exceed this.
    expect(after - before).toBeLessThan(1 * MB);
  });

  it('test_untracked_memory_doesnt_increase_unfinished_thread_dealloc_in_thread: dropped suspended greenlets all get GreenletExit and their memory returns', async () => {
    setKillUnreachable(true);
    let exitCount = 0;
    function* f() {
      try {
        yield* parentOfCurrent().switch();
      } catch (e) {
        if (e instanceof GreenletExit) exitCount += 1;
        throw e;
      }
      return 1;
    }
    const ITER = 10_000;
    const ROUNDS = 2; // Python's ThreadFunc.ITER: 20,000 greenlets in all
    const held: { glets: Greenlet[] } = { glets: [] };
    const createAndCheck = (): boolean => {
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < ITER; i++) {
          // It starts and switches back to us; we keep a strong reference so that it
          // gets no GreenletExit yet.
          const g = new Greenlet(f);
          held.glets.push(g);
          g.switch();
        }
      }
      return held.glets.every((g) => String(g).includes('suspended active'));
    };
    const dropAndCollect = async (): Promise<void> => {
      exitCount = 0;
      expect(createAndCheck()).toBe(true);
      expect(held.glets).toHaveLength(ITER * ROUNDS);
      held.glets = []; // drop them
      await collectUntil(() => exitCount === ITER * ROUNDS, {
        description: `all ${ITER * ROUNDS} dropped greenlets get GreenletExit`,
      });
    };
    // Establish a baseline, as the reference does with its first attempts.
    await dropAndCollect();
    const before = await settledHeapUsed();
    await dropAndCollect();
    const after = await settledHeapUsed();
    expect(exitCount).toBe(ITER * ROUNDS);
    expect(unraisable).toEqual([]);
    // 20,000 greenlets: a leak of even 53 bytes each would exceed this.
    expect(after - before).toBeLessThan(1 * MB);
  });
});
