/**
 * `HttpServer`: an HTTP server on `node:http` that runs one task per request.
 *
 * Node parses HTTP; this class turns each `'request'` event into a {@link Task} running
 * `handler(request, response)`, so a handler reads like sequential code
 * (`yield* request.json()`, `yield* sleep(100)`, `yield* response.write(chunk)`), and a
 * slow request parks its own task while every other request goes on.
 *
 * A request's life:
 *
 * ```text
 *  'request' ──▶ task started ──(pool full: parks in pool.add)──▶ handler runs ──▶ returns: response ended
 *                     │                                               │──▶ throws: 500 / its HttpError status / report
 *                     └── client disconnects (response 'close' before 'finish') ──▶ task killed (ClientDisconnected)
 * ```
 *
 * Server states: `new ──start()──▶ starting ──'listening'──▶ listening ──stop()──▶ stopping ──▶ stopped`
 * (`close()` goes straight to stopped; a failed start too).
 *
 * Invariants:
 * - `#inFlight` counts the requests whose task has not ended: each request's task is its
 *   Exchange, counted when the request arrives and counted out (`released`) by its own
 *   body as it ends (a `finally`), or, for a task killed before it began, by a watcher of
 *   its end. The list `#first`…`#last` holds those of them that can be found by `stop()`
 *   and `close()`, in arrival order: every one except a request whose handler is running
 *   at once in its task's plain `run` (the current task, the only one that can be so: it
 *   goes on the list if it has to block, in `serveRequest`, or ends without blocking and
 *   was never listed; `#exchanges()` adds it). (The server's own list rather than a
 *   `Group`: no `Set` entry and no link per request; and no store of the exchange into the
 *   long-lived server, two write barriers, for a request answered at once.) `stop()` waits
 *   for the count to reach 0 (`#drained`), then kills what is left.
 * - With a pool, at most `pool.capacity` handlers run; the other requests' tasks wait in
 *   `pool.add()` (parked, in arrival order), never in an unbounded side queue.
 * - `#connections` holds every open connection with its count of responses not yet
 *   finished or closed (a `Connection`, which each exchange keeps: one lookup per request);
 *   while stopping, a connection whose count drops to 0 is ended (FIN after its data), so
 *   keep-alive connections do not outlive the stop. Every response sent while stopping
 *   carries `Connection: close`.
 * - A request's task is killed when its response closes before it finished (the client
 *   went away): its `finally` blocks run, its body read or write stops.
 * - When `stop()` returns, the listener is closed, every connection is destroyed and the
 *   Node server has emitted `'close'`: no handle of the server is left.
 *
 * Coming from gevent: pywsgi's `WSGIServer` runs one greenlet per *connection* and
 * handles its requests one after the other; here each request gets its own task (Node
 * owns the connection and its keep-alive). `stop(graceMs)` is gevent's `stop(timeout)`:
 * stop accepting, wait for the handlers up to the grace period (default 1 s, gevent's
 * `stop_timeout`), kill the rest and wait up to 1 s for them to end. Unlike gevent, it
 * also kills handlers when no pool is used, and closes the remaining connections.
 *
 * @module
 */
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { isIterator, type SwitchOp, type SwitchSignal } from '../core/switcher.js';
import { blockingOperation, getHub } from '../hub/hub.js';
import { Task, WATCH_END, awaitEnds, currentTaskOrNull } from '../hub/task.js';
import { now } from '../hub/timers.js';
import { Event } from '../sync/event.js';
import { Pool } from '../sync/pool.js';
import { once } from '../interop/events.js';
import { waitFor } from '../interop/wait.js';
import { BodyReadTimeout, ClientDisconnected, HttpError } from './http-errors.js';
import { HttpRequest } from './http-request.js';
import { HttpResponse } from './http-response.js';
import { parseRequestTarget } from './request-target.js';
import { AcceptBackoff, type AcceptBackoffOptions } from './accept-backoff.js';
import {
  DEFAULT_CONNECTIONS_CHECKING_INTERVAL,
  DEFAULT_HEADERS_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_REQUEST_TIMEOUT,
  defaultMaxConnections,
  lingerClose,
} from './server-limits.js';

/**
 * What runs for each request, in its own task: a generator function (it may block with
 * `yield*`) or a plain function. A plain function may return a promise; the task waits
 * for it. When it returns, the response is ended if it was not.
 */
export type HttpHandler = (request: HttpRequest, response: HttpResponse) => GreenletBody<unknown> | unknown;

