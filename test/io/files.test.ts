/**
 * Files from tasks: readFile / writeFile / appendFile / copyFile / readLines / openReader,
 * on real files in a temporary directory (removed afterwards).
 *
 * To make "the operation is in progress" deterministic, the abort tests use FIFOs
 * (`mkfifo`): the test holds the FIFO open read-write (so opening it never blocks), and a
 * read from it blocks until the test writes to it. That is also what shows what can be
 * interrupted: the task is released at once, while the system call in flight finishes
 * only when the test lets it (`release()`).
 *
 * gevent runs files on a thread pool (gevent.fileobject, test__fileobject.py); its tests
 * are about Python's file object API, which has no counterpart here.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DONE,
  Event,
  GreenletExit,
  Queue,
  Timeout,
  getHub,
  printReport,
  sleep,
  spawn,
  waitFor,
  type HubReport,
  type SwitchOp,
} from 'greenlet-ts';
import {
  FileTimeout,
  appendFile,
  copyFile,
  openReader,
  readFile,
  readLines,
  writeFile,
} from '../../src/io/files.js';
import { LineTooLong } from '../../src/io/line-reader.js';
import { runBounded, until } from './bounded.js';

const WATCHED = new Set(['FSReqCallback', 'FSReqPromise', 'CloseReq']);

function resources(): number {
  return process.getActiveResourcesInfo().filter((r) => WATCHED.has(r)).length;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** File handles close on the thread pool shortly after the operation: wait for that (at most 2 s). */
