/**
 * The hub's run queue: the READY tasks, first in first out, in a ring buffer that grows
 * with a burst and gives the room back once the burst has passed.
 *
 * Invariants: the buffer's capacity is a power of two, at least {@link RUN_QUEUE_FLOOR};
 * `items[head .. tail)` (modulo the capacity) holds the queued tasks in the order they
 * were pushed, every other slot is `undefined` (a shifted task is not kept alive by the
 * queue); `head === tail` means empty (the buffer grows as the push that fills it ends,
 * so it is never full between calls); `peak` is at least the largest length since the
 * current window began (see {@link RunQueue.passEnded}).
 *
 * Why it shrinks only after whole passes. The textbook rule (halve when the length falls
 * under a quarter of the capacity) would follow the queue within a pass: a steady
 * workload that readies 1,000 tasks per pass and drains them would shrink to the floor
 * and grow back to 1,024 in every pass, copying each time. Here the hub tells the queue
 * when a pass ends, and the queue shrinks only once its length has stayed under a quarter
 * of the capacity for {@link RUN_QUEUE_QUIET_PASSES} passes in a row, to the smallest
 * size above twice the largest length of those passes: the same steady workload then
 * keeps its size (its peak is at least a quarter of it), and one that comes back to a
 * burst within those passes keeps the room it needs.
 *
 * @module
 */
import type { RunQueueLike, Schedulable } from './hub.js';

/** @internal The capacity the queue starts with and never shrinks below (a power of two). */
export const RUN_QUEUE_FLOOR = 64;
/** @internal How many passes in a row the queue must stay under a quarter of its capacity before it shrinks. */
export const RUN_QUEUE_QUIET_PASSES = 16;

/** @internal A FIFO ring buffer of tasks; see the module's comment for when it grows and shrinks. */
export class RunQueue implements RunQueueLike {
  private items: (Schedulable | undefined)[] = slots(RUN_QUEUE_FLOOR);
  private mask = RUN_QUEUE_FLOOR - 1;
  private head = 0;
  private tail = 0;
  /** The largest length since the window of quiet passes began. */
  private peak = 0;
  /** Passes in a row whose length stayed under a quarter of the capacity. */
  private quietPasses = 0;

  get length(): number {
    return (this.tail - this.head) & this.mask;
  }

  /** @internal The number of slots in the buffer (for tests of the room given back). */
  get capacity(): number {
    return this.mask + 1;
  }

  push(task: Schedulable): void {
    this.items[this.tail] = task;
    this.tail = (this.tail + 1) & this.mask;
    // The length less one, modulo the capacity: the capacity less one when the push filled
    // the buffer. One comparison here, the rest out of line: a first version that kept the
    // length in a local and tested it twice measured 104 more instructions per channel
    // round trip (callgrind; the push is inlined into every wake).
    if (((this.tail - this.head - 1) & this.mask) >= this.peak) this.pushedPastPeak();
  }

  /** The push that just ended made the queue longer than its peak, or filled the buffer. */
  private pushedPastPeak(): void {
    if (this.tail === this.head) this.resize(2 * (this.mask + 1), this.mask + 1);
    else this.peak = this.length;
  }

  shift(): Schedulable | undefined {
    if (this.head === this.tail) return undefined;
    const task = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return task;
  }

  queued(): Schedulable[] {
    const list: Schedulable[] = [];
    for (let i = this.head; i !== this.tail; i = (i + 1) & this.mask) list.push(this.items[i] as Schedulable);
    return list;
  }

  /**
   * @internal The hub's pass has ended (called once per pass, with the tasks of the next
   * pass not yet queued). Shrink if the queue has stayed under a quarter of its capacity
   * for {@link RUN_QUEUE_QUIET_PASSES} passes in a row.
   */
  passEnded(): void {
    const capacity = this.mask + 1;
    if (capacity === RUN_QUEUE_FLOOR) return;
    if (4 * this.peak >= capacity) {
      this.quietPasses = 0;
      this.peak = this.length;
      return;
    }
    if (++this.quietPasses < RUN_QUEUE_QUIET_PASSES) return;
    // The smallest power of two above twice the peak: that peak again is then at least a
    // quarter of it (no shrinking further), and growing takes twice the peak.
    let size = RUN_QUEUE_FLOOR;
    while (size <= 2 * this.peak) size *= 2;
    this.resize(size, this.length);
  }

  /**
   * Move the `count` queued tasks (from head on; `count` is the capacity when the buffer
   * is full, head === tail), in order, to the front of a buffer of `size` slots (a power of
   * two above `count`).
   */
  private resize(size: number, count: number): void {
    const old = this.items;
    const oldMask = this.mask;
    const items = slots(size);
    for (let i = 0, j = this.head; i < count; i++, j = (j + 1) & oldMask) items[i] = old[j];
    this.items = items;
    this.head = 0;
    this.tail = count;
    this.mask = size - 1;
    this.peak = count;
    this.quietPasses = 0;
  }
}

/** An array of `size` empty slots, all made the same way (one elements kind for every buffer). */
function slots(size: number): (Schedulable | undefined)[] {
  return new Array<Schedulable | undefined>(size).fill(undefined);
}
