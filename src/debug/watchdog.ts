/**
 * The watchdog: reports when the event loop has not come back for longer than a
 * threshold, and names the greenlet that kept it (gevent's monitor thread, gevent#1021).
 *
 * How it sees a stall. Two observers, both opt-in:
 * - a switch observer (`settrace`, composed through monitors.ts) notes which greenlet was
 *   switched in and when; at each switch it knows how long the greenlet switched out ran
 *   without yielding, and keeps the longest such run;
 * - an interval timer (unref'd: it never keeps the process alive) ticks every
 *   `threshold / 2` ms. A tick that comes more than `threshold` ms late, or a greenlet
 *   run longer than `threshold` since the last tick, means the loop was blocked: the
 *   report names the greenlet with the longest run and its duration, or says that plain
 *   code outside greenlets (callbacks, async functions) kept the loop busy. Main's own
 *   stretches do not count: they include the time the loop sat idle.
 *
 * A hub that never comes back at all cannot report from inside. In Node a watchdog
 * *thread* (worker_threads) watches a heartbeat that the main thread writes into a
 * SharedArrayBuffer at each tick, along with the id of the greenlet switched in at each
 * switch and when. When the heartbeat goes stale by more than the threshold, the worker
 * prints to stderr itself (with `fs.writeSync(2)`: a worker's `process.stderr` goes
 * through the main thread, which is blocked), naming the greenlet and for how long it
 * has been running; again each time the stall doubles. Names reach the worker through a
 * bounded table in the same buffer ({@link NAME_SLOTS} slots of {@link NAME_BYTES} bytes,
 * by id): a greenlet's name is written the first time it is switched in while its slot
 * holds another id, so a name changed after a task first ran is not seen.
 *
 * Reports go through the hub's reporter as reports of kind `'blocked-loop'`
 * ({@link LoopBlockedReport}); the default reporter prints them to stderr as warnings.
 *
 * Cost while running: a clock read and a few stores per switch, one timer tick every
 * `threshold / 2` ms. Nothing at all while stopped.
 *
 * @module
 */
import type { Greenlet } from '../core/greenlet.js';
import type { TraceFunction } from '../core/trace.js';
import { getCurrentGreenlet, getMainGreenlet } from '../core/switcher.js';
import { STATUS, getHub, type HubReport, type Schedulable } from '../hub/hub.js';
import { now } from '../hub/timers.js';
import { addSwitchObserver } from './monitors.js';

/** How {@link startWatchdog} watches. */
export interface WatchdogOptions {
  /** Report when the event loop has not come back for longer than this, in ms. Default 100. */
  threshold?: number;
  /**
   * Also watch from a worker thread, which sees a loop that never comes back (Node ≥
   * 20.16 with worker_threads; skipped elsewhere). Default true.
   */
  thread?: boolean;
}

/** What the watchdog reports through the hub's reporter: the report of kind `'blocked-loop'`. */
export type LoopBlockedReport = Extract<HubReport, { kind: 'blocked-loop' }>;

/** Slots of the watchdog thread's name table. */
export const NAME_SLOTS = 256;
/** Bytes per name in the table (UTF-8; longer names are cut). */
export const NAME_BYTES = 64;

// Layout of the shared buffer, in Int32 cells: the header, then the ids of the names in
// each slot, then their byte lengths, then the name bytes.
const BEAT = 0; // when the main thread last ticked (ms since the epoch)
const RUNNING = 1; // the id of the greenlet switched in last
const SINCE = 2; // when it was switched in (ms since the epoch)
const HEADER = 4;
const NO_ID = -0x80000000;
const MAIN_ID = 0;
const HUB_ID = -1;

/** The state of a running watchdog. */
interface Running {
  readonly threshold: number;
  readonly interval: number;
  readonly timer: ReturnType<typeof setInterval>;
  readonly stopObserving: () => void;
  readonly worker: WorkerLike | null;
  readonly online: Promise<boolean>;
}

let running: Running | null = null;

// Written by the switch observer, read by the tick.
let switchedInAt = 0;
let longestRun = 0;
let longestRunner: Greenlet | null = null;
let lastTick = 0;
let shared: Int32Array | null = null;
let sharedBytes: Uint8Array | null = null;
/** The main thread's clock reading that is time 0 in the shared buffer. */
let epoch = 0;

/**
 * Start watching the event loop: when it has not come back for more than `threshold` ms,
 * report which greenlet was running and for how long, as a warning through the hub's
 * reporter (by default printed to stderr). In Node a watchdog thread also reports, from
 * its own thread, a loop that never comes back. Calling it again restarts it with the
 * new options.
 *
 * ```ts
 * startWatchdog({ threshold: 100 });
 * spawn(function* () {
 *   crunchNumbersForASecond(); // reported: "... crunch-3 ran for 1002 ms without yielding"
 * });
 * // ...
 * await stopWatchdog();
 * ```
 */
