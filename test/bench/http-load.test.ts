/**
 * The benchmark load generator counts what it should: responses split across reads,
 * several per read, and failures (non-200, a connection the server closes).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { pipelinedLoad, ResponseCounter } from '../../bench/http-load.js';

let server: http.Server | undefined;

async function serve(handler: http.RequestListener): Promise<number> {
  server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A response as a server could write it; `name` spells the Content-Length header. */
function response(status: number, body: string, name = 'Content-Length'): string {
  return `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\n${name}:  ${body.length}\r\nDate: now\r\n\r\n${body}`;
}

describe('ResponseCounter', () => {
  it('counts each response once however the stream is cut into reads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ok: fc.boolean(), body: fc.string({ maxLength: 40 }), upper: fc.boolean() }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (responses, cutSeeds) => {
          const bytes = Buffer.from(
            responses.map((r) => response(r.ok ? 200 : 503, r.body, r.upper ? 'CONTENT-LENGTH' : 'content-length')).join(''),
            'latin1',
          );
          const cuts = [...new Set(cutSeeds.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
          const counter = new ResponseCounter();
          let counted = 0;
          let from = 0;
          for (const cut of [...cuts, bytes.length]) {
            counted += counter.feed(bytes.subarray(from, cut));
            from = cut;
          }
          expect(counted).toBe(responses.length);
          expect(counter.failed).toBe(responses.filter((r) => !r.ok).length);
        },
      ),
    );
  });

  it('does not count a response until its last body byte has arrived', () => {
    const counter = new ResponseCounter();
    const whole = Buffer.from(response(200, 'hello'));
    expect(counter.feed(whole.subarray(0, whole.length - 1))).toBe(0);
    expect(counter.feed(whole.subarray(whole.length - 1))).toBe(1);
  });

  it('refuses a response without Content-Length', () => {
    const counter = new ResponseCounter();
    expect(() => counter.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n'))).toThrow(
      /must carry Content-Length/,
    );
    expect(() => new ResponseCounter().feed(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc'))).toThrow(
      /must carry Content-Length/,
    );
  });
});

describe('pipelinedLoad', () => {
  it('counts every response the server sent, with none failed', async () => {
    let served = 0;
    // A body larger than one read, so responses straddle chunk boundaries.
    const body = 'x'.repeat(100_000);
    const port = await serve((_request, response) => {
      served++;
      response.end(body);
    });
    const result = await pipelinedLoad({ port, path: '/', connections: 3, depth: 4, seconds: 0.3 });
    expect(result.failed).toBe(0);
    expect(result.requests).toBeGreaterThan(0);
    // Counted within the window; the batches in flight at its end are drained, not counted.
    expect(result.requests).toBeLessThanOrEqual(served);
    expect(served - result.requests).toBeLessThanOrEqual(3 * 4);
    // The rate is over the window really measured, which is the 0.3 s asked for (Node's
    // timers run on a millisecond clock, so it may end up to a millisecond early).
    expect(result.elapsed).toBeGreaterThanOrEqual(0.299);
    expect(result.rate).toBeCloseTo(result.requests / result.elapsed, 6);
  });

  it('counts non-200 responses as failures', async () => {
    const port = await serve((request, response) => {
      response.statusCode = request.url === '/' ? 503 : 200;
      response.end('no');
    });
    const result = await pipelinedLoad({ port, path: '/', connections: 2, depth: 2, seconds: 0.1 });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.failed).toBeGreaterThanOrEqual(result.requests);
  });

  it('counts a connection the server closes as a failure, with its error', async () => {
    const port = await serve((request) => request.socket.destroy());
    const result = await pipelinedLoad({ port, path: '/', connections: 2, depth: 1, seconds: 0.1 });
    expect(result.requests).toBe(0);
    expect(result.failed).toBeGreaterThanOrEqual(2);
  });

  it('refuses responses it cannot frame (chunked) instead of miscounting them', async () => {
    const port = await serve((_request, response) => {
      response.write('a');
      response.end('b');
    });
    const result = await pipelinedLoad({ port, path: '/', connections: 1, depth: 1, seconds: 0.1 });
    expect(result.requests).toBe(0);
    expect(result.firstError?.message).toMatch(/must carry Content-Length/);
  });
});
