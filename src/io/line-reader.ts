/**
 * `LineReader`: a task reads a byte stream (a file, a child's stdout) by chunks or by
 * lines, with the stream's back-pressure intact. It sits on interop's `iterate()`, which
 * pulls one chunk at a time and destroys the stream when the reading task is killed.
 *
 * How it works. The reader holds at most one chunk taken from the source (`chunk`, read
 * from `offset` on) and the pieces of a line that began in earlier chunks (`partial`). A
 * line found in the chunk at hand is returned without parking; only when the chunk has no
 * newline left does the reader ask the source for the next one. So the bytes taken from
 * the source and not yet handed out are the current line (at most `maxLineLength`) plus
 * one chunk, whatever the size of the source: a paused stream fills to its highWaterMark
 * and stops.
 *
 * Invariants:
 * - `partialLength` is the total length of `partial`, and never exceeds `maxLineLength`;
 * - `chunk` is null or has bytes left after `offset`;
 * - an operation that raises (a `LineTooLong`, a Timeout while waiting for the source)
 *   leaves what it has read in the reader: the next call sees the same bytes. Only a kill
 *   while waiting closes the reader (iterate's rule), and then nothing more is read.
 *
 * Coming from gevent: `sock.makefile().readline()` keeps the `\n`; `readLine()` strips it
 * (and a `\r` before it), like Node's `readline`, and gives `DONE` at the end instead of
 * an empty string.
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import type { SwitchOp } from '../core/switcher.js';
import { blockingOperation } from '../hub/hub.js';
import { DONE, iterate, type AsyncIterableReader, type Done } from '../interop/iterate.js';

/** Encodings in which a `\n` byte is always a newline, so lines can be cut on bytes. */
export type LineEncoding = 'utf8' | 'utf-8' | 'latin1' | 'binary' | 'ascii';

/** Options of {@link LineReader}. */
export interface LineReaderOptions {
  /**
   * The longest line (in bytes, without its newline) that `readLine()` accepts; a longer
   * one raises {@link LineTooLong}. This bounds the memory a line without an end can take.
   * Default 1 MiB; `Infinity` for no limit.
   */
  maxLineLength?: number;
  /** How lines are decoded. Default `'utf8'`. */
  encoding?: LineEncoding;
}

/** The default of {@link LineReaderOptions.maxLineLength}: 1 MiB. */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/**
 * A line is longer than the reader's `maxLineLength`. The reader is unchanged: the
 * bytes of the line are still in it, and `read()` hands them out raw.
 *
 * ```ts
 * try {
 *   line = yield* reader.readLine();
 * } catch (e) {
 *   if (!(e instanceof LineTooLong)) throw e;
 *   reader.close(); // or raise maxLineLength, or take the bytes with read()
 * }
 * ```
 */
export class LineTooLong extends Error {
  constructor(
    /** The limit that was exceeded, in bytes. */
    readonly maxLength: number,
    message = `a line is longer than ${maxLength} bytes (maxLineLength) and has no newline within the limit: ` +
      'pass a larger maxLineLength (Infinity for none), or read the bytes with read()',
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'LineTooLong';
  }
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const EMPTY = Buffer.alloc(0);

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`a LineReader reads bytes (Buffer, Uint8Array or string chunks), and got ${typeof chunk}`);
}

/**
 * Reads a byte stream from a task, by chunks (`read()`) or lines (`readLine()`). Made by
 * `openReader(path)` for files and found as `child.stdout` / `child.stderr` of a
 * `spawnProcess` handle; `new LineReader(stream)` wraps any Node `Readable` or async
 * iterable of bytes.
 *
 * ```ts
 * using reader = new LineReader(socketOrStream);
 * for (let line; (line = yield* reader.readLine()) !== DONE; ) {
 *   console.log(line);
 * }
 * ```
 *
 * One task reads at a time. If the reading task is killed while it waits for data, the
 * reader is closed and the stream destroyed; a `Timeout` leaves it open, losing nothing.
 */
export class LineReader implements Disposable {
  readonly #source: AsyncIterableReader<unknown>;
  readonly #maxLineLength: number;
  readonly #encoding: LineEncoding;
  #chunk: Buffer | null = null;
  #offset = 0;
  #partial: Buffer[] = [];
  #partialLength = 0;
  #bytesRead = 0;
  #ended = false;

  constructor(source: AsyncIterable<unknown>, options?: LineReaderOptions) {
    const max = options?.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    if (!(max > 0)) throw new RangeError(`maxLineLength must be a positive number of bytes, not ${max}`);
    this.#maxLineLength = max;
    this.#encoding = options?.encoding ?? 'utf8';
    this.#source = iterate(source);
  }

