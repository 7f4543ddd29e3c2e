/**
 * Files from tasks, on `node:fs/promises` and `node:fs` streams: whole-file reads and
 * writes, line-by-line streaming with back-pressure, and copies, each one stopped when the
 * calling task is killed or its `timeout` passes.
 *
 * What can be interrupted. Node runs file I/O on its thread pool, one system call at a
 * time, and a system call in progress cannot be called back: a `read()` from a FIFO
 * nobody writes, or from a hung network mount, runs until the kernel returns. So:
 * - the task is released at once: the kill or the timeout is raised where it waits, and
 *   its `finally` blocks run, whatever the thread pool is still doing;
 * - the operation stops at its next step: `readFile` / `writeFile` / `appendFile` check
 *   their AbortSignal between chunks (of 512 KiB), a stream is destroyed between chunks
 *   (of `highWaterMark` bytes, 64 KiB), and a copy is cut between chunks and its partial
 *   destination removed. The call in flight, and the closing of the file after it, finish
 *   in the background; nothing waits for them.
 * - an `open()` of a FIFO with no writer blocks its thread until one comes; do not point
 *   these functions at a FIFO unless something writes to it.
 *
 * Invariants: every file handle these functions open is closed, on every path (a handle
 * whose `open()` completes after the task left is closed when it arrives); an aborted
 * `copyFile` leaves no destination file behind; a timeout is raised as {@link FileTimeout},
 * which is a `Timeout`.
 *
 * Coming from gevent: gevent runs file I/O on a thread pool too (`gevent.fileobject`),
 * where it cannot be interrupted either; a killed greenlet waits for the call to return.
 * Here the task does not wait.
 *
 * @module
 */
import fs, { type PathLike } from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { call } from '../core/call.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import type { SwitchOp, SwitchSignal } from '../core/switcher.js';
import { blockingOperation, currentTask } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { once } from '../interop/events.js';
import { DONE, type Done } from '../interop/iterate.js';
import { waitFor } from '../interop/wait.js';
import { LineReader, type LineEncoding } from './line-reader.js';

/**
 * A file operation did not finish within its `timeout`: it was aborted (between chunks:
 * see the module notes) and this is raised in the task. A {@link Timeout}, so
 * `catch (e) { if (e instanceof Timeout) ... }` catches it too.
 *
 * ```ts
 * try {
 *   config = yield* readFile('/mnt/share/config.json', { encoding: 'utf8', timeout: 2000 });
 * } catch (e) {
 *   if (!(e instanceof FileTimeout)) throw e;
 *   config = DEFAULT_CONFIG;
 * }
 * ```
 */
export class FileTimeout extends Timeout {
  constructor(
    /** The operation that timed out: `'readFile'`, `'copyFile'`... */
    readonly operation: string,
    /** The file it worked on. */
    readonly path: string,
    ms: number,
  ) {
    super(ms);
    this.message =
      `${operation}(${path}) did not finish within ${ms} ms and was aborted. A file that never ends ` +
      '(a FIFO, a device) or a hung mount never finishes: check the path, or pass a larger timeout';
  }

  static {
    this.prototype.name = 'FileTimeout';
  }
}

/** The `timeout` every operation takes. */
export interface FileTimeoutOption {
  /** Abort the operation and raise {@link FileTimeout} after this many milliseconds. */
  timeout?: number;
}

/** Options of {@link readFile}. */
export interface ReadFileOptions extends FileTimeoutOption {
  /** Decode the contents to a string. Default: a Buffer. */
  encoding?: BufferEncoding | null;
  /** The `open()` flag. Default `'r'`. */
  flag?: string;
}

/** Options of {@link writeFile} and {@link appendFile}. */
export interface WriteFileOptions extends FileTimeoutOption {
  /** How a string is encoded. Default `'utf8'`. */
  encoding?: BufferEncoding;
  /** The mode of a file that is created. Default `0o666` (minus the umask). */
  mode?: number;
  /** The `open()` flag. Default `'w'` (`'a'` for appendFile); `'wx'` fails if the file exists. */
  flag?: string;
}

/** Options of {@link copyFile}. */
export interface CopyFileOptions extends FileTimeoutOption {
  /** Fail with `EEXIST` if the destination exists. Default false: it is replaced. */
  exclusive?: boolean;
}

/** Options of {@link openReader}. */
export interface OpenReaderOptions {
  /** How lines are decoded. Default `'utf8'`. */
  encoding?: LineEncoding;
  /** The longest line `readLine()` accepts, in bytes. Default 1 MiB. */
  maxLineLength?: number;
  /** The size of the chunks read from the file. Default 64 KiB. */
  highWaterMark?: number;
  /** The first byte to read. Default 0. */
  start?: number;
  /** The last byte to read (inclusive). Default: to the end. */
  end?: number;
}

/** Options of {@link readLines}. */
export interface ReadLinesOptions extends OpenReaderOptions, FileTimeoutOption {}

function describePath(path: PathLike | FileHandle): string {
  if (typeof path === 'string') return path;
  if (path instanceof URL) return path.href;
  if (Buffer.isBuffer(path)) return path.toString();
  return `fd ${(path as FileHandle).fd}`;
}