/** Options of an {@link HttpServer}. */
export interface HttpServerOptions {
  /** The address to listen on (default `'127.0.0.1'`: only this machine can connect). */
  host?: string;
  /** The port (default 0: a free port chosen by the system; read it from `server.port`). */
  port?: number;
  /**
   * Bound how many handlers run at once: a `Pool` (possibly shared) or a size. Requests
   * beyond it wait, each in its own parked task, for a place. Unbounded by default.
   */
  pool?: Pool | number;
  /** The largest request body the body reads accept unless told otherwise (default 1 MiB). */
  maxBodySize?: number;
  /**
   * The most body bytes the server reads off and drops when a handler is done without
   * reading the whole body (default 256 KiB, Go's figure), so that the connection can carry
   * the next request, error answers (404, 500...) included. A longer rest, or one that does
   * not arrive within `requestTimeout`, closes the connection after the answer. 0: never
   * drain, close instead.
   */
  maxDrainSize?: number;
  /**
   * Ms to receive the whole request, head and body, from its first byte (Node's
   * `requestTimeout`); past it the client gets 408 and the connection closes. Default
   * 30 000 (Node's is 300 000); 0: none. Also bounds the drain of an unread body.
   */
  requestTimeout?: number;
  /**
   * Ms to receive the request head (Node's `headersTimeout`): a client that sends its
   * headers slowly (slowloris) gets 408 and is closed. Default 10 000 (Node's is 60 000);
   * at most `requestTimeout`.
   */
  headersTimeout?: number;
  /** Ms an idle keep-alive connection stays open between requests (Node's `keepAliveTimeout`). Default 5 000. */
  keepAliveTimeout?: number;
  /**
   * How often the two timeouts above are checked, in ms (Node's
   * `connectionsCheckingInterval`): they strike up to this much late. Default 1 000 (Node's
   * is 30 000).
   */
  connectionsCheckingInterval?: number;
  /** The largest request head, in bytes (Node's `maxHeaderSize`); larger ones get 431. Default 16 KiB. */
  maxHeaderSize?: number;
  /**
   * Refuse new connections while this many are open: each gets a `503 Service
   * Unavailable` with `Retry-After: 1` and `Connection: close` as soon as it is accepted,
   * and is counted in `rejected`. Default: 80 % of the process's file-descriptor limit, at
   * most 50,000 (10,000 where the limit cannot be read), so that the server refuses before
   * the process runs out of descriptors.
   */
  maxConnections?: number;
  /**
   * What to do when the process runs out of file descriptors: stop accepting (the open
   * connections are served), report it once per burst, and try again after 5 ms, doubling
   * up to `maxDelay` (default 1000 ms). See {@link AcceptBackoffOptions}.
   */
  acceptBackoff?: AcceptBackoffOptions;
  /**
   * The name of a request's task, shown in run info, traces, `/stats`-like listings and
   * error reports. By default the method and the path without the query string
   * (`request.label`, e.g. `GET /orders`): queries carry secrets (`?api_key=...`). Give a
   * function to name them otherwise, e.g. to hide ids in paths.
   */
  taskName?: (request: HttpRequest) => string;
}

/** The default of `maxDrainSize`: 256 KiB. */
export const DEFAULT_MAX_DRAIN_SIZE = 256 << 10;
/** The default of `maxBodySize`: 1 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 1 << 20;
/** The default grace period of `stop()`, in ms (gevent's `stop_timeout`). */
export const DEFAULT_STOP_GRACE = 1000;
/** How long `stop()` waits for killed handlers to end (gevent's `pool.kill(timeout=1)`). */
const KILL_WAIT = 1000;

const NEW = 'new';
const STARTING = 'starting';
const LISTENING = 'listening';
const STOPPING = 'stopping';
const STOPPED = 'stopped';
type State = typeof NEW | typeof STARTING | typeof LISTENING | typeof STOPPING | typeof STOPPED;

/** The `emit` that {@link ExchangeResponse} overrides. */
const RESPONSE_EMIT = http.ServerResponse.prototype.emit;

/**
 * Node's response to a request, with the exchange that answers it (null until there is
 * one). Its `'close'` (after its `'finish'`, or alone when the connection went first)
 * reaches the exchange through `emit` itself, before any listener: no listener is added
 * per request (an `on()` and its entry cost about 300 instructions per request).
 */
class ExchangeResponse extends http.ServerResponse {
  exchange: Exchange | null = null;

  override emit(event: string | symbol): boolean {
    if (event === 'close' && this.exchange !== null) onResponseClose(this, this.exchange);
    // The events Node emits on a response at every request ('prefinish', 'finish',
    // 'close') come without arguments: a plain call, which the compiler can inline (an
    // `apply` of `arguments` costs a builtin that forwards them, and keeps EventEmitter's
    // emit out of line). Others go on with `arguments` as they came: a rest parameter and
    // a spread would copy them into an array.
    if (arguments.length === 1) return RESPONSE_EMIT.call(this, event);
    return RESPONSE_EMIT.apply(this, arguments as unknown as [event: string | symbol, ...args: unknown[]]);
  }
}


/** A response closed: kill the task of a client that left, count the response out. */
function onResponseClose(response: ExchangeResponse, exchange: Exchange): void {
  // Usually the task has long ended (a kill would do nothing): only then is the response read.
  if (!exchange.ready() && !response.writableFinished) exchange.kill(new ClientDisconnected(), { block: false });
  exchange.server.responseDone(exchange);
}

/** An open connection, with how many of its responses are not finished or closed yet. */
class Connection {
  unfinished = 0;
}

