/**
 * `startTrace()`: record what the greenlets of this thread do, as a Chrome Trace Event
 * JSON file that Perfetto (ui.perfetto.dev) and chrome://tracing open.
 *
 * What is recorded. One track (`tid`) per greenlet, named after it (a task's name;
 * `main`, `hub`, or `greenlet #n` for the others). A span (`X` event) for every stretch a
 * greenlet runs, from the core's switch events (`settrace`): control is always in exactly
 * one greenlet, so a span ends where the next begins, and the main greenlet's spans are
 * the time spent in plain code and in the event loop. Instant events (`i`, scope thread),
 * from the hub's monitor: `spawn` (with the spawner), `park` (with what it parked on, as
 * `String(parking)` says it), `wake`, `kill` / `interrupt` (with the error's name),
 * `throw` (an error transferred into the greenlet, from the switch events) and `end`.
 *
 * How recording stays cheap. A channel round trip costs about 100 ns and makes six
 * events, so nothing is built while recording: an event is a row of preallocated typed
 * arrays (kind, greenlet key, one number, a time when the clock was read) plus, for parks
 * and errors, a string; the JSON objects are made at `stop()`. A park is always followed
 * at once by the switch away from the task, so it is stored in that switch's row; while
 * events are dense, so is a wake. Greenlets are keyed by their task id (the last four
 * greenlets are remembered by identity: `instanceof` and reads of `id` across the shapes
 * tasks take cost more than a row) or, for raw greenlets, through a WeakMap. Names are
 * read at the end, so a name set after `spawn` shows.
 *
 * The clock. `performance.now()` costs about 40 ns in Node 20. While events come less
 * than 2 µs apart (`DENSE_MS`), the default `clock: 'sampled'` reads it only every
 * `STRIDE`th row (16) and whenever a helper thread's millisecond tick has moved
 * (`ClockTicker`); sparser events read it every time, which costs them nothing
 * noticeable. At `stop()`, rows between two readings are spread evenly; when the later
 * reading was taken because the tick moved, the long stretch is the last (the rows
 * before it saw no tick), so they are placed at the pace of the last dense stretch. Every
 * event is then within a tick (about a millisecond, usually microseconds) of its true
 * time, and a span longer than a tick ends at a real clock reading. `clock: 'exact'`
 * reads the clock at every row (several times the cost on switch-heavy code). What a
 * task parked on is described once per parking object per tick while the same two
 * parkings alternate, so within a millisecond a description may show an earlier state.
 *
 * The bound. At most `limit` rows are kept (default 1,000,000). Past it, with
 * `overflow: 'drop-oldest'` (the default) the oldest rows make room and the file keeps
 * the most recent ones; with `'stop'` recording stops. `otherData` says which and how many
 * were dropped. The file is valid either way: spans are complete events, and the span
 * that was running when recording ended is closed there.
 *
 * Invariants while recording: our tracer and monitor are installed, or chained behind
 * ones installed later (they then only forward); `current` is the key of the greenlet
 * that runs; `parking` and `pendingWake` belong to the span of `current`; rows `[0, w)`
 * are written, and once the rows have wrapped (`laps > 0`), row `w` is the oldest.
 *
 * @module
 */
import { GreenletExit } from '../core/errors.js';
import type { Greenlet } from '../core/greenlet.js';
import { getCurrentGreenlet, getMainGreenlet, type TraceFunction } from '../core/switcher.js';
import { gettrace, settrace } from '../core/trace.js';
import { version } from '../core/version.js';
import { getHub, type Hub, type HubMonitor, type Parking, type Schedulable } from '../hub/hub.js';
import { Task } from '../hub/task.js';
import { ClockTicker } from './clock-ticker.js';
import { writeTraceFile, type TraceEvent, type TraceFile } from './trace-file.js';

/** How to record: see {@link startTrace}. */
export interface TraceOptions {
  /**
   * Most records kept, default 1,000,000. A record is a span or an instant event, except
   * that a park (and, while switches come fast, a wake) is stored with the span that
   * follows it: a full file holds between one and three times as many events.
   */
  limit?: number;
  /** Past the limit: drop the oldest events (default) or stop recording. */
  overflow?: 'drop-oldest' | 'stop';
  /**
   * `sampled` (default): while events come less than 2 µs apart, read the clock only
   * every 16th event and whenever a millisecond tick has passed (a helper thread keeps
   * the tick while recording), and interpolate the times in between: every event within
   * about a millisecond of its time, usually microseconds, and spans longer than that
   * exact at their end. Sparser events read the clock each time. `exact`: read it at
   * every event (several times the cost on switch-heavy code).
   */
  clock?: 'sampled' | 'exact';
}

