/**
 * The timer heap on its own (src/hub/timers.ts): Timers and own entries (a task asleep is
 * its own entry) in one order of deadlines, ties first added first fired, removal at any
 * time, the count of entries that keep the process alive. Time is a source the test moves;
 * the heap arms no host timer while one is installed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getHub } from 'greenlet-ts';
import { HEAP_INDEX, Timer, TimerHeap, useTimeSource, type OwnEntry, type TimerEntry } from '../../src/hub/timers.js';

let time = 0;
const fired: string[] = [];

beforeEach(() => {
  // The hub's own heap reads the same clock: only while it has nothing pending.
  expect(getHub().timers.size).toBe(0);
  time = 0;
  fired.length = 0;
  useTimeSource({ now: () => time });
});

afterEach(() => {
  useTimeSource(null);
});

class NamedTimer extends Timer {
  constructor(readonly name: string, ref = true) {
    super();
    if (!ref) this.ref = false;
  }
  fire(): void {
    fired.push(this.name);
  }
}

/** An own entry: a plain object with the heap's index field, as a sleeping task is. */
function ownEntry(name: string): OwnEntry & { name: string } {
  return { [HEAP_INDEX]: 'not in the heap', name };
}

function makeHeap(seqLimit?: number): TimerHeap {
  return new TimerHeap(
    () => {},
    (entry) => fired.push((entry as unknown as { name: string }).name),
    seqLimit,
  );
}

/** Fire every entry due by `t`, as the testing layer does under virtual time. */
function advanceTo(heap: TimerHeap, t: number): void {
  time = t;
  for (let first = heap.peek(); first !== undefined && (heap.deadlineOf(first) as number) <= t; first = heap.peek()) {
    heap.remove(first);
    heap.fire(first);
  }
}

/** A deterministic sequence of numbers in [0, n). */
function randoms(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
}

describe('TimerHeap', () => {
  it('fires entries of one deadline in the order they were added, Timers and own entries alike', () => {
    const heap = makeHeap();
    heap.add(new NamedTimer('timer a'), 10);
    heap.addOwn(ownEntry('own b'), 10);
    heap.add(new NamedTimer('early'), 5);
    heap.addOwn(ownEntry('own c'), 10);
    heap.add(new NamedTimer('timer d'), 10);
    advanceTo(heap, 10);
    expect(fired).toEqual(['early', 'timer a', 'own b', 'own c', 'timer d']);
    expect(heap.size).toBe(0);
  });

  it('fires thousands of random deadlines in deadline order, ties in the order added, with removals in between', () => {
    const heap = makeHeap();
    const next = randoms(7);
    const expected: { name: string; deadline: number; order: number }[] = [];
    const pending = new Map<string, TimerEntry>();
    for (let i = 0; i < 5000; i++) {
      const name = `e${i}`;
      const ms = next(50);
      const entry = i % 2 === 0 ? new NamedTimer(name) : ownEntry(name);
      if (entry instanceof Timer) heap.add(entry, ms);
      else heap.addOwn(entry, ms);
      pending.set(name, entry);
      expected.push({ name, deadline: ms, order: i });
      if (next(4) === 0) {
        // Remove one pending entry picked at random, as a sleep that ends early does.
        const victim = expected[next(expected.length)] as { name: string };
        const gone = pending.get(victim.name);
        if (gone !== undefined) {
          expect(heap.remove(gone)).toBe(true);
          expect(heap.has(gone)).toBe(false);
          pending.delete(victim.name);
        }
      }
    }
    const left = expected.filter((e) => pending.has(e.name));
    left.sort((a, b) => a.deadline - b.deadline || a.order - b.order);
    expect(heap.size).toBe(left.length);
    advanceTo(heap, 50);
    expect(fired).toEqual(left.map((e) => e.name));
  });

  it('keeps ties in the order added when sequence numbers are numbered again at their limit', () => {
    const heap = makeHeap(8);
    // One entry waits while many more are added: the numbers wrap several times under it.
    heap.addOwn(ownEntry('first at 100'), 100);
    for (let i = 0; i < 30; i++) {
      const t = new NamedTimer(`short ${i}`);
      heap.add(t, 1);
      if (i % 3 !== 0) heap.remove(t);
    }
    heap.add(new NamedTimer('second at 100'), 100);
    heap.addOwn(ownEntry('third at 100'), 100);
    advanceTo(heap, 100);
    expect(fired).toEqual([
      ...Array.from({ length: 10 }, (_, k) => `short ${3 * k}`),
      'first at 100',
      'second at 100',
      'third at 100',
    ]);
  });

  it('takes a removed entry out at once: no size, no deadline, -1 in its index field', () => {
    const heap = makeHeap();
    const own = ownEntry('own');
    const timer = new NamedTimer('timer');
    heap.addOwn(own, 1000);
    heap.add(timer, 500);
    expect([heap.size, heap.deadlineOf(own), heap.deadlineOf(timer)]).toEqual([2, 1000, 500]);
    expect(heap.remove(own)).toBe(true);
    expect(heap.remove(own)).toBe(false);
    expect([heap.size, heap.deadlineOf(own), own[HEAP_INDEX]]).toEqual([1, undefined, -1]);
    heap.remove(timer);
    expect([heap.size, timer.pending, heap.peek()]).toEqual([0, false, undefined]);
  });

  it('counts own entries and ref timers as keeping the process alive, unref timers not', () => {
    const heap = makeHeap();
    const own = ownEntry('own');
    const unref = new NamedTimer('unref', false);
    const ref = new NamedTimer('ref');
    heap.addOwn(own, 10);
    heap.add(unref, 10);
    heap.add(ref, 20);
    expect(heap.refCount).toBe(2);
    heap.removeOwn(own);
    expect(heap.refCount).toBe(1);
    advanceTo(heap, 10);
    expect([fired, heap.refCount]).toEqual([['unref'], 1]);
    advanceTo(heap, 20);
    expect([fired, heap.refCount]).toEqual([['unref', 'ref'], 0]);
  });

  it('gives back the room of a burst once it has drained', () => {
    const heap = makeHeap();
    const capacity = (): number => (heap as unknown as { deadlines: Float64Array }).deadlines.length;
    for (let i = 0; i < 100_000; i++) heap.addOwn(ownEntry(`e${i}`), i);
    expect(capacity()).toBeGreaterThanOrEqual(100_000);
    advanceTo(heap, 100_000);
    expect(fired).toHaveLength(100_000);
    expect(capacity()).toBe(64);
  });

  it('lists the entries due at one deadline in the order they were added', () => {
    const heap = makeHeap();
    const a = ownEntry('a');
    const b = new NamedTimer('b');
    const c = ownEntry('c');
    heap.add(new NamedTimer('other'), 3);
    heap.addOwn(a, 7);
    heap.add(b, 7);
    heap.add(new NamedTimer('later'), 9);
    heap.addOwn(c, 7);
    expect(heap.dueAt(7)).toEqual([a, b, c]);
  });
});
