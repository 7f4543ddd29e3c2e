/**
 * The hub: one greenlet per thread that runs ready tasks and hands control back to the
 * host event loop when none is ready. Also the park/wake protocol every blocking
 * primitive is built on.
 *
 * How control moves. The hub's parent is main. An event-loop callback (a timer, I/O, a
 * promise reaction) that makes a task ready calls {@link Hub.runNow}, which switches to
 * the hub synchronously; the hub resumes ready tasks one after the other and switches
 * back to main when none is left, so the callback returns. (A callback that starts a task
 * with {@link Hub.startNow} when nothing else is ready switches to the task itself.) A task that blocks *parks*:
 * it records what it waits on and switches straight to the next ready task, or to the
 * hub when there is none. A wakeup never bounces through a promise or a macrotask: the
 * woken task goes on the run queue and runs in the same pass.
 *
 * Fairness. A pass is bounded by time, as gevent's loop is: it resumes ready tasks until
 * the switch interval (`setswitchinterval()`, default 5 ms) has passed since it began,
 * reading the clock every CLOCK_CHECK_EVERY (50) resumes rather than at each, then the hub
 * lets the event loop run (a macrotask) before it continues, so ready tasks cannot starve
 * timers and I/O, and a burst of them (a fan-out) runs in one pass or a few rather than
 * in slices of a fixed count. Under a {@link HubControl} the clock is virtual and stands
 * still within a pass, so there a pass ends after PASS_BUDGET (1000) resumes, a count that
 * keeps schedules deterministic. A task that calls `sleep(0)` waits for the next pass, after
 * the event loop had its turn: a loop around `sleep(0)` yields to I/O every time.
 *
 * Task scheduling states (`schedOf(task)`):
 *
 * ```text
 *   NEW ──start()──▶ READY ──resumed──▶ RUNNING ──park()──▶ PARKED
 *                      ▲                   │                   │
 *                      └──────── wake() / interrupt() ─────────┘
 *   RUNNING ──run ends──▶ DONE (settled; the hub learns it from the switcher)
 *   NEW ──kill()──▶ DONE (never runs)
 * ```
 *
 * Virtual time and schedule exploration (the testing layer) take the hub over through a
 * {@link HubControl}, installed only while no task lives and no timer is pending: its run
 * queue stands in for the FIFO (same interface: the invariants below hold for it), and
 * `turn()` takes the event loop's turn at the end of a pass, so that a whole program runs
 * in one hub run. Without one, the hub's paths are those described here.
 *
 * Invariants: a READY task is on the run queue (a task killed before it started may stay
 * there, DONE, and is skipped); a PARKED task is
 * registered with exactly one Parking (`task[WAIT]`), which can forget it (`unpark`);
 * only the hub and parking tasks resume tasks; while a task is PARKED, `task[INTERRUPT]`
 * says what ends its wait at a deadline if the wait is timed (NO_INTERRUPT if not): its
 * own position in the timer heap (a number: the task is its own heap entry) or the wait's
 * timer, pending exactly while the task is parked on that wait; a task that is not PARKED
 * is in the heap only as a Timer's task (a Timeout, a delayed start), never as its own
 * entry, and there `task[INTERRUPT]` is the interrupt to raise at its next park (the
 * first of a queue of them, one per park, when more came), or NO_INTERRUPT.
 *
 * @module
 */
import { Greenlet } from '../core/greenlet.js';
import {
  K_ARGS,
  K_THROW,
  K_VALUE,
  getCurrentGreenlet,
  getMainGreenlet,
  isSwitcherRunning,
  request,
  endTransfer,
  getTracer,
  setEndHook,
  setPickHook,
  requestPick,
  STATE,
  PENDING,
  takeDied,
  type SwitchOp,
} from '../core/switcher.js';
import type { GreenletBody } from '../core/greenlet.js';
import { Operation, callOutside, type Outside } from '../core/operation.js';
import type { Performed, SwitchSignal } from '../core/switcher.js';
import { BlockingError, LoopExit, type BlockedTask } from './errors.js';
import { HEAP_INDEX, Timer, TimerHeap, now, useTimeSource, type OwnEntry } from './timers.js';
import { RunQueue } from './run-queue.js';
import { CLOCK_CHECK_EVERY, PASS_BUDGET, switchIntervalMs } from './switchinterval.js';

// --- the fields the hub keeps on every task (see task.ts) -----------------------------

/**
 * The task's status word, a small integer (so that it costs one field, not three, on
 * every task): its scheduling state in bits 0-2 (NEW ... DONE: {@link schedOf}), how it
 * resumes in bits 3-4 (K_ARGS to start with its arguments, K_VALUE or K_THROW:
 * {@link wakeKindOf}), in bit 5 whether it is on the list of live tasks (see PREV), and
 * from bit {@link TASK_BITS} up the task's own (its outcome, whether
 * it was looked at, whether it is awaited: task.ts). Only a task has it: `x[STATUS] ===
 * undefined` tells anything else (a plain greenlet, an async waiter) with one load.
 */
const STATUS_KEY: unique symbol = Symbol('greenlet-ts.status');
export const STATUS: typeof STATUS_KEY = STATUS_KEY;
/**
 * What the task resumes with while READY (its arguments before it starts); while PARKED,
 * when it parked (see {@link parkedAt}); once ended, its result (task.ts). One field for
 * three uses that never overlap: every field is paid by every task.
 */
const WAKE_KEY: unique symbol = Symbol('greenlet-ts.wake');
export const WAKE: typeof WAKE_KEY = WAKE_KEY;
/** The Parking the task waits on while PARKED. */
const WAIT_KEY: unique symbol = Symbol('greenlet-ts.wait');
export const WAIT: typeof WAIT_KEY = WAIT_KEY;
/**
 * Not PARKED: an error to raise at the task's next park (a kill or timeout that found it
 * READY or RUNNING), an `Interrupts` queue when more than one came (one per park), or
 * NO_INTERRUPT. PARKED: what ends its wait at a deadline (a timed
 * wait; see {@link deadlineOf}), or NO_INTERRUPT: a number, the task's own position in the
 * timer heap, when the wait resumes with `undefined` (every `sleep(ms)`: the task is its
 * own entry, with no timer object); otherwise the wait's `WaitDeadline`. One field
 * for all: a parked task can have no interrupt pending (an interrupt wakes it), and only a
 * parked task has a deadline. It is the heap's `HEAP_INDEX` key (timers.ts), where the
 * heap writes an entry's position.
 */
const INTERRUPT_KEY: typeof HEAP_INDEX = HEAP_INDEX;
export const INTERRUPT: typeof HEAP_INDEX = HEAP_INDEX;
/**
 * The hub's list of live tasks (see {@link Hub.liveTasks}), linked through these two
 * fields. A task is put on it only once it needs to be found there: when it first parks,
 * or at once if it was made with `new Task` rather than `spawn` (such a task may stay NEW,
 * in no queue). A spawned task that runs to its end without parking never is: until it
 * runs it is on the run queue, then it is the current greenlet, and both are searched.
 * Linking a young task into the long-lived hub costs a write barrier, and the link and
 * unlink with it about 120 instructions per task (callgrind, spawn then join).
 */
const PREV_KEY: unique symbol = Symbol('greenlet-ts.prev');
const NEXT_KEY: unique symbol = Symbol('greenlet-ts.next');
export const PREV: typeof PREV_KEY = PREV_KEY;
export const NEXT: typeof NEXT_KEY = NEXT_KEY;
/** Settle a task that has ended; implemented by Task. */
const SETTLE_KEY: unique symbol = Symbol('greenlet-ts.settle');
export const SETTLE: typeof SETTLE_KEY = SETTLE_KEY;

// The scheduling states. Module-local copies of the exports below, and of every other
// export this file reads on its hot paths (the `_KEY` symbols, NOTHING_PENDING, the
// transfer kinds): V8 reads an exported or imported binding through a cell, a load and a
// hole check per read, where a module-local const costs a context load.
const SCHED_NEW = 0;
const SCHED_READY = 1;
const SCHED_RUNNING = 2;
const SCHED_PARKED = 3;
const SCHED_DONE = 4;
export const NEW = SCHED_NEW;
export const READY = SCHED_READY;
export const RUNNING = SCHED_RUNNING;
export const PARKED = SCHED_PARKED;
export const DONE = SCHED_DONE;

const ARGS_KIND = K_ARGS;
const VALUE_KIND = K_VALUE;
const THROW_KIND = K_THROW;

