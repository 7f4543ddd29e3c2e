/**
 * `StreamServer`: gevent's `StreamServer`, a TCP (or TLS) server that runs one task per
 * connection, on `node:net` (and `node:tls` for TLS).
 *
 * How a connection is served. The listener accepts connections paused (Node's
 * `pauseOnConnect`): nothing is read until a handler task exists for it. Each one is
 * handed to a new task (through the pool, if there is one), which, for TLS, performs the
 * handshake, wraps the connection in a {@link Socket} and calls `handler(socket,
 * address)`. When the handler returns the socket is closed gracefully; when it fails
 * the socket is destroyed and the error goes to the hub's reporter, under the task's
 * name, which names the connection (errors that only say the connection went away,
 * `ConnectionReset`, `SocketTimeout`, or `SocketClosed` while the server stops, end it
 * quietly).
 *
 * Bounding the work. With a `pool`, at most `pool.capacity` handlers run at once. While
 * the pool is full, new connections wait, unread, in a waiting room of `backlog`
 * connections (served first come, first served as places free up); beyond that they are
 * closed at once. Node gives no way to stop accepting without closing the listening
 * socket, so this waiting room stands in for gevent's "stop reading the listener": the
 * number of connections held is bounded either way. `maxConnections` bounds the open
 * connections of the server as a whole (handled, waiting or closing): one more is closed
 * as soon as it is accepted.
 *
 * States: NEW ──start()/listen()──▶ STARTING ──listening──▶ LISTENING ──stop()──▶
 * STOPPING ──every connection closed──▶ CLOSED (also NEW ──stop()──▶ CLOSED).
 *
 * Invariants:
 * - `open` holds exactly the accepted Node sockets whose `'close'` has not been emitted;
 *   `connections` is its size;
 * - every task in `handlers` serves one accepted socket and is in the pool, if any;
 * - `waitingRoom` is non-empty only while the server listens and has a pool; the
 *   `admitter` task runs exactly while it is non-empty;
 * - in STOPPING and CLOSED no connection is accepted (any that arrives is closed);
 * - `stopped` is set exactly when the state reaches CLOSED.
 *
 * Coming from gevent: the handler gets `(socket, address)` as in gevent, and its socket
 * is closed when it returns (gevent ≥ 1.1); `spawn=` is `pool` (a `Pool` or a size);
 * `stop(timeout)` is `stop(graceMs)` in ms, and also destroys the sockets of handlers it
 * had to kill; `server_host` / `server_port` are `address.host` / `address.port`;
 * `start()` is a blocking operation (`yield* server.start()`), `listen()` its promise
 * form; there is no `handle()` to override, no `set_spawn`, and no `do_read` hooks.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { call } from '../core/call.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { asyncError, immediate, isAsync, type Performed, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask, getHub, type Schedulable } from '../hub/hub.js';
import { Task, spawn } from '../hub/task.js';
import { Timeout } from '../hub/timeout.js';
import { now } from '../hub/timers.js';
import { waitFor } from '../interop/wait.js';
import { Event } from '../sync/event.js';
import { Group } from '../sync/group.js';
import { Pool } from '../sync/pool.js';
import { AcceptBackoff, type AcceptBackoffOptions } from './accept-backoff.js';
import { DEFAULT_IDLE_TIMEOUT, defaultMaxConnections, lingerClose } from './server-limits.js';
import { ConnectionReset, Socket, SocketClosed, SocketTimeout } from './socket.js';

/** Where a server listens, or where a connection comes from. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * Serves one connection: a generator function (it may block) or a plain function. The
 * socket is closed when it returns.
 */
export type ConnectionHandler = (socket: Socket, address: Address) => GreenletBody<unknown> | unknown;

