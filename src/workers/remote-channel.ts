/**
 * `remoteChannel<T>(capacity)`: a channel whose two ends live in two threads. The
 * sending end ({@link RemoteSender}) posts values on a `MessagePort`; the receiving end
 * ({@link RemoteReceiver}) is a local buffered {@link Channel} that the port fills, so
 * everything that works on a channel (recv, recvOk, tryRecv, iteration, `for await`,
 * `select`) works on it unchanged. Values are structured-cloned; transferables move
 * (`send(buffer, { transfer: [buffer] })`); an end can itself be sent to a third thread.
 *
 * Flow control is by credits, as in HTTP/2: the sender starts with `capacity` credits
 * and spends one per value; the receiver returns credits as its tasks take values out of
 * its buffer, in batches of `ceil(capacity / 2)` (one message back for half a window,
 * not one per value). A sender without credit parks, like a sender on a full buffered
 * Channel. Neither side ever queues more than `capacity` values: the receiver's buffer
 * has room for every value that can be in flight.
 *
 * The wire. One MessageChannel per remote channel. Sender → receiver: a value as it is
 * (the fast path: no envelope, no allocation), or a control record (an object with the
 * own key `__greenletTs`): an escaped value (one that holds channel ends, or that has
 * that key itself), `close`, `fail` (the sending thread failed, with its error), `hello`
 * (the end arrived in a new thread, with that thread's name), `dropped` (the end was
 * collected without close). Receiver → sender: a number (credits), `close`, `fail`,
 * `hello`, `dropped`. A port's `close` event without a `close`
 * or `fail` record first means the other thread went away (crashed, exited, was
 * terminated): the end closes with {@link ChannelPeerGone}.
 *
 * Invariants:
 * - sent - credits granted back ≤ capacity, and the receiver's buffer holds at most
 *   `capacity` values (so delivering an arriving value never fails for lack of room);
 * - a RemoteSender's wait queue is non-empty only while it has no credit; waiters are
 *   served in arrival order, and a waiter's value is posted before it is woken (a value
 *   that cannot be posted raises in its sender, it is never lost silently);
 * - an end's port keeps its thread's event loop alive, and the end itself from being
 *   collected, exactly while a task (or a `for await` step, or a select) waits on that end;
 * - once closed (here, by the peer, by its death, or by moving to another thread) an end
 *   stays closed, and nothing waits on it;
 * - the blocking operations (`send`, `recv`, `recvOk`, `forEach`, an iterator's `next`)
 *   are lazy (core/operation.ts): the method only records the operation, its perform
 *   (`performSend`, ...) does the work at the `yield*`, so one made without `yield*`
 *   posts nothing and takes nothing.
 *
 * How they take part in `select`: through the selectable protocol of select.ts
 * (`RecvSelectable` / `SendSelectable`: a ready check, a commit, registering and
 * unregistering a waiter), which every Channel implements. The receiving end *is* a
 * local channel (it only counts what leaves its buffer, to return credits, and keeps the
 * port referenced while a waiter is registered); the sending end implements the send
 * side on the port, with its own queue of senders waiting for credit. Both stay Channels,
 * so everything written for channels takes them; each raises a TypeError for the other
 * side's operations. Their common lifecycle (the port, the peer, why the end closed,
 * moving, failing) is one {@link PortLink} each.
 *
 * When a thread dies: the worker runtime closes the ends its thread still holds with a
 * `fail` record when its main task failed, and the port's `close` event covers a crash,
 * `process.exit()` or `terminate()`. Either way the other end closes with
 * {@link ChannelPeerGone}, and receiving raises it once the values that arrived are
 * drained, so a crash is never mistaken for a clean end.
 *
 * When an end is dropped: an end nothing refers to any more (no task, `for await` step or
 * select waits on it, no variable holds it) is garbage-collected even if it was never
 * closed, since its port's listeners hold it weakly. Its port is then closed (it would
 * otherwise stay open for the life of the thread) after a `dropped` record, and the other
 * end closes with a {@link ChannelPeerGone} that says the end was dropped. When that
 * happens depends on the garbage collector: close ends explicitly; this only keeps a
 * forgotten one from leaking.
 *
 * Greenlets never cross threads: a Greenlet or Task (or a local Channel) found in a
 * value is refused at send time. Finding them, and the channel ends to move, walks the
 * value once as structured clone does (nothing for a primitive, O(size) for an object).
 *
 * Cost: a value crosses threads in ~10–50 µs (the thread wake-up dominates) against
 * ~0.1 µs for a task switch; the channel adds ~1 µs per value on each side to a raw
 * `postMessage`. Send batches (an array of values per message) where the rate matters.
 *
 * @module
 */
import { MessageChannel, isMainThread, threadId, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { GreenletError } from '../core/errors.js';
import { Greenlet, type GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, isGenerator, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, getHub, wake, wakeThrow, type Parking, type Schedulable } from '../hub/hub.js';
import {
  Channel,
  ChannelClosed,
  ChannelIterator,
  type RecvResult,
  type RecvSlot,
  type ReceiverWaiter,
  type SenderWaiter,
} from '../sync/channel.js';

// --- errors ------------------------------------------------------------------------------

/**
 * The other end of a remote channel went away without closing it: the thread that held it
 * ended (its main task failed, it called `process.exit()`, it crashed or was terminated).
 * A {@link ChannelClosed}, so code that handles closed channels handles it too.
 *
 * On a {@link RemoteReceiver}: the values that arrived before are still received; after
 * them, `recv()`, `recvOk()`, `tryRecv()`, iteration and `for await` raise this error
 * instead of reporting the end. A `select` receive case sees the end as `ok === false`;
 * tell it from a clean close with `receiver.error`. On a {@link RemoteSender}: blocked
 * and later sends raise it. `cause` is the error the other thread failed with, when it
 * failed with one.
 */
export class ChannelPeerGone extends ChannelClosed {
  static {
    this.prototype.name = 'ChannelPeerGone';
  }
}

// --- the wire ----------------------------------------------------------------------------

/** The own key of control records. User values that have it are escaped. */
const CONTROL = '__greenletTs';
/** The own key that marks a moved end in a structured clone. */
const WIRE = '__greenletTsRemoteChannelEnd';

type ControlRecord =
  | { readonly [CONTROL]: 'value'; readonly value: unknown; readonly ends: boolean }
  | { readonly [CONTROL]: 'close' }
  | { readonly [CONTROL]: 'fail'; readonly error: ErrorRecord; readonly thread: string }
  | { readonly [CONTROL]: 'hello'; readonly thread: string }
  | { readonly [CONTROL]: 'dropped'; readonly thread: string };

/** An end on its way to another thread (the own property `WIRE` of its clone). */
interface WireEnd {
  readonly role: 'send' | 'recv';
  readonly port: MessagePort;
  readonly capacity: number;
  /** Credits left (sending end) or values taken and not yet granted back (receiving end). */
  readonly count: number;
  /** The thread that holds the other end. */
  readonly peer: string;
  /** Values that had arrived at a receiving end and were not yet received: they move along. */
  readonly buffered: readonly unknown[];
}

/** An error as it crosses threads: structured clone keeps only standard error classes. */
export interface ErrorRecord {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** @internal An error in a form any thread can rebuild. */
export function recordError(error: unknown): ErrorRecord {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: `a non-error value was thrown: ${describeValue(error)}`, stack: undefined };
}

/** @internal The error a record describes, with the other thread's name and stack. */
export function rebuildError(record: ErrorRecord): Error {
  const error = new Error(record.message);
  error.name = record.name;
  if (record.stack !== undefined) error.stack = record.stack;
  return error;
}

function describeValue(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return typeof value;
  }
}

