/**
 * AbortSignal both ways: an aborted signal kills a task ({@link killOnAbort},
 * {@link spawnWithSignal}), and a task gives a signal that aborts when it ends
 * ({@link taskSignal}), to hand to promise-based APIs that take one.
 *
 * Invariants:
 * - `killOnAbort` keeps exactly one abort listener on the signal and one raw link on the
 *   task while both are live; whichever side finishes first (abort, task end, dispose)
 *   removes both, so a long-lived signal never accumulates listeners of ended tasks.
 * - `taskSignal(task)` makes at most one AbortController per task; it is aborted exactly
 *   once, from the raw link that fires when the task ends, and then forgotten.
 * - Nothing here blocks: every function works from any task, plain code or a callback.
 *
 * Coming from gevent: there is no AbortSignal in Python; the nearest is passing a
 * `Timeout` or calling `greenlet.kill()` from a callback, which is what `killOnAbort` does.
 *
 * @module
 */
import { GreenletError, GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { PEEK_OUTCOME, WATCH_END, spawn, currentTaskOrNull, type Task } from '../hub/task.js';

/**
 * The error an aborted signal stands for when its `reason` is not an `Error` (a string, a
 * number, `undefined` from an old runtime), and the reason of a {@link taskSignal} whose
 * task ended normally. The original reason is kept as `cause`. Its `name` is
 * `'AbortError'`, like the `DOMException` that `controller.abort()` gives, so one check
 * catches both:
 *
 * ```ts
 * try {
 *   yield* waitFor((signal) => fetch(url, { signal }));
 * } catch (e) {
 *   if ((e as Error).name !== 'AbortError') throw e;
 * }
 * ```
 */
export class AbortError extends Error {
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super(message, options);
  }
  static {
    this.prototype.name = 'AbortError';
  }
}

/** The signal's reason as an Error a task can be killed with. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new AbortError(
    reason === undefined ? 'the signal was aborted' : `the signal was aborted: ${String(reason)}`,
    { cause: reason },
  );
}


/**
 * Kill `task` when `signal` aborts, with the signal's `reason` (or an {@link AbortError}
 * carrying it when it is not an `Error`). If the signal is already aborted the task is
 * killed at once; a task that has not started yet then never runs. The abort listener is
 * removed when the task ends, so one long-lived signal can guard any number of tasks.
 *
 * Returns a `Disposable` that unties them early (`using _ = killOnAbort(t, signal)`).
 *
 * ```ts
 * const controller = new AbortController();
 * const worker = spawn(consume, queue);
 * killOnAbort(worker, controller.signal);
 * // later, from anywhere (a request handler, a timer, plain async code):
 * controller.abort(); // worker's finally blocks run, then it ends with the AbortError
 * ```
 *
 * Like every kill, the error is raised where the task is blocked; if the abort happens
 * while the task itself runs, it is raised at its next blocking call. The task ends with
 * that error (it failed), unless it catches it.
 */
export function killOnAbort(task: Task, signal: AbortSignal): Disposable {
  if (task.ready()) return UNTIED;
  if (signal.aborted) {
    task.kill(abortReason(signal), { block: false });
    return UNTIED;
  }
  let tied = true;
  const untie = (): void => {
    if (!tied) return;
    tied = false;
    signal.removeEventListener('abort', onAbort);
    task.unlink(onEnd);
  };
  const onAbort = (): void => {
    if (!tied) return;
    untie();
    task.kill(abortReason(signal), { block: false });
  };
  const onEnd = (): void => untie();
  signal.addEventListener('abort', onAbort);
  // Watching the end does not count as handling the task's error: it is still reported.
  task[WATCH_END](onEnd);
  return { [Symbol.dispose]: untie };
}

const UNTIED: Disposable = { [Symbol.dispose]() {} };

/**
 * {@link spawn} a task that is killed when `signal` aborts (see {@link killOnAbort}). With
 * a signal that is already aborted the task never runs; it ends with the abort reason.
 *
 * ```ts
 * // From async code, with the request's signal:
 * const task = spawnWithSignal(request.signal, handle, request);
 * const response = await task;
 * ```
 */
export function spawnWithSignal<A extends unknown[], R>(
  signal: AbortSignal,
  fn: (...args: A) => GreenletBody<R> | R,
  ...args: A
): Task<R, A> {
  const task = spawn(fn, ...args);
  killOnAbort(task, signal);
  return task;
}

const taskControllers = new WeakMap<Task, AbortController>();

/** Why a task's signal aborts: the error it ended with, or a kill's GreenletExit, or an AbortError. */
function endReason(task: Task): unknown {
  const [failed, value] = task[PEEK_OUTCOME]();
  if (failed) return value;
  if (value instanceof GreenletExit) return value;
  return new AbortError(`${task.name} has ended`);
}

/**
 * An `AbortSignal` that aborts when `task` (by default the current task) ends: when it
 * returns, fails, or is killed. Hand it to promise-based APIs so that what the task
 * started does not outlive it. Its `reason` is the error the task ended with (a kill's
 * `GreenletExit`), or an {@link AbortError} if the task returned normally. The same task
 * always gives the same signal; a task that has already ended gives an aborted one.
 *
 * ```ts
 * spawn(function* () {
 *   const signal = taskSignal();
 *   startBackgroundUpload(file, { signal }); // a promise API; not waited for here
 *   yield* queue.get();                      // if this task is killed, the upload stops
 * });
 * ```
 *
 * The signal aborts once the task has ended, after its `finally` blocks ran. To cancel an
 * operation the moment a kill reaches the task, wait for it with
 * `yield* waitFor((signal) => operation(signal))` instead, whose signal aborts at once.
 *
 * @throws GreenletError when called without a task outside a task.
 */
export function taskSignal(task?: Task): AbortSignal {
  const target = task ?? currentTaskOrNull();
  if (target === null) {
    throw new GreenletError(
      'taskSignal() without an argument gives the signal of the current task, and it was called outside a ' +
        'task: call it inside a task, or pass the task: taskSignal(task)',
    );
  }
  if (target.ready()) return AbortSignal.abort(endReason(target));
  let controller = taskControllers.get(target);
  if (controller === undefined) {
    const created = new AbortController();
    controller = created;
    taskControllers.set(target, created);
    target[WATCH_END](() => {
      taskControllers.delete(target);
      created.abort(endReason(target));
    });
  }
  return controller.signal;
}

