/**
 * nats: JetStream work queues against a real nats-server with JetStream (started for this
 * file): ack when the handling task returns, redelivery when it fails or is killed or its
 * connection dies, back-pressure through pulling, and a server restart in the middle of a
 * stream of jobs, checked by counting.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { Channel, Event, recvCase, run, select, sleep, spawn, waitFor, type GreenletBody } from 'greenlet-ts';
import { MalformedPayload, NatsTimeout, connect, workQueue, type Job, type NatsConnection } from 'greenlet-ts/nats';
import { expectCleanHub, useNatsServer, withConnectionTo } from './nats-test-server.js';

const server = useNatsServer({ jetstream: true });
const reports = expectCleanHub();

let streams = 0;
/** A fresh stream name per test, so that tests never see each other's jobs. */
const freshStream = (): string => `JOBS${++streams}`;

/** Run `body` in a task with a fresh connection, closed at the end. */
const withConnection = <T>(body: (nc: NatsConnection) => GreenletBody<T>): Promise<T> => withConnectionTo(server, body);

/** Jobs left in the stream, and the consumer's jobs pending and delivered-but-unacked. */
function* queueState(nc: NatsConnection, stream: string): GreenletBody<{ messages: number; pending: number; unacked: number }> {
  const jsm = yield* waitFor(jetstreamManager(nc.client));
  const info = yield* waitFor(jsm.streams.info(stream));
  const consumer = yield* waitFor(jsm.consumers.info(stream, 'workers'));
  return { messages: info.state.messages, pending: consumer.num_pending, unacked: consumer.num_ack_pending };
}

/** Poll `condition` every 10 ms for up to `ms` (the jobs go through a real server). */
function* until(condition: () => boolean, ms = 5000): GreenletBody<boolean> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    yield* sleep(10);
  }
  return true;
}

describe('serving jobs', () => {
  it('handles every job in its own task, at most `concurrency` at once, and acks each when its task returns', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      for (let i = 0; i < 20; i++) yield* queue.submit(`${stream}.square`, { x: i });
      let running = 0;
      let mostAtOnce = 0;
      const done: number[] = [];
      const jobServer = yield* queue.serve(
        function* (job) {
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          yield* sleep(2);
          running--;
          done.push(job.json<{ x: number }>().x);
        },
        { concurrency: 3 },
      );
      yield* until(() => done.length === 20);
      yield* until(() => jobServer.inFlight === 0);
      yield* sleep(20); // the last acks reach the server
      const state = yield* queueState(nc, stream);
      yield* jobServer.stop();
      return { done: [...done].sort((a, b) => a - b), mostAtOnce, state };
    });
    expect(result.done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(result.mostAtOnce).toBe(3);
    expect(result.state).toEqual({ messages: 0, pending: 0, unacked: 0 });
  });

  it('answers queue.request() with what the handler returned', async () => {
    const answer = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobServer = yield* queue.serve((job) => ({ squared: job.json<{ x: number }>().x ** 2 }));
      const reply = yield* queue.request(`${stream}.square`, { x: 12 }, { timeout: 5000 });
      yield* jobServer.stop();
      return { reply: reply.json(), pending: nc.pendingRequests };
    });
    expect(answer).toEqual({ reply: { squared: 144 }, pending: 0 });
  });

  it('redelivers the job of a handler that failed, after retryDelay, and reports the failure', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const deliveries: number[] = [];
      const jobServer = yield* queue.serve(
        (job) => {
          deliveries.push(job.deliveryCount);
          if (job.deliveryCount === 1) throw new Error('flaky on the first try');
          return 'ok';
        },
        { retryDelay: 50 },
      );
      const reply = yield* queue.request(`${stream}.flaky`, 'go', { timeout: 5000 });
      yield* jobServer.stop();
      yield* sleep(20);
      return { reply: reply.string(), deliveries, state: yield* queueState(nc, stream) };
    });
    expect(result).toEqual({ reply: 'ok', deliveries: [1, 2], state: { messages: 0, pending: 0, unacked: 0 } });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'task-error' });
    expect((reports[0] as { error: Error }).error.message).toBe('flaky on the first try');
    reports.length = 0;
  });

  it('redelivers at once the job of a handler that was killed (stop() past its grace period)', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const started = new Event();
      const first = yield* queue.serve(function* (job) {
        started.set();
        yield* new Event().wait(); // stuck until killed
        return job.string();
      });
      yield* queue.submit(`${stream}.stuck`, 'payload');
      yield* started.wait();
      yield* first.stop(20); // kills the stuck handler: its job goes back to the queue
      const second = queue.consume();
      const job = (yield* second.recv(5000)) as Job;
      const seen = { data: job.string(), deliveryCount: job.deliveryCount };
      job.ack();
      second.close();
      yield* sleep(20);
      return { seen, state: yield* queueState(nc, stream) };
    });
    expect(result).toEqual({ seen: { data: 'payload', deliveryCount: 2 }, state: { messages: 0, pending: 0, unacked: 0 } });
  });
});

