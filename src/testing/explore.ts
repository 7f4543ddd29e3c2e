/**
 * `explore()` and `replay()`: run a program under many schedules drawn from a seed, and
 * run one schedule again.
 *
 * Each run is a fresh run of the program on virtual time (simulation.ts) whose decisions
 * come from a chooser (schedule.ts). The first run takes the default schedule; the others
 * draw theirs from the run's seed, `runSeed(seed, i)`. A run fails if the program throws,
 * or if the runtime finds a task error nobody observed, a wait that can never end, the
 * time limit reached, a task left running, or a wait on the host. The first failing run
 * stops the exploration: its schedule is shrunk (shrink.ts), replayed once more with the
 * wait sites recorded, and reported as a {@link ScheduleFailure}.
 *
 * @module
 */
import { Random, runSeed } from './random.js';
import { DeviationRecorder, ScheduleFailure, type Deviation } from './report.js';
import {
  Scheduler,
  fifoChooser,
  pctChooser,
  randomChooser,
  scheduleChooser,
  type Chooser,
  type Schedule,
  type Strategy,
} from './schedule.js';
import { shrink } from './shrink.js';
import { Simulation, type Outcome, type Program } from './simulation.js';
import { resolveTimeOptions, type ResolvedTimeOptions, type VirtualTimeOptions } from './virtual-time.js';

/** Options of {@link explore}: how many runs, drawn how, and the virtual-time options of each run. */
export interface ExploreOptions extends Omit<VirtualTimeOptions, 'seed'> {
  /** How many runs, the default schedule's included. Default 1000. */
  runs?: number;
  /** The seed every run's schedule comes from. Default: drawn at random (the failure names it). */
  seed?: number;
  /** `'random'` (every decision uniformly at random, the default) or `'pct'`. */
  strategy?: Strategy;
  /** With `'pct'`: the depth of the bugs to look for (ordering constraints); default 3. */
  depth?: number;
  /** Shrink a failing schedule before reporting it. Default true. */
  shrink?: boolean;
  /** At most this many replays to shrink it. Default 1000. */
  shrinkRuns?: number;
}

/** What {@link explore} resolves to when every run passed. */
export interface ExploreResult {
  /** How many runs were made. */
  readonly runs: number;
  /** The seed they came from. */
  readonly seed: number;
}

/** Options of {@link replay}: with a seed, the strategy (and PCT depth) it was drawn with. */
export interface ReplayOptions extends Omit<VirtualTimeOptions, 'seed'> {
  strategy?: Strategy | 'fifo';
  depth?: number;
}

/** @internal One run and its schedule. */
interface Run {
  readonly outcome: Outcome;
  readonly scheduler: Scheduler;
}

/** @internal Run `program` once with `chooser`; synchronously unless real I/O is allowed. */
function runOnce(
  program: Program,
  chooser: Chooser,
  time: ResolvedTimeOptions,
  caller: string,
  sites: boolean | ((sim: Simulation) => DeviationRecorder) = false,
): Run | Promise<Run> {
  const scheduler = new Scheduler(chooser);
  const sim = new Simulation({ ...time, decisions: scheduler, recordSites: sites !== false, caller });
  if (typeof sites === 'function') scheduler.observe = sites(sim).observe;
  if (!time.realIo) return { outcome: sim.runSync(program), scheduler };
  return sim.runAsync(program).then((outcome) => ({ outcome, scheduler }));
}

/** The same failure: same kind, same error class. */
function sameFailure(a: Outcome, b: Outcome): boolean {
  return a.kind === b.kind && errorName(a.error) === errorName(b.error);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** GREENLET_SEED, if set: a run's seed (`2734652`), or a schedule (`[0,1,0]`, as a failure prints it). */
function seedFromEnvironment(): number | number[] | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.GREENLET_SEED?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = raw.replace(/^\[|\]$/g, '').trim();
  if (list === '') return [];
  if (/^\d+(\s*,\s*\d+)*$/.test(list)) return list.split(',').map((v) => Number(v.trim()));
  throw new Error(
    `GREENLET_SEED=${raw} is neither a seed (a whole number) nor a schedule (whole numbers in brackets, ` +
      'separated by commas, as a ScheduleFailure prints them: [0,1,0])',
  );
}