/**
 * A trace being recorded; {@link startTrace} returns one.
 *
 * ```ts
 * const recorder = startTrace();
 * await run(main);
 * recorder.writeTo('trace.json'); // open it in ui.perfetto.dev
 * ```
 */
export interface TraceRecorder {
  /** True until `stop()` (or `writeTo()`). */
  readonly recording: boolean;
  /**
   * Stop recording, put back the trace function and hub monitor that were installed
   * before, and return the trace. Calling it again returns the same object.
   */
  stop(): TraceFile;
  /** Stop (if still recording) and write the trace to `path` as JSON, synchronously. */
  writeTo(path: string): TraceFile;
}

/**
 * Records a trace keeps by default (see `TraceOptions.limit`).
 *
 * ```ts
 * startTrace({ limit: DEFAULT_TRACE_LIMIT / 10 }); // a tenth of the memory: about 3 MB
 * ```
 */
export const DEFAULT_TRACE_LIMIT = 1_000_000;
/** In sampled mode, while events are dense, the clock is read at least every STRIDE rows. */
const STRIDE = 16;
/**
 * Events are dense when they come less than this far apart (ms): then reading the clock
 * for each would cost more than the rest of recording. Sparser ones read it every time,
 * which costs them nothing noticeable.
 */
const DENSE_MS = 0.002;
/** The helper thread's tick, in milliseconds. */
const TICK_MS = 1;

// Row kinds (low bits of `kinds`). A park is always followed at once by the switch away
// from the parked task, so it is stored in that switch's row (PARK_RUN); while events are
// dense, a wake is stored in the next switch's row too (`wakes`): a blocking round trip
// then costs two rows instead of four.
const KIND = 0x0f;
const RUN = 0;
const PARK_RUN = 1;
const SPAWN = 2;
const WAKE = 3;
const INTERRUPT = 4;
const THROW = 5;
const END = 6;

// Keys of greenlets that are not tasks (tasks use their id, >= 1).
const MAIN = -1;
const HUB = -2;

// END's number: how the task ended.
const RETURNED = 0;
const FAILED = 1;
const KILLED = 2;

// Flags of `kinds`: the row read the clock (its `times` entry is valid), because the tick moved.
const CLOCK = 0x40;
const TICKED = 0x80;

/**
 * Start recording a trace of every greenlet of this thread: spans while each runs, and
 * spawn, park, wake, kill, throw and end events. It composes with a trace function
 * (`settrace`) and a hub monitor that are already installed, and puts them back when it
 * stops. Record from anywhere (plain code or a task); stop with `recorder.stop()` (the
 * JSON object) or `recorder.writeTo(path)`.
 *
 * Without changing code, `GREENLET_TRACE=trace.json node --import greenlet-ts/debug/auto-trace app.js`
 * records the whole run (see `auto-trace`).
 *
 * ```ts
 * import { startTrace } from 'greenlet-ts/debug';
 *
 * const recorder = startTrace({ limit: 100_000 });
 * await run(function* () {
 *   const t = spawn(worker);
 *   yield* t.join();
 * });
 * recorder.writeTo('trace.json'); // open in ui.perfetto.dev or chrome://tracing
 * ```
 */
export function startTrace(options: TraceOptions = {}): TraceRecorder {
  const limit = options.limit ?? DEFAULT_TRACE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`startTrace({ limit: ${String(limit)} }): the limit is a number of events, a whole number >= 1`);
  }
  const overflow = options.overflow ?? 'drop-oldest';
  if (overflow !== 'drop-oldest' && overflow !== 'stop') {
    throw new RangeError(`startTrace({ overflow: ${JSON.stringify(overflow)} }): use 'drop-oldest' or 'stop'`);
  }
  const clock = options.clock ?? 'sampled';
  if (clock !== 'sampled' && clock !== 'exact') {
    throw new RangeError(`startTrace({ clock: ${JSON.stringify(clock)} }): use 'sampled' or 'exact'`);
  }
  return new Recording(limit, overflow, clock === 'sampled' ? ClockTicker.start(TICK_MS) : null);
}

