/**
 * One program run on virtual time: the hub's control for the run (a {@link HubControl})
 * and the driver that runs the program as a task, then says how it ended.
 *
 * How a run goes. The run installs itself on the hub (only while the hub is idle), spawns
 * the program as the root task and runs the hub. Without real I/O (the default) the whole
 * run is one synchronous hub run: whenever a pass ends, `turn()` takes the event loop's
 * turn itself (the callbacks the library would run in microtasks, the tasks of the next
 * pass, failures nobody observed) and, when no task is ready, jumps the clock to the next
 * deadline and fires the timers due then. Nothing goes through the host, so a run is a
 * function of its schedule's decisions alone. When nothing can happen any more, the hub
 * hands control back and the driver reads the outcome: the root's result, or why it
 * failed (a task's unobserved error, a wait on the host, a wait that can never end, the
 * time limit, tasks left running). Then it kills what is left, drops the timers and puts
 * the hub back as it was.
 *
 * With `realIo`, waits on the host are allowed: the hub goes back to the event loop at the
 * end of every pass as usual, and time jumps only after the host has been quiet for
 * `autojumpThreshold` real milliseconds.
 *
 * Invariants:
 * - installed on the hub exactly while `runSync` / `runAsync` runs; the hub has no task
 *   and no timer before and after;
 * - `time` never goes back; once the root has ended (or the run is being cleaned up) it
 *   does not move any more, so tasks still waiting then are reported as left running;
 * - `turn()` never throws: callbacks and timers that throw are reported as the host
 *   would (the hub's reporter), and a report fails the run.
 *
 * @module
 */
import { GreenletExit } from '../core/errors.js';
import { getCurrentGreenlet, getMainGreenlet } from '../core/switcher.js';
import type { GreenletBody } from '../core/greenlet.js';
import { LoopExit } from '../hub/errors.js';
import {
  HOST_WAIT,
  NEW,
  PARKED,
  WAIT,
  deadlineOf,
  getHub,
  interrupt,
  schedOf,
  type Hub,
  type HubControl,
  type HubMonitor,
  type HubReport,
  type Parking,
  type RunQueueLike,
  type Schedulable,
} from '../hub/hub.js';
import { Task } from '../hub/task.js';
import type { TimerEntry } from '../hub/timers.js';
import { VirtualClock } from './clock.js';
import { LeakedTaskError, RealIoError, UncaughtTaskError, VirtualTimeLimit } from './errors.js';
import { describeSite, userFrame } from './sites.js';

/** What a run's schedule decides. The default schedule decides as the hub does by itself. */
export interface Decisions {
  /** The run queue, which decides which ready task runs next; null keeps the hub's FIFO. */
  readonly queue: RunQueueLike | null;
  /** Which of `count` (>= 2) ready select cases fires, 0 being the first listed. */
  chooseCase(count: number): number;
  /**
   * Which of the timers due at the same instant (two or more, in the order they were set)
   * fires next; null fires them in that order.
   */
  readonly chooseTimer: ((due: readonly TimerEntry[]) => number) | null;
  /** A task was created in the run (the schedule may give it a priority). */
  spawned?(task: Schedulable): void;
}

/** How one run goes. */
export interface SimulationOptions {
  /** Virtual milliseconds after which the run stops with {@link VirtualTimeLimit}. */
  readonly limit: number;
  /** Whether time jumps by itself when every task waits. */
  readonly autojump: boolean;
  /** Whether tasks may wait on the host (real I/O, promises). */
  readonly realIo: boolean;
  /** With realIo: real milliseconds of quiet before time jumps. */
  readonly autojumpThreshold: number;
  readonly decisions: Decisions;
  /** Record where each task parks (a stack per park: for the report of a final replay). */
  readonly recordSites: boolean;
  /** The function that started the run, for messages: `virtualTime()`, `explore()`. */
  readonly caller: string;
}

/** Why a run failed. */
export type FailureKind = 'error' | 'uncaught' | 'real-io' | 'deadlock' | 'limit' | 'leak';

/** How a run ended. */
export interface Outcome {
  /** null when the run passed. */
  readonly kind: FailureKind | null;
  /** What the program returned (when it passed). */
  readonly value: unknown;
  /** Why it failed: the program's own error, or one of the testing layer's. */
  readonly error: unknown;
  /** The virtual time when it ended. */
  readonly time: number;
}