function chooserFor(strategy: Strategy | 'fifo', seed: number, depth: number, steps: number): Chooser {
  if (strategy === 'fifo') return fifoChooser;
  return strategy === 'pct' ? pctChooser(seed, depth, steps) : randomChooser(seed);
}

function checkStrategy(strategy: unknown, caller: string): Strategy | 'fifo' {
  if (strategy === 'random' || strategy === 'pct' || strategy === 'fifo') return strategy;
  throw new TypeError(`${caller}: strategy is 'random' or 'pct', not ${JSON.stringify(strategy)}`);
}

/** How long the event loop may go without a turn while runs go by synchronously. */
const SLICE_MS = 50;

/** Give the event loop a turn (a macrotask: setImmediate where there is one). */
function breathe(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate !== undefined ? immediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Run `program` (a generator function, as a task on a fresh virtual-time hub) many times,
 * each under a different schedule drawn from `seed`: the order in which ready tasks run,
 * which ready case a `select` takes, the order of timers due at the same instant. The
 * first run takes the default schedule (what the hub does by itself). Resolves to
 * `{ runs, seed }` when every run passed; rejects with a {@link ScheduleFailure} at the
 * first that failed, its schedule shrunk to the fewest, smallest, earliest deviations
 * from the default, with a one-line `replay` call that runs it again.
 *
 * ```ts
 * import { explore, replay } from 'greenlet-ts/testing';
 *
 * await explore(function* () {
 *   const account = new Account(100);
 *   const a = spawn(withdraw, account, 100);
 *   const b = spawn(withdraw, account, 100);
 *   yield* joinall([a, b]);
 *   expect(account.balance).toBe(0);         // the program's own checks
 * }, { runs: 1000, seed: 42, strategy: 'pct' });
 * ```
 *
 * A run fails when the program throws, and also when a task fails with nobody waiting for
 * it (`UncaughtTaskError`), every task waits for good (`LoopExit`), a task is left running
 * at the end (`LeakedTaskError`), time passes `limit` (`VirtualTimeLimit`), or a task waits
 * on real I/O or a promise (`RealIoError`, unless `{ realIo: true }`). The program is
 * called afresh for every run: create its objects inside it. With `GREENLET_SEED` set in
 * the environment (a run's seed, or a schedule as the failure prints it), only that run is
 * made.
 */
export async function explore(program: Program, options: ExploreOptions = {}): Promise<ExploreResult> {
  const caller = 'explore()';
  const time = resolveTimeOptions(options, caller);
  const runs = options.runs ?? 1000;
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`${caller}: runs is a whole number >= 1, not ${String(runs)}`);
  const strategy = checkStrategy(options.strategy ?? 'random', caller) as Strategy;
  const depth = options.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`${caller}: depth is a whole number >= 1, not ${String(depth)}`);
  const seed = options.seed ?? new Random(Date.now() ^ Math.floor(Math.random() * 0x1_0000_0000)).next();
  const settings: Settings = {
    caller,
    time,
    depth,
    runs,
    exploreSeed: seed,
    shrink: options.shrink ?? true,
    shrinkRuns: options.shrinkRuns ?? 1000,
    programName: program.name === '' ? 'program' : program.name,
  };

  const pinned = seedFromEnvironment();
  if (pinned !== undefined) {
    const steps = strategy === 'pct' && typeof pinned === 'number' ? (await runOnce(program, fifoChooser, time, caller)).scheduler.steps : 0;
    const chooser = typeof pinned === 'number' ? chooserFor(strategy, pinned, depth, steps) : scheduleChooser(pinned);
    const run = await runOnce(program, chooser, time, caller);
    if (run.outcome.kind !== null) {
      throw await failure(program, run, settings, {
        run: 1,
        seed: typeof pinned === 'number' ? pinned : seed,
        strategy: typeof pinned === 'number' ? strategy : 'schedule',
      });
    }
    return { runs: 1, seed: typeof pinned === 'number' ? pinned : seed };
  }

  let steps = 0;
  let sliceStart = Date.now();
  for (let i = 0; i < runs; i++) {
    const runSeedI = runSeed(seed, i);
    const chooser = i === 0 ? fifoChooser : chooserFor(strategy, runSeedI, depth, steps);
    const run = await runOnce(program, chooser, time, caller);
    if (i === 0) steps = run.scheduler.steps;
    if (run.outcome.kind !== null) {
      throw await failure(program, run, settings, { run: i + 1, seed: runSeedI, strategy: i === 0 ? 'fifo' : strategy });
    }
    if (Date.now() - sliceStart > SLICE_MS) {
      await breathe();
      sliceStart = Date.now();
    }
  }
  return { runs, seed };
}

