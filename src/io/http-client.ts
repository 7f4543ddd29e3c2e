/**
 * `httpFetch`: an HTTP request from a task, on the platform's `fetch`, aborted when the
 * task stops waiting for it.
 *
 * One `AbortController` per exchange (request and body) is handed to `fetch`. Every wait
 * of the exchange (the response, then each body read) goes through interop's `waitFor`,
 * whose own signal aborts when the task leaves the wait early (killed, or a Timeout of
 * its own); that abort is forwarded to the exchange's controller, so the request or the
 * body download really stops and the connection is closed: the server sees the client go.
 *
 * Invariants:
 * - The exchange's controller is aborted exactly when a wait of the exchange ends early
 *   (kill, Timeout, the `timeout` option), or on `close()`; never when a wait succeeds, so
 *   a body read after the response still works, and a body read to its end leaves the
 *   connection to fetch's keep-alive pool.
 * - The `timeout` option is one deadline for the whole exchange: each wait gets what is
 *   left of it, and raises {@link HttpFetchTimeout} when it runs out.
 *
 * Coming from gevent: gevent patches `urllib`/`requests` so they block the greenlet; here
 * `fetch` is wrapped instead: `yield* httpFetch(url)` and `yield* response.text()`.
 *
 * @module
 */
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import type { SwitchOp } from '../core/switcher.js';
import { blockingOperation } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { now } from '../hub/timers.js';
import { AbortError } from '../interop/abort.js';
import { waitFor } from '../interop/wait.js';
import { HttpFetchTimeout } from './http-errors.js';

/** Options of {@link httpFetch}: `fetch`'s `RequestInit`, plus a timeout. */
export interface HttpFetchInit extends RequestInit {
  /**
   * A deadline for the whole exchange, in ms: getting the response and reading its body.
   * When it passes, the request is aborted and the wait raises {@link HttpFetchTimeout}.
   */
  timeout?: number;
}

/** The request and its body reads share one controller and one deadline. */
class FetchExchange {
  readonly controller = new AbortController();
  readonly deadline: number | undefined;
  readonly timeoutError: HttpFetchTimeout | null;

  constructor(readonly label: string, timeout: number | undefined) {
    this.deadline = timeout === undefined ? undefined : now() + timeout;
    this.timeoutError = timeout === undefined ? null : new HttpFetchTimeout(timeout, label);
  }

  /** Wait for `operation` under the exchange's signal and deadline. */
  *step<T>(operation: (signal: AbortSignal) => Promise<T>): GreenletBody<T> {
    let timer: Timeout | null = null;
    if (this.deadline !== undefined) {
      const error = this.timeoutError as HttpFetchTimeout;
      const remaining = this.deadline - now();
      if (remaining <= 0) {
        this.controller.abort(error);
        throw error;
      }
      timer = new Timeout(remaining, error).start();
    }
    try {
      return (yield* waitFor((signal: AbortSignal) => {
        forward(signal, this.controller);
        return operation(this.controller.signal);
      })) as T;
    } finally {
      timer?.cancel();
    }
  }
}

/** Abort `controller` when `signal` aborts, with the same reason. */
function forward(signal: AbortSignal, controller: AbortController): void {
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
}

/**
 * The response of an {@link httpFetch}: status and headers at once, the body read from
 * the task with `yield*` (`text`, `json`, `bytes`, or chunk by chunk with `read`). A body
 * read is aborted like the request: when the task is killed or a Timeout strikes.
 *
 * Read the body, or `close()` the response: an unread body holds its connection.
 */
export class HttpFetchResponse implements Disposable {
  /** The platform's `Response`, for what this class does not cover. Read the body through this class. */
  readonly raw: Response;
  readonly #exchange: FetchExchange;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;

  /** @internal Made by {@link httpFetch}. */
  constructor(raw: Response, exchange: FetchExchange) {
    this.raw = raw;
    this.#exchange = exchange;
  }

  /** The status code: 200, 404... */
  get status(): number {
    return this.raw.status;
  }

  /** The status text: `'OK'`, `'Not Found'`... */
  get statusText(): string {
    return this.raw.statusText;
  }

  /** Whether the status is 200–299. */
  get ok(): boolean {
    return this.raw.ok;
  }

  /** The response headers. */
  get headers(): Headers {
    return this.raw.headers;
  }

  /** The final URL, after redirects. */
  get url(): string {
    return this.raw.url;
  }

  /** The body as text (UTF-8): `yield* res.text()`. */
  text(): SwitchOp<string> {
    return lazy(TEXT, this, undefined, undefined);
  }