// The status word's layout (see STATUS).
const SCHED_BITS = 7;
const KIND_SHIFT = 3;
const KIND_BITS = 3 << KIND_SHIFT;
/** Set once the task is on the hub's list of live tasks (see PREV). */
const LISTED = 1 << 5;
/** The lowest bit of a task's status word that is the task's (task.ts), not the hub's. */
export const TASK_BITS = 6;

/** The scheduling state of `task`: NEW, READY, RUNNING, PARKED or DONE. */
export function schedOf(task: Schedulable): number {
  return task[STATUS_KEY] & SCHED_BITS;
}

/** How READY `task` resumes: K_ARGS (it starts, with its arguments), K_VALUE or K_THROW. */
export function wakeKindOf(task: Schedulable): number {
  return (task[STATUS_KEY] & KIND_BITS) >> KIND_SHIFT;
}

/** Make NEW `task` READY and queue it to start; false (and nothing done) if it is not NEW. */
export function scheduleStart(task: Schedulable): boolean {
  const status = task[STATUS_KEY];
  if ((status & SCHED_BITS) !== SCHED_NEW) return false;
  task[STATUS_KEY] = status | SCHED_READY;
  HUB.enqueue(task);
  return true;
}

/** No interrupt pending. */
const NOTHING_PENDING: unique symbol = Symbol('no interrupt');
export const NO_INTERRUPT: typeof NOTHING_PENDING = NOTHING_PENDING;

/** What the hub needs of a task; Task (task.ts) implements it. */
export interface Schedulable extends Greenlet {
  [STATUS_KEY]: number;
  [WAKE_KEY]: unknown;
  [WAIT_KEY]: Parking | null;
  [INTERRUPT_KEY]: unknown;
  [PREV_KEY]: Schedulable | null;
  [NEXT_KEY]: Schedulable | null;
  [SETTLE_KEY](failed: boolean, outcome: unknown): void;
  readonly name: string;
}

/**
 * Marks a {@link Parking} whose wake comes from the host (I/O, a promise, an emitter's
 * event) rather than from another task or a hub timer. Virtual time and schedule
 * exploration (the testing layer) refuse such waits unless told to let them through:
 * they need every interleaving point to be the hub's.
 */
export const HOST_WAIT: unique symbol = Symbol('greenlet-ts.hostWait');

/**
 * Whatever a task parks on: it must be able to forget the task when the task leaves the
 * wait for another reason (killed, timed out). Its `toString()` says what it is, for
 * reports ("Queue(0 items)", "sleep(500 ms)").
 */
export interface Parking {
  unpark(task: Schedulable): void;
  toString(): string;
  /** True when the wake comes from the host: see {@link HOST_WAIT}. */
  readonly [HOST_WAIT]?: boolean;
}

/**
 * The run queue's interface: the READY tasks, in the order the hub resumes them. The hub's
 * own is a FIFO (run-queue.ts); schedule exploration (the testing layer) installs one that
 * decides which ready task runs next (see {@link HubControl}). `shift` may return a task
 * that is no longer READY (killed before it started): the hub skips it.
 */
export interface RunQueueLike {
  readonly length: number;
  push(task: Schedulable): void;
  shift(): Schedulable | undefined;
  /** The tasks queued now, in the order `shift` would take them without a choice (for listings). */
  queued(): Schedulable[];
}

/**
 * What the debug layer observes of the hub (tracing, run info, the watchdog). Every method
 * is optional; they run synchronously at the event, in plain code (they must not block or
 * switch), and cost nothing while `hub.monitor` is null.
 */
export interface HubMonitor {
  /** `task` was created, while `spawner` was the current greenlet. */
  spawned?(task: Schedulable, spawner: Greenlet): void;
  /** The current task parks on `parking` (the JavaScript stack is the blocking call's). */
  parked?(task: Schedulable, parking: Parking): void;
  /** `task` was made ready to run: woken with a value, or with an error (`throws`). */
  woken?(task: Schedulable, throws: boolean): void;
  /** An interrupt (a kill, a Timeout) was sent to `task`. */
  interrupted?(task: Schedulable, error: unknown): void;
  /** `task` ended, by returning (`failed` false) or with an error. */
  ended?(task: Schedulable, failed: boolean, outcome: unknown): void;
  /**
   * Where parked `task` made its blocking call, if recorded (frames as
   * `function (file:line:column)`, one per line), for deadlock and LoopExit reports.
   */
  waitSite?(task: Schedulable): string | undefined;
}

/** What the hub reports: errors nobody will see otherwise, and waits that can never end. */
export type HubReport =
  | { readonly kind: 'task-error'; readonly task: Schedulable; readonly error: unknown }
  | { readonly kind: 'callback-error'; readonly where: string; readonly error: unknown }
  | { readonly kind: 'deadlock'; readonly blocked: readonly BlockedTask[]; readonly message: string }
  | {
      /** The event loop did not come back for longer than the watchdog's threshold. */
      readonly kind: 'blocked-loop';
      readonly blockedForMs: number;
      /** The greenlet that ran the longest stretch without yielding, if known. */
      readonly greenlet: string | null;
      readonly ranForMs: number;
      readonly thresholdMs: number;
      readonly message: string;
    }
  | SuppressedReports;

/**
 * What receives the hub's reports ({@link HubReport}: a task's error nobody waited for, an
 * error in a callback, a deadlock, a blocked event loop, reports held back), as gevent's
 * `hub.print_exception` does; it must not throw. The default is {@link printReport};
 * install another by assigning `getHub().reporter`, e.g.
 * `getHub().reporter = limitReports((report) => logger.error(report))`.
 */
export type HubReporter = (report: HubReport) => void;

/**
 * What {@link limitReports} passes on instead of the reports it holds back: once when it
 * starts holding back reports of one kind (`count` 0), and once when the interval ends
 * (`count` the reports held back).
 */
export interface SuppressedReports {
  readonly kind: 'reports-suppressed';
  /** The kind of report held back: see {@link reportKey}. */
  readonly key: string;
  /** How many were held back (0 in the notice that it starts). */
  readonly count: number;
  readonly intervalMs: number;
  readonly message: string;
}

/** How {@link limitReports} limits: the first `burst` reports of a kind per interval pass. */
export interface ReportLimits {
  /** How many reports of one kind pass in full per interval (default 10). */
  burst?: number;
  /** The interval, in ms (default 60 000). */
  intervalMs?: number;
}

/** The defaults of {@link ReportLimits}: 10 reports of a kind in full per minute. */
export const DEFAULT_REPORT_LIMITS: Readonly<Required<ReportLimits>> = { burst: 10, intervalMs: 60_000 };

/**
 * The kind of a report, for rate limiting: the report's `kind`, the error's class and its
 * `code` if it has one (`task-error LineTooLong`, `callback-error Error ECONNRESET`). Names
 * of tasks and places are left out: they vary with each connection and request (and a
 * client chooses the path), so a flood of one failure would never count as repeated.
 */
export function reportKey(report: HubReport): string {
  if (report.kind !== 'task-error' && report.kind !== 'callback-error') return report.kind;
  const error = report.error as { constructor?: { name?: unknown }; name?: unknown; code?: unknown } | null;
  const type = typeof error === 'object' && error !== null ? String(error.constructor?.name || error.name || 'Object') : typeof error;
  const code = typeof error?.code === 'string' || typeof error?.code === 'number' ? ` ${String(error.code)}` : '';
  return `${report.kind} ${type}${code}`;
}

/**
 * Wrap `reporter` so that repeated reports cannot flood it: of the reports of one kind
 * ({@link reportKey}), the first `burst` in each interval pass in full; the next ones are
 * counted, with one `reports-suppressed` notice when the holding back starts and one with
 * the count when the interval ends. Each kind has its own interval, starting at its first
 * report. The default reporter, {@link printReport}, is `limitReports(printEveryReport)`.
 *
 * ```ts
 * getHub().reporter = limitReports((report) => logger.error(report), { burst: 100, intervalMs: 10_000 });
 * ```
 */