  /** Bytes taken from the source so far (handed out or still held by the reader). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes taken from the source and not handed out yet: at most a line and a chunk. */
  get buffered(): number {
    return this.#partialLength + (this.#chunk === null ? 0 : this.#chunk.length - this.#offset);
  }

  /** True once the source has ended (and everything was handed out), failed, or the reader was closed. */
  get closed(): boolean {
    return this.#source.closed && this.buffered === 0;
  }

  /**
   * The next bytes: what the reader holds, else the source's next chunk, waiting for it
   * if needed; {@link DONE} at the end. Inside a task: `const chunk = yield* reader.read()`.
   * Raises the source's error (an fs error such as `ENOENT`).
   */
  read(): SwitchOp<Buffer | Done> {
    return lazy(READ, this, undefined, undefined);
  }

  /** @internal Performs {@link LineReader.read}. */
  *performRead(): GreenletBody<Buffer | Done> {
    if (this.#partialLength !== 0) {
      const pieces = this.#partial;
      if (this.#chunk !== null) pieces.push(this.#chunk.subarray(this.#offset));
      this.#partial = [];
      this.#partialLength = 0;
      this.#chunk = null;
      return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    }
    if (this.#chunk !== null) {
      const rest = this.#chunk.subarray(this.#offset);
      this.#chunk = null;
      return rest;
    }
    return yield* this.#next();
  }

  /**
   * The next line, without its `\n` (or `\r\n`), decoded; the last line of the source
   * need not end with a newline; {@link DONE} after it. Inside a task:
   * `const line = yield* reader.readLine()`.
   *
   * A line that is already buffered is returned without waiting. Raises
   * {@link LineTooLong} for a line longer than `maxLineLength` (the reader is unchanged),
   * and the source's error if it fails.
   */
  readLine(): SwitchOp<string | Done> {
    return lazy(READ_LINE, this, undefined, undefined);
  }

  /** @internal Performs {@link LineReader.readLine}. */
  *performReadLine(): GreenletBody<string | Done> {
    const max = this.#maxLineLength;
    for (;;) {
      const chunk = this.#chunk;
      if (chunk !== null) {
        const start = this.#offset;
        const nl = chunk.indexOf(NEWLINE, start);
        if (nl !== -1) {
          if (this.#partialLength + (nl - start) > max) throw new LineTooLong(max);
          let line: Buffer;
          if (this.#partialLength === 0) {
            line = chunk.subarray(start, nl);
          } else {
            this.#partial.push(chunk.subarray(start, nl));
            line = Buffer.concat(this.#partial);
            this.#partial = [];
            this.#partialLength = 0;
          }
          if (nl + 1 === chunk.length) this.#chunk = null;
          else this.#offset = nl + 1;
          return this.#decode(line);
        }
        const rest = chunk.length - start;
        if (this.#partialLength + rest > max) throw new LineTooLong(max);
        this.#partial.push(start === 0 ? chunk : chunk.subarray(start));
        this.#partialLength += rest;
        this.#chunk = null;
      }
      if (this.#ended) return this.#takeLastLine();
      const next = yield* this.#next();
      if (next === DONE) return this.#takeLastLine();
      this.#chunk = next;
      this.#offset = 0;
    }
  }

  /** The source's next non-empty chunk, or DONE. */
  *#next(): GreenletBody<Buffer | Done> {
    if (this.#ended) return DONE;
    for (;;) {
      const item = yield* this.#source.next();
      if (item === DONE) {
        this.#ended = true;
        return DONE;
      }
      const chunk = toBuffer(item);
      if (chunk.length === 0) continue;
      this.#bytesRead += chunk.length;
      return chunk;
    }
  }

  /** The source has ended: what is left is the last line (without a newline), or DONE. */
  #takeLastLine(): string | Done {
    if (this.#partialLength === 0) return DONE;
    const line = this.#partial.length === 1 ? (this.#partial[0] as Buffer) : Buffer.concat(this.#partial);
    this.#partial = [];
    this.#partialLength = 0;
    return this.#decode(line);
  }

  #decode(line: Buffer): string {
    const end = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN ? line.length - 1 : line.length;
    return (end === line.length ? line : end === 0 ? EMPTY : line.subarray(0, end)).toString(this.#encoding);
  }

  /**
   * Stop reading: destroy the stream if it has not ended and drop what the reader holds.
   * Does not block; safe to call more than once.
   */
  close(): void {
    this.#source.close();
    this.#chunk = null;
    this.#partial = [];
    this.#partialLength = 0;
    this.#ended = true;
  }

  /** `using reader = ...` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }
}

const READ = blockingOperation<LineReader, undefined, undefined, Buffer | Done>('reader.read()', (reader) => reader.performRead());
const READ_LINE = blockingOperation<LineReader, undefined, undefined, string | Done>('reader.readLine()', (reader) =>
  reader.performReadLine(),
);
