/**
 * The errors of `greenlet-ts/nats`: each a class users can catch, with a message that
 * names the subject and says what to do.
 *
 * @module
 */
import { Timeout } from '../hub/timeout.js';

/** The base of the errors this layer raises (except {@link NatsTimeout}, a `Timeout`). */
export class NatsError extends Error {
  static {
    this.prototype.name = 'NatsError';
  }
}

/**
 * A request got no reply in time: `yield* nc.request(subject, data, { timeout })`. It is a
 * {@link Timeout}, so code that handles timeouts in general handles it too; `subject` is
 * the subject that did not answer.
 */
export class NatsTimeout extends Timeout {
  constructor(
    /** The subject of the request (or the operation) that timed out. */
    readonly subject: string,
    message: string,
    ms: number,
  ) {
    super(ms);
    this.message = message;
  }
  static {
    this.prototype.name = 'NatsTimeout';
  }
}

/**
 * A request to a subject that nobody listens on: the server answered at once that it has
 * no responder for it (instead of letting the request time out).
 */
export class NoResponders extends NatsError {
  constructor(
    /** The subject nobody listens on. */
    readonly subject: string,
  ) {
    super(
      `no responders for ${subject}: nothing subscribes to it on this NATS server. Start the service ` +
        `(nc.serve('${subject}', handler)) before requesting, or check the subject's spelling`,
    );
  }
  static {
    this.prototype.name = 'NoResponders';
  }
}

/**
 * A payload that is not what the receiver expects: `msg.json()` of bytes that are not
 * JSON. It names the subject, so that the sender can be found.
 */
export class MalformedPayload extends NatsError {
  constructor(
    /** The subject the message came on. */
    readonly subject: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  static {
    this.prototype.name = 'MalformedPayload';
  }
}

/**
 * A service's handler failed while serving a request: raised by `nc.request()` in the
 * requesting task, with the handler's message and code (the NATS services convention:
 * the `Nats-Service-Error` and `Nats-Service-Error-Code` headers). `code` is 500 for an
 * unexpected error, 503 when the service stopped before it answered, or the code of a
 * {@link ServiceError} the handler threw.
 */
export class NatsServiceError extends NatsError {
  constructor(
    /** The subject of the request. */
    readonly subject: string,
    /** The error code the service sent. */
    readonly code: number,
    /** The service's own description of the error. */
    readonly description: string,
  ) {
    super(`the service at ${subject} failed: ${code} ${description}`);
  }
  static {
    this.prototype.name = 'NatsServiceError';
  }
}

/**
 * Thrown by a service handler to answer a request with an error code and a message
 * (NATS's service error headers), like `HttpError` in an HTTP handler: the requester's
 * `nc.request()` raises a {@link NatsServiceError} with them, and the service does not
 * report it as a bug.
 */
export class ServiceError extends NatsError {
  constructor(
    /** The error code (by convention an HTTP-like status: 400 for a bad request). */
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'ServiceError';
  }
}

/**
 * A subscription whose tasks did not keep up: messages arrived while its buffer (its
 * `capacity`) was full and were dropped, as core NATS does with a slow consumer (at most
 * once delivery). It is reported through the hub's reporter, and `sub.dropped` counts the
 * dropped messages. Receive faster (more tasks), raise the capacity, or use a JetStream
 * work queue, whose consumer takes only what its tasks can handle.
 */
export class SlowConsumer extends NatsError {
  constructor(
    /** The subject of the subscription. */
    readonly subject: string,
    /** How many messages were dropped when it was raised. */
    readonly dropped: number,
    capacity: number,
  ) {
    super(
      `slow consumer on ${subject}: its buffer of ${capacity} messages is full, so messages are dropped (${dropped} so far; ` +
        '`sub.dropped` counts them). Receive faster (more tasks), raise `capacity`, or use a JetStream work queue, ' +
        'which waits for its tasks',
    );
  }
  static {
    this.prototype.name = 'SlowConsumer';
  }
}

/** The connection is closed (by `close()`, `drain()`, or for good by the client). */
export class ConnectionClosed extends NatsError {
  static {
    this.prototype.name = 'ConnectionClosed';
  }
}

/** `@nats-io/transport-node` (or `@nats-io/jetstream`) is not installed. */
export class NatsClientMissing extends NatsError {
  static {
    this.prototype.name = 'NatsClientMissing';
  }
}
