/**
 * nats operations are lazy: one made without `yield*` does nothing (no connection opened,
 * no message published or taken, no request sent, no subscription made or drained, no job
 * submitted or taken, no service stopped), and the task that made it fails with a
 * MissingYieldError naming it at its next operation, while a bystander task that was ready
 * runs to its end. Against a real nats-server with JetStream.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { run, sleep, spawn, waitFor, type GreenletBody } from 'greenlet-ts';
import { NoResponders, connect, workQueue, type Job, type NatsConnection } from 'greenlet-ts/nats';
import { raisedBy } from '../raised.js';
import { expectMissingYield, slipBeside } from '../slip.js';
import { expectCleanHub, useNatsServer, withConnectionTo } from './nats-test-server.js';

const server = useNatsServer({ jetstream: true });
expectCleanHub();

let subjects = 0;
const fresh = (prefix: string): string => `${prefix}${++subjects}`;

/** Run `body` in a task with a fresh connection, closed at the end. */
const withConnection = <T>(body: (nc: NatsConnection) => GreenletBody<T>): Promise<T> => withConnectionTo(server, body);

/** Node's TCP handles and connect requests: what a connection would have opened. */
const tcpResources = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPConnectWrap').length;

/** How many messages the work-queue stream `stream` stores, or -1 if there is no such stream. */
function* storedJobs(nc: NatsConnection, stream: string): GreenletBody<number> {
  const jsm = yield* waitFor(jetstreamManager(nc.client));
  try {
    return (yield* waitFor(jsm.streams.info(stream))).state.messages;
  } catch {
    return -1;
  }
}

describe('connections', () => {
  it('connect() opens no connection', async () => {
    const result = await run(function* () {
      const before = tcpResources();
      let after = -1;
      const error = yield* slipBeside(() => {
        connect({ servers: server().url });
        after = tcpResources();
      });
      yield* sleep(20);
      return { error, before, after, later: tcpResources() };
    });
    expectMissingYield(result.error, 'connect()');
    expect(result.after).toBe(result.before);
    expect(result.later).toBe(result.before);
  });

  it('nc.publish() publishes nothing: the next message is the first to arrive', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.publish.');
      const sub = nc.subscribe(subject);
      yield* nc.flush();
      let unconfirmed = -1;
      const before = nc.unconfirmedBytes;
      const error = yield* slipBeside(() => {
        nc.publish(subject, 'lost');
        unconfirmed = nc.unconfirmedBytes;
      });
      yield* nc.publish(subject, 'kept');
      const first = (yield* sub.recv(5000))?.string();
      yield* nc.flush(); // anything published before 'kept' has arrived by now
      const more = sub.length;
      sub.close();
      return { error, before, unconfirmed, first, more };
    });
    expectMissingYield(result.error, 'nc.publish()');
    expect(result.unconfirmed).toBe(result.before);
    expect(result).toMatchObject({ first: 'kept', more: 0 });
  });

  it('nc.request() sends no request and registers no reply', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.request.');
      const service = yield* nc.serve(subject, (msg) => `echo ${msg.string()}`);
      let pending = -1;
      const error = yield* slipBeside(() => {
        nc.request(subject, 'lost');
        pending = nc.pendingRequests;
      });
      const reply = (yield* nc.request(subject, 'kept', { timeout: 5000 })).string();
      const served = service.served;
      yield* service.stop();
      return { error, pending, reply, served };
    });
    expectMissingYield(result.error, 'nc.request()');
    expect(result).toMatchObject({ pending: 0, reply: 'echo kept', served: 1 });
  });

  it('nc.serve() subscribes nothing: a request finds no responder', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.serve.');
      const error = yield* slipBeside(() => {
        nc.serve(subject, () => 'never');
      });
      yield* nc.flush();
      return { error, request: yield* raisedBy(nc.request(subject, 'anyone?', { timeout: 5000 })) };
    });
    expectMissingYield(result.error, 'nc.serve()');
    expect(result.request).toBeInstanceOf(NoResponders);
  });

  it('nc.flush(), nc.drain() and nc.close() leave the connection open and working', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.close.');
      const service = yield* nc.serve(subject, () => 'still here');
      const states: string[] = [];
      const errors = [
        yield* slipBeside(() => {
          nc.flush();
        }),
        yield* slipBeside(() => {
          nc.drain();
          states.push(nc.state);
        }),
        yield* slipBeside(() => {
          nc.close();
          states.push(nc.state);
        }),
      ];
      yield* sleep(20);
      const reply = (yield* nc.request(subject, '', { timeout: 5000 })).string();
      yield* service.stop();
      return { errors, states, state: nc.state, reply };
    });
    expectMissingYield(result.errors[0], 'nc.flush()');
    expectMissingYield(result.errors[1], 'nc.drain()');
    expectMissingYield(result.errors[2], 'nc.close()');
    expect(result).toMatchObject({ states: ['connected', 'connected'], state: 'connected', reply: 'still here' });
  });

  it('service.stop() and service.serveForever() leave the service serving', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.stop.');
      const service = yield* nc.serve(subject, () => 'serving');
      const errors = [
        yield* slipBeside(() => {
          service.stop();
        }),
        yield* slipBeside(() => {
          service.serveForever();
        }),
      ];
      const reply = (yield* nc.request(subject, '', { timeout: 5000 })).string();
      const stopped = service.stopped;
      yield* service.stop();
      return { errors, reply, stopped };
    });
    expectMissingYield(result.errors[0], 'service.stop()');
    expectMissingYield(result.errors[1], 'service.serveForever()');
    expect(result).toMatchObject({ reply: 'serving', stopped: false });
  });
});