export function limitReports(reporter: HubReporter, limits: ReportLimits = {}): HubReporter {
  const burst = limits.burst ?? DEFAULT_REPORT_LIMITS.burst;
  const intervalMs = limits.intervalMs ?? DEFAULT_REPORT_LIMITS.intervalMs;
  if (!(burst >= 0) || !(intervalMs > 0)) {
    throw new RangeError(`limitReports({ burst: ${burst}, intervalMs: ${intervalMs} }): burst is a count >= 0, intervalMs a time > 0`);
  }
  const pass = reporter;
  const windows = new Map<string, ReportWindow>();
  const close = (key: string, window: ReportWindow): void => {
    if (windows.get(key) === window) windows.delete(key);
    if (window.timer !== null) clearTimeout(window.timer);
    if (window.held === 0) return;
    pass({
      kind: 'reports-suppressed',
      key,
      count: window.held,
      intervalMs,
      message:
        `greenlet-ts: ${window.held} more ${key} report${window.held === 1 ? ' was' : 's were'} held back in the last ` +
        `${formatMs(intervalMs)} (the last one: ${window.last})`,
    });
  };
  return (report) => {
    if (report.kind === 'reports-suppressed') {
      pass(report);
      return;
    }
    const key = reportKey(report);
    const t = now();
    let window = windows.get(key);
    if (window !== undefined && t - window.start >= intervalMs) {
      close(key, window);
      window = undefined;
    }
    if (window === undefined) {
      window = { start: t, passed: 0, held: 0, last: '', timer: null };
      windows.set(key, window);
    }
    if (window.passed < burst) {
      window.passed++;
      pass(report);
      return;
    }
    window.held++;
    window.last = summarise(report);
    if (window.held === 1) {
      const w = window;
      const timer = setTimeout(() => close(key, w), Math.max(0, w.start + intervalMs - t));
      // Node's and Bun's timers have unref; browsers' and Deno's are numbers, JavaScriptCore's shell's undefined.
      (timer as { unref?: () => void } | undefined)?.unref?.();
      w.timer = timer;
      pass({
        kind: 'reports-suppressed',
        key,
        count: 0,
        intervalMs,
        message:
          `greenlet-ts: more than ${burst} ${key} report${burst === 1 ? '' : 's'} within ${formatMs(intervalMs)}: ` +
          'the next ones are counted, and the count printed when the interval ends',
      });
    }
  };
}

interface ReportWindow {
  start: number;
  passed: number;
  held: number;
  /** A one-line description of the last report held back. */
  last: string;
  timer: ReturnType<typeof setTimeout> | null;
}

