/**
 * The hub's timers: one binary heap of deadlines, and one host timer armed for the
 * earliest of them.
 *
 * A million tasks asleep on distinct deadlines cost three slots each in the heap's arrays
 * and one host timer, not a million host timers. An entry is a {@link Timer} (a Timeout, a
 * delayed start, a wait that ends with a value of its own) or an {@link OwnEntry}: a task
 * asleep in a plain timed wait (`sleep(ms)`) is its own entry, so that a million sleeping
 * tasks make no timer object at all. The deadline and sequence number of the entry at
 * position `i` are `deadlines[i]` and `seqs[i]`, kept beside the entries rather than in
 * them. Every entry knows its position (`entry[HEAP_INDEX]`), so cancelling one (a task
 * woken early or killed in its sleep, a Timeout that is no longer needed) is O(log n) and
 * leaves nothing behind.
 *
 * Invariants: `entries[i][HEAP_INDEX] === i` for every entry in the heap; a Timer not in
 * the heap has `[HEAP_INDEX] === -1` (an own entry's field is its owner's business once it
 * leaves); the heap orders entries by (deadline, seq), and seqs are unique and increase
 * in the order entries were added, so equal deadlines fire first added, first fired;
 * `refCount` is the number of entries in the heap that keep the process alive (own entries
 * and Timers with `ref`), and the host timer keeps the process alive exactly when it is
 * non-zero; when the heap is not empty, the host timer is armed no later than its earliest
 * deadline (it may be armed earlier, or with an empty heap, left over from timers since
 * cancelled).
 *
 * Virtual time (the testing layer). While a {@link TimeSource} is installed with
 * {@link useTimeSource}, `now()` reads it, no host timer is armed (and one left from
 * before does nothing when it fires), and time moves only when the testing layer fires
 * the due timers itself ({@link TimerHeap.peek}, {@link TimerHeap.dueAt}). It is
 * installed only while no timer is pending, so real and virtual deadlines never mix.
 *
 * @module
 */

/**
 * The host's `performance`, read once: in Node (20) the global is a lazy accessor whose
 * getter runs at every read, about 45 instructions (callgrind), more than half of what
 * the clock read itself costs; the hub reads the clock at every pass.
 */
const hostPerformance: { now(): number } | undefined =
  typeof performance !== 'undefined' && typeof performance.now === 'function' ? performance : undefined;
const hostNow: () => number = hostPerformance !== undefined ? () => hostPerformance.now() : () => Date.now();

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

/**
 * The key of an entry's position in the heap. A task's field of that key is its interrupt
 * field (hub.ts's `INTERRUPT`), which holds its position while it sleeps as its own entry.
 */
const HEAP_INDEX_KEY: unique symbol = Symbol('greenlet-ts.interrupt');
export const HEAP_INDEX: typeof HEAP_INDEX_KEY = HEAP_INDEX_KEY;

/** Something that happens at a deadline. Subclasses say what in `fire()`. */
export abstract class Timer {
  /** Position in the heap; -1 when not scheduled. */
  [HEAP_INDEX_KEY]: unknown = -1;
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
    return this[HEAP_INDEX_KEY] !== -1;
  }
}

/**
 * An object that is its own entry in the heap, with no {@link Timer}: a task asleep in a
 * plain timed wait (hub.ts). While it is pending, the heap keeps its position in
 * `[HEAP_INDEX]`; when it leaves the heap (fired or removed), the heap writes -1 there and
 * its owner, which knows what else the field holds, puts its own value back. It always
 * keeps the process alive; when it is due, the heap hands it to the `ownDue` function it
 * was made with.
 */
export interface OwnEntry {
  [HEAP_INDEX_KEY]: unknown;
}

/** What the heap holds. */
export type TimerEntry = Timer | OwnEntry;

type HostHandle = ReturnType<typeof setTimeout>;

/** The arrays' first capacity; they double when full and halve when a quarter full. */
const MIN_CAPACITY = 64;

/**
 * The longest delay a host timer takes: 2^31 - 1 ms, 24.8 days. Node, Deno and the
 * browsers fire a longer one (`sleep(Infinity)`, a month's wait) after 1 ms or at once; a
 * deadline further off is waited for in steps of this length.
 */
const MAX_HOST_DELAY = 2 ** 31 - 1;

export class TimerHeap {
  /** The heap, in `entries[0 .. count)`; the slots after it are empty. */
  private entries: (TimerEntry | undefined)[] = new Array<undefined>(MIN_CAPACITY).fill(undefined);
  private count = 0;
  /** By position: the entry's deadline (whole ms), and its sequence number. */
  private deadlines = new Float64Array(MIN_CAPACITY);
  private seqs = new Uint32Array(MIN_CAPACITY);
  /** The next sequence number; when it reaches `seqLimit`, the pending ones are numbered again from 0. */
  private seq = 0;
  /** How many pending entries keep the process alive (the hub's idle check reads it). */
  refCount = 0;
  private host: HostHandle | null = null;
  private hostDeadline = Infinity;
  private hostRef = true;

