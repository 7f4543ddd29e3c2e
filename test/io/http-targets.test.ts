/**
 * io/http: how HttpServer reads request targets (RFC 9112 §3.2) and names request tasks.
 * The clients are raw `node:net` sockets, so the target reaches the server exactly as
 * written here.
 *
 * Paths: `//a/b` is the path `//a/b`, never a host; absolute-form only for http(s) with a
 * host that parses; `*` only for OPTIONS; an unparseable target gets 400 without running
 * the handler. Names: method and path, never the query string, in the task's name, run
 * info, traces and reports.
 */
import { describe, expect, it } from 'vitest';
import { currentTaskOrNull, getHub, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { formatRunInfo, startTrace } from 'greenlet-ts/debug';
import { waitFor } from '../../src/interop/wait.js';
import { HttpServer, type HttpHandler, type HttpRequest, type HttpServerOptions } from '../../src/io/http.js';
import { parseRequestTarget } from '../../src/io/request-target.js';
import { checkEachTest, rawExchange, statusLine, takeReports } from './http-helpers.js';
import { runBounded } from './bounded.js';

checkEachTest();

/** What the handler saw of a request, as JSON in the response body. */
interface Seen {
  path: string;
  query: Record<string, string>;
  host: string | undefined;
  name: string;
}

const echoTarget: HttpHandler = (request, response) => {
  const seen: Seen = {
    path: request.path,
    query: Object.fromEntries(request.query),
    host: request.host,
    name: currentTaskOrNull()?.name ?? '',
  };
  response.send(200, seen);
};

function withServer<R>(handler: HttpHandler, options: HttpServerOptions, body: (server: HttpServer) => GreenletBody<R>): Promise<R> {
  return runBounded(function* () {
    const server = yield* new HttpServer(handler, options).start();
    try {
      return yield* body(server);
    } finally {
      yield* server.stop(0);
    }
  });
}

/** Send one request with `target` on a raw socket; the status line and the body. */
function* sendTarget(server: HttpServer, target: string, method = 'GET'): GreenletBody<{ status: string; head: string; body: string }> {
  const raw = yield* waitFor(rawExchange(server.port, `${method} ${target} HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`));
  const split = raw.indexOf('\r\n\r\n');
  return { status: statusLine(raw), head: raw.slice(0, split), body: raw.slice(split + 4) };
}

/** The body of a chunked or plain response, as JSON. */
function seenOf(body: string): Seen {
  const json = body.includes('{') ? body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1) : body;
  return JSON.parse(json) as Seen;
}

describe('HttpServer: request targets (RFC 9112 §3.2)', () => {
  it('reads //evil.example/runinfo as that path, never as a host with the path /runinfo', async () => {
    const result = await withServer(echoTarget, {}, function* (server) {
      return yield* sendTarget(server, '//evil.example/runinfo?x=1');
    });
    expect(result.status).toBe('HTTP/1.1 200 OK');
    expect(seenOf(result.body)).toEqual({ path: '//evil.example/runinfo', query: { x: '1' }, host: 'origin.test', name: 'GET //evil.example/runinfo' });
  });

  it('keeps the path as sent: dot segments, backslashes and percent escapes are not rewritten', async () => {
    const paths = await withServer(echoTarget, {}, function* (server) {
      const out: string[] = [];
      for (const target of ['/public/../runinfo', '/a\\b', '/caf%C3%A9', '/a%2Fb']) out.push(seenOf((yield* sendTarget(server, target)).body).path);
      return out;
    });
    expect(paths).toEqual(['/public/../runinfo', '/a\\b', '/caf%C3%A9', '/a%2Fb']);
  });

  it('accepts an absolute-form http(s) target: path and query from it, its host over the Host header', async () => {
    const [plain, upper, empty] = await withServer(echoTarget, {}, function* (server) {
      return [
        seenOf((yield* sendTarget(server, 'http://api.example:8080/orders?page=2')).body),
        seenOf((yield* sendTarget(server, 'HTTPS://api.example/x')).body),
        seenOf((yield* sendTarget(server, 'http://api.example?q=1')).body),
      ];
    });
    expect(plain).toEqual({ path: '/orders', query: { page: '2' }, host: 'api.example:8080', name: 'GET /orders' });
    expect(upper.path).toBe('/x');
    expect(empty).toMatchObject({ path: '/', query: { q: '1' }, host: 'api.example' });
  });

  it('accepts * only for OPTIONS', async () => {
    const [options, get] = await withServer(echoTarget, {}, function* (server) {
      return [yield* sendTarget(server, '*', 'OPTIONS'), yield* sendTarget(server, '*', 'GET')];
    });
    expect(options.status).toBe('HTTP/1.1 200 OK');
    expect(seenOf(options.body).path).toBe('*');
    expect(get.status).toBe('HTTP/1.1 400 Bad Request');
    expect(get.body).toBe('Bad Request: the target * is only for OPTIONS, not GET\n');
  });

  it('answers 400 and closes the connection for targets it cannot read, without running the handler', async () => {
    let ran = 0;
    const handler: HttpHandler = (_request, response) => {
      ran++;
      response.send(200, 'ran');
    };
    const answers = await withServer(handler, {}, function* (server) {
      const out: Record<string, string> = {};
      for (const target of ['http://[::1', 'ftp://files.example/x', 'http:///nohost', 'http://user@host/', '/a#fragment', '/%zz', '/100%']) {
        const r = yield* sendTarget(server, target);
        out[target] = `${r.status} | ${r.body.trim()} | ${/\r\nconnection: close/i.test(r.head) ? 'closes' : 'keeps'}`;
      }
      return out;
    });
    expect(answers).toEqual({
      'http://[::1': 'HTTP/1.1 400 Bad Request | Bad Request: the host of the target cannot be parsed: [::1 | closes',
      'ftp://files.example/x': 'HTTP/1.1 400 Bad Request | Bad Request: an absolute target must be http or https, not ftp | closes',
      'http:///nohost': 'HTTP/1.1 400 Bad Request | Bad Request: an absolute target needs a host (and no user info) | closes',
      'http://user@host/': 'HTTP/1.1 400 Bad Request | Bad Request: an absolute target needs a host (and no user info) | closes',
      '/a#fragment': 'HTTP/1.1 400 Bad Request | Bad Request: a request target has no fragment (#...) | closes',
      '/%zz': 'HTTP/1.1 400 Bad Request | Bad Request: the path has a % that is not followed by two hex digits | closes',
      '/100%': 'HTTP/1.1 400 Bad Request | Bad Request: the path has a % that is not followed by two hex digits | closes',
    });
    expect(ran).toBe(0);
  });

  it('does not check the query: a stray % there is the handler\'s business', () => {
    expect(parseRequestTarget('GET', '/search?q=100%')).toEqual({ form: 'origin', path: '/search', query: 'q=100%', authority: null });
  });
});

