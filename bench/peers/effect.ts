/**
 * The peers workloads in Effect (4.x), as its documentation teaches them: `Effect.gen`,
 * `Effect.forkChild` and `Fiber.join`, `Effect.yieldNow`, `Queue`, `Deferred`,
 * `Fiber.interruptAll` with `Effect.ensuring` for cleanup, `Effect.promise` under
 * `Effect.forEach` for a fan-out.
 *
 * `effectTryFinally` is the same kill with a plain `try/finally` inside `Effect.gen`
 * instead of `Effect.ensuring`: Effect interrupts a fiber without resuming its
 * generator, so such a `finally` does not run; the table reports how many did.
 */
import { Deferred, Effect, Fiber, Queue } from 'effect';
import { heapAfterGc } from '../harness.js';
import { AN_HOUR_MS, expectCount, stopwatch, timed, type KillTiming, type Peer } from './workloads.js';

const returnAtOnce = Effect.succeed(1);

const yieldOnce = Effect.gen(function* () {
  yield* Effect.yieldNow;
  return 1;
});

function forkAndJoinEach(n: number, body: Effect.Effect<number>): Promise<void> {
  return Effect.runPromise(
    Effect.gen(function* () {
      const fibers: Fiber.Fiber<number>[] = new Array(n);
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(body);
      for (let i = 0; i < n; i++) yield* Fiber.join(fibers[i] as Fiber.Fiber<number>);
    }),
  );
}

let started = 0;
let cleanups = 0;

const countStart = Effect.sync(() => {
  started++;
});

/** Run until every forked fiber has reached its first suspension. */
const untilAllStarted = (n: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    while (started < n) yield* Effect.yieldNow;
  });

function killWith(n: number, sleeper: Effect.Effect<void>): Promise<KillTiming> {
  return Effect.runPromise(
    Effect.gen(function* () {
      started = 0;
      cleanups = 0;
      const fibers: Fiber.Fiber<void>[] = new Array(n);
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(sleeper);
      yield* untilAllStarted(n);
      const stop = stopwatch(n);
      // Interrupts them all and waits until each has ended, its finalizers run.
      yield* Fiber.interruptAll(fibers);
      return { ...stop(), cleanups };
    }),
  );
}

export const effect: Peer = {
  name: 'Effect',

  spawnJoin: (n) => timed(n, () => forkAndJoinEach(n, returnAtOnce)),

  spawnYieldJoin: (n) => timed(n, () => forkAndJoinEach(n, yieldOnce)),

  pingPong: (n) =>
    timed(n, () =>
      Effect.runPromise(
        Effect.gen(function* () {
          const ping = yield* Queue.unbounded<number>();
          const pong = yield* Queue.unbounded<number>();
          const ponger = yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; i < n; i++) yield* Queue.offer(pong, (yield* Queue.take(ping)) + 1);
            }),
          );
          for (let i = 0; i < n; i++) {
            yield* Queue.offer(ping, i);
            yield* Queue.take(pong);
          }
          yield* Fiber.join(ponger);
        }),
      ),
    ),

  parkedBytes: (n) =>
    Effect.runPromise(
      Effect.gen(function* () {
        started = 0;
        const event = yield* Deferred.make<void>();
        const parked = Effect.andThen(countStart, Deferred.await(event));
        const fibers: Fiber.Fiber<void>[] = new Array(n).fill(null);
        const before = heapAfterGc();
        for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(parked);
        yield* untilAllStarted(n);
        const after = heapAfterGc();
        expectCount('fibers parked', started, n);
        yield* Deferred.succeed(event, undefined);
        yield* Fiber.joinAll(fibers);
        return (after - before) / n;
      }),
    ),

  kill: (n) =>
    killWith(
      n,
      Effect.andThen(countStart, Effect.sleep(AN_HOUR_MS)).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            cleanups++;
          }),
        ),
      ),
    ),

  fanOut: (n) =>
    timed(n, () => {
      const resolved = Promise.resolve(1);
      const indices = Array.from({ length: n }, (_, i) => i);
      return Effect.runPromise(Effect.forEach(indices, () => Effect.promise(() => resolved), { concurrency: 'unbounded' }));
    }),

  timerBytes: (n) =>
    Effect.runPromise(
      Effect.gen(function* () {
        started = 0;
        const fibers: Fiber.Fiber<void>[] = new Array(n).fill(null);
        const before = heapAfterGc();
        for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(Effect.andThen(countStart, Effect.sleep(AN_HOUR_MS + i)));
        yield* untilAllStarted(n);
        const after = heapAfterGc();
        expectCount('fibers asleep', started, n);
        yield* Fiber.interruptAll(fibers);
        return (after - before) / n;
      }),
    ),
};

/** Only the kill, with cleanup in a plain `try/finally` inside `Effect.gen`. */
export const effectTryFinally: Peer = {
  name: 'Effect, try/finally',

  kill: (n) =>
    killWith(
      n,
      Effect.gen(function* () {
        started++;
        try {
          yield* Effect.sleep(AN_HOUR_MS);
        } finally {
          cleanups++;
        }
      }),
    ),
};
