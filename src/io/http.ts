/**
 * The HTTP part of the I/O layer: a server that runs one task per request
 * ({@link HttpServer}, with {@link HttpRequest} and {@link HttpResponse}), and
 * {@link httpFetch}, a `fetch` from a task that is aborted when the task stops waiting.
 *
 * @module
 */
export { HttpServer, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_DRAIN_SIZE, DEFAULT_STOP_GRACE } from './http-server.js';
export type { HttpHandler, HttpServerOptions } from './http-server.js';
export { HttpRequest } from './http-request.js';
export type { BodyReadOptions } from './http-request.js';
export { HttpResponse } from './http-response.js';
export type { ResponseChunk, ResponseWriteOptions } from './http-response.js';
export { httpFetch, HttpFetchResponse } from './http-client.js';
export type { HttpFetchInit } from './http-client.js';
export {
  HttpError,
  PayloadTooLarge,
  BadRequest,
  ClientDisconnected,
  BodyReadTimeout,
  ResponseWriteTimeout,
  HttpFetchTimeout,
  ResponseFinished,
} from './http-errors.js';
