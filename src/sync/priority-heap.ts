/**
 * `PriorityHeap`: the binary min-heap behind `PriorityQueue`, and the comparator it uses
 * when none is given ({@link naturalOrder}).
 *
 * Invariants: `items[i]` is never before its parent in the order `before(a, b)` =
 * "compare(a, b) < 0, or they compare equal and a was added first"; `seqs[i]` is the
 * insertion number of `items[i]`; `length === items.length === seqs.length`.
 *
 * Why insertion numbers: Python's heapq breaks ties by comparing the next tuple field
 * (users add a counter to get stable order); here equal priorities come out in the order
 * they went in, without the user doing anything. They live in a parallel array so that an
 * item costs no wrapper object.
 *
 * Failure safety: `add` finds the new item's place before it moves anything, so a
 * comparator that throws leaves the heap as it was. With the default comparator every
 * item is checked (same kind as the others: all numbers, all strings or all bigints)
 * before it goes in, so it never throws later, in the middle of a `take`.
 *
 * @module
 */

/**
 * Orders two items: negative if `a` comes out first, positive if `b` does, 0 if they tie
 * (ties come out in insertion order). It must be a consistent total order and must not
 * throw; the items must not change their order while they are in the queue.
 */
export type Comparator<T> = (a: T, b: T) => number;

type Orderable = number | string | bigint;

/**
 * The default order of a `PriorityQueue`: numbers, strings or bigints, lowest first
 * (strings by UTF-16 code units, as `<` compares them). Anything else needs a comparator.
 */
export function naturalOrder(a: unknown, b: unknown): number {
  return (a as Orderable) < (b as Orderable) ? -1 : (a as Orderable) > (b as Orderable) ? 1 : 0;
}

function kindOf(item: unknown): string | null {
  const kind = typeof item;
  return kind === 'number' || kind === 'string' || kind === 'bigint' ? kind : null;
}

/**
 * A min-heap of items ordered by a comparator, ties in insertion order. Internal to
 * `PriorityQueue`, which is what users want:
 *
 * ```ts
 * const heap = new PriorityHeap<number>();
 * heap.add(3);
 * heap.add(1);
 * heap.take(); // 1
 * ```
 */
export class PriorityHeap<T> {
  length = 0;
  private readonly items: T[] = [];
  private readonly seqs: number[] = [];
  private nextSeq = 0;
  /** With the default comparator: the kind of item it holds ('number', 'string', 'bigint'). */
  private kind: string | null = null;

  constructor(readonly compare: Comparator<T> = naturalOrder) {}

  /** Whether `a` (added as number `sa`) comes out before `b` (`sb`). */
  private before(a: T, sa: number, b: T, sb: number): boolean {
    const c = this.compare(a, b);
    return c < 0 || (c === 0 && sa < sb);
  }

  /** Refuse what the default comparator cannot order, before anything changes. */
  private check(item: T): void {
    const kind = kindOf(item);
    if (kind === null) {
      throw new TypeError(
        `PriorityQueue cannot order ${item === null ? 'null' : typeof item} items by default: ` +
          'give the queue a comparator, e.g. `new PriorityQueue<Job>((a, b) => a.priority - b.priority)`',
      );
    }
    if (this.length === 0) {
      this.kind = kind;
    } else if (kind !== this.kind) {
      throw new TypeError(
        `PriorityQueue cannot order a ${kind} against the ${this.kind}s it holds: ` +
          'put items of one kind, or give the queue a comparator',
      );
    }
  }

  /** Insert `item`; on a comparator error, or an item the default order refuses, nothing changes. */
  add(item: T): void {
    if (this.compare === naturalOrder) this.check(item);
    const items = this.items;
    const seqs = this.seqs;
    const seq = this.nextSeq;
    // Find the slot first (the comparator may throw), then move the parents down.
    let i = this.length;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(item, seq, items[p] as T, seqs[p] as number)) break;
      i = p;
    }
    this.nextSeq = seq + 1;
    let j = this.length;
    while (j > i) {
      const p = (j - 1) >> 1;
      items[j] = items[p] as T;
      seqs[j] = seqs[p] as number;
      j = p;
    }
    items[i] = item;
    seqs[i] = seq;
    this.length++;
  }

  /** The first item; the heap must not be empty. */
  first(): T {
    return this.items[0] as T;
  }

  /** Remove and return the first item; the heap must not be empty. */
  take(): T {
    const items = this.items;
    const seqs = this.seqs;
    const top = items[0] as T;
    const n = --this.length;
    const last = items.pop() as T;
    const lastSeq = seqs.pop() as number;
    if (n === 0) {
      this.nextSeq = 0;
      return top;
    }
    // Sift `last` down from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.before(items[r] as T, seqs[r] as number, items[l] as T, seqs[l] as number)) c = r;
      if (!this.before(items[c] as T, seqs[c] as number, last, lastSeq)) break;
      items[i] = items[c] as T;
      seqs[i] = seqs[c] as number;
      i = c;
    }
    items[i] = last;
    seqs[i] = lastSeq;
    return top;
  }

  /** Remove every item. */
  clear(): void {
    this.items.length = 0;
    this.seqs.length = 0;
    this.length = 0;
    this.nextSeq = 0;
  }

  /** The items, first to come out first. */
  toArray(): T[] {
    const copy = new PriorityHeap<T>(this.compare);
    for (let i = 0; i < this.length; i++) {
      copy.items.push(this.items[i] as T);
      copy.seqs.push(this.seqs[i] as number);
    }
    copy.length = this.length;
    const out: T[] = [];
    while (copy.length !== 0) out.push(copy.take());
    return out;
  }
}
