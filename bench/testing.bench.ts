/**
 * Testing-layer benchmarks: how many schedules explore() runs per second, and how long
 * 100,000 sleepers of up to a day take on virtual time. Listed last in the run: exploring
 * swaps the hub's run queue for a while, which leaves the hub's call sites seeing two
 * kinds of queue for the rest of the process.
 */
import { joinall, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { Random, explore, virtualTime } from 'greenlet-ts/testing';
import { type Benchmark, medianMs } from './harness.js';

const TASKS = 10;
const SWITCHES = 100;
const RUNS = 2000;

function* switcher(): GreenletBody<void> {
  for (let i = 0; i < SWITCHES; i++) yield* sleep(0);
}

/** The explored program: 10 tasks that each give up the CPU 100 times. */
function* tenTasks(): GreenletBody<void> {
  const tasks: Task[] = [];
  for (let i = 0; i < TASKS; i++) tasks.push(spawn(switcher));
  yield* joinall(tasks);
}

/** testing.explore.runs_per_s: explore(tenTasks, { runs: 2000 }), random schedules. */
async function exploreRunsPerSecond(): Promise<number> {
  let seed = 1;
  const ms = await medianMs(() => explore(tenTasks, { runs: RUNS, seed: seed++ }), 3);
  return (RUNS / ms) * 1000;
}

/** The same program run the same number of times with virtualTime(): the default schedule, no decisions recorded. */
async function virtualTimeRunsPerSecond(): Promise<number> {
  const ms = await medianMs(async () => {
    for (let i = 0; i < RUNS; i++) await virtualTime(tenTasks);
  }, 3);
  return (RUNS / ms) * 1000;
}

const SLEEPERS = 100_000;
const DAY = 86_400_000;
const durations = (() => {
  const random = new Random(7);
  return Array.from({ length: SLEEPERS }, () => random.below(DAY + 1));
})();

/** testing.virtual_time.sleepers: 100,000 tasks sleeping random durations up to a day, on virtual time. */
async function sleepersMs(): Promise<number> {
  return medianMs(
    () =>
      virtualTime(
        function* () {
          const tasks: Task[] = durations.map((ms) =>
            spawn(function* () {
              yield* sleep(ms);
            }),
          );
          for (const t of tasks) yield* t.join();
        },
        { limit: DAY },
      ),
    3,
  );
}

/** The hub in real time: as many tasks that sleep(0), spawned and joined. */
async function sleep0Ms(): Promise<number> {
  return medianMs(
    () =>
      run(function* () {
        const tasks: Task[] = durations.map(() =>
          spawn(function* () {
            yield* sleep(0);
          }),
        );
        for (const t of tasks) yield* t.join();
      }),
    3,
  );
}

export const testingBenchmarks: Benchmark[] = [
  {
    name: 'testing.explore.runs_per_s',
    unit: 'runs/s',
    what: `explore() of ${TASKS} tasks × ${SWITCHES} sleep(0)s, ${RUNS} random schedules; runs per second`,
    measure: exploreRunsPerSecond,
    baseline: 'the same runs with virtualTime()',
    baselineMeasure: virtualTimeRunsPerSecond,
    target: '≥ 2000 runs/s',
  },
  {
    name: 'testing.virtual_time.sleepers',
    unit: 'ms',
    what: `${SLEEPERS.toLocaleString('en')} tasks sleeping random durations up to a day, on virtual time`,
    measure: sleepersMs,
    baseline: 'as many sleep(0) tasks in real time',
    baselineMeasure: sleep0Ms,
    target: '< 2000 ms',
  },
];