function summarise(report: HubReport): string {
  const error = (report as { error?: unknown }).error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const where = report.kind === 'task-error' ? report.task.name : report.kind === 'callback-error' ? report.where : report.kind;
  return `${where}: ${message}`.slice(0, 300);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Print every report to stderr, in full, and carry on, as gevent does. The default
 * reporter, {@link printReport}, is this behind {@link limitReports}.
 */
export const printEveryReport: HubReporter = (report) => {
  switch (report.kind) {
    case 'task-error': {
      const e = report.error;
      console.error(`${report.task.name} failed and nobody waited for it:`, e);
      break;
    }
    case 'callback-error':
      console.error(`error in ${report.where}:`, report.error);
      break;
    case 'deadlock':
      console.error(report.message);
      break;
    case 'blocked-loop':
    case 'reports-suppressed':
      console.warn(report.message);
      break;
  }
};

/**
 * The default reporter: like gevent, print to stderr and carry on; but a flood of one
 * kind of report (a failing handler per connection, say) prints the first 10 in full per
 * minute and counts the rest ({@link limitReports} with {@link DEFAULT_REPORT_LIMITS}).
 */
export const printReport: HubReporter = limitReports(printEveryReport);

/**
 * How the testing layer (greenlet-ts/testing) takes over the hub: virtual time and schedule
 * exploration. Installed with {@link Hub.setControl} while the hub is idle (no task, no
 * timer). Without one the hub pays nothing: the run queue is the FIFO (`queue` is a field,
 * swapped rather than tested), and the other hooks are read only where the hub already
 * branches (the end of a pass, a select with several ready cases, a deferred callback).
 */
export interface HubControl {
  /** The time in milliseconds that `now()` (timers.ts) reads while installed. */
  now(): number;
  /**
   * The hub's pass has ended (no task ready, or the pass's budget spent). Take the event
   * loop's turn here and return true to begin the next pass at once, without going back to
   * the host: run the callbacks given to `soon`, make ready the tasks of the next pass
   * ({@link Hub.readyNextPass}), fire the timers due. Return false to let the hub end
   * the pass as usual and hand control back to the host. It runs in the hub greenlet and
   * must not throw or switch.
   */
  turn(): boolean;
  /** Run `fn` from plain code after the current pass, before time moves (a microtask otherwise). */
  soon(fn: () => void): void;
  /** The run queue to use instead of the FIFO: it decides which ready task runs next; null keeps the FIFO. */
  readonly queue: RunQueueLike | null;
  /** Which of `count` (>= 2) ready select cases fires, 0 being the first listed; null leaves the choice random. */
  readonly chooseCase: ((count: number) => number) | null;
}

const scheduleMacrotask: (fn: () => void) => void =
  typeof setImmediate === 'function'
    ? (fn) => {
        setImmediate(fn);
      }
    : typeof MessageChannel === 'function'
      ? (() => {
          const channel = new MessageChannel();
          const queue: (() => void)[] = [];
          (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => (queue.shift() as () => void)();
          return (fn: () => void) => {
            queue.push(fn);
            channel.port2.postMessage(null);
          };
        })()
      : (() => {
          // Each timer runs the oldest function waiting, not its own, so that these run in
          // the order they were scheduled even where timers of equal delay may not fire in
          // the order they were set (HTML orders them; a bare engine's shell promises nothing).
          const queue: (() => void)[] = [];
          const runOldest = (): void => (queue.shift() as () => void)();
          return (fn: () => void) => {
            queue.push(fn);
            setTimeout(runOldest, 0);
          };
        })();

/** Where the hub keeps the head of its list of live tasks (see {@link Hub.live}). */
class LiveHead {
  constructor(public head: Schedulable | null) {}
}

/**
 * The hub of this thread: created when the module loads; {@link getHub} returns it.
 */
export class Hub extends Greenlet<[], never> {
  /** @internal The FIFO run queue, or while a {@link HubControl} with a queue is installed, that queue. */
  queue: RunQueueLike = new RunQueue();
  /** @internal The FIFO, kept while a control's queue stands in for it. */ private fifo: RunQueue = this.queue as RunQueue;
  /** @internal The testing layer's control (virtual time, schedule exploration), or null. */
  control: HubControl | null = null;
  /** @internal Tasks in sleep(0): resumed in the next pass. */ deferred: Schedulable[] = [];
  /** @internal Tasks in idle(): resumed when a pass ends with nothing else ready. */ idlers: Schedulable[] = [];
  /** @internal */ readonly timers: TimerHeap;
  /** @internal Resumes left before the pass reads the clock again (see {@link Hub.renew}). */ budget = 0;
  /** @internal When the current pass is to end (ms, on the clock of `now()`): its start plus the switch interval. */ passEndsAt = 0;
  /**
   * When the current pass began (whole ms), or -1 while a pass that {@link Hub.startNow}
   * began has not read the clock yet (see {@link Hub.passStartedAt}).
   */
  private startedAt = 0;
  /**
   * @internal When the current pass began: the time recorded for tasks that park in it. A
   * pass that {@link Hub.startNow} began reads the clock only when it needs the time: at
   * its first park, or when its first budget of resumes is spent ({@link Hub.renew});
   * until then its start is not known, and it is taken then. An HttpServer's request
   * whose task ends without parking then reads no clock at all (about 160 instructions).
   */
  get passStartedAt(): number {
    const at = this.startedAt;
    return at >= 0 ? at : this.clockDirectPass();
  }
  /** Tasks spawned and not yet ended. */
  liveCount = 0;
  /**
   * @internal Where the newest task of the list of live tasks is (see PREV), read and
   * written as {@link Hub.liveHead}. A record of its own, made afresh as each pass begins:
   * a task parks and goes on the list while the record is as young as the task, so the
   * store costs no write barrier (a store of a young object into a long-lived one, ~50
   * instructions, as it was into the hub itself); one store of the record per pass instead.
   * A pass that {@link Hub.startNow} began makes it when it first needs the time (its
   * first park, or its first budget spent): one whose task ends at once makes none.
   */
  live: LiveHead = new LiveHead(null);
  /** @internal The newest task of the list of live tasks, or null. */
  get liveHead(): Schedulable | null {
    return this.live.head;
  }
  set liveHead(task: Schedulable | null) {
    this.live.head = task;
  }
  /**
   * @internal Set by spawn() while it makes its task (see {@link Hub.adopt}), or by code
   * that makes a task and hands it to {@link Hub.startNow} at once (an HttpServer's request);
   * the task constructor reads it and resets it.
   */
  spawning = false;
  private kickPending = false;
  /**
   * Set while a pass that {@link Hub.startNow} began without the hub runs: the hub's
   * generator still waits where it last handed control to main. The pass ends in the end
   * hook when a task ends with nothing else ready (straight back to main:
   * `endDirectPass()`), or in the hub's generator, resumed where it waits, when a
   * task parks with nothing else ready.
   */
  private direct = false;
  private continuePending = false;
  private inPass = false;
  /** @internal Failed tasks of this pass that nobody observed yet. */ unobserved: Schedulable[] = [];
  /** @internal The function of the last task that ended in this pass, and its name (see task.ts's functionName). */
  lastFn: Function | null = null;
  /** @internal */ lastFnName: unknown = undefined;
  reporter: HubReporter = printReport;
  /** The debug layer's observer, or null (the default: no cost). */
  monitor: HubMonitor | null = null;
  /** @internal Promises waiting on tasks, rejected with LoopExit if the loop runs dry. */
  readonly awaited: Map<Schedulable, ((error: unknown) => void)[]> = new AwaitedTasks(() => this.watchIdle());
  /** @internal Callbacks for the hub's next turn (see {@link Hub.callSoon}). */
  callbacks: (() => void)[] = [];

  /**
   * Where the host cannot say that its event loop has run dry while a `run()` promise is
   * awaited (Deno and Bun under a top-level `await`, which emit no `beforeExit` then), the
   * hub checks for itself: when, for this long, every task has been parked on objects only
   * tasks can wake (no timer, no promise, no host event or I/O), no host callback has run
   * the hub, and the host lists no other pending work (Deno's timers and Node-style
   * handles), the awaited `run()` promises reject with {@link LoopExit}, as on Node. Once
   * plain code (a callback of host work the hub cannot see, such as a `Deno.serve` or
   * `Bun.serve` handler) has woken a task, the hub stops guessing. Default: 1000 ms on Deno
   * and Bun; `Infinity` (off) on Node, which has `beforeExit`, and in browsers, where a
   * page waits for its user (there, `blockedTasks()` tells what is stuck). Set it to
   * `Infinity` to turn the check off, or to a number to turn it on.
   */
  loopExitAfterMs: number = HOST_WITHOUT_EXIT_HOOK ? 1000 : Infinity;
  /** @internal How many passes the hub has begun: the idle check's sign of life. */ passes = 0;
  /** @internal A task was woken by plain code: host work the hub cannot see exists. */ wokenFromOutside = false;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor() {
    super(undefined, getMainGreenlet());
    this.timers = new TimerHeap(() => this.runNow(), ownDeadlinePassed);
    hookProcessExit(this);
    setEndHook(this, (dead, failed, outcome) => this.takeEnd(dead, failed, outcome));
    setPickHook(pickNext);
  }

  override *run(): GreenletBody<never> {
    const main = getMainGreenlet();
    this.inPass = true;
    this.startedAt = Math.floor(this.beginPass(now()));
    for (;;) {
      while (this.callbacks.length !== 0) this.runCallbacks();
      const task = this.budget > 0 || this.renew() ? this.queue.shift() : undefined;
      if (task !== undefined && (task[STATUS_KEY] & SCHED_BITS) !== SCHED_READY) continue; // killed before it started
      if (task === undefined) {
        // Virtual time: the event loop's turn is taken here, and the next pass begins at once.
        if (this.control !== null && this.control.turn()) {
          this.startedAt = this.beginPass(now());
          continue;
        }
        this.endPass();
        this.inPass = false;
        // Back to the event loop. Only a host callback (runNow) resumes the hub here, unless
        // plain code switched straight into a task, whose end then arrives here too. In a
        // pass that startNow() began without the hub (see Hub.direct), a task that parks
        // with nothing else ready, or ends where the end hook does not take it, resumes the
        // hub here too: that pass goes on, no new one begins.
        try {
          const value = yield* main.switch();
          const died = takeDied();
          if (died !== null) this.ended(died, false, value);
        } catch (error) {
          this.ended(takeDied(), true, error);
        }
        if (this.direct) {
          this.direct = false;
          continue;
        }
        this.inPass = true;
        this.passes++;
        this.startedAt = Math.floor(this.beginPass(now()));
        continue;
      }
      this.budget--;
      let value: unknown;
      try {
        value = yield* resumeRequest(task);
      } catch (error) {
        this.ended(takeDied(), true, error);
        continue;
      }
      const died = takeDied();
      if (died !== null) this.ended(died, false, value);
    }
  }

  /**
   * Begin a pass at `time` (`now()`, returned): it may resume tasks until the switch
   * interval has passed, read every CLOCK_CHECK_EVERY resumes; under a control (virtual
   * time, which stands still within a pass) it resumes PASS_BUDGET at most.
   */
  private beginPass(time: number): number {
    this.live = new LiveHead(this.live.head);
    this.passEndsAt = time + switchIntervalMs;
    this.budget = this.control === null ? CLOCK_CHECK_EVERY : PASS_BUDGET;
    return time;
  }

  /**
   * @internal The pass has spent its count of resumes: read the clock, and give it another
   * count if its switch interval has not passed yet (true). False ends the pass; always,
   * under a control.
   */
  renew(): boolean {
    if (this.control !== null) return false;
    // A pass that startNow() began without reading the clock counts its interval from here.
    if (this.startedAt < 0) this.clockDirectPass();
    else if (now() >= this.passEndsAt) return false;
    this.budget = CLOCK_CHECK_EVERY;
    return true;
  }

  /**
   * A pass that {@link Hub.startNow} began without reading the clock needs the time (a task
   * parks, or the first budget is spent): the pass is taken to begin now, and its switch
   * interval to count from now; and it makes its record of the list's head (see
   * {@link Hub.live}) for the parks to come (the first park's task is already listed in
   * the record before it, whose head the new record takes over). Returns its start, in
   * whole ms.
   */
  private clockDirectPass(): number {
    this.live = new LiveHead(this.live.head);
    const time = now();
    this.passEndsAt = time + switchIntervalMs;
    return (this.startedAt = Math.floor(time));
  }

  /**
   * @internal The switcher's end hook (`setEndHook`): a task ended in its generator. In a
   * pass, do here what {@link Hub.run} does when resumed with the end (settle the task, run
   * the callbacks, resume the next ready task), without resuming the hub's generator: one
   * transfer per task fewer. The hub itself is resumed only when the pass has nothing
   * ready left or has spent its budget, as if it had settled the task itself.
   */
  takeEnd(dead: Greenlet, failed: boolean, outcome: unknown): Greenlet | false {
    if (!this.inPass || (dead as Partial<Schedulable>)[STATUS_KEY] === undefined) return false;
    this.ended(dead, failed, outcome);
    while (this.callbacks.length !== 0) this.runCallbacks();
    const next = nextReady(this);
    if (next !== undefined) return resumeAtEnd(next);
    if (this.direct) return this.endDirectPass();
    return endTransfer(this, VALUE_KIND, undefined);
  }

  /** A greenlet whose parent is the hub has ended; if it is a task, settle it. */
  private ended(g: Greenlet | null, failed: boolean, outcome: unknown): void {
    const task = g as Schedulable | null;
    if (task === null || task[STATUS_KEY] === undefined) {
      this.endedNotTask(failed, outcome);
      return;
    }
    if ((task[STATUS_KEY] & SCHED_BITS) === SCHED_DONE) return;
    this.finish(task);
    // What few ends need (a failure's name, the debug layer's observer) is out of line: the
    // end hook runs at every task's end, and what V8 inlines into it is bounded in size.
    if (failed || this.monitor !== null) this.endedObserved(task, failed, outcome);
    task[SETTLE_KEY](failed, outcome);
  }

  /** {@link Hub.ended} of a greenlet that is not a task. */
  private endedNotTask(failed: boolean, outcome: unknown): void {
    if (failed) this.report({ kind: 'callback-error', where: 'a greenlet whose parent is the hub', error: outcome });
  }

  /** {@link Hub.ended} of a task that failed, or with the debug layer's observer installed. */
  private endedObserved(task: Schedulable, failed: boolean, outcome: unknown): void {
    if (failed) nameError(outcome, task.name);
    this.monitor?.ended?.(task, failed, outcome);
  }

  /** @internal Take a task out of the scheduler for good. */
  finish(task: Schedulable): void {
    const status = task[STATUS_KEY];
    if ((status & SCHED_BITS) === SCHED_PARKED && task[INTERRUPT_KEY] !== NOTHING_PENDING) cancelDeadline(this, task, task[INTERRUPT_KEY]);
    task[STATUS_KEY] = (status & ~(SCHED_BITS | LISTED)) | SCHED_DONE;
    task[WAIT_KEY] = null;
    task[WAKE_KEY] = undefined;
    task[INTERRUPT_KEY] = NOTHING_PENDING;
    if ((status & LISTED) !== 0) this.unlist(task);
    this.liveCount--;
  }

  /** Take `task` off the list of live tasks (it is on it). */
  private unlist(task: Schedulable): void {
    const prev = task[PREV_KEY];
    const next = task[NEXT_KEY];
    if (prev !== null) prev[NEXT_KEY] = next;
    else if (this.liveHead === task) this.liveHead = next;
    if (next !== null) next[PREV_KEY] = prev;
    task[PREV_KEY] = task[NEXT_KEY] = null;
  }

  /**
   * @internal A new task: it counts as live from now. Made by `spawn()` (`spawned`: the task
   * constructor read {@link Hub.spawning}), it is queued to start at once and goes on the
   * list of live tasks only if it parks (see PREV), as one made for {@link Hub.startNow}
   * (queued, or current at once); made with `new Task`, it may stay NEW in no queue, and
   * goes on the list now.
   */
  adopt(task: Schedulable, spawned: boolean): void {
    if (!spawned) this.list(task);
    this.liveCount++;
    if (this.monitor !== null) this.monitor.spawned?.(task, getCurrentGreenlet());
  }

  /** @internal Put `task` on the list of live tasks (it is not on it). */
  list(task: Schedulable): void {
    task[STATUS_KEY] |= LISTED;
    const head = this.liveHead;
    task[NEXT_KEY] = head;
    if (head !== null) head[PREV_KEY] = task;
    this.liveHead = task;
  }

  /**
   * Every task that has not ended: those on the list of live tasks (every task that has
   * parked, and every task made with `new Task`), oldest on the list first; then the
   * current task and the tasks queued to start, if they are not on it (spawned tasks that
   * have not parked yet), in the order they run. Not listed: a task that switched to a raw
   * greenlet before it ever parked, until it parks.
   */
  liveTasks(): Schedulable[] {
    const list: Schedulable[] = [];
    for (let task = this.liveHead; task !== null; task = task[NEXT_KEY]) list.push(task);
    list.reverse();
    const current = getCurrentGreenlet() as Partial<Schedulable>;
    if (current[STATUS_KEY] !== undefined && isUnlisted(current as Schedulable)) list.push(current as Schedulable);
    for (const task of this.queue.queued()) if (isUnlisted(task)) list.push(task);
    return list;
  }

  /**
   * @internal Run `fn` in the hub at its next turn, before it resumes another task:
   * gevent's `loop.run_callback`. The primitives notify their rawlink callbacks this way,
   * after the call that made them ready has returned. `fn` runs in the hub, so it must
   * neither block nor switch; an error it throws goes to the reporter.
   */
  callSoon(fn: () => void): void {
    this.callbacks.push(fn);
    if (!this.inPass) this.kick();
  }

  private runCallbacks(): void {
    const callbacks = this.callbacks;
    this.callbacks = [];
    for (const fn of callbacks) {
      try {
        fn();
      } catch (error) {
        this.report({ kind: 'callback-error', where: 'a callback run by the hub', error });
      }
    }
  }

  /** @internal Queue a READY task and make sure the hub will run. */
  enqueue(task: Schedulable): void {
    this.queue.push(task);
    if (!this.inPass) this.kick();
  }

  /**
   * Run the hub now if we are in plain main-greenlet code (a host callback); otherwise
   * it runs when the current task parks.
   */
  runNow(): void {
    if (!this.inPass && getCurrentGreenlet() === getMainGreenlet() && !isSwitcherRunning()) {
      // This pass runs what a pending kick was asked for: the kick's microtask then has
      // nothing to do (a host callback that readies a task and calls runNow, such as each
      // request of an HttpServer, would otherwise pay a second, empty pass).
      this.kickPending = false;
      this.switch();
    }
  }

  /**
   * @internal Start NEW `task` and run it now: from a host callback (plain main-greenlet
   * code), `start()` then {@link Hub.runNow} without the microtask that a start from plain
   * code asks for (the pass follows at once: a request of an HttpServer costs one pass and
   * no microtask); elsewhere (in a task, in a pass) the same as `task.start()`.
   *
   * The direct start. When `task` would be the pass's only ready task (nothing queued, no
   * hub callback waiting, no {@link HubControl}, no trace function, which must see the
   * hub's switches), the pass begins here and main switches straight to the task: if it
   * ends with nothing else ready, the end hook settles it and switches back to main, and
   * the hub's generator is not resumed at all (one switch per request instead of three).
   * Whatever it makes ready runs after it in the same pass, as in the hub's own; if it
   * parks, the hub's generator carries on with the pass. Either way the events come in
   * the order of the pass the hub would have run (test/hub/start-now.test.ts).
   */
  startNow(task: Schedulable): void {
    if (this.inPass || getCurrentGreenlet() !== getMainGreenlet() || isSwitcherRunning()) {
      scheduleStart(task);
      return;
    }
    const status = task[STATUS_KEY];
    if ((status & SCHED_BITS) !== SCHED_NEW) return;
    this.kickPending = false; // as in runNow
    if (this.queue.length !== 0 || this.callbacks.length !== 0 || this.control !== null || getTracer() !== null || this[STATE] === PENDING) {
      task[STATUS_KEY] = status | SCHED_READY;
      this.queue.push(task);
      this.switch();
      return;
    }
    // The direct start: the pass the hub would begin, with `task` its only ready task.
    this.inPass = true;
    this.direct = true;
    this.passes++;
    // No clock read: the pass takes the time when it needs it (see passStartedAt), and
    // makes its record of the list's head then (a task that ends needs neither).
    this.startedAt = -1;
    this.budget = CLOCK_CHECK_EVERY - 1;
    task[STATUS_KEY] = status | SCHED_RUNNING;
    const args = task[WAKE_KEY];
    task[WAKE_KEY] = undefined;
    request(task, ARGS_KIND, args);
  }

  /**
   * The end hook's last step in a pass that {@link Hub.startNow} began: nothing is ready,
   * so end the pass as {@link Hub.run} does and hand control back to main, from where the
   * hub's generator waits, without resuming it.
   */
  private endDirectPass(): Greenlet {
    this.direct = false;
    this.endPass();
    this.inPass = false;
    return endTransfer(getMainGreenlet(), VALUE_KIND, undefined);
  }

  /** Ask for a pass from a microtask: a task became ready from plain code. */
  private kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    queueMicrotask(this.kicked);
  }

  /** The kick's microtask: a pass, unless one began since the kick (see runNow). */
  private readonly kicked = (): void => {
    if (!this.kickPending) return;
    this.kickPending = false;
    this.runNow();
  };

  /** The pass is over: plan the next one and report what nobody will see. */
  private endPass(): void {
    this.lastFn = null;
    this.readyNextPass();
    if (this.queue.length !== 0 && !this.continuePending) {
      this.continuePending = true;
      scheduleMacrotask(() => {
        this.continuePending = false;
        this.runNow();
      });
    }
    if (this.unobserved.length !== 0) {
      // Give code that is about to observe these failures a turn first: `await task`
      // registers its handler a microtask late, and a join may come from a callback.
      const failed = this.unobserved;
      this.unobserved = [];
      scheduleMacrotask(() => {
        for (const task of failed) (task as unknown as { reportIfUnobserved(): void }).reportIfUnobserved();
      });
    }
  }

  /**
   * @internal Make ready the tasks that wait for the next pass: those in `sleep(0)`, or if
   * nothing else is ready after that (none, or only entries of tasks killed meanwhile), those in `idle()`.
   */
  readyNextPass(): void {
    if (this.deferred.length !== 0) {
      const deferred = this.deferred;
      this.deferred = [];
      for (const task of deferred) if ((task[STATUS_KEY] & SCHED_BITS) === SCHED_PARKED && task[WAIT_KEY] === DEFERRED) readyTask(this, task, VALUE_KIND, undefined);
    }
    // Entries of tasks that left their sleep(0) early (killed) ready nobody: idlers then run.
    if (this.queue.length === 0 && this.idlers.length !== 0) {
      const idlers = this.idlers;
      this.idlers = [];
      for (const task of idlers) if ((task[STATUS_KEY] & SCHED_BITS) === SCHED_PARKED && task[WAIT_KEY] === IDLE) readyTask(this, task, VALUE_KIND, undefined);
    }
  }

  /**
   * Run `fn` soon from plain code, after the current pass: a microtask, or under a
   * {@link HubControl}, its `soon` (before virtual time moves). The library's "call it
   * soon" paths (a link added to what has already happened) go through here, so that
   * virtual time keeps their order.
   */
  soon(fn: () => void): void {
    if (this.control === null) queueMicrotask(fn);
    else this.control.soon(fn);
  }

  /**
   * @internal Install the testing layer's control (virtual time, schedule exploration), or
   * remove it (null). Only while the hub is idle: no live task, no pending timer, nothing
   * queued, and not inside a pass.
   */
  setControl(control: HubControl | null): void {
    if (control !== null && this.control !== null) throw new Error('the hub is already under virtual time: one program at a time');
    if (this.inPass || this.liveCount !== 0 || this.timers.size !== 0 || this.queue.length !== 0) {
      throw new Error(
        `the hub is busy (${this.liveCount} live task${this.liveCount === 1 ? '' : 's'}, ${this.timers.size} pending ` +
          `timer${this.timers.size === 1 ? '' : 's'}${this.inPass ? ', inside a pass' : ''}): virtual time starts and ends only while no task runs`,
      );
    }
    this.control = control;
    this.queue = control?.queue ?? this.fifo;
    this.deferred = [];
    this.idlers = [];
    useTimeSource(control);
  }

  /**
   * @internal A `run()` promise is now awaited: on hosts without an exit hook, check every
   * {@link IDLE_CHECK_MS} whether the loop has run dry (see {@link loopExitAfterMs}). The
   * check's timer keeps the process alive while a `run()` promise is pending, and stops when
   * none is.
   */
  watchIdle(): void {
    if (this.idleTimer !== null || !(this.loopExitAfterMs < Infinity)) return;
    let quietSince = now();
    let passesSeen = this.passes;
    const check = (): void => {
      this.idleTimer = null;
      if (this.awaited.size === 0 || !(this.loopExitAfterMs < Infinity)) return;
      if (this.passes !== passesSeen || !this.looksDry()) {
        passesSeen = this.passes;
        quietSince = now();
      } else if (now() - quietSince >= this.loopExitAfterMs) {
        this.loopRanDry();
        if (this.awaited.size === 0) return;
      }
      this.idleTimer = setTimeout(check, IDLE_CHECK_MS);
    };
    this.idleTimer = setTimeout(check, IDLE_CHECK_MS);
  }

  /** Nothing the hub or the host knows of can wake a task: every started task is parked on tasks. */
  private looksDry(): boolean {
    if (this.wokenFromOutside || this.inPass || this.queue.length !== 0 || this.deferred.length !== 0) return false;
    if (this.timers.refCount !== 0) return false;
    for (let task = this.liveHead; task !== null; task = task[NEXT_KEY]) {
      // A task not started yet (NEW) runs only if a task or plain code starts it.
      const sched = task[STATUS_KEY] & SCHED_BITS;
      if (sched === SCHED_READY || sched === SCHED_RUNNING || task[WAIT_KEY]?.[HOST_WAIT] === true) return false;
    }
    return hostHasNoOtherWork();
  }

  /** Send a report to the reporter, which must not throw. */
  report(report: HubReport): void {
    try {
      this.reporter(report);
    } catch (error) {
      console.error('greenlet-ts: the hub reporter failed:', error, 'while reporting', report);
    }
  }

  /** Tasks reported (or rejected) as stuck once already: not reported again. */
  private readonly reportedStuck = new WeakSet<Schedulable>();

  /** Every task that is parked now, oldest first. */
  parkedTasks(): Schedulable[] {
    const list: Schedulable[] = [];
    for (let task = this.liveHead; task !== null; task = task[NEXT_KEY]) if ((task[STATUS_KEY] & SCHED_BITS) === SCHED_PARKED) list.push(task);
    return list.reverse();
  }

  /** Every task that is parked now, with what it waits on. */
  blockedTasks(): BlockedTask[] {
    return this.describeTasks(this.parkedTasks());
  }

  private describeTasks(tasks: Schedulable[]): BlockedTask[] {
    const t = now();
    return tasks.map((task) => {
      const deadline = deadlineOf(task);
      const until = deadline !== null ? `, until ${Math.round(deadline - t)} ms from now` : '';
      const blocked: BlockedTask = { name: task.name, waitingOn: `${String(task[WAIT_KEY])}${until}`, parkedForMs: Math.round(t - parkedAt(task)) };
      const waitSite = this.monitor?.waitSite?.(task);
      return waitSite === undefined ? blocked : { ...blocked, waitSite };
    });
  }

  /**
   * The event loop has nothing left to do. Waits that are still pending can never end:
   * reject the promises awaiting their tasks with LoopExit, or report the deadlock.
   */
  /** @internal */ loopRanDry(): void {
    const stuck = this.parkedTasks().filter((t) => !this.reportedStuck.has(t));
    for (const t of stuck) this.reportedStuck.add(t);
    const blocked = this.describeTasks(stuck);
    if (this.awaited.size !== 0) {
      const waiting = [...this.awaited];
      this.awaited.clear();
      for (const [task, rejecters] of waiting) {
        const error = new LoopExit(
          `${task.name} would wait forever: the event loop has nothing left to do, and ` +
            describeBlocked(blocked),
          blocked,
        );
        for (const reject of rejecters) reject(error);
      }
      // The rejections run code (in microtasks) that may park more tasks; one more turn
      // of the loop makes sure the host asks again before the process exits.
      scheduleMacrotask(() => {});
      return;
    }
    if (blocked.length !== 0) {
      this.report({
        kind: 'deadlock',
        blocked,
        message: `greenlet-ts: the process is exiting with ${describeBlocked(blocked)}`,
      });
    }
  }
}

/**
 * Call a rawlink callback: as plain code that can neither block nor switch (an operation
 * made in it takes its `outside` path, a switch is refused), with an error it throws
 * reported as a `callback-error` (`where` names the link) instead of breaking whoever
 * fired the link.
 */
export function runRawlink<T>(callback: (arg: T) => unknown, arg: T, where: () => string): void {
  try {
    callOutside(callback, arg);
  } catch (error) {
    HUB.report({ kind: 'callback-error', where: where(), error });
  }
}

/**
 * Mark an error that leaves a task with the task's name, as a non-enumerable `greenlet`
 * property (the stack and the message stay as they were); the first name wins when an
 * error travels through several tasks.
 */
export function nameError(error: unknown, name: string): void {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return;
  if (Object.prototype.hasOwnProperty.call(error, 'greenlet')) return;
  Object.defineProperty(error, 'greenlet', { value: name, enumerable: false, configurable: true, writable: true });
}

/** The name of the task an error left, if it left one (see {@link nameError}). */
export function greenletOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { greenlet?: unknown }).greenlet;
  return typeof name === 'string' ? name : undefined;
}

