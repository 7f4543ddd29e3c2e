/**
 * The demo service (`npm start`): the seed's fastcgi service, rebuilt with a task per
 * request, on every core. `/slow` requests sleep cooperatively, so however many are in
 * flight, `/fast` answers at once; `/stats` shows what the hub of the process that
 * answered is doing.
 *
 * Run: npm start   (or: node --import tsx demo/server.ts [--port 8080] [--host 127.0.0.1] [--workers N]
 *                     [--admin-token TOKEN] [--cpu-queue N])
 *
 *   GET /fast           answers at once
 *   GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
 *   GET /cpu?ms=N       N ms of CPU work (default 100), on a pool of threads: /fast is not held up.
 *                       At most --cpu-queue jobs wait or run at once; past that, 503 with Retry-After
 *   GET /runinfo?max=N  the tree of live tasks (the N oldest, default 100) and what they wait on
 *   GET /stats          this worker's live tasks, switches per second, a summary of its parked tasks
 *   GET /               this list
 *
 * A production setup, as an example. The server runs with the library's limits (see
 * docs/io.md, "Running in production"). The operator endpoints, /runinfo and /stats, show
 * what every request waits on: without --admin-token they answer loopback clients only;
 * with it, only requests that carry `Authorization: Bearer TOKEN` (from anywhere: behind a
 * proxy on the same machine, every client looks like loopback). They cost one pass over the
 * live tasks and describe only a few (test/demo.test.ts asks for both with 100,000 tasks
 * parked). A --host other than loopback prints what it exposes.
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
import { timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run, sleep, switchCount, type GreenletBody } from 'greenlet-ts';
import { HttpError, HttpServer, type HttpRequest, type HttpResponse } from 'greenlet-ts/io';
import { ClusteredServer, CpuPool } from 'greenlet-ts/workers';
import { formatRunInfo, installRunInfoSignal, summariseParked, type ParkedSummary } from 'greenlet-ts/debug';

const INDEX = `greenlet-ts demo: a task per request

  GET /fast           answers at once
  GET /slow?ms=N      answers after N ms (default 1000), sleeping in its own task
  GET /cpu?ms=N       N ms of CPU work (default 100), on a pool of threads
  GET /runinfo?max=N  the N oldest live tasks (default 100), by parent and by spawner  [operator]
  GET /stats          live tasks, switches per second, a summary of the parked tasks  [operator]
                      (of the worker process that answers)

Try: curl 'http://HOST/slow?ms=5000' & curl http://HOST/fast
`;

/** How many /cpu jobs may wait or run at once, per process, by default: 4 per thread. */
export const DEFAULT_CPU_QUEUE_PER_THREAD = 4;
/** How many tasks /runinfo lists by default, and at most. */
const RUNINFO_DEFAULT = 100;
const RUNINFO_MAX = 1000;

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
  /** How many parked tasks wait on each kind of thing, most first. */
  waitingOn: ParkedSummary['waitingOn'];
  /** The longest-parked tasks (at most 20), with what each waits on. */
  parked: { name: string; waitingOn: string; parkedForMs: number }[];
  /** Connections open, accepted since the start, refused at the connection limit. */
  connections: { open: number; accepted: number; rejected: number; limit: number };
  /** /cpu jobs waiting or running, and the most allowed. */
  cpu: { jobs: number; limit: number; refused: number };
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
  /** How many `/cpu` jobs may wait or run at once (default 4 per CPU-pool thread); more get 503. */
  cpuQueue?: number;
  /**
   * The token the operator endpoints (`/runinfo`, `/stats`) require, as
   * `Authorization: Bearer TOKEN`. Without one, they answer loopback clients only.
   */
  adminToken?: string;
}

