/**
 * `ScheduleFailure`, and how its report names the places where a schedule deviated from
 * the default: which tasks, which `yield*` lines.
 *
 * The lines come from stacks, and a stack costs microseconds, so they are recorded only
 * on the last replay of the shrunk schedule: where every task last blocked (its resume
 * point), and the stack of a select when it decides.
 *
 * @module
 */
import { getCurrentGreenlet } from '../core/switcher.js';
import { K_ARGS } from '../core/switcher.js';
import { PARKED, WAIT, getHub, schedOf, wakeKindOf, type Schedulable } from '../hub/hub.js';
import { Timer, type TimerEntry } from '../hub/timers.js';
import type { Decision, DecisionContext, Schedule, Strategy } from './schedule.js';
import type { Simulation } from './simulation.js';
import { describeSite, userFrame } from './sites.js';

/** One decision of a failing schedule that is not the default, described. */
export interface Deviation {
  /** Its position in the schedule. */
  readonly index: number;
  readonly kind: Decision['kind'];
  /** What happened, with the tasks and lines: one or more lines of text. */
  readonly text: string;
}

/** Where a failure was found, and what it took to shrink it. */
export interface FailureFacts {
  readonly run: number;
  readonly runs: number;
  readonly seed: number;
  readonly exploreSeed: number | undefined;
  readonly strategy: Strategy | 'fifo' | 'schedule';
  readonly schedule: number[];
  readonly original: number[];
  readonly replays: number;
  readonly deviations: readonly Deviation[];
  readonly programName: string;
}

/**
 * `explore` found a schedule under which the program fails. `cause` is the error of the
 * failing run (the program's own, or the runtime's: `UncaughtTaskError`, `LoopExit`,
 * `LeakedTaskError`, `VirtualTimeLimit`); `schedule` is the shrunk list of decisions,
 * which `replay(program, failure.schedule)` runs again exactly; `seed` (with `strategy`)
 * replays the run as it was found. The message shows all of it, with the tasks and the
 * lines where the schedule deviated from the default one.
 */
export class ScheduleFailure extends Error {
  /** The seed of the failing run (not the shrunk one): `replay(program, seed, { strategy })`. */
  readonly seed: number;
  /** The seed `explore` was given (or drew), from which every run's seed comes. */
  readonly exploreSeed: number | undefined;
  /** How the failing run was drawn: `fifo` for the default schedule (the first run). */
  readonly strategy: Strategy | 'fifo' | 'schedule';
  /** The shrunk schedule: the decisions, 0 being the default at each. */
  readonly schedule: number[];
  /** The schedule as the failing run made it, before shrinking. */
  readonly original: number[];
  /** Which run failed (1 is the default schedule) and how many were planned. */
  readonly run: number;
  readonly runs: number;
  /** The shrunk schedule's deviations from the default, described. */
  readonly deviations: readonly Deviation[];
  /** The call that replays the shrunk schedule: `await replay(program, [0, 1])`. */
  readonly replayCall: string;

  constructor(facts: FailureFacts, cause: unknown) {
    const replayCall = `await replay(${facts.programName}, [${facts.schedule.join(', ')}])`;
    super(message(facts, cause, replayCall), { cause });
    this.seed = facts.seed;
    this.exploreSeed = facts.exploreSeed;
    this.strategy = facts.strategy;
    this.schedule = facts.schedule;
    this.original = facts.original;
    this.run = facts.run;
    this.runs = facts.runs;
    this.deviations = facts.deviations;
    this.replayCall = replayCall;
  }

  static {
    this.prototype.name = 'ScheduleFailure';
  }
}

