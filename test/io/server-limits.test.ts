/**
 * io: the limits StreamServer and HttpServer apply by default, each checked for its default
 * value and for what it does when it strikes (with small values, so that the tests are
 * short): the request-head and whole-request timeouts, the keep-alive idle timeout, the
 * largest head, the connection limit (refused cleanly, counted), and the descriptor limit
 * the connection limit is derived from.
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { sleep, type GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { HttpServer, type HttpHandler, type HttpServerOptions } from '../../src/io/http.js';
import { StreamServer } from '../../src/io/server.js';
import {
  DEFAULT_CONNECTIONS_CHECKING_INTERVAL,
  DEFAULT_HEADERS_TIMEOUT,
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_REQUEST_TIMEOUT,
  defaultMaxConnections,
  fileDescriptorLimit,
} from '../../src/io/server-limits.js';
import { LineTooLong, connect } from '../../src/io/socket.js';
import { checkEachTest, rawConnect, rawExchange, statusLine } from './http-helpers.js';
import { TestBoundExceeded, runBounded, until, within } from './bounded.js';

checkEachTest();

const hello: HttpHandler = function* (request, response) {
  if (request.path === '/slow-body') {
    const body = yield* request.body();
    response.send(200, `got ${body.length} bytes`);
    return;
  }
  response.send(200, 'hello');
};

function withServer<R>(options: HttpServerOptions, body: (server: HttpServer) => GreenletBody<R>): Promise<R> {
  return runBounded(function* () {
    const server = yield* new HttpServer(hello, options).start();
    try {
      return yield* body(server);
    } finally {
      yield* server.stop(0);
    }
  });
}

/**
 * Everything a raw connection receives after sending `data`, and how long after that it
 * closed; rejects if it has not closed within `timeoutMs` (default 7 s: 5 times the
 * longest close these tests wait for, a keep-alive timeout plus Node's extra second).
 */
