/**
 * The hub's timers: one binary heap of deadlines, and one host timer armed for the
 * earliest of them.
 *
 * A million tasks asleep on distinct deadlines cost a million small `Timer` objects and
 * one host timer, not a million host timers. Every timer knows its index in the heap, so
 * cancelling one (a task killed in its sleep, a Timeout that is no longer needed) is
 * O(log n) and leaves nothing behind.
 *
 * Invariants: `heap[i].index === i` for every timer in the heap; a cancelled or fired
 * timer has `index === -1`; `refCount` is the number of timers in the heap with `ref`
 * set, and the host timer keeps the process alive exactly when it is non-zero; when the
 * heap is not empty, the host timer is armed no later than its earliest deadline (it may
 * be armed earlier, or with an empty heap, left over from timers since cancelled).
 *
 * Virtual time (the testing layer). While a {@link TimeSource} is installed with
 * {@link useTimeSource}, `now()` reads it, no host timer is armed (and one left from
 * before does nothing when it fires), and time moves only when the testing layer fires
 * the due timers itself ({@link TimerHeap.peek}, {@link TimerHeap.dueAt}). It is
 * installed only while no timer is pending, so real and virtual deadlines never mix.
 *
 * @module
 */

const hostNow: () => number =
  typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? () => performance.now()
    : () => Date.now();

/** A clock other than the host's: the testing layer's virtual time. */
export interface TimeSource {
  /** Milliseconds; never goes back. */
  now(): number;
}

let timeSource: TimeSource | null = null;

/**
 * @internal Read time from `source` instead of the host's monotonic clock (null: the
 * host's again). Only the hub installs it (`Hub.setControl`), while no timer is pending.
 */
export function useTimeSource(source: TimeSource | null): void {
  timeSource = source;
}

/** Milliseconds on a monotonic clock: the host's, or the virtual clock while one is installed. */
export function now(): number {
  return timeSource === null ? hostNow() : timeSource.now();
}

/** Something that happens at a deadline. Subclasses say what in `fire()`. */
export abstract class Timer {
  deadline = 0;
  /** Position in the heap; -1 when not scheduled. */
  index = -1;
  /** Order among equal deadlines: first scheduled, first fired. */
  seq = 0;
  /**
   * Whether this timer keeps the process alive while it is pending. True on the
   * prototype, so that a timer costs no field for it; a timer that must not keep the
   * process alive sets its own `false` when it is made.
   */
  declare ref: boolean;
  static {
    (this.prototype as { ref: boolean }).ref = true;
  }

  /** Runs in the main greenlet, from the host timer's callback. */
  abstract fire(): void;

  get pending(): boolean {
    return this.index !== -1;
  }
}

type HostHandle = ReturnType<typeof setTimeout>;

export class TimerHeap {
  private readonly heap: Timer[] = [];
  private seq = 0;
  /** How many pending timers keep the process alive (the hub's idle check reads it). */
  refCount = 0;
  private host: HostHandle | null = null;
  private hostDeadline = Infinity;
  private hostRef = true;

  /** @param onFire - called by the host timer after due timers have fired (the hub runs then). */
  constructor(private readonly onFire: () => void) {}

  /** How many timers are pending. */
  get size(): number {
    return this.heap.length;
  }

  /** The timer that fires next (the earliest deadline, first scheduled among ties), if any. */
  peek(): Timer | undefined {
    return this.heap[0];
  }

  /**
   * The pending timers whose deadline is exactly `deadline`, in the order they were
   * scheduled: the ties the testing layer orders when it fires them under virtual time.
   * Only the subtrees that can hold such a deadline are visited.
   */
  dueAt(deadline: number): Timer[] {
    const found: Timer[] = [];
    const visit = (i: number): void => {
      const timer = this.heap[i];
      if (timer === undefined || timer.deadline > deadline) return;
      if (timer.deadline === deadline) found.push(timer);
      visit(2 * i + 1);
      visit(2 * i + 2);
    };
    visit(0);
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** Schedule `timer` to fire `ms` milliseconds from now (at once, on the next fire, if `ms <= 0`). */
  add(timer: Timer, ms: number): void {
    if (timer.index !== -1) this.remove(timer);
    // Whole milliseconds (host timers have no finer resolution): a small integer is
    // stored in the timer itself, a fractional deadline in a box of its own per timer.
    timer.deadline = Math.ceil(now() + Math.max(0, ms));
    timer.seq = this.seq++;
    timer.index = this.heap.length;
    this.heap.push(timer);
    if (timer.ref) this.refCount++;
    this.up(timer.index);
    this.arm();
  }

  /** Cancel `timer` if it is pending. Returns whether it was. */
  remove(timer: Timer): boolean {
    const i = timer.index;
    if (i === -1) return false;
    const last = this.heap.pop() as Timer;
    if (last !== timer) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    timer.index = -1;
    if (timer.ref) this.refCount--;
    // The host timer stays armed even when the heap empties (it no longer keeps the
    // process alive): a timed wait that ends early, the common case, would otherwise
    // pay for a clearTimeout and the next one for a new setTimeout. Firing with nothing
    // due costs one callback.
    this.updateHostRef();
    return true;
  }

  /** Fire every timer whose deadline has passed, in deadline order. */
  private fireDue(): void {
    const t = now();
    for (;;) {
      const first = this.heap[0];
      if (first === undefined || first.deadline > t) break;
      this.remove(first);
      first.fire();
    }
  }

  private readonly callback = (): void => {
    this.host = null;
    this.hostDeadline = Infinity;
    // A host timer armed before virtual time began: virtual deadlines are not the host's.
    if (timeSource !== null) return;
    this.fireDue();
    this.arm();
    this.onFire();
  };

  /** Make sure the host timer is set for the earliest deadline (never under virtual time). */
  private arm(): void {
    if (timeSource !== null) return;
    const first = this.heap[0];
    if (first === undefined) {
      this.disarm();
      return;
    }
    if (this.host !== null && this.hostDeadline <= first.deadline) {
      this.updateHostRef();
      return;
    }
    if (this.host !== null) clearTimeout(this.host);
    // Host timers have millisecond resolution and may fire a little early; firing
    // re-checks the clock and re-arms for whatever is not due yet.
    const delay = Math.max(0, Math.ceil(first.deadline - now()));
    this.host = setTimeout(this.callback, delay);
    this.hostDeadline = first.deadline;
    this.hostRef = true;
    this.updateHostRef();
  }

  private disarm(): void {
    if (this.host !== null) {
      clearTimeout(this.host);
      this.host = null;
      this.hostDeadline = Infinity;
    }
  }

  private updateHostRef(): void {
    // Node's and Bun's handles are objects with ref/unref; browsers and Deno return a
    // number, and JavaScriptCore's shell returns undefined: none of those can be unref'd.
    const host = this.host as { ref?: () => void; unref?: () => void } | null | undefined;
    if (typeof host !== 'object' || host === null || typeof host.unref !== 'function') return;
    const wanted = this.refCount > 0;
    if (wanted !== this.hostRef) {
      this.hostRef = wanted;
      if (wanted) host.ref?.();
      else host.unref();
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    const timer = heap[i] as Timer;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Timer;
      if (!this.less(timer, p)) break;
      heap[i] = p;
      p.index = i;
      i = parent;
    }
    heap[i] = timer;
    timer.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const timer = heap[i] as Timer;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.less(heap[right] as Timer, heap[child] as Timer)) child = right;
      const c = heap[child] as Timer;
      if (!this.less(c, timer)) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = timer;
    timer.index = i;
  }
}
