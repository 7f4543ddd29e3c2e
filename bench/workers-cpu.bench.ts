/**
 * CPU pool benchmark: 8 CPU-bound jobs of ~30 ms each (chained SHA-256, a deterministic
 * busy loop) submitted from 8 tasks through a `CpuPool` (one thread per core), against
 * the same 8 jobs run one after the other on the main thread, in the same run. The ratio
 * is the pool's wall time over the sequential time: ~1 / cores plus the cost of crossing
 * threads; ≤ 0.6 on 2 cores.
 *
 * Each measurement starts a pool, warms it (every thread has loaded the module and run a
 * job, the JIT is warm), times the median of 3 batches of 8 jobs, and destroys the pool:
 * the threads' startup is not measured.
 */
import { run, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { CpuPool } from 'greenlet-ts/workers';
import type { Benchmark } from './harness.js';

const JOB = new URL('./workers/cpu-job.mjs', import.meta.url);
/** The job function: `rounds` chained SHA-256 digests. */
type HashRounds = (rounds: number) => string;
/** The same module on the main thread, for the baseline. */
const { default: hashRounds } = (await import(JOB.href)) as { default: HashRounds };
const JOBS = 8;
const JOB_MS = 30;
const BATCHES = 3;

let calibrated: number | null = null;

/**
 * The number of rounds that takes ~30 ms on this machine, measured once on the main
 * thread: the fastest of 5 timings of a ~30 ms run (a slower one was preempted).
 */
function roundsFor30ms(): number {
  if (calibrated !== null) return calibrated;
  hashRounds(2000); // warm the JIT
  let rounds = 2000;
  let ms = 0;
  while ((ms = timeRounds(rounds)) < 10) rounds *= 2;
  rounds = Math.round((rounds * JOB_MS) / ms);
  const fastest = Math.min(...Array.from({ length: 5 }, () => timeRounds(rounds)));
  calibrated = Math.round((rounds * JOB_MS) / fastest);
  return calibrated;
}

function timeRounds(rounds: number): number {
  const t0 = performance.now();
  hashRounds(rounds);
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

/** 8 tasks, one job each, all waiting for their results. */
function* eightJobs(pool: CpuPool<HashRounds>, rounds: number): GreenletBody<void> {
  const tasks: Task<string>[] = [];
  for (let i = 0; i < JOBS; i++) tasks.push(spawn(() => pool.run(rounds)));
  for (const task of tasks) yield* task.get();
}

/** workers.cpu: wall time (ms) of 8 jobs from 8 tasks through the pool, warm. */
async function poolMs(): Promise<number> {
  const rounds = roundsFor30ms();
  const pool = new CpuPool<HashRounds>({ filename: JOB });
  try {
    await run(() => eightJobs(pool, rounds)); // warm-up
    const times: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const t0 = performance.now();
      await run(() => eightJobs(pool, rounds));
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await pool.destroyAsync();
  }
}

/** The baseline: the same 8 jobs one after the other on the main thread (ms). */
async function mainThreadMs(): Promise<number> {
  const rounds = roundsFor30ms();
  hashRounds(rounds); // warm-up
  const times: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < JOBS; i++) hashRounds(rounds);
    times.push(performance.now() - t0);
  }
  return median(times);
}

export const workersCpuBenchmarks: Benchmark[] = [
  {
    name: 'workers.cpu',
    unit: 'ms',
    what: '8 CPU-bound jobs (~30 ms each) from 8 tasks through the CpuPool (one thread per core)',
    measure: poolMs,
    baseline: 'the same 8 jobs one after the other on the main thread',
    baselineMeasure: mainThreadMs,
    target: '≤ 0.6',
    rounds: 3,
  },
];