/**
 * Where a socket keeps its {@link Connection} (set at 'connection'), so that a request
 * finds it with a property read rather than a `Map` lookup.
 */
const CONNECTION: unique symbol = Symbol('HttpServer connection');
type ServerSocket = Socket & { [CONNECTION]?: Connection };

/** {@link Exchange.flags}: the response is still counted as unfinished on its connection. */
const COUNTED = 1;
/** {@link Exchange.flags}: the task's body has begun (one killed before it begins ends without it). */
const BEGAN = 2;
/** {@link Exchange.flags}: it is counted in its server's `inFlight` (its task has not ended). */
const IN_FLIGHT = 4;
/** {@link Exchange.flags}: `stop()` has killed it (once, as a Group kills a member once). */
const KILLED_BY_STOP = 8;
/**
 * {@link Exchange.flags}: the whole request had arrived when it came (`fullyRead`; the usual
 * bodyless GET), so it still has when the handler returns: no second look at its headers.
 */
const ARRIVED_WHOLE = 16;
/** {@link Exchange.flags}: it is in its server's list of requests in flight (see the invariants). */
const LISTED = 32;

/**
 * A request in flight: its task, with what the task needs. One object per request (the
 * task is the exchange), so that serving a request allocates as little as possible: what
 * every request of a server shares (the handler, the pool, `taskName`) is read from the
 * server, and its yes-or-no states are bits of one field.
 */
class Exchange extends Task<void, []> {
  /** COUNTED, BEGAN, IN_FLIGHT, KILLED_BY_STOP, ARRIVED_WHOLE, LISTED. */
  flags = COUNTED | IN_FLIGHT;
  /** Its neighbours in the server's list, in arrival order. */
  prev: Exchange | null = null;
  next: Exchange | null = null;
  #label: string | null = null;
  constructor(
    readonly server: HttpServer,
    readonly request: HttpRequest,
    readonly response: HttpResponse,
    readonly connection: Connection,
  ) {
    super();
  }

  /** Reports name a request's task after the request: `GET /path` (or the server's `taskName`). */
  override get name(): string {
    if (this.#label === null) {
      let label = this.request.label;
      const taskName = this.server.taskName;
      if (taskName !== null) {
        try {
          label = String(taskName(this.request));
        } catch (error) {
          getHub().report({ kind: 'callback-error', where: `the taskName option of ${String(this.server)}`, error });
        }
      }
      this.#label = label;
    }
    return this.#label;
  }

  override set name(value: string) {
    this.#label = String(value);
  }

  /**
   * The task's body. Most handlers answer at once (a plain function that calls `send()`):
   * those run here to the end without a generator, and the task ends as soon as `run`
   * returns (two generator objects and a resume fewer per request). Whatever has to block
   * (a pool, a generator handler, a promise, a failure, an unread body) goes on in
   * {@link serveRequest}.
   */
  override run(): GreenletBody<void> | undefined {
    this.flags |= BEGAN;
    const server = this.server;
    if (server.pool !== null) return serveRequest(this, PENDING_HANDLER, NO_FAILURE);
    let outcome: unknown;
    try {
      outcome = server.handler(this.request, this.response);
    } catch (error) {
      return serveRequest(this, undefined, error);
    }
    if (
      isIterator(outcome) ||
      typeof (outcome as { then?: unknown } | null)?.then === 'function' ||
      ((this.flags & ARRIVED_WHOLE) === 0 && !this.request.fullyRead)
    ) {
      return serveRequest(this, outcome, NO_FAILURE);
    }
    try {
      const raw = this.response.raw;
      if (!raw.writableEnded && !raw.destroyed) raw.end();
    } finally {
      server.released(this);
    }
    return undefined;
  }
}

/**
 * An HTTP server on `node:http` that runs `handler(request, response)` in a new task for
 * every request. It listens on 127.0.0.1 unless told otherwise.
 *
 * ```ts
 * await run(function* () {
 *   const server = new HttpServer(function* (request, response) {
 *     if (request.path === '/slow') yield* sleep(Number(request.query.get('ms') ?? 100));
 *     response.send(200, `hello from ${request.path}\n`);
 *   }, { port: 8080, pool: 1000 });
 *   yield* server.serveForever(); // until server.stop() is called, or this task is killed
 * });
 * ```
 *
 * A handler that throws gets a 500 answer (if nothing was sent yet; otherwise the
 * connection is cut) and is reported through the hub's reporter with the method and path;
 * an {@link HttpError} it throws becomes its status instead, unreported. The server keeps
 * serving either way. When a client disconnects, its request's task is killed with
 * {@link ClientDisconnected}.
 */
