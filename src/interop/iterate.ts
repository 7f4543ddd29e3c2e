/**
 * Consuming async iterables and Node `Readable` streams from a task: `iterate(source)`
 * gives a reader whose `next()` blocks the task until the next item, and
 * `forEach(source, fn)` runs `fn` on every item. `for await` cannot run inside a
 * generator-based task; these are its blocking counterparts.
 *
 * Two readers behind one interface. A general async iterable is read through its
 * iterator, one `next()` promise at a time. A Node `Readable` is read directly with
 * `read()` and its `'readable'`/`'end'`/`'error'`/`'close'` events, because the stream's
 * own async iterator leaves those listeners on the stream after it ends, and queues a
 * `return()` behind a pending `next()` (so a task killed while waiting for data could not
 * close an idle stream).
 *
 * Invariants:
 * - Pull, never push: the source is asked for an item only when a task waits in
 *   `next()` and none is at hand, and at most one request is in flight (for a stream,
 *   `read()` is called only from `next()` or while a task waits), so the source's own
 *   back-pressure holds: a paused stream fills up to its highWaterMark and stops.
 * - At most one task waits in `next()` at a time; it is woken exactly once, with an item,
 *   {@link DONE} or an error.
 * - An item that arrives after its waiter left because of a Timeout is kept for the next
 *   `next()`: nothing is lost. Any other error that makes the waiter leave (a kill) closes
 *   the reader: the iterator's `return()` is called or the stream destroyed.
 * - Once finished (DONE, error) or closed, the reader holds no listener on the stream and
 *   `next()` evaluates to DONE.
 *
 * Coming from gevent: Python's `for line in sock.makefile()` blocks the greenlet
 * implicitly; here the loop is written `for (let x; (x = yield* it.next()) !== DONE; )`,
 * the idiom of `iwait`.
 *
 * @module
 */
import { call } from '../core/call.js';
import { GreenletError } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp, type SwitchSignal } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, getHub, park, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';

/** What a reader's `next()` evaluates to when the source has no more items. */
export const DONE: unique symbol = Symbol('greenlet-ts.done');

/** The type of {@link DONE}. */
export type Done = typeof DONE;

/**
 * A Node stream was destroyed before it ended, while a task was reading it (Node's
 * `ERR_STREAM_PREMATURE_CLOSE`, with the same `code`). Destroy it with an error to give
 * the reader a more telling one, or end it (`push(null)`, `end()`) to finish cleanly.
 */
export class PrematureCloseError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor(message = 'the stream was destroyed before it ended') {
    super(message);
  }
  static {
    this.prototype.name = 'PrematureCloseError';
  }
}

/**
 * Reads an async iterable or a stream from a task, one item at a time; made by
 * {@link iterate}.
 */
export interface AsyncIterableReader<T> extends Disposable {
  /**
   * Evaluate to the next item, waiting for it if needed, or to {@link DONE} when the
   * source has ended (or the reader was closed); raise the source's error if it failed.
   * Inside a task: `const item = yield* reader.next()`.
   *
   * If the task is killed while it waits, the reader is closed (the iterator's `return()`
   * is called, a stream is destroyed). If a {@link Timeout} strikes instead, the reader
   * stays open and the item being fetched is delivered by the next call.
   */
  next(): SwitchOp<T | Done>;
  /**
   * Stop reading: call the iterator's `return()`, or destroy the stream if it has not
   * ended, and remove every listener. A task waiting in `next()` gets {@link DONE}. Does
   * not block; safe to call more than once and from anywhere.
   */
  close(): void;
  /** True once the source has ended or failed, or the reader was closed. */
  readonly closed: boolean;
}

/** The part of a Node `Readable` the stream reader uses. */
interface ReadableLike {
  read(): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
  readonly readableEnded: boolean;
  readonly errored?: unknown;
}

function isReadable(source: unknown): source is ReadableLike {
  const s = source as Partial<Record<keyof ReadableLike, unknown>>;
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof s.read === 'function' &&
    typeof s.on === 'function' &&
    typeof s.removeListener === 'function' &&
    typeof s.destroy === 'function' &&
    typeof s.readableEnded === 'boolean'
  );
}

const OPEN = 0;
const FINISHED = 1;
const CLOSED = 2;

/** `poll()`: nothing at hand yet. */
const PENDING: unique symbol = Symbol('pending');
const NONE: unique symbol = Symbol('none');

