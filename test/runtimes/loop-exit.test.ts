/**
 * LoopExit on Deno and Bun, run for real (bundled as run.ts bundles the test files): under a
 * top-level `await run(...)` neither emits `beforeExit`, so the hub's idle check must end
 * the wait with LoopExit (Hub.loopExitAfterMs), and must not end waits that do end.
 * Node's side is test/hub/run.test.ts; browsers have no exit (docs/tasks.md).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePrograms } from './bundle.js';
import { repoRoot } from './files.js';

const FIXTURES = ['test/hub/fixtures/loop-exit.ts', 'test/runtimes/fixtures/never-finishes.ts', 'test/runtimes/fixtures/external-waits.ts'];
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
let outdir: string;

beforeAll(async () => {
  mkdirSync(join(repoRoot, 'node_modules', '.cache'), { recursive: true });
  outdir = mkdtempSync(join(repoRoot, 'node_modules', '.cache', 'greenlet-ts-loop-exit-'));
  await bundlePrograms(FIXTURES, outdir);
}, 60_000);

afterAll(() => {
  if (outdir !== undefined) rmSync(outdir, { recursive: true, force: true });
});

/** Run a bundled fixture; its exit code, stdout and stderr (without colours). */
async function runOn(runtime: 'deno' | 'bun', fixture: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(outdir, fixture.replace(/^.*\//, '').replace(/\.ts$/, '.mjs'));
  const command = runtime === 'deno' ? ['run', '--allow-all', '--quiet', file, ...args] : [file, ...args];
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  try {
    const { stdout, stderr } = await promisify(execFile)(bin(runtime), command, { timeout: 30_000, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; killed?: boolean; stdout: string; stderr: string };
    if (e.killed === true) throw new Error(`${runtime} ${fixture} did not end within 30 s:\n${e.stdout}\n${e.stderr}`);
    return { code: e.code ?? -1, stdout: e.stdout, stderr: e.stderr };
  }
}

const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const runtime of ['deno', 'bun'] as const) {
  const installed = existsSync(bin(runtime));
  describe.skipIf(!installed)(`${runtime}${installed ? '' : ' (SKIPPED: not installed; npm ci installs it)'}`, () => {
    it('ends a top-level await run() that can never finish with LoopExit naming every parked task', async () => {
      const { code, stdout, stderr } = await runOn(runtime, 'test/runtimes/fixtures/never-finishes.ts');
      expect(stdout).not.toContain('never printed');
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/LoopExit: main-\d+ would wait forever: the event loop has nothing left to do, and 2 tasks are parked on objects nothing can wake:/);
      expect(stderr).toMatch(/ {2}main-\d+ waits on Event\(clear, 2 waiting\)/);
      expect(stderr).toMatch(/ {2}helper waits on Event\(clear, 2 waiting\)/);
    });

    it("rejects the run() promise with LoopExit in Node's words, and reports parked tasks nobody awaits at exit", async () => {
      const lines = jsonLines((await runOn(runtime, 'test/hub/fixtures/loop-exit.ts')).stdout);
      const loopExit = lines.find((l) => l.case === 'loop-exit');
      expect(loopExit).toMatchObject({ rejected: true, isLoopExit: true });
      expect(loopExit?.blocked).toEqual([['waiter-1', 'join(never-started)']]);
      expect(loopExit?.message).toMatch(
        /^waiter-1 would wait forever: the event loop has nothing left to do, and 1 task is parked on objects nothing can wake:\n {2}waiter-1 waits on join\(never-started\) \(for \d+ ms\)$/,
      );
      const reports = lines.filter((l) => l.case === 'report');
      expect(reports).toEqual([expect.objectContaining({ kind: 'deadlock' })]);
      expect(reports[0]?.message).toMatch(/the process is exiting with 1 task is parked on objects nothing can wake:\n {2}stuck waits on join\(never-started\)/);
    });

    it('lets a promise and a sleep that end later than the quiet time end', async () => {
      const lines = jsonLines((await runOn(runtime, 'test/runtimes/fixtures/external-waits.ts')).stdout);
      expect(lines.slice(0, 2)).toEqual([
        { case: 'promise', result: 'resolved' },
        { case: 'sleep', result: 'slept' },
      ]);
    });

    if (runtime === 'deno') {
      it('sees a plain timer that will wake a task (Deno lists its timers)', async () => {
        const lines = jsonLines((await runOn(runtime, 'test/runtimes/fixtures/external-waits.ts')).stdout);
        expect(lines[2]).toEqual({ case: 'event set by a plain timer (default)', result: 'set' });
      });
    } else {
      it('cannot see a plain timer that will wake a task (Bun lists nothing): LoopExit, unless loopExitAfterMs is raised', async () => {
        const lines = jsonLines((await runOn(runtime, 'test/runtimes/fixtures/external-waits.ts')).stdout);
        expect(lines[2]).toMatchObject({ case: 'event set by a plain timer (default)' });
        expect(lines[2]?.error).toMatch(/^LoopExit: Task-\d+ would wait forever/);
        const raised = jsonLines((await runOn(runtime, 'test/runtimes/fixtures/external-waits.ts', '--raise')).stdout);
        expect(raised[2]).toEqual({ case: 'event set by a plain timer (raised)', result: 'set' });
      });
    }
  });
}
