/**
 * Port of greenlet's `src/greenlet/tests/test_tracing.py` (anchor 74b3c41): the three
 * TestGreenletTracing tests (`greenlet.settrace()`).
 *
 * Not applicable (N/A) to a JavaScript port, with the reason: TestPythonTracing
 * checks what CPython's `sys.setprofile` profiler sees around greenlet switches
 * (`call`/`return` of `run`, a switch as a `c_call`, a profiler installed in one greenlet
 * staying active across switches). JS has no interpreter-level profiling hook that user
 * code can install and no frames to report.
 * - TestPythonTracing.test_trace_events_trivial
 * - TestPythonTracing.test_trace_events_into_greenlet_func_already_set
 * - TestPythonTracing.test_trace_events_into_greenlet_subclass_already_set
 * - TestPythonTracing.test_trace_events_from_greenlet_func_sets_profiler
 * - TestPythonTracing.test_trace_events_from_greenlet_subclass_sets_profiler
 * - TestPythonTracing.test_trace_events_multiple_greenlets_switching
 * - TestPythonTracing.test_trace_events_multiple_greenlets_switching_siblings
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Greenlet, getcurrent, gettrace, settrace, type GreenletBody, type TraceFunction } from 'greenlet-ts';

class SomeError extends Error {}

type TraceAction = [event: string, args: [origin: Greenlet, target: Greenlet]];

/**
 * The reference's `GreenletTracer`: records every call; with `errorOnTrace` it throws
 * SomeError from each call. `enter()`/`exit()` stand for `__enter__`/`__exit__`.
 */
class GreenletTracer {
  readonly actions: TraceAction[] = [];
  oldtrace: TraceFunction | null = null;
  /** The function installed with settrace: one identity per tracer, like the Python object. */
  readonly fn: TraceFunction;

  constructor(errorOnTrace = false) {
    this.fn = (event, args) => {
      this.actions.push([event, args]);
      if (errorOnTrace) throw new SomeError();
    };
  }

  enter(): TraceAction[] {
    this.oldtrace = settrace(this.fn);
    return this.actions;
  }

  exit(): void {
    settrace(this.oldtrace);
  }
}

/** Runs `body` between `tracer.enter()` and `tracer.exit()`, like Python's `with tracer:`. */
function withTracer(tracer: GreenletTracer, body: (actions: TraceAction[]) => void): void {
  const actions = tracer.enter();
  try {
    body(actions);
  } finally {
    tracer.exit();
  }
}

/** The error `action` throws; fails the test when it returns normally. */
function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (e) {
    return e;
  }
  throw new Error('expected the action to throw, but it returned normally');
}

afterEach(() => {
  // A failing test must not leave its tracer installed for the next one.
  settrace(null);
});

describe('TestGreenletTracing', () => {
  it('test_a_greenlet_tracing: a finished start and a failed start give switch, switch, switch, throw', () => {
    const main = getcurrent();
    const dummy = (): void => {};
    const dummyexc = (): void => {
      throw new SomeError();
    };
    const tracer = new GreenletTracer();
    let g1: Greenlet | undefined;
    let g2: Greenlet | undefined;
    let error: unknown;

    withTracer(tracer, () => {
      g1 = new Greenlet(dummy);
      g1.switch();
      g2 = new Greenlet(dummyexc);
      error = thrownBy(() => (g2 as Greenlet).switch());
    });

    expect(error).toBeInstanceOf(SomeError);
    const label = (g: Greenlet): string => (g === main ? 'main' : g === g1 ? 'g1' : g === g2 ? 'g2' : 'other');
    expect(tracer.actions.map(([event, [origin, target]]) => [event, label(origin), label(target)])).toEqual([
      ['switch', 'main', 'g1'],
      ['switch', 'g1', 'main'],
      ['switch', 'main', 'g2'],
      ['throw', 'g2', 'main'],
    ]);
  });

  it('test_b_exception_disables_tracing: a raising tracer is removed and its error raised in the switch target', () => {
    const main = getcurrent();
    function* dummy(): GreenletBody<void> {
      yield* main.switch();
    }
    const g = new Greenlet(dummy);
    g.switch();
    const tracer = new GreenletTracer(true);
    let error: unknown;
    let traceAfter: TraceFunction | null | undefined;

    withTracer(tracer, () => {
      error = thrownBy(() => g.switch());
      traceAfter = gettrace();
    });

    expect(error).toBeInstanceOf(SomeError);
    expect(traceAfter).toBeNull();
    expect(g.dead).toBe(true);
    const label = (x: Greenlet): string => (x === main ? 'main' : x === g ? 'g' : 'other');
    expect(tracer.actions.map(([event, [origin, target]]) => [event, label(origin), label(target)])).toEqual([
      ['switch', 'main', 'g'],
    ]);
  });

  it('test_set_same_tracer_twice: installing the active tracer again returns it and keeps it installed', () => {
    const tracer = new GreenletTracer();
    let previous: TraceFunction | null | undefined;
    let during: TraceFunction | null | undefined;

    withTracer(tracer, () => {
      previous = settrace(tracer.fn);
      during = gettrace();
    });

    expect(tracer.oldtrace).toBeNull();
    expect(previous).toBe(tracer.fn);
    expect(during).toBe(tracer.fn);
    expect(gettrace()).toBeNull();
  });
});