/** Options of a {@link StreamServer}. */
export interface StreamServerOptions {
  /** The address to listen on (default `'127.0.0.1'`: loopback only). */
  host?: string;
  /** The port (default 0: one the system picks; read it from `server.address.port`). */
  port?: number;
  /**
   * At most this many handlers run at once: a `Pool` (possibly shared), or its size.
   * Unbounded by default.
   */
  pool?: Pool | number;
  /**
   * The listen backlog, and with a pool, how many connections may wait (unread) for a
   * free place before new ones are closed at once (default 511, as Node).
   */
  backlog?: number;
  /**
   * Refuse new connections while this many are open: each one is closed cleanly (FIN,
   * nothing read) as soon as it is accepted and counted in `rejected`. Default: 80 % of the
   * process's file-descriptor limit, at most 50,000 (10,000 where the limit cannot be
   * read), so that the server refuses before the process runs out of descriptors.
   */
  maxConnections?: number;
  /**
   * Every connection's idle timeout in ms: a handler blocked this long on its socket
   * without traffic gets a `SocketTimeout`, which ends the connection quietly if the
   * handler lets it through (see {@link Socket.setIdleTimeout}). Also bounds a TLS
   * handshake. Default 300 000 (5 minutes); 0: none.
   */
  idleTimeout?: number;
  /**
   * What to do when the process runs out of file descriptors: stop accepting (the open
   * connections are served), report it once per burst, and try again after 5 ms, doubling
   * up to `maxDelay` (default 1000 ms). See {@link AcceptBackoffOptions}.
   */
  acceptBackoff?: AcceptBackoffOptions;
  /** Serve TLS with these options (`key`, `cert`, `ca`, `requestCert`, `ALPNProtocols`...). */
  tls?: tls.TlsOptions;
  /** Disable Nagle's algorithm on each connection (default true). */
  noDelay?: boolean;
  /** Enable TCP keep-alive on each connection (default false). */
  keepAlive?: boolean;
  /** Each socket's read buffer mark (see {@link SocketOptions.highWaterMark}). */
  highWaterMark?: number;
}

const NEW = 0;
const STARTING = 1;
const LISTENING = 2;
const STOPPING = 3;
const CLOSED = 4;

const DEFAULT_BACKLOG = 511; // Node's default listen backlog
/** The default grace period of `stop()`, in ms (gevent's `stop_timeout`). */
const DEFAULT_STOP_GRACE = 1000;
/** How long stop() waits for killed handlers to end (gevent's `pool.kill(timeout=1)`). */
const KILL_WAIT_MS = 1000;
/** Node's default for a TLS handshake (`tls.createServer`'s handshakeTimeout). */
const DEFAULT_HANDSHAKE_TIMEOUT = 120_000;

/** Errors this module raised because the peer left (a TLS handshake it broke off). */
const peerLeft = new WeakSet<object>();

/**
 * A TCP server that runs `handler(socket, address)` in a task per connection: gevent's
 * `StreamServer`. With `tls` options it serves TLS, with the same {@link Socket} API.
 *
 * ```ts
 * const server = new StreamServer(function* (socket) {
 *   for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
 * }, { port: 0, pool: 1000, idleTimeout: 30_000 });
 * yield* server.start();                // in a task; `await server.listen()` in async code
 * console.log(`echo on port ${server.address.port}`);
 * yield* server.serveForever();         // until server.stop() is called
 * ```
 *
 * A handler that throws is reported through the hub's reporter (the task's name gives
 * the connection's address) and the server carries on; errors that only mean the
 * connection went away (`ConnectionReset`, `SocketTimeout`, and `SocketClosed` while the
 * server stops) end it without a report. {@link StreamServer.stop} stops accepting, gives the handlers a
 * grace period, then kills the rest and closes their sockets.
 */
export class StreamServer implements AsyncDisposable {
  readonly #handler: ConnectionHandler;
  readonly #host: string;
  readonly #port: number;
  readonly #backlog: number;
  readonly #maxConnections: number;
  readonly #idleTimeout: number | undefined;
  readonly #noDelay: boolean;
  readonly #keepAlive: boolean;
  readonly #highWaterMark: number | undefined;
  readonly #tlsOptions: tls.TlsOptions | undefined;
  #secureContext: tls.SecureContext | null = null;
  /** The pool that bounds the handlers, or null. */
  readonly pool: Pool | null;
  readonly #handlers = new Group();
  #server: net.Server | null = null;
  #state = NEW;
  #address: Address;
  readonly #open = new Set<net.Socket>();
  /** The wrapped sockets of running handlers. */
  readonly #sockets = new Set<Socket>();
  readonly #waitingRoom: net.Socket[] = [];
  #admitter: Task | null = null;
  #rejected = 0;
  #accepted = 0;
  #listenerClosed = false;
  /** Set when the listener and every connection have closed. */
  readonly #drained = new Event();
  /** Set when stop() has finished. */
  readonly #stopped = new Event();
  /** The task running stop(), while it runs. */
  #stopper: Schedulable | null = null;
  readonly #backoffOptions: AcceptBackoffOptions | undefined;
  #backoff: AcceptBackoff | null = null;