/** Whether `address` is this machine: 127.0.0.0/8, ::1, or either mapped into IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Whether `request` may see the operator endpoints (see {@link DemoOptions.adminToken}). */
function operatorAllowed(request: HttpRequest, adminToken: string | undefined): boolean {
  if (adminToken === undefined || adminToken === '') return isLoopback(request.remoteAddress);
  const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(adminToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

function forbidden(): HttpError {
  return new HttpError(
    403,
    'the operator endpoints answer only loopback clients, or, when the server runs with --admin-token, requests with Authorization: Bearer <token>',
  );
}

/** What a server on `host` exposes, for the operator to read at start (empty on loopback). */
export function exposureNotice(host: string, port: number, adminToken: string | undefined, cpuQueue: number): string {
  if (isLoopback(host) || host === 'localhost') return '';
  return [
    `NOTE: listening on ${host}:${port}, not loopback: every client that can reach this address can call`,
    `  /fast, /slow (up to 600 s each: a parked task of a few hundred bytes) and /cpu (at most ${cpuQueue} jobs`,
    '  waiting or running per process; more get 503), within the limits of docs/io.md "Running in production".',
    adminToken === undefined || adminToken === ''
      ? '  /runinfo and /stats answer loopback clients only (give --admin-token to reach them from elsewhere).'
      : '  /runinfo and /stats answer only requests with Authorization: Bearer <the --admin-token>.',
  ].join('\n');
}

/** Start the demo service in this process; evaluates to the running server (stop it with `yield* server.stop()`). */
export function* startDemo(options: DemoOptions = {}): GreenletBody<HttpServer> {
  return yield* demoServer(options).start();
}

/** The demo service's server, not started: what this process, or each worker, serves. */
export function demoServer(options: DemoOptions = {}): HttpServer {
  const rate = new SwitchRate();
  const worker = options.worker ?? null;
  const cpuThreads = options.cpuThreads ?? os.availableParallelism();
  const cpuLimit = options.cpuQueue ?? cpuThreads * DEFAULT_CPU_QUEUE_PER_THREAD;
  let cpuJobs = 0;
  let cpuRefused = 0;
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
        if (cpuJobs >= cpuLimit) {
          // Bounded: one client cannot queue hours of CPU work ahead of everyone else's.
          cpuRefused++;
          response.send(503, `${cpuJobs} /cpu jobs are waiting or running, the most this process takes: try again shortly\n`, {
            'retry-after': '1',
          });
          return;
        }
        cpuJobs++;
        try {
          if (options.cpuJob !== undefined) {
            response.send(200, yield* options.cpuJob(ms));
            return;
          }
          pool ??= new CpuPool({
            filename: new URL('./cpu-worker.mjs', import.meta.url),
            maxThreads: cpuThreads,
            minThreads: 0,
            idleTimeout: 1000,
          });
          // This task parks while a pool thread computes; the process keeps serving. A client
          // that goes away kills the task, which cancels its job.
          const { rounds } = yield* pool.run({ ms });
          response.send(200, `cpu: ${ms} ms of work on a pool thread (${rounds} rounds)\n`);
        } finally {
          cpuJobs--;
        }
        return;
      }
      case '/runinfo': {
        if (!operatorAllowed(request, options.adminToken)) throw forbidden();
        const max = Number(request.query.get('max') ?? RUNINFO_DEFAULT);
        if (!Number.isInteger(max) || max < 0 || max > RUNINFO_MAX) throw new HttpError(400, `?max= takes 0 to ${RUNINFO_MAX}`);
        response.send(200, formatRunInfo({ maxTasks: max }));
        return;
      }
      case '/stats': {
        if (!operatorAllowed(request, options.adminToken)) throw forbidden();
        const summary = summariseParked({ longest: 20 });
        const stats: DemoStats = {
          pid: process.pid,
          worker,
          liveTasks: summary.liveTasks,
          inFlightRequests: server.inFlight,
          parkedTasks: summary.parkedTasks,
          switchesPerSecond: Math.round(rate.sample()),
          waitingOn: summary.waitingOn,
          parked: [...summary.longest],
          connections: { open: server.connections, accepted: server.accepted, rejected: server.rejected, limit: server.maxConnections },
          cpu: { jobs: cpuJobs, limit: cpuLimit, refused: cpuRefused },
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

/** What the command line sets: where to listen, and the operator token and /cpu bound. */
export interface CommandLine {
  port: number;
  host: string;
  adminToken: string | undefined;
  cpuQueue: number | undefined;
}

/** Print the index, and what a server on a public address exposes (both ways of serving print this). */
export function printStart(line: CommandLine, port: number, cpuQueue: number): void {
  console.log(`listening ${port}`);
  console.log(INDEX.replaceAll('HOST', `${line.host}:${port}`));
  const notice = exposureNotice(line.host, port, line.adminToken, cpuQueue);
  if (notice !== '') console.log(notice);
}

/** Serve from this process alone (`--workers 1`): today's demo. */
async function serveOneProcess(line: CommandLine): Promise<void> {
  await run(function* () {
    const { port, host, adminToken, cpuQueue } = line;
    const server = yield* startDemo({ port, host, adminToken, cpuQueue });
    printStart(line, server.port, cpuQueue ?? os.availableParallelism() * DEFAULT_CPU_QUEUE_PER_THREAD);
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
async function serveClustered(workers: number, line: CommandLine): Promise<void> {
  const { port, host, adminToken, cpuQueue } = line;
  // The cores are shared: each worker process gets its share of CPU-pool threads.
  const cpuThreads = Math.max(1, Math.floor(os.availableParallelism() / workers));
  const cluster: ClusteredServer<HttpServer> = new ClusteredServer({
    workers,
    server: () => demoServer({ port, host, worker: cluster.slot, cpuThreads, adminToken, cpuQueue }),
  });
  await run(function* () {
    yield* cluster.start();
    if (cluster.isPrimary) {
      printStart(line, cluster.port, cpuQueue ?? cpuThreads * DEFAULT_CPU_QUEUE_PER_THREAD);
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
      // Also DEMO_ADMIN_TOKEN, which other users of the machine cannot read in `ps`.
      'admin-token': { type: 'string' },
      'cpu-queue': { type: 'string' },
    },
  });
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    console.error(`--workers takes a whole number >= 1 (processes), not ${values.workers}`);
    process.exit(2);
  }
  const cpuQueue = values['cpu-queue'] === undefined ? undefined : Number(values['cpu-queue']);
  if (cpuQueue !== undefined && !(Number.isInteger(cpuQueue) && cpuQueue >= 0)) {
    console.error(`--cpu-queue takes a whole number >= 0 (jobs waiting or running per process), not ${values['cpu-queue']}`);
    process.exit(2);
  }
  const line: CommandLine = {
    port: Number(values.port),
    host: values.host,
    adminToken: values['admin-token'] ?? process.env.DEMO_ADMIN_TOKEN,
    cpuQueue,
  };
  if (workers === 1) await serveOneProcess(line);
  else await serveClustered(workers, line);
}