describe('HttpServer: task names without secrets', () => {
  const secret = 'sk_live_SECRET123';

  it('leaves the query out of task names, run info, traces and error reports', async () => {
    const boom = new Error('boom');
    const trace = startTrace();
    let runInfo = '';
    let blocked = '';
    const handler: HttpHandler = function* (request, response) {
      if (request.path === '/park') {
        yield* sleep(50);
        response.send(200, 'parked');
        return;
      }
      if (request.path === '/look') {
        runInfo = formatRunInfo();
        blocked = JSON.stringify(getHub().blockedTasks());
        response.send(200, 'looked');
        return;
      }
      yield* sleep(0);
      throw boom;
    };
    await withServer(handler, {}, function* (server) {
      const parked = spawn(() => waitFor(rawExchange(server.port, `GET /park?api_key=${secret} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)));
      yield* sleep(10);
      yield* sendTarget(server, `/look?token=${secret}`);
      yield* parked.join();
      expect((yield* sendTarget(server, `/fail?api_key=${secret}`)).status).toBe('HTTP/1.1 500 Internal Server Error');
    });
    const file = trace.stop();
    expect(runInfo).toContain('GET /park');
    expect(runInfo).not.toContain(secret);
    expect(blocked).toContain('GET /park');
    expect(blocked).not.toContain(secret);
    const traced = JSON.stringify(file);
    expect(traced).toContain('GET /park');
    expect(traced).not.toContain(secret);
    const taken = takeReports();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ kind: 'callback-error', error: boom });
    expect(JSON.stringify(taken[0])).not.toContain(secret);
    expect((taken[0] as { where: string }).where).toMatch(/handling GET \/fail$/);
  });

  it('names request tasks with the taskName option when given', async () => {
    const taskName = (request: HttpRequest): string => `${request.method} ${request.path.replace(/\/\d+/g, '/:id')}`;
    const seen = await withServer(echoTarget, { taskName }, function* (server) {
      return seenOf((yield* sendTarget(server, '/users/42/orders/7?sig=abc')).body);
    });
    expect(seen.name).toBe('GET /users/:id/orders/:id');
  });

  it('keeps serving when a taskName function throws, names the task method and path, and reports the bug', async () => {
    const bug = new Error('namer bug');
    const seen = await withServer(
      echoTarget,
      {
        taskName: () => {
          throw bug;
        },
      },
      function* (server) {
        return seenOf((yield* sendTarget(server, '/x?y=1')).body);
      },
    );
    expect(seen.name).toBe('GET /x');
    const taken = takeReports();
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ kind: 'callback-error', error: bug });
  });

  it('says in HttpRequest.toString() what a parked reader waits on, without the query', async () => {
    let text = '';
    await withServer(
      function* (request, response) {
        text = request.toString();
        response.send(200, 'ok');
      },
      {},
      function* (server) {
        yield* sendTarget(server, `/upload?key=${secret}`);
      },
    );
    expect(text).toBe('HttpRequest(GET /upload)');
  });
});