function sendAndWatch(port: number, data: string, timeoutMs = 7000): Promise<{ received: string; closedAfterMs: number; reset: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let reset = false;
    const t0 = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TestBoundExceeded(`the server did not close the connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {
      reset = true;
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks).toString('latin1'), closedAfterMs: performance.now() - t0, reset });
    });
  });
}

describe('the descriptor limit and the default connection limit', () => {
  it('reads the soft limit of open files, and allows 80 % of it as connections, at most 50,000', () => {
    const limit = fileDescriptorLimit();
    if (process.platform === 'linux') expect(limit).toBeGreaterThan(0);
    const expected = limit === null ? 10_000 : Math.max(1, Math.min(50_000, Math.floor(limit * 0.8)));
    expect(defaultMaxConnections()).toBe(expected);
    expect(new HttpServer(hello).maxConnections).toBe(expected);
    expect(new StreamServer(() => {}).maxConnections).toBe(expected);
  });
});

describe('HttpServer: limits', () => {
  it('has defaults fit for the internet, tighter than Node\'s own', () => {
    const server = new HttpServer(hello);
    const node = server.nodeServer as typeof server.nodeServer & { connectionsCheckingInterval: number; maxHeaderSize: number };
    expect([node.headersTimeout, node.requestTimeout, node.keepAliveTimeout, node.connectionsCheckingInterval, node.maxHeaderSize]).toEqual([
      10_000, 30_000, 5_000, 1_000, 16_384,
    ]);
    expect([DEFAULT_HEADERS_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_CONNECTIONS_CHECKING_INTERVAL, DEFAULT_MAX_HEADER_SIZE]).toEqual([
      10_000, 30_000, 5_000, 1_000, 16_384,
    ]);
    expect([server.maxBodySize, server.maxDrainSize]).toEqual([1 << 20, 256 << 10]);
    // Node's own, as docs/io.md's table has them.
    const plain = http.createServer() as http.Server & { connectionsCheckingInterval: number };
    expect([plain.headersTimeout, plain.requestTimeout, plain.keepAliveTimeout, plain.connectionsCheckingInterval, http.maxHeaderSize]).toEqual([
      60_000, 300_000, 5_000, 30_000, 16_384,
    ]);
  });

  it('keeps the head timeout within a shorter request timeout given alone', () => {
    expect(new HttpServer(hello, { requestTimeout: 2000 }).nodeServer.headersTimeout).toBe(2000);
  });

  it('answers 408 and closes a connection whose head does not arrive within headersTimeout', async () => {
    const outcome = await withServer({ headersTimeout: 200, requestTimeout: 5000, connectionsCheckingInterval: 50 }, function* (server) {
      return yield* waitFor(sendAndWatch(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    });
    expect(statusLine(outcome.received)).toBe('HTTP/1.1 408 Request Timeout');
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(150);
    expect(outcome.closedAfterMs).toBeLessThan(3000);
  });

  it('answers 408 and closes a connection whose body does not arrive within requestTimeout; the reading task ends quietly', async () => {
    const outcome = await withServer({ headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 }, function* (server) {
      const watched = yield* waitFor(sendAndWatch(server.port, 'POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part'));
      yield* sleep(10);
      return { ...watched, inFlight: server.inFlight };
    });
    expect(statusLine(outcome.received)).toBe('HTTP/1.1 408 Request Timeout');
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(outcome.closedAfterMs).toBeLessThan(3000);
    expect(outcome.inFlight).toBe(0);
  });

  it('closes an idle keep-alive connection after keepAliveTimeout, plus the second Node adds', async () => {
    const outcome = await withServer({ keepAliveTimeout: 200 }, function* (server) {
      return yield* waitFor(sendAndWatch(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    });
    expect(statusLine(outcome.received)).toBe('HTTP/1.1 200 OK');
    // Node's socket timeout is keepAliveTimeout + 1000 ms (its keep-alive buffer); ~1.25 s idle.
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(1150);
    expect(outcome.closedAfterMs).toBeLessThan(6500);
  });

  it('answers 431 to a head over maxHeaderSize (16 KiB by default) and serves one under it', async () => {
    const [over, under] = await withServer({}, function* (server) {
      const big = (n: number) => `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${'a'.repeat(n)}\r\n\r\n`;
      return [yield* waitFor(rawExchange(server.port, big(17_000))), yield* waitFor(rawExchange(server.port, big(15_000)))];
    });
    expect(statusLine(over)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(statusLine(under)).toBe('HTTP/1.1 200 OK');
  });

  it('answers 503 with Retry-After to connections beyond maxConnections, counts them, and keeps serving the others', async () => {
    const outcome = await withServer({ maxConnections: 2 }, function* (server) {
      const kept = [yield* waitFor(rawConnect(server.port)), yield* waitFor(rawConnect(server.port))];
      yield* until(() => server.connections >= 2);
      const refused = yield* waitFor(sendAndWatch(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      // The two open connections are still served.
      const answers: string[] = [];
      for (const socket of kept) {
        answers.push(
          yield* waitFor(
            within(
              new Promise<string>((resolve) => {
                socket.once('data', (c: Buffer) => resolve(statusLine(c.toString('latin1'))));
                socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
              }),
              5000,
              'an answer on a connection within the limit',
            ),
          ),
        );
      }
      const counts = { accepted: server.accepted, rejected: server.rejected };
      // Once one goes, a new connection is served.
      (kept[0] as net.Socket).destroy();
      yield* until(() => server.connections <= 1);
      const later = yield* waitFor(rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      (kept[1] as net.Socket).destroy();
      return { refused, answers, counts, later: statusLine(later) };
    });
    const [head, body] = outcome.refused.received.split('\r\n\r\n');
    expect(statusLine(head as string)).toBe('HTTP/1.1 503 Service Unavailable');
    expect(head).toMatch(/\r\nretry-after: 1\r\n/);
    expect(head).toMatch(/\r\nconnection: close/);
    expect(body).toBe('the server has as many connections as it takes; try again shortly\n');
    expect(outcome.refused.reset).toBe(false);
    expect(outcome.answers).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
    expect(outcome.counts).toEqual({ accepted: 3, rejected: 1 });
    expect(outcome.later).toBe('HTTP/1.1 200 OK');
  });
});

describe('StreamServer: limits', () => {
  it('has a 5-minute idle timeout by default; 0 means none', () => {
    expect(DEFAULT_IDLE_TIMEOUT).toBe(300_000);
    expect(new StreamServer(() => {}).idleTimeout).toBe(300_000);
    expect(new StreamServer(() => {}, { idleTimeout: 0 }).idleTimeout).toBeUndefined();
    expect(new StreamServer(() => {}, { idleTimeout: 50 }).idleTimeout).toBe(50);
  });

  it('raises LineTooLong in a handler whose client sends a line over 64 KiB, the default maxLength of readLine()', async () => {
    const outcome = await runBounded(function* () {
      let failure: unknown = null;
      const server = new StreamServer(function* (socket) {
        try {
          for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line.length}\n`);
        } catch (error) {
          failure = error;
        }
      });
      yield* server.start();
      try {
        const answer = yield* waitFor(rawExchange(server.address.port, `${'a'.repeat(64 << 10)}\n${'b'.repeat((64 << 10) + 1)}\n`, { end: true }));
        yield* until(() => failure !== null);
        return { answer, failure };
      } finally {
        yield* server.stop(0);
      }
    });
    expect(outcome.answer).toBe('65536\n');
    expect(outcome.failure).toBeInstanceOf(LineTooLong);
    expect((outcome.failure as LineTooLong).maxLength).toBe(64 << 10);
  });

  it('refuses a connection beyond maxConnections cleanly: the client reads the end of the stream, not a reset', async () => {
    const server = new StreamServer(function* (socket) {
      for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
    }, { maxConnections: 1 });
    await server.listen();
    try {
      const outcome = await runBounded(function* () {
        using first = yield* connect(server.address.port);
        yield* first.write('one\n');
        const echoed = yield* first.readLine();
        const refused = yield* waitFor(sendAndWatch(server.address.port, 'two\n'));
        yield* first.write('still here\n');
        return { echoed, refused, still: yield* first.readLine(), rejected: server.rejected };
      });
      expect(outcome.echoed).toBe('one');
      expect(outcome.refused).toMatchObject({ received: '', reset: false });
      expect(outcome.still).toBe('still here');
      expect(outcome.rejected).toBe(1);
    } finally {
      await server.stopAsync(0);
    }
  });
});
