/**
 * `Socket`: a TCP (or TLS) connection that tasks read and write with blocking calls, on
 * top of `node:net` / `node:tls`; `connect()` opens one; and the errors they raise
 * (`SocketTimeout`, `ConnectionReset`, `SocketClosed`, `IncompleteRead`, `LineTooLong`).
 * gevent's `gevent.socket` with asyncio's `StreamReader` reading methods.
 *
 * How reading works. The socket listens to Node's `'data'` events and appends each chunk
 * to its own buffer (a list of chunks). A read takes what it needs from the buffer at
 * once if it can; otherwise the reading task parks on the socket's read side, and every
 * event that may change the answer (a chunk, the end of the stream, an error, the close)
 * wakes it to look again. Nothing is handed to a task in a wake value, so a task woken
 * and then killed leaves the bytes in the buffer for the next read: none is ever lost.
 *
 * Memory is bounded by pausing the Node socket: when the buffer holds `highWaterMark`
 * bytes or more and no task is waiting to read, the socket is paused (the kernel's
 * receive window then pushes back on the sender); it resumes as soon as a task parks to
 * read or a read brings the buffer under the mark. A read that needs more than the mark
 * (a long line, `readExactly(n)` with a large `n`) lets the buffer grow to what it needs,
 * and no further (`readLine` and `readUntil` are bounded by `maxLength`).
 *
 * How writing works. `yield* write()` hands the data to Node at once; while Node's buffer
 * is under its own high-water mark, that is all, and it returns without a switch.
 * When `write()` of `node:net` answers `false` the writing task parks until `'drain'`:
 * a peer that reads slowly slows the writer down (backpressure).
 *
 * Invariants:
 * - `buffered` is the sum of the lengths of `chunks`, and no chunk is empty;
 * - at most one task reads and one task writes at a time: `reader.owner` / `writer.owner`
 *   is the task inside a blocking read / write (from its first park to its return), and
 *   any other task calling a read (write) meanwhile gets a `GreenletError`;
 * - `reader.task` (`writer.task`) is non-null exactly while its owner is parked on the
 *   side and nobody has woken it; whoever wakes it clears it first;
 * - the Node socket is paused only when `reader.task` is null (a parked reader is always
 *   fed): `paused` implies that nobody waits to read;
 * - once `closed` (by `close()` or `destroy()`) every operation raises `SocketClosed`,
 *   and the buffer is empty;
 * - reads, writes and `connect` are lazy operations: the public method checks its
 *   arguments only, its perform (run by `yield*`) does everything else, so one made and
 *   dropped has read, written or opened nothing.
 *
 * Coming from gevent: `recv(n)` is `read(n)` and returns `null` (not `b''`) at the end
 * of the stream; `sendall` is `write`, which returns as soon as Node has the data (and
 * parks only for backpressure); `makefile().readline()` is `readLine()`, which strips
 * the line terminator and has a length limit; `settimeout(t)` becomes a per-operation
 * `timeout` (ms) and `setIdleTimeout(ms)`; `shutdown(SHUT_WR)` is `end()`. Errors are
 * named classes rather than `socket.error` with an errno.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import tls from 'node:tls';
import { GreenletError } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import {
  HOST_WAIT,
  blockingOperation,
  currentTask,
  getHub,
  park,
  wake,
  wakeThrow,
  type Parking,
  type Schedulable,
} from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { Timer, now } from '../hub/timers.js';
import { LineTooLong } from './line-reader.js';

export { LineTooLong };

// --- errors ------------------------------------------------------------------------------

/**
 * A socket operation waited too long: its own `timeout` passed, or the socket's idle
 * timeout (no data for that long). A subclass of the hub's {@link Timeout}, so
 * `e instanceof Timeout` catches it too. The socket stays usable after a per-operation
 * timeout; bytes that arrived meanwhile stay buffered for the next read.
 *
 * ```ts
 * try {
 *   const line = yield* socket.readLine({ timeout: 1000 });
 * } catch (e) {
 *   if (!(e instanceof SocketTimeout)) throw e;
 *   yield* socket.write('are you there?\n');
 * }
 * ```
 */
export class SocketTimeout extends Timeout {
  constructor(message: string, ms: number) {
    super(ms);
    this.message = message;
  }
  static {
    this.prototype.name = 'SocketTimeout';
  }
}

/**
 * The peer reset the connection (`ECONNRESET`), or the connection broke while we wrote
 * (`EPIPE`, `ECONNABORTED`). The connection is gone: close the socket. `code` is the
 * system error code and `cause` the error Node gave. A server ends a connection whose
 * handler lets it through without reporting it.
 *
 * ```ts
 * try {
 *   yield* socket.write(reply);
 * } catch (e) {
 *   if (!(e instanceof ConnectionReset)) throw e;
 *   console.log(`${socket} went away`);
 * }
 * ```
 */
