/**
 * `HttpRequest`: what a request handler of an `HttpServer` receives about the request,
 * with a cooperative body reader.
 *
 * The body is pulled, never pushed: a read takes what Node's `IncomingMessage` has
 * buffered (`raw.read()`), and only when nothing is there does the task park, with
 * listeners on the stream for the time of the wait. A handler that reads slowly makes Node
 * stop reading the socket, and the client's sends block: back-pressure reaches the client.
 *
 * Invariants:
 * - At most one task waits for the body at a time (`waiter`); the stream carries the
 *   wait's `'readable'`/`'end'`/`'close'` listeners exactly while a task waits, so that,
 *   between reads, Node can still drain an unread body (`resume()` has no effect while a
 *   `'readable'` listener is attached) and keep the connection alive.
 * - From the first read on, an `'error'` listener records the stream's error: a request
 *   destroyed between reads (the client went away) never raises an unhandled `'error'`.
 *   Before any read there is none (one listener less per request, most never read): Node
 *   emits `'error'` on a request only if it has a listener, and destroys it quietly
 *   otherwise; a read then finds it destroyed and raises ClientDisconnected.
 * - `received` counts every body byte handed out; no read hands out a chunk that takes
 *   it past the read's limit, it raises {@link PayloadTooLarge} instead, and every read
 *   after that raises it again. When `Content-Length` already exceeds the limit, nothing
 *   is read.
 * - A read that leaves early (a Timeout, a kill) drops no byte: data stays in the stream
 *   for the next read. Nothing here destroys the request: what happens to a connection
 *   whose request was not fully read is the server's business (once the handler is done,
 *   it calls `discardRest()`, which reads off a bounded rest and says whether it could).
 * - `body()` caches the whole body once read: `text()` and `json()` after it cost nothing.
 *
 * Coming from gevent: pywsgi gives WSGI's `environ['wsgi.input']` (`read(n)`,
 * `readline()`); here the body is read in Node's chunks, whole (`body`, `text`, `json`) or
 * one chunk at a time (`read`), always with a size limit.
 *
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { GreenletError, GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { BadRequest, BodyReadTimeout, ClientDisconnected, PayloadTooLarge } from './http-errors.js';
import type { RequestTarget } from './request-target.js';

/** Options of the body reads of an {@link HttpRequest}. */
export interface BodyReadOptions {
  /**
   * The most bytes of body to accept, in total (default: the server's `maxBodySize`);
   * past it the read raises {@link PayloadTooLarge}. `Infinity` accepts any size.
   */
  limit?: number;
  /** Raise a {@link BodyReadTimeout} if the read is not complete within this many ms. */
  timeout?: number;
}

/** The longest path kept in task names and reports. */
const MAX_LABEL_PATH = 200;

/**
 * One request received by an `HttpServer`, as its handler sees it. Reading the body
 * blocks the handler's task, never the server:
 *
 * ```ts
 * const server = new HttpServer(function* (request, response) {
 *   if (request.method === 'POST' && request.path === '/sum') {
 *     const numbers = yield* request.json<number[]>({ limit: 10_000 });
 *     response.send(200, { sum: numbers.reduce((a, b) => a + b, 0) });
 *   }
 * });
 * ```
 */