function describeBlocked(blocked: readonly BlockedTask[]): string {
  if (blocked.length === 0) return 'no task is parked (nothing could wake it)';
  const lines = blocked.map(
    (b) =>
      `  ${b.name} waits on ${b.waitingOn} (for ${b.parkedForMs} ms)` +
      (b.waitSite === undefined ? '' : `\n      at ${b.waitSite.split('\n').join('\n      at ')}`),
  );
  return `${blocked.length} task${blocked.length === 1 ? ' is' : 's are'} parked on objects nothing can wake:\n${lines.join('\n')}`;
}

interface HostGlobals {
  Deno?: unknown;
  Bun?: unknown;
  process?: { on?: (event: string, fn: () => void) => void; getActiveResourcesInfo?: () => string[] };
}

/**
 * Deno and Bun emit `beforeExit` only when no top-level `await` is pending: under a pending
 * one, Deno ends with its own "Top-level await promise never resolved" and Bun waits
 * forever. There the hub's idle check stands in (Hub.loopExitAfterMs).
 */
const HOST_WITHOUT_EXIT_HOOK = (globalThis as HostGlobals).Deno !== undefined || (globalThis as HostGlobals).Bun !== undefined;

/** How often the idle check looks, in ms. */
const IDLE_CHECK_MS = 100;

