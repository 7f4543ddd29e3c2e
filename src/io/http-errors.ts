/**
 * The errors of the HTTP layer: what a request handler, the server and `httpFetch` raise.
 *
 * - {@link HttpError} carries a status code: a handler throws it to answer with that
 *   status instead of 500, and the server does not report it (it is the client's fault).
 *   {@link PayloadTooLarge} (413) and {@link BadRequest} (400) are the ones the request's
 *   body reader raises.
 * - {@link ClientDisconnected} is the kill a request's task receives when its client goes
 *   away; it extends `GreenletExit`, so the task ends quietly, like any kill.
 * - {@link BodyReadTimeout}, {@link ResponseWriteTimeout} and {@link HttpFetchTimeout}
 *   extend the hub's `Timeout`: `catch (e) { if (e instanceof Timeout) ... }` catches them.
 *
 * @module
 */
import { GreenletExit } from '../core/errors.js';
import { Timeout } from '../hub/timeout.js';

/**
 * An error with an HTTP status. Thrown from a handler before anything was sent, it makes
 * the server answer with `status` and the error's message as a plain-text body, and it is
 * not reported (it is an answer, not a bug). Once the response has started, the server can
 * only close the connection.
 *
 * ```ts
 * const server = new HttpServer(function* (request, response) {
 *   if (request.path !== '/') throw new HttpError(404, `no page at ${request.path}`);
 *   response.send(200, 'home');
 * });
 * ```
 */
export class HttpError extends Error {
  /** The status code to answer with (400–599). */
  readonly status: number;

  constructor(status: number, message?: string, options?: ErrorOptions) {
    super(message ?? `HTTP ${status}`, options);
    this.status = status;
  }

  static {
    this.prototype.name = 'HttpError';
  }
}

/**
 * The request's body is larger than the limit of the read (`request.body({ limit })`, or
 * the server's `maxBodySize`). Raised before reading anything when the `Content-Length`
 * header already says so. Left uncaught, the server answers 413 and closes the connection.
 */
export class PayloadTooLarge extends HttpError {
  /** The limit that was exceeded, in bytes. */
  readonly limit: number;

  constructor(limit: number, message?: string) {
    super(
      413,
      message ??
        `the request body is larger than ${limit} bytes: read it with a higher limit ` +
          '(`request.body({ limit })`, or the server\'s `maxBodySize`) if such bodies are expected',
    );
    this.limit = limit;
  }

  static {
    this.prototype.name = 'PayloadTooLarge';
  }
}

/**
 * The request cannot be understood: its body is not the JSON `request.json()` expected.
 * Left uncaught, the server answers 400.
 */
export class BadRequest extends HttpError {
  constructor(message = 'bad request', options?: ErrorOptions) {
    super(400, message, options);
  }

  static {
    this.prototype.name = 'BadRequest';
  }
}

/**
 * The client of a request went away (closed or reset its connection) before the response
 * was complete. The request's task is killed with it, wherever it waits, so its `finally`
 * blocks run and its blocking calls stop; the body reader and `response.write()` raise it
 * too. It is a `GreenletExit`: the task ends as killed, and nothing is reported.
 */
export class ClientDisconnected extends GreenletExit {
  constructor(message = 'the client disconnected before the response was complete') {
    super(message);
  }

  static {
    this.prototype.name = 'ClientDisconnected';
  }
}

/**
 * A read of the request's body (`request.read`, `body`, `text`, `json` with `timeout`)
 * got no data in time. Left uncaught, the server answers 408 and closes the connection.
 */
export class BodyReadTimeout extends Timeout {
  constructor(ms: number) {
    super(ms);
    this.message = `the request body did not arrive within ${ms} ms`;
  }

  static {
    this.prototype.name = 'BodyReadTimeout';
  }
}

/**
 * `response.write(chunk, { timeout })` waited that long for a slow client to take the data
 * already buffered. The chunk was accepted (it is buffered); the client is too slow.
 */
export class ResponseWriteTimeout extends Timeout {
  constructor(ms: number) {
    super(ms);
    this.message = `the client took none of the buffered response within ${ms} ms`;
  }

  static {
    this.prototype.name = 'ResponseWriteTimeout';
  }
}

/**
 * `httpFetch(url, { timeout })` did not complete in time: the request, or the reading of
 * its body, was aborted.
 */
export class HttpFetchTimeout extends Timeout {
  /** What was fetched: `GET http://...`. */
  readonly request: string;

  constructor(ms: number, request: string) {
    super(ms);
    this.request = request;
    this.message = `${request} did not complete within ${ms} ms; it was aborted`;
  }

  static {
    this.prototype.name = 'HttpFetchTimeout';
  }
}

/**
 * `response.write()` or `response.end()` after the response was ended: nothing more can
 * be sent on it.
 */
export class ResponseFinished extends Error {
  constructor(message = 'the response has already ended: nothing more can be written to it') {
    super(message);
  }

  static {
    this.prototype.name = 'ResponseFinished';
  }
}
