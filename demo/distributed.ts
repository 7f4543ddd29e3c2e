/**
 * The distributed demo (`npm run demo:distributed`): the demo service with its `/cpu` work
 * spread over job-worker processes through a NATS JetStream work queue, every piece a
 * stand-in for a machine of a real deployment (see docs/distributed.md).
 *
 * It starts, on 127.0.0.1:
 *   - a nats-server (Debian's binary) with JetStream storing in a temporary directory;
 *   - N job-worker processes (demo/job-worker.ts), each with a CPU pool, taking `/cpu`
 *     jobs from the work queue `JOBS` (a worker that dies is started again);
 *   - the demo's HTTP front end in this process: `/fast`, `/slow`, `/stats`... as in
 *     `npm start`, and `/cpu?ms=N` submitted to the work queue, answered by a worker.
 *
 * Run: npm run demo:distributed -- [--port 8080] [--workers 2] [--threads N] [--ack-wait 5000]
 *
 * Things to try:
 *   curl 'http://127.0.0.1:8080/cpu?ms=3000' & sleep 1; kill -9 <pid of the worker that took it>
 *       the job is delivered again after the ack wait, and another worker answers
 *   kill -HUP <pid of this process>
 *       restarts the nats-server (JetStream keeps the queue on disk); everything reconnects
 *   Ctrl-C stops it all, the nats-server too.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run } from 'greenlet-ts';
import { HttpError } from 'greenlet-ts/io';
import { connect, workQueue } from 'greenlet-ts/nats';
import { startNatsServer } from './nats-server.js';
import { startDemo } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    workers: { type: 'string', default: '2' },
    threads: { type: 'string' },
    'ack-wait': { type: 'string', default: '5000' },
  },
});
const workers = Math.max(1, Number(values.workers));
const threads = Number(values.threads ?? Math.max(1, Math.floor(os.availableParallelism() / workers)));
const ackWait = Number(values['ack-wait']);
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
process.stdout.on('error', () => {}); // a reader that went away: carry on

const nats = await startNatsServer();
say(`nats-server ${nats.url} (pid ${nats.pid}), JetStream in ${String(nats.storeDir)}`);

// --- the job workers: child processes, started again when they die -------------------------

let stopping = false;
const children = new Map<number, ChildProcess>();
const workerScript = fileURLToPath(new URL('./job-worker.ts', import.meta.url));

function startWorker(slot: number): void {
  const name = `worker-${slot}`;
  const child = spawnProcess(
    process.execPath,
    ['--import', 'tsx', workerScript, '--nats', nats.url, '--name', name, '--threads', String(threads), '--ack-wait', String(ackWait)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.set(slot, child);
  say(`[${name}] started, pid ${child.pid}`);
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) say(`[${name}] ${line} (pid ${child.pid})`);
  });
  child.on('exit', (code, signal) => {
    children.delete(slot);
    say(`[${name}] exited (${signal ?? code}), pid ${child.pid}`);
    // Checked again when the time comes: a worker started after the launcher began to stop
    // would be left out of the stop, and outlive it.
    if (!stopping) {
      setTimeout(() => {
        if (!stopping) startWorker(slot);
      }, 500);
    }
  });
}

for (let slot = 0; slot < workers; slot++) startWorker(slot);

// --- the front end: the demo service, with /cpu through the work queue ----------------------

await run(function* () {
  const nc = yield* connect({ servers: nats.url, name: 'front end', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const queue = yield* workQueue(nc, 'JOBS', { subjects: ['jobs.>'], ackWait });
  const server = yield* startDemo({
    port: Number(values.port),
    host: values.host,
    // A worker killed mid-job is replaced by a redelivery after the ack wait: wait for that too.
    *cpuJob(ms) {
      try {
        const reply = yield* queue.request('jobs.cpu', { ms }, { timeout: 60_000 });
        return reply.string();
      } catch (error) {
        // The queue cannot be reached (the nats-server restarts): say so, and let the client retry.
        if (error instanceof Error && error.name === 'TimeoutError') {
          throw new HttpError(503, `the work queue did not take the job (${error.message}): try again`);
        }
        throw error;
      }
    },
  });
  say(`listening ${server.port}`);
  say(`front end http://${values.host}:${server.port} (pid ${process.pid}): /cpu?ms=N goes to ${workers} job workers through the work queue JOBS`);
  say('kill -HUP this pid to restart the nats-server; Ctrl-C stops everything');

  const restartNats = (): void => {
    say('nats-server restarting');
    nats.restart().then(
      () => say(`nats-server restarted (pid ${nats.pid})`),
      (error: unknown) => console.error('the nats-server did not restart:', error),
    );
  };
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    run(function* () {
      yield* server.stop(1000);
    }).catch((error: unknown) => console.error(error));
  };
  process.on('SIGHUP', restartNats);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  yield* server.serveForever();
  stopping = true;
  process.off('SIGHUP', restartNats);
  yield* nc.drain();
});

// Stop the workers (they hand back the jobs they hold), then the nats-server.
await Promise.all(
  [...children.values()].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  ),
);
await nats.stop();
say('stopped');
