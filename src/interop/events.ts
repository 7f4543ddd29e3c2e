/**
 * `once`: a task waits for one event of a Node `EventEmitter` or a DOM-style
 * `EventTarget`, like `events.once()` but blocking the task instead of returning a
 * promise, and without a promise per event (the listener wakes the task directly).
 *
 * Invariants:
 * - While the task waits, exactly the wait's own listeners are registered (the event's,
 *   plus `'error'` on an EventEmitter unless the event is `'error'` itself); every way
 *   the wait ends removes them before the task resumes: the event (in the listener),
 *   an `'error'` (in its listener), a kill or a Timeout (in `unpark`).
 * - The task is woken at most once: the first listener to fire removes both, and a wait
 *   that has ended ignores any later call.
 *
 * Coming from gevent: gevent waits on watchers rather than events; this is Node's
 * `events.once(emitter, name)` with gevent's blocking style and `timeout`.
 *
 * @module
 */
import { lazy } from '../core/operation.js';
import type { Performed, SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';

/** The part of Node's `EventEmitter` that {@link once} uses. */
export interface EventEmitterLike {
  on(eventName: string | symbol, listener: (...args: unknown[]) => void): unknown;
  removeListener(eventName: string | symbol, listener: (...args: unknown[]) => void): unknown;
}

/** The part of the DOM's `EventTarget` that {@link once} uses (also Node's EventTarget, MessagePort, AbortSignal, WebSocket). */
export interface EventTargetLike<E = Event> {
  addEventListener(type: string, listener: (event: E) => void): unknown;
  removeEventListener(type: string, listener: (event: E) => void): unknown;
}

/** Options of {@link once}. */
export interface OnceOptions {
  /** Give up after this many milliseconds: raise a {@link Timeout} in the task. */
  timeout?: number;
}

/** A task waiting for an event of an EventEmitter. */
class EmitterWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  task: Schedulable | null;
  constructor(
    task: Schedulable,
    readonly emitter: EventEmitterLike,
    readonly eventName: string | symbol,
  ) {
    this.task = task;
  }

  readonly onEvent = (...args: unknown[]): void => {
    const task = this.end();
    if (task !== null) wake(task, args);
  };

  readonly onError = (error: unknown): void => {
    const task = this.end();
    if (task !== null) wakeThrow(task, error);
  };

  register(): void {
    this.emitter.on(this.eventName, this.onEvent);
    if (this.eventName !== 'error') this.emitter.on('error', this.onError);
  }

  /** Remove the listeners; the task to wake, or null if the wait had ended already. */
  end(): Schedulable | null {
    const task = this.task;
    if (task === null) return null;
    this.task = null;
    this.emitter.removeListener(this.eventName, this.onEvent);
    if (this.eventName !== 'error') this.emitter.removeListener('error', this.onError);
    return task;
  }

  unpark(): void {
    this.end();
  }

  toString(): string {
    return `once(${String(this.eventName)})`;
  }
}

/** A task waiting for an event of an EventTarget. */
class TargetWait<E> implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  task: Schedulable | null;
  constructor(
    task: Schedulable,
    readonly target: EventTargetLike<E>,
    readonly type: string,
  ) {
    this.task = task;
  }

  readonly onEvent = (event: E): void => {
    const task = this.end();
    if (task !== null) wake(task, event);
  };

  register(): void {
    this.target.addEventListener(this.type, this.onEvent);
  }

  end(): Schedulable | null {
    const task = this.task;
    if (task === null) return null;
    this.task = null;
    this.target.removeEventListener(this.type, this.onEvent);
    return task;
  }

  unpark(): void {
    this.end();
  }

  toString(): string {
    return `once(${this.type})`;
  }
}

/**
 * Wait in the current task for the next `eventName` event of a Node `EventEmitter`, and
 * evaluate to the arguments it was emitted with. An `'error'` event raises its error in
 * the task instead (as `events.once` rejects), unless you wait for `'error'` itself.
 *
 * ```ts
 * const socket = net.connect(port, '127.0.0.1');
 * yield* once(socket, 'connect', { timeout: 1000 });
 * const [chunk] = yield* once<[Buffer]>(socket, 'data');
 * ```
 *
 * The listeners are removed when the wait ends, however it ends: the event, an error, a
 * kill, or the timeout (which raises a {@link Timeout}). Waiting for `'data'` of a
 * stream switches it to flowing mode and the chunks after the first are not waited for:
 * to read a stream, use `iterate(stream)`.
 *
 * @typeParam A - the listener's arguments, e.g. `[Buffer]`.
 * @throws BlockingError when called outside a task.
 */
export function once<A extends unknown[] = unknown[]>(
  emitter: EventEmitterLike,
  eventName: string | symbol,
  options?: OnceOptions,
): SwitchOp<A>;
/**
 * Wait in the current task for the next `type` event of an `EventTarget` (a DOM node,
 * `MessagePort`, `WebSocket`, `AbortSignal`, Node's `EventTarget`) and evaluate to the
 * event.
 *
 * ```ts
 * const event = yield* once<MessageEvent>(port, 'message');
 * ```
 *
 * The listener is removed when the wait ends, however it ends. EventTargets have no
 * `'error'` convention, so only the `type` event ends the wait (or a kill, or the timeout).
 *
 * @typeParam E - the event's type, e.g. `MessageEvent`.
 */
export function once<E = Event>(target: EventTargetLike<E>, type: string, options?: OnceOptions): SwitchOp<E>;
export function once(
  source: EventEmitterLike | EventTargetLike<unknown>,
  name: string | symbol,
  options?: OnceOptions,
): SwitchOp<unknown> {
  return lazy(ONCE, source, name, options);
}

const ONCE = blockingOperation<EventEmitterLike | EventTargetLike<unknown>, string | symbol, OnceOptions | undefined, unknown>(
  'once()',
  performOnce,
);

function performOnce(
  source: EventEmitterLike | EventTargetLike<unknown>,
  name: string | symbol,
  options: OnceOptions | undefined,
): Performed<unknown> {
  const task = currentTask('once()');
  let wait: EmitterWait | TargetWait<unknown>;
  if (typeof (source as Partial<EventEmitterLike>).on === 'function') {
    wait = new EmitterWait(task, source as EventEmitterLike, name);
  } else if (typeof (source as Partial<EventTargetLike<unknown>>).addEventListener === 'function') {
    if (typeof name !== 'string') {
      throw new TypeError(`an EventTarget's event type is a string, not ${typeof name}: once(target, 'message')`);
    }
    wait = new TargetWait(task, source as EventTargetLike<unknown>, name);
  } else {
    throw new TypeError(
      'once() waits on a Node EventEmitter (with on/removeListener) or an EventTarget (with ' +
        `addEventListener/removeEventListener), and got ${describeSource(source)}`,
    );
  }
  wait.register();
  const timeout = options?.timeout;
  return timeout === undefined ? park(task, wait) : park(task, wait, timeout, new Timeout(timeout), true);
}

function describeSource(source: unknown): string {
  if (source === null) return 'null';
  if (typeof source !== 'object') return `a ${typeof source}`;
  const name = (source as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'a plain object';
}