export function startWatchdog(options: WatchdogOptions = {}): void {
  const threshold = options.threshold ?? 100;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
    throw new RangeError(`startWatchdog({ threshold }) takes a number of milliseconds > 0, not ${String(threshold)}`);
  }
  if (running !== null) void stopWatchdog();
  const interval = Math.max(1, threshold / 2);
  epoch = now();
  lastTick = epoch;
  switchedInAt = epoch;
  longestRun = 0;
  longestRunner = null;
  const worker = options.thread === false ? null : startThread(threshold, interval);
  const stopObserving = addSwitchObserver(observeSwitch);
  if (shared !== null) publishRunning(getCurrentGreenlet(), epoch);
  const timer = setInterval(() => tick(threshold, interval), interval);
  (timer as { unref?: () => void }).unref?.();
  const online =
    worker === null
      ? Promise.resolve(false)
      : new Promise<boolean>((resolve) => {
          worker.once('online', () => resolve(true));
          worker.once('exit', () => resolve(false));
        });
  running = { threshold, interval, timer, stopObserving, worker, online };
}

/**
 * Stop the watchdog: the timer, the switch observer and the thread (after reporting a
 * stall that ended since the last check). The promise resolves when the thread has
 * exited. Does nothing if it is not running.
 *
 * ```ts
 * await stopWatchdog();
 * ```
 */
export function stopWatchdog(): Promise<void> {
  const r = running;
  if (r === null) return Promise.resolve();
  running = null;
  clearInterval(r.timer);
  tick(r.threshold, r.interval); // a stall that ended just now is still reported
  r.stopObserving();
  shared = null;
  sharedBytes = null;
  longestRunner = null;
  return r.worker === null ? Promise.resolve() : r.worker.terminate().then(() => undefined);
}

/**
 * The running watchdog's settings, or null when it is stopped.
 *
 * ```ts
 * watchdogRunning(); // { threshold: 100, thread: true }
 * ```
 */
export function watchdogRunning(): { readonly threshold: number; readonly thread: boolean } | null {
  return running === null ? null : { threshold: running.threshold, thread: running.worker !== null };
}

/**
 * Resolves once the watchdog thread runs (true), or at once with false when there is no
 * thread (stopped, `thread: false`, or no worker_threads). A program that may hang right
 * after `startWatchdog()` can wait for it, so that the thread sees the hang.
 *
 * ```ts
 * startWatchdog();
 * await watchdogThreadReady();
 * ```
 */
export function watchdogThreadReady(): Promise<boolean> {
  if (running === null) return Promise.resolve(false);
  const worker = running.worker;
  if (worker === null) return running.online;
  // The thread never keeps the process alive, except while someone waits for it to start.
  worker.ref();
  return running.online.finally(() => worker.unref());
}

// --- the main thread's side -----------------------------------------------------------

const observeSwitch: TraceFunction = (_event, args) => {
  const t = now();
  const origin = args[0];
  // Main's stretches include the time the loop sat idle: they say nothing.
  if (origin !== getMainGreenlet()) {
    const ran = t - switchedInAt;
    if (ran > longestRun) {
      longestRun = ran;
      longestRunner = origin;
    }
  }
  switchedInAt = t;
  if (shared !== null) publishRunning(args[1], t);
};

function tick(threshold: number, interval: number): void {
  const t = now();
  const late = t - lastTick - interval;
  lastTick = t;
  if (shared !== null) Atomics.store(shared, BEAT, Math.round(t - epoch));
  const ran = longestRun;
  const runner = longestRunner;
  longestRun = 0;
  longestRunner = null;
  if (late <= threshold && ran <= threshold) return;
  deliver(blockedReport(Math.max(late, ran), runner, ran, threshold));
}

function blockedReport(blocked: number, runner: Greenlet | null, ran: number, threshold: number): LoopBlockedReport {
  const blockedForMs = Math.round(blocked);
  const ranForMs = runner === null ? 0 : Math.round(ran);
  const name = runner === null ? null : nameOf(runner);
  const head = `greenlet-ts watchdog: the event loop was blocked for ${blockedForMs} ms (threshold ${threshold} ms): `;
  let why: string;
  if (name !== null && ran > threshold / 2) why = `${name} ran for ${ranForMs} ms without yielding`;
  else if (name !== null) {
    why =
      `no greenlet ran longer than ${ranForMs} ms (${name}): plain code outside greenlets (callbacks, async ` +
      'functions) or many short runs in one pass kept it busy';
  } else why = 'no greenlet ran: plain code outside greenlets (callbacks, async functions) kept it busy';
  return { kind: 'blocked-loop', blockedForMs, greenlet: name, ranForMs, thresholdMs: threshold, message: head + why };
}

function deliver(report: LoopBlockedReport): void {
  getHub().report(report);
}

