/**
 * Child processes from tasks: runProcess (gevent's subprocess.run) and spawnProcess
 * (gevent's Popen), on real `node:child_process` children (sh, cat, sleep, yes, head).
 *
 * From gevent's src/gevent/tests/test__subprocess.py: test_exit / test_wait (exit codes),
 * RunFuncTestCase::test_returncode, test_check, test_check_zero, test_timeout,
 * test_capture_stdout, test_capture_stderr, test_check_output_input_arg, test_communicate
 * (input and output at once). The kill tests follow gevent's run(): on any other exception
 * the child is killed and waited for.
 *
 * Every test checks that nothing is left behind: no hub timer, no live task, no child
 * process handle or pipe, no open file descriptor, no hub report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AsyncResult,
  BlockingError,
  DONE,
  GreenletExit,
  Timeout,
  getHub,
  printReport,
  sleep,
  spawn,
  withTimeout,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import {
  MaxBufferExceeded,
  ProcessFailed,
  ProcessTimeout,
  runProcess,
  spawnProcess,
  type ExitStatus,
} from '../../src/io/process.js';
import { runBounded } from './bounded.js';

const WATCHED = new Set(['ProcessWrap', 'PipeWrap', 'FSReqCallback', 'FSReqPromise', 'CloseReq']);

function resources(): number {
  return process.getActiveResourcesInfo().filter((r) => WATCHED.has(r)).length;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Node closes a child's handles a turn or two after 'close': wait for that (at most 2 s). */
