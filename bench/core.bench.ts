/**
 * Core benchmarks: switching, spawning, deep switching and memory per suspended
 * greenlet, each against raw generators measured in the same run.
 */
import * as greenletTs from 'greenlet-ts';
import { Greenlet, call, getcurrent, type GreenletBody } from 'greenlet-ts';
import { type Benchmark, bytesPerItem, nsPerOp } from './harness.js';

/** Round trips per measured call: one top-level switch starts a batch of them. */
const BATCH = 1000;

/** The library as a module: `lib` parameters let bench/builds.ts run a workload on another build. */
export type Library = typeof greenletTs;

/** core.switch: A switches to B, B switches back to A; one round trip = two switches. */
function greenletPingPong(lib: Library = greenletTs): () => void {
  let b!: Greenlet;
  const a: Greenlet = new lib.Greenlet(function* (): GreenletBody<void> {
    for (;;) {
      for (let i = 0; i < BATCH; i++) yield* b.switch(i);
      yield* lib.getcurrent().parent!.switch();
    }
  });
  b = new lib.Greenlet(function* (): GreenletBody<void> {
    for (;;) yield* a.switch();
  });
  return () => a.switch();
}

/** core.switch, in ns per round trip. */
export function switchRoundTrip(lib: Library = greenletTs): Promise<number> {
  return nsPerOp(greenletPingPong(lib), BATCH);
}

/** core.spawn, in ns per greenlet created, started and finished. */
export function spawnFinish(lib: Library = greenletTs): Promise<number> {
  let i = 0;
  return nsPerOp(() => new lib.Greenlet(finishAt).switch(i++));
}

/**
 * The baseline: two raw generators that hand control to each other through a minimal
 * trampoline (each yields the index of the generator to resume; the loop resumes it
 * with a value).
 */
function rawPingPong(): () => void {
  function* ping(): Generator<number, void, unknown> {
    for (;;) yield 1;
  }
  function* pong(): Generator<number, void, unknown> {
    for (;;) yield 0;
  }
  const gens = [ping(), pong()];
  return () => {
    let cur = 0;
    for (let i = 0; i < 2 * BATCH; i++) cur = (gens[cur] as Generator<number>).next(i).value as number;
  };
}

/**
 * What `yield*` itself costs: raw generators that suspend through `yield*` on a minimal
 * port, as greenlets do, with the same minimal trampoline and no switcher. The gap
 * between this and rawPingPong is the price of the `yield* g.switch()` protocol; the gap
 * between this and core.switch is the switcher's own work.
 */
function yieldStarFloor(): () => void {
  let pending = false;
  const mark = { done: false as const, value: 0 };
  const resumed = { done: true as const, value: undefined as unknown };
  const port: Iterator<number, unknown, unknown> & Iterable<number, unknown, unknown> = {
    [Symbol.iterator]() {
      return this;
    },
    next(v?: unknown) {
      if (pending) {
        pending = false;
        return mark;
      }
      resumed.value = v;
      return resumed;
    },
  };
  function* side(): Generator<number, void, unknown> {
    for (;;) {
      pending = true;
      yield* port;
    }
  }
  const gens = [side(), side()];
  return () => {
    let cur = 0;
    for (let i = 0; i < 2 * BATCH; i++) {
      (gens[cur] as Generator<number>).next(i);
      cur ^= 1;
    }
  };
}

/** core.switch.depth50: A switches from 50 call() frames deep, B from the top. */
function deepPingPong(depth: number, useCall: boolean): () => void {
  let b!: Greenlet;
  function* descend(n: number): GreenletBody<void> {
    if (n > 1) {
      if (useCall) yield* call(descend, n - 1);
      else yield* descend(n - 1);
      return;
    }
    for (;;) {
      for (let i = 0; i < BATCH; i++) yield* b.switch(i);
      yield* getcurrent().parent!.switch();
    }
  }
  const a: Greenlet = new Greenlet(function* (): GreenletBody<void> {
    yield* descend(depth);
  });
  b = new Greenlet(function* (): GreenletBody<void> {
    for (;;) yield* a.switch();
  });
  return () => a.switch();
}

function* finishAt(x: number): GreenletBody<number> {
  return x;
}

function* rawFinish(x: number): Generator<never, number, unknown> {
  return x;
}

const main = getcurrent();

function* suspendOnce(i: number): GreenletBody<number> {
  yield* main.switch();
  return i;
}

function* rawSuspendOnce(i: number): Generator<number, number, unknown> {
  yield i;
  return i;
}

const MEMORY_COUNT = 1_000_000;

export const coreBenchmarks: Benchmark[] = [
  {
    name: 'core.switch',
    unit: 'ns/op',
    what: 'round trip between two greenlets',
    measure: () => switchRoundTrip(),
    baseline: 'raw generators + minimal trampoline',
    baselineMeasure: () => nsPerOp(rawPingPong(), BATCH),
    target: '≤ 1.3',
  },
  {
    name: 'core.switch.yieldstar_floor',
    unit: 'ns/op',
    what: 'the yield*-through-a-port protocol alone, no switcher',
    measure: () => nsPerOp(yieldStarFloor(), BATCH),
    baseline: 'raw generators + minimal trampoline',
    baselineMeasure: () => nsPerOp(rawPingPong(), BATCH),
    target: 'report',
  },
  {
    name: 'core.spawn',
    unit: 'ns/op',
    what: 'create, start and finish a greenlet',
    measure: () => spawnFinish(),
    baseline: 'create and run a raw generator',
    baselineMeasure: () => {
      let i = 0;
      return nsPerOp(() => rawFinish(i++).next());
    },
    target: '≤ 2.0',
  },
  {
    name: 'core.switch.depth50',
    unit: 'ns/op',
    what: 'round trip, the switch made 50 call() frames deep',
    measure: () => nsPerOp(deepPingPong(50, true), BATCH),
    baseline: 'core.switch',
    target: '≤ 3',
  },
  {
    name: 'core.switch.depth50_yieldstar',
    unit: 'ns/op',
    what: 'the same 50 levels deep through plain nested yield*',
    measure: () => nsPerOp(deepPingPong(50, false), BATCH),
    baseline: 'core.switch',
    target: 'report',
  },
  {
    name: 'core.memory',
    unit: 'B/item',
    what: `heap per suspended greenlet, ${MEMORY_COUNT.toLocaleString('en')} alive`,
    measure: () =>
      bytesPerItem(MEMORY_COUNT, (i) => {
        const g = new Greenlet(suspendOnce);
        g.switch(i);
        return g;
      }),
    baseline: 'a raw suspended generator',
    baselineMeasure: () =>
      bytesPerItem(MEMORY_COUNT, (i) => {
        const g = rawSuspendOnce(i);
        g.next();
        return g;
      }),
    target: '≤ 1.7',
    isolate: true,
  },
];
