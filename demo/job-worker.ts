/**
 * A job worker of the distributed demo (`npm run demo:distributed` starts N of them): a
 * stand-in for a machine that does `/cpu` work. It takes jobs from the JetStream work
 * queue `JOBS`, at most `--threads` at once, runs each on its CPU pool, and answers the
 * front end that submitted it. Killed with -9 in the middle of a job, the job is delivered
 * again to another worker after the ack wait; the nats-server restarting, it reconnects.
 *
 * Run: node --import tsx demo/job-worker.ts --nats nats://127.0.0.1:4222 [--name worker-0] [--threads N] [--ack-wait MS]
 *
 * It prints one line per event, for people and for the demo's test:
 *   ready
 *   job 7 started (delivery 1)
 *   job 7 done
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { run } from 'greenlet-ts';
import { connect, workQueue } from 'greenlet-ts/nats';
import { CpuPool } from 'greenlet-ts/workers';

/** The work queue of the demo's `/cpu` jobs (the front end makes the same). */
const JOBS_STREAM = 'JOBS';


const { values } = parseArgs({
  options: {
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    name: { type: 'string', default: `worker-${process.pid}` },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    'ack-wait': { type: 'string', default: '5000' },
  },
});
const name = values.name;
const threads = Math.max(1, Number(values.threads));
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

await run(function* () {
  // waitOnFirstConnect: a worker that starts while the nats-server restarts waits for it too.
  const nc = yield* connect({ servers: values.nats, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, waitOnFirstConnect: true });
  const queue = yield* workQueue(nc, JOBS_STREAM, { subjects: ['jobs.>'], ackWait: Number(values['ack-wait']) });
  const pool = new CpuPool<(job: { ms: number }) => { rounds: number; x: number }>({
    filename: new URL('./cpu-worker.mjs', import.meta.url),
    maxThreads: threads,
    minThreads: 0,
    idleTimeout: 1000,
  });
  const server = yield* queue.serve(
    function* (job) {
      const { ms } = job.json<{ ms: number }>();
      say(`job ${job.sequence} started (delivery ${job.deliveryCount})`);
      const { rounds } = yield* pool.run({ ms });
      say(`job ${job.sequence} done`);
      return `cpu: ${ms} ms of work on ${name} (pid ${process.pid}, delivery ${job.deliveryCount}, ${rounds} rounds)\n`;
    },
    { concurrency: threads },
  );
  say('ready');
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    run(function* () {
      yield* server.stop(2000); // jobs still running then are redelivered elsewhere
    }).catch((error: unknown) => console.error(error));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  yield* server.serveForever();
  yield* pool.destroy();
  yield* nc.drain();
});