/** The monitor installed over an existing one: calls it first, then records. */
class ChainedMonitor implements HubMonitor {
  constructor(
    private readonly rec: Recording,
    readonly previous: HubMonitor,
  ) {}
  spawned(task: Schedulable, spawner: Greenlet): void {
    this.previous.spawned?.(task, spawner);
    this.rec.spawned(task, spawner);
  }
  parked(task: Schedulable, parking: Parking): void {
    this.previous.parked?.(task, parking);
    this.rec.parked(task, parking);
  }
  woken(task: Schedulable, throws: boolean): void {
    this.previous.woken?.(task, throws);
    this.rec.woken(task, throws);
  }
  interrupted(task: Schedulable, error: unknown): void {
    this.previous.interrupted?.(task, error);
    this.rec.interrupted(task, error);
  }
  ended(task: Schedulable, failed: boolean, outcome: unknown): void {
    this.previous.ended?.(task, failed, outcome);
    this.rec.ended(task, failed, outcome);
  }
}

/** The recorder; it is also the hub monitor when no other was installed. */
class Recording implements TraceRecorder, HubMonitor {
  // --- the rows ----------------------------------------------------------------------
  private cap: number;
  /** Kind, and the CLOCK and TICKED flags. */
  private kinds: Uint8Array;
  /** The greenlet the row is about (for a RUN: the one that starts running). */
  private keys: Int32Array;
  /** RUN: the greenlet that ran before; SPAWN: the spawner; THROW: the origin; else a code. */
  private nums: Int32Array;
  /** RUN, PARK_RUN: a task woken just before the switch (0: none). */
  private wakes: Int32Array;
  /** ms, in rows with the CLOCK flag; the others are interpolated (see timesInOrder). */
  private times: Float64Array;
  /** PARK_RUN: what was parked on; INTERRUPT, END: the error's name. */
  private texts: (string | undefined)[];
  /** Next row to write. */
  private w = 0;
  /** Times the rows wrapped around (drop-oldest); row `w` is the oldest once it did. */
  private laps = 0;
  /** Rows refused at the limit (overflow 'stop'). */
  private refused = 0;
  /** When recording stopped at the limit (overflow 'stop'). */
  private fullAt = 0;

  // --- the clock -------------------------------------------------------------------------
  private readonly ticks: Int32Array;
  private lastTick = -1;
  /** Rows between clock readings now: STRIDE while events are dense, else 1. */
  private stride = 1;
  /** Rows left until the next reading. */
  private left = 1;
  /** The latest clock reading (ms). */
  private lastRead = 0;

  // --- greenlets -------------------------------------------------------------------------
  private readonly hub: Hub;
  private readonly main: Greenlet;
  /** Key of the greenlet running now. */
  private current: number;
  /** What the running task has just parked on: stored with the switch that follows. */
  private parking: Parking | null = null;
  /** A task woken in this span, to store with the switch that ends it (0: none). */
  private pendingWake = 0;
  /** Bit per task id: its name is known (`names`). */
  private named = new Uint8Array(1024);
  /** Task (until it ends: its name may change) or its final name; labels of others. */
  private readonly names = new Map<number, Schedulable | string>();
  private readonly rawKeys = new WeakMap<Greenlet, number>();
  private nextRawKey = HUB - 1;
  // The keys of the four greenlets seen last (see keyOf); separate fields, for speed.
  private seen0: Greenlet | null = null;
  private seen1: Greenlet | null = null;
  private seen2: Greenlet | null = null;
  private seen3: Greenlet | null = null;
  private key0 = 0;
  private key1 = 0;
  private key2 = 0;
  private key3 = 0;
  private seenNext = 0;

  // Descriptions of the last two parkings, until the tick moves (see describe).
  private parking0: Parking | null = null;
  private parking1: Parking | null = null;
  private text0 = '';
  private text1 = '';
  private parkingNext = 0;

  // --- installation ----------------------------------------------------------------------
  private on = true;
  private file: TraceFile | null = null;
  private readonly tracer: TraceFunction;
  private readonly previousTracer: TraceFunction | null;
  private readonly monitor: HubMonitor;
  private readonly previousMonitor: HubMonitor | null;
  private readonly startedAt = Date.now();
  private readonly startMs: number;

