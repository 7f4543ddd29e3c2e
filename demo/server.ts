/**
 * The demo service (`npm start`): the seed's fastcgi service, rebuilt with a task per
 * request. `/slow` requests sleep cooperatively, so however many are in flight, `/fast`
 * answers at once; `/stats` shows what the hub is doing.
 *
 * Run: npm start   (or: node --import tsx demo/server.ts [--port 8080] [--host 127.0.0.1])
 *
 *   GET /fast           answers at once
 *   GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
 *   GET /stats          live tasks, switches per second, and what the parked tasks wait on
 *   GET /               this list
 *
 * `npm run demo:compare` runs the same endpoints on a fixed pool of threads (the fastcgi
 * model) and on this service, under the same load, side by side.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHub, run, sleep, switchCount, type GreenletBody } from 'greenlet-ts';
import { HttpError, HttpServer, type HttpRequest, type HttpResponse } from 'greenlet-ts/io';

const INDEX = `greenlet-ts demo: a task per request

  GET /fast           answers at once
  GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
  GET /stats          live tasks, switches per second, what the parked tasks wait on

Try: curl 'http://HOST/slow?ms=5000' & curl http://HOST/fast
`;

/** Switches per second over the last sampling interval. */
class SwitchRate {
  #last = switchCount();
  #lastAt = performance.now();
  #rate = 0;

  sample(): number {
    const now = performance.now();
    const elapsed = now - this.#lastAt;
    if (elapsed >= 250) {
      const count = switchCount();
      this.#rate = ((count - this.#last) * 1000) / elapsed;
      this.#last = count;
      this.#lastAt = now;
    }
    return this.#rate;
  }
}

/** What `/stats` answers. */
export interface DemoStats {
  liveTasks: number;
  inFlightRequests: number;
  parkedTasks: number;
  switchesPerSecond: number;
  /** The longest-parked tasks (at most 20), with what each waits on. */
  parked: { name: string; waitingOn: string; parkedForMs: number }[];
}

/** Start the demo service; evaluates to the running server (stop it with `yield* server.stop()`). */
export function* startDemo(options: { port?: number; host?: string } = {}): GreenletBody<HttpServer> {
  const rate = new SwitchRate();
  let server!: HttpServer;

  function* handle(request: HttpRequest, response: HttpResponse): GreenletBody<void> {
    switch (request.path) {
      case '/fast':
        response.send(200, 'fast\n');
        return;
      case '/slow': {
        const ms = Number(request.query.get('ms') ?? 1000);
        if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) throw new HttpError(400, '?ms= takes 0 to 600000');
        yield* sleep(ms); // only this request's task waits
        response.send(200, `slow: slept ${ms} ms\n`);
        return;
      }
      case '/stats': {
        const hub = getHub();
        const blocked = hub.blockedTasks();
        const stats: DemoStats = {
          liveTasks: hub.liveCount,
          inFlightRequests: server.inFlight,
          parkedTasks: blocked.length,
          switchesPerSecond: Math.round(rate.sample()),
          parked: blocked.sort((a, b) => b.parkedForMs - a.parkedForMs).slice(0, 20),
        };
        response.send(200, stats);
        return;
      }
      case '/':
        response.send(200, INDEX.replaceAll('HOST', `${request.headers.host ?? 'localhost'}`));
        return;
      default:
        throw new HttpError(404, `nothing at ${request.path}; see /`);
    }
  }

  server = new HttpServer(handle, { port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  return yield* server.start();
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];

if (isMain) {
  // When whoever reads our output goes away (a closed pipe), carry on serving.
  process.stdout.on('error', () => {});
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } },
  });
  await run(function* () {
    const server = yield* startDemo({ port: Number(values.port), host: values.host });
    console.log(`listening ${server.port}`);
    console.log(INDEX.replaceAll('HOST', `${values.host}:${server.port}`));
    console.log('Ctrl-C stops it (gracefully: requests in flight get a second to finish).');
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      run(function* () {
        yield* server.stop(1000);
      }).catch((error: unknown) => console.error(error));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    yield* server.serveForever();
  });
}
