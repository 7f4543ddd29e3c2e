/**
 * The errors a program run on virtual time can end with, besides its own: it never ends
 * (the time limit), it ends and leaves tasks running, a task fails unobserved, or it
 * waits on the host where only greenlet-ts waits are allowed. A wait that can never end
 * is the hub's own `LoopExit`.
 *
 * @module
 */

/**
 * Virtual time reached its limit (`{ limit }`, one hour by default) before the program
 * ended: most often a loop around `sleep()` with no way out.
 */
export class VirtualTimeLimit extends Error {
  constructor(
    message: string,
    /** The limit, in virtual milliseconds. */
    readonly limit: number,
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'VirtualTimeLimit';
  }
}

/**
 * The program returned while tasks it started were still running (or parked for
 * good). `tasks` names them and what each waits on.
 */
export class LeakedTaskError extends Error {
  constructor(
    message: string,
    /** `name waits on what`, one per leaked task. */
    readonly tasks: readonly string[],
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'LeakedTaskError';
  }
}

/**
 * A task failed and nobody waited for it (no join, get, link or await): outside virtual
 * time the hub prints such errors and carries on; a test fails. `cause` is the task's error.
 */
export class UncaughtTaskError extends Error {
  constructor(
    message: string,
    /** The failed task, as the report names it. */
    readonly task: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
  static {
    this.prototype.name = 'UncaughtTaskError';
  }
}

/**
 * A task waited on the host (real I/O, a promise, an emitter's event) in a program run on
 * virtual time without `{ realIo: true }`: its wake would come from outside the hub,
 * which neither virtual time nor schedule exploration controls. `call` names the wait.
 */
export class RealIoError extends Error {
  constructor(
    message: string,
    /** What the task waited on, as its wait describes itself: `waitFor(promise)`, `Socket(...).read`. */
    readonly call: string,
    /** The task that waited. */
    readonly task: string,
  ) {
    super(message);
  }
  static {
    this.prototype.name = 'RealIoError';
  }
}
