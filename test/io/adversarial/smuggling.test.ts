/**
 * Adversarial: request smuggling and path tricks. A request whose length is ambiguous
 * (Content-Length with Transfer-Encoding, two Content-Lengths, an obfuscated
 * Transfer-Encoding) is refused with 400 and its connection closed, so that no second
 * request hidden in its body reaches a handler; a target that a URL parser would read as a
 * host reaches the handler as the path it is.
 */
import { describe, expect, it } from 'vitest';
import type { GreenletBody } from 'greenlet-ts';
import { waitFor } from '../../../src/interop/wait.js';
import { HttpServer } from '../../../src/io/http.js';
import { checkEachTest } from '../http-helpers.js';
import { SCALE, exchange, expectFastServed, runAttack } from './target.js';

checkEachTest();

/** Each attack: the bytes sent; the smuggled request (if any) asks for /smuggled. */
const ATTACKS: Record<string, string> = {
  'CL.TE': 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  'TE.CL': 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n26\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n',
  'two Content-Lengths': 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  'Transfer-Encoding: xchunked': 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  'Transfer-Encoding: chunked, identity': 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  'a space before the colon': 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  'a bare LF in a chunk size': 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
};

describe('adversarial: smuggling', () => {
  it('refuses every request of ambiguous length with 400 and a closed connection; nothing smuggled reaches a handler', async () => {
    const seen: string[] = [];
    const outcome = await runAttack(function* (): GreenletBody<Record<string, string>> {
      const server = yield* new HttpServer(
        function* (request, response) {
          seen.push(request.path);
          if (request.path === '/upload') yield* request.body();
          response.send(200, 'ok\n');
        },
        { headersTimeout: 1000, requestTimeout: 2000 },
      ).start();
      try {
        const answers: Record<string, string> = {};
        for (let round = 0; round < SCALE; round++) {
          for (const [name, bytes] of Object.entries(ATTACKS)) {
            const { text, timedOut } = yield* waitFor(exchange(server.port, bytes));
            const statuses = text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
            answers[name] = `${statuses.join(', ')}${timedOut ? ' (kept open)' : ''}`;
          }
        }
        seen.push('--');
        yield* expectFastServedOn(server);
        return answers;
      } finally {
        yield* server.stop(0);
      }
    });
    for (const answer of Object.values(outcome)) expect(answer).toBe('HTTP/1.1 400');
    expect(seen.filter((path) => path === '/smuggled')).toEqual([]);
  });

  it('hands //host/path targets to the handler as paths, never as a host and a path', async () => {
    const seen: string[] = [];
    const answers = await runAttack(function* () {
      const server = yield* new HttpServer((request, response) => {
        seen.push(request.path);
        response.send(request.path === '/runinfo' ? 200 : 404, request.path);
      }).start();
      try {
        const out: string[] = [];
        for (const target of ['//evil.example/runinfo', '///runinfo', '/./runinfo/..', 'http://evil.example//runinfo']) {
          const { text } = yield* waitFor(exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
          out.push(text.split('\r\n', 1)[0] ?? '');
        }
        return out;
      } finally {
        yield* server.stop(0);
      }
    });
    expect(answers).toEqual(['HTTP/1.1 404 Not Found', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 404 Not Found']);
    expect(seen).toEqual(['//evil.example/runinfo', '///runinfo', '/./runinfo/..', '//runinfo']);
  });
});

function* expectFastServedOn(server: HttpServer): GreenletBody<void> {
  // This server answers every path 200: /fast included.
  yield* expectFastServed(server.port, 3);
}