  constructor(
    private readonly limit: number,
    private readonly overflow: 'drop-oldest' | 'stop',
    private readonly ticker: ClockTicker | null,
  ) {
    this.cap = Math.min(limit, 16_384);
    this.kinds = new Uint8Array(this.cap);
    this.keys = new Int32Array(this.cap);
    this.nums = new Int32Array(this.cap);
    this.wakes = new Int32Array(this.cap);
    this.times = new Float64Array(this.cap);
    this.texts = new Array<string | undefined>(this.cap).fill(undefined);
    // Without a ticker the counter stays 0, which `push` reads as "read the clock".
    this.ticks = ticker !== null ? ticker.ticks : new Int32Array(2);
    this.hub = getHub();
    this.main = getMainGreenlet();
    this.current = this.keyOf(getCurrentGreenlet());
    this.push(RUN, this.current, 0);
    this.wakes[0] = 0;
    this.startMs = this.times[0] as number;

    this.previousTracer = gettrace();
    const previousTracer = this.previousTracer;
    this.tracer =
      previousTracer === null
        ? (event, args) => {
            if (this.on) this.switched(event, args[0], args[1]);
            else this.stepAside();
          }
        : (event, args) => {
            previousTracer(event, args);
            if (this.on) this.switched(event, args[0], args[1]);
            else this.stepAside();
          };
    settrace(this.tracer);
    this.previousMonitor = this.hub.monitor;
    this.monitor = this.previousMonitor === null ? this : new ChainedMonitor(this, this.previousMonitor);
    this.hub.monitor = this.monitor;
  }

  get recording(): boolean {
    return this.on;
  }

  // --- events ------------------------------------------------------------------------------

  private switched(event: 'switch' | 'throw', origin: Greenlet, target: Greenlet): void {
    const key = this.keyOf(target);
    if (key !== this.current) {
      const parking = this.parking;
      const i = this.push(parking === null ? RUN : PARK_RUN, key, this.current);
      if (i >= 0) {
        this.wakes[i] = this.pendingWake;
        if (parking !== null) this.texts[i] = this.describe(parking);
      }
      this.parking = null;
      this.pendingWake = 0;
      this.current = key;
    }
    if (event === 'throw') this.push(THROW, key, this.keyOf(origin));
  }

  spawned(task: Schedulable, spawner: Greenlet): void {
    if (!this.on) return this.stepAside();
    if (this.pendingWake !== 0) this.flushWake();
    this.push(SPAWN, this.keyOf(task), this.keyOf(spawner));
  }

  parked(_task: Schedulable, parking: Parking): void {
    // The switch away from the task follows at once; `switched` records both.
    if (this.on) this.parking = parking;
    else this.stepAside();
  }

  woken(task: Schedulable, throws: boolean): void {
    if (!this.on) return this.stepAside();
    const key = this.keyOf(task);
    if (this.pendingWake !== 0) this.flushWake();
    // Dense: the wake goes with the next switch (its time would be interpolated anyway).
    if (this.stride !== 1 && !throws) this.pendingWake = key;
    else this.push(WAKE, key, throws ? 1 : 0);
  }

  interrupted(task: Schedulable, error: unknown): void {
    if (!this.on) return this.stepAside();
    if (this.pendingWake !== 0) this.flushWake();
    const i = this.push(INTERRUPT, this.keyOf(task), error instanceof GreenletExit ? 1 : 0);
    if (i >= 0) this.texts[i] = errorName(error);
  }

  ended(task: Schedulable, failed: boolean, outcome: unknown): void {
    if (!this.on) return this.stepAside();
    if (this.pendingWake !== 0) this.flushWake();
    const key = this.keyOf(task);
    const i = this.push(END, key, failed ? FAILED : outcome instanceof GreenletExit ? KILLED : RETURNED);
    if (i >= 0 && failed) this.texts[i] = errorName(outcome);
    // Its name is final now: keep the name, not the task.
    this.names.set(key, task.name);
  }

  /** Record the pending wake as a row of its own (another event comes before the switch). */
  private flushWake(): void {
    const key = this.pendingWake;
    this.pendingWake = 0;
    this.push(WAKE, key, 0);
  }