export class ConnectionReset extends Error {
  /** `'ECONNRESET'`, `'EPIPE'` or `'ECONNABORTED'`. */
  readonly code: string;
  constructor(message: string, options: { code: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
  static {
    this.prototype.name = 'ConnectionReset';
  }
}

/**
 * The socket was closed (by `close()` or `destroy()`, here or in another task) before or
 * while the operation ran, or a write came after `end()`. Open a new connection.
 *
 * ```ts
 * const reader = spawn(function* () {
 *   try {
 *     for (;;) console.log(yield* socket.readLine());
 *   } catch (e) {
 *     if (!(e instanceof SocketClosed)) throw e; // another task closed the socket: done
 *   }
 * });
 * ```
 */
export class SocketClosed extends Error {
  constructor(message = 'the socket is closed', options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'SocketClosed';
  }
}

/**
 * The stream ended before `readExactly(n)` got its `n` bytes, or before `readUntil`
 * found its separator (asyncio's `IncompleteReadError`). `partial` holds the bytes that
 * did arrive; they are no longer in the socket's buffer.
 *
 * ```ts
 * try {
 *   const frame = yield* socket.readExactly(length);
 * } catch (e) {
 *   if (e instanceof IncompleteRead) console.log(`truncated: ${e.partial.length} of ${e.expected} bytes`);
 *   throw e;
 * }
 * ```
 */
export class IncompleteRead extends Error {
  constructor(
    message: string,
    /** The bytes read before the end of the stream. */
    readonly partial: Buffer,
    /** How many bytes were wanted (`readExactly`), or null (`readUntil`). */
    readonly expected: number | null,
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'IncompleteRead';
  }
}


// --- options -------------------------------------------------------------------------------

/** Options of a {@link Socket} (also accepted by {@link connect} and the servers). */
export interface SocketOptions {
  /**
   * Pause the Node socket when this many bytes are buffered and no task is reading
   * (default 64 KiB). Bounds the memory a fast sender can take.
   */
  highWaterMark?: number;
  /** Raise a {@link SocketTimeout} in a blocked operation after this many ms without traffic. */
  idleTimeout?: number;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends SocketOptions {
  /** Give up connecting after this many ms (a {@link SocketTimeout}). */
  timeout?: number;
  /** Connect with TLS, with these `tls.connect` options (`ca`, `servername`, `ALPNProtocols`...). */
  tls?: tls.ConnectionOptions;
  /** Disable Nagle's algorithm (default true: small writes go out at once). */
  noDelay?: boolean;
  /** Enable TCP keep-alive probes (default false). */
  keepAlive?: boolean;
}

/** The `timeout` option of an operation. */
export interface OperationOptions {
  /** Raise a {@link SocketTimeout} if the operation has not completed after this many ms. */
  timeout?: number;
}

/** Options of {@link Socket.readLine}. */
export interface ReadLineOptions extends OperationOptions {
  /** The most bytes a line may have, its terminator not counted (default 64 KiB). */
  maxLength?: number;
  /** How to decode the line (default `'utf8'`). */
  encoding?: BufferEncoding;
}

/** Options of {@link Socket.readUntil}. */
export interface ReadUntilOptions extends OperationOptions {
  /** The most bytes before the separator (default 64 KiB). */
  maxLength?: number;
}

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DEFAULT_MAX_LENGTH = 64 * 1024;
const DEFAULT_READ_SIZE = 64 * 1024;
const NEWLINE = Buffer.from('\n');
const CR = 0x0d;

/** What a read attempt answers when the buffer cannot satisfy it yet. */
const PENDING: unique symbol = Symbol('pending');
/** The wake value of a wait that timed out. */
const TIMED_OUT: unique symbol = Symbol('timed out');
/** How a park on a socket ended. */
const WOKEN = 0;
const BY_IDLE = 1;
const BY_DEADLINE = 2;

/** The two directions of a socket: who reads (writes) and who is parked doing so. */
class Side implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  /** The task parked on this side and not woken yet. */
  task: Schedulable | null = null;
  /** The task inside a blocking operation on this side. */
  owner: Schedulable | null = null;
  /** The operation, for reports: `readLine()`. */
  op = '';

  constructor(readonly socket: Socket) {}

  /** Wake the parked task, if any, to look at the socket again. */
  poke(): void {
    const task = this.task;
    if (task === null) return;
    this.task = null;
    wake(task, undefined);
  }

  /** Wake the parked task, if any, by raising `error` in it. */
  fail(error: unknown): void {
    const task = this.task;
    if (task === null) return;
    this.task = null;
    wakeThrow(task, error);
  }

  unpark(): void {
    this.task = null;
  }

  toString(): string {
    return `${this.socket.toString()}.${this.op}`;
  }
}

/** Destroys a socket whose graceful close takes longer than its idle timeout. */
class LingerTimer extends Timer {
  constructor(readonly raw: net.Socket) {
    super();
    this.ref = false;
  }
  fire(): void {
    this.raw.destroy();
  }
}

/**
 * A connection that tasks read and write with blocking calls: gevent's socket, on a
 * `net.Socket` or a `tls.TLSSocket`. Get one from {@link connect}, from a server's
 * handler, or wrap a connected Node socket: `new Socket(netSocket)`.
 *
 * ```ts
 * const socket = yield* connect(port);            // in a task
 * yield* socket.write('hello\n');
 * const answer = yield* socket.readLine({ timeout: 1000 });
 * socket.close();
 * ```
 *
 * One task reads and one task writes at a time (they may be the same task): a second
 * task that tries to read while another waits to read gets a `GreenletError`. Use one
 * task per direction, or a `Lock`. Every blocking operation takes a `timeout` (ms) and
 * raises {@link SocketTimeout} when it passes; {@link Socket.setIdleTimeout} bounds how
 * long any operation waits without traffic. A reset peer raises {@link ConnectionReset};
 * any use after `close()` raises {@link SocketClosed}. `using socket = ...` (or
 * `await using` in async code) closes it at the end of the block.
 */
export class Socket implements Disposable, AsyncDisposable {
  /** The Node socket underneath (a `tls.TLSSocket` for TLS), for what this class does not cover. */
  readonly raw: net.Socket;
  readonly #reader = new Side(this);
  readonly #writer = new Side(this);
  #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #highWaterMark: number;
  #idleTimeout: number | undefined;
  #paused = false;
  /** The peer sent its FIN: after the buffer, reads see the end of the stream. */
  #eof = false;
  /** The connection failed (a ConnectionReset, or Node's error). */
  #error: unknown = null;
  /** close() or destroy() was called. */
  #closed = false;
  /** What operations raise after destroy(error). */
  #closeError: unknown = null;
  /** end() was called: no more writes. */
  #ended = false;
  /** A timeout or an error happened: close() does not linger. */
  #broken = false;
  #linger: LingerTimer | null = null;
  readonly #label: string;
  readonly #remoteAddress: string | undefined;
  readonly #remotePort: number | undefined;
  readonly #localAddress: string | undefined;
  readonly #localPort: number | undefined;

  /**
   * Wrap a connected Node socket (or TLS socket). From now on this object reads it: do
   * not add `'data'` listeners or call `read()` on `raw` yourself.
   */
  constructor(raw: net.Socket, options: SocketOptions = {}) {
    this.raw = raw;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#idleTimeout = validTimeout(options.idleTimeout);
    this.#remoteAddress = raw.remoteAddress;
    this.#remotePort = raw.remotePort;
    this.#localAddress = raw.localAddress;
    this.#localPort = raw.localPort;
    this.#label = `Socket(${this.#remoteAddress ?? '?'}:${this.#remotePort ?? '?'})`;
    raw.on('data', this.#onData);
    raw.on('end', this.#onEnd);
    raw.on('error', this.#onError);
    raw.on('close', this.#onClose);
    raw.on('drain', this.#onDrain);
    if (raw.readableEnded) this.#eof = true;
    if (raw.errored !== null && raw.errored !== undefined) this.#setError(raw.errored);
    raw.resume();
  }

  // --- Node's events ---------------------------------------------------------------------

  readonly #onData = (data: Buffer | string): void => {
    if (this.#closed) return; // close() drains what still comes, unread
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#reader.task !== null) this.#reader.poke();
    else if (this.#buffered >= this.#highWaterMark && !this.#paused) {
      this.#paused = true;
      this.raw.pause();
    }
  };

  readonly #onEnd = (): void => {
    this.#eof = true;
    this.#reader.poke();
  };

  readonly #onError = (error: unknown): void => {
    this.#setError(error);
    this.#reader.poke();
    this.#writer.fail(this.#error);
  };

  readonly #onClose = (): void => {
    if (this.#linger !== null) {
      getHub().timers.remove(this.#linger);
      this.#linger = null;
    }
    this.#reader.poke();
    if (this.#writer.task !== null) this.#writer.fail(this.#writeError('write()'));
  };

  readonly #onDrain = (): void => {
    this.#writer.poke();
  };

  #setError(error: unknown): void {
    if (this.#error !== null) return;
    this.#broken = true;
    const code = (error as { code?: unknown } | null)?.code;
    this.#error =
      code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED'
        ? new ConnectionReset(
            `${this.#label}: the connection was reset by the peer (${code}); it is gone, close the socket`,
            { code, cause: error },
          )
        : error;
  }

  // --- reading -----------------------------------------------------------------------------

  /**
   * The next bytes that arrive, at most `max` (default 64 KiB): what is buffered if
   * anything is, else the next chunk, waiting for it. Evaluates to `null` at the end of
   * the stream (the peer closed its side).
   *
   * ```ts
   * for (let chunk; (chunk = yield* socket.read()) !== null; ) yield* out.write(chunk);
   * ```
   */
  read(max: number = DEFAULT_READ_SIZE, options?: OperationOptions): SwitchOp<Buffer | null> {
    if (!(max > 0)) throw new RangeError(`read(max) takes a positive number of bytes, not ${max}`);
    return lazy(READ, this, max, options);
  }

  /** @internal Performs {@link Socket.read}. */
  performRead(max: number, options: OperationOptions | undefined): Performed<Buffer | null> {
    const task = this.#startRead('read()');
    const attempt = (): Buffer | null | typeof PENDING => {
      if (this.#buffered > 0) return this.#take(Math.min(max, this.#buffered));
      return this.#atEnd(() => null);
    };
    const result = attempt();
    if (result !== PENDING) return immediate(result);
    return this.#readSlowly(task, 'read()', options?.timeout, attempt);
  }

  /**
   * Exactly `n` bytes, waiting until they have all arrived. Raises {@link IncompleteRead}
   * (with the bytes that did arrive) if the stream ends first.
   *
   * ```ts
   * const header = yield* socket.readExactly(4);
   * const body = yield* socket.readExactly(header.readUInt32BE(0));
   * ```
   */
  readExactly(n: number, options?: OperationOptions): SwitchOp<Buffer> {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`readExactly(n) takes a non-negative integer, not ${n}`);
    return lazy(READ_EXACTLY, this, n, options);
  }

  /** @internal Performs {@link Socket.readExactly}. */
  performReadExactly(n: number, options: OperationOptions | undefined): Performed<Buffer> {
    const task = this.#startRead('readExactly()');
    const attempt = (): Buffer | typeof PENDING => {
      if (this.#buffered >= n) return this.#take(n);
      return this.#atEnd(() => {
        const partial = this.#take(this.#buffered);
        throw new IncompleteRead(
          `${this.#label}: the stream ended after ${partial.length} of the ${n} bytes readExactly() waited for`,
          partial,
          n,
        );
      });
    };
    const result = attempt();
    if (result !== PENDING) return immediate(result);
    return this.#readSlowly(task, 'readExactly()', options?.timeout, attempt);
  }

  /**
   * The next line, decoded (UTF-8 by default), without its terminator (`\n` or `\r\n`).
   * At the end of the stream: the last, unterminated line if there is one, then `null`.
   * Raises {@link LineTooLong} if no terminator comes within `maxLength` bytes (default
   * 64 KiB; the bytes stay buffered).
   *
   * ```ts
   * for (let line; (line = yield* socket.readLine({ timeout: 30_000 })) !== null; ) {
   *   yield* socket.write(`echo: ${line}\n`);
   * }
   * ```
   */
  readLine(options?: ReadLineOptions): SwitchOp<string | null> {
    if (options !== undefined) validMaxLength(options.maxLength);
    return lazy(READ_LINE, this, options, undefined);
  }

  /** @internal Performs {@link Socket.readLine}. */
  performReadLine(options: ReadLineOptions | undefined): Performed<string | null> {
    const task = this.#startRead('readLine()');
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LENGTH;
    const encoding = options?.encoding ?? 'utf8';
    let from = 0;
    const attempt = (): string | null | typeof PENDING => {
      const at = this.#find(NEWLINE, from);
      if (at !== -1) {
        const end = at > 0 && this.#byteAt(at - 1) === CR ? at - 1 : at;
        if (end > maxLength) throw this.#lineTooLong('readLine()', maxLength);
        return this.#takeString(end, at + 1, encoding);
      }
      // A '\r' at the very end may belong to the terminator: allow one byte more.
      if (this.#buffered > maxLength + 1) throw this.#lineTooLong('readLine()', maxLength);
      from = this.#buffered;
      return this.#atEnd(() => {
        if (this.#buffered === 0) return null;
        if (this.#buffered > maxLength) throw this.#lineTooLong('readLine()', maxLength);
        return this.#takeString(this.#buffered, this.#buffered, encoding);
      });
    };
    const result = attempt();
    if (result !== PENDING) return immediate(result);
    return this.#readSlowly(task, 'readLine()', options?.timeout, attempt);
  }

  /**
   * The bytes up to and including the next `separator`, waiting for it. At the end of
   * the stream: `null` if nothing is buffered, else {@link IncompleteRead} with the rest.
   * Raises {@link LineTooLong} if more than `maxLength` bytes (default 64 KiB) come
   * before the separator (the bytes stay buffered).
   *
   * ```ts
   * const head = yield* socket.readUntil('\r\n\r\n', { maxLength: 8192 });
   * ```
   */
  readUntil(separator: string | Uint8Array, options?: ReadUntilOptions): SwitchOp<Buffer | null> {
    const sep = typeof separator === 'string' || !Buffer.isBuffer(separator) ? Buffer.from(separator) : separator;
    if (sep.length === 0) throw new RangeError('readUntil() needs a separator of at least one byte');
    if (options !== undefined) validMaxLength(options.maxLength);
    return lazy(READ_UNTIL, this, sep, options);
  }

  /** @internal Performs {@link Socket.readUntil}. */
  performReadUntil(sep: Buffer, options: ReadUntilOptions | undefined): Performed<Buffer | null> {
    const task = this.#startRead('readUntil()');
    const maxLength = options?.maxLength ?? DEFAULT_MAX_LENGTH;
    let from = 0;
    const attempt = (): Buffer | null | typeof PENDING => {
      const at = this.#find(sep, from);
      if (at !== -1) {
        if (at > maxLength) throw this.#lineTooLong('readUntil()', maxLength);
        return this.#take(at + sep.length);
      }
      if (this.#buffered > maxLength + sep.length - 1) throw this.#lineTooLong('readUntil()', maxLength);
      // Every position where the separator could start and end within the buffer was looked at.
      from = Math.max(0, this.#buffered - sep.length + 1);
      return this.#atEnd(() => {
        if (this.#buffered === 0) return null;
        const partial = this.#take(this.#buffered);
        throw new IncompleteRead(
          `${this.#label}: the stream ended after ${partial.length} bytes without the separator readUntil() waited for`,
          partial,
          null,
        );
      });
    };
    const result = attempt();
    if (result !== PENDING) return immediate(result);
    return this.#readSlowly(task, 'readUntil()', options?.timeout, attempt);
  }

  /** The task that reads now, after the checks every read makes. */
  #startRead(op: string): Schedulable {
    const task = currentTask(`socket.${op}`);
    if (this.#closed) throw this.#closedError(op);
    const owner = this.#reader.owner;
    if (owner !== null) {
      throw new GreenletError(
        `${this.#label} is already being read by ${owner.name} (in ${this.#reader.op}), and ${task.name} called ${op}: ` +
          'a socket has one reader at a time. Read from one task per direction (one task reads, another ' +
          'writes), or share the socket under a Lock',
      );
    }
    return task;
  }

  /**
   * What a read does when the buffer cannot satisfy it: `onEnd()` at the end of the
   * stream, the connection's error, `SocketClosed`, or PENDING (wait for more).
   */
  #atEnd<T>(onEnd: () => T): T | typeof PENDING {
    if (this.#eof) return onEnd();
    if (this.#error !== null) throw this.#error;
    if (this.raw.destroyed) {
      // Closed without an error or an end: destroyed under us (the raw socket, or a server's stop).
      throw this.#closedError('read');
    }
    return PENDING;
  }

  /** Park until `attempt` can answer, re-trying at every event on the read side. */
  *#readSlowly<T>(task: Schedulable, op: string, timeout: number | undefined, attempt: () => T | typeof PENDING): GreenletBody<T> {
    const side = this.#reader;
    side.owner = task;
    side.op = op;
    const deadline = timeout === undefined ? Infinity : now() + timeout;
    try {
      for (;;) {
        if (this.#paused) {
          this.#paused = false;
          this.raw.resume();
        }
        side.task = task;
        const how = yield* this.#park(task, side, deadline);
        if (how !== WOKEN) throw this.#timeoutError(op, how, timeout);
        if (this.#closed) throw this.#closedError(op);
        const result = attempt();
        if (result !== PENDING) return result;
      }
    } finally {
      side.owner = null;
      side.task = null;
    }
  }

  /**
   * Park on `side` until poked (evaluates to WOKEN), or until the deadline or the idle
   * timeout passes (evaluates to BY_DEADLINE or BY_IDLE).
   */
  *#park(task: Schedulable, side: Side, deadline: number): GreenletBody<number> {
    const idle = this.#idleTimeout;
    const left = deadline === Infinity ? Infinity : Math.max(0, deadline - now());
    const byIdle = idle !== undefined && idle < left;
    const ms = byIdle ? idle : left;
    const woken = yield* (ms === Infinity ? park(task, side) : park(task, side, ms, TIMED_OUT));
    if (woken !== TIMED_OUT) return WOKEN;
    return byIdle ? BY_IDLE : BY_DEADLINE;
  }

  #timeoutError(op: string, how: number, timeout: number | undefined): SocketTimeout {
    this.#broken = true;
    const idle = this.#idleTimeout as number;
    return how === BY_IDLE
      ? new SocketTimeout(`${this.#label}.${op}: nothing happened for ${idle} ms (the socket's idle timeout)`, idle)
      : new SocketTimeout(`${this.#label}.${op} did not complete within its timeout of ${timeout} ms`, timeout as number);
  }

  // --- the buffer ----------------------------------------------------------------------------

  /** Remove the first `n` bytes (n <= buffered) and return them; no copy within one chunk. */
  #take(n: number): Buffer {
    const chunks = this.#chunks;
    let out: Buffer;
    const first = chunks[0];
    if (n === 0) out = Buffer.alloc(0);
    else if (first !== undefined && first.length === n) {
      out = first;
      chunks.shift();
    } else if (first !== undefined && first.length > n) {
      out = first.subarray(0, n);
      chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = chunks[0] as Buffer;
        const want = n - filled;
        if (chunk.length <= want) {
          chunk.copy(out, filled);
          filled += chunk.length;
          chunks.shift();
        } else {
          chunk.copy(out, filled, 0, want);
          chunks[0] = chunk.subarray(want);
          filled += want;
        }
      }
    }
    this.#buffered -= n;
    this.#consumed();
    return out;
  }

  /** Decode the first `end` bytes and remove the first `consume` bytes (end <= consume). */
  #takeString(end: number, consume: number, encoding: BufferEncoding): string {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= consume) {
      const text = first.toString(encoding, 0, end);
      if (first.length === consume) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(consume);
      this.#buffered -= consume;
      this.#consumed();
      return text;
    }
    return this.#take(consume).toString(encoding, 0, end);
  }

  /** A read took bytes: let the peer send again if the buffer went under the mark. */
  #consumed(): void {
    if (this.#paused && this.#buffered < this.#highWaterMark) {
      this.#paused = false;
      this.raw.resume();
    }
  }