let threadLabel = isMainThread ? 'the main thread' : `worker thread ${threadId}`;

/** @internal Name this thread in the errors other threads see ("worker 2 (job.js)"). */
export function setThreadLabel(label: string): void {
  threadLabel = label;
}

function isControl(data: unknown): data is ControlRecord {
  return typeof data === 'object' && data !== null && Object.hasOwn(data, CONTROL);
}

// --- the ends of this thread ---------------------------------------------------------------

type AnyEnd = RemoteSender<unknown> | RemoteReceiver<unknown>;

/**
 * The open ends of this thread, held weakly (an end dropped without `close()` can be
 * collected: see {@link closeDropped}); the worker runtime closes them when the thread ends.
 */
const liveEnds = new Set<WeakRef<AnyEnd>>();

/** What is left to close once an end has been collected. */
interface DroppedEnd {
  readonly ref: WeakRef<AnyEnd>;
  readonly port: MessagePort;
}

const droppedEnds = new FinalizationRegistry<DroppedEnd>(closeDropped);

/** An end opens in this thread: count it, and close its port if it is collected open. */
function track(end: AnyEnd, ref: WeakRef<AnyEnd>, port: MessagePort): void {
  liveEnds.add(ref);
  droppedEnds.register(end, { ref, port }, ref);
}

/** An end closed (or moved away): nothing to do when it is collected. */
function untrack(ref: WeakRef<AnyEnd>): void {
  liveEnds.delete(ref);
  droppedEnds.unregister(ref);
}

/**
 * An end was garbage-collected while open: nothing can use it any more. Tell the other
 * end (it closes with a {@link ChannelPeerGone} that says so) and close the port, which
 * would otherwise stay open for the life of the thread. An end is collectable only when
 * nothing waits on it (while something does, its link holds it: see PortLink.keepAlive)
 * and nothing else refers to it: its port's listeners hold it weakly.
 */
function closeDropped({ ref, port }: DroppedEnd): void {
  if (!liveEnds.delete(ref)) return;
  try {
    port.postMessage({ [CONTROL]: 'dropped', thread: threadLabel } satisfies ControlRecord);
  } catch {
    // The port is closing already: the other end learns from its 'close' event.
  }
  port.close();
}

/**
 * Port listeners that reach their end through a WeakRef: a port holds its listeners for
 * as long as it is open, and a strong reference would keep a dropped end alive with it.
 */
function weakListeners<E extends object>(
  ref: WeakRef<E>,
  onMessage: (end: E, data: unknown) => void,
  onClose: (end: E) => void,
): { message: (data: unknown) => void; close: () => void } {
  return {
    message: (data) => {
      const end = ref.deref();
      if (end !== undefined) onMessage(end, data);
    },
    close: () => {
      const end = ref.deref();
      if (end !== undefined) onClose(end);
    },
  };
}

/** Internal operations shared by both ends (symbols, so that users cannot call them). */
const MOVE_OUT: unique symbol = Symbol('greenlet-ts.moveOut');
const MOVE_BACK: unique symbol = Symbol('greenlet-ts.moveBack');
const MOVED: unique symbol = Symbol('greenlet-ts.moved');
const FAIL: unique symbol = Symbol('greenlet-ts.fail');

/**
 * @internal Close every open end of this thread: cleanly (`failure` undefined: the other
 * side sees a close), or as failed (the other side sees a {@link ChannelPeerGone} whose
 * cause is `failure`). The worker runtime calls it when the worker's main task ends.
 */
export function closeThreadEnds(failure?: unknown): void {
  for (const ref of [...liveEnds]) {
    const end = ref.deref();
    if (end === undefined) continue;
    if (failure === undefined) end.close();
    else end[FAIL](failure);
  }
}

/** @internal How many ends are open in this thread (tests check that none leaked). */
export function openEndCount(): number {
  let open = 0;
  for (const ref of liveEnds) if (ref.deref() !== undefined) open++;
  return open;
}

// --- what may cross --------------------------------------------------------------------------

const scanned = new Set<object>();

/**
 * @internal Walk `value` as structured clone will: refuse greenlets, tasks and local
 * channels (a GreenletError / TypeError that says what to send instead) and collect the
 * remote channel ends it holds. Null when there are none. Primitives cost nothing.
 */
export function findEnds(value: unknown): AnyEnd[] | null {
  if (typeof value !== 'object' || value === null) return null;
  try {
    return scan(value, null);
  } finally {
    scanned.clear();
  }
}

function scan(v: object, found: AnyEnd[] | null): AnyEnd[] | null {
  if (scanned.has(v)) return found;
  scanned.add(v);
  if (v instanceof RemoteSender || v instanceof RemoteReceiver) {
    (found ??= []).push(v as AnyEnd);
    return found;
  }
  if (v instanceof Greenlet) {
    throw new GreenletError(
      `${String(v)} cannot be sent to another thread: a greenlet (a Task too) lives and dies in the thread ` +
        'that made it, and a copy would be a dead shell. Send what it computes instead (its result, ' +
        '`yield* task.get()`), or give it a remoteChannel() end to report through.',
    );
  }
  if (v instanceof Channel) {
    throw new TypeError(
      `${String(v)} cannot be sent to another thread: a Channel holds this thread's tasks. ` +
        'Make a remoteChannel() and send one of its ends.',
    );
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return found;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) found = scan(x, found);
    }
    return found;
  }
  if (v instanceof Map) {
    for (const [k, x] of v as Map<unknown, unknown>) {
      if (typeof k === 'object' && k !== null) found = scan(k, found);
      if (typeof x === 'object' && x !== null) found = scan(x, found);
    }
    return found;
  }
  if (v instanceof Set) {
    for (const x of v as Set<unknown>) if (typeof x === 'object' && x !== null) found = scan(x, found);
    return found;
  }
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    const x: unknown = (v as Record<string, unknown>)[keys[i] as string];
    if (typeof x === 'object' && x !== null) found = scan(x, found);
  }
  return found;
}