  /**
   * @param onFire - called by the host timer after due entries have fired (the hub runs then).
   * @param ownDue - what a due {@link OwnEntry} does (it has already left the heap).
   * @param seqLimit - sequence numbers stay below it (4 bytes each); tests lower it.
   */
  constructor(
    private readonly onFire: () => void,
    private readonly ownDue: (entry: OwnEntry) => void,
    private readonly seqLimit = 2 ** 32,
  ) {}

  /** How many entries are pending. */
  get size(): number {
    return this.count;
  }

  /** The entry that fires next (the earliest deadline, first added among ties), if any. */
  peek(): TimerEntry | undefined {
    return this.entries[0];
  }

  /** The deadline of `entry` (ms, on the clock of {@link now}) if it is pending, else undefined. */
  deadlineOf(entry: TimerEntry): number | undefined {
    const i = this.positionOf(entry);
    return i === -1 ? undefined : this.deadlines[i];
  }

  /** Whether `entry` is in the heap. */
  has(entry: TimerEntry): boolean {
    return this.positionOf(entry) !== -1;
  }

  private positionOf(entry: TimerEntry): number {
    const i = entry[HEAP_INDEX_KEY];
    return typeof i === 'number' && i >= 0 && i < this.count && this.entries[i] === entry ? i : -1;
  }

  /**
   * The pending entries whose deadline is exactly `deadline`, in the order they were
   * added: the ties the testing layer orders when it fires them under virtual time.
   * Only the subtrees that can hold such a deadline are visited.
   */
  dueAt(deadline: number): TimerEntry[] {
    const found: number[] = [];
    const n = this.count;
    const deadlines = this.deadlines;
    const visit = (i: number): void => {
      if (i >= n || (deadlines[i] as number) > deadline) return;
      if (deadlines[i] === deadline) found.push(i);
      visit(2 * i + 1);
      visit(2 * i + 2);
    };
    visit(0);
    const seqs = this.seqs;
    return found.sort((a, b) => (seqs[a] as number) - (seqs[b] as number)).map((i) => this.entries[i] as TimerEntry);
  }

  /** Schedule `timer` to fire `ms` milliseconds from now (at once, on the next fire, if `ms <= 0`). */
  add(timer: Timer, ms: number): void {
    if (timer[HEAP_INDEX_KEY] !== -1) this.remove(timer);
    this.insert(timer, ms, timer.ref);
  }

  /** Schedule own entry `entry`, which is not pending, to be due `ms` milliseconds from now. */
  addOwn(entry: OwnEntry, ms: number): void {
    this.insert(entry, ms, true);
  }

  private insert(entry: TimerEntry, ms: number, ref: boolean): void {
    // Whole milliseconds: host timers have no finer resolution.
    const deadline = Math.ceil(now() + Math.max(0, ms));
    const n = this.count;
    if (n === this.deadlines.length) this.resize(2 * n);
    if (this.seq === this.seqLimit) this.renumber();
    this.count = n + 1;
    if (ref) this.refCount++;
    this.up(n, entry, deadline, this.seq++);
    this.arm();
  }

  /** Cancel `entry` if it is pending. Returns whether it was. */
  remove(entry: TimerEntry): boolean {
    const i = this.positionOf(entry);
    if (i === -1) return false;
    this.removeAt(i, entry instanceof Timer ? entry.ref : true);
    return true;
  }

  /** Cancel `timer`, which is pending (the hub's path for a timed wait that ends early). */
  removePending(timer: Timer): void {
    this.removeAt(timer[HEAP_INDEX_KEY] as number, timer.ref);
  }

  /** Cancel own entry `entry`, which is pending (the hub's path for a sleep that ends early). */
  removeOwn(entry: OwnEntry): void {
    this.removeAt(entry[HEAP_INDEX_KEY] as number, true);
  }

  /** Do what `entry`, due and already out of the heap, does when it fires. */
  fire(entry: TimerEntry): void {
    if (entry instanceof Timer) entry.fire();
    else this.ownDue(entry);
  }

  private removeAt(i: number, ref: boolean): void {
    const entries = this.entries;
    const entry = entries[i] as TimerEntry;
    const lastAt = --this.count;
    const last = entries[lastAt] as TimerEntry;
    entries[lastAt] = undefined;
    if (i !== lastAt) {
      // The last entry fills the hole, then moves up or down to its place.
      const deadline = this.deadlines[lastAt] as number;
      const seq = this.seqs[lastAt] as number;
      const parent = (i - 1) >> 1;
      if (i > 0 && this.before(deadline, seq, parent)) this.up(i, last, deadline, seq);
      else this.down(i, last, deadline, seq);
    }
    entry[HEAP_INDEX_KEY] = -1;
    if (ref) this.refCount--;
    if (lastAt < this.deadlines.length >> 2 && this.deadlines.length > MIN_CAPACITY) this.resize(this.deadlines.length >> 1);
    // The host timer stays armed even when the heap empties (it no longer keeps the
    // process alive): a timed wait that ends early, the common case, would otherwise
    // pay for a clearTimeout and the next one for a new setTimeout. Firing with nothing
    // due costs one callback.
    this.updateHostRef();
  }

