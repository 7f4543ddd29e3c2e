/**
 * Adversarial: log flooding. Clients make every connection fail the same way: lines longer
 * than a `readLine` echo handler accepts (each a `LineTooLong` the handler lets through),
 * and requests whose handler throws (each a 500). With the default reporter, stderr gets
 * the first 10 reports of each kind in full, then one notice that the rest are counted;
 * the server answers `/fast` throughout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getHub, printReport } from 'greenlet-ts';
import { waitFor } from '../../../src/interop/wait.js';
import { HttpServer } from '../../../src/io/http.js';
import { StreamServer } from '../../../src/io/server.js';
import { checkEachTest, reports } from '../http-helpers.js';
import { SCALE, exchange, expectFastServed, runAttack } from './target.js';

checkEachTest();

afterEach(() => {
  vi.restoreAllMocks();
});

/** Count what the default reporter writes while `body` runs. */
async function printed<R>(body: () => Promise<R>): Promise<{ result: R; errors: unknown[][]; warnings: unknown[][] }> {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  const warnings = vi.spyOn(console, 'warn').mockImplementation(() => {});
  getHub().reporter = printReport;
  try {
    const result = await body();
    return { result, errors: errors.mock.calls, warnings: warnings.mock.calls };
  } finally {
    getHub().reporter = (report) => reports.push(report);
  }
}

describe('adversarial: log flooding', () => {
  it(`prints 10 stack traces, not ${300 * SCALE}, when every client sends a line too long for readLine`, async () => {
    const clients = 300 * SCALE;
    const server = new StreamServer(function* echo(socket) {
      for (let line; (line = yield* socket.readLine({ maxLength: 1024 })) !== null; ) yield* socket.write(`${line}\n`);
    });
    await server.listen();
    try {
      const { result, errors, warnings } = await printed(() =>
        runAttack(function* () {
          const line = `${'x'.repeat(2048)}\n`;
          for (let i = 0; i < clients; i += 50) {
            yield* waitFor(Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => exchange(server.address.port, line))));
          }
          const ok = yield* waitFor(exchange(server.address.port, 'short line\n', 300));
          return ok.text;
        }),
      );
      expect(result).toBe('short line\n');
      expect(errors).toHaveLength(10);
      expect(String(errors[0]?.[0])).toMatch(/^StreamServer\(127\.0\.0\.1:\d+\) connection from 127\.0\.0\.1:\d+ failed and nobody waited for it:$/);
      expect(errors.every(([, error]) => (error as Error).name === 'LineTooLong')).toBe(true);
      expect(warnings.map(([message]) => message)).toEqual([
        'greenlet-ts: more than 10 task-error LineTooLong reports within 60 s: the next ones are counted, and the count printed when the interval ends',
      ]);
    } finally {
      await server.stopAsync(0);
    }
  });

  it(`prints 10 stack traces, not ${300 * SCALE}, when every request makes its handler throw`, async () => {
    class HandlerBug extends Error {}
    const { result, errors, warnings } = await printed(() =>
      runAttack(function* () {
        const server = yield* new HttpServer((request, response) => {
          if (request.path === '/fast') {
            response.send(200, 'fast\n');
            return;
          }
          throw new HandlerBug(`bug on ${request.path}`);
        }).start();
        try {
          const statuses = new Map<string, number>();
          for (let i = 0; i < 300 * SCALE; i++) {
            const { text } = yield* waitFor(exchange(server.port, `GET /page/${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
            const status = text.split('\r\n', 1)[0] ?? '';
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
          yield* expectFastServed(server.port, 3);
          return statuses;
        } finally {
          yield* server.stop(0);
        }
      }),
    );
    expect(Object.fromEntries(result)).toEqual({ 'HTTP/1.1 500 Internal Server Error': 300 * SCALE });
    expect(errors).toHaveLength(10);
    expect(String(errors[0]?.[0])).toMatch(/^error in HttpServer\(127\.0\.0\.1:\d+\) handling GET \/page\/\d+:$/);
    expect(warnings).toHaveLength(1);
  });
});
