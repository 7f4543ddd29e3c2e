/**
 * Local: greenlet-local storage (gevent.local).
 *
 * Port of the behaviours of gevent's src/gevent/tests/test__local.py that apply to a
 * `Local<T>` holding one value (gevent's `local` is an object whose attributes are
 * per-greenlet; its threads in that file are greenlets, through monkey-patching).
 *
 * N/A in test__local.py (Python attribute machinery, not storage):
 * - test_create_local_subclass_init_args, test_cannot_set_delete_dict,
 *   test_slot_and_type_attributes, test_getattr_called, test_copy, test_copy_no_subclass,
 *   test_class_attr(_subclass), test_local_with_abc / staticmethod / classmethod,
 *   TestLocalInterface::test_provides, TestCExt, TestPure: `__slots__`, descriptors,
 *   `__dict__`, `copy.copy`, ABCs, zope.interface and the C accelerator;
 * - test_local_dicts_for_greenlet: `all_local_dicts_for_greenlet` introspection.
 *
 * Adapted: gevent frees a greenlet's values when it dies even if the greenlet object is
 * still referenced (gevent#387); here they go when the ended task is unreachable. The
 * two collection tests use `gc()` (vitest runs Node with --expose-gc) and a
 * FinalizationRegistry, and wait for the end state, as the core's GC tests do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ContextVar, Greenlet, LookupError, getHub, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { Local } from '../../src/sync/local.js';
import { collectUntil } from '../conformance/greenlet/fixtures/gc-harness.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
});

describe('Local', () => {
  // gevent: test__local.py::TestGeventLocal::test_local_opts_not_subclassed
  it('gives back the value set in the same task', async () => {
    await run(function* () {
      const local = new Local<number>();
      local.set(1);
      expect(local.get()).toBe(1);
    });
  });

  it('keeps the value across blocking calls of its task', async () => {
    await run(function* () {
      const local = new Local<string>();
      const tasks = ['a', 'b', 'c'].map((name) =>
        spawn(function* () {
          local.set(name);
          yield* sleep(0);
          yield* sleep(0);
          return local.get();
        }),
      );
      const seen: string[] = [];
      for (const t of tasks) seen.push(yield* t.get());
      expect(seen).toEqual(['a', 'b', 'c']);
    });
  });

  // gevent: test__local.py::TestGeventLocal::test_objects
  it('keeps the values of two Locals apart', async () => {
    await run(function* () {
      const a = new Local<string>();
      const b = new Local<string>();
      a.set('123');
      b.set('123');
      b.set('321');
      expect(a.get()).toBe('123');
      expect(b.get()).toBe('321');
    });
  });

  // gevent: test__local.py::TestGeventLocal::test_attribute_error
  it('does not show a value set in another task', async () => {
    await run(function* () {
      const local = new Local<number>();
      yield* spawn(() => local.set(1)).join();
      expect(local.has()).toBe(false);
      expect(() => local.get()).toThrow(LookupError);
    });
  });

  it('is not inherited by a spawned task, unlike a context variable', async () => {
    const local = new Local<string>();
    const requestId = new ContextVar<string>('requestId', { default: '-' });
    const seen = await run(function* () {
      local.set('parent');
      requestId.set('r-1');
      const child = spawn(() => [local.get('none'), requestId.get()]);
      return yield* child.get();
    });
    expect(seen).toEqual(['none', 'r-1']);
  });

  it('answers get(fallback) with the fallback when unset, without storing it', async () => {
    await run(function* () {
      const local = new Local<number>();
      expect(local.get(7)).toBe(7);
      expect(local.has()).toBe(false);
    });
  });

  // gevent: test__local.py::TestGeventLocal::test_locals_collected_when_greenlet_dead_but_still_referenced
  // (its first half: MyLocal.__init__ runs once in each greenlet that uses it)
  it('runs its init function once in each task, on first use', async () => {
    let made = 0;
    const local = new Local(() => ({ id: ++made }));
    await run(function* () {
      const ids: number[] = [];
      const tasks = [1, 2, 3, 4, 5].map(() =>
        spawn(function* () {
          const first = local.get();
          yield* sleep(0);
          expect(local.get()).toBe(first);
          return first.id;
        }),
      );
      for (const t of tasks) ids.push(yield* t.get());
      expect(ids.sort()).toEqual([1, 2, 3, 4, 5]);
    });
    expect(made).toBe(5);
  });

  it('stores nothing when its init function throws', async () => {
    await run(function* () {
      const local = new Local<number>(() => {
        throw new RangeError('no value');
      });
      expect(() => local.get()).toThrow(RangeError);
      expect(local.has()).toBe(false);
    });
  });

  // gevent: test__local.py::TestGeventLocal::test_delete_with_no_dict
  it('delete() forgets this task’s value only, and reports whether there was one', async () => {
    await run(function* () {
      const local = new Local<number>();
      expect(local.delete()).toBe(false);
      local.set(1);
      const other = spawn(function* () {
        local.set(2);
        yield* sleep(0);
        return local.get();
      });
      yield* sleep(0);
      expect(local.delete()).toBe(true);
      expect(local.has()).toBe(false);
      expect(yield* other.get()).toBe(2);
    });
  });

  it('runs init again after delete()', async () => {
    await run(function* () {
      let made = 0;
      const local = new Local(() => ++made);
      expect(local.get()).toBe(1);
      local.delete();
      expect(local.get()).toBe(2);
    });
  });

  it('has a value per raw greenlet and one for the main greenlet', () => {
    const local = new Local<string>();
    local.set('main');
    const g = new Greenlet(function* (): GreenletBody<string> {
      local.set('greenlet');
      return local.get();
    });
    expect(g.switch()).toBe('greenlet');
    expect(local.get()).toBe('main');
    local.delete();
  });

  it('refuses an init that is not a function', () => {
    expect(() => new Local(42 as unknown as () => number)).toThrow(TypeError);
  });
});

describe('Local and garbage collection', () => {
  // gevent: test__local.py::TestGeventLocal::test_locals_collected_when_greenlet_dead_but_still_referenced
  // (adapted: the values go once the ended tasks are unreachable; gevent#387)
  it('lets the values of ended tasks be collected', async () => {
    const local = new Local<object>();
    let freed = 0;
    const registry = new FinalizationRegistry(() => freed++);
    await startTasksThatSetValues(local, registry, 5);
    await collectUntil(() => freed === 5, { description: 'the 5 values of the ended tasks to be collected' });
    expect(freed).toBe(5);
  });

  // gevent: test__local.py::TestGeventLocal::test_locals_collected_when_unreferenced_even_in_running_greenlet (gevent#981)
  it('lets its values be collected when the Local is dropped, even while their task runs', async () => {
    let freed = 0;
    const registry = new FinalizationRegistry(() => freed++);
    const release = { go: false };
    const task = spawn(function* () {
      for (let i = 0; i < 100; i++) fillAndDrop(registry);
      while (!release.go) yield* sleep(1);
    });
    await collectUntil(() => freed === 100, { description: '100 values of dropped Locals to be collected' });
    expect(task.ready()).toBe(false); // the task was running all along
    release.go = true;
    await task;
  });
});

/** Run `n` tasks that each set a fresh object in `local`; keep no reference to either. */
async function startTasksThatSetValues(local: Local<object>, registry: FinalizationRegistry<null>, n: number): Promise<void> {
  await run(function* () {
    const tasks = Array.from({ length: n }, () =>
      spawn(() => {
        const value = {};
        registry.register(value, null);
        local.set(value);
      }),
    );
    for (const t of tasks) yield* t.join();
  });
}

/** In the current task: make a Local, give it a value, and drop the Local. */
function fillAndDrop(registry: FinalizationRegistry<null>): void {
  const local = new Local<object>();
  const value = {};
  registry.register(value, null);
  local.set(value);
}