/**
 * Whether the host lists no pending work but the idle check's own timer. Deno lists its
 * timers and Node-style handles (not `fetch` or `Deno.serve`); Bun lists nothing; a host
 * without the function is taken at the hub's word.
 */
function hostHasNoOtherWork(): boolean {
  const info = (globalThis as HostGlobals).process?.getActiveResourcesInfo?.();
  if (info === undefined) return true;
  let ownTimer = 1;
  return info.every((resource) => resource === 'Timeout' && ownTimer-- > 0);
}

/** The map of awaited tasks; the first entry starts the idle check. */
class AwaitedTasks extends Map<Schedulable, ((error: unknown) => void)[]> {
  constructor(private readonly onAwaited: () => void) {
    super();
  }
  override set(task: Schedulable, rejecters: ((error: unknown) => void)[]): this {
    super.set(task, rejecters);
    this.onAwaited?.();
    return this;
  }
}

function hookProcessExit(hub: Hub): void {
  const proc = (globalThis as HostGlobals).process;
  if (typeof proc?.on === 'function') proc.on('beforeExit', () => hub.loopRanDry());
}

/**
 * The hub of this thread, created when the module loads: a module-level `const` is read
 * much faster than a lazily assigned `let`, and every park and wake reads it.
 */
const HUB = new Hub();