/** The program of a run: a generator function, given the run's clock. */
export type Program<R = unknown> = (clock: VirtualClock) => GreenletBody<R>;

const HOUR = 3_600_000;

/** A parked task's wait site, as recorded. */
interface Site {
  readonly stack: string;
}

export class Simulation implements HubControl {
  time = 0;
  finished = false;
  readonly clock: VirtualClock;
  readonly queue: RunQueueLike | null;
  readonly chooseCase: ((count: number) => number) | null;
  /** The id of the run's first task (the root): the run's tasks take their ids as they are spawned (see monitorOver). */
  #firstId = 0;
  /** Where each task last parked (recordSites only). */
  readonly sites = new Map<Schedulable, Site>();
  #soon: (() => void)[] = [];
  /** The root ended, or the run is being cleaned up: time does not move. */
  #frozen = false;
  #cleaning = false;
  #limitReached = false;
  #hostWait: { task: Schedulable; call: string; site: string | undefined } | null = null;
  readonly #reports: HubReport[] = [];
  // realIo only: the quiet check.
  #activity = 0;
  #checkPending = false;
  #stop: (() => void) | null = null;

  constructor(readonly options: SimulationOptions) {
    this.clock = new VirtualClock(this);
    this.queue = options.decisions.queue;
    const decisions = options.decisions;
    this.chooseCase = (count) => decisions.chooseCase(count);
  }

  now(): number {
    return this.time;
  }

  soon(fn: () => void): void {
    if (this.options.realIo) queueMicrotask(fn);
    else this.#soon.push(fn);
  }

  turn(): boolean {
    if (this.options.realIo) {
      this.#activity++;
      this.#scheduleQuietCheck();
      return false;
    }
    const hub = getHub();
    // What the event loop does after a pass: the next pass's tasks are already queued by
    // the hub, then microtasks run, then the macrotasks (failures nobody observed)...
    hub.readyNextPass();
    this.#runSoon(hub);
    this.#reportUnobserved(hub);
    if (hub.queue.length !== 0) return true;
    // ...and when no task is ready, the timers.
    return this.#fireNext(hub);
  }

  /** Move time forward by `ms`, firing every timer due by then in deadline order. */
  advance(ms: number): void {
    const hub = getHub();
    const target = this.time + ms;
    for (let first = firstDeadline(hub); first <= target; first = firstDeadline(hub)) {
      this.time = Math.max(this.time, first);
      this.#fireAt(hub, first);
    }
    this.time = target;
  }

  // --- the hub's monitor during the run ------------------------------------------------

  /**
   * A monitor that observes the run, on top of `before` (called first). It has only the
   * methods the run needs, so the hub's calls of the others cost nothing.
   */
  monitorOver(before: HubMonitor | null): HubMonitor {
    const decisions = this.options.decisions;
    const monitor: HubMonitor = {
      parked: (task, parking) => {
        before?.parked?.(task, parking);
        this.#parked(task, parking);
      },
      waitSite: (task) => before?.waitSite?.(task) ?? this.sites.get(task)?.stack,
    };
    monitor.spawned = (task, spawner) => {
      // A task's id is given when first asked for: asked here, the ids of the run's tasks
      // count them in the order they were spawned, which nameOf() and localize() rely on.
      void (task as Partial<Task>).id;
      before?.spawned?.(task, spawner);
      decisions.spawned?.(task);
    };
    if (before?.woken !== undefined) monitor.woken = (task, throws) => before.woken?.(task, throws);
    if (before?.interrupted !== undefined) monitor.interrupted = (task, error) => before.interrupted?.(task, error);
    if (before?.ended !== undefined) monitor.ended = (task, failed, outcome) => before.ended?.(task, failed, outcome);
    return monitor;
  }

