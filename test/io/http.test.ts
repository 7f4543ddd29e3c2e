/**
 * io/http: HttpServer, one task per request on a real `node:http` server (127.0.0.1, an
 * ephemeral port), driven by real clients: `node:http` requests, raw `node:net` sockets
 * and httpFetch. Behaviours from gevent's src/gevent/tests/test__pywsgi.py and
 * test__server.py where one applies, cited per test.
 *
 * Every test stops its server, and the checks of http-helpers.ts run after each: no
 * socket, listener or timer left open, no hub timer, no task alive, nothing reported
 * that the test did not expect.
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  Event,
  GreenletExit,
  Pool,
  Task,
  currentTaskOrNull,
  getHub,
  sleep,
  spawn,
  type GreenletBody,
} from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import {
  BodyReadTimeout,
  ClientDisconnected,
  HttpError,
  HttpResponse,
  HttpServer,
  PayloadTooLarge,
  ResponseWriteTimeout,
  httpFetch,
  type HttpHandler,
  type HttpServerOptions,
} from '../../src/io/http.js';
import { checkEachTest, nodeRequest, rawConnect, rawExchange, statusLine, takeReports } from './http-helpers.js';
import { runBounded, until } from './bounded.js';

checkEachTest();

/**
 * Start a server, run `body` with it in a task, check that the server still serves, and
 * stop the server however body ends.
 */
function withServer<R>(
  handler: HttpHandler,
  options: HttpServerOptions,
  body: (server: HttpServer) => GreenletBody<R>,
): Promise<R> {
  return runBounded(function* () {
    const server = yield* new HttpServer(handler, options).start();
    try {
      const result = yield* body(server);
      yield* expectServes(server);
      return result;
    } finally {
      yield* server.stop(0);
    }
  });
}

/** `/ping` answers `pong`: every test checks with it that the server still serves. */
function* expectServes(server: HttpServer): GreenletBody<void> {
  const res = yield* httpFetch(`${server.url}/ping`);
  expect([res.status, yield* res.text()]).toEqual([200, 'pong']);
}

/** A handler that answers `/ping` and hands other paths to `routes`. */
function router(routes: Record<string, HttpHandler>): HttpHandler {
  return function* route(request, response) {
    if (request.path === '/ping') {
      response.send(200, 'pong');
      return;
    }
    const handler = routes[request.path];
    if (handler === undefined) throw new HttpError(404, `no route for ${request.path}`);
    return yield* handlerBody(handler(request, response));
  };
}

/** Run what a handler returned: a generator is delegated to, anything else is the result. */
function* handlerBody(result: unknown): GreenletBody<unknown> {
  if (typeof (result as Generator | null)?.next === 'function') return yield* (result as GreenletBody<unknown>);
  return result;
}