abstract class Reader<T> implements AsyncIterableReader<T>, Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  protected state = OPEN;
  protected waiter: Schedulable | null = null;

  get closed(): boolean {
    return this.state !== OPEN;
  }

  next(): SwitchOp<T | Done> {
    return lazy(READ_NEXT, this as Reader<unknown>, undefined, undefined) as SwitchOp<T | Done>;
  }

  /** @internal Performs {@link AsyncIterableReader.next}. */
  performNext(): Performed<T | Done> {
    const task = currentTask('iterate().next()');
    if (this.waiter !== null) {
      throw new GreenletError(
        `${this.waiter.name} is already waiting in next() of this reader: one reader serves one task at a ` +
          'time. To share the items among tasks, have one task read them into a Queue',
      );
    }
    let item = this.poll();
    if (item !== PENDING) return immediate(item);
    this.request();
    // Asking may have failed at once (an iterator whose next() throws).
    item = this.poll();
    if (item !== PENDING) return immediate(item);
    this.waiter = task;
    return this.parkOrClose(task);
  }

  /** Whatever is at hand: an item, DONE, or PENDING; raises the source's error. */
  protected abstract poll(): T | Done | typeof PENDING;

  /** Ask the source for an item, so that a waiter will be woken when it arrives (no task waits yet). */
  protected abstract request(): void;

  abstract close(): void;

  /** Park; a kill (anything but a Timeout) that makes the task leave closes the reader. */
  private *parkOrClose(task: Schedulable): GreenletBody<T | Done> {
    try {
      return yield* park<T | Done>(task, this);
    } catch (error) {
      if (!(error instanceof Timeout)) this.close();
      throw error;
    }
  }

  /** Wake the waiting task, if any, with what `poll()` has now. */
  protected deliver(): void {
    const task = this.waiter;
    if (task === null) return;
    let item: T | Done | typeof PENDING;
    try {
      item = this.poll();
    } catch (error) {
      this.waiter = null;
      wakeThrow(task, error);
      return;
    }
    if (item === PENDING) return;
    this.waiter = null;
    wake(task, item);
  }

  /** Closed by someone else while a task waits: it gets DONE. */
  protected releaseWaiter(): void {
    const task = this.waiter;
    if (task === null) return;
    this.waiter = null;
    wake(task, DONE);
  }

  /** The hub: the waiting task leaves (killed or timed out). */
  unpark(): void {
    this.waiter = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  abstract toString(): string;
}

/** Reads an async iterator, one `next()` promise at a time. */
class IteratorReader<T> extends Reader<T> {
  readonly #iterator: AsyncIterator<T>;
  /** An `iterator.next()` is pending. */
  #inFlight = false;
  /** What arrived while nobody waited (after a Timeout). */
  #arrived: T | typeof NONE = NONE;
  #failure: unknown = NONE;

  constructor(iterator: AsyncIterator<T>) {
    super();
    this.#iterator = iterator;
  }

  protected poll(): T | Done | typeof PENDING {
    if (this.#failure !== NONE) {
      const failure = this.#failure;
      this.#failure = NONE;
      throw failure;
    }
    if (this.#arrived !== NONE) {
      const item = this.#arrived;
      this.#arrived = NONE;
      return item;
    }
    if (this.state !== OPEN) return DONE;
    return PENDING;
  }

  protected request(): void {
    if (this.#inFlight) return;
    let pending: IteratorResult<T> | PromiseLike<IteratorResult<T>>;
    try {
      pending = this.#iterator.next();
    } catch (error) {
      this.state = FINISHED;
      this.#failure = error;
      return;
    }
    this.#inFlight = true;
    Promise.resolve(pending).then(this.#onResult, this.#onFailure);
  }

  readonly #onResult = (result: IteratorResult<T>): void => {
    this.#inFlight = false;
    if (this.state !== OPEN) return; // closed meanwhile: the item is dropped
    if (typeof result !== 'object' || result === null) {
      this.#onFailure(new TypeError(`an async iterator's next() gave ${String(result)}, not an iterator result`));
      return;
    }
    if (result.done === true) this.state = FINISHED;
    else this.#arrived = result.value;
    this.deliver();
  };

  readonly #onFailure = (error: unknown): void => {
    this.#inFlight = false;
    if (this.state !== OPEN) return; // closed meanwhile: the failure is handled, and dropped
    this.state = FINISHED;
    this.#failure = error;
    this.deliver();
  };

  close(): void {
    if (this.state !== OPEN) {
      this.#arrived = NONE;
      this.#failure = NONE;
      return;
    }
    this.state = CLOSED;
    this.#arrived = NONE;
    this.releaseWaiter();
    const iterator = this.#iterator;
    if (typeof iterator.return !== 'function') return;
    try {
      Promise.resolve(iterator.return()).then(undefined, reportCloseError);
    } catch (error) {
      reportCloseError(error);
    }
  }

  toString(): string {
    return `iterate(async iterator${this.#inFlight ? ', next() pending' : ''})`;
  }
}

/** Nobody can see an error of `return()` of a reader that was closed: report it. */
function reportCloseError(error: unknown): void {
  getHub().report({ kind: 'callback-error', where: "the return() of an async iterator closed by iterate()", error });
}

/** Reads a Node Readable with `read()` and its events. */
class StreamReader<T> extends Reader<T> {
  readonly #stream: ReadableLike;
  #listening = false;
  #error: unknown = NONE;
  /** The stream emitted 'error' to our listener. */
  #sawError = false;

  constructor(stream: ReadableLike) {
    super();
    this.#stream = stream;
  }

