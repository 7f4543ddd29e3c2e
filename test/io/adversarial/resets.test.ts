/**
 * Adversarial: abrupt resets. Clients that reset their connection (RST) at every stage:
 * right after connecting, halfway through a request head, halfway through a body the
 * handler reads, while a handler streams its answer, and while a handler sleeps. Each
 * request's task ends (killed with ClientDisconnected where it was parked), nothing is
 * reported, no connection or task is left, and `/fast` is answered after each wave.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { sleep, type GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../../src/interop/wait.js';
import type { HttpServer } from '../../../src/io/http.js';
import { StreamServer } from '../../../src/io/server.js';
import { checkEachTest } from '../http-helpers.js';
import { SCALE, expectFastServed, runAttack, startTarget } from './target.js';

checkEachTest();

/** Connect `count` clients that send `data`, wait `afterMs` (or for the first answer byte), then reset. */
function resetting(port: number, count: number, data: string, afterMs: number | 'first-byte'): Promise<void> {
  const clients = Array.from(
    { length: count },
    () =>
      new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          if (data !== '') socket.write(data);
          if (afterMs === 'first-byte') socket.once('data', () => socket.resetAndDestroy());
          else setTimeout(() => socket.resetAndDestroy(), afterMs);
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      }),
  );
  return Promise.all(clients).then(() => {});
}

function* settled(server: HttpServer): GreenletBody<{ inFlight: number; connections: number }> {
  for (let i = 0; i < 200 && (server.inFlight !== 0 || server.connections !== 0); i++) yield* sleep(10);
  return { inFlight: server.inFlight, connections: server.connections };
}

describe('adversarial: abrupt resets', () => {
  it(`leaves no task or connection behind after ${50 * SCALE} resets at each stage of a request`, async () => {
    const n = 50 * SCALE;
    const waves: Record<string, { inFlight: number; connections: number }> = {};
    await runAttack(function* () {
      const server = yield* startTarget({ headersTimeout: 2000, requestTimeout: 3000 });
      try {
        const stages: [string, string, number | 'first-byte'][] = [
          ['right after connecting', '', 0],
          ['halfway through the head', 'GET /fast HTTP/1.1\r\nHost: x\r\nX-Half', 10],
          ['halfway through a body being read', 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000\r\n\r\nsome of it', 20],
          ['while the answer streams', 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n', 'first-byte'],
          ['while the handler sleeps', 'GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n', 30],
        ];
        for (const [stage, data, after] of stages) {
          yield* waitFor(resetting(server.port, n, data, after));
          waves[stage] = yield* settled(server);
          yield* expectFastServed(server.port, 2);
        }
      } finally {
        yield* server.stop(0);
      }
    });
    for (const left of Object.values(waves)) expect(left).toEqual({ inFlight: 0, connections: 0 });
  });

  it(`leaves no handler behind on a StreamServer after ${100 * SCALE} clients reset mid-line`, async () => {
    const server = new StreamServer(function* (socket) {
      for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
    });
    await server.listen();
    try {
      await waitReset(server.address.port, 100 * SCALE);
      for (let i = 0; i < 200 && server.connections !== 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(server.connections).toBe(0);
    } finally {
      await server.stopAsync(0);
    }
  });
});

async function waitReset(port: number, count: number): Promise<void> {
  await resetting(port, count, 'half a line without its end', 20);
}
