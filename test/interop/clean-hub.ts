/** What every interop test leaves behind: no timer, and nothing the hub had to report. */
import { afterEach, beforeEach, expect } from 'vitest';
import { getHub, printReport, type HubReport } from 'greenlet-ts';

/**
 * Collect the hub's reports during each test of the file (instead of printing them), and
 * check after each test that no timer is left and nothing was reported. Returns the
 * reports of the running test; a test that expects one empties the array after checking.
 */
export function expectCleanHub(): HubReport[] {
  const reports: HubReport[] = [];
  beforeEach(() => {
    reports.length = 0;
    getHub().reporter = (report) => reports.push(report);
  });
  afterEach(() => {
    getHub().reporter = printReport;
    expect(getHub().timers.size).toBe(0);
    expect(reports).toEqual([]);
  });
  return reports;
}