  #parked(task: Schedulable, parking: Parking): void {
    const host = parking[HOST_WAIT] === true;
    if (!this.options.recordSites && (!host || this.options.realIo)) return;
    const stack = new Error('parked').stack ?? '';
    if (this.options.recordSites) this.sites.set(task, { stack });
    if (host && !this.options.realIo && this.#hostWait === null) {
      this.#hostWait = { task, call: String(parking), site: userFrame(stack) };
    }
  }

  /** The hub's reporter during the run: a report fails the run (except while cleaning up). */
  onReport(report: HubReport): void {
    if (!this.#cleaning) this.#reports.push(report);
  }

  /**
   * `worker-3` for the third task of the run when its name is the default one (the
   * function's name and a number unique in the thread), so that names do not depend on
   * what ran before.
   */
  nameOf(task: Schedulable): string {
    const id = (task as Partial<Task>).id;
    const name = task.name;
    if (id === undefined || id < this.#firstId || !name.endsWith(`-${id}`)) return name;
    const n = id - this.#firstId + 1;
    const base = name.slice(0, name.length - String(id).length - 1);
    // The root runs the program: an anonymous one is `main-1`.
    return `${n === 1 && base === 'Task' ? 'main' : base}-${n}`;
  }

  /** `text` with the default names of the run's tasks (`worker-1234`) replaced by those of {@link nameOf}. */
  localize(text: string): string {
    return text.replace(/([\w$]+)-(\d+)/g, (name, base: string, id: string) => {
      const n = Number(id) - this.#firstId + 1;
      return this.#firstId === 0 || n < 1 ? name : `${n === 1 && base === 'Task' ? 'main' : base}-${n}`;
    });
  }

  /** `worker-3 waits on Lock(locked, 1 waiting)`, with the wait's deadline if it has one. */
  describe(task: Schedulable): string {
    const state = schedOf(task);
    if (state !== PARKED) return `${this.nameOf(task)} is ${state === NEW ? 'not started' : 'ready to run'}`;
    const deadline = deadlineOf(task);
    const until = deadline !== null ? ` (until ${formatMs(deadline)})` : '';
    const stack = this.sites.get(task)?.stack;
    const site = stack === undefined ? undefined : describeSite(stack);
    return `${this.nameOf(task)} waits on ${this.localize(String(task[WAIT]))}${until}${site === undefined ? '' : ` in ${site}`}`;
  }

  // --- the turn ------------------------------------------------------------------------

  #runSoon(hub: Hub): void {
    while (this.#soon.length !== 0) {
      const callbacks = this.#soon;
      this.#soon = [];
      for (const fn of callbacks) {
        try {
          fn();
        } catch (error) {
          hub.report({ kind: 'callback-error', where: 'a callback the hub ran soon', error });
        }
      }
    }
  }

  #reportUnobserved(hub: Hub): void {
    if (hub.unobserved.length === 0) return;
    const failed = hub.unobserved;
    hub.unobserved = [];
    for (const task of failed) (task as unknown as Task).reportIfUnobserved();
  }

  /** Fire the timers of the next deadline, jumping to it if allowed. False if nothing fired. */
  #fireNext(hub: Hub): boolean {
    if (hub.timers.size === 0) return false;
    const deadline = firstDeadline(hub);
    if (deadline > this.time) {
      if (this.#frozen || !this.options.autojump) return false;
      if (deadline > this.options.limit) {
        this.#limitReached = true;
        return false;
      }
      this.time = deadline;
    }
    this.#fireAt(hub, deadline);
    return true;
  }

  /** Fire every timer due at exactly `deadline` (including those they set for then), ties ordered by the schedule. */
  #fireAt(hub: Hub, deadline: number): void {
    const choose = this.options.decisions.chooseTimer;
    if (choose === null) {
      while (firstDeadline(hub) <= deadline) fire(hub, hub.timers.peek() as TimerEntry);
      return;
    }
    for (let due = hub.timers.dueAt(deadline); due.length !== 0; due = hub.timers.dueAt(deadline)) {
      while (due.length !== 0) {
        const k = due.length === 1 ? 0 : choose(due);
        const timer = due.splice(k, 1)[0] as TimerEntry;
        // Firing one may have cancelled another of the same instant.
        if (hub.timers.has(timer)) fire(hub, timer);
      }
    }
  }

  // --- realIo: jump after the host has been quiet ---------------------------------------

  #scheduleQuietCheck(): void {
    if (this.#checkPending || this.finished) return;
    this.#checkPending = true;
    const seen = this.#activity;
    setTimeout(() => {
      this.#checkPending = false;
      this.#quietCheck(seen);
    }, this.options.autojumpThreshold);
  }

  #quietCheck(seen: number): void {
    if (this.finished || this.#stop === null) return;
    if (this.#activity !== seen) {
      this.#scheduleQuietCheck();
      return;
    }
    const hub = getHub();
    if (hub.queue.length !== 0) return; // a pass is on its way; it will check again
    if (this.#fireNext(hub)) {
      hub.runNow();
      return;
    }
    // Nothing to jump to: done, unless a task waits on the host, which may still wake it.
    if (this.#frozen || !hub.parkedTasks().some((t) => t[WAIT]?.[HOST_WAIT] === true)) this.#stop();
  }

  // --- running a program ---------------------------------------------------------------

  #root: Task | null = null;
  #before: { reporter: Hub['reporter']; monitor: HubMonitor | null } | null = null;

  /** Install on the hub and start the program; the hub runs it at `hub.runNow()`. */
  start(program: Program, caller: string): Task {
    const current = getCurrentGreenlet();
    if (current !== getMainGreenlet()) {
      throw new Error(
        `${caller} was called inside ${String(current)}: it runs a program on a hub of its own time, so call it from ` +
          'plain or async code (a test function), not from a task',
      );
    }
    const hub = getHub();
    try {
      hub.setControl(this);
    } catch (error) {
      const live = hub.liveTasks().map((t) => t.name);
      throw new Error(
        `${caller} needs the hub to itself, and ${(error as Error).message.replace(/^the hub is /, 'it is ')}` +
          (live.length === 0 ? '' : ` (${live.slice(0, 5).join(', ')}${live.length > 5 ? ', ...' : ''})`) +
          ': join or kill the tasks of earlier code (and cancel its timeouts) before',
        { cause: error },
      );
    }
    this.#before = { reporter: hub.reporter, monitor: hub.monitor };
    hub.reporter = (report) => this.onReport(report);
    hub.monitor = this.monitorOver(hub.monitor);
    const root = new Task(program, this.clock);
    this.#root = root;
    this.#firstId = root.id;
    // A rawlink observes the root's error: it is the run's outcome, not an unobserved failure.
    root.rawlink(() => {
      this.#frozen = true;
    });
    root.start();
    return root;
  }

  /** Run a program to its end without the host (no real I/O). */
  runSync(program: Program): Outcome {
    const root = this.start(program, this.options.caller);
    try {
      getHub().runNow();
      return this.#outcome(root);
    } finally {
      this.#finish();
    }
  }

  /** Run a program that may wait on the host. */
  async runAsync(program: Program): Promise<Outcome> {
    const stopped = new Promise<void>((resolve) => (this.#stop = resolve));
    const root = this.start(program, this.options.caller);
    try {
      getHub().runNow();
      await stopped;
      return this.#outcome(root);
    } finally {
      this.#finish();
    }
  }

  /** How the run ended, read once nothing more can happen. */
  #outcome(root: Task): Outcome {
    const hub = getHub();
    const caller = this.options.caller;
    const fail = (kind: FailureKind, error: unknown): Outcome => ({ kind, value: undefined, error, time: this.time });
    const hostWait = this.#hostWait;
    if (hostWait !== null) {
      const name = this.nameOf(hostWait.task);
      const at = hostWait.site === undefined ? '' : ` at ${hostWait.site}`;
      return fail(
        'real-io',
        new RealIoError(
          `${name} waits on the host: ${hostWait.call}${at}. ${caller} controls every wait of the program, and this ` +
            "one's wake would come from outside the hub (real I/O, a promise, an emitter). Replace it with a fake built " +
            'on greenlet-ts primitives (a Channel, an Event), or pass { realIo: true } to let it through (time then ' +
            'jumps only once the host has been quiet, and runs may not replay exactly)',
          hostWait.call,
          name,
        ),
      );
    }
    if (root.ready() && !root.successful()) return fail('error', root.exception);
    const uncaught = this.#reports.find((r) => r.kind === 'task-error' || r.kind === 'callback-error');
    if (uncaught !== undefined) {
      if (uncaught.kind === 'task-error') {
        const name = this.nameOf(uncaught.task);
        return fail(
          'uncaught',
          new UncaughtTaskError(`${name} failed and nobody waited for it: ${describeError(uncaught.error)}`, name, {
            cause: uncaught.error,
          }),
        );
      }
      if (uncaught.kind === 'callback-error') {
        return fail('uncaught', new Error(`error in ${uncaught.where}: ${describeError(uncaught.error)}`, { cause: uncaught.error }));
      }
    }
    const live = hub.liveTasks();
    const lines = live.map((t) => `  ${this.describe(t)}`).join('\n');
    if (!root.ready()) {
      if (this.#limitReached) {
        const limit = this.options.limit;
        return fail(
          'limit',
          new VirtualTimeLimit(
            `virtual time reached the limit of ${formatMs(limit)} and the program had not ended: a loop that never ` +
              `ends (sleep() in a loop with no way out)? If it is meant to run longer, raise the limit: { limit: ms }. ` +
              `Still running:\n${lines}`,
            limit,
          ),
        );
      }
      const stopped = hub.timers.size !== 0 && !this.options.autojump;
      const blocked = live.filter((t) => schedOf(t) === PARKED).map((t) => ({
        name: this.nameOf(t),
        waitingOn: this.localize(String(t[WAIT])),
        parkedForMs: 0,
      }));
      return fail(
        'deadlock',
        new LoopExit(
          stopped
            ? `virtual time is stopped ({ autojump: false }) and every task waits: move it with clock.advance(ms) ` +
                `from a task, or let it jump.\n${lines}`
            : `the program would wait forever: every task waits, and nothing can wake them (a deadlock):\n${lines}`,
          blocked,
        ),
      );
    }
    if (live.length !== 0) {
      const tasks = live.map((t) => this.describe(t));
      return fail(
        'leak',
        new LeakedTaskError(
          `the program ended while ${live.length} task${live.length === 1 ? '' : 's'} it started ` +
            `${live.length === 1 ? 'was' : 'were'} still running:\n${lines}\nJoin or kill every task before the ` +
            'program returns (a scope() does both)',
          tasks,
        ),
      );
    }
    return { kind: null, value: root.value, error: undefined, time: this.time };
  }

  /** Kill what is left, drop the timers, and give the hub back. */
  #finish(): void {
    const hub = getHub();
    this.#frozen = true;
    this.#cleaning = true;
    for (let round = 0; round < 3 && hub.liveCount !== 0; round++) {
      // The hub's interrupt, not kill(): library code never calls a task operation without
      // yield*. A task not started yet starts and ends at once; one waiting for spawnLater
      // stays NEW (its timer is dropped below) and is taken out with the stragglers.
      for (const task of hub.liveTasks()) interrupt(task, new GreenletExit());
      hub.runNow();
    }
    // A task that catches every kill: take it out of the scheduler for good.
    for (const task of hub.liveTasks()) hub.finish(task);
    while (hub.queue.length !== 0) hub.queue.shift();
    for (let t = hub.timers.peek(); t !== undefined; t = hub.timers.peek()) hub.timers.remove(t);
    this.#soon = [];
    hub.unobserved = [];
    this.finished = true;
    const before = this.#before;
    if (before !== null) {
      hub.reporter = before.reporter;
      hub.monitor = before.monitor;
    }
    hub.setControl(null);
  }
}

/** The earliest pending deadline; Infinity when no timer is pending. */
function firstDeadline(hub: Hub): number {
  const first = hub.timers.peek();
  return first === undefined ? Infinity : (hub.timers.deadlineOf(first) as number);
}

function fire(hub: Hub, timer: TimerEntry): void {
  hub.timers.remove(timer);
  try {
    hub.timers.fire(timer);
  } catch (error) {
    hub.report({ kind: 'callback-error', where: 'a timer', error });
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** `90000 ms (1.5 min)`: a virtual duration or instant, for messages. */
export function formatMs(ms: number): string {
  const units: [number, string][] = [
    [24 * HOUR, 'd'],
    [HOUR, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) return `${ms} ms (${Number((ms / size).toFixed(2))} ${unit})`;
  }
  return `${ms} ms`;
}