/** Run `operation(signal)` in the current task under an optional FileTimeout. */
function* abortable<T>(
  name: string,
  path: PathLike,
  timeout: number | undefined,
  operation: (signal: AbortSignal) => Promise<T>,
): GreenletBody<T> {
  currentTask(`${name}()`);
  const deadline = timeout === undefined ? null : new FileTimeout(name, describePath(path), timeout).start();
  try {
    return yield* waitFor(operation);
  } finally {
    deadline?.cancel();
  }
}

/**
 * Read a whole file: a Buffer, or a string with an encoding. Errors are the fs errors
 * (`ENOENT`, `EISDIR`...). Killing the task, or `timeout`, aborts the read between chunks.
 *
 * ```ts
 * const bytes = yield* readFile('image.png');
 * const text = yield* readFile('notes.txt', 'utf8');
 * const config = JSON.parse(yield* readFile('config.json', { encoding: 'utf8', timeout: 1000 }));
 * ```
 */
export function readFile(path: PathLike, options?: (ReadFileOptions & { encoding?: null }) | null): SwitchOp<Buffer>;
export function readFile(path: PathLike, options: BufferEncoding | (ReadFileOptions & { encoding: BufferEncoding })): SwitchOp<string>;
export function readFile(path: PathLike, options?: BufferEncoding | ReadFileOptions | null): SwitchOp<Buffer | string>;
export function readFile(path: PathLike, options?: BufferEncoding | ReadFileOptions | null): SwitchOp<Buffer | string> {
  return lazy(READ_FILE, path, options, undefined);
}

const READ_FILE = blockingOperation<PathLike, BufferEncoding | ReadFileOptions | null | undefined, undefined, Buffer | string>(
  'readFile()',
  (path, options) => {
    const opts: ReadFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
    return abortable('readFile', path, opts.timeout, (signal) =>
      fsp.readFile(path, { encoding: opts.encoding ?? null, flag: opts.flag, signal }),
    );
  },
);

/**
 * Write `data` to a file, replacing it (or creating it). Killing the task, or `timeout`,
 * aborts the write between chunks, which leaves the file partly written.
 *
 * ```ts
 * yield* writeFile('out.json', JSON.stringify(result));
 * yield* writeFile('new.txt', 'hello\n', { flag: 'wx' }); // EEXIST if it exists
 * ```
 */
export function writeFile(path: PathLike, data: string | Uint8Array, options?: WriteFileOptions | BufferEncoding): SwitchOp<void> {
  return lazy(WRITE_FILE, path, data, options);
}

const WRITE_FILE = blockingOperation<PathLike, string | Uint8Array, WriteFileOptions | BufferEncoding | undefined, void>(
  'writeFile()',
  (path, data, options) => writing('writeFile', 'w', path, data, options),
);

/** writeFile and appendFile: fsp.appendFile is writeFile with the 'a' flag; writeFile is the one that documents `signal`. */
function writing(
  name: string,
  flag: string,
  path: PathLike,
  data: string | Uint8Array,
  options: WriteFileOptions | BufferEncoding | undefined,
): GreenletBody<void> {
  const opts: WriteFileOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
  return abortable(name, path, opts.timeout, (signal) =>
    fsp.writeFile(path, data, { encoding: opts.encoding, mode: opts.mode, flag: opts.flag ?? flag, signal }),
  );
}

/**
 * Append `data` to a file, creating it if needed. Aborted like {@link writeFile}.
 *
 * ```ts
 * yield* appendFile('app.log', `${new Date().toISOString()} started\n`);
 * ```
 */
export function appendFile(path: PathLike, data: string | Uint8Array, options?: WriteFileOptions | BufferEncoding): SwitchOp<void> {
  return lazy(APPEND_FILE, path, data, options);
}

const APPEND_FILE = blockingOperation<PathLike, string | Uint8Array, WriteFileOptions | BufferEncoding | undefined, void>(
  'appendFile()',
  (path, data, options) => writing('appendFile', 'a', path, data, options),
);

/**
 * Open `path` for reading and evaluate to its handle, closing a handle that arrives after
 * the task has left the wait.
 */
function* openHandle(path: PathLike, flags: string): GreenletBody<FileHandle> {
  const opening = fsp.open(path, flags);
  try {
    return yield* waitFor(opening);
  } catch (error) {
    opening.then((handle) => handle.close(), ignore).then(undefined, ignore);
    throw error;
  }
}

function ignore(): void {}

/**
 * Copy the file `source` to `destination`, in chunks, keeping its permission bits.
 * Killing the task, or `timeout`, stops the copy between chunks and removes the partial
 * destination before the error goes on. Errors are the fs errors; a missing source
 * (`ENOENT`) leaves the destination untouched.
 *
 * ```ts
 * yield* copyFile('data.db', 'data.db.bak', { timeout: 30_000 });
 * ```
 *
 * It copies through the process (a stream pipeline) so that it can stop between chunks;
 * `fs.promises.copyFile` would be one system call (faster, copy-on-write where the file
 * system offers it) that nothing can stop.
 */
