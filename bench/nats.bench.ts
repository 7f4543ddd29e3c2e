/**
 * NATS benchmarks, against a real nats-server started for each measurement (on 127.0.0.1,
 * JetStream in a temporary directory). Without the binary they are left out of the run,
 * with a message (see benchmarks.ts).
 *
 * - `dist.nats.request`: a request/reply round trip between two tasks over NATS, the
 *   responder a service that answers each request in its own task
 *   (`yield* nc.request()` → `nc.serve()`), against the official client's own
 *   `await nc.request()` answered by a subscription callback (`msg.respond()`), in the
 *   same run, each side on two connections.
 * - `dist.nats.jobs`: jobs per second through a JetStream work queue served by 2 job-worker
 *   processes (demo/job-worker.ts, one CPU thread each) against 1. Each job is 5 ms of CPU
 *   work; this process submits them with `queue.request()` from 32 tasks and counts the
 *   answers. On 2 cores the nats-server and this process share the cores with the workers.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect as clientConnect } from '@nats-io/transport-node';
import { run, spawn, type GreenletBody } from 'greenlet-ts';
import { connect, workQueue } from 'greenlet-ts/nats';
import { findNatsServer, startNatsServer, type NatsServer } from '../demo/nats-server.js';
import type { Benchmark } from './harness.js';

const WARMUP = 500;
const TRIPS = 5000;

async function withServer<T>(jetstream: boolean, fn: (server: NatsServer) => Promise<T>): Promise<T> {
  const server = await startNatsServer({ jetstream });
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** ns per round trip: a task's `nc.request()` answered by `nc.serve()` (a task per request). */
function taskRoundTrip(): Promise<number> {
  return withServer(false, (server) =>
    run(function* (): GreenletBody<number> {
      const responder = yield* connect({ servers: server.url });
      const requester = yield* connect({ servers: server.url });
      try {
        const service = yield* responder.serve('bench.echo', (msg) => msg.data);
        const payload = new Uint8Array(16);
        for (let i = 0; i < WARMUP; i++) yield* requester.request('bench.echo', payload);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < TRIPS; i++) yield* requester.request('bench.echo', payload);
        const ns = Number(process.hrtime.bigint() - t0) / TRIPS;
        yield* service.stop();
        return ns;
      } finally {
        yield* requester.close();
        yield* responder.close();
      }
    }),
  );
}

/** ns per round trip with the official client alone: `await request()`, a callback responds. */
function rawRoundTrip(): Promise<number> {
  return withServer(false, async (server) => {
    const responder = await clientConnect({ servers: server.url });
    const requester = await clientConnect({ servers: server.url });
    try {
      responder.subscribe('bench.echo', { callback: (_error, msg) => void msg.respond(msg.data) });
      await responder.flush();
      const payload = new Uint8Array(16);
      for (let i = 0; i < WARMUP; i++) await requester.request('bench.echo', payload, { timeout: 5000 });
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < TRIPS; i++) await requester.request('bench.echo', payload, { timeout: 5000 });
      return Number(process.hrtime.bigint() - t0) / TRIPS;
    } finally {
      await requester.close();
      await responder.close();
    }
  });
}

const JOBS = 400;
const JOB_MS = 5;
const SUBMITTERS = 32;
const WORKER = fileURLToPath(new URL('../demo/job-worker.ts', import.meta.url));

/** Start a job-worker process; resolves once it takes jobs. */
function startJobWorker(url: string, name: string): Promise<ChildProcess> {
  const child = spawnProcess(process.execPath, ['--import', 'tsx', WORKER, '--nats', url, '--name', name, '--threads', '1'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    const onData = (chunk: string): void => {
      out += chunk;
      if (/^ready$/m.test(out)) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // its per-job lines are not needed
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`job worker ${name} exited (${code}) before it was ready`)));
  });
}

/** Jobs per second through the work queue with `workers` job-worker processes. */
function jobRate(workers: number): Promise<number> {
  return withServer(true, async (server) => {
    const children: ChildProcess[] = [];
    try {
      for (let i = 0; i < workers; i++) children.push(await startJobWorker(server.url, `bench-${i}`));
      return await run(function* (): GreenletBody<number> {
        const nc = yield* connect({ servers: server.url });
        try {
          const queue = yield* workQueue(nc, 'JOBS', { subjects: ['jobs.>'] });
          // Warm-up: every worker compiles its hot code and starts its pool thread.
          for (let i = 0; i < 4 * workers; i++) yield* queue.request('jobs.cpu', { ms: 1 }, { timeout: 30_000 });
          let next = 0;
          const t0 = performance.now();
          const submitters = Array.from({ length: SUBMITTERS }, () =>
            spawn(function* () {
              while (next < JOBS) {
                next++;
                yield* queue.request('jobs.cpu', { ms: JOB_MS }, { timeout: 60_000 });
              }
            }),
          );
          for (const task of submitters) yield* task.get();
          return (JOBS * 1000) / (performance.now() - t0);
        } finally {
          yield* nc.close();
        }
      });
    } finally {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    }
  });
}

export const natsBenchmarks: Benchmark[] = [
  {
    name: 'dist.nats.request',
    unit: 'ns/op',
    what: `request/reply round trip task → nats-server → service task and back, ${TRIPS} trips`,
    measure: taskRoundTrip,
    baseline: "the official client's await request(), a callback responds",
    baselineMeasure: rawRoundTrip,
    target: '≤ 1.15',
    rounds: 5,
  },
  {
    name: 'dist.nats.jobs',
    unit: 'jobs/s',
    what: `${JOBS} jobs of ${JOB_MS} ms CPU through a JetStream work queue, 2 job-worker processes`,
    measure: () => jobRate(2),
    baseline: 'the same with 1 job-worker process',
    baselineMeasure: () => jobRate(1),
    target: '≥ 1.6 (cores allowing)',
    rounds: 1,
  },
];

/** Whether the NATS benchmarks can run here (a nats-server binary is installed). */
export function natsBenchmarksAvailable(): boolean {
  return findNatsServer() !== null;
}
