import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  run,
  sleep,
  spawn,
  withTimeout,
} from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { expectCleanHub } from './clean-hub.js';

// Most of this file has no gevent counterpart (gevent has no promises; the bridge is the
// answer to gevent/gevent#982). Where a behaviour mirrors gevent's AsyncResult, the test
// cites it: a promise is a one-shot result cell.

const reports = expectCleanHub();

/** A promise with its resolve and reject. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let pending promise reactions, and the hub passes they cause, run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('waitFor(promise)', () => {
  it('evaluates to the value of a promise that resolves later', async () => {
    // gevent: test__event.py::TestAsyncResult::test_set
    const d = deferred<string>();
    setTimeout(() => d.resolve('hello'), 1);
    const value = await run(function* () {
      return yield* waitFor(d.promise);
    });
    expect(value).toBe('hello');
  });

  it('evaluates to the value of a promise that has already resolved', async () => {
    const value = await run(function* () {
      return yield* waitFor(Promise.resolve(42));
    });
    expect(value).toBe(42);
  });

  it('raises the rejection of the promise in the task', async () => {
    // gevent: test__event.py::TestAsyncResult::test_set_exc
    const boom = new Error('boom');
    const caught = await run(function* () {
      try {
        yield* waitFor(Promise.reject(boom));
        return 'not raised';
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
  });

  it('evaluates to a value that is not a promise at once, like await', async () => {
    const order: string[] = [];
    await run(function* () {
      const other = spawn(function* () {
        order.push('other ran');
      });
      const value = yield* waitFor(7);
      order.push(`got ${value}`);
      yield* other.join();
    });
    expect(order).toEqual(['got 7', 'other ran']);
  });

  it('adopts a thenable that is not a native promise', async () => {
    const thenable: PromiseLike<string> = {
      then(onFulfilled) {
        setTimeout(() => onFulfilled?.('from a thenable'), 1);
        return Promise.resolve() as never;
      },
    };
    const value = await run(function* () {
      return yield* waitFor(thenable);
    });
    expect(value).toBe('from a thenable');
  });

  it('raises a Timeout when the timeout option runs out', async () => {
    // gevent: test__event.py::TestAsyncResultGet (get(timeout) raises Timeout)
    const never = new Promise<never>(() => {});
    const caught = await run(function* () {
      try {
        yield* waitFor(never, { timeout: 10 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
  });

  it('refuses to block outside a task, naming waitFor()', () => {
    expect(() => waitFor(Promise.resolve(1))).toThrow(BlockingError);
    expect(() => waitFor(Promise.resolve(1))).toThrow(/waitFor\(\) blocks.*main greenlet/);
  });

  it('does not wake a killed task when its promise resolves later', async () => {
    const first = deferred<string>();
    const second = deferred<string>();
    let received: string | undefined;
    await run(function* () {
      const t = spawn(function* () {
        try {
          yield* waitFor(first.promise);
        } catch (e) {
          if (!(e instanceof GreenletExit)) throw e;
        }
        // Killed: now parked on something else, which the old promise must not disturb.
        received = yield* waitFor(second.promise);
      });
      yield* sleep(0);
      t.kill(undefined, { block: false });
      yield* sleep(0);
      first.resolve('stale');
      yield* waitFor(settle());
      expect(received).toBeUndefined();
      second.resolve('fresh');
      yield* t.join();
    });
    expect(received).toBe('fresh');
  });

  it('causes no unhandled rejection when a promise rejects after its waiter was killed', async () => {
    const d = deferred<never>();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await run(function* () {
        const t = spawn(function* () {
          yield* waitFor(d.promise);
        });
        yield* sleep(0);
        yield* t.kill();
      });
      d.reject(new Error('late'));
      await settle();
      await settle();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('waitFor(promise) in many tasks at once', () => {
  it('wakes every task waiting on one promise, in the order they began to wait', async () => {
    const d = deferred<string>();
    const order: string[] = [];
    await run(function* () {
      const tasks = [1, 2, 3, 4].map((i) =>
        spawn(function* () {
          order.push(`${i} got ${yield* waitFor(d.promise)}`);
        }),
      );
      yield* sleep(0);
      d.resolve('it');
      for (const t of tasks) yield* t.join();
    });
    expect(order).toEqual(['1 got it', '2 got it', '3 got it', '4 got it']);
  });

  it('raises the rejection in every task waiting on one promise', async () => {
    const d = deferred<never>();
    const boom = new Error('boom');
    const caught = await run(function* () {
      const tasks = [1, 2, 3].map(() =>
        spawn(function* () {
          try {
            yield* waitFor(d.promise);
            return 'not raised';
          } catch (e) {
            return e;
          }
        }),
      );
      yield* sleep(0);
      d.reject(boom);
      const results: unknown[] = [];
      for (const t of tasks) results.push(yield* t.get());
      return results;
    });
    expect(caught).toEqual([boom, boom, boom]);
  });

  it('still wakes the others when tasks waiting on the same promise were killed or timed out', async () => {
    const d = deferred<string>();
    const seen: string[] = [];
    await run(function* () {
      const waiter = (name: string, timeout?: number) =>
        spawn(function* () {
          try {
            seen.push(`${name} got ${yield* waitFor(d.promise, { timeout })}`);
          } catch (e) {
            // By class, not constructor.name: the runtimes' bundles may rename classes.
            seen.push(`${name} left with ${e instanceof Timeout ? 'Timeout' : e instanceof GreenletExit ? 'GreenletExit' : String(e)}`);
          }
        });
      const tasks = [waiter('a'), waiter('killed'), waiter('b'), waiter('timed out', 1), waiter('c')];
      yield* sleep(0);
      yield* (tasks[1] as ReturnType<typeof waiter>).kill();
      yield* (tasks[3] as ReturnType<typeof waiter>).join();
      d.resolve('it');
      for (const t of tasks) yield* t.join();
    });
    expect(seen).toEqual(['killed left with GreenletExit', 'timed out left with Timeout', 'a got it', 'b got it', 'c got it']);
  });

  // Enough waiters to fill several chunks of the hub's run queue (256 tasks each).
  it.each(['resolves', 'rejects'] as const)(
    'wakes 1,000 tasks on one promise that %s in the order they waited, none lost or woken twice, through kills while parked and while queued',
    async (outcome) => {
      const d = deferred<string>();
      const count = 1000;
      const parkedKill = (i: number) => i % 10 === 5; // killed while parked on the promise
      const queuedKill = (i: number) => i % 10 === 7; // killed once woken, while READY in the run queue
      const got: number[] = [];
      const exits: number[] = [];
      const ends: number[] = [];
      const gotValue = outcome === 'resolves' ? 'it' : 'boom';
      await run(function* () {
        const tasks: ReturnType<typeof spawn>[] = [];
        // Task 0 is woken first: it kills the READY tasks queued behind it, before they run.
        tasks.push(
          spawn(function* () {
            try {
              yield* waitFor(d.promise);
            } catch {
              // the rejection
            }
            for (let i = 1; i < count; i++) if (queuedKill(i)) (tasks[i] as ReturnType<typeof spawn>).kill({ block: false });
          }),
        );
        for (let i = 1; i < count; i++) {
          tasks.push(
            spawn(function* () {
              try {
                let value: string;
                try {
                  value = yield* waitFor(d.promise);
                } catch (e) {
                  if (e instanceof GreenletExit) throw e;
                  value = (e as Error).message;
                }
                if (value === gotValue) got.push(i);
                yield* sleep(0); // a killed READY task has its value, and meets the kill here
              } catch (e) {
                if (e instanceof GreenletExit) exits.push(i);
                else throw e;
              } finally {
                ends.push(i);
              }
            }),
          );
        }
        yield* sleep(0);
        for (let i = 1; i < count; i++) if (parkedKill(i)) yield* (tasks[i] as ReturnType<typeof spawn>).kill();
        if (outcome === 'resolves') d.resolve('it');
        else d.reject(new Error('boom'));
        for (const t of tasks) yield* t.join();
      });
      const all = Array.from({ length: count - 1 }, (_, k) => k + 1);
      expect(got).toEqual(all.filter((i) => !parkedKill(i)));
      expect(exits).toEqual([...all.filter(parkedKill), ...all.filter(queuedKill)]);
      expect(ends.length).toBe(count - 1);
      expect(new Set(ends).size).toBe(count - 1);
    },
  );

  it('evaluates to the value of a promise that has already woken other tasks', async () => {
    const d = deferred<string>();
    const values = await run(function* () {
      const first = spawn(function* () {
        return yield* waitFor(d.promise);
      });
      yield* sleep(0);
      d.resolve('once');
      const early = yield* first.get();
      // The promise's reactions have run: later waits on it attach their own.
      const later = yield* spawn(function* () {
        return yield* waitFor(d.promise);
      }).get();
      return [early, later, yield* waitFor(d.promise)];
    });
    expect(values).toEqual(['once', 'once', 'once']);
  });
});

describe('waitFor(signal => operation)', () => {
  it('hands the operation a signal that stays unaborted when it succeeds', async () => {
    let seen: AbortSignal | undefined;
    const value = await run(function* () {
      return yield* waitFor(async (signal) => {
        seen = signal;
        return 'done';
      });
    });
    expect(value).toBe('done');
    expect(seen?.aborted).toBe(false);
  });

  it('raises the rejection of the operation without aborting its signal', async () => {
    let seen: AbortSignal | undefined;
    const boom = new Error('boom');
    const caught = await run(function* () {
      try {
        yield* waitFor((signal) => {
          seen = signal;
          return Promise.reject(boom);
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
    expect(seen?.aborted).toBe(false);
  });

  it('aborts the signal with the GreenletExit and runs finally when the task is killed', async () => {
    // gevent: test__greenlet.py::TestKill::test_block (kill raises GreenletExit where it waits)
    let seen: AbortSignal | undefined;
    let finallyRan = false;
    let exit: unknown;
    await run(function* () {
      const waiter = spawn(function* () {
        try {
          yield* waitFor((signal) => {
            seen = signal;
            return new Promise<never>(() => {});
          });
        } finally {
          finallyRan = true;
        }
      });
      yield* sleep(0);
      yield* waiter.kill();
      exit = waiter.value;
    });
    expect(finallyRan).toBe(true);
    expect(seen?.aborted).toBe(true);
    expect(exit).toBeInstanceOf(GreenletExit);
    expect(seen?.reason).toBe(exit);
  });

  it('aborts the signal with the error the task was killed with', async () => {
    class Shutdown extends Error {}
    const shutdown = new Shutdown('shutting down');
    let seen: AbortSignal | undefined;
    await run(function* () {
      const waiter = spawn(function* () {
        yield* waitFor((signal) => {
          seen = signal;
          return new Promise<never>(() => {});
        });
      });
      yield* sleep(0);
      yield* waiter.kill(shutdown);
      expect(waiter.exception).toBe(shutdown);
    });
    expect(seen?.reason).toBe(shutdown);
  });

  it('aborts the signal with the Timeout when a Timeout strikes while it waits', async () => {
    // gevent: test__timeout.py::Test::test_expires (the Timeout is raised where the task blocks)
    let seen: AbortSignal | undefined;
    const caught = await run(function* () {
      try {
        yield* withTimeout(10, function* () {
          return yield* waitFor((signal) => {
            seen = signal;
            return new Promise<never>(() => {});
          });
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(caught);
  });

  it('aborts the signal with the Timeout of the timeout option', async () => {
    let seen: AbortSignal | undefined;
    const caught = await run(function* () {
      try {
        yield* waitFor(
          (signal) => {
            seen = signal;
            return new Promise<never>(() => {});
          },
          { timeout: 10 },
        );
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(seen?.reason).toBe(caught);
  });

  it('does not start the operation when a kill is already pending for the task', async () => {
    const gate = deferred<string>();
    let started = false;
    let got: string | undefined;
    await run(function* () {
      // The killer waits on the same promise and is woken first (it started first), so
      // it kills the worker after the worker was handed the value and before it runs.
      const killer = spawn(function* () {
        yield* waitFor(gate.promise);
        worker.kill(undefined, { block: false });
      });
      const worker = spawn(function* () {
        got = yield* waitFor(gate.promise);
        yield* waitFor(() => {
          started = true;
          return new Promise<never>(() => {});
        });
      });
      yield* sleep(0);
      gate.resolve('item');
      yield* killer.join();
      yield* worker.join();
      expect(worker.value).toBeInstanceOf(GreenletExit);
    });
    expect(got).toBe('item');
    expect(started).toBe(false);
  });

  it('really cancels a fetch when the task is killed', async () => {
    const requestArrived = deferred<void>();
    const connectionClosed = deferred<void>();
    const server = http.createServer((req) => {
      // Never answer: only the client's abort can end this request.
      req.socket.on('close', () => connectionClosed.resolve());
      requestArrived.resolve();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let seen: AbortSignal | undefined;
    try {
      await run(function* () {
        const fetcher = spawn(function* () {
          yield* waitFor((signal) => {
            seen = signal;
            return fetch(`http://127.0.0.1:${port}/slow`, { signal });
          });
        });
        yield* waitFor(requestArrived.promise, { timeout: 5000 });
        yield* fetcher.kill();
        // The server sees the connection go away: the request was really cancelled.
        yield* waitFor(connectionClosed.promise, { timeout: 5000 });
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(seen?.reason).toBeInstanceOf(GreenletExit);
  });
});