describe('long jobs and resubmission', () => {
  it('keeps a job that takes longer than ackWait from being delivered twice while its task works', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`], ackWait: 300 });
      const deliveries: number[] = [];
      const jobServer = yield* queue.serve(
        function* (job) {
          deliveries.push(job.deliveryCount);
          yield* sleep(1000); // more than three times ackWait
          return 'slow but done';
        },
        { concurrency: 2 },
      );
      const reply = yield* queue.request(`${stream}.long`, '', { timeout: 5000 });
      yield* jobServer.stop();
      yield* sleep(20);
      return { reply: reply.string(), deliveries, state: yield* queueState(nc, stream) };
    });
    expect(result).toEqual({ reply: 'slow but done', deliveries: [1], state: { messages: 0, pending: 0, unacked: 0 } });
  });

  it('recognises a resubmission with the same msgId as a duplicate', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const first = yield* queue.submit(`${stream}.once`, 'a', { msgId: 'order-17' });
      const again = yield* queue.submit(`${stream}.once`, 'a', { msgId: 'order-17' });
      return { first, again, state: yield* queueState(nc, stream) };
    });
    expect(result.first.duplicate).toBe(false);
    expect(result.again).toEqual({ stream: result.first.stream, seq: result.first.seq, duplicate: true });
    expect(result.state.messages).toBe(1);
  });
});

describe('the consumer end', () => {
  it('takes no more jobs than maxJobs: the rest stay on the server for other consumers', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      for (let i = 0; i < 10; i++) yield* queue.submit(`${stream}.n`, String(i));
      const slow = queue.consume({ maxJobs: 2 });
      yield* until(() => slow.length === 2);
      yield* sleep(50); // time for more to arrive, if the receiver asked for more
      const heldBySlow = slow.held;
      const onServer = yield* queueState(nc, stream);
      const other = queue.consume({ maxJobs: 10 });
      yield* until(() => other.length === 8);
      const taken: string[] = [];
      for (const end of [slow, other]) {
        for (let r = end.tryRecv(); r[1]; r = end.tryRecv()) {
          taken.push(r[0].string());
          r[0].ack();
        }
        end.close();
      }
      return { heldBySlow, onServer, taken: taken.map(Number).sort((a, b) => a - b) };
    });
    expect(result.heldBySlow).toBe(2);
    expect(result.onServer).toEqual({ messages: 10, pending: 8, unacked: 2 });
    expect(result.taken).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('acks a received job when the receiving task returns, and redelivers it when the task fails', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobs = queue.consume({ maxJobs: 1, retryDelay: 10 });
      yield* queue.submit(`${stream}.a`, 'first');
      const failing = spawn(function* () {
        const job = (yield* jobs.recv()) as Job;
        throw new Error(`could not handle ${job.string()}`);
      });
      yield* failing.join();
      const again = spawn(function* () {
        const job = (yield* jobs.recv()) as Job;
        return `${job.string()} (delivery ${job.deliveryCount})`;
      });
      const handled = yield* again.get();
      yield* sleep(20);
      jobs.close();
      return { failed: (failing.exception as Error).message, handled, state: yield* queueState(nc, stream) };
    });
    expect(result).toEqual({
      failed: 'could not handle first',
      handled: 'first (delivery 2)',
      state: { messages: 0, pending: 0, unacked: 0 },
    });
  });

  it('a task killed in the middle of recv() loses nothing: the job goes to the next receiver', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobs = queue.consume({ maxJobs: 1 });
      const victim = spawn(function* () {
        return yield* jobs.recv();
      });
      yield* sleep(0);
      const waiting = jobs.recvWaiting;
      yield* victim.kill();
      yield* queue.submit(`${stream}.x`, 'kept');
      const job = (yield* jobs.recv(5000)) as Job;
      const got = `${job.string()} (delivery ${job.deliveryCount})`;
      job.ack();
      jobs.close();
      return { waiting, after: jobs.recvWaiting, got };
    });
    expect(result).toEqual({ waiting: 1, after: 0, got: 'kept (delivery 1)' });
  });

  it('select takes a job beside a local channel; the task that reads it owns it', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobs = queue.consume();
      const control = new Channel<string>();
      yield* queue.submit(`${stream}.y`, 'by select');
      const worker = spawn(function* () {
        const r = yield* select([recvCase(jobs), recvCase(control)], { timeout: 5000 });
        if (r.index !== 0 || !r.ok) return 'no job';
        return r.value.string(); // reading it claims it: acked when this task returns
      });
      const got = yield* worker.get();
      yield* sleep(20);
      jobs.close();
      return { got, state: yield* queueState(nc, stream) };
    });
    expect(result).toEqual({ got: 'by select', state: { messages: 0, pending: 0, unacked: 0 } });
  });

  it('raises MalformedPayload naming the subject for a job that is not JSON', async () => {
    const error = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobs = queue.consume();
      yield* queue.submit(`${stream}.bad`, 'not json');
      const job = (yield* jobs.recv(5000)) as Job;
      try {
        job.json();
        return null;
      } catch (e) {
        return e;
      } finally {
        job.term();
        jobs.close();
      }
    });
    expect(error).toBeInstanceOf(MalformedPayload);
    expect((error as Error).message).toMatch(/^a job on JOBS\d+\.bad is not JSON \(8 bytes: "not json"\)/);
  });

  it('redelivers, after ackWait, the job of a worker whose connection died before it acked', async () => {
    const result = await run(function* () {
      const stream = freshStream();
      const submitter = yield* connect({ servers: server().url });
      const doomed = yield* connect({ servers: server().url });
      try {
        const queue = yield* workQueue(submitter, stream, { subjects: [`${stream}.>`], ackWait: 500 });
        yield* queue.submit(`${stream}.z`, 'survivor');
        const doomedQueue = yield* workQueue(doomed, stream, { subjects: [`${stream}.>`], ackWait: 500 });
        const taken = doomedQueue.consume();
        yield* until(() => taken.length === 1);
        yield* doomed.close(); // its worker "crashes" holding the job, unacked
        const started = performance.now();
        const jobs = queue.consume();
        const job = (yield* jobs.recv(10_000)) as Job;
        const waited = performance.now() - started;
        const got = { data: job.string(), deliveryCount: job.deliveryCount };
        job.ack();
        jobs.close();
        return { got, waited };
      } finally {
        yield* submitter.close();
        yield* doomed.close();
      }
    });
    expect(result.got).toEqual({ data: 'survivor', deliveryCount: 2 });
    expect(result.waited).toBeGreaterThanOrEqual(300);
  });

  it('queue.request() raises NatsTimeout when no worker answers in time, and forgets the request', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      try {
        yield* queue.request(`${stream}.nobody`, 'hello', { timeout: 100 });
        return { error: null, pending: nc.pendingRequests };
      } catch (error) {
        return { error, pending: nc.pendingRequests };
      }
    });
    expect(result.error).toBeInstanceOf(NatsTimeout);
    expect(result.pending).toBe(0);
  });
});

describe('kills', () => {
  it('a task killed while it waits for queue.request() leaves no reply registered, and the job is still done', async () => {
    const result = await withConnection(function* (nc) {
      const stream = freshStream();
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const requester = spawn(function* () {
        return yield* queue.request(`${stream}.later`, 'eventually', { timeout: 5000 });
      });
      yield* sleep(50); // submitted, waiting for a worker
      const pendingBefore = nc.pendingRequests;
      yield* requester.kill();
      const pendingAfter = nc.pendingRequests;
      const jobs = queue.consume();
      const job = (yield* jobs.recv(5000)) as Job;
      const data = job.string();
      yield* job.reply('nobody listens any more');
      job.ack();
      jobs.close();
      return { pendingBefore, pendingAfter, data };
    });
    expect(result).toEqual({ pendingBefore: 1, pendingAfter: 0, data: 'eventually' });
  });
});

describe('a server restart', () => {
  it('loses no job: every job submitted is handled, duplicates only within at-least-once', async () => {
    const total = 60;
    const result = await run(function* () {
      const stream = freshStream();
      const options = { servers: server().url, reconnectTimeWait: 100, maxReconnectAttempts: -1 };
      const producer = yield* connect(options);
      const worker = yield* connect(options);
      try {
        const queue = yield* workQueue(producer, stream, { subjects: [`${stream}.>`], ackWait: 1000 });
        for (let i = 0; i < total; i++) yield* queue.submit(`${stream}.job`, { id: i });
        const workerQueue = yield* workQueue(worker, stream, { subjects: [`${stream}.>`], ackWait: 1000 });
        const handled: number[] = [];
        // Mid-stream for sure: the jobs taken after the first third wait until the server is
        // down, so the rest of the queue can only come from the restarted server.
        const serverDown = new Event();
        let started = 0;
        const jobServer = yield* workerQueue.serve(
          function* (job) {
            if (started++ >= total / 3) yield* serverDown.wait();
            yield* sleep(5);
            handled.push(job.json<{ id: number }>().id);
          },
          { concurrency: 4 },
        );
        yield* until(() => serverDown.waiting === 4);
        yield* waitFor(server().halt()); // four jobs in hand
        serverDown.set(); // they finish meanwhile: their acks may be lost with the old server
        yield* waitFor(server().start());
        const allDone = yield* until(() => new Set(handled).size === total, 15_000);
        yield* until(() => producer.state === 'connected'); // asked before it reconnects, the server never hears
        // Jobs whose ack was lost with the old server are delivered again after ackWait.
        let state = yield* queueState(producer, stream);
        for (let i = 0; i < 100 && state.messages !== 0; i++) {
          yield* sleep(50);
          state = yield* queueState(producer, stream);
        }
        yield* jobServer.stop();
        return { allDone, handled, reconnects: worker.reconnects, state };
      } finally {
        yield* producer.close();
        yield* worker.close();
      }
    });
    expect(result.allDone).toBe(true);
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(new Set(result.handled).size).toBe(total);
    // At least once: a job handled twice is one whose ack was in flight when the server
    // went down, so at most the jobs in hand then (concurrency 4) are repeated.
    expect(result.handled.length - total).toBeLessThanOrEqual(4);
    expect(result.state).toEqual({ messages: 0, pending: 0, unacked: 0 });
  });
});