  #byteAt(i: number): number {
    for (const chunk of this.#chunks) {
      if (i < chunk.length) return chunk[i] as number;
      i -= chunk.length;
    }
    return -1;
  }

  /**
   * Where `sep` first starts in the buffer, looking at positions from `from` on; -1 if
   * not found. Looks chunk by chunk (no copy), checking a candidate that spans chunks
   * byte by byte.
   */
  #find(sep: Buffer, from: number): number {
    const first = sep[0] as number;
    let base = 0;
    const chunks = this.#chunks;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as Buffer;
      if (from < base + chunk.length) {
        const pos = Math.max(0, from - base);
        // Within one chunk, indexOf finds the first whole occurrence; candidates that
        // cross into the next chunks start after it, in the chunk's last sep.length - 1 bytes.
        const hit = sep.length === 1 ? chunk.indexOf(first, pos) : chunk.indexOf(sep, pos);
        if (hit !== -1) return base + hit;
        if (sep.length > 1) {
          const start = Math.max(pos, chunk.length - sep.length + 1);
          for (let p = start; p < chunk.length; p++) {
            if (chunk[p] === first && this.#matchesAt(i, p, sep)) return base + p;
          }
        }
      }
      base += chunk.length;
    }
    return -1;
  }

  #matchesAt(chunkIndex: number, offset: number, sep: Buffer): boolean {
    let i = chunkIndex;
    let p = offset;
    for (let k = 0; k < sep.length; k++) {
      let chunk = this.#chunks[i];
      while (chunk !== undefined && p >= chunk.length) {
        i++;
        p = 0;
        chunk = this.#chunks[i];
      }
      if (chunk === undefined || chunk[p] !== sep[k]) return false;
      p++;
    }
    return true;
  }

  #lineTooLong(op: string, maxLength: number): LineTooLong {
    return new LineTooLong(
      maxLength,
      `${this.#label}.${op}: no terminator within maxLength = ${maxLength} bytes (${this.#buffered} buffered); ` +
        'the bytes stay buffered. Answer the peer and close the connection, or raise maxLength',
    );
  }

  // --- writing -----------------------------------------------------------------------------

  /**
   * Send `data` (a string is sent as UTF-8). Returns at once while Node's write buffer
   * has room; when it is full, waits until it drains (backpressure), at most `timeout`
   * ms. The data is handed to Node in any case: after a timeout it is still sent.
   *
   * ```ts
   * yield* socket.write(`${JSON.stringify(reply)}\n`);
   * ```
   */
  write(data: string | Uint8Array, options?: OperationOptions): SwitchOp<void> {
    return lazy(WRITE, this, data, options);
  }

  /** @internal Performs {@link Socket.write}. */
  performWrite(data: string | Uint8Array, options: OperationOptions | undefined): Performed<void> {
    const task = currentTask('socket.write()');
    this.#checkWritable('write()');
    const owner = this.#writer.owner;
    if (owner !== null) {
      throw new GreenletError(
        `${this.#label} is already being written by ${owner.name}, which waits for the peer to read, and ` +
          `${task.name} called write(): a socket has one writer at a time. Write from one task, or share ` +
          'the socket under a Lock',
      );
    }
    if (this.raw.write(data)) return immediate(undefined);
    return this.#drain(task, options?.timeout);
  }

  *#drain(task: Schedulable, timeout: number | undefined): GreenletBody<void> {
    const side = this.#writer;
    side.owner = task;
    side.op = 'write()';
    const deadline = timeout === undefined ? Infinity : now() + timeout;
    try {
      for (;;) {
        const before = this.raw.writableLength;
        side.task = task;
        const how = yield* this.#park(task, side, deadline);
        if (how === BY_DEADLINE) throw this.#timeoutError('write()', how, timeout);
        // The idle timeout does not strike while the peer is still taking our bytes.
        if (how === BY_IDLE && !(this.raw.writableLength < before)) throw this.#timeoutError('write()', how, timeout);
        if (this.raw.destroyed) throw this.#writeError('write()');
        if (!this.raw.writableNeedDrain) return;
      }
    } catch (error) {
      // The write was left unfinished (a timeout, a kill): what Node still holds may never
      // go out, so close() will not wait for it.
      this.#broken = true;
      throw error;
    } finally {
      side.owner = null;
      side.task = null;
    }
  }

  #checkWritable(op: string): void {
    if (this.#closed) throw this.#closedError(op);
    if (this.#error !== null) throw this.#error;
    if (this.#ended) {
      throw new SocketClosed(`${this.#label}.${op} after end(): this side of the connection is shut down for writing`);
    }
    if (this.raw.destroyed || this.raw.writableEnded) throw this.#writeError(op);
  }

  #writeError(op: string): unknown {
    if (this.#closed) return this.#closedError(op);
    if (this.#error !== null) return this.#error;
    return new SocketClosed(`${this.#label}.${op}: the connection is closed, it cannot be written any more`);
  }

  /**
   * Half-close: send FIN after the data written so far. The peer sees the end of the
   * stream; this side can still read (until the peer closes too). Writing afterwards
   * raises {@link SocketClosed}. Does not block; does nothing the second time.
   *
   * ```ts
   * yield* socket.write(request);
   * socket.end();                                  // "that is all I send"
   * for (let c; (c = yield* socket.read()) !== null; ) reply.push(c);
   * ```
   */
  end(): void {
    if (this.#closed) throw this.#closedError('end()');
    if (this.#ended) return;
    this.#ended = true;
    if (!this.raw.destroyed) this.raw.end();
  }

  // --- closing -----------------------------------------------------------------------------

  /**
   * Close the connection gracefully: the data written so far is still sent, then FIN;
   * incoming bytes are discarded. Operations waiting on the socket in other tasks raise
   * {@link SocketClosed}, and so does any later use. Does not block; safe to call twice.
   * After a timeout, a connection error or a write left unfinished (its task killed) it
   * closes at once ({@link Socket.destroy}). A peer that never reads keeps a graceful
   * close waiting for the flush: with an idle timeout, `destroy()` ends it after that long.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropBuffer();
    const raw = this.raw;
    this.#failWaiters(null);
    if (raw.destroyed) return;
    if (this.#broken || this.#error !== null) {
      raw.destroy();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      raw.resume();
    }
    if (!raw.writableEnded) raw.end();
    if (raw.writableFinished) raw.destroy();
    else {
      raw.once('finish', () => raw.destroy());
      if (this.#idleTimeout !== undefined) {
        this.#linger = new LingerTimer(raw);
        getHub().timers.add(this.#linger, this.#idleTimeout);
      }
    }
  }

  /**
   * Close the connection at once, without flushing (the peer may see a reset). Waiting
   * operations raise `error` if given, else {@link SocketClosed}; later ones raise
   * `SocketClosed`. Safe to call after `close()` (it cuts the graceful close short).
   */
  destroy(error?: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      this.#dropBuffer();
    }
    if (error !== undefined && this.#closeError === null) this.#closeError = error;
    this.#failWaiters(error ?? null);
    if (this.#linger !== null) {
      getHub().timers.remove(this.#linger);
      this.#linger = null;
    }
    this.raw.destroy();
  }

  #dropBuffer(): void {
    this.#chunks = [];
    this.#buffered = 0;
  }

  #failWaiters(error: unknown): void {
    if (this.#reader.task !== null) this.#reader.fail(error ?? this.#closedError(this.#reader.op));
    if (this.#writer.task !== null) this.#writer.fail(error ?? this.#closedError(this.#writer.op));
  }

  #closedError(op: string): unknown {
    if (this.#closeError !== null) return this.#closeError;
    return new SocketClosed(`${this.#label}.${op}: the socket was closed (close() or destroy()); open a new connection`);
  }

  /** Whether `close()` or `destroy()` was called, or the Node socket is destroyed. */
  get closed(): boolean {
    return this.#closed || this.raw.destroyed;
  }

  /** Whether the peer has ended its side and every byte it sent has been read. */
  get atEof(): boolean {
    return this.#eof && this.#buffered === 0;
  }

  /** How many received bytes wait in the buffer. */
  get bufferedLength(): number {
    return this.#buffered;
  }

  /**
   * Make a blocked operation raise {@link SocketTimeout} after `ms` without traffic (no
   * byte received while reading, no byte taken by the peer while writing); `undefined`
   * or `0` turns it off. Applies to the waits that start after the call.
   */
  setIdleTimeout(ms: number | undefined): void {
    this.#idleTimeout = ms === 0 ? undefined : validTimeout(ms);
  }

  /** The idle timeout in ms, or undefined. */
  get idleTimeout(): number | undefined {
    return this.#idleTimeout;
  }

  /** The peer's IP address. */
  get remoteAddress(): string | undefined {
    return this.#remoteAddress;
  }

  /** The peer's port. */
  get remotePort(): number | undefined {
    return this.#remotePort;
  }

  /** This side's IP address. */
  get localAddress(): string | undefined {
    return this.#localAddress;
  }

  /** This side's port. */
  get localPort(): number | undefined {
    return this.#localPort;
  }

  /** Whether the connection is TLS. */
  get encrypted(): boolean {
    return this.raw instanceof tls.TLSSocket;
  }

  /** `using socket = ...` closes it at the end of the block (see {@link Socket.close}). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using socket = ...` closes it and waits until Node has released it. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.whenClosed();
  }

  /** A promise that resolves once the Node socket has closed (its `'close'` event). */
  whenClosed(): Promise<void> {
    const raw = this.raw;
    if (raw.closed) return Promise.resolve();
    return new Promise((resolve) => raw.once('close', () => resolve()));
  }

  /** `Socket(127.0.0.1:5000)`: the peer's address. */
  toString(): string {
    return this.#label;
  }
}

const READ = blockingOperation<Socket, number, OperationOptions | undefined, Buffer | null>('socket.read()', (s, max, options) =>
  s.performRead(max, options),
);
const READ_EXACTLY = blockingOperation<Socket, number, OperationOptions | undefined, Buffer>('socket.readExactly()', (s, n, options) =>
  s.performReadExactly(n, options),
);
const READ_LINE = blockingOperation<Socket, ReadLineOptions | undefined, undefined, string | null>('socket.readLine()', (s, options) =>
  s.performReadLine(options),
);
const READ_UNTIL = blockingOperation<Socket, Buffer, ReadUntilOptions | undefined, Buffer | null>('socket.readUntil()', (s, sep, options) =>
  s.performReadUntil(sep, options),
);
const WRITE = blockingOperation<Socket, string | Uint8Array, OperationOptions | undefined, void>('socket.write()', (s, data, options) =>
  s.performWrite(data, options),
);

function validTimeout(ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined;
  if (!(ms >= 0)) throw new RangeError(`a timeout is a number of milliseconds >= 0, not ${ms}`);
  return ms;
}

function validMaxLength(n: number | undefined): number {
  if (n === undefined) return DEFAULT_MAX_LENGTH;
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`maxLength is a non-negative integer, not ${n}`);
  return n;
}

// --- connect ---------------------------------------------------------------------------------

/** A task waiting for a connection to be established. */
class ConnectWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  task: Schedulable | null;
  constructor(
    task: Schedulable,
    readonly raw: net.Socket,
    readonly event: 'connect' | 'secureConnect',
    readonly target: string,
  ) {
    this.task = task;
  }

  readonly onConnect = (): void => {
    const task = this.task;
    if (task === null) return;
    this.task = null;
    wake(task, undefined);
  };

  readonly onError = (error: unknown): void => {
    const task = this.task;
    if (task === null) return;
    this.task = null;
    wakeThrow(task, error);
  };

  register(): void {
    this.raw.once(this.event, this.onConnect);
    this.raw.on('error', this.onError);
  }

  unregister(): void {
    this.raw.removeListener(this.event, this.onConnect);
    this.raw.removeListener('error', this.onError);
  }

  unpark(): void {
    this.task = null;
  }

  toString(): string {
    return `connect(${this.target})`;
  }
}

/**
 * Open a TCP connection to `host:port` (default host `127.0.0.1`), or a TLS one with
 * `options.tls`, and evaluate to a {@link Socket} once it is established. Raises Node's
 * error if it fails (`ECONNREFUSED`, a certificate that does not verify...) and a
 * {@link SocketTimeout} after `options.timeout` ms. Killing the task abandons the attempt.
 *
 * ```ts
 * const socket = yield* connect(8080, 'localhost', { timeout: 2000 });
 * const secure = yield* connect(443, 'example.com', { tls: { servername: 'example.com' } });
 * ```
 */
export function connect(port: number, host = '127.0.0.1', options: ConnectOptions = {}): SwitchOp<Socket> {
  validTimeout(options.timeout);
  return lazy(CONNECT, port, host, options);
}

const CONNECT = blockingOperation<number, string, ConnectOptions, Socket>('connect()', connecting);

function* connecting(port: number, host: string, options: ConnectOptions): GreenletBody<Socket> {
  const task = currentTask('connect()');
  const timeout = options.timeout;
  const raw =
    options.tls === undefined
      ? net.connect({ port, host, allowHalfOpen: true })
      : // allowHalfOpen is honoured by tls.connect (it passes it to the TLSSocket) but missing from its types.
        tls.connect({ ...options.tls, port, host, allowHalfOpen: true } as tls.ConnectionOptions);
  const target = `${host}:${port}${options.tls === undefined ? '' : ', TLS'}`;
  const wait = new ConnectWait(task, raw, options.tls === undefined ? 'connect' : 'secureConnect', target);
  wait.register();
  let connected = false;
  try {
    const woken = yield* (timeout === undefined ? park(task, wait) : park(task, wait, timeout, TIMED_OUT));
    if (woken === TIMED_OUT) throw new SocketTimeout(`connect(${target}) did not complete within ${timeout} ms`, timeout as number);
    connected = true;
  } finally {
    wait.unregister();
    if (!connected) {
      raw.on('error', ignore); // a late error of the abandoned attempt
      raw.destroy();
    }
  }
  raw.setNoDelay(options.noDelay ?? true);
  if (options.keepAlive === true) raw.setKeepAlive(true);
  return new Socket(raw, options);
}

function ignore(): void {}