  /**
   * `String(parking)`, remembered for the last two parkings until the tick moves (so
   * in exact mode, not at all): a ping-pong describes each of its two once a millisecond.
   */
  private describe(parking: Parking): string {
    if (parking === this.parking0) return this.text0;
    if (parking === this.parking1) return this.text1;
    let text: string;
    try {
      text = String(parking);
    } catch (error) {
      text = `(a Parking whose toString() threw ${errorName(error)})`;
    }
    if (this.parkingNext === 0) {
      this.parking0 = parking;
      this.text0 = text;
    } else {
      this.parking1 = parking;
      this.text1 = text;
    }
    this.parkingNext ^= 1;
    return text;
  }

  /**
   * Write a row (kind, key, number), with the time now when the clock is read: when the
   * tick has moved, or every `stride` rows. Returns its index, or -1 when recording
   * stopped at the limit. (The time is stored here rather than passed in: a double passed
   * between functions that are not inlined is boxed, an allocation that cost as much as
   * the row.)
   */
  private push(kind: number, key: number, num: number): number {
    let i = this.w;
    if (i === this.cap) {
      i = this.makeRoom();
      if (i < 0) return -1;
    }
    const tick = this.ticks[0] as number;
    if (tick !== this.lastTick) {
      // Tick 0: no ticker (exact mode) or not started yet; -1 makes the next row read too.
      this.lastTick = tick === 0 ? -1 : tick;
      this.parking0 = this.parking1 = null;
      this.times[i] = this.readClock();
      kind |= CLOCK | TICKED;
    } else if (--this.left === 0) {
      this.times[i] = this.readClock();
      kind |= CLOCK;
    }
    this.kinds[i] = kind;
    this.keys[i] = key;
    this.nums[i] = num;
    this.w = i + 1;
    return i;
  }

  /** Read the clock, and choose how many rows until the next reading. */
  private readClock(): number {
    const now = performance.now();
    const rows = this.stride - this.left + 1;
    this.stride = now - this.lastRead < DENSE_MS * rows ? STRIDE : 1;
    this.left = this.stride;
    this.lastRead = now;
    return now;
  }

  /** The rows are full: grow them, wrap around, or stop; returns the row to write or -1. */
  private makeRoom(): number {
    if (this.cap < this.limit) {
      const cap = Math.min(this.limit, this.cap * 2);
      this.kinds = grown(this.kinds, new Uint8Array(cap));
      this.keys = grown(this.keys, new Int32Array(cap));
      this.nums = grown(this.nums, new Int32Array(cap));
      this.wakes = grown(this.wakes, new Int32Array(cap));
      this.times = grown(this.times, new Float64Array(cap));
      const texts = new Array<string | undefined>(cap).fill(undefined);
      for (let i = 0; i < this.cap; i++) texts[i] = this.texts[i];
      this.texts = texts;
      const i = this.cap;
      this.cap = cap;
      return i;
    }
    if (this.overflow === 'drop-oldest') {
      this.laps++;
      return 0;
    }
    if (this.refused++ === 0) this.fullAt = performance.now();
    return -1;
  }

  /**
   * The key of a greenlet: the task id, or a negative number for the others. A few
   * greenlets take part in most events, and `instanceof` or a read of `id` across the
   * many shapes tasks take costs more than the rest of recording: the last four are
   * remembered by identity.
   */
  private keyOf(g: Greenlet): number {
    if (g === this.seen0) return this.key0;
    if (g === this.seen1) return this.key1;
    if (g === this.seen2) return this.key2;
    if (g === this.seen3) return this.key3;
    const key = this.lookUpKey(g);
    switch (this.seenNext) {
      case 0:
        this.seen0 = g;
        this.key0 = key;
        break;
      case 1:
        this.seen1 = g;
        this.key1 = key;
        break;
      case 2:
        this.seen2 = g;
        this.key2 = key;
        break;
      default:
        this.seen3 = g;
        this.key3 = key;
    }
    this.seenNext = (this.seenNext + 1) & 3;
    return key;
  }

