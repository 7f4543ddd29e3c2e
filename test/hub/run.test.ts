/**
 * run(), LoopExit and the deadlock report (gevent: LoopExit, "This operation would block
 * forever", gevent#368, #585), and blocking from the main greenlet.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BlockingError, run, sleep, spawn } from 'greenlet-ts';

describe('run', () => {
  it('evaluates a task from async code and resolves with its value', async () => {
    const value = await run(function* (a: number) {
      yield* sleep(1);
      return a * 2;
    }, 21);
    expect(value).toBe(42);
  });

  it('rejects with the task\'s error', async () => {
    class Boom extends Error {}
    await expect(
      run(function* () {
        yield* sleep(0);
        throw new Boom('from the task');
      }),
    ).rejects.toBeInstanceOf(Boom);
  });

  it('blocking calls in plain code say to use a task', () => {
    const task = spawn(function* () {
      yield* sleep(10_000);
    });
    expect(() => task.join()).toThrow(BlockingError);
    expect(() => task.get()).toThrow(/task\.get\(\) blocks, and it was called in the main greenlet/);
    task.kill();
  });
});

describe('when the event loop runs dry', () => {
  const fixture = fileURLToPath(new URL('./fixtures/loop-exit.ts', import.meta.url));
  const lines = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 20_000 })
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('a run() that would wait forever rejects with LoopExit naming every blocked task and its wait', () => {
    const loopExit = lines.find((l) => l.case === 'loop-exit');
    expect(loopExit).toMatchObject({ rejected: true, isLoopExit: true });
    // waiter-1: the task made before it has a name of its own, and so never took an id.
    expect(loopExit?.blocked).toEqual([['waiter-1', 'join(never-started)']]);
    expect(loopExit?.message).toMatch(
      /^waiter-1 would wait forever: the event loop has nothing left to do, and 1 task is parked on objects nothing can wake:\n {2}waiter-1 waits on join\(never-started\) \(for \d+ ms\)$/,
    );
  });

  it('parked tasks nobody awaits are reported once as a deadlock through the hub reporter', () => {
    const reports = lines.filter((l) => l.case === 'report');
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'deadlock' });
    expect(reports[0]?.message).toMatch(/the process is exiting with 1 task is parked on objects nothing can wake:\n {2}stuck waits on join\(never-started\)/);
  });
});