/**
 * @internal Move `ends` to another thread with `post(ports)`, a postMessage whose
 * transfer list includes `ports`: each end gets its wire form as an own property (which
 * the structured clone carries) and lends its port; once `post` returns, the ends are
 * closed here for good. If an end cannot move, or `post` raises, every end stays usable
 * here and the error propagates.
 */
export function moveEnds(ends: readonly AnyEnd[] | null, post: (ports: MessagePort[]) => void): void {
  if (ends === null) {
    post([]);
    return;
  }
  const ports: MessagePort[] = [];
  try {
    for (const end of ends) ports.push(end[MOVE_OUT]());
    post(ports);
  } catch (error) {
    for (let j = 0; j < ports.length; j++) (ends[j] as AnyEnd)[MOVE_BACK]();
    throw error;
  }
  for (const end of ends) end[MOVED]();
}

const revived = new Set<object>();

/**
 * @internal Replace, in a value just received, the clones of moved ends by live ends of
 * this thread. Mutates the clone (which nobody else holds) and returns the value.
 */
export function reviveEnds(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return revive(value);
  } finally {
    revived.clear();
  }
}

function revive(v: object): unknown {
  if (Object.hasOwn(v, WIRE)) return endFromWire((v as Record<string, WireEnd>)[WIRE] as WireEnd);
  if (revived.has(v)) return v;
  revived.add(v);
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null) v[i] = revive(x);
    }
  } else if (v instanceof Map) {
    for (const [k, x] of v as Map<unknown, unknown>) {
      if (typeof x === 'object' && x !== null) {
        const y = revive(x);
        if (y !== x) v.set(k, y);
      }
    }
  } else if (v instanceof Set) {
    for (const x of [...(v as Set<unknown>)]) {
      if (typeof x === 'object' && x !== null) {
        const y = revive(x);
        if (y !== x) {
          v.delete(x);
          v.add(y);
        }
      }
    }
  } else {
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const x = record[key];
      if (typeof x === 'object' && x !== null) record[key] = revive(x);
    }
  }
  return v;
}

function endFromWire(wire: WireEnd): AnyEnd {
  const end =
    wire.role === 'send'
      ? new RemoteSender<unknown>(wire.port, wire.capacity, wire.count, wire.peer)
      : new RemoteReceiver<unknown>(wire.port, wire.capacity, wire.count, wire.peer, wire.buffered);
  wire.port.postMessage({ [CONTROL]: 'hello', thread: threadLabel } satisfies ControlRecord);
  return end;
}

function wireProperty(end: AnyEnd, wire: WireEnd | undefined): void {
  if (wire === undefined) delete (end as unknown as Record<string, unknown>)[WIRE];
  else Object.defineProperty(end, WIRE, { value: wire, enumerable: true, configurable: true });
}

// --- making a pair ---------------------------------------------------------------------------

/**
 * Make a channel whose two ends can live in two threads: `[sender, receiver]`. Keep one
 * end and hand the other to a worker, in its start data
 * (`startWorkers(url, { data: { jobs: receiver } })`) or through another remote channel
 * (`yield* control.send(receiver)`); an end may move again the same way, as long as
 * nothing waits on it. Close each end when done with it; one dropped without `close()`
 * is closed when the garbage collector takes it, and the other end then raises
 * {@link ChannelPeerGone}.
 *
 * ```ts
 * // main thread
 * const [jobs, jobsInWorker] = remoteChannel<string>(16);
 * const [resultsInWorker, results] = remoteChannel<number>(16);
 * const [worker] = startWorkers(new URL('./count.js', import.meta.url), {
 *   count: 1,
 *   data: { jobs: jobsInWorker, results: resultsInWorker },
 * });
 * yield* jobs.send('hello');                 // inside a task
 * console.log(yield* results.recv());        // 5
 * jobs.close();
 * yield* worker.join();
 *
 * // count.js, the worker module
 * export default function* ({ data }) {
 *   for (const it = data.jobs.iterate(); yield* it.next(); ) yield* data.results.send(it.value.length);
 *   data.results.close();
 * }
 * ```
 *
 * @param capacity - how many values may be in flight or buffered at the receiver before
 *   `send` waits (default 16). At least 1: there is no unbuffered channel across threads
 *   (a rendezvous would cost a second crossing per value).
 * @typeParam T - the values it carries: anything structured clone accepts, and channel ends.
 */
export function remoteChannel<T>(capacity = 16): [sender: RemoteSender<T>, receiver: RemoteReceiver<T>] {
  if (!(capacity >= 1) || !Number.isInteger(capacity)) {
    throw new RangeError(
      `a remote channel's capacity is a whole number >= 1, not ${String(capacity)}: there is no unbuffered ` +
        'channel across threads (a rendezvous would cost a second thread crossing per value)',
    );
  }
  const { port1, port2 } = new MessageChannel();
  return [new RemoteSender<T>(port1, capacity, capacity, threadLabel), new RemoteReceiver<T>(port2, capacity, 0, threadLabel)];
}

/** Options of {@link RemoteSender.send} and {@link RemoteSender.trySend}. */
export interface RemoteSendOptions {
  /**
   * Objects to move instead of copying (ArrayBuffers, MessagePorts, ...), as with
   * `postMessage`: once the value is posted they are detached (empty) in this thread.
   */
  transfer?: readonly TransferListItem[];
  /** Give up after this many milliseconds without credit: a `ChannelTimeout`. */
  timeout?: number;
}

function wrongEnd(end: string, operation: string, other: string): TypeError {
  return new TypeError(
    `${operation} on ${end}: this end only ${other === 'receive' ? 'sends' : 'receives'}; ` +
      `${other} on the other end of the remoteChannel() pair, in the thread it was given to`,
  );
}

// --- what both ends share: the port and the channel's life -----------------------------------

/** What an end does for its {@link PortLink} (symbols, so that users cannot call them). */
const ON_DATA: unique symbol = Symbol('greenlet-ts.onData');
const PEER_CLOSED: unique symbol = Symbol('greenlet-ts.peerClosed');
const SHUT: unique symbol = Symbol('greenlet-ts.shut');

/** An end as its link sees it. */
interface LinkedEnd {
  readonly closed: boolean;
  /** A value, credits, or any record that is not about the channel's life. */
  [ON_DATA](data: unknown): void;
  /**
   * The other side closed the channel (`reason` null: cleanly, for a receiving end, which
   * then drains and ends), failed, was dropped, or went away.
   */
  [PEER_CLOSED](reason: ChannelClosed | null): void;
  /** Close here for good: the end's own part, then `link.shut()`. */
  [SHUT](): void;
  toString(): string;
}