  private lookUpKey(g: Greenlet): number {
    if (g instanceof Task) {
      const id = g.id;
      if (id >= this.named.length * 8 || ((this.named[id >> 3] as number) & (1 << (id & 7))) === 0) this.firstSight(g, id);
      return id;
    }
    if (g === this.hub) return HUB;
    if (g === this.main) return MAIN;
    let key = this.rawKeys.get(g);
    if (key === undefined) {
      key = this.nextRawKey--;
      this.rawKeys.set(g, key);
      const kind = g.constructor.name;
      this.names.set(key, `${kind === 'Greenlet' || kind === '' ? 'greenlet' : kind} #${HUB - key}`);
    }
    return key;
  }

  private firstSight(task: Task, id: number): void {
    if (id >= this.named.length * 8) {
      const named = new Uint8Array(Math.max(this.named.length * 2, (id >> 3) + 1));
      named.set(this.named);
      this.named = named;
    }
    this.named[id >> 3] = (this.named[id >> 3] as number) | (1 << (id & 7));
    this.names.set(id, task as Schedulable);
  }

  // --- stopping ------------------------------------------------------------------------

  stop(): TraceFile {
    if (this.file !== null) return this.file;
    if (this.pendingWake !== 0) this.flushWake();
    const end = performance.now();
    this.on = false;
    this.stepAside();
    this.ticker?.stop();
    this.file = this.build(this.refused > 0 ? this.fullAt : end);
    this.kinds = new Uint8Array(0);
    this.keys = this.nums = this.wakes = new Int32Array(0);
    this.times = new Float64Array(0);
    this.texts = [];
    this.names.clear();
    this.parking = this.parking0 = this.parking1 = null;
    this.seen0 = this.seen1 = this.seen2 = this.seen3 = null;
    return this.file;
  }

  /**
   * Put back the trace function and monitor we replaced, where we are still on top. Where
   * something was installed over us since, we stay in its chain and only forward, until
   * it puts us back on top: the first event after that steps aside.
   */
  private stepAside(): void {
    if (gettrace() === this.tracer) settrace(this.previousTracer);
    if (this.hub.monitor === this.monitor) this.hub.monitor = this.previousMonitor;
  }

  writeTo(path: string): TraceFile {
    const file = this.stop();
    writeTraceFile(path, file);
    return file;
  }