export class HttpRequest implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  /** The request method, upper case: `'GET'`, `'POST'`... */
  readonly method: string;
  /**
   * The request target as sent: path and query, e.g. `/slow?ms=100`. It carries the query
   * string, where clients put secrets (`?api_key=...`): log {@link HttpRequest.label} or
   * {@link HttpRequest.path} instead.
   */
  readonly url: string;
  /** The request headers, names in lower case (Node's `IncomingHttpHeaders`). */
  readonly headers: IncomingHttpHeaders;
  /** Node's request object, for what this class does not cover. Read the body through this class. */
  readonly raw: IncomingMessage;
  readonly #defaultLimit: number;
  /** The state of the body's reads, made by the first read (most requests are never read). */
  #reading: BodyReading | null = null;
  readonly #target: RequestTarget;
  #query: URLSearchParams | null = null;

  /** @internal Made by the server for each request, once its target was read. */
  constructor(raw: IncomingMessage, defaultLimit: number, target: RequestTarget) {
    this.raw = raw;
    this.method = raw.method ?? 'GET';
    this.url = raw.url ?? '/';
    this.headers = raw.headers;
    this.#defaultLimit = defaultLimit;
    this.#target = target;
  }

  /**
   * The path of the target, without the query, exactly as the client sent it: `/slow`
   * for `/slow?ms=100`, `//a/b` for `//a/b` (never read as a host), still percent-encoded
   * and with dot segments kept (`/a/../b` stays so), so it matches what a proxy in front
   * saw. For an absolute-form target (`http://host/p?q`) it is the part after the host.
   */
  get path(): string {
    return this.#target.path;
  }

  /** The query parameters: `request.query.get('ms')` is `'100'` for `/slow?ms=100`. */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.#target.query);
    return this.#query;
  }

  /**
   * The host the request is for: the authority of an absolute-form target (which then
   * wins over the Host header, RFC 9112 §3.2.2), or else the Host header.
   */
  get host(): string | undefined {
    return this.#target.authority ?? this.headers.host;
  }

  /** `GET /path`: the method and the path, without the query (which may carry secrets). */
  get label(): string {
    return `${this.method} ${labelPath(this.#target.path)}`;
  }

  /** The client's IP address, if the connection is still open. */
  get remoteAddress(): string | undefined {
    return this.raw.socket?.remoteAddress;
  }

  /** The client's port, if the connection is still open. */
  get remotePort(): number | undefined {
    return this.raw.socket?.remotePort;
  }

  /** How many bytes of the body the handler has read so far. */
  get bytesRead(): number {
    return this.#reading === null ? 0 : this.#reading.received;
  }

  /**
   * The next chunk of the body, waiting for it if needed, or `null` at its end. A slow
   * reader slows the client down: Node stops reading the connection while the handler
   * does not ask for more.
   *
   * ```ts
   * for (let chunk; (chunk = yield* request.read({ limit: Infinity })) !== null; ) {
   *   yield* upload.write(chunk);
   * }
   * ```
   *
   * @throws PayloadTooLarge when the body read so far would exceed `limit`.
   * @throws BodyReadTimeout when no chunk came within `timeout` ms (the read can be retried: nothing is lost).
   * @throws ClientDisconnected when the client went away before the body ended.
   */
  read(options?: BodyReadOptions): SwitchOp<Buffer | null> {
    return lazy(READ, this, options, undefined);
  }

  /** @internal Performs {@link HttpRequest.read}. */
  performRead(options: BodyReadOptions | undefined): Performed<Buffer | null> {
    const task = currentTask('request.read()');
    const reading = this.#reading ??= new BodyReading();
    if (reading.waiter !== null) {
      throw new GreenletError(
        `${reading.waiter.name} is already reading the body of ${this.toString()}: one task reads a request's body at a time`,
      );
    }
    const limit = options?.limit ?? this.#defaultLimit;
    this.#checkDeclaredLength(limit);
    reading.limit = limit;
    if (!reading.errorWatched) {
      reading.errorWatched = true;
      this.raw.on('error', (error: unknown) => this.#onError(error));
    }
    const item = this.#poll();
    if (item !== PENDING) return immediate(item);
    reading.waiter = task;
    const raw = this.raw;
    // Made by the first read that waits: most requests have no body to wait for.
    const deliver = (reading.deliverListener ??= () => this.#deliver());
    raw.on('readable', deliver);
    raw.on('end', deliver);
    raw.on('close', deliver);
    const timeout = options?.timeout;
    return timeout === undefined ? park(task, this) : park(task, this, timeout, new BodyReadTimeout(timeout), true);
  }

  /**
   * The whole body (what is left of it, if `read()` took some chunks first), at most
   * `limit` bytes. The result is kept: calling it again, or `text()` / `json()` after it,
   * gives the same bytes without reading.
   *
   * ```ts
   * const bytes = yield* request.body({ limit: 1 << 20, timeout: 5000 });
   * ```
   *
   * @throws PayloadTooLarge past `limit` (the server answers 413 if the handler lets it go).
   * @throws BodyReadTimeout if the body did not arrive in `timeout` ms: the time covers the whole body.
   * @throws ClientDisconnected when the client went away before the body ended.
   */
  body(options?: BodyReadOptions): SwitchOp<Buffer> {
    return lazy(BODY, this, options, undefined);
  }

  /** @internal Performs {@link HttpRequest.body}. */
  *performBody(options: BodyReadOptions | undefined): GreenletBody<Buffer> {
    const cached = this.#reading?.body ?? null;
    if (cached !== null) return cached;
    const limit = options?.limit ?? this.#defaultLimit;
    this.#checkDeclaredLength(limit);
    const ms = options?.timeout;
    const timeout = ms === undefined ? null : new Timeout(ms, new BodyReadTimeout(ms)).start();
    const chunks: Buffer[] = [];
    const readOptions: BodyReadOptions = { limit };
    try {
      for (let chunk: Buffer | null; (chunk = yield* this.performRead(readOptions)) !== null; ) chunks.push(chunk);
    } finally {
      timeout?.cancel();
    }
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    (this.#reading as BodyReading).body = body;
    return body;
  }

  /**
   * The body decoded as text, with the charset of its `Content-Type` (UTF-8 by default).
   * Same options and errors as {@link HttpRequest.body}.
   */
  text(options?: BodyReadOptions): SwitchOp<string> {
    return lazy(TEXT, this, options, undefined);
  }

  /** @internal Performs {@link HttpRequest.text}. */
  *performText(options: BodyReadOptions | undefined): GreenletBody<string> {
    const bytes = yield* this.performBody(options);
    return decode(bytes, charsetOf(this.headers['content-type']));
  }

  /**
   * The body parsed as JSON. Same options and errors as {@link HttpRequest.body}, plus
   * {@link BadRequest} (the server answers 400) when it is not valid JSON.
   *
   * ```ts
   * const { name } = yield* request.json<{ name: string }>();
   * ```
   */
  json<T = unknown>(options?: BodyReadOptions): SwitchOp<T> {
    return lazy(JSON_BODY, this, options, undefined) as SwitchOp<T>;
  }

  /** @internal Performs {@link HttpRequest.json}. */
  *performJson(options: BodyReadOptions | undefined): GreenletBody<unknown> {
    const text = yield* this.performText(options);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new BadRequest(`the request body is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Refuse at once a body that is too large by its own account, or after a read that was. */
  #checkDeclaredLength(limit: number): void {
    const refused = this.#reading?.tooLarge ?? null;
    if (refused !== null) throw new PayloadTooLarge(refused);
    const declared = Number(this.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      (this.#reading ??= new BodyReading()).tooLarge = limit;
      throw new PayloadTooLarge(
        limit,
        `the request body is ${declared} bytes (Content-Length), more than the limit of ${limit}: read it with a ` +
          "higher limit (`request.body({ limit })`, or the server's `maxBodySize`) if such bodies are expected",
      );
    }
  }

  /** What a read can hand out now: a chunk, null at the end, or PENDING; raises what it must. */
  #poll(): Buffer | null | typeof PENDING {
    const raw = this.raw;
    const reading = this.#reading as BodyReading;
    if (reading.error !== null) throw this.#translate(reading.error);
    if (!raw.destroyed) {
      const chunk = raw.read() as Buffer | string | null;
      if (chunk !== null) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (reading.received + bytes.length > reading.limit) {
          reading.tooLarge = reading.limit;
          throw new PayloadTooLarge(reading.limit);
        }
        reading.received += bytes.length;
        return bytes;
      }
    }
    if (raw.readableEnded) {
      if (!raw.complete) throw disconnected();
      return null;
    }
    if (raw.destroyed) throw disconnected();
    return PENDING;
  }

  /** A stream event while a task waits: wake it if there is something for it. */
  #deliver(): void {
    const task = (this.#reading as BodyReading).waiter;
    if (task === null) return;
    let item: Buffer | null | typeof PENDING;
    try {
      item = this.#poll();
    } catch (error) {
      this.unpark();
      wakeThrow(task, error);
      return;
    }
    if (item === PENDING) return;
    this.unpark();
    wake(task, item);
  }

  #onError(error: unknown): void {
    const reading = this.#reading as BodyReading;
    if (reading.error === null) reading.error = error;
    this.#deliver();
  }

  /** Node's errors of a request whose connection went away, as ClientDisconnected. */
  #translate(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    if (this.raw.aborted || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return disconnected();
    return error;
  }

  /**
   * @internal Whether the whole request has arrived, as far as the server is concerned:
   * Node says it is complete, or it declares no body at all (Node marks even a bodyless
   * request complete only after its 'request' event).
   */
  get fullyRead(): boolean {
    const raw = this.raw;
    if (raw.complete) return true;
    const headers = this.headers;
    return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
  }

  /**
   * @internal Whether what is left of the body could be drained within `limit` bytes, as
   * far as is known now: false when a read already refused it, or when its Content-Length
   * says more than `limit` bytes are still to come; true for a body of unknown length.
   */
  drainable(limit: number): boolean {
    if (this.fullyRead) return true;
    const reading = this.#reading;
    if ((reading !== null && reading.tooLarge !== null) || this.raw.destroyed) return false;
    const declared = Number(this.headers['content-length']);
    return !(Number.isFinite(declared) && declared - (reading === null ? 0 : reading.received) > limit);
  }

  /**
   * @internal The handler is done: read off and drop what is left of the body, so that the
   * connection can carry the next request, but never more than `limit` bytes nor for
   * longer than `timeout` ms. Evaluates to whether the body ended within them; if not
   * (too large by its own account or by what came, too slow, a read that already refused
   * it, the client gone, another task still reading it), the connection must close.
   */
  *discardRest(limit: number, timeout: number): GreenletBody<boolean> {
    if (this.fullyRead) return true;
    if ((this.#reading !== null && this.#reading.waiter !== null) || !this.drainable(limit)) return false;
    const deadline = Number.isFinite(timeout) ? new Timeout(timeout).start() : null;
    let left = limit;
    try {
      for (;;) {
        const chunk = yield* this.performRead(NO_LIMIT);
        if (chunk === null) return true;
        left -= chunk.length;
        if (left < 0) return false;
      }
    } catch (error) {
      // A kill, or another Timeout of the task, is not the drain's to swallow.
      if (error instanceof GreenletExit || (error instanceof Timeout && error !== deadline)) throw error;
      return false; // too slow, the client gone, a body Node could not parse
    } finally {
      deadline?.cancel();
    }
  }

  /** @internal Parking: the waiting task leaves (woken, killed, timed out); remove the wait's listeners. */
  unpark(): void {
    const reading = this.#reading;
    if (reading === null || reading.waiter === null) return;
    reading.waiter = null;
    const raw = this.raw;
    const deliver = reading.deliverListener as () => void;
    raw.removeListener('readable', deliver);
    raw.removeListener('end', deliver);
    raw.removeListener('close', deliver);
  }

  /**
   * For reports: `HttpRequest(GET /path)` (without the query); parked tasks show
   * `HttpRequest(GET /path).read()`.
   */
  toString(): string {
    return `HttpRequest(${this.label})${this.#reading !== null && this.#reading.waiter !== null ? '.read()' : ''}`;
  }
}

/**
 * The state of a request body's reads, apart from the request (made by the first read or
 * the first refusal): most requests are never read, and these eight fields would be
 * stored in every one.
 */
class BodyReading {
  /** The task parked in read(), if any. */
  waiter: Schedulable | null = null;
  /** `#deliver` as the stream's listener while a task waits (made by the first wait). */
  deliverListener: (() => void) | null = null;
  /** The limit of the read in progress. */
  limit = Infinity;
  received = 0;
  /** The limit that was exceeded, once a read raised PayloadTooLarge. */
  tooLarge: number | null = null;
  error: unknown = null;
  /** Whether the stream has the `'error'` listener (added by the first read). */
  errorWatched = false;
  /** The whole body, once `body()` (or `text()`, `json()`) has read it. */
  body: Buffer | null = null;
}

const PENDING: unique symbol = Symbol('pending');
const NO_LIMIT: BodyReadOptions = Object.freeze({ limit: Infinity });

const READ = blockingOperation<HttpRequest, BodyReadOptions | undefined, undefined, Buffer | null>('request.read()', (r, options) =>
  r.performRead(options),
);
const BODY = blockingOperation<HttpRequest, BodyReadOptions | undefined, undefined, Buffer>('request.body()', (r, options) =>
  r.performBody(options),
);
const TEXT = blockingOperation<HttpRequest, BodyReadOptions | undefined, undefined, string>('request.text()', (r, options) =>
  r.performText(options),
);
const JSON_BODY = blockingOperation<HttpRequest, BodyReadOptions | undefined, undefined, unknown>('request.json()', (r, options) =>
  r.performJson(options),
);

function disconnected(): ClientDisconnected {
  return new ClientDisconnected('the client disconnected before it sent the whole request body');
}

/** A path cut to a length fit for task names and reports. */
export function labelPath(path: string): string {
  return path.length <= MAX_LABEL_PATH ? path : `${path.slice(0, MAX_LABEL_PATH)}…`;
}

function charsetOf(contentType: string | undefined): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1] ?? 'utf-8';
}

function decode(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}