describe('HttpServer: requests and responses', () => {
  it('answers each request from a task of its own, named after the method and path (no query)', async () => {
    // gevent: test__pywsgi.py::CommonTestMixin::test_basic
    let seen: Task | null = null;
    const handler = router({
      *'/hello'(request, response) {
        seen = currentTaskOrNull();
        response.send(200, `hello, ${request.query.get('name') ?? 'world'}`, { 'x-served-by': 'greenlet-ts' });
      },
    });
    const res = await withServer(handler, {}, function* (server) {
      const r = yield* waitFor(nodeRequest(`${server.url}/hello?name=tasks`));
      return r;
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello, tasks');
    expect(res.headers['x-served-by']).toBe('greenlet-ts');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(seen).toBeInstanceOf(Task);
    expect((seen as unknown as Task).name).toBe('GET /hello');
  });

  it('serves a fast request while a slow one is parked in its handler', async () => {
    const release = new Event();
    const handler = router({
      *'/slow'(_request, response) {
        yield* release.wait();
        response.send(200, 'slow');
      },
      '/fast'(_request, response) {
        response.send(200, 'fast');
      },
    });
    const order = await withServer(handler, {}, function* (server) {
      const order: string[] = [];
      const slow = spawn(function* () {
        const r = yield* httpFetch(`${server.url}/slow`);
        order.push(yield* r.text());
      });
      yield* until(() => server.inFlight !== 0);
      const fast = yield* httpFetch(`${server.url}/fast`);
      order.push(yield* fast.text());
      expect(server.inFlight).toBe(1);
      release.set();
      yield* slow.get();
      return order;
    });
    expect(order).toEqual(['fast', 'slow']);
  });

  it('reads a JSON body and answers JSON', async () => {
    const handler = router({
      *'/sum'(request, response) {
        const numbers = yield* request.json<number[]>();
        response.send(200, { sum: numbers.reduce((a, b) => a + b, 0) });
      },
    });
    const res = await withServer(handler, {}, function* (server) {
      return yield* waitFor(
        nodeRequest(`${server.url}/sum`, { method: 'POST', body: '[1, 2, 3, 4]', headers: { 'content-type': 'application/json' } }),
      );
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ sum: 10 });
  });

  it('answers 400 to a body that is not the JSON the handler expects', async () => {
    // gevent: test__pywsgi.py::BadRequestTests (a bad request gets 400, not 500)
    const handler = router({
      *'/sum'(request, response) {
        response.send(200, yield* request.json());
      },
    });
    const res = await withServer(handler, {}, function* (server) {
      const r = yield* waitFor(nodeRequest(`${server.url}/sum`, { method: 'POST', body: '[1, 2,' }));
      return r;
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/^the request body is not valid JSON/);
  });

  it('reads the body chunk by chunk with request.read()', async () => {
    // gevent: test__pywsgi.py::TestChunkedPost::test_014_chunked_post
    const handler = router({
      *'/count'(request, response) {
        const sizes: number[] = [];
        for (let chunk; (chunk = yield* request.read()) !== null; ) sizes.push(chunk.length);
        response.send(200, { total: sizes.reduce((a, b) => a + b, 0), bytesRead: request.bytesRead });
      },
    });
    const raw = await withServer(handler, {}, function* (server) {
      const chunked = ['5\r\nhello\r\n', '6\r\n, body\r\n', '0\r\n\r\n'].join('');
      return yield* waitFor(
        rawExchange(
          server.port,
          `POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`,
        ),
      );
    });
    expect(statusLine(raw)).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ total: 11, bytesRead: 11 });
  });

  it('ends the response when the handler returns without ending it', async () => {
    const handler = router({
      *'/partial'(_request, response) {
        response.status(201).setHeader('content-type', 'text/plain');
        yield* response.write('written, ');
        yield* response.write('never ended');
      },
    });
    const res = await withServer(handler, {}, function* (server) {
      return yield* waitFor(nodeRequest(`${server.url}/partial`));
    });
    expect([res.status, res.body]).toEqual([201, 'written, never ended']);
  });

  it('runs a plain-function handler, and waits for the promise of an async one', async () => {
    const handler = router({
      '/plain'(_request, response) {
        response.send(200, 'plain');
      },
      async '/async'(_request, response) {
        await new Promise((resolve) => setImmediate(resolve));
        response.send(200, 'async');
      },
    });
    const bodies = await withServer(handler, {}, function* (server) {
      const plain = yield* httpFetch(`${server.url}/plain`);
      const later = yield* httpFetch(`${server.url}/async`);
      return [yield* plain.text(), yield* later.text()];
    });
    expect(bodies).toEqual(['plain', 'async']);
  });

  it('answers an HttpError thrown by the handler with its status, and reports nothing', async () => {
    const res = await withServer(router({}), {}, function* (server) {
      return yield* waitFor(nodeRequest(`${server.url}/nowhere`));
    });
    expect([res.status, res.body]).toEqual([404, 'no route for /nowhere\n']);
  });
});

describe('HttpServer: body size limit', () => {
  it('answers 413 and closes the connection when Content-Length exceeds the limit, reading nothing', async () => {
    let caught: unknown = null;
    let bytesRead = -1;
    const handler = router({
      *'/upload'(request) {
        try {
          yield* request.body({ limit: 1000 });
        } catch (error) {
          caught = error;
          bytesRead = request.bytesRead;
          throw error;
        }
      },
    });
    const raw = await withServer(handler, {}, function* (server) {
      const body = 'x'.repeat(2000);
      const r = yield* waitFor(
        rawExchange(server.port, `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
      );
      return r;
    });
    expect(statusLine(raw)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(caught).toBeInstanceOf(PayloadTooLarge);
    expect((caught as PayloadTooLarge).limit).toBe(1000);
    expect(bytesRead).toBe(0);
  });

  it('answers 413 when a chunked body grows past the server\'s maxBodySize', async () => {
    let bytesRead = -1;
    const handler = router({
      *'/upload'(request) {
        try {
          yield* request.text();
        } finally {
          bytesRead = request.bytesRead;
        }
      },
    });
    const raw = await withServer(handler, { maxBodySize: 100 }, function* (server) {
      const chunk = `40\r\n${'y'.repeat(64)}\r\n`;
      const r = yield* waitFor(
        rawExchange(server.port, `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${chunk}${chunk}0\r\n\r\n`),
      );
      return r;
    });
    expect(statusLine(raw)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(bytesRead).toBeLessThanOrEqual(100);
  });

  it('answers 408 when the body does not arrive within the read timeout', async () => {
    let caught: unknown = null;
    const handler = router({
      *'/upload'(request) {
        try {
          yield* request.body({ timeout: 50 });
        } catch (error) {
          caught = error;
          throw error;
        }
      },
    });
    const raw = await withServer(handler, {}, function* (server) {
      // 3 bytes of the 10 announced, and the connection stays open.
      const r = yield* waitFor(rawExchange(server.port, 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'));
      return r;
    });
    expect(statusLine(raw)).toBe('HTTP/1.1 408 Request Timeout');
    expect(caught).toBeInstanceOf(BodyReadTimeout);
  });
});

describe('HttpServer: streaming responses', () => {
  it('parks write() while a slow client reads nothing, and buffers at most about one chunk', async () => {
    // gevent: test__pywsgi.py::TestChunkedApp / TestBigChunks (a streamed response), here
    // with a client that does not read: the handler must wait instead of buffering it all.
    const CHUNK = 64 * 1024;
    const CHUNKS = 1024; // 64 MiB in all: far more than the socket buffers can hold
    let written = 0;
    let streaming: HttpResponse | null = null;
    const handler = router({
      *'/stream'(_request, response) {
        streaming = response;
        response.writeHead(200, { 'content-length': CHUNK * CHUNKS });
        for (let i = 0; i < CHUNKS; i++) {
          yield* response.write(Buffer.alloc(CHUNK, i & 0xff)); // a fresh buffer each time
          written += CHUNK;
        }
        response.end();
      },
    });
    const result = await withServer(handler, {}, function* (server) {
      const client = yield* waitFor(rawConnect(server.port));
      client.pause(); // read nothing
      client.write('GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      global.gc?.();
      const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
      // Wait until the handler is parked in write(), its client not reading.
      const parkedInWrite = () => getHub().blockedTasks().some((b) => b.waitingOn.startsWith('HttpResponse(GET /stream).write()'));
      yield* until(parkedInWrite);
      expect(parkedInWrite()).toBe(true);
      const writtenWhileParked = written;
      const bufferedWhileParked = (streaming as unknown as HttpResponse).bufferedBytes;
      global.gc?.();
      const arrayBuffersGrowth = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
      // Now read everything.
      const received = yield* waitFor(
        new Promise<number>((resolve) => {
          let bytes = 0;
          client.on('data', (c: Buffer) => (bytes += c.length));
          client.on('end', () => resolve(bytes));
          client.resume();
        }),
      );
      client.destroy();
      return { writtenWhileParked, bufferedWhileParked, arrayBuffersGrowth, received };
    });
    expect(result.writtenWhileParked).toBeLessThan((CHUNK * CHUNKS) / 2);
    // Node's own buffer holds the chunk that filled it, on top of less than its high-water mark.
    expect(result.bufferedWhileParked).toBeGreaterThan(0);
    expect(result.bufferedWhileParked).toBeLessThanOrEqual(CHUNK + 64 * 1024);
    expect(result.arrayBuffersGrowth).toBeLessThan(32 * 1024 * 1024);
    expect(written).toBe(CHUNK * CHUNKS);
    expect(result.received).toBeGreaterThan(CHUNK * CHUNKS); // the body and the head
  });
  it('raises ResponseWriteTimeout in a writer whose client takes nothing within the timeout', async () => {
    let caught: unknown = null;
    const handler = router({
      *'/stream'(_request, response) {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        try {
          for (;;) yield* response.write(Buffer.alloc(64 * 1024), { timeout: 50 });
        } catch (error) {
          caught = error;
          throw new HttpError(503, 'too slow'); // the connection is cut: the head was sent
        }
      },
    });
    await withServer(handler, {}, function* (server) {
      const client = yield* waitFor(rawConnect(server.port));
      client.pause();
      client.on('error', () => {});
      const closed = new Promise((resolve) => client.on('close', resolve));
      client.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
      yield* until(() => caught !== null);
      client.resume(); // now: read what was sent, up to the cut
      yield* waitFor(closed);
    });
    expect(caught).toBeInstanceOf(ResponseWriteTimeout);
  });

  it('kills a writer parked in write() when its client disconnects', async () => {
    const ended = new Event();
    let caught: unknown = null;
    const handler = router({
      *'/stream'(_request, response) {
        try {
          for (;;) yield* response.write(Buffer.alloc(64 * 1024));
        } catch (error) {
          caught = error;
          throw error;
        } finally {
          ended.set();
        }
      },
    });
    await withServer(handler, {}, function* (server) {
      const client = yield* waitFor(rawConnect(server.port));
      client.pause();
      client.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
      const parked = () => getHub().blockedTasks().some((b) => b.waitingOn.startsWith('HttpResponse(GET /stream).write()'));
      yield* until(parked);
      client.destroy();
      yield* ended.wait();
    });
    expect(caught).toBeInstanceOf(ClientDisconnected);
  });
});

describe('HttpServer: keep-alive', () => {
  it('serves several requests on one connection of a keep-alive agent', async () => {
    // gevent: test__pywsgi.py::CommonTestMixin::test_basic (two requests on one socket)
    const handler = router({
      '/n'(request, response) {
        response.send(200, request.query.get('i') ?? '');
      },
    });
    const { bodies, connections } = await withServer(handler, {}, function* (server) {
      let connections = 0;
      server.nodeServer.on('connection', () => connections++);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const bodies: string[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const res = yield* waitFor(nodeRequest(`${server.url}/n?i=${i}`, { agent }));
          expect(res.headers.connection).toBe('keep-alive');
          bodies.push(res.body);
        }
      } finally {
        agent.destroy();
      }
      return { bodies, connections };
    });
    expect(bodies).toEqual(['0', '1', '2', '3', '4']);
    expect(connections).toBe(1);
  });

  it('keeps the connection when a handler answers without reading the whole body', async () => {
    // Node drains the unread rest of the body, once the reader holds no listener on it.
    const handler = router({
      *'/peek'(request, response) {
        const first = yield* request.read({ limit: Infinity });
        response.send(200, `first chunk: ${first === null ? 0 : first.length > 0 ? 'some' : 0} bytes`);
      },
      '/ignore'(_request, response) {
        response.send(200, 'ignored');
      },
    });
    const { bodies, connections } = await withServer(handler, {}, function* (server) {
      let connections = 0;
      server.nodeServer.on('connection', () => connections++);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const big = 'z'.repeat(256 * 1024);
      const bodies: string[] = [];
      try {
        for (const path of ['/peek', '/ignore', '/peek', '/ping']) {
          const res = yield* waitFor(nodeRequest(`${server.url}${path}`, { agent, method: 'POST', body: big }));
          bodies.push(res.body);
        }
      } finally {
        agent.destroy();
      }
      return { bodies, connections };
    });
    expect(bodies).toEqual(['first chunk: some bytes', 'ignored', 'first chunk: some bytes', 'pong']);
    expect(connections).toBe(1);
  });

  it('answers pipelined requests on one connection in order', async () => {
    // gevent: test__pywsgi.py::CommonTestMixin::test_pipeline
    const handler = router({
      *'/wait'(request, response) {
        yield* sleep(Number(request.query.get('ms')));
        response.send(200, request.query.get('ms') ?? '');
      },
    });
    const raw = await withServer(handler, {}, function* (server) {
      const request = (ms: number, last = false) =>
        `GET /wait?ms=${ms} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
      return yield* waitFor(rawExchange(server.port, request(20) + request(1) + request(5, true)));
    });
    const bodies = raw.split('HTTP/1.1 200 OK').slice(1).map((part) => part.slice(part.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(['20', '1', '5']);
  });
});

describe('HttpServer: pool', () => {
  it('runs at most pool.capacity handlers at once; the other requests wait in the pool', async () => {
    // gevent: test__server.py::TestPoolSpawn::test_pool_full
    const release = new Event();
    let running = 0;
    let mostRunning = 0;
    const pool = new Pool(2);
    const handler = router({
      *'/work'(_request, response) {
        running++;
        mostRunning = Math.max(mostRunning, running);
        try {
          yield* release.wait();
        } finally {
          running--;
        }
        response.send(200, 'done');
      },
    });
    const statuses = await withServer(handler, { pool }, function* (server) {
      const clients = Array.from({ length: 5 }, () =>
        spawn(function* () {
          const res = yield* httpFetch(`${server.url}/work`);
          yield* res.text();
          return res.status;
        }),
      );
      yield* until(() => server.inFlight >= 5);
      expect([running, pool.size, pool.waiting]).toEqual([2, 2, 3]);
      release.set();
      const statuses: number[] = [];
      for (const client of clients) statuses.push(yield* client.get());
      return statuses;
    });
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(mostRunning).toBe(2);
  });
});

describe('HttpServer: graceful stop', () => {
  it('lets a request finish within the grace period and kills one that outlasts it, running its finally', async () => {
    const releaseQuick = new Event();
    let slowFinallyRan = false;
    let slowError: unknown = null;
    const handler = router({
      *'/quick'(_request, response) {
        yield* releaseQuick.wait();
        response.send(200, 'quick done');
      },
      *'/forever'() {
        try {
          yield* new Event().wait();
        } catch (error) {
          slowError = error;
          throw error;
        } finally {
          slowFinallyRan = true;
        }
      },
    });
    const outcome = await runBounded(function* () {
      const server = yield* new HttpServer(handler).start();
      const port = server.port;
      const quick = spawn(() => waitFor(nodeRequest(`${server.url}/quick`)));
      const forever = spawn(() => waitFor(nodeRequest(`${server.url}/forever`).then((r) => r.status, () => 'reset')));
      yield* until(() => server.inFlight >= 2);
      const stopper = spawn(() => server.stop(100));
      yield* sleep(0); // the stopper runs: the server stops accepting and waits
      expect(server.started).toBe(false);
      releaseQuick.set();
      const quickResponse = yield* quick.get();
      yield* stopper.get();
      const refused = yield* waitFor(nodeRequest(`http://127.0.0.1:${port}/ping`).then(() => 'served', (e: NodeJS.ErrnoException) => e.code));
      return { quickResponse, forever: yield* forever.get(), refused, stopped: server.stopped, inFlight: server.inFlight, connections: server.connections };
    });
    expect([outcome.quickResponse.status, outcome.quickResponse.body]).toEqual([200, 'quick done']);
    expect(outcome.quickResponse.headers.connection).toBe('close');
    expect(slowFinallyRan).toBe(true);
    expect(slowError).toBeInstanceOf(GreenletExit);
    // The killed request gets a 503 if it reaches the client before its connection is destroyed.
    expect([503, "reset"]).toContain(outcome.forever);
    expect(outcome.refused).toBe('ECONNREFUSED');
    expect([outcome.stopped, outcome.inFlight, outcome.connections]).toEqual([true, 0, 0]);
  });

  it('closes idle keep-alive connections at once instead of waiting for the grace period', async () => {
    // gevent: test__server.py::TestDefaultSpawn::test_server_closes_client_sockets
    const { stopMs, clientClosed } = await runBounded(function* () {
      const server = yield* new HttpServer(router({})).start();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        yield* waitFor(nodeRequest(`${server.url}/ping`, { agent }));
        const sockets = Object.values(agent.freeSockets).flat();
        expect(sockets).toHaveLength(1);
        const clientSocket = sockets[0]!;
        const closed = new Promise<boolean>((resolve) => clientSocket.once('close', () => resolve(true)));
        const started = performance.now();
        yield* server.stop(60_000);
        return { stopMs: performance.now() - started, clientClosed: yield* waitFor(closed) };
      } finally {
        agent.destroy();
      }
    });
    expect(stopMs).toBeLessThan(5_000);
    expect(clientClosed).toBe(true);
  });

  it('kills the requests still waiting in the pool when the grace period ends; their handlers never run', async () => {
    let handlersStarted = 0;
    const handler = router({
      *'/forever'() {
        handlersStarted++;
        yield* new Event().wait();
      },
    });
    const outcome = await runBounded(function* () {
      const server = yield* new HttpServer(handler, { pool: 1 }).start();
      const clients = [1, 2, 3].map(() => spawn(() => waitFor(nodeRequest(`${server.url}/forever`).then((r) => r.status, () => 'reset'))));
      yield* until(() => server.inFlight >= 3);
      yield* server.stop(20);
      const answers: (number | string)[] = [];
      for (const client of clients) answers.push(yield* client.get());
      return { answers, inFlight: server.inFlight, waiting: server.pool?.waiting };
    });
    expect(handlersStarted).toBe(1);
    expect(outcome.inFlight).toBe(0);
    expect(outcome.waiting).toBe(0);
    for (const answer of outcome.answers) expect([503, 'reset']).toContain(answer);
  });

  it('reports an error a killed handler raises in its finally, with the request, and still stops', async () => {
    const cleanupFailed = new Error('cleanup failed');
    const handler = router({
      *'/forever'() {
        try {
          yield* new Event().wait();
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw cleanupFailed;
        }
      },
    });
    const answer = await runBounded(function* () {
      const server = yield* new HttpServer(handler).start();
      const client = spawn(() => waitFor(nodeRequest(`${server.url}/forever?k=1`).then((r) => r.status, () => 'reset')));
      yield* until(() => server.inFlight >= 1);
      yield* server.stop(0);
      return yield* client.get();
    });
    expect([500, 'reset']).toContain(answer);
    const taken = takeReports();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ kind: 'callback-error', error: cleanupFailed });
    expect((taken[0] as { where: string }).where).toMatch(/^HttpServer\(127\.0\.0\.1:\d+, stopping\) handling GET \/forever$/);
  });

  it('lets a handler stop its own server after answering', async () => {
    let server: HttpServer | null = null;
    const handler = router({
      *'/shutdown'(_request, response) {
        response.send(200, 'bye');
        yield* (server as unknown as HttpServer).stop(1000);
      },
    });
    const outcome = await runBounded(function* () {
      const started = yield* new HttpServer(handler).start();
      server = started;
      const res = yield* waitFor(nodeRequest(`${started.url}/shutdown`));
      yield* until(() => started.stopped);
      return { body: res.body, inFlight: started.inFlight };
    });
    expect(outcome).toEqual({ body: 'bye', inFlight: 0 });
  });

  it('close() stops at once from plain code: requests killed, connections destroyed', async () => {
    const entered = new Event();
    let finallyRan = false;
    const handler = router({
      *'/forever'() {
        entered.set();
        try {
          yield* new Event().wait();
        } finally {
          finallyRan = true;
        }
      },
    });
    const server = await runBounded(function* () {
      return yield* new HttpServer(handler).start();
    });
    const client = nodeRequest(`${server.url}/forever`).then((r) => r.status, () => 'reset');
    await runBounded(() => entered.wait());
    server.close();
    expect(server.stopped).toBe(true);
    expect(await client).toBe('reset');
    await runBounded(() => sleep(0)); // the killed task runs its finally on the hub's next pass
    expect(finallyRan).toBe(true);
    expect(server.inFlight).toBe(0);
  });

  it('close() from a plain handler kills its own request too, as it kills every other', async () => {
    // The handler runs in its task's plain `run`, where the request is not on the server's
    // list (see HttpServer's invariants): close() still finds it and kills it (GreenletExit,
    // at its first wait), as it kills the others, before the client's disconnection would.
    let server: HttpServer | null = null;
    let inFlightInHandler = -1;
    let killedWith: unknown = null;
    const handler = (): GreenletBody<void> => {
      const own = server as unknown as HttpServer;
      inFlightInHandler = own.inFlight;
      own.close();
      // A plain handler that returns a generator: it goes on in the request's task.
      return (function* () {
        try {
          yield* new Event().wait();
        } catch (error) {
          killedWith = error;
          throw error;
        }
      })();
    };
    const outcome = await runBounded(function* () {
      server = yield* new HttpServer(handler).start();
      const started = server;
      const client = waitFor(nodeRequest(`${started.url}/`).then((r) => r.status, () => 'reset'));
      yield* until(() => started.inFlight === 0, 'the handler that closed its server to be killed');
      return { client: yield* client, inFlightInHandler, stopped: started.stopped };
    });
    expect(outcome).toEqual({ client: 'reset', inFlightInHandler: 1, stopped: true });
    expect(killedWith).toBeInstanceOf(GreenletExit);
    expect(killedWith).not.toBeInstanceOf(ClientDisconnected);
  });

  it('serveForever() returns when another task stops the server', async () => {
    // gevent: test__server.py::TestDefaultSpawn::test_serve_forever
    const result = await runBounded(function* () {
      const server = new HttpServer(router({}));
      const serving = spawn(() => server.serveForever());
      yield* until(() => server.started);
      yield* expectServes(server);
      yield* server.stop();
      yield* serving.get();
      return serving.ready();
    });
    expect(result).toBe(true);
  });

  it('killing the task in serveForever() stops the server', async () => {
    const stopped = await runBounded(function* () {
      const server = new HttpServer(router({}));
      const serving = spawn(() => server.serveForever());
      yield* until(() => server.started);
      yield* serving.kill();
      return server.stopped;
    });
    expect(stopped).toBe(true);
  });
});

describe('HttpServer: faults', () => {
  /**
   * A client that disconnects while its handler waits forever: what the handler caught and
   * how many requests the server still counts in flight afterwards. `onEnter` runs in the
   * handler first.
   */
  async function disconnectWhileWaiting(onEnter: (response: HttpResponse) => void = () => {}): Promise<{ caught: unknown; inFlightAfter: number }> {
    const entered = new Event();
    const ended = new Event();
    let caught: unknown = null;
    const handler = router({
      *'/hang'(_request, response) {
        onEnter(response);
        entered.set();
        try {
          yield* new Event().wait();
        } catch (error) {
          caught = error;
          throw error;
        } finally {
          ended.set();
        }
      },
    });
    const inFlightAfter = await withServer(handler, {}, function* (server) {
      const req = http.get(`${server.url}/hang`, { agent: false });
      req.on('error', () => {});
      yield* entered.wait();
      req.destroy();
      yield* ended.wait();
      return server.inFlight;
    });
    return { caught, inFlightAfter };
  }

  it('kills the task of a request whose client disconnects; its finally runs and nothing is reported', async () => {
    const { caught, inFlightAfter } = await disconnectWhileWaiting();
    expect(caught).toBeInstanceOf(ClientDisconnected);
    expect(inFlightAfter).toBe(0);
  });

  it("kills the task of a request whose client disconnects even when the handler removed the response's 'close' listeners", async () => {
    // The server learns of the close in the response's own emit(), not from a listener that
    // a handler (or a library it calls) could remove.
    const { caught, inFlightAfter } = await disconnectWhileWaiting((response) => response.raw.removeAllListeners('close'));
    expect(caught).toBeInstanceOf(ClientDisconnected);
    expect(inFlightAfter).toBe(0);
  });

  it('kills the task of a request whose client disconnects while the handler reads the body', async () => {
    const ended = new Event();
    let caught: unknown = null;
    const handler = router({
      *'/upload'(request) {
        try {
          yield* request.body();
        } catch (error) {
          caught = error;
          throw error;
        } finally {
          ended.set();
        }
      },
    });
    await withServer(handler, {}, function* (server) {
      const client = yield* waitFor(rawConnect(server.port));
      client.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part of it');
      yield* until(() => server.inFlight !== 0);
      client.destroy();
      yield* ended.wait();
    });
    expect(caught).toBeInstanceOf(ClientDisconnected);
  });

  it('answers 400 to a malformed request and keeps serving', async () => {
    // gevent: test__pywsgi.py::BadRequestTests::test_bad_request_line_with_percent
    const raw = await withServer(router({}), {}, function* (server) {
      const r = yield* waitFor(rawExchange(server.port, 'THIS IS NOT HTTP\r\n\r\n'));
      return r;
    });
    expect(statusLine(raw)).toBe('HTTP/1.1 400 Bad Request');
  });

  it('answers 431 to oversized headers or URL and keeps serving', async () => {
    // gevent: test__pywsgi.py::Test414 and CommonTestMixin::test_006_reject_long_urls
    // (gevent answers 414 to a long URL; Node counts the URL in the head and answers 431).
    const [bigHeader, bigUrl] = await withServer(router({}), { maxHeaderSize: 8192 }, function* (server) {
      const header = yield* waitFor(rawExchange(server.port, `GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      const url = yield* waitFor(rawExchange(server.port, `GET /${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
      return [header, url];
    });
    expect(statusLine(bigHeader)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(statusLine(bigUrl)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  });

  it('answers 500 when a handler throws, reports it with the method and path, and keeps the connection serving', async () => {
    // gevent: test__pywsgi.py::TestErrorInApplication
    const boom = new Error('boom');
    const handler = router({
      *'/boom'(_request, response) {
        response.setHeader('x-half-set', 'dropped');
        yield* sleep(0);
        throw boom;
      },
    });
    const { failed, next, connections } = await withServer(handler, {}, function* (server) {
      let connections = 0;
      server.nodeServer.on('connection', () => connections++);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const failed = yield* waitFor(nodeRequest(`${server.url}/boom?x=1`, { agent }));
        const next = yield* waitFor(nodeRequest(`${server.url}/ping`, { agent }));
        return { failed, next, connections };
      } finally {
        agent.destroy();
      }
    });
    expect([failed.status, failed.body]).toEqual([500, 'Internal Server Error\n']);
    expect(failed.headers['x-half-set']).toBeUndefined();
    expect([next.status, next.body]).toEqual([200, 'pong']);
    expect(connections).toBe(1);
    const taken = takeReports();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ kind: 'callback-error', error: boom });
    expect((taken[0] as { where: string }).where).toMatch(/^HttpServer\(127\.0\.0\.1:\d+\) handling GET \/boom$/);
  });

  it('cuts the connection when a handler throws after the response started, and reports it', async () => {
    // gevent: test__pywsgi.py::TestErrorAfterChunk
    const handler = router({
      *'/half'(_request, response) {
        response.writeHead(200, { 'content-type': 'text/plain' });
        yield* response.write('the first half, ');
        throw new Error('the second half failed');
      },
    });
    const outcome = await withServer(handler, {}, function* (server) {
      const o = yield* waitFor(nodeRequest(`${server.url}/half`).then((r) => `complete: ${r.body}`, (e: Error) => `cut: ${e.message}`));
      return o;
    });
    expect(outcome).toMatch(/^cut: /);
    const taken = takeReports();
    expect(taken).toHaveLength(1);
    expect((taken[0] as { where: string }).where).toMatch(/handling GET \/half$/);
  });
});

/**
 * A connection in memory, handed to the Node server by hand: a request pushed into it is
 * parsed, and its 'request' emitted, inside the task that pushes it (a real socket's data
 * always arrives in a callback of its own, in plain code).
 */
class MemorySocket extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  written = '';
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.written += chunk.toString('latin1');
    callback();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  destroySoon(): void {
    this.destroy();
  }
}

describe('HttpServer: a request that arrives while a task runs', () => {
  const REQUEST = 'GET /inside HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

  it('counts it in flight, and forgets it when close() kills it before its task began; the handler never runs', async () => {
    let ran = 0;
    const outcome = await runBounded(function* () {
      const server = yield* new HttpServer(() => {
        ran++;
      }).start();
      const socket = new MemorySocket();
      server.nodeServer.emit('connection', socket);
      yield* sleep(0); // the server's 'data' listener takes effect
      socket.push(REQUEST);
      const arrived = server.inFlight;
      server.close();
      return { arrived, after: server.inFlight };
    });
    expect(outcome).toEqual({ arrived: 1, after: 0 });
    expect(ran).toBe(0);
  });

  it('runs it once this task lets the hub go on, and counts it out once', async () => {
    const outcome = await runBounded(function* () {
      const server = yield* new HttpServer((_request, response) => response.send(200, 'inside')).start();
      const socket = new MemorySocket();
      server.nodeServer.emit('connection', socket);
      yield* sleep(0);
      socket.push(REQUEST);
      const arrived = server.inFlight;
      yield* until(() => socket.written.includes('inside'), 'the answer was written');
      const after = server.inFlight;
      yield* server.stop(0);
      return { arrived, after, status: socket.written.slice(0, 15) };
    });
    expect(outcome).toEqual({ arrived: 1, after: 0, status: 'HTTP/1.1 200 OK' });
  });
});