/** The hub of this thread. */
export function getHub(): Hub {
  return HUB;
}

// --- park and wake ---------------------------------------------------------------------

/** Whether `task` is live and not on the hub's list of live tasks (see PREV). */
function isUnlisted(task: Schedulable): boolean {
  const status = task[STATUS_KEY];
  return (status & LISTED) === 0 && (status & SCHED_BITS) !== SCHED_DONE;
}

/** The request that resumes READY `task` the way its wakeup says. */
function resumeRequest(task: Schedulable): SwitchOp<unknown> {
  const status = task[STATUS_KEY];
  task[STATUS_KEY] = (status & ~SCHED_BITS) | SCHED_RUNNING;
  const value = task[WAKE_KEY];
  task[WAKE_KEY] = undefined;
  return request(task, (status & KIND_BITS) >> KIND_SHIFT, value) as SwitchOp<unknown>;
}

/** {@link resumeRequest} for the end hook: the same transfer, made with `endTransfer`. */
function resumeAtEnd(task: Schedulable): Schedulable {
  const status = task[STATUS_KEY];
  task[STATUS_KEY] = (status & ~SCHED_BITS) | SCHED_RUNNING;
  const value = task[WAKE_KEY];
  task[WAKE_KEY] = undefined;
  return endTransfer(task, (status & KIND_BITS) >> KIND_SHIFT, value) as Schedulable;
}

function readyTask(hub: Hub, task: Schedulable, kind: number, value: unknown): void {
  if (hub.monitor !== null) hub.monitor.woken?.(task, kind === THROW_KIND);
  task[STATUS_KEY] = (task[STATUS_KEY] & ~(SCHED_BITS | KIND_BITS)) | SCHED_READY | (kind << KIND_SHIFT);
  task[WAIT_KEY] = null;
  task[WAKE_KEY] = value;
  // Only PARKED tasks are readied: the field says what ends the wait at its deadline, if anything.
  const slot = task[INTERRUPT_KEY];
  if (slot !== NOTHING_PENDING) cancelDeadline(hub, task, slot);
  hub.enqueue(task);
}

/**
 * PARKED `task` leaves its timed wait early: take what would end the wait at its deadline
 * (`slot`, its `[INTERRUPT]`: its own position in the heap, or the wait's timer) out of the heap.
 */
function cancelDeadline(hub: Hub, task: Schedulable, slot: unknown): void {
  if (typeof slot === 'number') hub.timers.removeOwn(task);
  else hub.timers.removePending(slot as Timer);
  task[INTERRUPT_KEY] = NOTHING_PENDING;
}

/**
 * A kind of operation that blocks the task performing it: made where no task can perform
 * it (the main greenlet, a callback), it raises a {@link BlockingError} naming it.
 *
 * @param kind - a subclass of {@link Operation} with its own `[Symbol.iterator]`, for an
 *   operation on a hot path (see the `[Symbol.iterator]` of {@link Operation}).
 */
export function blockingOperation<Self, A, B, R>(
  name: string,
  perform: (self: Self, a: A, b: B) => Iterator<SwitchSignal, R, unknown>,
  label: ((self: Self) => string) | null = null,
  kind: OperationKind<Self, A, B, R> = Operation,
): Operation<Self, A, B, R> {
  return new kind(
    name,
    perform,
    (self, _a, _b, where) => {
      throw blockingError(label === null ? name : label(self), where);
    },
    label,
  );
}

/** A subclass of {@link Operation}, for {@link blockingOperation}. */
export type OperationKind<Self, A, B, R> = new (
  name: string,
  perform: (self: Self, a: A, b: B) => Iterator<SwitchSignal, R, unknown>,
  outside: (self: Self, a: A, b: B, where: Outside) => SwitchOp<R>,
  label: ((self: Self) => string) | null,
) => Operation<Self, A, B, R>;

/** The error for `operation` made where nothing can block: main, a callback, or a greenlet that is not a task. */
export function blockingError(operation: string, where: Outside | Greenlet): BlockingError {
  const place =
    where === 'main'
      ? 'the main greenlet (plain code, callbacks, async functions)'
      : where === 'callback'
        ? 'a callback (a link, a rawlink, a listener), which must not block'
        : `${String(where)}, which is not a task`;
  return new BlockingError(
    `${operation} blocks, and it was called in ${place}: only a task can block. Run the code in a task ` +
      '(`spawn(fn)`, or `await run(fn)` from async code) and write `yield* ' +
      `${operation.replace(/\(.*$/, '(...)')}\``,
  );
}

/** The task running now, or a BlockingError naming `operation`. */
export function currentTask(operation: string): Schedulable {
  const g = getCurrentGreenlet() as Partial<Schedulable>;
  if (g[STATUS_KEY] === undefined) throw blockingError(operation, g === getMainGreenlet() ? 'main' : (g as Greenlet));
  return g as Schedulable;
}

/**
 * Park the current task on `parking` until someone wakes it; the returned request, run
 * with `yield*`, switches to the next ready task (or the hub) and evaluates to the wake
 * value. With `ms` (>= 0), the wait ends after that long: `parking` forgets the task and
 * it resumes with `onTimeout` (a value, or an error if `timeoutThrows`).
 */
export function park<T>(
  task: Schedulable,
  parking: Parking,
  ms?: number,
  onTimeout?: unknown,
  timeoutThrows = false,
): Performed<T> {
  const hub = getHub();
  const pending = task[INTERRUPT_KEY];
  if (pending !== NOTHING_PENDING) return strikePending(task, parking, pending) as Performed<T>;
  if (hub.monitor !== null) hub.monitor.parked?.(task, parking);
  // Parked, the task can be found only through the list of live tasks (see PREV).
  const status = task[STATUS_KEY];
  if ((status & LISTED) === 0) hub.list(task);
  task[STATUS_KEY] = (status & ~SCHED_BITS) | SCHED_PARKED | LISTED;
  task[WAIT_KEY] = parking;
  // Reading the clock on every park costs more than the rest of it: reports use the time
  // the current pass began, exact to within a pass. Whole milliseconds, so that the field
  // holds a small integer in place rather than a boxed double per task.
  task[WAKE_KEY] = hub.passStartedAt;
  if (ms !== undefined) {
    // A wait that resumes with undefined (every sleep(ms)) needs nothing but its deadline:
    // the task is its own heap entry, and the heap writes its position into task[INTERRUPT].
    if (onTimeout === undefined && !timeoutThrows) hub.timers.addOwn(task, ms);
    else {
      const timer = new WaitDeadline(task, onTimeout, timeoutThrows);
      task[INTERRUPT_KEY] = timer;
      hub.timers.add(timer, ms);
    }
  }
  return requestPick() as Performed<T>;
}

/**
 * A kill or timeout came while the task was busy (`pending`, its `[INTERRUPT]`): it
 * happens now, at this wait, and the next one queued, if any, at the task's next park.
 */
function strikePending(task: Schedulable, parking: Parking, pending: unknown): unknown {
  let error = pending;
  if (pending instanceof Interrupts) {
    error = pending.errors.shift();
    task[INTERRUPT_KEY] = pending.errors.length === 1 ? pending.errors[0] : pending;
  } else task[INTERRUPT_KEY] = NOTHING_PENDING;
  parking.unpark(task);
  return request(task, THROW_KIND, error);
}

