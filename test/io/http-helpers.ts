/**
 * Helpers of the HTTP tests: clients that do exactly what a test says (a raw `node:net`
 * socket, a `node:http` request with or without a keep-alive agent), and the checks every
 * test makes at its end (nothing left open, nothing reported, no task left behind).
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, beforeEach, expect } from 'vitest';
import { getHub, printReport, type HubReport } from 'greenlet-ts';
import { TestBoundExceeded, within } from './bounded.js';

// --- what every test leaves behind ----------------------------------------------------------

/** The resources of ours a test could leak: sockets, listeners, timers. */
export interface OpenHandles {
  tcp: number;
  timers: number;
}

export function openHandles(): OpenHandles {
  const info = process.getActiveResourcesInfo();
  return {
    tcp: info.filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}

/**
 * Wait until the open sockets and listeners are back to `baseline` (a closed socket's
 * handle goes on the next turns of the event loop), then assert it, and that no Node
 * timer was added (vitest's own timers come and go between hooks: fewer is fine).
 * Bounded: 2 s.
 */
export async function expectHandlesBackTo(baseline: OpenHandles): Promise<void> {
  const deadline = Date.now() + 2000;
  const settled = (): boolean => {
    const now = openHandles();
    return now.tcp <= baseline.tcp && now.timers <= baseline.timers;
  };
  while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  const now = openHandles();
  expect(now.tcp, 'open TCP sockets and listeners').toBe(baseline.tcp);
  expect(now.timers, 'Node timers').toBeLessThanOrEqual(baseline.timers);
}

/** The hub's reports during the current test; a test that expects some empties it. */
export const reports: HubReport[] = [];

/**
 * Install the per-test checks: reports are collected (and must be empty at the end unless
 * the test took them), no hub timer is left, no task is left alive, no handle is left open.
 */
export function checkEachTest(): void {
  let liveBefore = 0;
  let handlesBefore: OpenHandles = { tcp: 0, timers: 0 };
  beforeEach(() => {
    reports.length = 0;
    getHub().reporter = (report) => reports.push(report);
    liveBefore = getHub().liveCount;
    handlesBefore = openHandles();
  });
  afterEach(async () => {
    await expectHandlesBackTo(handlesBefore);
    getHub().reporter = printReport;
    expect(getHub().timers.size).toBe(0);
    expect(getHub().liveCount).toBe(liveBefore);
    expect(reports).toEqual([]);
  });
}

/** Take the reports collected so far (the test expected them). */
export function takeReports(): HubReport[] {
  return reports.splice(0);
}

// --- clients ----------------------------------------------------------------------------------

/**
 * Send `data` on a fresh raw connection and collect everything that comes back until the
 * server closes it (a reset after the data counts as a close). With `end`, half-close
 * after sending. Rejects if the server has not closed it within `timeoutMs` (default 10 s).
 */
export function rawExchange(port: number, data: string | Buffer, options: { end?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => {
      if (options.end === true) socket.end(data);
      else socket.write(data);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      const received = Buffer.concat(chunks).toString('latin1');
      reject(new TestBoundExceeded(`the server did not close a raw connection within ${timeoutMs} ms; it sent ${JSON.stringify(received.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

/** A raw connection, once connected (rejects on an error, or after `timeoutMs`, default 5 s). */
export function rawConnect(port: number, timeoutMs = 5000): Promise<net.Socket> {
  return within(
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    }),
    timeoutMs,
    `a connection to 127.0.0.1:${port}`,
  );
}

export interface NodeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request with `node:http` (through `agent` if given); rejects on a connection error,
 * or if the whole response has not come within `timeoutMs` (default 10 s).
 */
export function nodeRequest(
  url: string,
  options: { agent?: http.Agent; method?: string; body?: string | Buffer; headers?: http.OutgoingHttpHeaders; timeoutMs?: number } = {},
): Promise<NodeResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let req: http.ClientRequest | undefined;
  const response = new Promise<NodeResponse>((resolve, reject) => {
    req = http.request(url, { agent: options.agent ?? false, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
  return within(response, timeoutMs, `the response to ${options.method ?? 'GET'} ${url}`).catch((error: unknown) => {
    req?.destroy();
    throw error;
  });
}

/** The status line of a raw response: `HTTP/1.1 413 Payload Too Large`. */
export function statusLine(raw: string): string {
  return raw.split('\r\n', 1)[0] ?? '';
}
