/**
 * A summary of the parked tasks that stays cheap with a hundred thousand of them: how many
 * wait on each kind of thing, and the few that have waited longest, described in full.
 * `hub.blockedTasks()` describes every parked task (a string each); an operator endpoint
 * that answers often, under load, wants this instead.
 *
 * One pass over the hub's live tasks, reading two fields of each; only the `longest`
 * tasks kept are described.
 *
 * @module
 */
import { NEXT, PARKED, schedOf, WAIT, deadlineOf, getHub, parkedAt, type Schedulable } from '../hub/hub.js';
import type { BlockedTask } from '../hub/errors.js';
import { now } from '../hub/timers.js';

/** What {@link summariseParked} evaluates to. */
export interface ParkedSummary {
  /** Tasks alive (spawned and not ended). */
  readonly liveTasks: number;
  /** Tasks parked now. */
  readonly parkedTasks: number;
  /**
   * How many parked tasks wait on each kind of thing, most first: the class of what they
   * wait on (`HttpRequest`, `QueueWait`, `Joiner`), or its description for the simple
   * ones (`sleep()`, `sleep(0)`).
   */
  readonly waitingOn: readonly { readonly kind: string; readonly tasks: number }[];
  /** The tasks parked longest, longest first, each with what it waits on. */
  readonly longest: readonly BlockedTask[];
}

/** Options of {@link summariseParked}. */
export interface ParkedSummaryOptions {
  /** How many of the longest-parked tasks to describe (default 20). */
  longest?: number;
}

/**
 * Summarise the parked tasks of this thread's hub.
 *
 * ```ts
 * const { parkedTasks, waitingOn, longest } = summariseParked({ longest: 10 });
 * ```
 */
export function summariseParked(options: ParkedSummaryOptions = {}): ParkedSummary {
  const keep = options.longest ?? 20;
  if (!(Number.isInteger(keep) && keep >= 0)) throw new RangeError(`summariseParked({ longest }) takes a whole number >= 0, not ${String(keep)}`);
  const hub = getHub();
  const kinds = new Map<string, number>();
  // The `keep` tasks parked earliest, sorted by when they parked (earliest first).
  const oldest: Schedulable[] = [];
  let parked = 0;
  for (let task = hub.liveHead; task !== null; task = task[NEXT]) {
    if (schedOf(task) !== PARKED) continue;
    parked++;
    const wait = task[WAIT] as object;
    const ctor = (wait as { constructor?: { name?: string } }).constructor;
    const kind = ctor === undefined || ctor === Object ? String(wait) : (ctor.name ?? 'unknown');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    if (keep === 0) continue;
    const at = parkedAt(task);
    if (oldest.length === keep && at >= parkedAt(oldest[keep - 1] as Schedulable)) continue;
    let i = oldest.length;
    while (i > 0 && parkedAt(oldest[i - 1] as Schedulable) > at) i--;
    oldest.splice(i, 0, task);
    if (oldest.length > keep) oldest.pop();
  }
  const t = now();
  const longest = oldest.map((task): BlockedTask => {
    const deadline = deadlineOf(task);
    const until = deadline !== null ? `, until ${Math.round(deadline - t)} ms from now` : '';
    return { name: task.name, waitingOn: `${String(task[WAIT])}${until}`, parkedForMs: Math.round(t - parkedAt(task)) };
  });
  const waitingOn = [...kinds].sort((a, b) => b[1] - a[1]).map(([kind, tasks]) => ({ kind, tasks }));
  return { liveTasks: hub.liveCount, parkedTasks: parked, waitingOn, longest };
}