async function settled(baseline: { resources: number; fds: number }): Promise<void> {
  const until = performance.now() + 2000;
  while (performance.now() < until) {
    if (resources() <= baseline.resources && openFds() <= baseline.fds) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

let dir = '';
let counter = 0;
const file = (name: string): string => path.join(dir, `${counter++}-${name}`);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenlet-ts-files-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

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

interface Fifo {
  path: string;
  fd: number;
}

/** A FIFO held open read-write (non-blocking) by the test: returns its path and that fd. */
function fifo(): Fifo {
  const p = file('fifo');
  execFileSync('mkfifo', [p]);
  return { path: p, fd: fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_NONBLOCK) };
}

/**
 * Let an aborted operation on the FIFO finish in the background, then close the test's end.
 * A byte makes the read in flight return, and the aborted operation closes its file
 * without reading again. The test's end stays open until then: an `open()` of the FIFO
 * that had not run yet (a loaded machine) would block forever without a writer.
 */
async function release(f: Fifo): Promise<void> {
  fs.writeSync(f.fd, '\n');
  await settled({ resources: baseline.resources, fds: Infinity });
  fs.closeSync(f.fd);
}

async function caughtBy<T>(body: () => SwitchOp<T>): Promise<unknown> {
  return runBounded(function* () {
    try {
      yield* body();
      return null;
    } catch (e) {
      return e;
    }
  });
}

describe('readFile, writeFile, appendFile', () => {
  it('reads back the bytes writeFile wrote', async () => {
    const p = file('bytes.bin');
    const data = Buffer.from([0, 1, 2, 250, 255]);
    const back = await runBounded(function* () {
      yield* writeFile(p, data);
      return yield* readFile(p);
    });
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.equals(data)).toBe(true);
  });

  it('reads a string with an encoding, given as an option or alone', async () => {
    const p = file('text.txt');
    const [a, b] = await runBounded(function* () {
      yield* writeFile(p, 'héllo\n');
      return [yield* readFile(p, 'utf8'), yield* readFile(p, { encoding: 'latin1' })];
    });
    expect(a).toBe('héllo\n');
    expect(b).toBe(Buffer.from('héllo\n').toString('latin1'));
  });

  it('replaces the contents on writeFile and adds to them on appendFile', async () => {
    const p = file('log.txt');
    const text = await runBounded(function* () {
      yield* writeFile(p, 'old\n');
      yield* writeFile(p, 'one\n');
      yield* appendFile(p, 'two\n');
      yield* appendFile(p, Buffer.from('three\n'));
      return yield* readFile(p, 'utf8');
    });
    expect(text).toBe('one\ntwo\nthree\n');
  });

  it('creates the file on appendFile when it does not exist', async () => {
    const p = file('new.log');
    await runBounded(() => appendFile(p, 'first\n'));
    expect(fs.readFileSync(p, 'utf8')).toBe('first\n');
  });

  it('raises the fs error ENOENT for a missing file', async () => {
    const p = file('missing.txt');
    const e = (await caughtBy(() => readFile(p))) as NodeJS.ErrnoException;
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ENOENT');
    expect(e.path).toBe(p);
  });

  it("raises EEXIST from writeFile with the 'wx' flag when the file exists, and leaves it alone", async () => {
    const p = file('exists.txt');
    fs.writeFileSync(p, 'keep');
    const e = (await caughtBy(() => writeFile(p, 'new', { flag: 'wx' }))) as NodeJS.ErrnoException;
    expect(e.code).toBe('EEXIST');
    expect(fs.readFileSync(p, 'utf8')).toBe('keep');
  });

  it('releases a task killed while readFile waits on a read that cannot be interrupted', async () => {
    const f = fifo();
    const outcome = await runBounded(function* () {
      let cleanedUp = false;
      const reader = spawn(function* () {
        try {
          return yield* readFile(f.path);
        } finally {
          cleanedUp = true;
        }
      });
      yield* sleep(0); // the read is in flight on the thread pool, blocked on the empty FIFO
      yield* reader.kill();
      return { cleanedUp, value: reader.value };
    });
    expect(outcome.cleanedUp).toBe(true);
    expect(outcome.value).toBeInstanceOf(GreenletExit);
    await release(f);
  });

  it('raises FileTimeout, a Timeout, when readFile does not finish within its timeout', async () => {
    const f = fifo();
    const e = await caughtBy(() => readFile(f.path, { timeout: 50 }));
    expect(e).toBeInstanceOf(FileTimeout);
    expect(e).toBeInstanceOf(Timeout);
    expect((e as FileTimeout).operation).toBe('readFile');
    expect((e as FileTimeout).path).toBe(f.path);
    expect((e as FileTimeout).message).toMatch(/^readFile\(.*fifo\) did not finish within 50 ms and was aborted/);
    await release(f);
  });

  it('releases a task killed while writeFile is blocked on a full FIFO, and stops writing', async () => {
    const f = fifo();
    const data = Buffer.alloc(2 * 1024 * 1024, 'w');
    const outcome = await runBounded(function* () {
      const writer = spawn(() => writeFile(f.path, data));
      yield* sleep(0);
      yield* writer.kill();
      return writer.value;
    });
    expect(outcome).toBeInstanceOf(GreenletExit);
    // Drain the FIFO until the write in flight returns; writeFile then sees its signal and
    // stops before writing the rest.
    const sink = Buffer.alloc(64 * 1024);
    let drained = 0;
    for (let turn = 0; turn < 2000 && resources() > baseline.resources; turn++) {
      try {
        drained += fs.readSync(f.fd, sink);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(resources()).toBeLessThanOrEqual(baseline.resources);
    expect(drained).toBeLessThan(data.length);
    fs.closeSync(f.fd);
  });
});

describe('copyFile', () => {
  it('copies the contents and the permission bits', async () => {
    const from = file('source.bin');
    const to = file('copy.bin');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    fs.writeFileSync(from, data);
    fs.chmodSync(from, 0o640);
    await runBounded(() => copyFile(from, to));
    expect(fs.readFileSync(to).equals(data)).toBe(true);
    expect(fs.statSync(to).mode & 0o777).toBe(0o640);
  });

  it('raises ENOENT for a missing source and leaves the destination untouched', async () => {
    const to = file('untouched.txt');
    fs.writeFileSync(to, 'keep');
    const e = (await caughtBy(() => copyFile(file('missing'), to))) as NodeJS.ErrnoException;
    expect(e.code).toBe('ENOENT');
    expect(fs.readFileSync(to, 'utf8')).toBe('keep');
  });

  it('raises EEXIST with exclusive when the destination exists, and leaves it untouched', async () => {
    const from = file('source.txt');
    const to = file('taken.txt');
    fs.writeFileSync(from, 'new');
    fs.writeFileSync(to, 'keep');
    const e = (await caughtBy(() => copyFile(from, to, { exclusive: true }))) as NodeJS.ErrnoException;
    expect(e.code).toBe('EEXIST');
    expect(fs.readFileSync(to, 'utf8')).toBe('keep');
  });

  it('removes the partial destination when the task is killed mid-copy', async () => {
    const f = fifo();
    const to = file('partial.txt');
    fs.writeSync(f.fd, 'the first chunk');
    const outcome = await runBounded(function* () {
      const copier = spawn(() => copyFile(f.path, to));
      // Wait until the first chunk has reached the destination: the copy is under way.
      yield* until(() => fs.existsSync(to) && fs.statSync(to).size === 15);
      const copiedBeforeKill = fs.readFileSync(to, 'utf8');
      yield* copier.kill();
      return { copiedBeforeKill, value: copier.value, exists: fs.existsSync(to) };
    });
    expect(outcome.copiedBeforeKill).toBe('the first chunk');
    expect(outcome.value).toBeInstanceOf(GreenletExit);
    expect(outcome.exists).toBe(false);
    await release(f);
  });

  it('raises FileTimeout and removes the partial destination when the copy times out', async () => {
    const f = fifo();
    const to = file('timed-out.txt');
    const e = await caughtBy(() => copyFile(f.path, to, { timeout: 50 }));
    expect(e).toBeInstanceOf(FileTimeout);
    expect((e as FileTimeout).operation).toBe('copyFile');
    expect(fs.existsSync(to)).toBe(false);
    await release(f);
  });
});

describe('readLines and openReader', () => {
  it('calls fn with every line, without its newline or carriage return, and counts them', async () => {
    const p = file('lines.txt');
    fs.writeFileSync(p, 'alpha\nbeta\r\n\ngamma');
    const lines: string[] = [];
    const n = await runBounded(() => readLines(p, (line) => lines.push(line)));
    expect(lines).toEqual(['alpha', 'beta', '', 'gamma']);
    expect(n).toBe(4);
  });

  it('joins lines split across chunks', async () => {
    const p = file('split.txt');
    fs.writeFileSync(p, 'a line that spans chunks\nnext\né\n');
    const lines: string[] = [];
    await runBounded(() => readLines(p, (line) => lines.push(line), { highWaterMark: 3 }));
    expect(lines).toEqual(['a line that spans chunks', 'next', 'é']);
  });

  it('reads nothing from an empty file', async () => {
    const p = file('empty.txt');
    fs.writeFileSync(p, '');
    expect(await runBounded(() => readLines(p, () => expect.fail('no line expected')))).toBe(0);
  });

  it('streams a 30 MB file line by line in bounded memory', async () => {
    const p = file('big.txt');
    const fd = fs.openSync(p, 'w');
    const lineCount = 400_000;
    const pad = 'x'.repeat(70);
    let expectedSum = 0;
    for (let i = 0; i < lineCount; i += 10_000) {
      let block = '';
      for (let j = i; j < i + 10_000; j++) {
        block += `${j} ${pad}\n`;
        expectedSum += j;
      }
      fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
    const size = fs.statSync(p).size;
    expect(size).toBeGreaterThan(30_000_000);

    const gc = (globalThis as { gc?: () => void }).gc as () => void;
    const memory = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = memory();
    let peak = 0;
    let sum = 0;
    let lines = 0;
    await runBounded(() =>
      readLines(p, (line) => {
        sum += Number.parseInt(line, 10);
        if (++lines % 50_000 === 0) peak = Math.max(peak, memory() - before);
      }),
    );
    expect(lines).toBe(lineCount);
    expect(sum).toBe(expectedSum);
    expect(peak).toBeLessThan(8 * 1024 * 1024); // a quarter of the file, and far more than a chunk
    fs.rmSync(p);
  });

  it('reads no faster than a blocking fn consumes (back-pressure)', async () => {
    const p = file('queued.txt');
    fs.writeFileSync(p, Array.from({ length: 1000 }, (_, i) => `row ${i}`).join('\n'));
    const received = await runBounded(function* () {
      const queue = new Queue<string>(1);
      const consumer = spawn(function* () {
        const got: string[] = [];
        for (let item; (item = yield* queue.get()) !== 'end'; ) got.push(item);
        return got;
      });
      yield* readLines(p, function* (line) {
        yield* queue.put(line);
      });
      yield* queue.put('end');
      return yield* consumer.get();
    });
    expect(received.length).toBe(1000);
    expect(received[999]).toBe('row 999');
  });

  it('raises the fs error ENOENT for a missing file', async () => {
    const e = (await caughtBy(() => readLines(file('missing'), () => {}))) as NodeJS.ErrnoException;
    expect(e.code).toBe('ENOENT');
  });

  it("raises fn's error and closes the file", async () => {
    const p = file('fails.txt');
    fs.writeFileSync(p, 'one\ntwo\nthree\n');
    const boom = new Error('bad row');
    const e = await caughtBy(() =>
      readLines(p, (line) => {
        if (line === 'two') throw boom;
      }),
    );
    expect(e).toBe(boom);
  });

  it('raises a TypeError when fn returns a promise', async () => {
    const p = file('async.txt');
    fs.writeFileSync(p, 'one\n');
    const e = await caughtBy(() => readLines(p, () => Promise.resolve()));
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toMatch(/make it a generator function/);
  });

  it('closes the file when the task is killed while it waits for the next line', async () => {
    const f = fifo();
    fs.writeSync(f.fd, 'first\n');
    const outcome = await runBounded(function* () {
      const lines: string[] = [];
      const gotFirst = new Event();
      let cleanedUp = false;
      const reader = spawn(function* () {
        try {
          yield* readLines(f.path, (line) => {
            lines.push(line);
            gotFirst.set();
          });
        } finally {
          cleanedUp = true;
        }
      });
      yield* gotFirst.wait();
      yield* sleep(0); // back in readLines, waiting for a line that will not come
      yield* reader.kill();
      return { lines, cleanedUp, value: reader.value };
    });
    expect(outcome.lines).toEqual(['first']);
    expect(outcome.cleanedUp).toBe(true);
    expect(outcome.value).toBeInstanceOf(GreenletExit);
    await release(f);
  });

  it('raises FileTimeout when readLines does not finish within its timeout', async () => {
    // The two lines are read within a few ms idle, but not always within 50 ms on a loaded
    // machine (load 31, 2 cores): a run whose timeout struck before both were read is
    // repeated with ten times the timeout; the last is asserted whatever it read.
    const timeouts = [50, 500, 5000];
    for (const timeout of timeouts) {
      const f = fifo();
      fs.writeSync(f.fd, 'one\ntwo\n');
      const lines: string[] = [];
      const e = await caughtBy(() => readLines(f.path, (line) => lines.push(line), { timeout }));
      await release(f);
      if (e instanceof FileTimeout && lines.length < 2 && timeout !== timeouts.at(-1)) continue;
      expect(e).toBeInstanceOf(FileTimeout);
      expect((e as FileTimeout).operation).toBe('readLines');
      expect(lines).toEqual(['one', 'two']);
      return;
    }
  });

  it('raises LineTooLong for a line longer than maxLineLength, and keeps its bytes for read()', async () => {
    const p = file('long.txt');
    fs.writeFileSync(p, `short\n${'y'.repeat(100)}\n`);
    const outcome = await runBounded(function* () {
      using reader = openReader(p, { maxLineLength: 50, highWaterMark: 16 });
      const first = yield* reader.readLine();
      let caught: unknown = null;
      try {
        yield* reader.readLine();
      } catch (e) {
        caught = e;
      }
      let rest = '';
      for (let chunk; (chunk = yield* reader.read()) !== DONE; ) rest += chunk.toString();
      return { first, caught, rest };
    });
    expect(outcome.first).toBe('short');
    expect(outcome.caught).toBeInstanceOf(LineTooLong);
    expect((outcome.caught as LineTooLong).maxLength).toBe(50);
    expect(outcome.rest).toBe(`${'y'.repeat(100)}\n`);
  });

  it('reads a byte range by chunks with openReader', async () => {
    const p = file('range.txt');
    fs.writeFileSync(p, '0123456789');
    const text = await runBounded(function* () {
      using reader = openReader(p, { start: 2, end: 5, highWaterMark: 2 });
      const chunks: string[] = [];
      for (let chunk; (chunk = yield* reader.read()) !== DONE; ) chunks.push(chunk.toString());
      return chunks;
    });
    expect(text).toEqual(['23', '45']);
  });

  it('keeps reading after a Timeout struck while it waited, losing nothing', async () => {
    const f = fifo();
    fs.writeSync(f.fd, 'par');
    const lines = await runBounded(function* () {
      using reader = openReader(f.path);
      let timedOut = false;
      try {
        yield* waitFor(Promise.resolve()); // a blocking call before, as in real code
        const t = Timeout.startNew(50);
        try {
          yield* reader.readLine();
        } finally {
          t.cancel();
        }
      } catch (e) {
        if (!(e instanceof Timeout)) throw e;
        timedOut = true;
      }
      fs.writeSync(f.fd, 'tial\nnext\n');
      return [timedOut, yield* reader.readLine(), yield* reader.readLine()];
    });
    expect(lines).toEqual([true, 'partial', 'next']);
    await release(f);
  });
});
