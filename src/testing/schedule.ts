/**
 * Schedules: what decides, at every point where a run could go more than one way, which
 * way it goes, and the record of those decisions that replays the run.
 *
 * Decision points. A run asks its schedule (1) which ready task runs next, whenever the
 * hub takes one from its run queue, (2) which of several ready cases a `select` performs,
 * and (3) which of several timers due at the same instant fires first. Only points with
 * two options or more are decisions; each is recorded as the index of the option taken,
 * the options in their default order: tasks in the order they became ready (FIFO), cases
 * in list order, timers in the order they were set. So decision 0 is always what the hub
 * does by itself, a schedule of zeros (or the empty schedule) is the default one, and
 * every non-zero decision is a deviation from it. Where a woken task lands in the run
 * queue needs no decision of its own: the schedule picks among all ready tasks.
 *
 * A run is a function of its decisions (nothing goes through the host), so a recorded
 * schedule replays it exactly, and a schedule that a shrinker has edited still makes a
 * valid run: a decision past the end of the list is 0, and one larger than its number of
 * options is taken modulo that number.
 *
 * Strategies. `fifo` takes 0 everywhere. `random` takes every decision uniformly from a
 * seeded generator. `pct` is probabilistic concurrency testing (Burckhardt, Kothari,
 * Musuvathi, Nagarakatte, ASPLOS 2010): every task gets a random priority when it is
 * created, and the ready task of highest priority runs, except at `depth - 1` change
 * points, steps drawn uniformly among the run's first `steps` resumes, where the task
 * about to run drops below every other. A bug that needs `d` ordering constraints among
 * `n` tasks and `k` steps is found by one run with probability at least `1 / (n k^(d-1))`.
 * In this cooperative setting a step is one resume of a task (from where it blocked to
 * where it blocks next), and a change point takes effect at the step itself. Selects and
 * timer ties are decided at random under `pct`.
 *
 * @module
 */
import { READY, schedOf, type RunQueueLike, type Schedulable } from '../hub/hub.js';
import type { TimerEntry } from '../hub/timers.js';
import { Random } from './random.js';
import type { Decisions } from './simulation.js';

/** The decisions of a run, in order: at each, the index of the option taken (0 = the default). */
export type Schedule = readonly number[];

/** How explore draws schedules. */
export type Strategy = 'random' | 'pct';

/** What kind of choice a decision was. */
export type DecisionKind = 'task' | 'case' | 'timer';

/** A decision as recorded: which option of how many. */
export interface Decision {
  readonly kind: DecisionKind;
  readonly value: number;
  readonly options: number;
}

/** Makes the choices: the index of the option to take among `options` (>= 2). */
export interface Chooser {
  /** Which of the first `count` (>= 2) tasks of `ready` runs at step `step`. */
  chooseTask(ready: readonly (Schedulable | undefined)[], count: number, step: number): number;
  chooseCase(options: number): number;
  chooseTimer(options: number): number;
  /** A task was created. */
  spawned?(task: Schedulable): void;
  /** Step `step` resumes `task`, the only ready one (no decision). */
  forced?(task: Schedulable, step: number): void;
}

/** Always the default: the hub's own order. */
export const fifoChooser: Chooser = {
  chooseTask: () => 0,
  chooseCase: () => 0,
  chooseTimer: () => 0,
};

/** Every decision uniformly at random. */
export function randomChooser(seed: number): Chooser {
  const random = new Random(seed);
  return {
    chooseTask: (_ready, count) => random.below(count),
    chooseCase: (options) => random.below(options),
    chooseTimer: (options) => random.below(options),
  };
}

/**
 * PCT: random priorities, `depth - 1` change points among the first `steps` resumes.
 * Priorities of created tasks lie in [depth, depth + 1); a change point i (1-based) sets
 * the priority of the task about to run to i, below all of them.
 */
export function pctChooser(seed: number, depth: number, steps: number): Chooser {
  const random = new Random(seed);
  // Priorities by task id (a simulation's tasks take ids as they are spawned): an array read
  // per candidate, where a map costs several times more.
  let base = -1;
  let priority = new Float64Array(64);
  const changes = new Map<number, number>();
  for (let i = 1; i < depth; i++) {
    let at: number;
    do at = 1 + random.below(Math.max(1, steps));
    while (changes.has(at) && changes.size < steps);
    changes.set(at, depth - i);
  }
  const slot = (task: Schedulable): number => {
    const id = (task as unknown as { id: number }).id;
    if (base === -1) base = id;
    const i = id - base;
    if (i >= priority.length) {
      const grown = new Float64Array(Math.max(i + 1, priority.length * 2));
      grown.set(priority);
      priority = grown;
    }
    if (priority[i] === 0) priority[i] = depth + random.float();
    return i;
  };
  const highest = (ready: readonly (Schedulable | undefined)[], count: number): number => {
    let best = 0;
    let bestPriority = priority[slot(ready[0] as Schedulable)] as number;
    for (let i = 1; i < count; i++) {
      const p = priority[slot(ready[i] as Schedulable)] as number;
      if (p > bestPriority) {
        best = i;
        bestPriority = p;
      }
    }
    return best;
  };
  return {
    chooseTask(ready, count, step) {
      if (changes.size !== 0) {
        const change = changes.get(step);
        if (change !== undefined) priority[slot(ready[highest(ready, count)] as Schedulable)] = change;
      }
      return highest(ready, count);
    },
    chooseCase: (options) => random.below(options),
    chooseTimer: (options) => random.below(options),
    spawned(task) {
      slot(task);
    },
    forced(task, step) {
      const change = changes.get(step);
      if (change !== undefined) priority[slot(task)] = change;
    },
  };
}