/** When `task`'s wait ends at the latest (ms, on the clock of `now()`), if it is PARKED on a timed wait; otherwise null. */
export function deadlineOf(task: Schedulable): number | null {
  const slot = task[INTERRUPT_KEY];
  if ((task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED || slot === NOTHING_PENDING) return null;
  return getHub().timers.deadlineOf(typeof slot === 'number' ? task : (slot as Timer)) ?? null;
}

/** When PARKED `task` parked (ms, monotonic; the start of the hub's pass then), for reports. */
export function parkedAt(task: Schedulable): number {
  return task[WAKE_KEY] as number;
}

/**
 * The switcher's pick hook (`setPickHook`): a park's switch is being carried out, so the
 * task leaves to the next ready task if the pass allows, else to the hub (also when
 * callbacks wait for the hub's turn). Picked here rather than in {@link park}, the task
 * goes to the switcher as a return value, not through its long-lived request slot (a
 * write barrier, ~50 instructions per park).
 */
function pickNext(): Greenlet {
  const hub = HUB;
  const next = hub.callbacks.length === 0 ? nextReady(hub) : undefined;
  return next !== undefined ? resumeAtEnd(next) : endTransfer(hub, VALUE_KIND, undefined);
}

/**
 * The next task of the run queue to run in this pass, taking one from its budget; undefined
 * when the pass is over (its switch interval passed: {@link Hub.renew}) or no task is
 * ready. Entries of tasks killed before they started are dropped.
 */
function nextReady(hub: Hub): Schedulable | undefined {
  while (hub.budget > 0 || hub.renew()) {
    const next = hub.queue.shift();
    if (next === undefined) return undefined;
    if ((next[STATUS_KEY] & SCHED_BITS) !== SCHED_READY) continue; // killed before it started
    hub.budget--;
    return next;
  }
  return undefined;
}

/**
 * Plain code (a host callback: a `Bun.serve` handler, a `setTimeout`) wakes a task from a
 * wait that only tasks were to end: there is host work the hub cannot see, and its idle
 * check stops guessing (Hub.loopExitAfterMs).
 */
function noteOutsideWake(task: Schedulable): void {
  if (getCurrentGreenlet() !== getMainGreenlet() || task[WAIT_KEY]?.[HOST_WAIT] === true) return;
  getHub().wokenFromOutside = true;
}

/**
 * Wake a PARKED task with `value` (what its park evaluates to). The caller has already
 * removed it from its own wait list. Returns false if the task was not parked.
 */
export function wake(task: Schedulable, value: unknown): boolean {
  if ((task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED) return false;
  noteOutsideWake(task);
  readyTask(getHub(), task, VALUE_KIND, value);
  return true;
}

/** Wake a PARKED task by raising `error` at its park. */
export function wakeThrow(task: Schedulable, error: unknown): boolean {
  if ((task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED) return false;
  noteOutsideWake(task);
  readyTask(getHub(), task, THROW_KIND, error);
  return true;
}

/**
 * {@link wake} (or, with `throws`, {@link wakeThrow}) for a Parking woken by the host
 * ({@link HOST_WAIT}: a settled promise), which has just let go of `task`: the same,
 * without asking whether plain code woke a wait that only tasks were to end (it did not:
 * the wait is the host's). Returns false if the task was not parked.
 */
export function wakeFromHost(task: Schedulable, throws: boolean, value: unknown): boolean {
  if ((task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED) return false;
  readyTask(HUB, task, throws ? THROW_KIND : VALUE_KIND, value);
  return true;
}

/**
 * Raise `error` in a task from outside: a kill or a Timeout. A parked task leaves its
 * wait at once (its Parking forgets it); a task that is ready (with a value, or with an
 * error, maybe a first kill's, in hand) or running gets the error at its next park, so
 * that nothing it received is lost. Each interrupt is delivered, in the order they came,
 * one per park, as gevent throws each kill and each Timeout in (a kill is a hub callback
 * of its own there): a second kill cuts short the wait of the `finally` that the first one
 * runs. A task that has not started ends at its start without running; an ended task
 * ignores it.
 */
export function interrupt(task: Schedulable, error: unknown): void {
  const monitor = getHub().monitor;
  if (monitor !== null) monitor.interrupted?.(task, error);
  const status = task[STATUS_KEY];
  switch (status & SCHED_BITS) {
    case SCHED_PARKED: {
      noteOutsideWake(task);
      const parking = task[WAIT_KEY] as Parking;
      parking.unpark(task);
      readyTask(getHub(), task, THROW_KIND, error);
      break;
    }
    case SCHED_READY:
      if ((status & KIND_BITS) === ARGS_KIND << KIND_SHIFT) {
        // Not started yet: it starts and dies at once without running.
        task[STATUS_KEY] = (status & ~KIND_BITS) | (THROW_KIND << KIND_SHIFT);
        task[WAKE_KEY] = error;
        break;
      }
      queueInterrupt(task, error);
      break;
    case SCHED_RUNNING:
      queueInterrupt(task, error);
      break;
    default:
      break;
  }
}

/**
 * More than one interrupt waiting for a task's next parks (not PARKED: `task[INTERRUPT]`
 * holds one error alone, and this when there are more), first first. Private to this
 * module, so that no error a task is killed with can be one.
 */
class Interrupts {
  readonly errors: unknown[];
  constructor(first: unknown, second: unknown) {
    this.errors = [first, second];
  }
}

/** Queue `error` for the next park of `task`, which is READY or RUNNING, after any queued before. */
function queueInterrupt(task: Schedulable, error: unknown): void {
  const pending = task[INTERRUPT_KEY];
  if (pending === NOTHING_PENDING) task[INTERRUPT_KEY] = error;
  else if (pending instanceof Interrupts) pending.errors.push(error);
  else task[INTERRUPT_KEY] = new Interrupts(pending, error);
}

/**
 * Drop `error` if it waits for the task's next park (a Timeout cancelled before it struck);
 * true if it did. The interrupts queued behind it move up. A PARKED task has none pending:
 * its field is then its deadline, maybe a heap position, which a thrown number can equal
 * (a scope disposed by another task while its owner sleeps: test/sync/scope.test.ts).
 */
export function clearInterrupt(task: Schedulable, error: unknown): boolean {
  const pending = task[INTERRUPT_KEY];
  if (pending === error && (task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED) {
    task[INTERRUPT_KEY] = NOTHING_PENDING;
    return true;
  }
  if (!(pending instanceof Interrupts)) return false;
  const i = pending.errors.indexOf(error);
  if (i === -1) return false;
  pending.errors.splice(i, 1);
  if (pending.errors.length === 1) task[INTERRUPT_KEY] = pending.errors[0];
  return true;
}

/**
 * A deadline `timer` of `task` fired: whether the task still waits in the wait that made
 * it (then it is unparked, and the caller readies it with the wait's outcome). The
 * timer need not remember that wait: `task[INTERRUPT]` is the timer exactly while the
 * task is parked on the wait that armed it (the invariant above), so the task's WAIT is it.
 */
function endWait(timer: Timer, task: Schedulable): boolean {
  if (task[INTERRUPT_KEY] !== timer || (task[STATUS_KEY] & SCHED_BITS) !== SCHED_PARKED) return false;
  task[INTERRUPT_KEY] = NOTHING_PENDING;
  (task[WAIT_KEY] as Parking).unpark(task);
  return true;
}

/**
 * A task that was its own heap entry reached its deadline (the heap has taken it out and
 * written -1 into its `[INTERRUPT]`): it resumes with undefined. It was PARKED on the wait
 * that added it, as every other way out of that wait takes it out of the heap first.
 */
function ownDeadlinePassed(entry: OwnEntry): void {
  const task = entry as Schedulable;
  task[INTERRUPT_KEY] = NOTHING_PENDING;
  (task[WAIT_KEY] as Parking).unpark(task);
  readyTask(getHub(), task, VALUE_KIND, undefined);
}

/** Ends a timed wait. */
class WaitDeadline extends Timer {
  constructor(
    readonly task: Schedulable,
    readonly outcome: unknown,
    readonly throws: boolean,
  ) {
    super();
  }
  fire(): void {
    if (endWait(this, this.task)) readyTask(getHub(), this.task, this.throws ? THROW_KIND : VALUE_KIND, this.outcome);
  }
}

// --- the simplest parkings: sleep(0) and idle() ----------------------------------------

const DEFERRED: Parking = {
  unpark() {
    // Entries of the deferred list are checked when the pass ends; nothing to remove.
  },
  toString: () => 'sleep(0)',
};

const IDLE: Parking = {
  unpark() {},
  toString: () => 'idle()',
};

/** Park until the next pass, after the event loop has had a turn (sleep(0)). */
export function parkUntilNextPass(task: Schedulable): Performed<void> {
  const hub = getHub();
  hub.deferred.push(task);
  return park(task, DEFERRED);
}

/** Park until a pass ends with nothing else ready (idle()). */
export function parkUntilIdle(task: Schedulable): Performed<void> {
  const hub = getHub();
  hub.idlers.push(task);
  return park(task, IDLE);
}