  constructor(handler: ConnectionHandler, options: StreamServerOptions = {}) {
    if (typeof handler !== 'function') {
      throw new TypeError(`StreamServer takes a handler function (socket, address), not ${handler === null ? 'null' : typeof handler}`);
    }
    if (isAsync(handler)) throw asyncError("StreamServer's handler");
    this.#handler = handler;
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#backlog = options.backlog ?? DEFAULT_BACKLOG;
    this.#maxConnections = options.maxConnections ?? defaultMaxConnections();
    this.#idleTimeout = options.idleTimeout === 0 ? undefined : (options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT);
    this.#backoffOptions = options.acceptBackoff;
    this.#noDelay = options.noDelay ?? true;
    this.#keepAlive = options.keepAlive ?? false;
    this.#highWaterMark = options.highWaterMark;
    this.#tlsOptions = options.tls;
    const pool = options.pool;
    this.pool = pool === undefined ? null : typeof pool === 'number' ? new Pool(pool) : pool;
    this.#address = { host: this.#host, port: this.#port };
  }

  /** Where the server listens: `{ host, port }`, with the real port once started. */
  get address(): Address {
    return this.#address;
  }

  /** How many accepted connections are open (served, waiting for a place, or closing). */
  get connections(): number {
    return this.#open.size;
  }

  /** How many connections were accepted since the start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** How many connections were closed at once because the server was full. */
  get rejected(): number {
    return this.#rejected;
  }

  /** The most connections it keeps open; more are refused (see `maxConnections`). */
  get maxConnections(): number {
    return this.#maxConnections;
  }

  /** Every connection's idle timeout in ms, or undefined for none. */
  get idleTimeout(): number | undefined {
    return this.#idleTimeout;
  }