function message(f: FailureFacts, cause: unknown, replayCall: string): string {
  const found =
    f.strategy === 'fifo'
      ? `the program fails under the default schedule (run 1 of ${f.runs})`
      : f.strategy === 'schedule'
        ? 'the program fails under the given schedule'
        : `run ${f.run} of ${f.runs} fails (strategy '${f.strategy}', seed ${f.exploreSeed ?? f.seed}; the run's seed ${f.seed})`;
  const n = f.deviations.length;
  const shrunk =
    f.replays === 0
      ? `${plural(n, 'deviation')} from the default schedule:`
      : `shrunk in ${plural(f.replays, 'replay')} from ${plural(count(f.original), 'deviation')} ` +
        `(${plural(f.original.length, 'decision')}) to ${n} (${plural(f.schedule.length, 'decision')})${n === 0 ? '' : ':'}`;
  const lines = [
    `explore(): ${found}`,
    `  ${describeCause(cause)}`,
    `Schedule ${shrunk}`,
    ...f.deviations.map((d) => d.text),
    `Replay it: ${replayCall}`,
    `  or set GREENLET_SEED=[${f.schedule.join(',')}] (this schedule)` +
      (f.strategy === 'random' || f.strategy === 'pct' ? ` or GREENLET_SEED=${f.seed} (the run as found)` : '') +
      ' and run the test again',
  ];
  return lines.join('\n');
}

function count(schedule: readonly number[]): number {
  return schedule.filter((v) => v !== 0).length;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const [first, ...rest] = cause.message.split('\n');
    return [`${cause.name}: ${first}`, ...rest.map((l) => `  ${l}`)].join('\n');
  }
  return String(cause);
}

/**
 * Listens to the decisions of a run (the last replay of a shrunk schedule, with wait
 * sites recorded) and describes each one that is not the default.
 */
export class DeviationRecorder {
  readonly deviations: Deviation[] = [];
  #index = 0;

  constructor(private readonly sim: Simulation) {}

  readonly observe = (decision: Decision, context: DecisionContext): void => {
    const index = this.#index++;
    if (decision.value === 0) return;
    this.deviations.push({ index, kind: decision.kind, text: this.#describe(index, decision, context) });
  };

  #describe(index: number, d: Decision, context: DecisionContext): string {
    const sim = this.sim;
    const head = `  [${index}]`;
    if (d.kind === 'task' && context.ready !== undefined) {
      const chosen = context.ready[d.value] as Schedulable;
      const first = context.ready[0] as Schedulable;
      return (
        `${head} ran ${sim.nameOf(chosen)} before ${sim.nameOf(first)}, which was ready first\n` +
        `        ${sim.nameOf(chosen)} ${this.#resumePoint(chosen)}\n` +
        `        ${sim.nameOf(first)} ${this.#resumePoint(first)}`
      );
    }
    if (d.kind === 'timer' && context.timers !== undefined) {
      const chosen = context.timers[d.value] as TimerEntry;
      const first = context.timers[0] as TimerEntry;
      // Reported as the decision is made: the timers due are still pending.
      return `${head} at ${getHub().timers.deadlineOf(chosen)} ms, fired ${this.#timer(chosen)} before ${this.#timer(first)}, set first for the same instant`;
    }
    const task = getCurrentGreenlet() as Schedulable;
    const at = userFrame(new Error('select').stack ?? '');
    return `${head} select in ${sim.nameOf(task)}${at === undefined ? '' : ` at ${at}`} took ready case ${d.value + 1} of ${d.options}, not the first listed`;
  }

  /** Where a ready task will resume: the line where it last blocked, or its start. */
  #resumePoint(task: Schedulable): string {
    if (wakeKindOf(task) === K_ARGS) return 'starts (it has not run yet)';
    const stack = this.sim.sites.get(task)?.stack;
    const at = stack === undefined ? undefined : describeSite(stack);
    return at === undefined ? 'resumes' : `resumes at ${at}`;
  }

  #timer(timer: TimerEntry): string {
    // An entry that is not a Timer is a task asleep in a timed wait, its own entry.
    const owner = timer instanceof Timer ? (timer as { task?: Schedulable }).task : (timer as Schedulable);
    const what = timer instanceof Timer ? (TIMER_KINDS[timer.constructor.name] ?? 'a timer') : 'the timed wait';
    if (owner === undefined) return what;
    const waiting = schedOf(owner) === PARKED ? ` (${this.sim.localize(String(owner[WAIT]))})` : '';
    return `${what} of ${this.sim.nameOf(owner)}${waiting}`;
  }
}

const TIMER_KINDS: Record<string, string> = {
  WaitDeadline: 'the timed wait',
  TimeoutTimer: 'the Timeout',
  StartTimer: 'the delayed start',
};
