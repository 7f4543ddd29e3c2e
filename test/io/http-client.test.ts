/**
 * io/http: httpFetch, the platform's `fetch` from a task, against a local HttpServer
 * (127.0.0.1, an ephemeral port). The server's side is watched too: when the client task
 * is killed or times out, the request's handler must see the client go.
 *
 * gevent has no fetch; the nearest tests are gevent's monkey-patched `urllib` under a
 * `Timeout` (src/gevent/tests/test__timeout.py: a blocking call interrupted where it waits).
 */
import { describe, expect, it } from 'vitest';
import { AbortError, Event, GreenletExit, Timeout, spawn, withTimeout, type GreenletBody } from 'greenlet-ts';
import {
  ClientDisconnected,
  HttpFetchTimeout,
  HttpServer,
  httpFetch,
  type HttpHandler,
  type HttpRequest,
  type HttpResponse,
} from '../../src/io/http.js';
import { checkEachTest } from './http-helpers.js';
import { runBounded } from './bounded.js';

checkEachTest();

/**
 * A server whose `/hang` handler answers nothing (with `headFirst`, it sends the head and
 * part of the body first) and records how it ended. Other paths echo.
 */
class HangingServer {
  readonly entered = new Event();
  readonly ended = new Event();
  endedWith: unknown = null;
  readonly handler: HttpHandler;

  constructor() {
    const self = this;
    this.handler = function* (request: HttpRequest, response: HttpResponse): GreenletBody<void> {
      if (request.path === '/hang' || request.path === '/stall') {
        if (request.path === '/stall') {
          response.writeHead(200, { 'content-type': 'text/plain' });
          yield* response.write('the first part, then nothing');
        }
        self.entered.set();
        try {
          yield* new Event().wait();
        } catch (error) {
          self.endedWith = error;
          throw error;
        } finally {
          self.ended.set();
        }
      }
      if (request.path === '/json') {
        response.send(200, { method: request.method, body: yield* request.text() }, { 'x-answer': '42' });
        return;
      }
      if (request.path === '/chunks') {
        for (const part of ['one ', 'two ', 'three']) yield* response.write(part);
        response.end();
        return;
      }
      response.send(200, `echo ${request.url}`);
    };
  }
}

function withServer<R>(handler: HttpHandler, body: (server: HttpServer) => GreenletBody<R>): Promise<R> {
  return runBounded(function* () {
    const server = yield* new HttpServer(handler).start();
    try {
      return yield* body(server);
    } finally {
      yield* server.stop(0);
    }
  });
}

