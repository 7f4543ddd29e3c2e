/**
 * What the CpuPool tests share (cpu-pool.test.ts, missing-yield.test.ts): the jobs module
 * and the flags its jobs report through, and the checks every test ends with.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { getHub, printReport, type HubReport } from 'greenlet-ts';
import { expectThreadsBackTo, osThreads } from './threads.js';

/** fixtures/jobs.mjs: one named export per behaviour. */
export const JOBS = new URL('./fixtures/jobs.mjs', import.meta.url);

/** The slot of `workerData.flags` where `count(id)` counts its runs: `RUNS + id`. */
export const RUNS = 16;

/** jobs.mjs's `count`. */
export type Count = (id: number) => number;

/** Fresh flags for a pool's `workerData.flags` (slot numbers in fixtures/jobs.mjs). */
export function newFlags(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(64 * Int32Array.BYTES_PER_ELEMENT));
}

/** What the hub reported during the current test (the reporter is replaced for each). */
export const reports: HubReport[] = [];

/**
 * In the calling test file: every test must leave nothing behind, no hub timer, no live
 * task, no hub report, and no thread beyond those the process had before the test (the
 * threads of /proc/self/task).
 */
export function expectEachTestToLeaveNothing(): void {
  let baseline = { live: 0, threads: 0 };

  beforeEach(() => {
    reports.length = 0;
    getHub().reporter = (report) => reports.push(report);
    baseline = { live: getHub().liveCount, threads: osThreads() };
  });

  afterEach(async () => {
    getHub().reporter = printReport;
    expect(getHub().timers.size).toBe(0);
    expect(getHub().liveCount).toBe(baseline.live);
    await expectThreadsBackTo(baseline.threads);
    expect(reports).toEqual([]);
  });
}
