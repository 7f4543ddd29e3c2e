/**
 * `HttpResponse`: how a request handler of an `HttpServer` answers, with a `write()` that
 * parks the task while Node's buffer is full.
 *
 * Back-pressure. `write(chunk)` hands the chunk to Node at once; when Node says its
 * buffer is over the high-water mark (`res.write()` returns false), the task parks until
 * `'drain'`. So a handler streaming to a slow client holds at most about one chunk more
 * than the socket's buffers, whatever it sends in total.
 *
 * Invariants:
 * - At most one task waits for `'drain'` (`#writer`); it is woken exactly once: by
 *   `'drain'`, or by `'close'` (the client went away: it gets {@link ClientDisconnected}),
 *   or it leaves on a kill or a Timeout (`unpark`).
 * - The response's `'drain'`, `'close'` and `'error'` listeners are installed once, when
 *   the response is made; the `'error'` listener keeps a late write error (the connection
 *   died under it) from crashing the process.
 * - Nothing written is dropped by a kill or a Timeout: a chunk handed to Node stays
 *   buffered (a write that times out has still been accepted).
 *
 * Coming from gevent: pywsgi's `start_response(status, headers)` and `write(data)`
 * (which blocks the greenlet on the socket's send) become `writeHead` and
 * `yield* response.write(chunk)`; `send(status, body)` is the one-call answer.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { GreenletError } from '../core/errors.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { ClientDisconnected, ResponseFinished, ResponseWriteTimeout } from './http-errors.js';

/** A response body: text (UTF-8) or bytes. */
export type ResponseChunk = string | Uint8Array;

/** Options of {@link HttpResponse.write}. */
export interface ResponseWriteOptions {
  /**
   * Raise a {@link ResponseWriteTimeout} if the client has not taken the buffered data
   * within this many ms (the chunk itself was accepted).
   */
  timeout?: number;
}

/**
 * The answer to one request, as its handler writes it.
 *
 * ```ts
 * const server = new HttpServer(function* (request, response) {
 *   response.status(200).setHeader('content-type', 'text/plain');
 *   for (let i = 0; i < 1000; i++) yield* response.write(`line ${i}\n`); // parks while the client is slow
 *   response.end();
 * });
 * ```
 *
 * Or in one call: `response.send(404, 'not found')`, `response.send(200, { ok: true })`.
 * If the handler returns without ending the response, the server ends it.
 */