/** Follows a recorded schedule: decision i is `schedule[i]` (0 past its end), modulo its options. */
export function scheduleChooser(schedule: Schedule): Chooser {
  let i = 0;
  const next = (options: number): number => {
    const v = schedule[i++] ?? 0;
    return Number.isInteger(v) && v > 0 ? v % options : 0;
  };
  return {
    chooseTask: (_ready, count) => next(count),
    chooseCase: next,
    chooseTimer: next,
  };
}

/** What a decision point looked like, for the report of a final replay. */
export interface DecisionContext {
  /** For a task decision: the ready tasks, in FIFO order. */
  readonly ready?: readonly Schedulable[];
  /** For a timer decision: the timers due, in the order they were set. */
  readonly timers?: readonly TimerEntry[];
}

/**
 * The schedule of one run: asks a chooser at every decision point, records what it
 * decided, and counts steps (resumes). Its `queue` is the run queue of the run.
 */
export class Scheduler implements Decisions {
  /** The value of each decision, in order, in `#values[0 .. #length)`. */
  #values = new Int32Array(256);
  #length = 0;
  /** Steps so far: resumes of a task, forced or chosen. */
  steps = 0;
  readonly queue: ExploringQueue;
  readonly chooseTimer: (due: readonly TimerEntry[]) => number;
  /** Called at each decision, with its context (the final replay's report listens). */
  observe: ((decision: Decision, context: DecisionContext) => void) | null = null;

  constructor(readonly chooser: Chooser) {
    this.queue = new ExploringQueue(this);
    this.chooseTimer = (due) => this.#record('timer', chooser.chooseTimer(due.length), due.length, due);
  }

  chooseCase(options: number): number {
    return this.#record('case', this.chooser.chooseCase(options), options, null);
  }

  /** @internal The run queue resumes its only ready task. */
  forced(task: Schedulable): void {
    this.chooser.forced?.(task, this.steps);
  }

  /** @internal The run queue asks: which of the first `count` (>= 2) tasks of `ready` (FIFO order) runs now. */
  chooseTask(ready: readonly (Schedulable | undefined)[], count: number): number {
    return this.#record('task', this.chooser.chooseTask(ready, count, this.steps), count, ready);
  }

  spawned(task: Schedulable): void {
    this.chooser.spawned?.(task);
  }

  #record(kind: DecisionKind, value: number, options: number, among: readonly (Schedulable | undefined)[] | readonly TimerEntry[] | null): number {
    const v = Number.isInteger(value) && value >= 0 && value < options ? value : 0;
    if (this.#length === this.#values.length) {
      const grown = new Int32Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = v;
    if (this.observe !== null) {
      const context: DecisionContext =
        kind === 'task'
          ? { ready: (among as readonly Schedulable[]).slice(0, options) }
          : kind === 'timer'
            ? { timers: (among as readonly TimerEntry[]).slice() }
            : {};
      this.observe({ kind, value: v, options }, context);
    }
    return v;
  }

  /** The recorded decisions as a schedule, without the zeros at the end (they change nothing). */
  schedule(): number[] {
    let end = this.#length;
    while (end > 0 && this.#values[end - 1] === 0) end--;
    return Array.from(this.#values.subarray(0, end));
  }
}

/**
 * The run queue of an explored run: the ready tasks in FIFO order, of which the
 * scheduler picks the next. Tasks killed before they started stay in the hub's queue
 * (the hub skips them); here they are dropped before a decision, so they never count as
 * options.
 */
export class ExploringQueue implements RunQueueLike {
  /**
   * The ready tasks in the order they became ready (and tasks killed before they started),
   * in `#items[0 .. #count)`. The array's own length only grows: popping it empty and
   * pushing again would shrink and regrow its store, an allocation per pass.
   */
  readonly #items: (Schedulable | undefined)[] = [];
  #count = 0;

  constructor(private readonly scheduler: Scheduler) {}

  get length(): number {
    return this.#count;
  }

  push(task: Schedulable): void {
    const items = this.#items;
    if (this.#count === items.length) items.push(task);
    else items[this.#count] = task;
    this.#count++;
  }

  shift(): Schedulable | undefined {
    const items = this.#items;
    // Drop what is no longer ready (killed before it started).
    let n = 0;
    for (let i = 0; i < this.#count; i++) {
      const task = items[i] as Schedulable;
      if (schedOf(task) === READY) items[n++] = task;
    }
    for (let i = n; i < this.#count; i++) items[i] = undefined;
    this.#count = n;
    if (n === 0) return undefined;
    const scheduler = this.scheduler;
    scheduler.steps++;
    let k = 0;
    if (n === 1) scheduler.forced(items[0] as Schedulable);
    else k = scheduler.chooseTask(items, n);
    const task = items[k] as Schedulable;
    for (let i = k; i < n - 1; i++) items[i] = items[i + 1];
    items[n - 1] = undefined;
    this.#count = n - 1;
    return task;
  }

  queued(): Schedulable[] {
    return this.#items.slice(0, this.#count) as Schedulable[];
  }
}
