/**
 * Type tests of the nats operations and the remote channels' operations: each is a
 * `SwitchOp<T>` (lazy: `yield*` performs it), and `yield*` evaluates to `T`.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { RecvResult, SwitchOp } from 'greenlet-ts';
import {
  connect,
  workQueue,
  type Job,
  type JobReceiver,
  type JobServer,
  type NatsConnection,
  type NatsMessage,
  type NatsService,
  type Submitted,
  type Subscription,
  type WorkQueue,
} from 'greenlet-ts/nats';
import type { RemoteReceiver, RemoteSender } from 'greenlet-ts/workers';

declare const nc: NatsConnection;
declare const sub: Subscription;
declare const service: NatsService;
declare const queue: WorkQueue;
declare const jobs: JobReceiver;
declare const job: Job;
declare const jobServer: JobServer;
declare const tx: RemoteSender<number>;
declare const rx: RemoteReceiver<number>;

describe('nats operations', () => {
  it('a connection\'s operations are operations of what they evaluate to', () => {
    expectTypeOf(connect({ servers: '127.0.0.1:4222' })).toEqualTypeOf<SwitchOp<NatsConnection>>();
    expectTypeOf(nc.request('a', { x: 1 }, { timeout: 100 })).toEqualTypeOf<SwitchOp<NatsMessage>>();
    expectTypeOf(nc.publish('a', 'x')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(nc.flush()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(nc.serve('a', () => 'x')).toEqualTypeOf<SwitchOp<NatsService>>();
    expectTypeOf(nc.drain()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(nc.close()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(service.stop()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(service.serveForever()).toEqualTypeOf<SwitchOp<void>>();
  });

  it('subscriptions and job receivers receive like channels, typed by what they carry', () => {
    expectTypeOf(sub.recv(100)).toEqualTypeOf<SwitchOp<NatsMessage | undefined>>();
    expectTypeOf(sub.recvOk()).toEqualTypeOf<SwitchOp<RecvResult<NatsMessage>>>();
    expectTypeOf(sub.forEach(() => {})).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(sub.drain()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(jobs.recv()).toEqualTypeOf<SwitchOp<Job | undefined>>();
    expectTypeOf(jobs.recvOk()).toEqualTypeOf<SwitchOp<RecvResult<Job>>>();
    expectTypeOf(jobs.forEach(() => {})).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(jobs.iterate().next()).toEqualTypeOf<SwitchOp<boolean>>();
  });

  it('work queues, jobs and job servers', () => {
    expectTypeOf(workQueue(nc, 'JOBS')).toEqualTypeOf<SwitchOp<WorkQueue>>();
    expectTypeOf(queue.submit('jobs.a', 'x')).toEqualTypeOf<SwitchOp<Submitted>>();
    expectTypeOf(queue.request('jobs.a', 'x', { timeout: 100 })).toEqualTypeOf<SwitchOp<NatsMessage>>();
    expectTypeOf(queue.serve(() => 'x')).toEqualTypeOf<SwitchOp<JobServer>>();
    expectTypeOf(job.reply('x')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(jobServer.stop()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(jobServer.serveForever()).toEqualTypeOf<SwitchOp<void>>();
  });
});

describe('remote channel operations', () => {
  it('send, recv, recvOk, forEach and next are operations', () => {
    expectTypeOf(tx.send(1, { timeout: 10 })).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(rx.recv(10)).toEqualTypeOf<SwitchOp<number | undefined>>();
    expectTypeOf(rx.recvOk()).toEqualTypeOf<SwitchOp<RecvResult<number>>>();
    expectTypeOf(rx.forEach(() => {})).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(rx.iterate().next()).toEqualTypeOf<SwitchOp<boolean>>();
  });
});