export class HttpResponse implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  /** Node's response object, for what this class does not cover. */
  readonly raw: ServerResponse;
  /** What `GET /path` (for messages) is read from, only when a message needs it. */
  readonly #request: { readonly label: string };
  /** The task parked in write(), waiting for 'drain'. */
  #writer: Schedulable | null = null;
  /** Whether the 'drain' / 'close' listeners are there: added by the first write that waits. */
  #listening = false;

  /** @internal Made by the server for each request. */
  constructor(raw: ServerResponse, request: { readonly label: string }) {
    this.raw = raw;
    this.#request = request;
  }

  /** The status code that is or will be sent (200 unless set). */
  get statusCode(): number {
    return this.raw.statusCode;
  }

  /** Whether the status line and headers have been sent: from then on they cannot change. */
  get headersSent(): boolean {
    return this.raw.headersSent;
  }

  /** Whether `end()` (or `send()`) was called: nothing more can be written. */
  get ended(): boolean {
    return this.raw.writableEnded;
  }

  /** Whether the whole response was handed to the connection. */
  get finished(): boolean {
    return this.raw.writableFinished;
  }

  /** Bytes accepted by `write()` that Node has not passed to the connection yet. */
  get bufferedBytes(): number {
    return this.raw.writableLength;
  }

  /** Set the status code to send (before anything was sent). Returns the response, to chain calls. */
  status(code: number): this {
    this.raw.statusCode = code;
    return this;
  }

  /** Set a header to send (before anything was sent). Returns the response, to chain calls. */
  setHeader(name: string, value: OutgoingHttpHeader): this {
    this.raw.setHeader(name, value);
    return this;
  }

  /** A header set so far, or undefined. */
  getHeader(name: string): OutgoingHttpHeader | undefined {
    return this.raw.getHeader(name);
  }

  /** Remove a header set so far. Returns the response, to chain calls. */
  removeHeader(name: string): this {
    this.raw.removeHeader(name);
    return this;
  }

  /**
   * Send the status line and headers now (headers set with `setHeader` are merged in).
   * Returns the response, to chain calls.
   */
  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    this.raw.writeHead(status, headers);
    return this;
  }

  /**
   * Send a chunk of the body (the headers first, if not sent yet), and park the task while
   * Node's buffer for this connection is full: a handler that streams to a slow client
   * waits for it instead of piling the data up in memory.
   *
   * ```ts
   * for (const row of rows) yield* response.write(JSON.stringify(row) + '\n');
   * response.end();
   * ```
   *
   * @throws ClientDisconnected if the client has gone away (before or during the wait).
   * @throws ResponseWriteTimeout if the client took nothing within `timeout` ms.
   * @throws ResponseFinished after `end()`.
   */
  write(chunk: ResponseChunk, options?: ResponseWriteOptions): SwitchOp<void> {
    return lazy(WRITE, this, chunk, options);
  }

  /** @internal Performs {@link HttpResponse.write}. */
  performWrite(chunk: ResponseChunk, options: ResponseWriteOptions | undefined): Performed<void> {
    const task = currentTask('response.write()');
    const raw = this.raw;
    if (raw.writableEnded) throw new ResponseFinished(`${this.#request.label}: write() after end(): the response has already ended`);
    if (raw.destroyed) throw new ClientDisconnected();
    if (this.#writer !== null) {
      throw new GreenletError(
        `${this.#writer.name} is already waiting in write() of ${this.toString()}: one task writes a response at a time`,
      );
    }
    if (raw.write(chunk)) return immediate(undefined);
    if (!this.#listening) {
      // Most responses never wait: listen only once one does (listeners cost per request).
      this.#listening = true;
      raw.on('drain', () => this.#onDrain());
      raw.on('close', () => this.#onClose());
      raw.on('error', () => {
        // The connection failed under a write: 'close' follows and wakes the writer.
      });
    }
    this.#writer = task;
    const timeout = options?.timeout;
    return timeout === undefined ? park(task, this) : park(task, this, timeout, new ResponseWriteTimeout(timeout), true);
  }

  /**
   * End the response, with a last chunk if given. Does not block: Node sends what is
   * buffered in the background.
   *
   * @throws ResponseFinished if it has already ended.
   */
  end(chunk?: ResponseChunk): void {
    if (this.raw.writableEnded) throw new ResponseFinished(`${this.#request.label}: end() after end(): the response has already ended`);
    if (chunk === undefined) this.raw.end();
    else this.raw.end(chunk);
  }

  /**
   * Answer in one call: status, headers and the whole body, then end. A string is sent as
   * `text/plain; charset=utf-8`, bytes as `application/octet-stream`, anything else as
   * JSON, unless `headers` give a `content-type`. `Content-Length` is set. Does not block.
   *
   * ```ts
   * response.send(200, { sum: 6 });
   * response.send(404, 'no such page', { 'cache-control': 'no-store' });
   * ```
   */
  send(status: number, body?: unknown, headers?: OutgoingHttpHeaders): void {
    const raw = this.raw;
    if (raw.writableEnded) throw new ResponseFinished(`${this.#request.label}: send() after end(): the response has already ended`);
    // A string body is handed to Node as it is (it writes the head and the body in one
    // go); only its byte length is computed.
    let payload: string | Uint8Array | undefined;
    let type: string | undefined;
    if (typeof body === 'string') {
      payload = body;
      type = 'text/plain; charset=utf-8';
    } else if (body instanceof Uint8Array) {
      payload = body;
      type = 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      type = 'application/json';
    }
    // As a string: Node checks each header value with a regular expression, whose slow
    // path (a number converted first) costs a few hundred instructions per response.
    // A template rather than `String(...)`, which the compiler leaves a call of the builtin.
    const length = `${payload === undefined ? 0 : typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength}`;
    let head: OutgoingHttpHeaders;
    if (headers === undefined) {
      // The usual call: one object of a fixed shape.
      head = type !== undefined && !raw.hasHeader('content-type') ? { 'content-type': type, 'content-length': length } : { 'content-length': length };
    } else {
      head = { ...headers };
      if (type !== undefined && head['content-type'] === undefined && !raw.hasHeader('content-type')) head['content-type'] = type;
      head['content-length'] = length;
    }
    raw.writeHead(status, head);
    if (payload === undefined) raw.end();
    else raw.end(payload);
  }

  #onDrain(): void {
    const task = this.#writer;
    if (task === null) return;
    this.#writer = null;
    wake(task, undefined);
  }

  #onClose(): void {
    const task = this.#writer;
    if (task === null) return;
    this.#writer = null;
    wakeThrow(task, new ClientDisconnected());
  }

  /** @internal Parking: the writer leaves (killed, timed out). */
  unpark(): void {
    this.#writer = null;
  }

  /** For reports: `HttpResponse(GET /path)`; a parked writer shows `HttpResponse(GET /path).write()`. */
  toString(): string {
    return `HttpResponse(${this.#request.label})${this.#writer !== null ? '.write()' : ''}`;
  }
}

const WRITE = blockingOperation<HttpResponse, ResponseChunk, ResponseWriteOptions | undefined, void>('response.write()', (r, chunk, options) =>
  r.performWrite(chunk, options),
);
