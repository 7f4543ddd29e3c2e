/**
 * Port of gevent's `src/gevent/tests/test__local.py` (gevent 26.5.0): the ADAPT tests of
 * CATALOG.md, one test per reference test, named after it. gevent's `local` holds
 * attributes; a `Local<T>` holds one value per task (documented), so an attribute
 * becomes the value, `getattr` becomes `get()`, and gevent's monkey-patched
 * `threading.Thread` becomes a task.
 *
 * Not ported (N/A in CATALOG.md): what is about attributes and classes (`__dict__`,
 * `__slots__`, descriptors, class attributes, `__getattr__`, ABCs, static and class
 * methods, zope interfaces), `copy(local)`, `all_local_dicts_for_greenlet` and the module
 * checks.
 */
import { describe, expect, it } from 'vitest';
import { Event, Local, LookupError, spawn, type GreenletBody } from 'greenlet-ts';
import { collectRounds, collectUntil } from '../greenlet/fixtures/gc-harness.js';
import { inTask, thrownBy } from './harness.js';


describe('TestGeventLocal', () => {
  it('test_create_local_subclass_init_args: an init that is not a function raises TypeError', () => {
    expect(() => new Local('foo' as never)).toThrow(TypeError);
    expect(() => new Local({ kw: 'foo' } as never)).toThrow(TypeError);
  });

  it('test_local_opts_not_subclassed: a value set is read back', async () => {
    await inTask(function* () {
      const l = new Local<number>();
      l.set(1);
      expect(l.get()).toBe(1);
    });
  });

  it('test_delete_with_no_dict: deleting a missing value evaluates to false (gevent: AttributeError), here and in another task', async () => {
    await inTask(function* () {
      const l = new Local<number>();
      expect(l.delete()).toBe(false);
      const t = spawn(() => l.delete());
      expect(yield* t.get()).toBe(false);
    });
  });

  it('test_attribute_error: reading a value never set raises LookupError, also after another task set its own', async () => {
    await inTask(function* () {
      const a = new Local<number>();
      expect(thrownBy(() => a.get())).toBeInstanceOf(LookupError);
      yield* spawn(() => a.set(1)).join();
      expect(thrownBy(() => a.get())).toBeInstanceOf(LookupError);
    });
  });

  it('test_objects: two Locals keep separate values', async () => {
    await inTask(function* () {
      const a = new Local<string>();
      a.set('123');
      const b = new Local<string>();
      b.set('123');
      expect(a.get()).toBe(b.get());
      b.set('321');
      expect(a.get()).not.toBe(b.get());
    });
  });

  it('test_locals_collected_when_greenlet_dead_but_still_referenced: the values go once the ended tasks are no longer referenced (gevent#387; gevent frees them at death)', async () => {
    const created: number[] = [];
    const deleted: number[] = [];
    const registry = new FinalizationRegistry<number>((id) => deleted.push(id));
    let nextId = 0;
    const myLocal = new Local(() => {
      const sentinel = { id: nextId++ };
      created.push(sentinel.id);
      registry.register(sentinel, sentinel.id);
      return sentinel;
    });
    const greenlets: unknown[] = [];
    await inTask(function* () {
      for (let i = 0; i < 5; i++) {
        greenlets.push(
          spawn(() => {
            myLocal.get();
          }),
        );
      }
      for (const g of greenlets as { join(): GreenletBody<boolean> }[]) yield* g.join();
    });
    expect(created).toHaveLength(5);
    // Still referenced: the values stay (documented departure).
    await collectRounds(2);
    expect(deleted).toHaveLength(0);
    greenlets.length = 0;
    await collectUntil(() => deleted.length === 5, { description: 'the five values were collected' });
  });

  it('test_locals_collected_when_unreferenced_even_in_running_greenlet: Locals dropped by a running task are collected with their values (gevent#981)', async () => {
    const count = 1000;
    let created = 0;
    let deleted = 0;
    const registry = new FinalizationRegistry<null>(() => {
      deleted++;
    });
    const done = new Event();
    const running = spawn(function* () {
      let x: Local<object> | null = null;
      for (let i = 0; i < count; i++) {
        x = new Local(() => {
          const sentinel = {};
          created++;
          registry.register(sentinel, null);
          return sentinel;
        });
        if (x.get() === undefined) throw new Error('no value');
        x = null; // as the reference does: the suspended frame would keep the last one
      }
      yield* done.wait(); // still running while the collector runs
    });
    await collectUntil(() => created === count && deleted === count, { description: 'all 1000 values were collected' });
    // The Locals linked nothing to the task (gevent removes the links it made).
    expect(running.hasLinks()).toBe(false);
    done.set();
    await running;
  });
});
