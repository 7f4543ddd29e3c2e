/**
 * An HTTP service with a task per request: slow requests do not hold up fast ones, bodies are read with a limit, and it stops gracefully.
 * Run: npx tsx examples/http-service.ts   → prints what a few client tasks get from the service, which listens on
 * 127.0.0.1 at a port the system picks, then how the service stopped.
 *
 * The service has three routes: `/hello?name=...` answers at once, `/slow?ms=N` sleeps N ms
 * (cooperatively: only its own task waits), and `POST /sum` reads a JSON array of numbers
 * (at most 1 KB) and answers its sum. Every request runs `handle(request, response)` in a
 * task of its own, so while three slow requests sleep, `/hello` is answered at once.
 *
 * The clients are tasks too, calling `httpFetch` (the platform's `fetch`, aborted when the
 * calling task stops waiting): one gives up on a 10-second request after 100 ms, and the
 * service sees its client go: the request's task is killed with `ClientDisconnected` where
 * it sleeps. At the end, `stop(1000)` lets the request still in flight finish, then closes
 * everything.
 *
 * The slow requests sleep 300, 200 and 100 ms: they finish in the reverse order they were
 * sent, 100 ms apart, a gap wide enough for the output to be the same on any machine.
 */
import { Event, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { ClientDisconnected, HttpError, HttpServer, httpFetch, type HttpRequest, type HttpResponse } from 'greenlet-ts/io';

/** What the service's handlers saw end early, for the report at the end. */
const abandoned: string[] = [];
const clientGone = new Event();

function* handle(request: HttpRequest, response: HttpResponse): GreenletBody<void> {
  switch (request.path) {
    case '/hello':
      response.send(200, `hello, ${request.query.get('name') ?? 'world'}`);
      return;
    case '/slow': {
      const ms = Number(request.query.get('ms') ?? 100);
      try {
        yield* sleep(ms); // parks this request's task only
      } catch (error) {
        if (error instanceof ClientDisconnected) {
          abandoned.push(`${request.url} killed with ${error.name}`);
          clientGone.set();
        }
        throw error;
      }
      response.send(200, `slept ${ms} ms`);
      return;
    }
    case '/sum': {
      if (request.method !== 'POST') throw new HttpError(405, 'POST a JSON array of numbers to /sum');
      const numbers = yield* request.json<number[]>({ limit: 1024 }); // 413 past 1 KB, 400 if not JSON
      response.send(200, { sum: numbers.reduce((a, b) => a + b, 0) });
      return;
    }
    default:
      throw new HttpError(404, `nothing at ${request.path}`);
  }
}

/** Print `label → value`, the arrows aligned. */
function show(label: string, value: string): void {
  console.log(`${label.padEnd(36)}→ ${value}`);
}

/** `200 hello, world`: the status and the body of a response (of an error, its first clause). */
function* get(url: string, init?: Parameters<typeof httpFetch>[1]): GreenletBody<string> {
  const response = yield* httpFetch(url, init);
  const body = (yield* response.text()).trim();
  return `${response.status} ${response.ok ? body : body.split(':')[0]}`;
}

await run(function* () {
  const server = yield* new HttpServer(handle, { pool: 100 }).start();
  const base = server.url;

  show('GET  /hello?name=greenlets', yield* get(`${base}/hello?name=greenlets`));

  // Three slow requests at once; /hello is answered while they sleep.
  const finished: string[] = [];
  const slow = [300, 200, 100].map((ms) =>
    spawn(function* () {
      finished.push(yield* get(`${base}/slow?ms=${ms}`));
    }),
  );
  while (server.inFlight < 3) yield* sleep(1);
  show('GET  /hello (3 slow in flight)', yield* get(`${base}/hello`));
  for (const task of slow) yield* task.join();
  show('GET  /slow ×3, in order finished', finished.join(', '));

  const json = { method: 'POST', headers: { 'content-type': 'application/json' } };
  show('POST /sum [1..10]', yield* get(`${base}/sum`, { ...json, body: JSON.stringify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) }));
  show('POST /sum (1.4 KB of numbers)', yield* get(`${base}/sum`, { ...json, body: JSON.stringify(new Array(700).fill(1)) }));
  show('POST /sum (not JSON)', yield* get(`${base}/sum`, { ...json, body: '[1, 2,' }));
  show('GET  /nowhere', yield* get(`${base}/nowhere`));

  // A client that gives up: the service sees it go.
  try {
    yield* get(`${base}/slow?ms=10000`, { timeout: 100 });
  } catch (error) {
    show('GET  /slow?ms=10000, timeout 100', (error as Error).name);
  }
  yield* clientGone.wait();
  show('  and the service saw', abandoned.join('; '));

  // Stop while a request is in flight: it finishes within the grace period.
  const last = spawn(() => get(`${base}/slow?ms=50`));
  while (server.inFlight < 1) yield* sleep(1);
  yield* server.stop(1000);
  show('GET  /slow?ms=50, during stop(1000)', yield* last.get());
  console.log(`stopped: ${server.stopped}, requests in flight: ${server.inFlight}, connections: ${server.connections}`);
});
