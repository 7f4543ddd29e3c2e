/**
 * io/http under load and faults (issue 4): many concurrent clients, clients that reset
 * mid-request, clients that send their headers too slowly, and memory after a batch of
 * requests. Loopback only, bounded in count and time. After each: the server still
 * serves, and the checks of http-helpers.ts run (no socket, listener or timer left, no
 * task alive, nothing reported).
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Event, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { HttpServer, httpFetch, type HttpHandler, type HttpServerOptions } from '../../src/io/http.js';
import { checkEachTest, nodeRequest, rawConnect } from './http-helpers.js';
import { TEST_BODY_BOUND, runWithin, until } from './bounded.js';

checkEachTest();

const handler: HttpHandler = function* (request, response) {
  switch (request.path) {
    case '/ping':
      response.send(200, 'pong');
      return;
    case '/sleep':
      yield* sleep(Number(request.query.get('ms') ?? 1));
      response.send(200, 'slept');
      return;
    case '/echo':
      response.send(200, yield* request.body());
      return;
    default:
      response.send(404, 'no such page');
  }
};

/**
 * How long the heavier tests' tasks may run (ms): 1-2 s idle, past the usual 15 s at a
 * load of 26 on 2 cores (200 clients; 1,200 requests).
 */
const HEAVY_BOUND = 90_000;

function withServer<R>(options: HttpServerOptions, body: (server: HttpServer) => GreenletBody<R>, bound = TEST_BODY_BOUND): Promise<R> {
  return runWithin(bound, function* () {
    const server = yield* new HttpServer(handler, options).start();
    try {
      const result = yield* body(server);
      const res = yield* httpFetch(`${server.url}/ping`);
      expect([res.status, yield* res.text()]).toEqual([200, 'pong']);
      return result;
    } finally {
      yield* server.stop(0);
    }
  });
}

describe('HttpServer under load', () => {
  it('answers 200 concurrent clients, through a pool of 50 handlers', async () => {
    const statuses = await withServer({ pool: 50 }, function* (server) {
      const clients = Array.from({ length: 200 }, (_, i) =>
        spawn(function* () {
          const res = yield* httpFetch(`${server.url}/echo`, { method: 'POST', body: `client ${i}` });
          return `${res.status} ${yield* res.text()}`;
        }),
      );
      const answers: string[] = [];
      for (const client of clients) answers.push(yield* client.get());
      expect(server.pool?.size).toBe(0);
      return answers;
    }, HEAVY_BOUND);
    expect(statuses).toEqual(Array.from({ length: 200 }, (_, i) => `200 client ${i}`));
  }, HEAVY_BOUND + 10_000);

  it('leaves no task or connection behind when clients reset mid-request', async () => {
    const stats = await withServer({}, function* (server) {
      const clients: net.Socket[] = [];
      for (let i = 0; i < 60; i++) {
        const socket = yield* waitFor(rawConnect(server.port));
        socket.on('error', () => {});
        if (i % 3 === 0) socket.write('GET /ping HTTP/1.1\r\nHost: x\r\nX-Half: '); // mid-headers
        else if (i % 3 === 1) socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf'); // mid-body
        else socket.write('GET /sleep?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n'); // while the handler runs
        clients.push(socket);
      }
      yield* until(() => server.inFlight === 40 && server.connections === 60, 'every request arrived', 30_000);
      for (const socket of clients) socket.resetAndDestroy();
      yield* until(() => server.inFlight === 0 && server.connections === 0, 'every request task ended', 30_000);
      return { inFlight: server.inFlight, connections: server.connections };
    }, HEAVY_BOUND);
    expect(stats).toEqual({ inFlight: 0, connections: 0 });
  }, HEAVY_BOUND + 10_000);

  it('answers /ping while 100 clients send their headers too slowly, and drops those at headersTimeout', async () => {
    // The slowloris attack at the HTTP layer: Node's headersTimeout ends it (408 and close).
    // The ping must be answered while all 100 are open, so within headersTimeout of the first
    // one's connection: that is only known to hold if the connections and the ping took less
    // than headersTimeout (tens of ms idle; seconds at a load of 26 on 2 cores, when 96 of the
    // 100 had been dropped before the ping, connected one after the other). A run that took
    // longer proves nothing either way and is repeated with a longer headersTimeout; the last
    // one is asserted whatever it took.
    const headersTimeouts = [500, 2000, 8000];
    for (const headersTimeout of headersTimeouts) {
      const options = { headersTimeout, requestTimeout: headersTimeout + 100, connectionsCheckingInterval: 50 };
      const outcome = await withServer(options, function* (server) {
        const allClosed = new Event();
        let open = 0;
        let answered408 = 0;
        const slowClient = (socket: net.Socket): void => {
          socket.on('error', () => {});
          socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
          open++;
          let received = '';
          socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
          socket.on('close', () => {
            if (received.startsWith('HTTP/1.1 408 ')) answered408++;
            if (--open === 0) allClosed.set();
          });
        };
        const started = performance.now();
        // All at once: one after the other, they took 10 s at a load of 26.
        yield* waitFor(Promise.all(Array.from({ length: 100 }, () => rawConnect(server.port).then(slowClient))));
        const ping = yield* waitFor(nodeRequest(`${server.url}/ping`));
        const openWhenPinged = open;
        // No client can have been dropped before this: each was dropped headersTimeout or
        // more after it connected, and the first connected after `started`.
        const pingedWithinHeadersTimeout = performance.now() - started < headersTimeout;
        yield* allClosed.wait();
        return { ping: ping.body, openWhenPinged, answered408, inFlight: server.inFlight, pingedWithinHeadersTimeout };
      });
      if (!outcome.pingedWithinHeadersTimeout && headersTimeout !== headersTimeouts.at(-1)) continue;
      expect(outcome).toMatchObject({ ping: 'pong', openWhenPinged: 100, answered408: 100, inFlight: 0 });
      return;
    }
  }, 60_000); // up to three runs (0.6, 2.1 and 8.1 s at least) when the machine is too busy for the first

  it('returns heap memory near its baseline after 1,000 requests', async () => {
    const gc = global.gc as () => void;
    const heapGrowth = await withServer({ pool: 100 }, function* (server) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
      try {
        const batch = (count: number) =>
          Promise.all(Array.from({ length: count }, (_, i) => nodeRequest(`${server.url}/echo`, { agent, method: 'POST', body: `#${i}`, timeoutMs: 60_000 })));
        yield* waitFor(batch(200)); // warm up: code paths compiled, pools at their size
        gc();
        const before = process.memoryUsage().heapUsed;
        for (let round = 0; round < 5; round++) yield* waitFor(batch(200));
        gc();
        return process.memoryUsage().heapUsed - before;
      } finally {
        agent.destroy();
      }
    }, HEAVY_BOUND);
    expect(heapGrowth).toBeLessThan(8 * 1024 * 1024);
  }, HEAVY_BOUND + 10_000);
});