async function settled(baseline: { resources: number; fds: number }): Promise<void> {
  const until = performance.now() + 2000;
  while (performance.now() < until) {
    if (resources() <= baseline.resources && openFds() <= baseline.fds) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** True once no process has this pid (process.kill(pid, 0) raises ESRCH). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

let reports: HubReport[] = [];
let baseline = { resources: 0, fds: 0, live: 0 };

beforeEach(() => {
  reports = [];
  getHub().reporter = (report) => reports.push(report);
  baseline = { resources: resources(), fds: openFds(), live: getHub().liveCount };
});

afterEach(async () => {
  await settled(baseline);
  getHub().reporter = printReport;
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(baseline.live);
  expect(resources()).toBeLessThanOrEqual(baseline.resources);
  expect(openFds()).toBeLessThanOrEqual(baseline.fds);
  expect(reports).toEqual([]);
});

describe('runProcess', () => {
  // gevent: test__subprocess.py::RunFuncTestCase::test_capture_stdout
  it('evaluates to exit code 0 and the bytes the child wrote to stdout', async () => {
    const result = await runBounded(() => runProcess('echo', ['hello']));
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
    expect(Buffer.isBuffer(result.stdout)).toBe(true);
    expect(result.stdout.toString()).toBe('hello\n');
    expect(result.stderr.length).toBe(0);
    expect(gone(result.pid)).toBe(true);
  });

  // gevent: test__subprocess.py::RunFuncTestCase::test_returncode, test_capture_stderr
  it('evaluates to a non-zero exit code, with stderr apart from stdout, as strings with an encoding', async () => {
    const result = await runBounded(() =>
      runProcess('sh', ['-c', 'echo out; echo err >&2; exit 3'], { encoding: 'utf8' }),
    );
    expect(result).toMatchObject({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
  });

  it('evaluates to the signal that killed the child, with a null code', async () => {
    const result = await runBounded(() => runProcess('sh', ['-c', 'kill -TERM $$']));
    expect(result.code).toBeNull();
    expect(result.signal).toBe('SIGTERM');
  });

  it('runs the child in cwd with exactly the env given', async () => {
    const dir = fs.realpathSync(os.tmpdir());
    const result = await runBounded(() =>
      runProcess('sh', ['-c', 'pwd; echo "$GREETING"; echo "${HOME:-unset}"'], {
        cwd: dir,
        env: { PATH: process.env.PATH, GREETING: 'hi' },
        encoding: 'utf8',
      }),
    );
    expect(result.stdout).toBe(`${dir}\nhi\nunset\n`);
  });

  it('lets other tasks run while the child runs', async () => {
    const order = await runBounded(function* () {
      const seen: string[] = [];
      spawn(() => {
        seen.push('other task');
      });
      yield* runProcess('sleep', ['0.05']);
      seen.push('child exited');
      return seen;
    });
    expect(order).toEqual(['other task', 'child exited']);
  });

  // gevent: test__subprocess.py::RunFuncTestCase::test_check_output_input_arg
  it('writes input to the child and closes its stdin', async () => {
    const result = await runBounded(() => runProcess('cat', [], { input: 'line 1\nline 2\n', encoding: 'utf8' }));
    expect(result.stdout).toBe('line 1\nline 2\n');
  });

  // gevent: test__subprocess.py::Test::test_communicate (input and output at once)
  it('pipes 10 MB through cat and gets the same bytes back', async () => {
    const input = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < input.length; i += 4096) input.writeUInt32LE(i, i);
    const result = await runBounded(() => runProcess('cat', [], { input }));
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(input.length);
    expect(result.stdout.equals(input)).toBe(true);
  });

  it('pulls a streamed input only as fast as the child reads it (back-pressure)', async () => {
    // An endless input; the child reads 1 MiB of it and exits. Without back-pressure the
    // whole source would be pulled into memory, forever.
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const source = new Readable({
      read() {
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const result = await runBounded(() => runProcess('head', ['-c', String(1024 * 1024)], { input: source }));
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(1024 * 1024);
    expect(produced).toBeLessThan(4 * 1024 * 1024);
    expect(source.destroyed).toBe(true);
  });

  it('ignores the broken pipe of a child that exits without reading all its input', async () => {
    const result = await runBounded(() => runProcess('head', ['-c', '10'], { input: Buffer.alloc(4 * 1024 * 1024, 'a') }));
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe('aaaaaaaaaa');
  });

  it('streams an async iterable input through cat', async () => {
    async function* numbers(): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i++) yield `${i}\n`;
    }
    const result = await runBounded(() => runProcess('cat', [], { input: numbers(), encoding: 'utf8' }));
    expect(result.stdout.split('\n').length).toBe(1001);
    expect(result.stdout.endsWith('998\n999\n')).toBe(true);
  });

  it('raises the error of the input stream, and stops the child', async () => {
    const boom = new Error('input failed');
    let pid = 0;
    const source = new Readable({
      read() {
        this.destroy(boom);
      },
    });
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sleep', ['10'], { input: source, onSpawn: (p) => (pid = p) });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
    expect(gone(pid)).toBe(true);
  });

  // gevent: test__subprocess.py::RunFuncTestCase::test_timeout
  it('stops a child that outlives its timeout and raises ProcessTimeout with the output so far', async () => {
    const started = performance.now();
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sh', ['-c', 'echo started; echo warming up >&2; exec sleep 10'], { timeout: 300 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(ProcessTimeout);
    expect(caught).toBeInstanceOf(Timeout);
    const e = caught as ProcessTimeout;
    expect(e.stdout.toString()).toBe('started\n');
    expect(e.stderr.toString()).toBe('warming up\n');
    expect(e.signal).toBe('SIGTERM');
    expect(e.ms).toBe(300);
    expect(e.message).toMatch(/did not finish within 300 ms and was stopped \(it was killed by SIGTERM\)/);
    expect(gone(e.pid as number)).toBe(true);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('sends SIGKILL after killGraceMs to a child that ignores SIGTERM', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sh', ['-c', "trap '' TERM; echo ready; exec sleep 10"], {
          timeout: 300,
          killGraceMs: 100,
          encoding: 'utf8',
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    const e = caught as ProcessTimeout;
    expect(e).toBeInstanceOf(ProcessTimeout);
    expect(e.stdout).toBe('ready\n');
    expect(e.signal).toBe('SIGKILL');
    expect(gone(e.pid as number)).toBe(true);
  });

  it('kills the child when the task is killed while it waits, and runs its finally blocks', async () => {
    const outcome = await runBounded(function* () {
      const pid = new AsyncResult<number>();
      let cleanedUp = false;
      const waiter = spawn(function* () {
        try {
          yield* runProcess('sleep', ['10'], { onSpawn: (p) => pid.set(p) });
        } finally {
          cleanedUp = true;
        }
      });
      const childPid = yield* pid.get();
      expect(gone(childPid)).toBe(false);
      yield* waiter.kill();
      return { childPid, cleanedUp, value: waiter.value, goneAfterKill: gone(childPid) };
    });
    expect(outcome.cleanedUp).toBe(true);
    expect(outcome.value).toBeInstanceOf(GreenletExit);
    expect(outcome.goneAfterKill).toBe(true);
  });

  it("kills the child when the caller's own Timeout strikes, and raises that Timeout", async () => {
    let pid = 0;
    const caught = await runBounded(function* () {
      try {
        yield* withTimeout(100, () => runProcess('sleep', ['10'], { onSpawn: (p) => (pid = p) }));
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(caught).not.toBeInstanceOf(ProcessTimeout);
    expect(gone(pid)).toBe(true);
  });

  // gevent: test__subprocess.py::RunFuncTestCase::test_check
  it('raises ProcessFailed with the code and the tail of stderr when check is set and the child fails', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sh', ['-c', 'echo partial; echo "no such table: users" >&2; exit 2'], {
          check: true,
          encoding: 'utf8',
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(ProcessFailed);
    const e = caught as ProcessFailed;
    expect(e.code).toBe(2);
    expect(e.signal).toBeNull();
    expect(e.stdout).toBe('partial\n');
    expect(e.stderr).toBe('no such table: users\n');
    expect(e.message).toMatch(/^sh -c .* exited with code 2; its stderr ends with:\nno such table: users$/);
  });

  it('raises ProcessFailed when check is set and the child is killed by a signal', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sh', ['-c', 'kill -KILL $$'], { check: true });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(ProcessFailed);
    expect((caught as ProcessFailed).signal).toBe('SIGKILL');
    expect((caught as ProcessFailed).message).toMatch(/was killed by SIGKILL and wrote nothing to stderr/);
  });

  // gevent: test__subprocess.py::RunFuncTestCase::test_check_zero
  it('evaluates to the result when check is set and the child exits with 0', async () => {
    const result = await runBounded(() => runProcess('true', [], { check: true }));
    expect(result.code).toBe(0);
  });

  it('stops a child that writes more than maxBuffer and raises MaxBufferExceeded with the first bytes', async () => {
    let pid = 0;
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('yes', [], { maxBuffer: 10_000, onSpawn: (p) => (pid = p) });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(MaxBufferExceeded);
    const e = caught as MaxBufferExceeded;
    expect(e.stream).toBe('stdout');
    expect(e.maxBuffer).toBe(10_000);
    expect(e.stdout.length).toBe(10_000);
    expect(e.stdout.toString().startsWith('y\ny\n')).toBe(true);
    expect(gone(pid)).toBe(true);
  });

  it('applies maxBuffer to stderr as well', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('sh', ['-c', 'exec yes >&2'], { maxBuffer: 100 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(MaxBufferExceeded);
    expect((caught as MaxBufferExceeded).stream).toBe('stderr');
    expect((caught as MaxBufferExceeded).stderr.length).toBe(100);
  });

  it('raises the spawn error (ENOENT) for a command that does not exist', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* runProcess('no-such-command-greenlet-ts', ['x']);
        return null;
      } catch (e) {
        return e;
      }
    });
    expect((caught as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((caught as NodeJS.ErrnoException).syscall).toBe('spawn no-such-command-greenlet-ts');
  });

  it('throws a BlockingError that names runProcess when made outside a task', () => {
    expect(() => runProcess('true')).toThrow(BlockingError);
    expect(() => runProcess('true')).toThrow(/runProcess\(\) blocks/);
  });
});

describe('spawnProcess', () => {
  // gevent: test__subprocess.py::Test::test_exit, test_wait
  it('reads the child stdout line by line, then waits for its exit', async () => {
    const { lines, status } = await runBounded(function* () {
      const child = yield* spawnProcess('printf', ['a\\nb\\r\\nlast'], { stdin: 'ignore' });
      const got: string[] = [];
      for (let line; (line = yield* child.stdout!.readLine()) !== DONE; ) got.push(line);
      return { lines: got, status: yield* child.wait() };
    });
    expect(lines).toEqual(['a', 'b', 'last']);
    expect(status).toEqual({ code: 0, signal: null });
  });

  it('writes 10 MB to a child with back-pressure while another task reads what it echoes', async () => {
    const total = await runBounded(function* () {
      const child = yield* spawnProcess('cat', [], { stderr: 'ignore' });
      const reader = spawn(function* () {
        let bytes = 0;
        for (let chunk; (chunk = yield* child.stdout!.read()) !== DONE; ) bytes += chunk.length;
        return bytes;
      });
      const block = Buffer.alloc(64 * 1024, 'z');
      for (let i = 0; i < 160; i++) {
        yield* child.write(block);
        // Back-pressure: what is queued in Node never grows past a chunk beyond the high-water mark.
        expect(child.childProcess.stdin!.writableLength).toBeLessThanOrEqual(block.length);
      }
      child.closeInput();
      const bytes = yield* reader.get();
      expect(yield* child.wait()).toEqual({ code: 0, signal: null });
      return bytes;
    });
    expect(total).toBe(160 * 64 * 1024);
  });

  it('raises ProcessTimeout from wait(timeout) and leaves the child running', async () => {
    const outcome = await runBounded(function* () {
      const child = yield* spawnProcess('sleep', ['10'], { stdin: 'ignore' });
      let caught: unknown = null;
      try {
        yield* child.wait(50);
      } catch (e) {
        caught = e;
      }
      const stillRunning = !gone(child.pid) && child.exitStatus === null;
      const status = yield* child.stop();
      return { caught, stillRunning, status, pid: child.pid };
    });
    expect(outcome.caught).toBeInstanceOf(ProcessTimeout);
    expect((outcome.caught as ProcessTimeout).signal).toBeNull();
    expect((outcome.caught as ProcessTimeout).message).toMatch(/did not exit within 50 ms and is still running/);
    expect(outcome.stillRunning).toBe(true);
    expect(outcome.status).toEqual({ code: null, signal: 'SIGTERM' });
    expect(gone(outcome.pid)).toBe(true);
  });

  it('stop() sends SIGKILL after the grace period to a child that ignores SIGTERM', async () => {
    const outcome = await runBounded(function* () {
      const child = yield* spawnProcess('sh', ['-c', "trap '' TERM; echo ready; exec sleep 10"], { stdin: 'ignore' });
      expect(yield* child.stdout!.readLine()).toBe('ready'); // the trap is set
      const status = yield* child.stop(50);
      return { status, pid: child.pid };
    });
    expect(outcome.status).toEqual({ code: null, signal: 'SIGKILL' });
    expect(gone(outcome.pid)).toBe(true);
  });

  it('sends SIGKILL at once when the task in stop() is killed during the grace period', async () => {
    const outcome = await runBounded(function* () {
      const child = yield* spawnProcess('sh', ['-c', "trap '' TERM; echo ready; exec sleep 10"], { stdin: 'ignore' });
      expect(yield* child.stdout!.readLine()).toBe('ready');
      const stopper = spawn(() => child.stop(60_000));
      yield* sleep(0); // SIGTERM sent (and ignored); the stopper waits for the grace period
      yield* stopper.kill();
      return { status: yield* child.wait(), pid: child.pid, stopper: stopper.value };
    });
    expect(outcome.stopper).toBeInstanceOf(GreenletExit);
    expect(outcome.status).toEqual({ code: null, signal: 'SIGKILL' });
    expect(gone(outcome.pid)).toBe(true);
  });

  it('wakes every task waiting for the exit', async () => {
    const statuses = await runBounded(function* () {
      const child = yield* spawnProcess('sh', ['-c', 'read line; exit 7'], { stdout: 'ignore', stderr: 'ignore' });
      function* waitForExit(): GreenletBody<ExitStatus> {
        return yield* child.wait();
      }
      const waiters = [spawn(waitForExit), spawn(waitForExit)];
      yield* child.write('go\n');
      return [yield* waiters[0]!.get(), yield* waiters[1]!.get()];
    });
    expect(statuses).toEqual([
      { code: 7, signal: null },
      { code: 7, signal: null },
    ]);
  });

  it('raises the spawn error (ENOENT) instead of giving a handle without a pid', async () => {
    const caught = await runBounded(function* () {
      try {
        yield* spawnProcess('no-such-command-greenlet-ts');
        return null;
      } catch (e) {
        return e;
      }
    });
    expect((caught as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('SIGKILLs a running child when the handle is disposed', async () => {
    const outcome = await runBounded(function* () {
      const child = yield* spawnProcess('sleep', ['10']);
      {
        using _ = child;
      }
      return { status: yield* child.wait(), pid: child.pid };
    });
    expect(outcome.status).toEqual({ code: null, signal: 'SIGKILL' });
    expect(gone(outcome.pid)).toBe(true);
  });

  it('raises an error naming closeInput() when writing after the input was closed', async () => {
    const caught = await runBounded(function* () {
      const child = yield* spawnProcess('cat', [], { stdout: 'ignore', stderr: 'ignore' });
      child.closeInput();
      try {
        yield* child.write('late');
        return null;
      } catch (e) {
        return e;
      } finally {
        yield* child.wait();
      }
    });
    expect((caught as Error).message).toMatch(/stdin of Subprocess\(cat, pid \d+\) is closed/);
  });
});