function nameOf(g: Greenlet): string {
  if (g === getMainGreenlet()) return 'main';
  if (g === getHub()) return 'the hub';
  const name = (g as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : String(g);
}

// --- the watchdog thread --------------------------------------------------------------

/** What the watchdog uses of node:worker_threads' Worker. */
interface WorkerLike {
  once(event: 'online' | 'exit', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
}

type WorkerConstructor = new (
  code: string,
  options: { eval: true; workerData: unknown; execArgv: string[]; stdout: boolean; stderr: boolean },
) => WorkerLike;

/** Ids of greenlets that are not tasks (main is 0, the hub -1). */
const otherIds = new WeakMap<Greenlet, number>();
let nextOtherId = -2;

function idOf(g: Greenlet): number {
  if (g === getMainGreenlet()) return MAIN_ID;
  if (g === getHub()) return HUB_ID;
  if ((g as Partial<Schedulable>)[STATUS] !== undefined) return (g as unknown as { id: number }).id;
  let id = otherIds.get(g);
  if (id === undefined) {
    id = nextOtherId--;
    otherIds.set(g, id);
  }
  return id;
}

const encoder = typeof TextEncoder === 'function' ? new TextEncoder() : null;

function publishRunning(g: Greenlet, t: number): void {
  const cells = shared as Int32Array;
  const id = idOf(g);
  Atomics.store(cells, SINCE, Math.round(t - epoch));
  Atomics.store(cells, RUNNING, id);
  if (id === MAIN_ID || id === HUB_ID) return;
  const slot = ((id % NAME_SLOTS) + NAME_SLOTS) % NAME_SLOTS;
  if (Atomics.load(cells, HEADER + slot) === id || encoder === null) return;
  const bytes = (sharedBytes as Uint8Array).subarray(slot * NAME_BYTES, (slot + 1) * NAME_BYTES);
  const { written } = encoder.encodeInto(nameOf(g), bytes);
  Atomics.store(cells, HEADER + NAME_SLOTS + slot, written);
  Atomics.store(cells, HEADER + slot, id);
}

function startThread(threshold: number, interval: number): WorkerLike | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const threads = proc?.getBuiltinModule?.('node:worker_threads') as { Worker?: WorkerConstructor } | undefined;
  if (threads?.Worker === undefined || typeof SharedArrayBuffer !== 'function') return null;
  const buffer = new SharedArrayBuffer((HEADER + 2 * NAME_SLOTS) * 4 + NAME_SLOTS * NAME_BYTES);
  shared = new Int32Array(buffer, 0, HEADER + 2 * NAME_SLOTS);
  sharedBytes = new Uint8Array(buffer, (HEADER + 2 * NAME_SLOTS) * 4);
  shared.fill(NO_ID, HEADER, HEADER + NAME_SLOTS);
  Atomics.store(shared, BEAT, 0);
  const worker = new threads.Worker(WATCHDOG_THREAD, {
    eval: true,
    workerData: {
      buffer,
      threshold,
      interval,
      epoch: performance.timeOrigin + epoch,
      layout: { BEAT, RUNNING, SINCE, HEADER, NAME_SLOTS, NAME_BYTES, MAIN_ID, HUB_ID },
    },
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  worker.on('error', (error) => getHub().report({ kind: 'callback-error', where: 'the watchdog thread', error }));
  return worker;
}

/**
 * The watchdog thread (CommonJS, run with `eval`). It reports a heartbeat older than
 * `interval + threshold` ms, then again each time the stall doubles, until the beat moves.
 */
const WATCHDOG_THREAD = `
'use strict';
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { buffer, threshold, interval, epoch, layout: L } = workerData;
const cells = new Int32Array(buffer, 0, L.HEADER + 2 * L.NAME_SLOTS);
const bytes = new Uint8Array(buffer, (L.HEADER + 2 * L.NAME_SLOTS) * 4);
const decoder = new TextDecoder();
const elapsed = () => performance.timeOrigin + performance.now() - epoch;
let beat = Atomics.load(cells, L.BEAT);
let nextReport = threshold;
function describe(id, ranFor) {
  if (id === L.MAIN_ID) return 'no greenlet is running: plain code outside greenlets (callbacks, async functions) blocks it';
  const running = ' has been running for ' + ranFor + ' ms without yielding';
  if (id === L.HUB_ID) return 'the hub' + running;
  const slot = ((id % L.NAME_SLOTS) + L.NAME_SLOTS) % L.NAME_SLOTS;
  let name = '(name unknown)';
  if (Atomics.load(cells, L.HEADER + slot) === id) {
    const length = Atomics.load(cells, L.HEADER + L.NAME_SLOTS + slot);
    name = decoder.decode(bytes.slice(slot * L.NAME_BYTES, slot * L.NAME_BYTES + length));
  }
  return (id > 0 ? 'task ' + name + ' (#' + id + ')' : 'greenlet ' + name) + running;
}
setInterval(() => {
  const b = Atomics.load(cells, L.BEAT);
  if (b !== beat) {
    beat = b;
    nextReport = threshold;
    return;
  }
  const t = elapsed();
  const overdue = t - beat - interval;
  if (overdue <= nextReport) return;
  while (nextReport < overdue) nextReport *= 2;
  const id = Atomics.load(cells, L.RUNNING);
  const ranFor = Math.round(t - Atomics.load(cells, L.SINCE));
  writeSync(2, 'greenlet-ts watchdog (thread): the event loop has not come back for ' + Math.round(overdue) +
    ' ms (threshold ' + threshold + ' ms); ' + describe(id, ranFor) + '\\n');
}, Math.max(1, Math.floor(interval)));
`;
