/**
 * Load and fault tests of StreamServer over loopback, bounded in count and time: many
 * concurrent echo clients, a slowloris crowd cut off by the idle timeout, clients that
 * reset mid-request, handlers that throw. After each, the server still serves a normal
 * client, no socket or timer is left open, and memory returns near its baseline.
 *
 * The clients are tasks of this process (connect() sockets), so a test measures the
 * server and the client side of the library at once. gevent's counterparts:
 * test__server.py (a server keeps serving after a failed handler) and
 * test__example_echoserver.py (clients in greenlets of the test process).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getHub, printReport, spawn, type GreenletBody, type HubReport, type Task } from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { StreamServer } from '../../src/io/server.js';
import { ConnectionReset, connect, type Socket } from '../../src/io/socket.js';
import { settledHandles, tcpHandles } from './handles.js';
import { runBounded, until } from './bounded.js';

// --- what every test leaves behind ----------------------------------------------------------

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * Generous: what a test may leave on the heap (code and inline caches it warmed up).
 * Measured: about 1 MB after the first test, less after the others.
 */
const HEAP_SLACK = 8 * 1024 * 1024;

let reports: HubReport[] = [];
let handlesBefore = 0;
let liveBefore = 0;
let heapBefore = 0;
let server: StreamServer | null = null;

beforeEach(() => {
  reports = [];
  getHub().reporter = (report) => reports.push(report);
  handlesBefore = tcpHandles();
  liveBefore = getHub().liveCount;
  heapBefore = heapAfterGc();
});

afterEach(async () => {
  if (server !== null && !server.closed) await server.stopAsync(0);
  server = null;
  getHub().reporter = printReport;
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(liveBefore);
  expect(await settledHandles(handlesBefore, 200)).toBe(handlesBefore);
  expect(heapAfterGc() - heapBefore).toBeLessThan(HEAP_SLACK);
});

function* echo(socket: Socket): GreenletBody<void> {
  for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
}

/** Connect, send each line and read its answer; evaluates to the answers. */
function* client(port: number, lines: string[]): GreenletBody<(string | null)[]> {
  using socket = yield* connect(port);
  const answers: (string | null)[] = [];
  for (const line of lines) {
    yield* socket.write(`${line}\n`);
    answers.push(yield* socket.readLine());
  }
  return answers;
}

function* getAll<R>(tasks: Task<R>[]): GreenletBody<R[]> {
  const out: R[] = [];
  for (const t of tasks) out.push(yield* t.get());
  return out;
}

