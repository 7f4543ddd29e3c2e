/**
 * Adversarial: slowloris. Clients that open connections and send their request head a byte
 * at a time, or nothing at all, to hold the server's connections. The server drops them at
 * its head timeout (HTTP) or idle timeout (StreamServer) and answers `/fast` throughout.
 */
import { describe, expect, it } from 'vitest';
import { sleep, spawn } from 'greenlet-ts';
import { waitFor } from '../../../src/interop/wait.js';
import { StreamServer } from '../../../src/io/server.js';
import { connect } from '../../../src/io/socket.js';
import { checkEachTest } from '../http-helpers.js';
import { SCALE, allClosed, expectFastServed, openConnections, runAttack, startTarget, until } from './target.js';

checkEachTest();

describe('adversarial: slowloris', () => {
  it(`drops ${200 * SCALE} clients trickling their request heads at headersTimeout, answering /fast meanwhile`, async () => {
    const count = 200 * SCALE;
    const outcome = await runAttack(function* () {
      // Long enough that the whole flood is open before the first heads time out.
      const headersTimeout = SCALE === 1 ? 1500 : 10_000;
      const server = yield* startTarget({ headersTimeout, requestTimeout: 2 * headersTimeout });
      try {
        const sockets = yield* waitFor(openConnections(server.port, count));
        // The server accepts them a moment after the clients see them connected.
        yield* until(() => server.connections >= count * 0.9, 'the server to accept the flood', headersTimeout);
        const heldAtStart = server.connections;
        const answered408: boolean[] = [];
        for (const socket of sockets) {
          socket.on('data', (c: Buffer) => {
            if (c.toString('latin1').startsWith('HTTP/1.1 408')) answered408.push(true);
          });
          socket.on('error', () => {});
          socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n');
        }
        // One more header line, slowly, while the server serves /fast.
        const trickle = spawn(function* () {
          for (let i = 0; i < 3; i++) {
            yield* sleep(100);
            for (const socket of sockets) if (!socket.destroyed) socket.write(`X-Slow-${i}: a\r\n`);
          }
        });
        const latencies = yield* expectFastServed(server.port, 10);
        yield* trickle.join();
        yield* waitFor(allClosed(sockets));
        return { latencies, heldAtStart, answered408: answered408.length, left: server.connections };
      } finally {
        yield* server.stop(0);
      }
    });
    expect(outcome.heldAtStart).toBeGreaterThanOrEqual(count * 0.9);
    expect(outcome.answered408).toBe(count);
    expect(outcome.left).toBe(0);
  });

  it(`closes ${200 * SCALE} silent StreamServer connections at idleTimeout, serving an echo client meanwhile`, async () => {
    const count = 200 * SCALE;
    const server = new StreamServer(function* (socket) {
      for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
    }, { idleTimeout: 300 });
    await server.listen();
    try {
      const outcome = await runAttack(function* () {
        const sockets = yield* waitFor(openConnections(server.address.port, count));
        for (const socket of sockets) socket.on('error', () => {});
        using client = yield* connect(server.address.port);
        const echoed: (string | null)[] = [];
        for (let i = 0; i < 5; i++) {
          yield* client.write(`ping ${i}\n`);
          echoed.push(yield* client.readLine());
          yield* sleep(20);
        }
        yield* waitFor(allClosed(sockets));
        // The server's side of each closes a moment after the client's.
        for (let i = 0; i < 200 && server.connections > 1; i++) yield* sleep(10);
        return { echoed, open: server.connections };
      });
      expect(outcome.echoed).toEqual(['ping 0', 'ping 1', 'ping 2', 'ping 3', 'ping 4']);
      expect(outcome.open).toBeLessThanOrEqual(1);
    } finally {
      await server.stopAsync(0);
    }
  });

  it('keeps a connection flood within maxConnections, answering the rest 503, and /fast once they go', async () => {
    const max = 100 * SCALE;
    const outcome = await runAttack(function* () {
      // A head timeout longer than opening the flood takes: the connections must stay.
      const server = yield* startTarget({ maxConnections: max, headersTimeout: 60_000, requestTimeout: 60_000 });
      try {
        const sockets = yield* waitFor(openConnections(server.port, max));
        yield* until(() => server.connections >= max, `the server to hold ${max} connections`);
        const extra = yield* waitFor(openConnections(server.port, 20));
        const refusedAnswers = yield* waitFor(
          Promise.all(
            extra.map(
              (s) =>
                new Promise<string>((resolve) => {
                  const chunks: Buffer[] = [];
                  s.on('data', (c: Buffer) => chunks.push(c));
                  s.on('error', () => {});
                  s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n', 1)[0] ?? ''));
                }),
            ),
          ),
        );
        const rejected = server.rejected;
        for (const s of sockets) s.destroy();
        yield* until(() => server.connections === 0, 'every connection to close');
        yield* expectFastServed(server.port, 3);
        return { refusedAnswers, rejected };
      } finally {
        yield* server.stop(0);
      }
    });
    expect(new Set(outcome.refusedAnswers)).toEqual(new Set(['HTTP/1.1 503 Service Unavailable']));
    expect(outcome.rejected).toBe(20);
  });
});