describe('httpFetch', () => {
  it('fetches the status, headers, text and JSON of a local server', async () => {
    const hanging = new HangingServer();
    const result = await withServer(hanging.handler, function* (server) {
      const text = yield* httpFetch(`${server.url}/hello?x=1`);
      const json = yield* httpFetch(`${server.url}/json`, { method: 'POST', body: 'payload' });
      return {
        text: [text.status, text.ok, yield* text.text()],
        json: [json.status, json.headers.get('x-answer'), yield* json.json()],
      };
    });
    expect(result.text).toEqual([200, true, 'echo /hello?x=1']);
    expect(result.json).toEqual([200, '42', { method: 'POST', body: 'payload' }]);
  });

  it('reads the body chunk by chunk with read()', async () => {
    const hanging = new HangingServer();
    const body = await withServer(hanging.handler, function* (server) {
      const res = yield* httpFetch(`${server.url}/chunks`);
      const decoder = new TextDecoder();
      let text = '';
      for (let chunk; (chunk = yield* res.read()) !== null; ) text += decoder.decode(chunk, { stream: true });
      return text;
    });
    expect(body).toBe('one two three');
  });

  it('reuses keep-alive connections for sequential requests', async () => {
    const hanging = new HangingServer();
    const connections = await withServer(hanging.handler, function* (server) {
      let connections = 0;
      server.nodeServer.on('connection', () => connections++);
      for (let i = 0; i < 10; i++) {
        const res = yield* httpFetch(`${server.url}/n${i}`);
        expect(yield* res.text()).toBe(`echo /n${i}`);
      }
      return connections;
    });
    // fetch (undici) opens a second connection for the second request, then reuses both:
    // plain `await fetch()` in a loop does the same. Without keep-alive this would be 10.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('aborts the request when the fetching task is killed; the handler sees the client disconnect', async () => {
    const hanging = new HangingServer();
    const clientOutcome = await withServer(hanging.handler, function* (server) {
      const client = spawn(() => httpFetch(`${server.url}/hang`));
      yield* hanging.entered.wait();
      yield* client.kill();
      yield* hanging.ended.wait();
      return client.value;
    });
    expect(clientOutcome).toBeInstanceOf(GreenletExit);
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('raises HttpFetchTimeout when the timeout passes, and aborts the request', async () => {
    const hanging = new HangingServer();
    const caught = await withServer(hanging.handler, function* (server) {
      try {
        yield* httpFetch(`${server.url}/hang`, { timeout: 50 });
        return null;
      } catch (error) {
        yield* hanging.ended.wait();
        return error;
      }
    });
    expect(caught).toBeInstanceOf(HttpFetchTimeout);
    expect(caught).toBeInstanceOf(Timeout);
    expect((caught as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/hang did not complete within 50 ms/);
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('is aborted by a Timeout of the calling task, which is raised as it is', async () => {
    const hanging = new HangingServer();
    const caught = await withServer(hanging.handler, function* (server) {
      try {
        yield* withTimeout(50, () => httpFetch(`${server.url}/hang`));
        return null;
      } catch (error) {
        yield* hanging.ended.wait();
        return error;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(caught).not.toBeInstanceOf(HttpFetchTimeout);
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('aborts a body read when the deadline passes while the server stalls mid-body', async () => {
    const hanging = new HangingServer();
    const outcome = await withServer(hanging.handler, function* (server) {
      // 1 s, not less: the deadline covers the headers too, which a loaded machine was
      // seen to take more than 100 ms to deliver (3 runs in 3 at a load average of 25).
      const res = yield* httpFetch(`${server.url}/stall`, { timeout: 1000 });
      const status = res.status;
      try {
        yield* res.text();
        return { status, caught: null };
      } catch (error) {
        yield* hanging.ended.wait();
        return { status, caught: error };
      }
    });
    expect(outcome.status).toBe(200);
    expect(outcome.caught).toBeInstanceOf(HttpFetchTimeout);
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('aborts a body read when the reading task is killed', async () => {
    const hanging = new HangingServer();
    const clientOutcome = await withServer(hanging.handler, function* (server) {
      const reading = new Event();
      const client = spawn(function* () {
        const res = yield* httpFetch(`${server.url}/stall`);
        reading.set();
        return yield* res.text();
      });
      yield* reading.wait();
      yield* hanging.entered.wait();
      yield* client.kill();
      yield* hanging.ended.wait();
      return client.value;
    });
    expect(clientOutcome).toBeInstanceOf(GreenletExit);
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('close() gives up an unread body and its connection', async () => {
    const hanging = new HangingServer();
    await withServer(hanging.handler, function* (server) {
      const res = yield* httpFetch(`${server.url}/stall`);
      yield* hanging.entered.wait();
      res.close();
      yield* hanging.ended.wait();
    });
    expect(hanging.endedWith).toBeInstanceOf(ClientDisconnected);
  });

  it('is aborted by the AbortSignal given in init', async () => {
    const hanging = new HangingServer();
    const caught = await withServer(hanging.handler, function* (server) {
      const controller = new AbortController();
      const client = spawn(function* () {
        try {
          yield* httpFetch(`${server.url}/hang`, { signal: controller.signal });
          return null;
        } catch (error) {
          return error;
        }
      });
      yield* hanging.entered.wait();
      controller.abort(new AbortError('the user gave up'));
      const error = yield* client.get();
      yield* hanging.ended.wait();
      return error;
    });
    expect(caught).toBeInstanceOf(AbortError);
    expect((caught as Error).message).toBe('the user gave up');
  });

  it('raises fetch\'s TypeError when the connection is refused', async () => {
    const caught = await runBounded(function* () {
      const server = yield* new HttpServer(() => undefined).start();
      const url = server.url;
      yield* server.stop();
      try {
        yield* httpFetch(`${url}/`);
        return null;
      } catch (error) {
        return error;
      }
    });
    expect(caught).toBeInstanceOf(TypeError);
    expect(((caught as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