describe('StreamServer under load', () => {
  it('answers 200 concurrent echo clients, 10 round trips each, all correctly', async () => {
    const CLIENTS = 200;
    const ROUNDS = 10;
    server = new StreamServer(echo);
    await server.listen();
    const port = server.address.port;
    const got = await runBounded(function* () {
      const clients = Array.from({ length: CLIENTS }, (_, c) =>
        spawn(client, port, Array.from({ length: ROUNDS }, (_, r) => `client ${c} round ${r} ${'x'.repeat(c % 50)}`)),
      );
      const answers = yield* getAll(clients);
      const peak = server?.accepted;
      return { answers, peak, after: yield* client(port, ['after the crowd']) };
    });
    const expected = Array.from({ length: CLIENTS }, (_, c) =>
      Array.from({ length: ROUNDS }, (_, r) => `client ${c} round ${r} ${'x'.repeat(c % 50)}`),
    );
    expect(got.answers).toEqual(expected);
    expect(got.peak).toBe(CLIENTS);
    expect(got.after).toEqual(['after the crowd']);
    await server.stopAsync();
    expect(server.connections).toBe(0);
    expect(reports).toEqual([]);
  });

  it('cuts off 1,000 silent clients (slowloris) with the idle timeout, serving a normal client meanwhile and afterwards', async () => {
    const SILENT = 1000;
    const BATCH = 100;
    const IDLE_MS = 200;
    server = new StreamServer(echo, { idleTimeout: IDLE_MS });
    await server.listen();
    const port = server.address.port;
    const got = await runBounded(function* () {
      const started = performance.now();
      const silent: Task<string>[] = [];
      let meanwhile: Task<(string | null)[]> | null = null;
      let stillWaitingWhenServed = 0;
      for (let b = 0; b < SILENT / BATCH; b++) {
        const connected: Task<Socket>[] = [];
        for (let i = 0; i < BATCH; i++) connected.push(spawn(() => connect(port)));
        for (const socket of yield* getAll(connected)) {
          // Each silent client sends nothing and waits for the server to hang up.
          silent.push(
            spawn(function* (): GreenletBody<string> {
              using s = socket;
              try {
                return (yield* s.read()) === null ? 'closed by the server' : 'got data';
              } catch (e) {
                return e instanceof ConnectionReset ? 'closed by the server' : String(e);
              }
            }),
          );
        }
        if (b === 0) {
          meanwhile = spawn(client, port, ['while the crowd waits']);
          stillWaitingWhenServed = -1;
          const answers = yield* meanwhile.get();
          stillWaitingWhenServed = silent.filter((t) => !t.ready()).length;
          expect(answers).toEqual(['while the crowd waits']);
        }
      }
      const outcomes = yield* getAll(silent);
      const elapsed = performance.now() - started;
      // Every silent connection is gone on the server's side too.
      yield* until(() => (server as StreamServer).connections === 0);
      return {
        outcomes,
        elapsed,
        stillWaitingWhenServed,
        connections: server?.connections,
        after: yield* client(port, ['after the crowd']),
      };
    });
    expect(got.outcomes).toEqual(Array.from({ length: SILENT }, () => 'closed by the server'));
    expect(got.stillWaitingWhenServed).toBeGreaterThan(0);
    expect(got.connections).toBe(0);
    expect(got.after).toEqual(['after the crowd']);
    expect(got.elapsed).toBeGreaterThanOrEqual(IDLE_MS);
    expect(got.elapsed).toBeLessThan(10_000);
    expect(server.accepted).toBe(SILENT + 2);
    await server.stopAsync();
    expect(reports).toEqual([]);
  });

  it('keeps serving when clients reset the connection mid-request; each handler sees ConnectionReset', async () => {
    const CLIENTS = 50;
    const seen: string[] = [];
    server = new StreamServer(function* (socket) {
      // A request: "LEN n", then n bytes in pieces, each acknowledged, then DONE.
      try {
        const want = Number(((yield* socket.readLine()) as string).slice(4));
        let got = 0;
        while (got < want) {
          const chunk = yield* socket.read();
          if (chunk === null) throw new Error('the client ended early');
          got += chunk.length;
          yield* socket.write(`ACK ${got}\n`);
        }
        yield* socket.write('DONE\n');
        seen.push('completed');
      } catch (e) {
        seen.push((e as Error).name);
        throw e;
      }
    });
    await server.listen();
    const port = server.address.port;
    const got = await runBounded(function* () {
      const resetters = Array.from({ length: CLIENTS }, () =>
        spawn(function* (): GreenletBody<string | null> {
          const socket = yield* connect(port);
          yield* socket.write('LEN 100\n');
          yield* socket.write('x'.repeat(40));
          const ack = yield* socket.readLine(); // the server has read the 40 bytes
          socket.raw.resetAndDestroy(); // and now the client is gone, with a RST
          yield* waitFor(socket.whenClosed());
          return ack;
        }),
      );
      const acks = yield* getAll(resetters);
      yield* until(() => seen.length >= CLIENTS);
      // A complete request from a well-behaved client is still served.
      using socket = yield* connect(port);
      yield* socket.write('LEN 3\nabc');
      const answers = [yield* socket.readLine(), yield* socket.readLine()];
      return { acks, answers };
    });
    expect(got.acks).toEqual(Array.from({ length: CLIENTS }, () => 'ACK 40'));
    expect(got.answers).toEqual(['ACK 3', 'DONE']);
    expect(seen.slice(0, CLIENTS)).toEqual(Array.from({ length: CLIENTS }, () => 'ConnectionReset'));
    expect(reports).toEqual([]); // a reset ends a connection quietly
    await server.stopAsync();
  });

  it('reports every handler that throws, with its connection, and keeps serving', async () => {
    const CLIENTS = 20;
    server = new StreamServer(function* (socket) {
      const line = yield* socket.readLine();
      if (line === 'boom') throw new TypeError(`the handler cannot handle ${line}`);
      yield* socket.write(`${line}\n`);
    });
    await server.listen();
    const port = server.address.port;
    const got = await runBounded(function* () {
      const failing = Array.from({ length: CLIENTS }, () =>
        spawn(function* (): GreenletBody<{ local: number; answer: Buffer | null }> {
          using socket = yield* connect(port);
          yield* socket.write('boom\n');
          return { local: socket.localPort as number, answer: yield* socket.read() };
        }),
      );
      const results = yield* getAll(failing);
      return { results, after: yield* client(port, ['fine']) };
    });
    await server.stopAsync();
    expect(got.results.map((r) => r.answer)).toEqual(Array.from({ length: CLIENTS }, () => null));
    expect(got.after).toEqual(['fine']);
    expect(reports).toHaveLength(CLIENTS);
    const names = reports.map((r) => (r.kind === 'task-error' ? r.task.name : r.kind)).sort();
    const expectedNames = got.results.map((r) => `StreamServer(127.0.0.1:${port}) connection from 127.0.0.1:${r.local}`).sort();
    expect(names).toEqual(expectedNames);
    for (const r of reports) expect(r.kind === 'task-error' && r.error instanceof TypeError).toBe(true);
    reports.length = 0;
  });
});
