/**
 * Layer 9, nats: tasks that talk over NATS. Request/reply, publishing with back-pressure,
 * subscriptions as receive ends (recv, select, timeouts, iteration), services that serve
 * each request in its own task, and JetStream work queues whose jobs are acked when the
 * task that handles them finishes and redelivered when it fails or is killed: on the
 * official client (`@nats-io/transport-node`, `@nats-io/jetstream`, optional peer
 * dependencies), against a real nats-server. Node only: import it from
 * `greenlet-ts/nats`; the client is loaded by the first `connect()`.
 *
 * @module
 */
export { connect, NatsConnection, DEFAULT_MAX_PENDING_BYTES, DEFAULT_REQUEST_TIMEOUT } from './connection.js';
export type { ConnectOptions, RequestOptions, PublishOptions, ConnectionState } from './connection.js';
export { NatsMessage } from './message.js';
export type { Payload } from './message.js';
export { Subscription, DEFAULT_SUBSCRIPTION_CAPACITY } from './subscription.js';
export type { SubscribeOptions } from './subscription.js';
export { NatsService, DEFAULT_SERVICE_GRACE } from './service.js';
export type { ServiceHandler, NatsServiceOptions } from './service.js';
export {
  NatsError,
  NatsTimeout,
  NoResponders,
  MalformedPayload,
  NatsServiceError,
  ServiceError,
  SlowConsumer,
  ConnectionClosed,
  NatsClientMissing,
} from './errors.js';
export { workQueue, WorkQueue, JobServer } from './work-queue.js';
export type { WorkQueueOptions, Submitted, SubmitOptions, JobHandler, JobServerOptions } from './work-queue.js';
export { Job, JobReceiver, REPLY_HEADER } from './jobs.js';
export type { ConsumeOptions } from './jobs.js';