  /**
   * How many times the server stopped accepting for lack of file descriptors (see
   * `acceptBackoff`), and whether it has stopped now.
   */
  get acceptPauses(): { count: number; paused: boolean } {
    return { count: this.#backoff?.pauses ?? 0, paused: this.#backoff?.paused ?? false };
  }

  /** Whether the server accepts connections (between start and stop). */
  get started(): boolean {
    return this.#state === LISTENING;
  }

  /** Whether the server has stopped accepting for good (stop() was called). */
  get closed(): boolean {
    return this.#state >= STOPPING;
  }

  // --- starting --------------------------------------------------------------------------

  /**
   * Bind and listen, from async code: resolves once the server accepts connections
   * (`server.address.port` is then the real port), rejects if it cannot listen
   * (`EADDRINUSE`...).
   *
   * ```ts
   * const server = new StreamServer(handle);
   * await server.listen();
   * ```
   */
  listen(): Promise<void> {
    if (this.#state !== NEW) {
      return Promise.reject(new Error(`${this.toString()} was already ${this.#state >= STOPPING ? 'stopped' : 'started'}: a server starts once`));
    }
    this.#state = STARTING;
    if (this.#tlsOptions !== undefined) this.#secureContext = tls.createSecureContext(this.#tlsOptions);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, this.#onConnection);
    this.#server = server;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.#state = CLOSED;
        this.#listenerClosed = true;
        this.#drained.set();
        this.#stopped.set();
        reject(error);
      };
      server.once('error', onError);
      server.listen({ host: this.#host, port: this.#port, backlog: this.#backlog }, () => {
        server.removeListener('error', onError);
        server.on('error', this.#onListenerError);
        server.on('close', this.#onListenerClose);
        const bound = server.address() as net.AddressInfo;
        this.#address = { host: bound.address, port: bound.port };
        if (this.#state === STARTING) {
          this.#state = LISTENING;
          this.#backoff = new AcceptBackoff(this.#listener, this.#backoffOptions);
          this.#backoff.start();
        }
        resolve();
      });
    });
  }

  /**
   * Bind and listen, in a task: returns once the server accepts connections. gevent's
   * `start()`. Raises the listen error (`EADDRINUSE`...).
   *
   * ```ts
   * yield* server.start();
   * console.log(`listening on port ${server.address.port}`);
   * ```
   */
  start(): SwitchOp<void> {
    return lazy(START, this, undefined, undefined);
  }

  /** @internal Performs {@link StreamServer.start}. */
  *performStart(): GreenletBody<void> {
    currentTask('server.start()');
    yield* waitFor(this.listen());
  }

  /**
   * Start the server if needed, then block the calling task until the server is stopped
   * (by `stop()` from another task or plain code). If the task is killed, the server is
   * stopped. gevent's `serve_forever()`.
   *
   * ```ts
   * const main = spawn(() => server.serveForever());
   * // elsewhere: yield* server.stop(5000);  → main returns
   * ```
   */
  serveForever(): SwitchOp<void> {
    return lazy(SERVE_FOREVER, this, undefined, undefined);
  }

  /** @internal Performs {@link StreamServer.serveForever}. */
  *performServeForever(): GreenletBody<void> {
    currentTask('server.serveForever()');
    if (this.#state === NEW) yield* this.performStart();
    try {
      yield* this.#stopped.performWait(undefined);
    } finally {
      if (!this.#stopped.isSet()) yield* this.performStop(DEFAULT_STOP_GRACE);
    }
  }

  // --- accepting -------------------------------------------------------------------------

  readonly #onConnection = (raw: net.Socket): void => {
    this.#accepted++;
    this.#open.add(raw);
    // Errors of a socket nobody reads yet (a reset while it waits): the close follows.
    raw.on('error', ignore);
    raw.once('close', () => this.#forget(raw));
    if (this.#state !== LISTENING) {
      raw.destroy();
      return;
    }
    if (this.#open.size > this.#maxConnections) {
      // Full: refuse it cleanly (FIN, nothing read); the client sees the connection end.
      this.#rejected++;
      raw.resume();
      lingerClose(raw);
      return;
    }
    if (this.#noDelay) raw.setNoDelay(true);
    if (this.#keepAlive) raw.setKeepAlive(true);
    const pool = this.pool;
    if (pool === null) {
      this.#startHandler(raw, spawn(this.#serve, raw));
    } else if (this.#waitingRoom.length === 0 && !pool.full()) {
      this.#startHandler(raw, pool.spawnNowait(this.#serve, raw));
    } else if (this.#waitingRoom.length < this.#backlog) {
      this.#waitingRoom.push(raw);
      if (this.#admitter === null) {
        this.#admitter = spawn(this.#admit);
        this.#admitter.name = `${this.toString()} admitter`;
      }
    } else {
      this.#rejected++;
      raw.resume();
      lingerClose(raw);
    }
  };

  #startHandler(raw: net.Socket, task: Task): void {
    task.name = `${this.toString()} connection from ${raw.remoteAddress ?? '?'}:${raw.remotePort ?? '?'}`;
    this.#handlers.add(task);
  }

  /** Hand the connections of the waiting room to the pool as places free up. */
  readonly #admit = (): GreenletBody<void> => this.#admitWaiting();

  *#admitWaiting(): GreenletBody<void> {
    const pool = this.pool as Pool;
    try {
      while (this.#waitingRoom.length !== 0 && this.#state === LISTENING) {
        if (pool.full()) {
          yield* pool.waitAvailable();
          continue;
        }
        const raw = this.#waitingRoom.shift() as net.Socket;
        if (raw.destroyed) continue; // the client gave up while it waited
        this.#startHandler(raw, pool.spawnNowait(this.#serve, raw));
      }
    } finally {
      this.#admitter = null;
    }
  }

  readonly #serve = (raw: net.Socket): GreenletBody<void> => this.#serveConnection(raw);

  *#serveConnection(raw: net.Socket): GreenletBody<void> {
    let socket: Socket | null = null;
    let failed = true;
    try {
      const stream = this.#secureContext === null ? raw : yield* this.#handshake(raw);
      socket = new Socket(stream, { idleTimeout: this.#idleTimeout, highWaterMark: this.#highWaterMark });
      this.#sockets.add(socket);
      const address: Address = { host: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
      yield* call(this.#handler, socket, address);
      failed = false;
    } catch (error) {
      if (!this.#isDisconnect(error)) throw error; // the hub reports it, with the task's name
    } finally {
      if (socket === null) raw.destroy();
      else {
        this.#sockets.delete(socket);
        if (failed) socket.destroy();
        else socket.close();
      }
    }
  }

  /**
   * Whether `error` only says that the connection went away: the peer reset it or fell
   * silent, or the server closed it while stopping. Such an error ends the connection
   * without a report; any other one (a `SocketClosed` from a handler that used its socket
   * after closing it, say) is the handler's failure.
   */
  #isDisconnect(error: unknown): boolean {
    if (error instanceof ConnectionReset || error instanceof SocketTimeout) return true;
    return error instanceof SocketClosed && (this.#state >= STOPPING || peerLeft.has(error));
  }

  *#handshake(raw: net.Socket): GreenletBody<tls.TLSSocket> {
    const secure = new tls.TLSSocket(raw, {
      ...this.#tlsOptions,
      isServer: true,
      secureContext: this.#secureContext as tls.SecureContext,
    });
    secure.on('error', ignore); // the Socket wrapper records later errors
    const limit = Math.min(this.#idleTimeout ?? Infinity, this.#tlsOptions?.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    const listeners: [string, (error?: unknown) => void][] = [];
    const handshake = new Promise<void>((resolve, reject) => {
      const gone = (): void => {
        const error = new SocketClosed(
          `${this.toString()}: the peer closed the connection during the TLS handshake (a client that ` +
            'rejects the certificate does that)',
        );
        peerLeft.add(error);
        reject(error);
      };
      listeners.push(['secure', () => resolve()], ['error', reject], ['end', gone], ['close', gone]);
      for (const [event, listener] of listeners) secure.on(event, listener);
    });
    try {
      yield* waitFor(handshake, { timeout: limit });
    } catch (error) {
      secure.destroy();
      if (error instanceof Timeout && !(error instanceof SocketTimeout)) {
        throw new SocketTimeout(`${this.toString()}: the TLS handshake did not complete within ${limit} ms`, limit);
      }
      throw error;
    } finally {
      for (const [event, listener] of listeners) secure.removeListener(event, listener);
    }
    return secure;
  }

  #forget(raw: net.Socket): void {
    this.#open.delete(raw);
    this.#checkDrained();
  }

  readonly #onListenerError = (error: Error): void => {
    if (this.#reopening || this.#backoff?.listenerError(error) === true) return;
    getHub().report({ kind: 'callback-error', where: `${this.toString()} accepting connections`, error });
  };

  #reopening = false;

  /** The listening socket, as the accept back-off pauses and reopens it. */
  readonly #listener = {
    describe: (): string => this.toString(),
    closeListener: (): void => {
      (this.#server as net.Server).close();
    },
    reopenListener: (done: (error: Error | null) => void): void => {
      const server = this.#server as net.Server;
      if (this.#state !== LISTENING) return;
      this.#reopening = true;
      const onError = (error: Error): void => {
        this.#reopening = false;
        done(error);
      };
      server.once('error', onError);
      server.listen({ host: this.#host, port: this.#address.port, backlog: this.#backlog }, () => {
        server.removeListener('error', onError);
        this.#reopening = false;
        if (this.#state !== LISTENING) {
          server.close(); // stop() came while it reopened
          return;
        }
        this.#listenerClosed = false;
        done(null);
      });
    },
  };

  readonly #onListenerClose = (): void => {
    this.#listenerClosed = true;
    this.#checkDrained();
  };

  #checkDrained(): void {
    if (this.#state >= STOPPING && this.#listenerClosed && this.#open.size === 0) this.#drained.set();
  }

  // --- stopping --------------------------------------------------------------------------

  /**
   * Stop: close the listener (no new connection is accepted), wait up to `graceMs`
   * (default 1000) for the running handlers to return, kill those still running (waiting
   * up to a second for them to end), destroy every connection still open, and return
   * once the listener and every connection are closed. gevent's `stop(timeout)`. Calling
   * it again waits for the first call to finish.
   *
   * ```ts
   * yield* server.stop(5000);
   * ```
   */
  stop(graceMs = DEFAULT_STOP_GRACE): SwitchOp<void> {
    return lazy(STOP, this, graceMs, undefined);
  }

  /** @internal Performs {@link StreamServer.stop}. */
  performStop(graceMs: number): Performed<void> {
    const task = currentTask('server.stop()');
    if (this.#stopped.isSet()) return immediate(undefined);
    if (this.#stopper !== null && this.#stopper !== task) return this.#waitStopped();
    return this.#stop(graceMs);
  }

  *#waitStopped(): GreenletBody<void> {
    yield* this.#stopped.performWait(undefined);
  }

  /**
   * {@link StreamServer.stop} from async code: resolves once the server has stopped.
   *
   * ```ts
   * process.once('SIGTERM', () => void server.stopAsync(10_000));
   * ```
   */
  stopAsync(graceMs = DEFAULT_STOP_GRACE): Promise<void> {
    if (this.#stopped.isSet()) return Promise.resolve();
    const server = this;
    const stopper = spawn(function* stopServer(): GreenletBody<void> {
      yield* server.performStop(graceMs);
    });
    return stopper.toPromise();
  }

  /** `await using server = ...` stops it (with the default grace period) at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stopAsync();
  }

  *#stop(graceMs: number): GreenletBody<void> {
    const stopper = currentTask('server.stop()');
    this.#stopper = stopper;
    // A handler that stops its own server (a "shutdown" command) is neither waited for nor killed.
    if (stopper instanceof Task && this.#handlers.has(stopper)) this.#handlers.discard(stopper);
    if (this.#state === NEW) {
      this.#finishStop();
      return;
    }
    if (this.#state === STARTING) {
      // Let the listen finish first, so that there is a listener to close.
      yield* waitFor(whenListening(this.#server as net.Server));
      if (this.#stopped.isSet()) return; // the listen failed: nothing to stop
    }
    this.#state = STOPPING;
    this.#backoff?.stop();
    const deadline = now() + graceMs;
    (this.#server as net.Server).close();
    for (const raw of this.#waitingRoom.splice(0)) raw.destroy();
    if (this.#admitter !== null) yield* this.#admitter.kill();
    // The grace period: handlers end by themselves, and their sockets close gracefully.
    if (this.#handlers.size !== 0) yield* this.#handlers.join(Math.max(0, deadline - now()));
    if (this.#handlers.size !== 0) yield* this.#handlers.kill(undefined, { timeout: KILL_WAIT_MS });
    if (this.#open.size !== 0) yield* this.#drained.wait(Math.max(0, deadline - now()));
    // Whatever is still open (a handler that ignored the kill, a close still flushing) goes now.
    for (const socket of this.#sockets) socket.destroy();
    for (const raw of this.#open) raw.destroy();
    yield* this.#drained.wait();
    this.#finishStop();
  }

  #finishStop(): void {
    this.#state = CLOSED;
    this.#stopper = null;
    this.#stopped.set();
  }

  /** `StreamServer(127.0.0.1:5000)`, or `StreamServer(127.0.0.1:5000, TLS)`. */
  toString(): string {
    return `StreamServer(${this.#address.host}:${this.#address.port}${this.#tlsOptions === undefined ? '' : ', TLS'})`;
  }
}

const START = blockingOperation<StreamServer, undefined, undefined, void>('server.start()', (server) => server.performStart());
const SERVE_FOREVER = blockingOperation<StreamServer, undefined, undefined, void>('server.serveForever()', (server) =>
  server.performServeForever(),
);
const STOP = blockingOperation<StreamServer, number, undefined, void>('server.stop()', (server, graceMs) => server.performStop(graceMs));

/** Resolves when `server` is listening, or has failed to. */
function whenListening(server: net.Server): Promise<void> {
  if (server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const events = ['listening', 'error', 'close'];
    const done = (): void => {
      for (const event of events) server.removeListener(event, done);
      resolve();
    };
    for (const event of events) server.on(event, done);
  });
}

function ignore(): void {}