  /** @internal Performs {@link HttpFetchResponse.text}. */
  performText(): GreenletBody<string> {
    return this.#exchange.step(() => this.raw.text());
  }

  /**
   * The body parsed as JSON.
   *
   * ```ts
   * const res = yield* httpFetch(`${base}/sum`, { method: 'POST', body: '[1,2,3]' });
   * const { sum } = (yield* res.json()) as { sum: number };
   * ```
   */
  json<T = unknown>(): SwitchOp<T> {
    return lazy(JSON_BODY, this, undefined, undefined) as SwitchOp<T>;
  }

  /** @internal Performs {@link HttpFetchResponse.json}. */
  performJson(): GreenletBody<unknown> {
    return this.#exchange.step(() => this.raw.json() as Promise<unknown>);
  }

  /** The body as bytes: `yield* res.bytes()`. */
  bytes(): SwitchOp<Buffer> {
    return lazy(BYTES, this, undefined, undefined);
  }

  /** @internal Performs {@link HttpFetchResponse.bytes}. */
  *performBytes(): GreenletBody<Buffer> {
    const buffer = yield* this.#exchange.step(() => this.raw.arrayBuffer());
    return Buffer.from(buffer);
  }

  /**
   * The next chunk of the body, or null at its end.
   *
   * ```ts
   * for (let chunk; (chunk = yield* res.read()) !== null; ) total += chunk.length;
   * ```
   */
  read(): SwitchOp<Uint8Array | null> {
    return lazy(READ, this, undefined, undefined);
  }

  /** @internal Performs {@link HttpFetchResponse.read}. */
  *performRead(): GreenletBody<Uint8Array | null> {
    const body = this.raw.body;
    if (body === null) return null;
    const reader = (this.#reader ??= body.getReader());
    const result = yield* this.#exchange.step(() => reader.read());
    return result.done === true ? null : result.value;
  }

  /**
   * Give up the body: abort the exchange (the connection is closed if the body was still
   * coming). Does nothing once the body was read. Does not block.
   */
  close(): void {
    const controller = this.#exchange.controller;
    if (!controller.signal.aborted) controller.abort(new AbortError(`${this.#exchange.label}: the response was closed`));
  }

  /** `using res = yield* httpFetch(url)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `HttpFetchResponse(${this.#exchange.label} → ${this.status})`;
  }
}

/**
 * Make an HTTP request with the platform's `fetch` from a task, and evaluate to its
 * response once the status and headers have arrived. If the task is killed or a Timeout
 * strikes while it waits (for the response or a body read), the request is aborted and
 * its connection closed. `timeout` bounds the whole exchange.
 *
 * ```ts
 * const res = yield* httpFetch('http://127.0.0.1:8080/hello', { timeout: 2000 });
 * console.log(res.status, yield* res.text());
 * ```
 *
 * @throws HttpFetchTimeout when `timeout` ms passed first.
 * @throws TypeError (`fetch failed`, with the reason as `cause`) when the request fails:
 *   connection refused or reset, bad URL...
 */
export function httpFetch(url: string | URL, init?: HttpFetchInit): SwitchOp<HttpFetchResponse> {
  return lazy(FETCH, url, init, undefined);
}

const FETCH = blockingOperation<string | URL, HttpFetchInit | undefined, undefined, HttpFetchResponse>('httpFetch()', fetching);
const TEXT = blockingOperation<HttpFetchResponse, undefined, undefined, string>('response.text()', (r) => r.performText());
const JSON_BODY = blockingOperation<HttpFetchResponse, undefined, undefined, unknown>('response.json()', (r) => r.performJson());
const BYTES = blockingOperation<HttpFetchResponse, undefined, undefined, Buffer>('response.bytes()', (r) => r.performBytes());
const READ = blockingOperation<HttpFetchResponse, undefined, undefined, Uint8Array | null>('response.read()', (r) => r.performRead());

function* fetching(url: string | URL, init: HttpFetchInit | undefined): GreenletBody<HttpFetchResponse> {
  const { timeout, ...requestInit } = init ?? {};
  const method = (requestInit.method ?? 'GET').toUpperCase();
  const exchange = new FetchExchange(`${method} ${String(url)}`, timeout);
  const userSignal = requestInit.signal ?? null;
  const response = yield* exchange.step((signal) =>
    fetch(url, { ...requestInit, signal: userSignal === null ? signal : AbortSignal.any([signal, userSignal]) }),
  );
  return new HttpFetchResponse(response, exchange);
}