describe('subscriptions', () => {
  it('sub.recv(), sub.recvOk() and sub.forEach() take no message: the first is there for the next receive', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.recv.');
      const sub = nc.subscribe(subject);
      yield* nc.publish(subject, 'first');
      yield* nc.publish(subject, 'second');
      yield* nc.flush();
      while (sub.length < 2) yield* sleep(1);
      const seen: string[] = [];
      const buffered: number[] = [];
      const errors = [
        yield* slipBeside(() => {
          sub.recv();
          buffered.push(sub.length);
        }),
        yield* slipBeside(() => {
          sub.recvOk();
          buffered.push(sub.length);
        }),
        yield* slipBeside(() => {
          sub.forEach((msg) => void seen.push(msg.string()));
          buffered.push(sub.length);
        }),
      ];
      const first = (yield* sub.recv())?.string();
      sub.close();
      return { errors, buffered, seen, first, left: sub.length };
    });
    expectMissingYield(result.errors[0], 'sub.recv()');
    expectMissingYield(result.errors[1], 'sub.recvOk()');
    expectMissingYield(result.errors[2], 'sub.forEach()');
    expect(result).toMatchObject({ buffered: [2, 2, 2], seen: [], first: 'first', left: 1 });
  });

  it('sub.drain() leaves the subscription open: later messages still arrive', async () => {
    const result = await withConnection(function* (nc) {
      const subject = fresh('slip.drain.');
      const sub = nc.subscribe(subject);
      yield* nc.flush();
      const error = yield* slipBeside(() => {
        sub.drain();
      });
      yield* nc.publish(subject, 'after');
      const got = (yield* sub.recv(5000))?.string();
      const closed = sub.closed;
      sub.close();
      return { error, got, closed };
    });
    expectMissingYield(result.error, 'sub.drain()');
    expect(result).toMatchObject({ got: 'after', closed: false });
  });
});

