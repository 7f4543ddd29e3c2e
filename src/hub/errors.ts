/**
 * Errors of the hub layer.
 *
 * @module
 */
import { GreenletError } from '../core/errors.js';

/**
 * A wait can never end: the process is about to exit (nothing left in the event loop)
 * while the task you wait for, or the greenlets it depends on, are parked on objects that
 * nothing can wake. gevent's `LoopExit` ("This operation would block forever"), but the
 * message names every blocked task and what it waits on, and `blocked` lists them.
 */
export class LoopExit extends Error {
  constructor(
    message: string,
    /** Every task that was parked when the loop ran dry: name and what it waited on. */
    readonly blocked: readonly BlockedTask[],
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'LoopExit';
  }
}

/** A parked task, as reports describe it. */
export interface BlockedTask {
  readonly name: string;
  /** What it waits on, e.g. `Queue(0 items)` or `sleep(500 ms)`. */
  readonly waitingOn: string;
  /** For how long it has been parked, in milliseconds. */
  readonly parkedForMs: number;
  /** Where it made the blocking call, when the debug layer records wait sites (`recordSites`). */
  readonly waitSite?: string;
}

/**
 * A blocking call made where nothing can block: in the main greenlet (plain top-level
 * code, callbacks, async functions) or in a greenlet that is not a task. The message says
 * to run the code in a task (`spawn()`, `run()`).
 */
export class BlockingError extends GreenletError {
  static {
    this.prototype.name = 'BlockingError';
  }
}
