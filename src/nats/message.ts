/**
 * `NatsMessage` and payloads: what travels on a subject.
 *
 * On the wire a payload is bytes. What a task may send: a `Uint8Array` (as it is), a
 * string (UTF-8), or any other value, sent as JSON. What it receives is a
 * {@link NatsMessage}: its bytes, as a string, or parsed as JSON, where bytes that are not
 * JSON raise a {@link MalformedPayload} naming the subject.
 *
 * @module
 */
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import { MalformedPayload } from './errors.js';

/**
 * What can be sent: bytes as they are, a string as UTF-8, anything else as JSON
 * (`JSON.stringify`). `undefined` sends an empty payload.
 */
export type Payload = Uint8Array | string | number | boolean | null | undefined | object;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/** @internal The bytes of a payload (see {@link Payload}). */
export function encodePayload(data: Payload, subject: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encoder.encode(data);
  if (data === undefined) return EMPTY;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new TypeError(`a payload for ${subject} could not be encoded as JSON: ${(error as Error).message}`, { cause: error });
  }
  if (json === undefined) {
    throw new TypeError(`a payload for ${subject} cannot be a ${typeof data}: send bytes, a string, or a value JSON can encode`);
  }
  return encoder.encode(json);
}

/**
 * A message received from NATS: by a subscription, as the reply of a request, or by a
 * service handler. Read its payload with `data` (bytes), `string()` or `json()`.
 */
export class NatsMessage {
  /** @internal */
  constructor(
    /** The message as the official client gave it, for what this class does not cover. */
    readonly raw: Msg,
  ) {}

  /** The subject it was published on. */
  get subject(): string {
    return this.raw.subject;
  }

  /** The subject to reply on (a request's inbox), if any. */
  get reply(): string | undefined {
    return this.raw.reply === '' ? undefined : this.raw.reply;
  }

  /** Its payload as bytes. */
  get data(): Uint8Array {
    return this.raw.data;
  }

  /** Its headers, if it has any. */
  get headers(): MsgHdrs | undefined {
    return this.raw.headers;
  }

  /** Its payload decoded as UTF-8. */
  string(): string {
    return decoder.decode(this.raw.data);
  }

  /**
   * Its payload parsed as JSON.
   *
   * @throws {@link MalformedPayload} naming the subject when the payload is not JSON.
   */
  json<T = unknown>(): T {
    return parseJson<T>(this.raw.data, this.raw.subject, 'a message');
  }

  /** For reports: `NatsMessage(jobs.cpu, 12 bytes)`. */
  toString(): string {
    return `NatsMessage(${this.raw.subject}, ${this.raw.data.length} bytes)`;
  }
}

/** @internal Parse `data` as JSON, or raise a MalformedPayload naming `subject`. */
export function parseJson<T>(data: Uint8Array, subject: string, what: string): T {
  const text = decoder.decode(data);
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    const shown = text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}...` : JSON.stringify(text);
    throw new MalformedPayload(
      subject,
      `${what} on ${subject} is not JSON (${data.length} bytes: ${shown}): ${(error as Error).message}. ` +
        'Read it with string() or data, or fix the sender to send JSON',
      { cause: error },
    );
  }
}
