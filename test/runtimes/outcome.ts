/**
 * What one test file's run on a runtime counts as (run.ts reports it so).
 *
 * @module
 */
import type { TestResult } from './vitest-shim.js';

/** One file run on a runtime: the results it printed, and why it did not finish, if it did not. */
export interface FileOutcome {
  file: string;
  results: TestResult[];
  /** Why the file did not finish (crashed, hung), if it did not. */
  broken?: string;
  ms: number;
}

/** A file's verdict: `why` says what failed, or why nothing ran. */
export type Verdict = { state: 'pass' } | { state: 'fail' | 'skip'; why: string };

/**
 * - `fail`: the file did not finish, a test (or a hook) failed, or no test ran in it: none
 *   passed and not every one was left out here by files.ts. A file in which nothing ran
 *   has shown nothing, whatever the cause (a `beforeAll` that threw, a test file that
 *   declares no tests, tests skipped in the file's own code, which says nothing about why
 *   this runtime cannot run them): a file a runtime cannot run goes in files.ts's list,
 *   with the reason.
 * - `skip`: no test ran, and files.ts left out each of them here (the reasons are given).
 * - `pass`: otherwise (at least one test passed, none failed).
 */
export function verdict(outcome: FileOutcome): Verdict {
  if (outcome.broken !== undefined) return { state: 'fail', why: `the file did not finish: ${outcome.broken}` };
  const failed = outcome.results.filter((r) => r.state === 'fail').length;
  if (failed !== 0) return { state: 'fail', why: `${failed} failed` };
  if (outcome.results.some((r) => r.state === 'pass')) return { state: 'pass' };
  if (outcome.results.length === 0) return { state: 'fail', why: 'no test ran: the file declared none' };
  const unexplained = outcome.results.filter((r) => r.reason === undefined).length;
  if (unexplained !== 0) {
    return {
      state: 'fail',
      why:
        `no test ran: ${unexplained} of ${outcome.results.length} skipped without a reason from files.ts ` +
        '(skipped in the file itself); leave the file out for this runtime in files.ts, with the reason, or make it run here',
    };
  }
  return { state: 'skip', why: 'no test ran: files.ts leaves out every test of the file here' };
}
