/**
 * io/http: keep-alive survives error answers. A connection stays open after a 404 or a
 * 500 when the request was read completely; what a handler left of a body is read off and
 * dropped up to `maxDrainSize` within `requestTimeout`, and past either the connection
 * closes after the answer (with `Connection: close`, or a FIN once the answer is out).
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { sleep, type GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { HttpError, HttpServer, type HttpHandler, type HttpServerOptions } from '../../src/io/http.js';
import { checkEachTest, nodeRequest, takeReports } from './http-helpers.js';
import { runBounded } from './bounded.js';

checkEachTest();

function withServer<R>(handler: HttpHandler, options: HttpServerOptions, body: (server: HttpServer) => GreenletBody<R>): Promise<R> {
  return runBounded(function* () {
    const server = yield* new HttpServer(handler, options).start();
    try {
      return yield* body(server);
    } finally {
      yield* server.stop(0);
    }
  });
}

/** Counts the TCP connections the server accepted. */
function countConnections(server: HttpServer): () => number {
  let connections = 0;
  server.nodeServer.on('connection', () => connections++);
  return () => connections;
}

const routes: HttpHandler = function* (request, response) {
  switch (request.path) {
    case '/ok':
      response.send(200, 'ok');
      return;
    case '/later':
      yield* sleep(0);
      throw new HttpError(404, 'not here either');
    case '/boom':
      throw new Error('boom');
    case '/ignore':
      response.send(200, 'ignored the body');
      return;
    default:
      throw new HttpError(404, `nothing at ${request.path}`);
  }
};

describe('HttpServer: keep-alive across error answers', () => {
  it('serves 1,000 requests, half of them 404, over 10 keep-alive connections using 10 TCP connections', async () => {
    const { statuses, connections } = await withServer(routes, {}, function* (server) {
      const connections = countConnections(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      const statuses = new Map<number, number>();
      const client = async (c: number): Promise<void> => {
        for (let i = 0; i < 100; i++) {
          const path = (c * 100 + i) % 2 === 0 ? '/ok' : '/missing';
          const res = await nodeRequest(`${server.url}${path}`, { agent });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      };
      try {
        yield* waitFor(Promise.all(Array.from({ length: 10 }, (_, c) => client(c))));
      } finally {
        agent.destroy();
      }
      return { statuses, connections: connections() };
    });
    expect(Object.fromEntries(statuses)).toEqual({ 200: 500, 404: 500 });
    expect(connections).toBe(10);
  });

  it('keeps the connection after a 404 thrown after blocking and after a 500', async () => {
    const { answers, connections } = await withServer(routes, {}, function* (server) {
      const connections = countConnections(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const answers: string[] = [];
      try {
        for (const path of ['/later', '/boom', '/ok']) {
          const res = yield* waitFor(nodeRequest(`${server.url}${path}`, { agent }));
          answers.push(`${res.status} ${res.headers.connection}`);
        }
      } finally {
        agent.destroy();
      }
      return { answers, connections: connections() };
    });
    expect(answers).toEqual(['404 keep-alive', '500 keep-alive', '200 keep-alive']);
    expect(connections).toBe(1);
    expect(takeReports().map((r) => r.kind)).toEqual(['callback-error']);
  });

  it('reads off a small body the handler left unread before a 404, and keeps the connection', async () => {
    const { answers, connections } = await withServer(routes, {}, function* (server) {
      const connections = countConnections(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const answers: string[] = [];
      try {
        for (const path of ['/missing', '/ok']) {
          const res = yield* waitFor(nodeRequest(`${server.url}${path}`, { agent, method: 'POST', body: 'x'.repeat(100_000) }));
          answers.push(`${res.status} ${res.headers.connection}`);
        }
      } finally {
        agent.destroy();
      }
      return { answers, connections: connections() };
    });
    expect(answers).toEqual(['404 keep-alive', '200 keep-alive']);
    expect(connections).toBe(1);
  });

  it('closes the connection after the answer when the unread body is longer than maxDrainSize', async () => {
    const { answers, connections } = await withServer(routes, { maxDrainSize: 1024 }, function* (server) {
      const connections = countConnections(server);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const answers: string[] = [];
      try {
        for (const path of ['/missing', '/ignore', '/ok']) {
          const res = yield* waitFor(nodeRequest(`${server.url}${path}`, { agent, method: 'POST', body: 'x'.repeat(100_000) }));
          answers.push(`${res.status} ${res.headers.connection} ${res.body.trim()}`);
        }
      } finally {
        agent.destroy();
      }
      return { answers, connections: connections() };
    });
    expect(answers).toEqual(['404 close nothing at /missing', '200 close ignored the body', '200 close ok']);
    expect(connections).toBe(3);
  });

  it('answers, then closes a connection whose chunked body never ends, once requestTimeout has passed', async () => {
    const outcome = await withServer(routes, { requestTimeout: 300 }, function* (server) {
      return yield* waitFor(
        new Promise<{ response: string; closedAfterMs: number }>((resolve) => {
          const chunks: Buffer[] = [];
          let answeredAt = 0;
          const socket = net.connect(server.port, '127.0.0.1', () => {
            socket.write('POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
          });
          socket.on('data', (chunk: Buffer) => {
            if (answeredAt === 0) answeredAt = performance.now();
            chunks.push(chunk);
          });
          socket.on('error', () => {});
          socket.on('end', () => socket.end());
          socket.on('close', () => resolve({ response: Buffer.concat(chunks).toString(), closedAfterMs: performance.now() - answeredAt }));
        }),
      );
    });
    expect(outcome.response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(outcome.response).toMatch(/\r\n\r\nignored the body$/);
    // Drained for the request timeout (300 ms), then closed: far sooner than Node's 300 s.
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(outcome.closedAfterMs).toBeLessThan(5000);
  });

  it('never drains with maxDrainSize 0: a handler that leaves a body unread closes its connection', async () => {
    const res = await withServer(routes, { maxDrainSize: 0 }, function* (server) {
      return yield* waitFor(nodeRequest(`${server.url}/ignore`, { method: 'POST', body: 'abc' }));
    });
    expect([res.status, res.headers.connection]).toEqual([200, 'close']);
  });
});