export class HttpServer {
  /** The `node:http` server underneath, for what this class does not cover. */
  readonly nodeServer: http.Server;
  /** The pool that bounds the handlers, or null. */
  readonly pool: Pool | null;
  /** The default limit of request body reads, in bytes. */
  readonly maxBodySize: number;
  /** The most unread body bytes drained after a handler so that its connection stays open. */
  readonly maxDrainSize: number;
  /** @internal How long a drain may take (ms): the request timeout. */
  readonly drainTimeout: number;
  /** The most connections it keeps open; more are answered 503 (see `maxConnections`). */
  readonly maxConnections: number;
  readonly #backoffOptions: AcceptBackoffOptions | undefined;
  #backoff: AcceptBackoff | null = null;
  #reopening = false;
  #accepted = 0;
  #rejected = 0;
  /** @internal What runs for each request. */
  readonly handler: HttpHandler;
  /** @internal The `taskName` option, or null. */
  readonly taskName: ((request: HttpRequest) => string) | null;
  readonly #host: string;
  readonly #port: number;
  #state: State = NEW;
  /** The requests in flight, oldest first (see the invariants). */
  #first: Exchange | null = null;
  #last: Exchange | null = null;
  #inFlight = 0;
  /** While stop() waits for the requests in flight: set when the last one ends. */
  #drained: Event | null = null;
  /** Open connections, with how many of their responses are not finished. */
  readonly #connections = new Map<Socket, Connection>();
  /** Set when the start ended, listening or not. */
  readonly #startEnded = new Event();
  /** Set when the Node server emitted 'close'. */
  readonly #closed = new Event();
  /** Set when stop() or close() is done. */
  readonly #stopped = new Event();
  #address: AddressInfo | null = null;

