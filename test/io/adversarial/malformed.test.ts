/**
 * Adversarial: malformed and oversized requests. Each gets a 4xx answer (or, for bytes that
 * are not HTTP at all, a 400 from Node's parser) and a closed connection; no handler
 * failure is reported; the server answers `/fast` after every one.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../src/interop/wait.js';
import { checkEachTest } from '../http-helpers.js';
import { SCALE, exchange, expectFastServed, runAttack, startTarget } from './target.js';

checkEachTest();

const MALFORMED: Record<string, { bytes: string | Buffer; status: string }> = {
  'not HTTP': { bytes: 'HELLO THERE\r\n\r\n', status: '400' },
  'binary garbage': { bytes: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)), status: '400' },
  'a NUL in the target': { bytes: 'GET /fa\0st HTTP/1.1\r\nHost: x\r\n\r\n', status: '400' },
  'a header without a colon': { bytes: 'GET /fast HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n', status: '400' },
  'an unknown HTTP version': { bytes: 'GET /fast HTTP/9.9\r\nHost: x\r\n\r\n', status: '400' },
  'no Host header': { bytes: 'GET /fast HTTP/1.1\r\n\r\n', status: '400' },
  'a negative Content-Length': { bytes: 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n', status: '400' },
  'a chunk size that is not hex': { bytes: 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: '400' },
  'an unparseable target': { bytes: 'GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n', status: '400' },
  'a fragment in the target': { bytes: 'GET /fast#x HTTP/1.1\r\nHost: x\r\n\r\n', status: '400' },
  'a request line of 100 KB': { bytes: `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, status: '431' },
  'a header of 100 KB': { bytes: `GET /fast HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, status: '431' },
  '10,000 headers': { bytes: `GET /fast HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`, status: '431' },
  'a body declared at 10 GB': { bytes: 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc', status: '413' },
};

describe('adversarial: malformed and oversized requests', () => {
  it('answers each with its 4xx and closes the connection, then serves /fast', async () => {
    const answers = await runAttack(function* () {
      const server = yield* startTarget({ headersTimeout: 1000, requestTimeout: 2000 });
      try {
        const out: Record<string, string> = {};
        for (let round = 0; round < SCALE; round++) {
          for (const [name, { bytes }] of Object.entries(MALFORMED)) {
            const { text, timedOut } = yield* waitFor(exchange(server.port, bytes));
            out[name] = `${(text.split('\r\n', 1)[0] ?? '').slice(9, 12)}${timedOut ? ' (kept open)' : ''}`;
          }
          yield* expectFastServed(server.port, 1);
        }
        return out;
      } finally {
        yield* server.stop(0);
      }
    });
    expect(answers).toEqual(Object.fromEntries(Object.entries(MALFORMED).map(([name, { status }]) => [name, status])));
  });

  it(`refuses a ${SCALE * 2} MB body streamed to a 64 KiB upload with 413, and keeps serving`, async () => {
    const outcome = await runAttack(function* () {
      const server = yield* startTarget();
      try {
        const body = Buffer.alloc(SCALE * 2 * (1 << 20), 'z');
        const chunked = yield* waitFor(
          exchange(server.port, Buffer.concat([Buffer.from(`POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])),
        );
        yield* expectFastServed(server.port, 3);
        return chunked.text.split('\r\n', 1)[0];
      } finally {
        yield* server.stop(0);
      }
    });
    expect(outcome).toBe('HTTP/1.1 413 Payload Too Large');
  });
});