interface Settings {
  readonly caller: string;
  readonly time: ResolvedTimeOptions;
  readonly depth: number;
  readonly runs: number;
  readonly exploreSeed: number;
  readonly shrink: boolean;
  readonly shrinkRuns: number;
  readonly programName: string;
}

/** Shrink the failing run's schedule, replay it with sites recorded, and describe it. */
async function failure(
  program: Program,
  failed: Run,
  settings: Settings,
  found: { run: number; seed: number; strategy: Strategy | 'fifo' | 'schedule' },
): Promise<ScheduleFailure> {
  const { caller, time } = settings;
  const original = failed.scheduler.schedule();
  const shrunk =
    settings.shrink && original.length !== 0
      ? await shrink(
          original,
          async (candidate) => {
            const run = await runOnce(program, scheduleChooser(candidate), time, caller);
            return run.outcome.kind !== null && sameFailure(run.outcome, failed.outcome) ? run.scheduler.schedule() : null;
          },
          settings.shrinkRuns,
        )
      : { schedule: original, replays: 0 };
  // The last replay records where tasks blocked, for the report.
  let recorder: DeviationRecorder | null = null;
  const final = await runOnce(program, scheduleChooser(shrunk.schedule), time, caller, (sim) => (recorder = new DeviationRecorder(sim)));
  const replayed = final.outcome.kind !== null && sameFailure(final.outcome, failed.outcome);
  const deviations: Deviation[] = replayed ? (recorder as DeviationRecorder | null)?.deviations ?? [] : [];
  return new ScheduleFailure(
    {
      ...found,
      runs: settings.runs,
      exploreSeed: found.strategy === 'schedule' ? undefined : settings.exploreSeed,
      schedule: replayed ? shrunk.schedule : original,
      original,
      replays: shrunk.replays,
      deviations,
      programName: settings.programName,
    },
    replayed ? final.outcome.error : failed.outcome.error,
  );
}

/**
 * Run `program` once more under one schedule: a list of decisions (a failure's
 * `schedule`), or a run's seed with the strategy it was drawn with (a failure's `seed` and
 * `strategy`). The same program, schedule and options make the same run every time.
 * Resolves to what the program returns; rejects with the error the run failed with.
 *
 * ```ts
 * await replay(transfer, [0, 0, 1]);                   // the shrunk schedule
 * await replay(transfer, 2734652, { strategy: 'pct' }); // the run as explore found it
 * ```
 */
export async function replay<R>(program: Program<R>, seedOrSchedule: number | Schedule, options: ReplayOptions = {}): Promise<R> {
  const caller = 'replay()';
  const time = resolveTimeOptions(options, caller);
  let chooser: Chooser;
  if (typeof seedOrSchedule === 'number') {
    const strategy = checkStrategy(options.strategy ?? 'random', caller);
    const depth = options.depth ?? 3;
    const steps = strategy === 'pct' ? (await runOnce(program as Program, fifoChooser, time, caller)).scheduler.steps : 0;
    chooser = chooserFor(strategy, seedOrSchedule, depth, steps);
  } else if (Array.isArray(seedOrSchedule) && seedOrSchedule.every((v) => Number.isInteger(v) && v >= 0)) {
    chooser = scheduleChooser(seedOrSchedule);
  } else {
    throw new TypeError(`${caller} takes a seed (a number) or a schedule (an array of whole numbers >= 0), not ${String(seedOrSchedule)}`);
  }
  const run = await runOnce(program as Program, chooser, time, caller);
  if (run.outcome.kind === null) return run.outcome.value as R;
  // A failure: once more with the wait sites recorded (a stack per blocking call), as the
  // last replay of explore() does, so that the messages are the same.
  const again = await runOnce(program as Program, scheduleChooser(run.scheduler.schedule()), time, caller, true);
  throw again.outcome.kind !== null ? again.outcome.error : run.outcome.error;
}