  /**
   * Make a server; it listens once started (`yield* server.start()` or
   * `yield* server.serveForever()`).
   */
  constructor(handler: HttpHandler, options: HttpServerOptions = {}) {
    if (typeof handler !== 'function') {
      throw new TypeError(`HttpServer takes a handler function (request, response) => ..., not ${handler === null ? 'null' : typeof handler}`);
    }
    this.handler = handler;
    this.taskName = options.taskName ?? null;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    const pool = options.pool;
    this.pool = pool === undefined ? null : typeof pool === 'number' ? new Pool(pool) : pool;
    this.maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.maxDrainSize = options.maxDrainSize ?? DEFAULT_MAX_DRAIN_SIZE;
    const requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.drainTimeout = requestTimeout > 0 ? requestTimeout : Infinity; // 0: Node's "no timeout"
    let headersTimeout = options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT;
    // Node refuses a head timeout longer than the request's; a shorter requestTimeout given alone wins.
    if (requestTimeout > 0 && headersTimeout > requestTimeout && options.headersTimeout === undefined) headersTimeout = requestTimeout;
    this.maxConnections = options.maxConnections ?? defaultMaxConnections();
    this.#backoffOptions = options.acceptBackoff;
    const server = http.createServer<typeof http.IncomingMessage, typeof ExchangeResponse>({
      ServerResponse: ExchangeResponse,
      requestTimeout,
      headersTimeout,
      connectionsCheckingInterval: options.connectionsCheckingInterval ?? DEFAULT_CONNECTIONS_CHECKING_INTERVAL,
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
    });
    server.keepAliveTimeout = options.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT;
    server.on('request', this.#onRequest);
    server.on('connection', this.#onConnection);
    // Only the stop's close: the accept back-off closes the listener for a while too.
    server.on('close', () => {
      if (this.#state === STOPPING || this.#state === STOPPED) this.#closed.set();
    });
    server.on('error', this.#onServerError);
    this.nodeServer = server as unknown as http.Server;
  }

  /** The address the server listens on (`{ address, family, port }`), or null when it does not. */
  get address(): AddressInfo | null {
    return this.#address;
  }

  /** The port it listens on (useful with port 0); 0 when it does not listen. */
  get port(): number {
    return this.#address?.port ?? 0;
  }

  /** `http://host:port`, to build request URLs from. */
  get url(): string {
    const a = this.#address;
    if (a === null) return '';
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** Requests whose task has not ended: running, or waiting for a place in the pool. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /** How many connections were accepted since the start (refused ones included). */
  get accepted(): number {
    return this.#accepted;
  }

  /** How many connections were refused (503) because `maxConnections` were open. */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * How many times the server stopped accepting for lack of file descriptors (see
   * `acceptBackoff`), and whether it has stopped now.
   */
  get acceptPauses(): { count: number; paused: boolean } {
    return { count: this.#backoff?.pauses ?? 0, paused: this.#backoff?.paused ?? false };
  }

  /** Whether the server listens (started and not stopping). */
  get started(): boolean {
    return this.#state === LISTENING;
  }

  /** Whether the server has been stopped (or closed, or failed to start). */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /**
   * Start listening; evaluates to the server once it does. Inside a task:
   * `const server = yield* new HttpServer(handler).start()`. Starting a server that
   * listens already does nothing.
   *
   * @throws the listen error (e.g. `EADDRINUSE`); the server is then stopped.
   */
  start(): SwitchOp<this> {
    return lazy(START, this, undefined, undefined) as SwitchOp<this>;
  }

  /** @internal Performs {@link HttpServer.start}. */
  *performStart(): GreenletBody<this> {
    switch (this.#state) {
      case LISTENING:
        return this;
      case STARTING:
        yield* this.#startEnded.wait();
        if ((this.#state as State) !== LISTENING) throw new Error(`${this.toString()} did not start`);
        return this;
      case STOPPING:
      case STOPPED:
        throw new Error(`${this.toString()} has been stopped and cannot start again: create a new HttpServer`);
      default:
        break;
    }
    this.#state = STARTING;
    this.nodeServer.listen({ host: this.#host, port: this.#port });
    try {
      yield* once(this.nodeServer, 'listening');
    } catch (error) {
      this.#state = STOPPED;
      this.#stopped.set();
      throw error;
    } finally {
      this.#startEnded.set();
    }
    if ((this.#state as State) !== STARTING) {
      // close() was called while it started.
      this.nodeServer.close();
      throw new Error(`${this.toString()} was closed while it started`);
    }
    this.#address = this.nodeServer.address() as AddressInfo;
    this.#state = LISTENING;
    this.#backoff = new AcceptBackoff(this.#listener, this.#backoffOptions);
    this.#backoff.start();
    return this;
  }

  /** The same as {@link HttpServer.start}, under Node's name: `yield* server.listen()`. */
  listen(): SwitchOp<this> {
    return lazy(LISTEN, this, undefined, undefined) as SwitchOp<this>;
  }

  /**
   * Start if needed, then serve until the server is stopped (by `stop()` or `close()`
   * from another task or a callback). If the task running it is killed, the server is
   * stopped first, with the default grace period.
   */
  serveForever(): SwitchOp<void> {
    return lazy(SERVE_FOREVER, this, undefined, undefined);
  }

  /** @internal Performs {@link HttpServer.serveForever}. */
  *performServeForever(): GreenletBody<void> {
    if (this.#state === NEW) yield* this.performStart();
    try {
      yield* this.#stopped.performWait(undefined);
    } finally {
      if (!this.#stopped.isSet()) yield* this.performStop(DEFAULT_STOP_GRACE);
    }
  }

  /**
   * Stop gracefully: stop accepting connections and close the idle ones at once, let the
   * requests in flight finish for up to `graceMs` (default 1000), then kill their tasks
   * (their `finally` blocks run; killed tasks get up to 1 s to end) and destroy the
   * remaining connections. Evaluates when the server is fully closed. Responses sent
   * during the grace period carry `Connection: close`. Calling it again waits for the
   * same stop.
   *
   * ```ts
   * yield* server.stop(5000); // up to 5 s for the requests in flight
   * ```
   */
  stop(graceMs: number = DEFAULT_STOP_GRACE): SwitchOp<void> {
    return lazy(STOP, this, graceMs, undefined);
  }

  /** @internal Performs {@link HttpServer.stop}. */
  *performStop(graceMs: number): GreenletBody<void> {
    if (this.#state === STARTING) yield* this.#startEnded.wait();
    switch (this.#state) {
      case NEW:
        this.#state = STOPPED;
        this.#stopped.set();
        return;
      case STOPPING:
      case STOPPED:
        yield* this.#stopped.wait();
        return;
      default:
        break;
    }
    this.#state = STOPPING;
    this.#stopAccepting();
    // A handler that stops its own server is not waited for (it would wait for itself).
    const current = currentTaskOrNull();
    if (current instanceof Exchange && current.server === this) this.released(current);
    try {
      if (this.#inFlight !== 0) {
        this.#drained = new Event();
        if (!(yield* this.#drained.performWait(graceMs))) yield* this.#killInFlight();
      }
      this.#destroyConnections();
      yield* this.#closed.wait();
      // Every connection was destroyed; their own 'close' events may still be on their way.
      this.#connections.clear();
    } finally {
      // Also when the stopping task is killed meanwhile: the server is stopped either way.
      this.#destroyConnections();
      this.#state = STOPPED;
      this.#stopped.set();
    }
  }

  /**
   * Kill the requests in flight, each once, those that arrive meanwhile too, and wait up
   * to KILL_WAIT for them to end (a Group's `kill({ timeout })`).
   */
  *#killInFlight(): GreenletBody<void> {
    const deadline = now() + KILL_WAIT;
    for (;;) {
      const alive = this.#exchanges().filter((exchange) => !exchange.ready());
      if (alive.length === 0) return;
      for (const exchange of alive) {
        if ((exchange.flags & KILLED_BY_STOP) !== 0) continue;
        exchange.flags |= KILLED_BY_STOP;
        exchange.kill(undefined, { block: false });
      }
      const left = deadline - now();
      if (left <= 0) return;
      // A kill's wait: an error a request raises as it unwinds is reported, not taken here.
      if (!(yield* awaitEnds(alive, left))) return;
    }
  }

  /**
   * The requests in flight, oldest first, as a list of their own: the listed ones, and the
   * current task if it is a request of this server answered at once in its plain `run`
   * (not listed: see the invariants), e.g. a handler that calls `close()`.
   */
  #exchanges(): Exchange[] {
    const list: Exchange[] = [];
    for (let exchange = this.#first; exchange !== null; exchange = exchange.next) list.push(exchange);
    const current = currentTaskOrNull();
    if (current instanceof Exchange && current.server === this && (current.flags & (IN_FLIGHT | LISTED)) === IN_FLIGHT) list.push(current);
    return list;
  }

  /**
   * Stop at once, from anywhere (plain code too): stop accepting, kill every request's
   * task and destroy every connection, without waiting. The listener's handle is released
   * when Node has closed it, shortly after.
   */
  close(): void {
    if (this.#state === STOPPED) return;
    const wasNew = this.#state === NEW;
    this.#state = STOPPING;
    if (!wasNew) {
      this.#stopAccepting();
      for (const exchange of this.#exchanges()) exchange.kill(undefined, { block: false });
      this.#destroyConnections();
    }
    this.#state = STOPPED;
    this.#stopped.set();
  }

  /** Close the listener and the idle connections; from now on every response closes its connection. */
  #stopAccepting(): void {
    const server = this.nodeServer;
    this.#backoff?.stop();
    // Also when the accept back-off has closed the listener: Node then emits 'close' once drained.
    server.close();
    for (const exchange of this.#exchanges()) {
      const raw = exchange.response.raw;
      if (!raw.headersSent && !raw.destroyed) raw.setHeader('connection', 'close');
    }
    for (const [socket, connection] of this.#connections) if (connection.unfinished === 0) socket.end();
  }

  #destroyConnections(): void {
    for (const socket of [...this.#connections.keys()]) socket.destroy();
  }

  readonly #onConnection = (socket: Socket): void => {
    if (this.#state === STOPPING || this.#state === STOPPED) {
      socket.destroy();
      return;
    }
    this.#accepted++;
    if (this.#connections.size >= this.maxConnections) {
      this.#rejected++;
      refused.add(socket);
      socket.on('error', ignore);
      lingerClose(socket, CONNECTION_LIMIT_ANSWER);
      return;
    }
    const connection = new Connection();
    (socket as ServerSocket)[CONNECTION] = connection;
    this.#connections.set(socket, connection);
    socket.on('close', () => this.#connections.delete(socket));
  };

  readonly #onServerError = (error: Error): void => {
    // While starting, the start's own wait receives the error; while the accept back-off
    // reopens the listener, the back-off does.
    if (this.#state === STARTING || this.#reopening || this.#backoff?.listenerError(error) === true) return;
    getHub().report({ kind: 'callback-error', where: this.toString(), error });
  };

  /** The listening socket, as the accept back-off pauses and reopens it. */
  readonly #listener = {
    describe: (): string => this.toString(),
    closeListener: (): void => {
      // net's close, not http's: that one would also close the idle keep-alive connections.
      net.Server.prototype.close.call(this.nodeServer);
    },
    reopenListener: (done: (error: Error | null) => void): void => {
      if (this.#state !== LISTENING) return;
      const server = this.nodeServer;
      this.#reopening = true;
      const onError = (error: Error): void => {
        this.#reopening = false;
        done(error);
      };
      server.once('error', onError);
      server.listen({ host: this.#host, port: this.port }, () => {
        server.removeListener('error', onError);
        this.#reopening = false;
        if (this.#state !== LISTENING) {
          server.close(); // stop() came while it reopened
          return;
        }
        done(null);
      });
    },
  };

  readonly #onRequest = (req: http.IncomingMessage, res: ExchangeResponse): void => {
    const socket = req.socket;
    let connection = (socket as ServerSocket)[CONNECTION];
    if (connection === undefined && refused.has(socket)) return; // answered 503 already; the connection is closing
    if (this.#state === STOPPED || socket.writableEnded) {
      res.destroy();
      return;
    }
    const target = parseRequestTarget(req.method ?? 'GET', req.url ?? '');
    if ('bad' in target) {
      // Not a target we can route: no task, no report (the client is at fault).
      const body = `Bad Request: ${target.bad}\n`;
      res.shouldKeepAlive = false;
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
      res.end(body);
      return;
    }
    if (this.#state === STOPPING) res.setHeader('connection', 'close');
    const request = new HttpRequest(req, this.maxBodySize, target);
    const response = new HttpResponse(res, request);
    if (connection === undefined) {
      // Not seen by 'connection' (it should have been): counted from here on.
      connection = new Connection();
      (socket as ServerSocket)[CONNECTION] = connection;
      this.#connections.set(socket, connection);
    }
    // Started at once (startNow below): as a spawned task, it goes on the hub's list of live
    // tasks only if it parks (see Hub.adopt); until then it is current, or queued.
    const hub = getHub();
    hub.spawning = true;
    const exchange = new Exchange(this, request, response, connection);
    connection.unfinished++;
    // 'close' comes after 'finish' on a response that completed, or alone when the
    // connection went first: the response's own emit() passes it to the exchange.
    res.exchange = exchange;
    if (request.fullyRead) exchange.flags |= ARRIVED_WHOLE;
    else closeIfBodyTooLongAtHead(exchange);
    // Counted now, listed only if it has to block (see the invariants).
    this.#inFlight++;
    // We are in Node's request callback, plain main-greenlet code: run the new task now,
    // in this turn of the event loop, instead of a microtask later (and ask for none).
    hub.startNow(exchange);
    if ((exchange.flags & BEGAN) === 0) {
      // Inside a pass (a request emitted by a task) it has not begun: listed now, in
      // arrival order, and, if it is killed before it begins, its body never runs to count
      // it out, so its end is watched (rare: no cost otherwise).
      this.listed(exchange);
      exchange[WATCH_END](releaseAtEnd);
    }
  };

  /** @internal Append a request in flight to the list, unless it is there already or has ended. */
  listed(exchange: Exchange): void {
    if ((exchange.flags & (IN_FLIGHT | LISTED)) !== IN_FLIGHT) return;
    exchange.flags |= LISTED;
    const last = this.#last;
    exchange.prev = last;
    if (last === null) this.#first = exchange;
    else last.next = exchange;
    this.#last = exchange;
  }

  /** @internal A request's task ends (or is no longer waited for): count it out and take it off the list, once. */
  released(exchange: Exchange): void {
    const flags = exchange.flags;
    if ((flags & IN_FLIGHT) === 0) return;
    exchange.flags = flags & ~(IN_FLIGHT | LISTED);
    if ((flags & LISTED) !== 0) {
      const { prev, next } = exchange;
      if (prev === null) this.#first = next;
      else prev.next = next;
      if (next === null) this.#last = prev;
      else next.prev = prev;
      exchange.prev = exchange.next = null;
    }
    if (--this.#inFlight === 0 && this.#drained !== null) this.#drained.set();
  }

  /** @internal A response finished or closed: one fewer unfinished on its connection. */
  responseDone(exchange: Exchange): void {
    if ((exchange.flags & COUNTED) === 0) return;
    exchange.flags &= ~COUNTED;
    // The request keeps its socket; a finished response has let go of it.
    const socket = exchange.request.raw.socket;
    if (--exchange.connection.unfinished === 0 && this.#state === STOPPING && !socket.destroyed) socket.end();
  }

  /** `HttpServer(127.0.0.1:8080)`, with the state unless it listens. */
  toString(): string {
    const where = this.#address !== null ? `${this.#address.address}:${this.#address.port}` : `${this.#host}:${this.#port}`;
    return `HttpServer(${where}${this.#state === LISTENING ? '' : `, ${this.#state}`})`;
  }
}

const START = blockingOperation<HttpServer, undefined, undefined, HttpServer>('server.start()', (server) => server.performStart());
const LISTEN = blockingOperation<HttpServer, undefined, undefined, HttpServer>('server.listen()', (server) => server.performStart());
const SERVE_FOREVER = blockingOperation<HttpServer, undefined, undefined, void>('server.serveForever()', (server) =>
  server.performServeForever(),
);
const STOP = blockingOperation<HttpServer, number, undefined, void>('server.stop()', (server, graceMs) => server.performStop(graceMs));

/** Nothing went wrong: the handler returned. */
const NO_FAILURE: unique symbol = Symbol('no failure');
/** `serveRequest` calls the handler itself (after the pool let the request in). */
const PENDING_HANDLER: unique symbol = Symbol('handler not called yet');

/** Unlists a request whose task ended before its body began (see `#onRequest`). */
function releaseAtEnd(task: Task): void {
  const exchange = task as Exchange;
  exchange.server.released(exchange);
}

/**
 * The body of a request's task past the point where it may block (see `Exchange.run`):
 * `outcome` is what the handler returned, or PENDING_HANDLER to call it here; `failure`
 * what it raised already, or NO_FAILURE. The request leaves the server's list as it ends.
 */
function* serveRequest(exchange: Exchange, outcome: unknown, failure: unknown): GreenletBody<void> {
  // It may block from here on: on the list, where stop() and close() find it.
  exchange.server.listed(exchange);
  try {
    if (failure === NO_FAILURE) {
      try {
        if (outcome === PENDING_HANDLER) {
          const pool = exchange.server.pool;
          if (pool !== null) yield* pool.add(exchange);
          // Run the handler in this task's own frame: a generator is delegated to, a plain
          // function's result (a value, a switch, a promise) is used as it is.
          outcome = exchange.server.handler(exchange.request, exchange.response);
        }
        let result: unknown = outcome;
        if (isIterator(outcome)) result = yield* outcome as Generator<SwitchSignal, unknown, unknown>;
        if (typeof (result as { then?: unknown } | null)?.then === 'function') yield* waitFor(result);
      } catch (error) {
        failure = error;
      }
    }
    yield* finishRequest(exchange, failure);
  } finally {
    exchange.server.released(exchange);
  }
}

/** The handler is done (`failure` is what it raised, or NO_FAILURE): answer, drain, end. */
function* finishRequest(exchange: Exchange, failure: unknown): GreenletBody<void> {
  const request = exchange.request;
  const answer = failure === NO_FAILURE ? null : failureAnswer(exchange, failure);
  if (answer === NOTHING_TO_ANSWER) return;
  // Before the connection can carry another request, what the handler left of the body
  // must come off it: read and dropped, within the server's drain limits (Go's net/http
  // does the same, up to 256 KiB). If it cannot, the connection closes after this answer.
  let reusable = false;
  if (answer === null || !answer.close) {
    try {
      reusable = request.fullyRead || (yield* request.discardRest(exchange.server.maxDrainSize, exchange.server.drainTimeout));
    } catch (error) {
      // Killed while draining (stop(), or the client went away).
      const killed = failureAnswer(exchange, error);
      if (killed !== NOTHING_TO_ANSWER) sendAnswer(exchange, killed);
      return;
    }
  }
  if (answer !== null) {
    sendAnswer(exchange, reusable ? answer : { ...answer, close: true });
    return;
  }
  const raw = exchange.response.raw;
  if (!reusable) closeAfterResponse(exchange);
  if (!raw.writableEnded && !raw.destroyed) raw.end();
}

/** What to answer to a failed request. */
interface FailureAnswer {
  readonly status: number;
  readonly message: string;
  /** Close the connection after it, whatever is left of the request. */
  readonly close: boolean;
}

const NOTHING_TO_ANSWER: unique symbol = Symbol('nothing to answer');

/** The handler failed: what can still be answered; report what is a bug. */
function failureAnswer(exchange: Exchange, error: unknown): FailureAnswer | typeof NOTHING_TO_ANSWER {
  if (error instanceof ClientDisconnected) return NOTHING_TO_ANSWER;
  if (error instanceof HttpError) return { status: error.status, message: error.message, close: error.status === 413 };
  if (error instanceof BodyReadTimeout) return { status: 408, message: error.message, close: true };
  // Killed (by stop(), or by other code): no bug to report.
  if (error instanceof GreenletExit) return { status: 503, message: 'the server stopped handling this request', close: true };
  if (exchange.response.raw.destroyed && isConnectionError(error)) return NOTHING_TO_ANSWER; // the client went away under it
  const where = `${String(exchange.server)} handling ${exchange.name}`;
  getHub().report({ kind: 'callback-error', where, error });
  return { status: 500, message: 'Internal Server Error', close: false };
}

/** Send a failure's answer, if the response can still carry one. */
function sendAnswer(exchange: Exchange, answer: FailureAnswer): void {
  const raw = exchange.response.raw;
  if (raw.destroyed || raw.writableEnded) return;
  if (raw.headersSent) {
    // Too late to change the answer: cut the connection, so the client sees it incomplete.
    raw.destroy();
    return;
  }
  for (const name of raw.getHeaderNames()) raw.removeHeader(name);
  if (answer.close) closeAfterResponse(exchange);
  exchange.response.send(answer.status, `${answer.message}\n`);
}

/**
 * The connection of `res` cannot carry another request (the rest of this one is still on
 * the wire): close it once the response is out. With the headers not sent yet, they say
 * `Connection: close`. The close lingers: the write side ends (FIN) and the socket is
 * destroyed only after LINGER_MS or when the client closes, because closing a socket with
 * unread bytes sends a reset, which can make the client's system drop the response it has
 * not read yet (Go's net/http waits 500 ms for the same reason).
 */
function closeAfterResponse(exchange: Exchange): void {
  const res = exchange.response.raw;
  // The request keeps its socket; a finished response has let go of it.
  const socket = exchange.request.raw.socket as Socket | null;
  if (socket === null || socket.destroyed) return;
  if (!res.headersSent) {
    res.setHeader('connection', 'close');
    // Node ends such a connection with destroySoon() once the response is out: linger instead.
    socket.destroySoon = () => lingerClose(socket);
  } else if (res.writableFinished) {
    lingerClose(socket);
  } else {
    res.once('finish', () => lingerClose(socket));
  }
}

/**
 * When the response's head goes out (the handler's first write, or its `send()`), decide
 * whether the connection can carry another request: if more of the body is still unread,
 * by its Content-Length, than the server will drain, the head says `Connection: close`
 * (Go's net/http decides at the same moment). A body of unknown length (chunked) is given
 * the benefit of the doubt: if draining it fails later, the connection closes after the
 * response instead.
 */
function closeIfBodyTooLongAtHead(exchange: Exchange): void {
  const res = exchange.response.raw;
  const writeHead = res.writeHead;
  res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    if (!exchange.request.drainable(exchange.server.maxDrainSize)) closeAfterResponse(exchange);
    return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

const CONNECTION_LIMIT_BODY = 'the server has as many connections as it takes; try again shortly\n';
/** The whole answer to a connection refused at maxConnections, written before any request is read. */
const CONNECTION_LIMIT_ANSWER =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n' +
  `content-length: ${CONNECTION_LIMIT_BODY.length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${CONNECTION_LIMIT_BODY}`;

/** Connections answered 503 at maxConnections: their requests get no task. */
const refused = new WeakSet<Socket>();

function ignore(): void {}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}
