/**
 * Composable observers of the hub and of the switcher, for the debug features that run
 * together (spawn and wait sites, the watchdog, the trace recorder).
 *
 * The hub has one `monitor` slot and the switcher one trace function. Each debug feature
 * registers here instead: the first observer installs one fan-out {@link HubMonitor} on
 * the hub (or one fan-out trace function with `settrace`), every later one joins its
 * list, and the last one to leave puts back what was there before. Nothing is installed
 * while nothing observes, so the hub and the switcher pay nothing (their `monitor !== null`
 * and `tracer !== null` checks fail).
 *
 * Invariants:
 * - the fan-out is in the hub's chain (`hub.monitor`, or chained to by a monitor installed
 *   on top of it) while any observer is registered; when the last one leaves, the hub gets
 *   back what it had before, at once if the fan-out is on top, else at the first event
 *   after the monitor on top has put the fan-out back (the same for trace functions);
 * - a monitor or trace function that was installed before the first observer came keeps
 *   being called (first) and is restored when the last observer leaves;
 * - an observer that throws is reported through the hub's reporter (`callback-error`)
 *   and never reaches the hub's or the switcher's code: a trace function that throws
 *   would otherwise be removed and its error raised in the greenlet switched to. A trace
 *   observer that throws is removed (it would throw again at every switch).
 *
 * @module
 */
import { settrace, gettrace, type TraceFunction } from '../core/trace.js';
import type { Greenlet } from '../core/greenlet.js';
import { getHub, type HubMonitor, type Parking, type Schedulable } from '../hub/hub.js';

/**
 * What a debug feature observes of the hub: the events of {@link HubMonitor}, plus what
 * it can tell about a parked task for the hub's reports.
 */
export interface DebugMonitor extends HubMonitor {
  /**
   * Where `task` (parked) made its blocking call, if recorded: frames as
   * `function (file:line:column)`, one per line. The hub's deadlock and LoopExit reports
   * can ask for it (see `recordSites` in sites.ts).
   */
  waitSite?(task: Schedulable): string | undefined;
}

let hubObservers: readonly DebugMonitor[] = [];
/** The monitor that was on the hub before the fan-out; called first, restored at the end. */
let monitorBefore: HubMonitor | null = null;
/** Whether the fan-out is in the hub's chain (installed, or chained to by a monitor on top). */
let monitorInstalled = false;

function reportObserverError(where: string, error: unknown): void {
  getHub().report({ kind: 'callback-error', where, error });
}

/**
 * Every observer left while another monitor sat on top of the fan-out (chained to it);
 * once the fan-out is back on the hub, put back what was there before it.
 */
function stepAside(): void {
  const hub = getHub();
  if (hubObservers.length === 0 && hub.monitor === fanOut) {
    hub.monitor = monitorBefore;
    monitorBefore = null;
    monitorInstalled = false;
  }
}

