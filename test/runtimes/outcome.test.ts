/**
 * The runtime runner (run.ts) does not count a file in which no test ran as passed
 * (outcome.ts's `verdict`), and the vitest shim fails a file whose `beforeAll` throws,
 * as vitest does: both checked on real bundles of fixture files, run by Node as run.ts
 * runs them on the other runtimes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleName, bundleTests } from './bundle.js';
import { repoRoot } from './files.js';
import { verdict, type FileOutcome } from './outcome.js';
import type { TestResult } from './vitest-shim.js';

const BEFORE_ALL_FAILS = 'test/runtimes/fixtures/before-all-fails.ts';
const SKIPPED_IN_CODE = 'test/runtimes/fixtures/skipped-in-code.ts';
let outdir: string;

beforeAll(async () => {
  mkdirSync(join(repoRoot, 'node_modules', '.cache'), { recursive: true });
  outdir = mkdtempSync(join(repoRoot, 'node_modules', '.cache', 'greenlet-ts-outcome-'));
  await bundleTests([BEFORE_ALL_FAILS, SKIPPED_IN_CODE], outdir);
}, 60_000);

afterAll(() => {
  if (outdir !== undefined) rmSync(outdir, { recursive: true, force: true });
});

/** Run a bundled fixture with Node; the lines it printed, and its outcome as run.ts parses it. */
async function runBundle(file: string): Promise<{ lines: string[]; outcome: FileOutcome }> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(outdir, bundleName(file))], { timeout: 30_000 });
  const lines = stdout.split('\n');
  const results = lines.filter((l) => l.startsWith('##RESULT ')).map((l) => JSON.parse(l.slice('##RESULT '.length)) as TestResult);
  expect(lines.some((l) => l.startsWith('##DONE'))).toBe(true);
  return { lines, outcome: { file, results, ms: 0 } };
}

const result = (name: string, state: TestResult['state'], reason?: string): TestResult => ({ name, state, ms: 0, ...(reason === undefined ? {} : { reason }) });
const outcome = (...results: TestResult[]): FileOutcome => ({ file: 'x.test.ts', results, ms: 0 });

describe('the vitest shim', () => {
  it('fails a file whose beforeAll throws, skips every test (of inner suites too), and runs its afterAll, as vitest does', async () => {
    const { lines, outcome: ran } = await runBundle(BEFORE_ALL_FAILS);
    expect(ran.results.map((r) => [r.name, r.state])).toEqual([
      ['(beforeAll)', 'fail'],
      ['an inner suite > would pass', 'skip'],
      ['would pass too', 'skip'],
    ]);
    expect(ran.results[0]?.error).toContain('setup failed: no such host function');
    expect(lines).toContain('##FIXTURE afterAll ran');
    expect(verdict(ran)).toEqual({ state: 'fail', why: '1 failed' });
  });
});

describe("the runner's verdict on a file", () => {
  it('fails a file in which no test ran because its own code skipped them', async () => {
    const { outcome: ran } = await runBundle(SKIPPED_IN_CODE);
    expect(ran.results.map((r) => [r.name, r.state])).toEqual([['runs nowhere', 'skip']]);
    expect(verdict(ran)).toMatchObject({ state: 'fail', why: expect.stringMatching(/^no test ran: 1 of 1 skipped without a reason from files\.ts/) });
  });

  it('fails a file that declares no test, or did not finish', () => {
    expect(verdict(outcome())).toEqual({ state: 'fail', why: 'no test ran: the file declared none' });
    expect(verdict({ ...outcome(result('a', 'pass')), broken: 'exited with 1' })).toEqual({ state: 'fail', why: 'the file did not finish: exited with 1' });
  });

  it('fails a file with a failed test, whatever else passed', () => {
    expect(verdict(outcome(result('a', 'pass'), result('b', 'fail')))).toEqual({ state: 'fail', why: '1 failed' });
  });

  it('skips a file whose every test files.ts leaves out here, and fails one where a single skip has no reason', () => {
    expect(verdict(outcome(result('a', 'skip', 'needs gc()'), result('b', 'skip', 'needs gc()')))).toEqual({
      state: 'skip',
      why: 'no test ran: files.ts leaves out every test of the file here',
    });
    expect(verdict(outcome(result('a', 'skip', 'needs gc()'), result('b', 'skip')))).toMatchObject({ state: 'fail' });
  });

  it('passes a file where a test passed and none failed, skipped ones besides', () => {
    expect(verdict(outcome(result('a', 'pass'), result('b', 'skip'), result('c', 'skip', 'needs gc()')))).toEqual({ state: 'pass' });
  });
});
