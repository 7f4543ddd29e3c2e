/**
 * The seed's fastcgi service, for comparison: the same endpoints served by a FIXED pool of
 * N worker threads, each busy with one request from start to end (a blocking sleep for
 * `/slow`). When every thread is busy, new requests wait in a queue, `/fast` included:
 * a handful of slow requests make the whole service unavailable.
 *
 * Run: node --import tsx demo/fixed-pool-server.ts [--port 0] [--workers 8]
 * Prints `listening <port>` when ready.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, workers: { type: 'string', default: '8' } },
});

/** A worker thread: it handles one job at a time, blocking for the whole of `/slow`. */
const workerSource = `
const { parentPort } = require('node:worker_threads');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', ({ id, ms }) => {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms); // the thread is blocked, as a fastcgi worker in a slow call
  parentPort.postMessage(id);
});
`;

interface Job {
  id: number;
  ms: number;
  respond: () => void;
}

const workers = Array.from({ length: Number(values.workers) }, () => new Worker(workerSource, { eval: true }));
const idle = [...workers];
const backlog: Job[] = [];
const pending = new Map<number, Job>();
let nextId = 0;

function dispatch(): void {
  while (idle.length > 0 && backlog.length > 0) {
    const worker = idle.pop() as Worker;
    const job = backlog.shift() as Job;
    pending.set(job.id, job);
    worker.postMessage({ id: job.id, ms: job.ms });
  }
}

for (const worker of workers) {
  worker.on('message', (id: number) => {
    const job = pending.get(id);
    pending.delete(id);
    idle.push(worker);
    job?.respond();
    dispatch();
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/fast' && url.pathname !== '/slow') {
    res.writeHead(404).end('not found\n');
    return;
  }
  const ms = url.pathname === '/slow' ? Math.max(0, Number(url.searchParams.get('ms') ?? 1000)) : 0;
  backlog.push({ id: nextId++, ms, respond: () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n') });
  dispatch();
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`listening ${address.port}`);
});

const shutdown = (): void => {
  server.close();
  server.closeAllConnections();
  for (const w of workers) void w.terminate();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