/** The one monitor installed on the hub while any observer is registered. */
const fanOut: DebugMonitor = {
  spawned(task: Schedulable, spawner: Greenlet): void {
    monitorBefore?.spawned?.(task, spawner);
    if (hubObservers.length === 0) return stepAside();
    for (const m of hubObservers) {
      if (m.spawned === undefined) continue;
      try {
        m.spawned(task, spawner);
      } catch (error) {
        reportObserverError('a debug monitor (spawned)', error);
      }
    }
  },
  parked(task: Schedulable, parking: Parking): void {
    monitorBefore?.parked?.(task, parking);
    if (hubObservers.length === 0) return stepAside();
    for (const m of hubObservers) {
      if (m.parked === undefined) continue;
      try {
        m.parked(task, parking);
      } catch (error) {
        reportObserverError('a debug monitor (parked)', error);
      }
    }
  },
  woken(task: Schedulable, throws: boolean): void {
    monitorBefore?.woken?.(task, throws);
    if (hubObservers.length === 0) return stepAside();
    for (const m of hubObservers) {
      if (m.woken === undefined) continue;
      try {
        m.woken(task, throws);
      } catch (error) {
        reportObserverError('a debug monitor (woken)', error);
      }
    }
  },
  interrupted(task: Schedulable, error: unknown): void {
    monitorBefore?.interrupted?.(task, error);
    if (hubObservers.length === 0) return stepAside();
    for (const m of hubObservers) {
      if (m.interrupted === undefined) continue;
      try {
        m.interrupted(task, error);
      } catch (e) {
        reportObserverError('a debug monitor (interrupted)', e);
      }
    }
  },
  ended(task: Schedulable, failed: boolean, outcome: unknown): void {
    monitorBefore?.ended?.(task, failed, outcome);
    if (hubObservers.length === 0) return stepAside();
    for (const m of hubObservers) {
      if (m.ended === undefined) continue;
      try {
        m.ended(task, failed, outcome);
      } catch (error) {
        reportObserverError('a debug monitor (ended)', error);
      }
    }
  },
  waitSite(task: Schedulable): string | undefined {
    const before = (monitorBefore as DebugMonitor | null)?.waitSite?.(task);
    if (before !== undefined) return before;
    for (const m of hubObservers) {
      if (m.waitSite === undefined) continue;
      try {
        const site = m.waitSite(task);
        if (site !== undefined) return site;
      } catch (error) {
        reportObserverError('a debug monitor (waitSite)', error);
      }
    }
    return undefined;
  },
};

/**
 * Observe the hub's events along with any other debug feature; returns the function
 * that stops observing (calling it twice does nothing). The hub calls observers
 * synchronously, in plain code: they must not block or switch.
 *
 * ```ts
 * const stop = addHubMonitor({ parked: (task, parking) => console.log(task.name, 'waits on', String(parking)) });
 * // ...
 * stop();
 * ```
 */
export function addHubMonitor(observer: DebugMonitor): () => void {
  const hub = getHub();
  hubObservers = [...hubObservers, observer];
  if (!monitorInstalled) {
    monitorBefore = hub.monitor;
    hub.monitor = fanOut;
    monitorInstalled = true;
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    hubObservers = hubObservers.filter((m) => m !== observer);
    stepAside(); // if it was the last one and the fan-out is on top; else at a later event
  };
}

// --- switch observers ------------------------------------------------------------------

let switchObservers: readonly TraceFunction[] = [];
/** The trace function that was installed before ours; called first, restored at the end. */
let tracerBefore: TraceFunction | null = null;
/** Whether the fan-out trace function is in the switcher's chain (ours or chained to by another). */
let tracerInstalled = false;

const fanOutTracer: TraceFunction = (event, args) => {
  if (tracerBefore !== null) tracerBefore(event, args);
  const observers = switchObservers;
  if (observers.length === 0) {
    // Every observer left while another trace function sat on top of ours; now that we are
    // on top again, step aside.
    if (gettrace() === fanOutTracer) {
      settrace(tracerBefore);
      tracerBefore = null;
      tracerInstalled = false;
    }
    return;
  }
  for (const fn of observers) {
    try {
      fn(event, args);
    } catch (error) {
      switchObservers = switchObservers.filter((f) => f !== fn);
      reportObserverError('a debug trace function (removed)', error);
    }
  }
};

/**
 * Observe every switch between greenlets (as `settrace` does) along with any other debug
 * feature; returns the function that stops observing. `fn` runs after the target became
 * current and must not switch.
 *
 * ```ts
 * const stop = addSwitchObserver((event, [origin, target]) => counts.set(target, (counts.get(target) ?? 0) + 1));
 * ```
 */
export function addSwitchObserver(fn: TraceFunction): () => void {
  switchObservers = [...switchObservers, fn];
  if (!tracerInstalled) {
    tracerBefore = settrace(fanOutTracer);
    tracerInstalled = true;
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    switchObservers = switchObservers.filter((f) => f !== fn);
    if (switchObservers.length === 0 && tracerInstalled && gettrace() === fanOutTracer) {
      settrace(tracerBefore);
      tracerBefore = null;
      tracerInstalled = false;
    }
  };
}