export function copyFile(source: PathLike, destination: PathLike, options: CopyFileOptions = {}): SwitchOp<void> {
  return lazy(COPY_FILE, source, destination, options);
}

const COPY_FILE = blockingOperation<PathLike, PathLike, CopyFileOptions, void>('copyFile()', copying);

function* copying(source: PathLike, destination: PathLike, options: CopyFileOptions): GreenletBody<void> {
  currentTask('copyFile()');
  const deadline = options.timeout === undefined ? null : new FileTimeout('copyFile', describePath(source), options.timeout).start();
  let output: fs.WriteStream | null = null;
  let copied = false;
  try {
    const input = yield* openHandle(source, 'r');
    let streaming = false; // from then on the read stream owns the handle, and closes it
    try {
      const stat = yield* waitFor(input.stat());
      const out = fs.createWriteStream(destination, {
        flags: options.exclusive === true ? 'wx' : 'w',
        mode: stat.mode & 0o7777,
      });
      output = out;
      const reading = input.createReadStream();
      streaming = true;
      yield* waitFor((signal) => pipeline(reading, out, { signal }));
      copied = true;
    } finally {
      if (!streaming) yield* waitFor(input.close().then(undefined, ignore));
    }
  } finally {
    deadline?.cancel();
    if (!copied && output !== null) yield* removePartial(output, destination);
  }
}

/** After a copy failed or was aborted: wait until the destination is closed, then remove it. */
function* removePartial(output: fs.WriteStream, destination: PathLike): GreenletBody<void> {
  if (!output.destroyed) output.destroy();
  while (!output.closed) {
    try {
      yield* once(output, 'close');
    } catch {
      // An 'error' came first; 'close' follows.
    }
  }
  // An exclusive ('wx') open that found the file there: it is not ours to remove.
  if ((output.errored as NodeJS.ErrnoException | null)?.code === 'EEXIST') return;
  yield* waitFor(fsp.rm(destination, { force: true }).then(undefined, ignore));
}

/**
 * A {@link LineReader} over the file at `path`, read in chunks of `highWaterMark` bytes as
 * the task asks for them: `yield* reader.readLine()` (or `read()` for raw chunks). Opening
 * does not block; an fs error (`ENOENT`) is raised by the first read. Close it when done
 * (`using`, or `finally`); if the task is killed while it waits for a chunk, the file is
 * closed (after the chunk being read, if any: a read in flight cannot be stopped).
 *
 * ```ts
 * using reader = openReader('access.log');
 * let errors = 0;
 * for (let line; (line = yield* reader.readLine()) !== DONE; ) {
 *   if (line.includes(' 500 ')) errors++;
 * }
 * ```
 */
export function openReader(path: PathLike, options: OpenReaderOptions = {}): LineReader {
  const stream = fs.createReadStream(path, {
    highWaterMark: options.highWaterMark,
    start: options.start,
    end: options.end,
  });
  return new LineReader(stream, { encoding: options.encoding, maxLineLength: options.maxLineLength });
}

/**
 * Call `fn(line)` for every line of the file at `path`, in order, and evaluate to the
 * number of lines. The file is read a chunk at a time, only as fast as `fn` returns, so
 * memory stays bounded (a line plus a chunk) whatever the file's size. `fn` may be a
 * generator function that blocks (`yield*`); its returning a promise is an error (write a
 * generator and `yield* waitFor(...)`). Lines lose their `\n` / `\r\n`.
 *
 * ```ts
 * const n = yield* readLines('users.csv', function* (line) {
 *   yield* queue.put(line.split(','));
 * });
 * ```
 *
 * If `fn` raises, the task is killed or `timeout` passes, the file is closed and the error
 * goes on (a {@link FileTimeout} for the timeout).
 */
export function readLines(
  path: PathLike,
  fn: (line: string) => Generator<SwitchSignal, unknown, unknown> | unknown,
  options: ReadLinesOptions = {},
): SwitchOp<number> {
  if (typeof fn !== 'function') throw new TypeError(`readLines() takes a function to call with each line, not ${typeof fn}`);
  return lazy(READ_LINES, path, fn, options);
}

const READ_LINES = blockingOperation<PathLike, (line: string) => unknown, ReadLinesOptions, number>('readLines()', readingLines);

function* readingLines(path: PathLike, fn: (line: string) => unknown, options: ReadLinesOptions): GreenletBody<number> {
  currentTask('readLines()');
  const deadline = options.timeout === undefined ? null : new FileTimeout('readLines', describePath(path), options.timeout).start();
  const reader = openReader(path, options);
  let count = 0;
  try {
    for (let line: string | Done; (line = yield* reader.performReadLine()) !== DONE; ) {
      const result: unknown = yield* call(fn, line);
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        throw new TypeError(
          "readLines()'s callback returned a promise, which would run unsupervised: make it a generator " +
            'function and wait inside it with `yield* waitFor(promise)`',
        );
      }
      count++;
    }
    return count;
  } finally {
    deadline?.cancel();
    reader.close();
  }
}
