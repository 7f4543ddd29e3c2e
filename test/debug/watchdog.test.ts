/**
 * The watchdog (src/debug/watchdog.ts): reports a blocked event loop and names the
 * greenlet that blocked it; its thread sees a loop that never comes back. Wall time is
 * the behaviour here: the margins are generous and only outcomes are asserted.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getHub, gettrace, printReport, sleep, spawn, type HubReport } from 'greenlet-ts';
import {
  startWatchdog,
  stopWatchdog,
  watchdogRunning,
  watchdogThreadReady,
  type LoopBlockedReport,
} from '../../src/debug/watchdog.js';

afterEach(async () => {
  await stopWatchdog();
  getHub().reporter = printReport;
  vi.restoreAllMocks();
  expect(watchdogRunning()).toBeNull();
  expect(gettrace()).toBeNull();
  expect(getHub().monitor).toBeNull();
});

/** Keep the CPU busy for `ms` without yielding. */
function spin(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms) {
    // blocking on purpose
  }
}

/**
 * The watchdog's reports that the hub reporter receives, and the first one that `matches`
 * (a busy machine may add a report of its own before the one a test provokes).
 */
function captureReports(matches: (r: LoopBlockedReport) => boolean = () => true): {
  reports: LoopBlockedReport[];
  first: Promise<LoopBlockedReport>;
} {
  const reports: LoopBlockedReport[] = [];
  let resolve!: (r: LoopBlockedReport) => void;
  const first = new Promise<LoopBlockedReport>((r) => (resolve = r));
  getHub().reporter = (report: HubReport) => {
    const r = report as unknown as LoopBlockedReport;
    if (r.kind !== 'blocked-loop') return;
    reports.push(r);
    if (matches(r)) resolve(r);
  };
  return { reports, first };
}

/** Resolves after `ms` of wall time, or rejects: a bound on waiting for a report. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms)),
  ]);
}

describe('the watchdog', () => {
  it('reports a task that spins for 300 ms: its name, and a run of at least 300 ms, through the hub reporter', async () => {
    const { first } = captureReports((r) => r.greenlet !== null);
    startWatchdog({ threshold: 100, thread: false });
    const spinner = spawn(function* () {
      spin(300);
    });
    spinner.name = 'spinner';
    await spinner;
    const report = await within(first, 5_000);
    expect(report.greenlet).toBe('spinner');
    expect(report.ranForMs).toBeGreaterThanOrEqual(300);
    expect(report.blockedForMs).toBeGreaterThanOrEqual(300);
    expect(report.thresholdMs).toBe(100);
    expect(report.message).toMatch(
      /^greenlet-ts watchdog: the event loop was blocked for \d+ ms \(threshold 100 ms\): spinner ran for \d+ ms without yielding$/,
    );
  });

  it('names, among several tasks, the one that ran the longest without yielding', async () => {
    const { first } = captureReports((r) => r.greenlet !== null);
    startWatchdog({ threshold: 100, thread: false });
    const short = spawn(function* () {
      spin(150);
    });
    short.name = 'short';
    const long = spawn(function* () {
      spin(400);
    });
    long.name = 'long';
    await long;
    const report = await within(first, 5_000);
    expect(report.greenlet).toBe('long');
    expect(report.ranForMs).toBeGreaterThanOrEqual(400);
    await short;
  });

  it('says plain code blocked the loop when no greenlet ran', async () => {
    const { first } = captureReports((r) => r.blockedForMs >= 300);
    startWatchdog({ threshold: 100, thread: false });
    setTimeout(() => spin(400), 0);
    const report = await within(first, 5_000);
    expect(report.greenlet).toBeNull();
    expect(report.message).toMatch(/no greenlet ran: plain code outside greenlets \(callbacks, async functions\) kept it busy$/);
  });

  it('prints the warning to stderr when the hub reporter is the default one', async () => {
    const warnings: unknown[] = [];
    let warned!: () => void;
    const printed = new Promise<void>((r) => (warned = r));
    vi.spyOn(console, 'warn').mockImplementation((text: unknown) => {
      warnings.push(text);
      if (String(text).includes('spinner')) warned();
    });
    startWatchdog({ threshold: 100, thread: false });
    const spinner = spawn(function* () {
      spin(300);
    });
    spinner.name = 'spinner';
    await spinner;
    await within(printed, 5_000);
    expect(warnings.at(-1)).toMatch(/^greenlet-ts watchdog: the event loop was blocked for \d+ ms \(threshold 100 ms\): spinner ran for \d+ ms/);
  });

  it('reports nothing while tasks keep yielding', async () => {
    const { reports } = captureReports();
    startWatchdog({ threshold: 500, thread: false });
    const busy = [1, 2, 3].map(() =>
      spawn(function* () {
        const start = performance.now();
        while (performance.now() - start < 300) {
          spin(1);
          yield* sleep(0);
        }
      }),
    );
    for (const t of busy) await t;
    await stopWatchdog(); // its last check included
    expect(reports).toEqual([]);
  });

  it('stops completely: no trace function, no monitor, no thread', async () => {
    startWatchdog({ threshold: 100 });
    expect(watchdogRunning()).toEqual({ threshold: 100, thread: true });
    expect(await watchdogThreadReady()).toBe(true);
    expect(gettrace()).not.toBeNull();
    await stopWatchdog();
    expect(watchdogRunning()).toBeNull();
    expect(gettrace()).toBeNull();
    expect(await watchdogThreadReady()).toBe(false);
  });

  it('rejects a threshold that is not a positive number of milliseconds', () => {
    expect(() => startWatchdog({ threshold: 0 })).toThrow(
      new RangeError('startWatchdog({ threshold }) takes a number of milliseconds > 0, not 0'),
    );
    expect(watchdogRunning()).toBeNull();
  });
});

describe('the watchdog thread', () => {
  it('names the task that never yields while the main thread is still blocked', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/spin-forever.ts', import.meta.url));
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 20_000 }, (error, _out, err) =>
        error === null ? resolve(err) : reject(new Error(`${error.message}\n${err}`)),
      );
    });
    const lines = stderr.trim().split('\n');
    const spinOver = lines.indexOf('main: spin over');
    expect(spinOver).toBeGreaterThan(0);
    const fromThread = lines.slice(0, spinOver);
    expect(fromThread[0]).toMatch(
      /^greenlet-ts watchdog \(thread\): the event loop has not come back for \d+ ms \(threshold 100 ms\); task spin-forever \(#\d+\) has been running for \d+ ms without yielding$/,
    );
    const ranFor = fromThread.map((l) => Number((/running for (\d+) ms/.exec(l) as RegExpExecArray)[1]));
    // The loop's last beat can come a few ms before the task starts: the task's own time is near the threshold, not always above it.
    expect(ranFor[0]).toBeGreaterThan(50);
    expect(ranFor[0]).toBeLessThan(1000); // seen while the spin (1 s) was still going on
    // After the spin, the main thread's own check reports it too, through the default reporter.
    expect(lines.slice(spinOver + 1).join('\n')).toMatch(/spin-forever ran for \d+ ms without yielding/);
  });
});
