/**
 * The demo service (`npm start`): the seed's fastcgi service, rebuilt with a task per
 * request, on every core. `/slow` requests sleep cooperatively, so however many are in
 * flight, `/fast` answers at once; `/stats` shows what the hub of the process that
 * answered is doing.
 *
 * Run: npm start   (or: node --import tsx demo/server.ts [--port 8080] [--host 127.0.0.1] [--workers N])
 *
 *   GET /fast           answers at once
 *   GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
 *   GET /cpu?ms=N       N ms of CPU work (default 100), on a pool of threads: /fast is not held up
 *   GET /runinfo        the tree of every live task and what it waits on (as text; also on SIGUSR2)
 *   GET /stats          this worker's live tasks, switches per second, what its parked tasks wait on
 *   GET /               this list
 *
 * The process + coroutine model: `--workers N` (default: one per core,
 * `os.availableParallelism()`) worker processes serve the port, each with its own hub
 * and a task per request, under a primary process that replaces a crashed worker and, on
 * Ctrl-C or SIGTERM, stops them all gracefully (`ClusteredServer`). `--workers 1` serves
 * from this one process, without a primary.
 *
 * `npm run demo:compare` runs the same endpoints on a fixed pool of threads (the fastcgi
 * model) and on this service (one process), under the same load, side by side.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getHub, run, sleep, switchCount, type GreenletBody } from 'greenlet-ts';
import { HttpError, HttpServer, type HttpRequest, type HttpResponse } from 'greenlet-ts/io';
import { ClusteredServer, CpuPool } from 'greenlet-ts/workers';
import { formatRunInfo, installRunInfoSignal } from 'greenlet-ts/debug';

const INDEX = `greenlet-ts demo: a task per request

  GET /fast           answers at once
  GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
  GET /cpu?ms=N       N ms of CPU work (default 100), on a pool of threads
  GET /runinfo        every live task, by parent and by spawner, and what it waits on
  GET /stats          live tasks, switches per second, what the parked tasks wait on
                      (of the worker process that answers)

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

/** What `/stats` answers: the figures of the process that answered. */
export interface DemoStats {
  /** The process that answered. */
  pid: number;
  /** Its worker slot under `--workers N` (0 to N-1), or null when one process serves. */
  worker: number | null;
  liveTasks: number;
  inFlightRequests: number;
  parkedTasks: number;
  switchesPerSecond: number;
  /** The longest-parked tasks (at most 20), with what each waits on. */
  parked: { name: string; waitingOn: string; parkedForMs: number }[];
}

/** Options of {@link startDemo} and {@link demoServer}. */
export interface DemoOptions {
  port?: number;
  host?: string;
  /** The worker slot that serves, for `/stats` (null or absent: one process). */
  worker?: number | null;
  /** Threads of this process's CPU pool for `/cpu` (default: one per core). */
  cpuThreads?: number;
  /**
   * Run `/cpu`'s work elsewhere instead of on this process's pool (the distributed demo
   * sends it through a NATS work queue): evaluates to the text of the answer.
   */
  cpuJob?: (ms: number) => GreenletBody<string>;
}

/** Start the demo service in this process; evaluates to the running server (stop it with `yield* server.stop()`). */
export function* startDemo(options: DemoOptions = {}): GreenletBody<HttpServer> {
  return yield* demoServer(options).start();
}

/** The demo service's server, not started: what this process, or each worker, serves. */
export function demoServer(options: DemoOptions = {}): HttpServer {
  const rate = new SwitchRate();
  const worker = options.worker ?? null;
  let server!: HttpServer;
  // Created at the first /cpu request; its threads end after a second without work, so
  // an idle demo holds none.
  let pool: CpuPool<(job: { ms: number }) => { rounds: number; x: number }> | null = null;

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
      case '/cpu': {
        const ms = Number(request.query.get('ms') ?? 100);
        if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) throw new HttpError(400, '?ms= takes 0 to 10000');
        if (options.cpuJob !== undefined) {
          response.send(200, yield* options.cpuJob(ms));
          return;
        }
        pool ??= new CpuPool({
          filename: new URL('./cpu-worker.mjs', import.meta.url),
          maxThreads: options.cpuThreads ?? os.availableParallelism(),
          minThreads: 0,
          idleTimeout: 1000,
        });
        // This task parks while a pool thread computes; the process keeps serving.
        const { rounds } = yield* pool.run({ ms });
        response.send(200, `cpu: ${ms} ms of work on a pool thread (${rounds} rounds)\n`);
        return;
      }
      case '/runinfo':
        response.send(200, formatRunInfo());
        return;
      case '/stats': {
        const hub = getHub();
        const blocked = hub.blockedTasks();
        const stats: DemoStats = {
          pid: process.pid,
          worker,
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
  return server;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];

/** Serve from this process alone (`--workers 1`): today's demo. */
async function serveOneProcess(port: number, host: string): Promise<void> {
  await run(function* () {
    const server = yield* startDemo({ port, host });
    console.log(`listening ${server.port}`);
    console.log(INDEX.replaceAll('HOST', `${host}:${server.port}`));
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

/**
 * Serve from `workers` processes under a primary (this process runs as the primary,
 * and again in every worker: the same module, the same arguments).
 */
async function serveClustered(workers: number, port: number, host: string): Promise<void> {
  const cluster: ClusteredServer<HttpServer> = new ClusteredServer({
    workers,
    // The cores are shared: each worker process gets its share of CPU-pool threads.
    server: () =>
      demoServer({ port, host, worker: cluster.slot, cpuThreads: Math.max(1, Math.floor(os.availableParallelism() / workers)) }),
  });
  await run(function* () {
    yield* cluster.start();
    if (cluster.isPrimary) {
      console.log(`listening ${cluster.port}`);
      console.log(INDEX.replaceAll('HOST', `${host}:${cluster.port}`));
      const pids = cluster.workers.map((w) => w.pid).join(', ');
      console.log(`${workers} worker processes (pids ${pids}), each with its own hub; /stats answers for the one that serves it.`);
      console.log('Ctrl-C stops them all (gracefully: requests in flight get a second to finish).');
      // `on`, not `once`: a second signal (tsx relays the first one again) must not end the
      // primary while its workers drain; the stop is bounded anyway.
      const stop = (): void => {
        cluster.stopAsync(1000).catch((error: unknown) => console.error(error));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    }
    yield* cluster.serveForever();
  });
}

if (isMain) {
  // When whoever reads our output goes away (a closed pipe), carry on serving.
  process.stdout.on('error', () => {});
  // `kill -USR2 <pid>` prints every live task and what it waits on to stderr.
  installRunInfoSignal('SIGUSR2');
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      workers: { type: 'string', default: String(os.availableParallelism()) },
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`--workers takes a whole number >= 1 (processes), not ${values.workers}`);
    process.exit(2);
  }
  if (workers === 1) await serveOneProcess(Number(values.port), values.host);
  else await serveClustered(workers, Number(values.port), values.host);
}