  protected poll(): T | Done | typeof PENDING {
    if (this.state !== OPEN) return DONE;
    const stream = this.#stream;
    const errored = this.#error !== NONE ? this.#error : (stream.errored ?? NONE);
    if (errored !== NONE) {
      this.#finish();
      throw errored;
    }
    if (!stream.destroyed) {
      const chunk = stream.read();
      if (chunk !== null) return chunk as T;
    }
    if (stream.readableEnded) {
      this.#finish();
      return DONE;
    }
    if (stream.destroyed) {
      this.#finish();
      throw new PrematureCloseError();
    }
    return PENDING;
  }

  protected request(): void {
    if (this.#listening) return;
    this.#listening = true;
    const stream = this.#stream;
    stream.on('readable', this.#onActivity);
    stream.on('end', this.#onActivity);
    stream.on('close', this.#onActivity);
    stream.on('error', this.#onError);
  }

  readonly #onActivity = (): void => {
    this.deliver();
  };

  readonly #onError = (error: unknown): void => {
    this.#sawError = true;
    if (this.state !== OPEN) {
      // Finished on the stream's `errored` before the event came: it has come now.
      this.#stream.removeListener('error', this.#onError);
      return;
    }
    if (this.#error === NONE) this.#error = error;
    this.deliver();
  };

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    const stream = this.#stream;
    stream.removeListener('readable', this.#onActivity);
    stream.removeListener('end', this.#onActivity);
    stream.removeListener('close', this.#onActivity);
    // An error the stream recorded but has not emitted yet would crash the process if
    // it found no listener: keep ours until it comes (it removes itself then).
    if (this.#sawError || (this.#stream.errored ?? null) === null) stream.removeListener('error', this.#onError);
  }

  #finish(): void {
    this.state = FINISHED;
    this.#unlisten();
  }

  close(): void {
    if (this.state !== OPEN) return;
    this.state = CLOSED;
    this.#unlisten();
    this.releaseWaiter();
    const stream = this.#stream;
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  }

  toString(): string {
    return `iterate(stream${this.#stream.destroyed ? ', destroyed' : ''})`;
  }
}

/**
 * A reader of `source` (an async iterable: an async generator, a Node `Readable`, a web
 * `ReadableStream`, ...) for use inside tasks. Creating it does not block and starts
 * nothing; items are pulled one at a time by `next()`.
 *
 * ```ts
 * using lines = iterate(readline.createInterface({ input: fs.createReadStream(path) }));
 * for (let line; (line = yield* lines.next()) !== DONE; ) {
 *   yield* queue.put(line);
 * }
 * ```
 *
 * Close it when you stop early (`using`, `try/finally`, or {@link forEach} which does
 * it for you); a kill that reaches the task while it waits in `next()` closes it too.
 */
export function iterate<T>(source: AsyncIterable<T>): AsyncIterableReader<T> {
  if (isReadable(source)) return new StreamReader<T>(source);
  const factory = (source as Partial<AsyncIterable<T>> | null)?.[Symbol.asyncIterator];
  if (typeof factory !== 'function') {
    throw new TypeError(
      `iterate() reads an async iterable (with [Symbol.asyncIterator]), and got ${source === null ? 'null' : typeof source}`,
    );
  }
  return new IteratorReader<T>(factory.call(source));
}

/**
 * Run `fn(item)` in the current task for every item of `source`, one at a time: the
 * next item is pulled only when `fn` has returned, so a slow `fn` slows the source down
 * (back-pressure). `fn` may be a generator function, which can block (`yield*`). If `fn`
 * raises, or the task is killed, the source is closed (the iterator's `return()` is
 * called, a stream is destroyed) and the error goes on.
 *
 * ```ts
 * yield* forEach(socket, function* (chunk: Buffer) {
 *   yield* out.put(chunk);
 * });
 * ```
 *
 * @throws TypeError if `fn` returns a promise: it would not be waited for. Write a
 *   generator function and wait with `yield* waitFor(...)` inside it.
 */
export function forEach<T>(
  source: AsyncIterable<T>,
  fn: (item: T) => Generator<SwitchSignal, unknown, unknown> | unknown,
): SwitchOp<void> {
  return lazy(FOR_EACH, source as AsyncIterable<unknown>, fn as (item: unknown) => unknown, undefined);
}

const FOR_EACH = blockingOperation<AsyncIterable<unknown>, (item: unknown) => unknown, undefined, void>('forEach()', eachItem);

const READ_NEXT = blockingOperation<Reader<unknown>, undefined, undefined, unknown>('iterate().next()', (reader) =>
  reader.performNext(),
);

function* eachItem<T>(source: AsyncIterable<T>, fn: (item: T) => unknown): GreenletBody<void> {
  const reader = iterate(source);
  try {
    for (let item: T | Done; (item = yield* reader.next()) !== DONE; ) {
      const result: unknown = yield* call(fn, item);
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        throw new TypeError(
          "forEach()'s callback returned a promise, which would run unsupervised: make it a generator " +
            'function and wait inside it with `yield* waitFor(promise)`',
        );
      }
    }
  } finally {
    reader.close();
  }
}