/**
 * The lifecycle both ends of a remote channel share: the port and its listeners (which
 * reach the end through a WeakRef, so a dropped end can be collected), the name of the
 * thread at the other end, why the end closed, whether the port keeps the thread's event
 * loop alive, the end's place among this thread's open ends, and the records about the
 * channel's life (`hello`, `close`, `fail`, `dropped`, and the port's `close` event). The
 * ends keep only what differs: the sender its credits and queue of senders, the receiver
 * its buffer and the credits it owes.
 *
 * ```text
 *  open ──close() here──────────────────────────────▶ closed (closedHere; a second close() raises)
 *   │ ──peer closed / failed / dropped / port closed──▶ closed (reason, unless the sender closed cleanly)
 *   │ ──moved to another thread──────────────────────▶ closed (moved; reason says to use it there)
 *   └ ──this thread failed (FAIL)────────────────────▶ closed (closedHere; the peer sees a ChannelPeerGone)
 * ```
 */
class PortLink {
  readonly port: MessagePort;
  /** The thread that holds the other end, for messages. */
  peer: string;
  /** Why the end closed, unless it was closed here or cleanly by the sender. */
  reason: ChannelClosed | null = null;
  closedHere = false;
  moved = false;
  /** Held weakly: see {@link weakListeners}. */
  readonly ref: WeakRef<AnyEnd>;
  #refd = false;
  /**
   * The end, held strongly while something waits on it (see {@link PortLink.keepAlive}):
   * the port (which the host holds while it is open) then reaches it through its listeners.
   */
  #held: AnyEnd | null = null;
  readonly #peerSide: 'sending' | 'receiving';
  readonly #listeners: { message: (data: unknown) => void; close: () => void };