describe('work queues', () => {
  it('workQueue() makes no stream, and queue.submit() stores no job', async () => {
    const result = await withConnection(function* (nc) {
      const stream = fresh('SLIPQ');
      const noQueue = yield* slipBeside(() => {
        workQueue(nc, stream, { subjects: [`${stream}.>`] });
      });
      const streamAfterSlip = yield* storedJobs(nc, stream);
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const noJob = yield* slipBeside(() => {
        queue.submit(`${stream}.job`, 'lost');
      });
      const noRequest = yield* slipBeside(() => {
        queue.request(`${stream}.job`, 'lost too');
      });
      yield* nc.flush();
      const stored = yield* storedJobs(nc, stream);
      const pending = nc.pendingRequests;
      yield* queue.submit(`${stream}.job`, 'kept');
      return { noQueue, noJob, noRequest, streamAfterSlip, stored, pending, storedAfter: yield* storedJobs(nc, stream) };
    });
    expectMissingYield(result.noQueue, 'workQueue()');
    expectMissingYield(result.noJob, 'queue.submit()');
    expectMissingYield(result.noRequest, 'queue.request()');
    expect(result).toMatchObject({ streamAfterSlip: -1, stored: 0, pending: 0, storedAfter: 1 });
  });

  it('jobs.recv(), jobs.recvOk() and jobs.forEach() take no job; queue.serve() starts no server', async () => {
    const result = await withConnection(function* (nc) {
      const stream = fresh('SLIPJ');
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      yield* queue.submit(`${stream}.job`, 'the job');
      const noServer = yield* slipBeside(() => {
        queue.serve(() => 'never');
      });
      const jobs = queue.consume();
      while (jobs.length === 0) yield* sleep(1);
      const buffered: number[] = [];
      const errors = [
        yield* slipBeside(() => {
          jobs.recv();
          buffered.push(jobs.length);
        }),
        yield* slipBeside(() => {
          jobs.recvOk();
          buffered.push(jobs.length);
        }),
        yield* slipBeside(() => {
          jobs.forEach(() => {});
          buffered.push(jobs.length);
        }),
      ];
      const job = (yield* jobs.recv()) as Job;
      const data = job.string();
      const owned = job.owner !== null;
      job.ack();
      jobs.close();
      yield* nc.flush();
      return { noServer, errors, buffered, data, owned, stored: yield* storedJobs(nc, stream) };
    });
    expectMissingYield(result.noServer, 'queue.serve()');
    expectMissingYield(result.errors[0], 'jobs.recv()');
    expectMissingYield(result.errors[1], 'jobs.recvOk()');
    expectMissingYield(result.errors[2], 'jobs.forEach()');
    expect(result).toMatchObject({ buffered: [1, 1, 1], data: 'the job', owned: true, stored: 0 });
  });

  it('job.reply() sends no result: the requester gets the one sent with yield*', async () => {
    const result = await withConnection(function* (nc) {
      const stream = fresh('SLIPR');
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const requester = spawn(function* () {
        return (yield* queue.request(`${stream}.job`, 'x', { timeout: 5000 })).string();
      });
      const jobs = queue.consume();
      const job = (yield* jobs.recv(5000)) as Job;
      const error = yield* slipBeside(() => {
        job.reply('lost');
      });
      yield* job.reply('kept'); // one connection publishes in order: 'lost' would come first
      job.ack();
      jobs.close();
      return { error, answer: yield* requester.get() };
    });
    expectMissingYield(result.error, 'job.reply()');
    expect(result.answer).toBe('kept');
  });

  it('server.stop() leaves a job server serving', async () => {
    const result = await withConnection(function* (nc) {
      const stream = fresh('SLIPS');
      const queue = yield* workQueue(nc, stream, { subjects: [`${stream}.>`] });
      const jobServer = yield* queue.serve((job) => `done ${job.string()}`);
      const error = yield* slipBeside(() => {
        jobServer.stop();
      });
      const reply = (yield* queue.request(`${stream}.job`, 'x', { timeout: 5000 })).string();
      const stopped = jobServer.stopped;
      yield* jobServer.stop();
      return { error, reply, stopped };
    });
    expectMissingYield(result.error, 'server.stop()');
    expect(result).toMatchObject({ reply: 'done x', stopped: false });
  });
});
