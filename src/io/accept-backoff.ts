/**
 * What a server does when the process runs out of file descriptors (EMFILE, or ENFILE for
 * the whole system): stop accepting, keep serving the connections it has, try again with
 * a growing delay, and say so once per burst. Go's net/http does the same in `Serve`
 * (a delay from 5 ms, doubling, at most 1 s), logging at every retry; here it is one report
 * per burst: when accepting stops, unless it stopped already less than 10 s before.
 *
 * Why a probe. A Node server never sees most of these failures: libuv keeps a spare
 * descriptor, and when accept() fails with EMFILE it closes the spare, accepts the waiting
 * connections and closes them at once (clients see a reset), and reopens the spare,
 * without telling anyone. Only when it cannot reopen the spare does the listener emit
 * `accept EMFILE` errors, one per waiting connection, as fast as they come. So the
 * server also opens and closes the null device every `probeInterval` ms (two system
 * calls): when that fails with EMFILE or ENFILE, the process is out of descriptors.
 *
 * Stopping accepting. Node cannot pause accept() on a listening socket; the listener is
 * closed instead (new connections are refused at once by the system, and cost nothing)
 * and reopened on the same address after the delay, if two descriptors can then be opened
 * (one for the listener, one for a connection). The
 * server's open connections are untouched: they go on being served.
 *
 * States: IDLE (accepting, probing now and then) ──out of descriptors──▶ PAUSED (listener
 * closed, a retry timer pending) ──probe ok──▶ relisten ──▶ IDLE, reporting the end of the
 * burst; ──probe fails──▶ PAUSED with twice the delay (at most `maxDelay`).
 *
 * @module
 */
import { closeSync, openSync } from 'node:fs';
import { devNull } from 'node:os';
import { getHub } from '../hub/hub.js';

/** Options of a server's accept back-off. */
export interface AcceptBackoffOptions {
  /** The longest delay between two attempts to accept again, in ms (default 1000, as Go). */
  maxDelay?: number;
  /**
   * How often to check, while accepting, that a descriptor can still be opened, in ms
   * (default 1000); 0 checks only when the listener reports EMFILE or ENFILE.
   */
  probeInterval?: number;
}

/** The defaults of {@link AcceptBackoffOptions}. */
export const DEFAULT_ACCEPT_BACKOFF: Readonly<Required<AcceptBackoffOptions>> = { maxDelay: 1000, probeInterval: 1000 };

/** The first delay of a burst, in ms (Go's). */
const FIRST_DELAY = 5;
/** Accepting stops again within this long of the last reopen (ms): the same burst, not reported again. */
const BURST_GAP = 10_000;

/** Raised (reported) when a server stops accepting for lack of file descriptors. */
export class OutOfFileDescriptors extends Error {
  /** `EMFILE` (this process) or `ENFILE` (the whole system). */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
  static {
    this.prototype.name = 'OutOfFileDescriptors';
  }
}

/** Whether `error` says that no file descriptor is left. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** The error of opening `count` descriptors now (they are closed again), or null if they could be. */
function probe(count = 1): unknown {
  const opened: number[] = [];
  try {
    for (let i = 0; i < count; i++) opened.push(openSync(devNull, 'r'));
    return null;
  } catch (error) {
    return error;
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

/**
 * Descriptors that must be free before the listener reopens: one for the listener, one
 * for a connection. (Closing the listener freed one: a probe for one alone would always
 * succeed, and the server would close and reopen at every probe.)
 */
const REOPEN_HEADROOM = 2;

/** A listener, as the back-off needs it: closing and reopening it leaves its server alone. */
export interface Listener {
  /** For reports: `HttpServer(127.0.0.1:8080)`. */
  describe(): string;
  /** Close the listening socket only (not the connections, nor the server's other state). */
  closeListener(): void;
  /** Listen again on the same address; `done` gets the error, if any. */
  reopenListener(done: (error: Error | null) => void): void;
}

/**
 * The accept back-off of one server. `start()` once it listens, `stop()` when it stops
 * for good; `listenerError(error)` for the listener's errors (true if it handled them).
 */
export class AcceptBackoff {
  readonly #listener: Listener;
  readonly #maxDelay: number;
  readonly #probeInterval: number;
  #probeTimer: ReturnType<typeof setInterval> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #paused = false;
  #delay = 0;
  #stopped = false;
  /** When the listener was last reopened (ms, monotonic). */
  #reopenedAt = -Infinity;
  /** How many times accepting was paused since the start (one report each). */
  pauses = 0;

  constructor(listener: Listener, options: AcceptBackoffOptions = {}) {
    this.#listener = listener;
    this.#maxDelay = options.maxDelay ?? DEFAULT_ACCEPT_BACKOFF.maxDelay;
    this.#probeInterval = options.probeInterval ?? DEFAULT_ACCEPT_BACKOFF.probeInterval;
  }

  /** Whether accepting is paused now. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The server listens: probe now and then. */
  start(): void {
    if (this.#stopped || this.#probeInterval <= 0 || this.#probeTimer !== null) return;
    this.#probeTimer = setInterval(() => {
      const error = probe();
      if (error !== null && isOutOfDescriptors(error)) this.#pause(error);
    }, this.#probeInterval);
    this.#probeTimer.unref();
  }

  /** The server stops for good: no more probes or retries. */
  stop(): void {
    this.#stopped = true;
    if (this.#probeTimer !== null) clearInterval(this.#probeTimer);
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#probeTimer = this.#retryTimer = null;
  }

  /** An error of the listener: true if it was the back-off's to handle (out of descriptors). */
  listenerError(error: unknown): boolean {
    if (!isOutOfDescriptors(error)) return false;
    this.#pause(error);
    return true;
  }

  /** Out of descriptors: close the listener, report once, retry later. */
  #pause(cause: unknown): void {
    if (this.#stopped || this.#paused) return;
    this.#paused = true;
    this.pauses++;
    this.#listener.closeListener();
    // Running out again soon after the last reopen is the same burst: said once, and the
    // delay goes on growing.
    if (performance.now() - this.#reopenedAt < BURST_GAP) {
      this.#backOff();
      return;
    }
    this.#delay = FIRST_DELAY;
    const code = String((cause as { code?: unknown }).code);
    const where = this.#listener.describe();
    getHub().report({
      kind: 'callback-error',
      where: `${where} accepting connections`,
      error: new OutOfFileDescriptors(
        `${where}: out of file descriptors (${code}): new connections are refused while the open ones are ` +
          `served; trying again in ${FIRST_DELAY} ms, then at most every ${this.#maxDelay} ms (reported once per ` +
          'burst). Raise the limit (ulimit -n), or lower maxConnections',
        code,
        { cause },
      ),
    });
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    this.#retryTimer = setTimeout(() => this.#retry(), this.#delay);
    this.#retryTimer.unref();
  }

  /** Try to accept again: if a descriptor can be opened, reopen the listener. */
  #retry(): void {
    this.#retryTimer = null;
    if (this.#stopped) return;
    const error = probe(REOPEN_HEADROOM);
    if (error !== null && isOutOfDescriptors(error)) {
      this.#backOff();
      return;
    }
    this.#listener.reopenListener((listenError) => {
      if (this.#stopped) return;
      // The descriptor went again, or the address was taken meanwhile: keep trying.
      if (listenError !== null) {
        this.#backOff();
        return;
      }
      this.#paused = false;
      this.#reopenedAt = performance.now();
    });
  }

  #backOff(): void {
    this.#delay = Math.min(this.#delay * 2, this.#maxDelay);
    this.#scheduleRetry();
  }
}