  constructor(end: AnyEnd, port: MessagePort, peer: string, peerSide: 'sending' | 'receiving') {
    this.port = port;
    this.peer = peer;
    this.#peerSide = peerSide;
    this.ref = new WeakRef(end);
    this.#listeners = weakListeners(
      this.ref,
      (e, data) => this.#receive(e as AnyEnd & LinkedEnd, data),
      (e) => this.#portClosed(e as AnyEnd & LinkedEnd),
    );
    this.attach();
    port.unref();
    track(end, this.ref, port);
  }

  attach(): void {
    this.port.on('message', this.#listeners.message);
    this.port.on('close', this.#listeners.close);
  }

  detach(): void {
    this.port.off('message', this.#listeners.message);
    this.port.off('close', this.#listeners.close);
  }

  /**
   * Something waits on the end (a task, a `for await` step, a select case), or no longer:
   * keep the thread's event loop alive meanwhile, and the end itself. The listeners hold
   * the end weakly, and a waiter may be all that refers to the end and the waiter to it
   * (a `for await` in an async function that nothing else holds: its promise, its frame
   * and the end form a cycle that nothing outside reaches); collected, the end would be
   * closed as dropped and the wait would never end.
   */
  keepAlive(want: boolean): void {
    if (want === this.#refd) return;
    this.#refd = want;
    if (want) {
      this.port.ref();
      this.#held = this.ref.deref() ?? null;
    } else {
      this.port.unref();
      this.#held = null;
    }
  }

  /** `close()` on the end; `closeChannel` is Channel's own close (raising ChannelAlreadyClosed the second time). */
  close(end: LinkedEnd, closeChannel: () => void): void {
    if (this.moved) throw copyError(this.reason as ChannelClosed);
    if (end.closed) {
      if (this.closedHere) closeChannel(); // raises ChannelAlreadyClosed
      return;
    }
    this.closedHere = true;
    this.port.postMessage({ [CONTROL]: 'close' } satisfies ControlRecord);
    end[SHUT]();
  }

  /** This thread failed: tell the other side why, and close. */
  fail(end: LinkedEnd, failure: unknown): void {
    if (end.closed) return;
    this.port.postMessage({ [CONTROL]: 'fail', error: recordError(failure), thread: threadLabel } satisfies ControlRecord);
    this.closedHere = true;
    end[SHUT]();
  }

  /** The end is closed for good: its port closes and it is no longer one of this thread's open ends. */
  shut(): void {
    this.port.close();
    untrack(this.ref);
  }

  /** Lend the port for a move to another thread: stop listening, and give the end its wire form. */
  moveOut(end: AnyEnd, wire: WireEnd): MessagePort {
    this.detach();
    wireProperty(end, wire);
    return this.port;
  }

  /** The move failed: listen again (the end then sets whether the port keeps the loop alive). */
  moveBack(end: AnyEnd): void {
    wireProperty(end, undefined);
    this.attach();
    this.#refd = true;
    this.#held = end;
  }

  /** The move is done: the end here is closed for good (the end then closes its channel). */
  movedAway(end: AnyEnd): void {
    wireProperty(end, undefined);
    this.moved = true;
    this.reason = new ChannelClosed(`${String(end)} was moved to another thread: use it there`);
    untrack(this.ref);
  }

  #receive(end: AnyEnd & LinkedEnd, data: unknown): void {
    if (isControl(data)) {
      switch (data[CONTROL]) {
        case 'hello':
          this.peer = data.thread;
          return;
        case 'close':
          end[PEER_CLOSED](
            this.#peerSide === 'sending'
              ? null
              : new ChannelClosed(
                  `send on ${String(end)}: the receiving end (in ${this.peer}) closed the channel; stop sending ` +
                    '(check `closed`, or catch ChannelClosed)',
                ),
          );
          return;
        case 'fail':
          end[PEER_CLOSED](peerFailed(this.#peerSide, data.thread, data.error));
          return;
        case 'dropped':
          end[PEER_CLOSED](peerDropped(this.#peerSide, data.thread, String(end)));
          return;
        default:
          break;
      }
    }
    end[ON_DATA](data);
  }

  #portClosed(end: AnyEnd & LinkedEnd): void {
    if (!end.closed) end[PEER_CLOSED](peerGone(this.#peerSide, this.peer, String(end)));
  }
}

// --- the sending end -----------------------------------------------------------------------

/** A sender waiting for credit: a parked task (`task` true) or a select send case. */
interface SendEntry {
  readonly waiter: Schedulable | SenderWaiter<unknown>;
  readonly task: boolean;
  readonly value: unknown;
  readonly transfer: readonly TransferListItem[] | undefined;
}

/**
 * The sending end of a {@link remoteChannel}. `yield* tx.send(value)` posts the value to
 * the receiving thread at once while the receiver has room (credit), and waits otherwise;
 * `trySend` never waits; `close()` tells the receiver no more values will come (it drains
 * what arrived, then sees the end). `sendCase(tx, value)` works in `select`.
 *
 * It is a {@link Channel} so that select accepts it, but only its sending side works:
 * receiving on it raises a TypeError.
 *
 * ```ts
 * const [tx, rx] = remoteChannel<Uint8Array>(4);
 * const chunk = new Uint8Array(1 << 20);
 * yield* tx.send(chunk, { transfer: [chunk.buffer] });   // moved, not copied: chunk is now empty
 * ```
 *
 * Sends after `close()` raise {@link ChannelClosed}; after the receiving end closed, or
 * its thread went away, they raise ChannelClosed or {@link ChannelPeerGone}.
 *
 * Cost: each send is a `postMessage` (a structured clone and a thread crossing,
 * ~10–50 µs end to end); credits come back one message per `ceil(capacity / 2)` values.
 */
export class RemoteSender<T> extends Channel<T> implements LinkedEnd {
  readonly #link: PortLink;
  #credits: number;
  readonly #queue: SendEntry[] = [];
  readonly #parking: Parking;

  /** @internal Credits from the receiver; nothing else comes this way. */
  [ON_DATA](data: unknown): void {
    if (typeof data !== 'number') return;
    this.#credits += data;
    if (this.#queue.length !== 0) this.#pump();
  }

  /** @internal Made by {@link remoteChannel}, or when an end arrives from another thread. */
  constructor(port: MessagePort, capacity: number, credits: number, peer: string) {
    super(capacity);
    this.#credits = credits;
    const queue = this.#queue;
    this.#parking = {
      unpark: (task: Schedulable) => {
        const i = queue.findIndex((e) => e.waiter === task);
        if (i !== -1) queue.splice(i, 1);
        this.#updateRef();
      },
      toString: () => `send on ${String(this)}`,
      [HOST_WAIT]: true,
    };
    this.#link = new PortLink(this as RemoteSender<unknown>, port, peer, 'receiving');
  }

  /** Why the channel closed when its receiving side went away (null otherwise). */
  get error(): ChannelPeerGone | null {
    const reason = this.#link.reason;
    return reason instanceof ChannelPeerGone ? reason : null;
  }

  /** How many senders wait for credit: tasks in `send` and select send cases. */
  override get sendWaiting(): number {
    return this.#queue.length;
  }

  /**
   * Send `value` to the receiving thread: posted at once while the receiver has room,
   * otherwise the task waits until it has (in arrival order with other senders). Inside a
   * task: `yield* tx.send(value)`, or `yield* tx.send(buffer, { transfer: [buffer] })`.
   *
   * @param options - a timeout in milliseconds, or {@link RemoteSendOptions}.
   * @throws GreenletError if `value` holds a Greenlet or Task (send its result instead).
   * @throws {@link ChannelClosed} if the channel is closed, or closes while waiting;
   *   {@link ChannelPeerGone} if the receiving thread went away.
   */
  override send(value: T, options?: number | RemoteSendOptions): SwitchOp<void> {
    return lazy(SEND, this as RemoteSender<unknown>, value, options);
  }

  /** @internal Performs {@link RemoteSender.send}. */
  override performSend(value: T, options: number | RemoteSendOptions | undefined): Performed<void> {
    const task = currentTask('remoteSender.send()');
    if (this.closed) throw this.#closedError();
    const transfer = typeof options === 'object' ? options.transfer : undefined;
    if (this.#credits > 0) {
      // No sender waits while there is credit (invariant): nobody is overtaken.
      this.#post(value, transfer);
      return immediate(undefined);
    }
    findEnds(value); // refuse what cannot cross now, not when credit comes
    this.#queue.push({ waiter: task, task: true, value, transfer });
    this.#updateRef();
    const timeout = typeof options === 'number' ? options : options?.timeout;
    return this.parkWaiter(task, this.#parking, 'send()', timeout);
  }

  /**
   * Send `value` if the receiver has room now; evaluates to whether it was sent. Works
   * anywhere, including plain code and callbacks.
   *
   * @throws {@link ChannelClosed} if the channel is closed.
   */
  override trySend(value: T, options?: RemoteSendOptions): boolean {
    if (this.closed) throw this.#closedError();
    if (this.#credits === 0) return false;
    this.#post(value, options?.transfer);
    return true;
  }

  /**
   * Close the channel: the receiver gets every value sent before, then the end. Tasks
   * blocked in `send` here raise {@link ChannelClosed}. Closing a channel that the other
   * side closed already (or whose thread went away) does nothing; closing it twice here
   * raises `ChannelAlreadyClosed`. Works anywhere.
   */
  override close(): void {
    this.#link.close(this, () => super.close());
  }

  /** For reports: `RemoteSender(capacity 16, 3 credits, 1 sender waiting, to worker 0 (job.js))`. */
  override toString(): string {
    let s = `RemoteSender(capacity ${this.capacity}, ${this.#credits} credit${this.#credits === 1 ? '' : 's'}`;
    if (this.#queue.length !== 0) s += `, ${this.#queue.length} sender${this.#queue.length === 1 ? '' : 's'} waiting`;
    if (this.closed) s += ', closed';
    return `${s}, to ${this.#link.peer})`;
  }

  // --- what select uses ---------------------------------------------------------------

  /** Ready check (the selectable protocol): there is credit, or the end is closed (a send raises). */
  override sendReady(): boolean {
    return this.closed || this.#credits > 0;
  }

  /** Commit (the selectable protocol): post `value` now, or raise ChannelClosed. */
  override sendNow(value: T): void {
    if (this.closed) throw this.#closedError();
    this.#post(value, undefined);
  }

  /** Register a select send case until credit comes (the selectable protocol). */
  override addSender(waiter: SenderWaiter<T>): void {
    this.#queue.push({ waiter: waiter as SenderWaiter<unknown>, task: false, value: undefined, transfer: undefined });
    this.#updateRef();
  }

  /** Unregister a select send case (the selectable protocol). */
  override removeSender(waiter: unknown): boolean {
    const i = this.#queue.findIndex((e) => e.waiter === waiter);
    if (i === -1) return false;
    this.#queue.splice(i, 1);
    this.#updateRef();
    return true;
  }

  // --- not this end's business ----------------------------------------------------------

  override recv(): SwitchOp<T | undefined> {
    throw wrongEnd(String(this), 'recv()', 'receive');
  }
  override recvOk(): SwitchOp<RecvResult<T>> {
    throw wrongEnd(String(this), 'recvOk()', 'receive');
  }
  override forEach(_fn: (value: T) => unknown): SwitchOp<void> {
    throw wrongEnd(String(this), 'forEach()', 'receive');
  }
  override tryRecv(): RecvResult<T> {
    throw wrongEnd(String(this), 'tryRecv()', 'receive');
  }
  override iterate(): ChannelIterator<T> {
    throw wrongEnd(String(this), 'iterate()', 'receive');
  }
  override [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    throw wrongEnd(String(this), 'for await', 'receive');
  }
  /** @internal */
  override recvReady(): boolean {
    throw wrongEnd(String(this), 'a select receive case', 'receive');
  }
  /** @internal */
  override recvNow(_slot: RecvSlot<T>): void {
    throw wrongEnd(String(this), 'receive', 'receive');
  }
  /** @internal */
  override addReceiver(_waiter: ReceiverWaiter<T>): void {
    throw wrongEnd(String(this), 'receive', 'receive');
  }

  // --- internals --------------------------------------------------------------------------

  /** Post `value` (one credit). Raises, sending nothing, if it cannot be cloned. */
  #post(value: unknown, transfer: readonly TransferListItem[] | undefined): void {
    const ends = findEnds(value);
    const port = this.#link.port;
    if (ends === null && !isControl(value)) {
      // The fast path: the value as it is.
      if (transfer === undefined) port.postMessage(value);
      else port.postMessage(value, transfer);
    } else {
      const record: ControlRecord = { [CONTROL]: 'value', value, ends: ends !== null };
      moveEnds(ends, (ports) => port.postMessage(record, transfer === undefined ? ports : [...transfer, ...ports]));
    }
    this.#credits--;
  }

  /** Credit arrived: serve the waiting senders, oldest first. */
  #pump(): void {
    const queue = this.#queue;
    while (this.#credits > 0 && queue.length !== 0) {
      const entry = queue.shift() as SendEntry;
      const value = entry.task ? entry.value : (entry.waiter as SenderWaiter<unknown>).value;
      try {
        this.#post(value, entry.transfer);
      } catch (error) {
        if (entry.task) wakeThrow(entry.waiter as Schedulable, error);
        else (entry.waiter as SenderWaiter<unknown>).failed(error as ChannelClosed);
        continue;
      }
      if (entry.task) wake(entry.waiter as Schedulable, undefined);
      else (entry.waiter as SenderWaiter<unknown>).sent();
    }
    this.#updateRef();
  }

  #closedError(): ChannelClosed {
    const reason = this.#link.reason;
    if (reason === null) {
      return new ChannelClosed(
        `send on ${String(this)}: nothing can be sent after close(). Close a channel only after its last send ` +
          '(in the sender), and stop sending once it is closed (check `closed`, or catch ChannelClosed)',
      );
    }
    return copyError(reason);
  }

  /** @internal The receiving side closed the channel, failed, or went away. */
  [PEER_CLOSED](reason: ChannelClosed | null): void {
    if (this.closed) return;
    this.#link.reason = reason;
    this[SHUT]();
  }

  /** @internal Close here for good; blocked senders raise why. */
  [SHUT](): void {
    super.close();
    this.#link.shut();
    for (const entry of this.#queue.splice(0)) {
      const error = this.#closedError();
      if (entry.task) wakeThrow(entry.waiter as Schedulable, error);
      else (entry.waiter as SenderWaiter<unknown>).failed(error);
    }
    this.#updateRef();
  }

  #updateRef(): void {
    this.#link.keepAlive(this.#queue.length !== 0);
  }

  /** @internal Lend the port for a move to another thread (see moveEnds). */
  [MOVE_OUT](): MessagePort {
    if (this.closed) throw new ChannelClosed(`${String(this)} cannot move to another thread: it is closed`);
    if (this.#queue.length !== 0) {
      throw new ChannelClosed(`${String(this)} cannot move to another thread while tasks here wait to send on it`);
    }
    const link = this.#link;
    return link.moveOut(this as RemoteSender<unknown>, {
      role: 'send',
      port: link.port,
      capacity: this.capacity,
      count: this.#credits,
      peer: link.peer,
      buffered: [],
    });
  }

  /** @internal The move failed: stay in this thread. */
  [MOVE_BACK](): void {
    this.#link.moveBack(this as RemoteSender<unknown>);
    this.#updateRef();
  }

  /** @internal The move is done: this object is closed for good. */
  [MOVED](): void {
    this.#link.movedAway(this as RemoteSender<unknown>);
    super.close();
  }

  /** @internal This thread failed: tell the receiving side why, and close. */
  [FAIL](failure: unknown): void {
    this.#link.fail(this, failure);
  }
}

// --- the receiving end -----------------------------------------------------------------------

/**
 * The receiving end of a {@link remoteChannel}: a buffered {@link Channel} (of the pair's
 * capacity) that the port fills, so every way of receiving works as on a local channel:
 * `yield* rx.recv()`, `recvOk()`, `tryRecv()`, `rx.iterate()`, `rx.forEach(fn)`,
 * `for await (const v of rx)` in async code, and `recvCase(rx)` in a `select` beside
 * local channels.
 *
 * ```ts
 * for (const it = rx.iterate(); yield* it.next(); ) handle(it.value);   // until the sender closes
 * ```
 *
 * The end: when the sender closes, the values that arrived are received first, then
 * `recv()` evaluates to `undefined` (`recvOk()` to `[undefined, false]`). When the
 * sending thread went away without closing (it failed, exited, was terminated), the end
 * raises {@link ChannelPeerGone} instead (`error` holds it), so a crash is never mistaken
 * for a clean end; a select receive case reports it as `ok === false`, check `rx.error`.
 *
 * `close()` here tells the sender to stop: its blocked and later sends raise
 * ChannelClosed; values in flight are dropped, values already buffered here can still be
 * received. Sending on this end raises a TypeError.
 *
 * Cost: receiving a buffered value is a local channel operation (~0.1 µs); every
 * `ceil(capacity / 2)` values taken post one credit message back to the sender.
 */
export class RemoteReceiver<T> extends Channel<T> implements LinkedEnd {
  /** @internal Fed by the host: a task waiting on it waits on the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  readonly #link: PortLink;
  /** Credits returned per message. */
  readonly #batch: number;
  /** Values taken out of the buffer (or handed to a waiter) and not yet granted back. */
  #ungranted: number;

  /** @internal A value from the sender, as it is or escaped in a record. */
  [ON_DATA](data: unknown): void {
    if (!isControl(data)) this.#deliver(data as T);
    else if (data[CONTROL] === 'value') this.#deliver((data.ends ? reviveEnds(data.value) : data.value) as T);
  }

  /** @internal Made by {@link remoteChannel}, or when an end arrives from another thread. */
  constructor(port: MessagePort, capacity: number, ungranted: number, peer: string, buffered: readonly unknown[] = []) {
    super(capacity);
    this.#batch = Math.ceil(capacity / 2);
    this.#ungranted = ungranted;
    // Values that arrived where this end was before: older than anything still in the port.
    for (const value of buffered) super.trySend(value as T);
    this.#link = new PortLink(this as RemoteReceiver<unknown>, port, peer, 'sending');
  }

  /** Why the channel closed when its sending side went away (null otherwise). */
  get error(): ChannelPeerGone | null {
    const reason = this.#link.reason;
    return reason instanceof ChannelPeerGone ? reason : null;
  }

  /**
   * Receive the next value, waiting until one arrives; `undefined` once the sender has
   * closed the channel and every value was received. Inside a task:
   * `const v = yield* rx.recv()`.
   *
   * @param timeout - give up after this many milliseconds: a `ChannelTimeout`.
   * @throws {@link ChannelPeerGone} once drained, if the sending thread went away.
   */
  override recv(timeout?: number): SwitchOp<T | undefined> {
    return lazy(RECV, this as RemoteReceiver<unknown>, timeout, undefined) as SwitchOp<T | undefined>;
  }

  /** @internal Performs {@link RemoteReceiver.recv}. */
  override performRecv(timeout: number | undefined): Performed<T | undefined> {
    currentTask('remoteReceiver.recv()');
    if (this.length !== 0) {
      this.#taken(); // the value leaves the buffer at once, right below
      return super.performRecv(undefined);
    }
    if (this.closed) {
      const reason = this.#link.reason;
      if (reason !== null) throw copyError(reason);
      return immediate(undefined);
    }
    return this.#waitValue(timeout) as Performed<T | undefined>;
  }

  /**
   * Receive like {@link RemoteReceiver.recv}, telling a value from the end:
   * `[value, true]`, or `[undefined, false]` once closed and drained.
   *
   * @throws {@link ChannelPeerGone} once drained, if the sending thread went away.
   */
  override recvOk(timeout?: number): SwitchOp<RecvResult<T>> {
    return lazy(RECV_OK, this as RemoteReceiver<unknown>, timeout, undefined) as SwitchOp<RecvResult<T>>;
  }

  /** @internal Performs {@link RemoteReceiver.recvOk}. */
  override performRecvOk(timeout: number | undefined): Performed<RecvResult<T>> {
    currentTask('remoteReceiver.recvOk()');
    if (this.length !== 0) {
      this.#taken(); // the value leaves the buffer at once, right below
      return super.performRecvOk(undefined);
    }
    if (this.closed) {
      const reason = this.#link.reason;
      if (reason !== null) throw copyError(reason);
      return super.performRecvOk(undefined);
    }
    return this.#waitResult(timeout) as Performed<RecvResult<T>>;
  }

  /**
   * Call `fn(value)` for each value until the sender closes the channel (see
   * `Channel.forEach`): `yield* rx.forEach(fn)`. Raises {@link ChannelPeerGone} at the
   * end if the sending thread went away.
   */
  override forEach(fn: (value: T) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH, this as RemoteReceiver<unknown>, fn as (value: unknown) => unknown, undefined);
  }

  /**
   * A value if one has arrived: `[value, true]`; otherwise `[undefined, false]` at once
   * (`closed` then tells whether more may come). Works anywhere.
   *
   * @throws {@link ChannelPeerGone} once drained, if the sending thread went away.
   */
  override tryRecv(): RecvResult<T> {
    const result = super.tryRecv();
    if (result[1]) this.#taken();
    else if (this.closed && this.#link.reason !== null) throw copyError(this.#link.reason);
    return result;
  }

  /**
   * An iterator over the values for a loop in a task (see `Channel.iterate`); its
   * `next()` raises {@link ChannelPeerGone} at the end if the sending thread went away.
   */
  override iterate(): ChannelIterator<T> {
    return new ReceiverIterator(this);
  }

  /**
   * `for await (const v of rx)` in async code; ends when the sender closes, raises
   * {@link ChannelPeerGone} at the end if the sending thread went away.
   */
  override async *[Symbol.asyncIterator](): AsyncGenerator<T, undefined, undefined> {
    yield* super[Symbol.asyncIterator]();
    if (this.#link.reason !== null) throw copyError(this.#link.reason);
    return undefined;
  }

  /**
   * Stop receiving: the sender's blocked and later sends raise ChannelClosed; values in
   * flight are dropped; values buffered here may still be received. Closing a channel
   * that the sender closed already (or whose thread went away) does nothing; closing it
   * twice here raises `ChannelAlreadyClosed`. Works anywhere.
   */
  override close(): void {
    this.#link.close(this, () => super.close());
  }

  /** For reports: `RemoteReceiver(capacity 16, 2 buffered, from worker 0 (job.js))`. */
  override toString(): string {
    return `${super.toString().replace(/^Channel\(/, 'RemoteReceiver(').slice(0, -1)}, from ${this.#link.peer})`;
  }

  // --- what select and the iterators use ----------------------------------------------------

  /** Commit (the selectable protocol): receive now, and count the value taken for the sender's credit. */
  override recvNow(slot: RecvSlot<T>): void {
    super.recvNow(slot);
    if (slot.ok) this.#taken();
  }

  /** Register a waiter (the selectable protocol); the port keeps the thread alive meanwhile. */
  override addReceiver(waiter: ReceiverWaiter<T>): void {
    super.addReceiver(waiter);
    this.#updateRef();
  }

  /** Unregister a waiter (the selectable protocol). */
  override removeReceiver(waiter: unknown): boolean {
    const removed = super.removeReceiver(waiter);
    if (removed) this.#updateRef();
    return removed;
  }

  // --- not this end's business ----------------------------------------------------------

  override send(_value: T, _options?: number | RemoteSendOptions): SwitchOp<void> {
    throw wrongEnd(String(this), 'send()', 'send');
  }
  override trySend(_value: T, _options?: RemoteSendOptions): boolean {
    throw wrongEnd(String(this), 'trySend()', 'send');
  }
  /** @internal */
  override sendReady(): boolean {
    throw wrongEnd(String(this), 'a select send case', 'send');
  }
  /** @internal */
  override sendNow(_value: T): void {
    throw wrongEnd(String(this), 'send', 'send');
  }
  /** @internal */
  override addSender(_waiter: SenderWaiter<T>): void {
    throw wrongEnd(String(this), 'send', 'send');
  }

  // --- internals --------------------------------------------------------------------------

  /** A value arrived: hand it to the oldest waiting receiver, or buffer it. */
  #deliver(value: T): void {
    if (this.closed) return; // closed here: values in flight are dropped
    const before = this.length;
    if (!super.trySend(value)) {
      // Cannot happen while the credit invariant holds; say so rather than lose a value.
      getHub().report({
        kind: 'callback-error',
        where: String(this),
        error: new Error(`internal error: a value arrived at ${String(this)} with no room for it; it was dropped`),
      });
      return;
    }
    if (this.length === before) {
      this.#taken();
      this.#updateRef();
    }
  }

  /** One value left the buffer (or went straight to a waiter). */
  #taken(): void {
    if (++this.#ungranted >= this.#batch && !this.closed) {
      this.#link.port.postMessage(this.#ungranted);
      this.#ungranted = 0;
    }
  }

  /** recv() when nothing has arrived: wait, then tell the end from a crash. */
  *#waitValue(timeout: number | undefined): GreenletBody<T | undefined> {
    // The receive below parks (nothing is buffered, the end is open): keep the thread alive
    // meanwhile. Whatever ends the wait (a value, a timeout, a kill, the end) updates it.
    this.#link.keepAlive(true);
    const [value, ok] = yield* super.performRecvOk(timeout);
    if (!ok && this.#link.reason !== null) throw copyError(this.#link.reason);
    return value;
  }

  *#waitResult(timeout: number | undefined): GreenletBody<RecvResult<T>> {
    this.#link.keepAlive(true); // as in #waitValue
    const result = yield* super.performRecvOk(timeout);
    if (!result[1] && this.#link.reason !== null) throw copyError(this.#link.reason);
    return result;
  }

  /** @internal Raise why the channel ended, if it did not end cleanly. */
  throwIfFailed(): void {
    const reason = this.#link.reason;
    if (reason !== null && this.closed && this.length === 0) throw copyError(reason);
  }

  /** @internal The sender closed the channel (`reason` null), failed, or went away. */
  [PEER_CLOSED](reason: ChannelClosed | null): void {
    if (this.closed) return;
    this.#link.reason = reason;
    this[SHUT]();
  }

  /** @internal Close here for good. */
  [SHUT](): void {
    super.close();
    this.#link.shut();
    this.#updateRef();
  }

  #updateRef(): void {
    this.#link.keepAlive(this.recvWaiting !== 0 && !this.closed);
  }

  /** @internal Lend the port for a move to another thread (see moveEnds). */
  [MOVE_OUT](): MessagePort {
    if (this.closed) throw new ChannelClosed(`${String(this)} cannot move to another thread: it is closed`);
    if (this.recvWaiting !== 0) {
      throw new ChannelClosed(`${String(this)} cannot move to another thread while tasks here wait to receive on it`);
    }
    // Values that arrived here and were not received yet go along, in order.
    const buffered: unknown[] = [];
    while (this.length !== 0) buffered.push(super.tryRecv()[0]);
    if (findEnds(buffered) !== null) {
      for (const value of buffered) super.trySend(value as T);
      throw new ChannelClosed(
        `${String(this)} cannot move to another thread while values that hold channel ends wait in it: receive them first`,
      );
    }
    const link = this.#link;
    return link.moveOut(this as RemoteReceiver<unknown>, {
      role: 'recv',
      port: link.port,
      capacity: this.capacity,
      count: this.#ungranted,
      peer: link.peer,
      buffered,
    });
  }

  /** @internal The move failed: stay in this thread. */
  [MOVE_BACK](): void {
    const wire = (this as unknown as Record<string, WireEnd | undefined>)[WIRE];
    for (const value of wire?.buffered ?? []) super.trySend(value as T);
    this.#link.moveBack(this as RemoteReceiver<unknown>);
    this.#updateRef();
  }

  /** @internal The move is done: this object is closed for good. */
  [MOVED](): void {
    this.#link.movedAway(this as RemoteReceiver<unknown>);
    super.close();
  }

  /** @internal This thread failed: tell the sending side why, and close. */
  [FAIL](failure: unknown): void {
    this.#link.fail(this, failure);
  }
}

/** `rx.iterate()`: a ChannelIterator whose end raises ChannelPeerGone after a crash. */
class ReceiverIterator<T> extends ChannelIterator<T> {
  constructor(readonly receiver: RemoteReceiver<T>) {
    super(receiver);
  }

  override get nextName(): string {
    return 'remoteReceiver iterator next()';
  }

  /** @internal Performs `next()`. */
  override performNext(timeout: number | undefined): Performed<boolean> {
    const rx = this.receiver;
    if (rx.length !== 0) return super.performNext(undefined);
    currentTask('remoteReceiver iterator next()');
    rx.throwIfFailed();
    if (rx.closed) return super.performNext(undefined);
    return this.#wait(timeout) as Performed<boolean>;
  }

  *#wait(timeout: number | undefined): GreenletBody<boolean> {
    const more = yield* super.performNext(timeout);
    if (!more) this.receiver.throwIfFailed();
    return more;
  }
}

// --- the operations (see core/operation.ts): made by the methods, performed by yield* -----------

const SEND = blockingOperation<RemoteSender<unknown>, unknown, number | RemoteSendOptions | undefined, void>(
  'remoteSender.send()',
  (tx, value, options) => tx.performSend(value, options),
);
const RECV = blockingOperation<RemoteReceiver<unknown>, number | undefined, undefined, unknown>('remoteReceiver.recv()', (rx, timeout) =>
  rx.performRecv(timeout),
);
const RECV_OK = blockingOperation<RemoteReceiver<unknown>, number | undefined, undefined, RecvResult<unknown>>(
  'remoteReceiver.recvOk()',
  (rx, timeout) => rx.performRecvOk(timeout),
);
const FOR_EACH = blockingOperation<RemoteReceiver<unknown>, (value: unknown) => unknown, undefined, void>(
  'remoteReceiver.forEach()',
  function* (rx, fn) {
    for (const it = rx.iterate(); yield* it.performNext(undefined); ) {
      const r = fn(it.value);
      if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
    }
  },
);

/** A fresh error of the same class, message and cause (each raise gets its own stack). */
function copyError(error: ChannelClosed): ChannelClosed {
  const Kind = error instanceof ChannelPeerGone ? ChannelPeerGone : ChannelClosed;
  return new Kind(error.message, error.cause === undefined ? undefined : { cause: error.cause });
}

function peerGone(side: 'sending' | 'receiving', peer: string, end: string): ChannelPeerGone {
  return new ChannelPeerGone(
    `${end}: the ${side} end, in ${peer}, went away without closing the channel: its thread ended ` +
      '(it crashed, called process.exit(), or was terminated). Close a channel before its thread ends, ' +
      'and join the worker to learn why it ended',
  );
}

function peerDropped(side: 'sending' | 'receiving', peer: string, end: string): ChannelPeerGone {
  return new ChannelPeerGone(
    `${end}: the ${side} end, in ${peer}, was garbage-collected without close(): nothing referred to it any ` +
      `more, so nothing will ever ${side === 'sending' ? 'send on' : 'receive from'} it. Close an end you stop ` +
      'using (`end.close()`)',
  );
}

function peerFailed(side: 'sending' | 'receiving', peer: string, record: ErrorRecord): ChannelPeerGone {
  return new ChannelPeerGone(
    `the ${side} end of this channel, in ${peer}, went away: its thread failed with ${record.name}: ${record.message}`,
    { cause: rebuildError(record) },
  );
}
