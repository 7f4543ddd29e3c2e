/**
 * The adversarial suite's target and tools: an HttpServer with the demo's kind of routes,
 * a `/fast` probe that every test runs while and after it attacks, and the scale of the
 * attacks.
 *
 * `npm test` runs the suite at scale 1 (each file a few seconds on 2 cores); `npm run
 * soak` runs it at `SOAK_SCALE` (default 25): 25 times the connections and requests, and
 * longer attacks, once the descriptor limit is known to be enough for them. Everything
 * stays on 127.0.0.1.
 */
import net from 'node:net';
import { expect, vi } from 'vitest';
import { sleep, type GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../../src/interop/wait.js';
import { HttpError, HttpServer, type HttpHandler, type HttpServerOptions } from '../../../src/io/http.js';
import { fileDescriptorLimit } from '../../../src/io/server-limits.js';
import { TEST_BODY_BOUND, runWithin, until as untilWithin, within } from '../bounded.js';

/** How much bigger than in `npm test` the attacks are (1, or SOAK_SCALE under `npm run soak`). */
export const SCALE = soakScale(process.env, fileDescriptorLimit());

// Under the soak, each test's task is bounded by TEST_BODY_BOUND times the scale (see
// runAttack); vitest gives the test 30 s more for its cleanup, instead of its 20 s.
if (SCALE > 1) vi.setConfig({ testTimeout: TEST_BODY_BOUND * SCALE + 30_000 });

/**
 * The scale `env` asks for (`SOAK=1`, `SOAK_SCALE`, default 25), checked against the
 * process's descriptor limit (`limit`, null if unknown): raises, saying what to do, if
 * the scale is not a whole number >= 1 or the limit is too low for it.
 */
export function soakScale(env: Record<string, string | undefined>, limit: number | null): number {
  if (env.SOAK !== '1') return 1;
  const scale = Number(env.SOAK_SCALE ?? 25);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`SOAK_SCALE takes a whole number >= 1 (how many times larger), not ${env.SOAK_SCALE}`);
  const needed = descriptorsNeeded(scale);
  if (limit !== null && limit < needed) {
    throw new Error(
      `npm run soak at scale ${scale} holds up to ${needed} file descriptors in one process (both ends of ${200 * scale} connections): ` +
        `the limit is ${limit}. Raise it (ulimit -n ${needed}) or lower SOAK_SCALE`,
    );
  }
  return scale;
}

/**
 * File descriptors the suite at `scale` holds at most in one process, with 200 to spare:
 * the largest attacks (slowloris) hold 200 connections per unit of scale, both of their
 * ends in this process (the server's default connection limit, 80 % of the descriptor
 * limit, is then above them too).
 */
export function descriptorsNeeded(scale: number): number {
  return 400 * scale + 200;
}

/** The routes under attack: what a small service answers. */
export const routes: HttpHandler = function* (request, response) {
  switch (request.path) {
    case '/fast':
      response.send(200, 'fast\n');
      return;
    case '/slow':
      yield* sleep(Number(request.query.get('ms') ?? 100));
      response.send(200, 'slow\n');
      return;
    case '/upload': {
      const body = yield* request.body({ limit: 64 << 10 });
      response.send(200, `${body.length}\n`);
      return;
    }
    case '/stream':
      response.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 100; i++) yield* response.write(`${'line '.repeat(200)}${i}\n`);
      response.end();
      return;
    default:
      throw new HttpError(404, 'no such page');
  }
};

/**
 * Wait until `condition()` holds, yielding to the event loop, at most `ms` (10 s, times
 * the scale); raise if it never does (a test must not hang on a count it will not reach).
 */
export function until(condition: () => boolean, what: string, ms = 10_000 * SCALE): GreenletBody<void> {
  return untilWithin(condition, what, ms);
}

/**
 * `run(body)` for an attack: its task gets at most 15 s times the scale (at scale 1 each
 * body takes about 2 s on an idle machine), then a `TestBoundExceeded` is raised in it.
 */
export function runAttack<R>(body: () => GreenletBody<R>): Promise<R> {
  return runWithin(TEST_BODY_BOUND * SCALE, body);
}

/** Start the target with `options` (small timeouts, so that attacks end quickly). */
export function* startTarget(options: HttpServerOptions = {}): GreenletBody<HttpServer> {
  return yield* new HttpServer(routes, { connectionsCheckingInterval: 100, ...options }).start();
}

/** One `/fast` request on a fresh connection: its status line and how long it took (ms). */
export function fastOnce(port: number, timeoutMs = 5000): Promise<{ status: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /fast HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n'));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: text.split('\r\n', 1)[0] ?? '', ms: performance.now() - t0 });
    });
  });
}

/** Ask for `/fast` `times` times, one after the other; assert every answer is 200 and prompt. */
export function* expectFastServed(port: number, times = 5, withinMs = 2000): GreenletBody<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < times; i++) {
    const { status, ms } = yield* waitFor(fastOnce(port));
    expect(status).toBe('HTTP/1.1 200 OK');
    latencies.push(ms);
  }
  expect(Math.max(...latencies)).toBeLessThan(withinMs);
  return latencies;
}

/** Open `count` raw connections, in batches (the listen backlog is finite). */
export async function openConnections(port: number, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from(
      { length: Math.min(200, count - i) },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', (error) => (socket.connecting ? reject(error) : undefined));
        }),
    );
    sockets.push(...(await within(Promise.all(batch), 5000 * SCALE, `${batch.length} connections to 127.0.0.1:${port}`)));
  }
  return sockets;
}

/** Resolves when every socket has closed. */
export function allClosed(sockets: readonly net.Socket[]): Promise<void> {
  return Promise.all(sockets.map((s) => (s.closed ? Promise.resolve() : new Promise<void>((resolve) => s.once('close', () => resolve()))))).then(() => {});
}

/** Send `data` on a fresh connection and collect the answer until the server closes it. */
export function exchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<{ text: string; reset: boolean; timedOut: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let reset = false;
    let timedOut = false;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {
      reset = true;
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), reset, timedOut });
    });
  });
}