  private resize(capacity: number): void {
    const n = this.count;
    const entries = new Array<TimerEntry | undefined>(capacity).fill(undefined);
    for (let i = 0; i < n; i++) entries[i] = this.entries[i];
    this.entries = entries;
    const deadlines = new Float64Array(capacity);
    deadlines.set(this.deadlines.subarray(0, n));
    this.deadlines = deadlines;
    const seqs = new Uint32Array(capacity);
    seqs.set(this.seqs.subarray(0, n));
    this.seqs = seqs;
  }

  /**
   * Number the pending entries 0, 1, ... in the order of their sequence numbers, which
   * therefore keep their order (and the heap its shape), and go on from there. Once every
   * `seqLimit` additions (4 billion), so that equal deadlines fire in the order they were
   * added however long a timer waits, with 4 bytes per sequence number.
   */
  private renumber(): void {
    const seqs = this.seqs;
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => (seqs[a] as number) - (seqs[b] as number));
    for (let k = 0; k < order.length; k++) seqs[order[k] as number] = k;
    this.seq = order.length;
  }

  /** Fire every entry whose deadline has passed, in deadline order. */
  private fireDue(): void {
    const t = now();
    for (;;) {
      const first = this.entries[0];
      if (first === undefined || (this.deadlines[0] as number) > t) break;
      this.removeAt(0, first instanceof Timer ? first.ref : true);
      this.fire(first);
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
    if (this.count === 0) {
      this.disarm();
      return;
    }
    const first = this.deadlines[0] as number;
    if (this.host !== null && this.hostDeadline <= first) {
      this.updateHostRef();
      return;
    }
    if (this.host !== null) clearTimeout(this.host);
    // Host timers have millisecond resolution and may fire a little early; firing
    // re-checks the clock and re-arms for whatever is not due yet.
    const t = now();
    const delay = Math.max(0, Math.ceil(first - t));
    if (delay <= MAX_HOST_DELAY) {
      this.host = setTimeout(this.callback, delay);
      this.hostDeadline = first;
    } else {
      // Fires with nothing due and arms again for what is left.
      this.host = setTimeout(this.callback, MAX_HOST_DELAY);
      this.hostDeadline = t + MAX_HOST_DELAY;
    }
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

  /** Whether (deadline, seq) comes before the entry at position `i`. */
  private before(deadline: number, seq: number, i: number): boolean {
    const d = this.deadlines[i] as number;
    return deadline < d || (deadline === d && seq < (this.seqs[i] as number));
  }

  /** Put `entry` with (deadline, seq) at hole `i`, or above it where it belongs. */
  private up(i: number, entry: TimerEntry, deadline: number, seq: number): void {
    const entries = this.entries;
    const deadlines = this.deadlines;
    const seqs = this.seqs;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const d = deadlines[parent] as number;
      if (d < deadline || (d === deadline && (seqs[parent] as number) < seq)) break;
      const p = entries[parent] as TimerEntry;
      entries[i] = p;
      deadlines[i] = d;
      seqs[i] = seqs[parent] as number;
      p[HEAP_INDEX_KEY] = i;
      i = parent;
    }
    entries[i] = entry;
    deadlines[i] = deadline;
    seqs[i] = seq;
    entry[HEAP_INDEX_KEY] = i;
  }

  /** Put `entry` with (deadline, seq) at hole `i`, or below it where it belongs. */
  private down(i: number, entry: TimerEntry, deadline: number, seq: number): void {
    const entries = this.entries;
    const deadlines = this.deadlines;
    const seqs = this.seqs;
    const n = this.count;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let d = deadlines[child] as number;
      let s = seqs[child] as number;
      const right = child + 1;
      if (right < n) {
        const rd = deadlines[right] as number;
        const rs = seqs[right] as number;
        if (rd < d || (rd === d && rs < s)) {
          child = right;
          d = rd;
          s = rs;
        }
      }
      if (deadline < d || (deadline === d && seq < s)) break;
      const c = entries[child] as TimerEntry;
      entries[i] = c;
      deadlines[i] = d;
      seqs[i] = s;
      c[HEAP_INDEX_KEY] = i;
      i = child;
    }
    entries[i] = entry;
    deadlines[i] = deadline;
    seqs[i] = seq;
    entry[HEAP_INDEX_KEY] = i;
  }
}