  /** Make the JSON events from the rows; `end` (ms) closes the last span. */
  private build(end: number): TraceFile {
    const wrapped = this.laps > 0;
    const n = wrapped ? this.cap : this.w;
    const first = wrapped ? this.w % this.cap : 0;
    const row = (j: number): number => (first + j) % this.cap;
    const ms = this.timesInOrder(n, row, end);

    const pid = processId();
    const tids = new Map<number, number>();
    const tidOf = (key: number): number => {
      let tid = tids.get(key);
      if (tid === undefined) {
        tid = tids.size + 1;
        tids.set(key, tid);
      }
      return tid;
    };
    const nameOf = (key: number): string => {
      if (key === MAIN) return 'main';
      if (key === HUB) return 'hub';
      const name = this.names.get(key);
      if (name === undefined) return `greenlet ${key}`;
      return typeof name === 'string' ? name : name.name;
    };
    const us = (t: number): number => Math.round(t * 1e6) / 1e3;

    const events: TraceEvent[] = [];
    let open: TraceEvent | null = null;
    let openMs = 0;
    const close = (t: number): void => {
      if (open !== null) open.dur = Math.max(0, Math.round((t - openMs) * 1e6) / 1e3);
    };
    const begin = (key: number, t: number): void => {
      close(t);
      open = { name: nameOf(key), cat: 'greenlet', ph: 'X', ts: us(t), dur: 0, pid, tid: tidOf(key) };
      openMs = t;
      events.push(open);
    };
    const instant = (name: string, key: number, t: number, args: Record<string, string | number | boolean>): void => {
      events.push({ name, cat: 'greenlet', ph: 'i', s: 't', ts: us(t), pid, tid: tidOf(key), args });
    };

    // Who ran when the window opens: the first row if it is a switch; else (the oldest rows
    // were dropped) the greenlet the first switch in the window left.
    if (n > 0 && ((this.kinds[row(0)] as number) & KIND) > PARK_RUN) {
      let running = this.current;
      for (let j = 0; j < n; j++) {
        if (((this.kinds[row(j)] as number) & KIND) <= PARK_RUN) {
          running = this.nums[row(j)] as number;
          break;
        }
      }
      begin(running, ms[0] as number);
    }
    for (let j = 0; j < n; j++) {
      const i = row(j);
      const key = this.keys[i] as number;
      const num = this.nums[i] as number;
      const t = ms[j] as number;
      const kind = (this.kinds[i] as number) & KIND;
      if (kind <= PARK_RUN) {
        const woken = this.wakes[i] as number;
        if (woken !== 0) instant('wake', woken, t, { with: 'value' });
        if (kind === PARK_RUN) instant('park', num, t, { on: this.texts[i] ?? '' });
        begin(key, t);
        continue;
      }
      switch (kind) {
        case SPAWN:
          instant('spawn', key, t, { spawner: nameOf(num) });
          break;
        case WAKE:
          instant('wake', key, t, { with: num === 1 ? 'error' : 'value' });
          break;
        case INTERRUPT:
          instant(num === 1 ? 'kill' : 'interrupt', key, t, { error: this.texts[i] ?? '' });
          break;
        case THROW:
          instant('throw', key, t, { from: nameOf(num) });
          break;
        case END:
          instant(
            'end',
            key,
            t,
            num === FAILED ? { outcome: 'failed', error: this.texts[i] ?? '' } : { outcome: num === KILLED ? 'killed' : 'returned' },
          );
          break;
      }
    }
    close(end);

    const meta: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: processName() } }];
    for (const [key, tid] of tids) {
      meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name: nameOf(key) } });
      // main and the hub first, then the others in order of appearance.
      meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid, args: { sort_index: key === MAIN ? -2 : key === HUB ? -1 : tid } });
    }
    const recorded = this.laps * this.cap + this.w + this.refused;
    return {
      traceEvents: meta.concat(events),
      displayTimeUnit: 'ms',
      otherData: {
        producer: 'greenlet-ts',
        version,
        clock: this.ticker === null ? 'exact' : 'sampled',
        limit: this.limit,
        overflow: this.overflow,
        recorded,
        dropped: recorded - n,
        startedAt: new Date(this.startedAt).toISOString(),
        durationMs: Math.round((end - this.startMs) * 1e3) / 1e3,
      },
    };
  }

  /**
   * The time of each row in order, in ms, interpolating rows that did not read the clock
   * (only dense rows do not: see DENSE_MS). Between two readings, rows are spread evenly;
   * when the later reading was taken because the tick moved, the long stretch is the last
   * one (the rows before it saw no tick), so they are placed at the pace of the last dense
   * stretch instead.
   */
  private timesInOrder(n: number, row: (j: number) => number, end: number): Float64Array {
    const ms = new Float64Array(n);
    let prev = -1;
    let prevT = 0;
    let pace = NaN;
    for (let j = 0; j <= n; j++) {
      // `end` acts as a reading taken after a tick: the program may have idled before stop.
      const flags = j < n ? (this.kinds[row(j)] as number) : CLOCK | TICKED;
      if ((flags & CLOCK) === 0) continue;
      const t = j < n ? (this.times[row(j)] as number) : end;
      if (prev < 0) {
        for (let k = 0; k < j; k++) ms[k] = t;
      } else if (j - prev > 1) {
        const even = (t - prevT) / (j - prev);
        let step = even;
        if ((flags & TICKED) !== 0) step = Math.min(even, Number.isNaN(pace) ? DENSE_MS / 2 : pace);
        else if (even < DENSE_MS) pace = even;
        for (let k = prev + 1; k < j; k++) ms[k] = prevT + (k - prev) * step;
      }
      if (j < n) ms[j] = t;
      prev = j;
      prevT = t;
    }
    return ms;
  }

}

function grown<T extends Uint8Array | Int32Array | Float64Array>(old: T, into: T): T {
  into.set(old);
  return into;
}

function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
    return 'object';
  }
  return typeof error;
}

function processId(): number {
  const pid = (globalThis as { process?: { pid?: unknown } }).process?.pid;
  return typeof pid === 'number' ? pid : 1;
}

function processName(): string {
  const argv = (globalThis as { process?: { argv?: unknown } }).process?.argv;
  const script = Array.isArray(argv) && typeof argv[1] === 'string' ? argv[1].split(/[\\/]/).pop() : undefined;
  return script !== undefined && script !== '' ? `greenlet-ts: ${script}` : 'greenlet-ts';
}
