/**
 * Structured scopes: children never outlive the scope that spawned them.
 *
 * gevent has no scopes (gevent#1697, gevent#2105 ask for them); these tests pin the
 * behaviour of Trio's nurseries and effection's scopes as this library defines it:
 * children still running when the body ends are killed and awaited; the first failure
 * kills the siblings, interrupts the body and comes out of the scope; every child's
 * `finally` runs; nothing stays registered.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GreenletExit,
  Timeout,
  currentTask,
  getHub,
  isGreenletExit,
  run,
  sleep,
  spawn,
  withTimeout,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import { Scope, ScopeClosed, scope } from '../../src/sync/scope.js';

/** Long enough to mean "until killed": no test waits for it to pass. */
const FOREVER = 100_000;

class ChildError extends Error {}
class BodyError extends Error {}

function* passes(n: number): GreenletBody<void> {
  for (let i = 0; i < n; i++) yield* sleep(0);
}

/** A child that sleeps "forever" and records that its cleanup ran. */
function sleeper(log: string[], name: string): () => GreenletBody<void> {
  return function* () {
    try {
      yield* sleep(FOREVER);
    } finally {
      log.push(`${name} cleaned`);
    }
  };
}

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
});

/** Collect the hub's reports during `fn`. */
async function withReports(fn: (reports: HubReport[]) => Promise<void>): Promise<void> {
  const hub = getHub();
  const previous = hub.reporter;
  const reports: HubReport[] = [];
  hub.reporter = (r) => reports.push(r);
  try {
    await fn(reports);
  } finally {
    hub.reporter = previous;
  }
}

describe('scope()', () => {
  it('evaluates to what the body returns', async () => {
    const value = await run(function* () {
      return yield* scope(function* (s) {
        const a = s.spawn(() => 20);
        const b = s.spawn(function* () {
          yield* sleep(0);
          return 22;
        });
        return (yield* a.get()) + (yield* b.get());
      });
    });
    expect(value).toBe(42);
  });

  it('accepts a plain function as body', async () => {
    expect(await run(function* () {
      return yield* scope(() => 'plain');
    })).toBe('plain');
  });

  it('kills the children still running when the body returns, and waits for their cleanup', async () => {
    const log: string[] = [];
    await run(function* () {
      yield* scope(function* (s) {
        s.spawn(sleeper(log, 'a'));
        s.spawn(sleeper(log, 'b'));
        yield* sleep(0);
        log.push('body done');
      });
      log.push('scope returned');
    });
    expect(log).toEqual(['body done', 'a cleaned', 'b cleaned', 'scope returned']);
  });

  it('waits for a child whose cleanup blocks', async () => {
    const log: string[] = [];
    await run(function* () {
      yield* scope(function* (s) {
        s.spawn(function* () {
          try {
            yield* sleep(FOREVER);
          } finally {
            yield* passes(3);
            log.push('slow cleanup done');
          }
        });
        yield* sleep(0);
      });
      log.push('scope returned');
    });
    expect(log).toEqual(['slow cleanup done', 'scope returned']);
  });

  it('lets the body wait for its children to end on their own with join()', async () => {
    const log: string[] = [];
    await run(function* () {
      yield* scope(function* (s) {
        s.spawn(function* () {
          yield* passes(2);
          log.push('child finished');
        });
        yield* s.join();
        expect(s.size).toBe(0);
        log.push('joined');
      });
    });
    expect(log).toEqual(['child finished', 'joined']);
  });

  it('propagates the first failure after killing the siblings and interrupting the body', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      try {
        yield* scope(function* (s) {
          s.spawn(sleeper(log, 'sibling'));
          s.spawn(function* () {
            yield* passes(1);
            throw new ChildError('child failed');
          });
          try {
            yield* sleep(FOREVER); // the body is interrupted here
            log.push('body not interrupted');
          } catch (e) {
            log.push(`body interrupted by ${isGreenletExit(e) ? 'GreenletExit' : String(e)}`);
            throw e;
          }
        });
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(ChildError);
    expect([...log].sort()).toEqual(['body interrupted by GreenletExit', 'sibling cleaned']);
  });

  it('propagates a child’s failure even when the body caught the cancellation', async () => {
    let caught: unknown;
    await run(function* () {
      try {
        yield* scope(function* (s) {
          s.spawn(() => {
            throw new ChildError();
          });
          try {
            yield* sleep(FOREVER);
          } catch {
            // swallowed: the scope raises the child's error anyway
          }
          return 'body value';
        });
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(ChildError);
  });

  it('propagates a child’s failure that came while the body was not blocked, and withdraws the cancellation', async () => {
    let caught: unknown;
    let reachedEnd = false;
    await run(function* () {
      try {
        yield* scope(function* (s) {
          const waker = s.spawn(() => 'woke');
          s.spawn(() => {
            throw new ChildError();
          });
          // The waker's end readies the body; the failure comes in the same pass, before
          // the body runs again, so the cancellation cannot strike: the body returns.
          yield* waker.join();
          return 'after join';
        });
      } catch (e) {
        caught = e;
      }
      // The cancellation that never struck must not strike now.
      yield* sleep(0);
      reachedEnd = true;
    });
    expect(caught).toBeInstanceOf(ChildError);
    expect(reachedEnd).toBe(true);
  });

  it('kills the children and raises the body’s own error', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      try {
        yield* scope(function* (s) {
          s.spawn(sleeper(log, 'child'));
          yield* sleep(0);
          throw new BodyError();
        });
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(BodyError);
    expect(log).toEqual(['child cleaned']);
  });

  it('a kill of the task running the scope kills its children first', async () => {
    const log: string[] = [];
    await run(function* () {
      const owner = spawn(function* () {
        try {
          yield* scope(function* (s) {
            s.spawn(sleeper(log, 'child 1'));
            s.spawn(sleeper(log, 'child 2'));
            yield* sleep(FOREVER);
          });
        } finally {
          log.push('owner cleaned');
        }
      });
      yield* passes(2);
      yield* owner.kill();
      expect(owner.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['child 1 cleaned', 'child 2 cleaned', 'owner cleaned']);
  });

  it('a Timeout around a scope kills and awaits the children, then raises', async () => {
    const log: string[] = [];
    await run(function* () {
      const outcome = yield* withTimeout({ ms: 10, timeoutValue: 'timed out' }, function* () {
        return yield* scope(function* (s) {
          s.spawn(sleeper(log, 'child'));
          yield* sleep(FOREVER);
          return 'finished';
        });
      });
      expect(outcome).toBe('timed out');
    });
    expect(log).toEqual(['child cleaned']);
  });

  it('a Timeout that strikes while the scope waits for its children reaches them too, and is raised after they end', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      const timeout = Timeout.startNew(5);
      try {
        yield* scope(function* (s) {
          s.spawn(function* () {
            try {
              yield* sleep(FOREVER);
            } finally {
              try {
                yield* sleep(FOREVER); // a cleanup that would outlast the timeout
              } catch (e) {
                log.push(`cleanup interrupted by ${isGreenletExit(e) ? 'GreenletExit' : String(e)}`);
              }
            }
          });
          yield* sleep(0);
        });
      } catch (e) {
        caught = e;
        log.push('scope raised');
      } finally {
        timeout.cancel();
      }
      expect(caught).toBe(timeout);
    });
    expect(log).toEqual(['cleanup interrupted by GreenletExit', 'scope raised']);
  });

  it('a kill that strikes the scope\'s exit before the children it killed have run reaches their cleanup too', async () => {
    // The Timeout above, when it fires while the body is still busy (JavaScriptCore's
    // shell, where the pass after sleep(0) is a host timer that a due 5 ms one beats):
    // the error waits for the owner's next park, the scope's wait for the children it has
    // just killed, which have not run since; passed on to them, it must not be lost.
    const log: string[] = [];
    const killedAtExit = new Error('killed at the exit');
    let caught: unknown;
    await run(function* () {
      const owner = currentTask();
      try {
        yield* scope(function* (s) {
          s.spawn(function* () {
            try {
              yield* sleep(FOREVER);
            } finally {
              try {
                yield* sleep(1_000); // a cleanup that would outlast the kill
                log.push('cleanup ran to its end');
              } catch (e) {
                log.push(`cleanup interrupted by ${isGreenletExit(e) ? 'GreenletExit' : String(e)}`);
              }
            }
          });
          yield* sleep(0); // the child starts, and sleeps
          owner.kill(killedAtExit, { block: false }); // strikes at the owner's next park
        });
      } catch (e) {
        caught = e;
        log.push('scope raised');
      }
    });
    expect(caught).toBe(killedAtExit);
    expect(log).toEqual(['cleanup interrupted by GreenletExit', 'scope raised']);
  });

  it('nests: an inner failure propagates through the outer scope, which kills its own children', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      try {
        yield* scope(function* (outer) {
          outer.spawn(sleeper(log, 'outer child'));
          yield* scope(function* (inner) {
            inner.spawn(sleeper(log, 'inner child'));
            inner.spawn(function* () {
              yield* sleep(0);
              throw new ChildError('inner');
            });
            yield* sleep(FOREVER);
          });
          log.push('not reached');
        });
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(ChildError);
    expect(log).toEqual(['inner child cleaned', 'outer child cleaned']);
  });

  it('nests: an outer failure cancels the inner scope of the body, then propagates', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      try {
        yield* scope(function* (outer) {
          outer.spawn(function* () {
            yield* passes(2);
            throw new ChildError('outer');
          });
          yield* scope(function* (inner) {
            inner.spawn(sleeper(log, 'inner child'));
            yield* sleep(FOREVER);
          });
        });
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(ChildError);
    expect((caught as Error).message).toBe('outer');
    expect(log).toEqual(['inner child cleaned']);
  });

  it('nests in children: killing a child kills the scope it runs', async () => {
    const log: string[] = [];
    await run(function* () {
      yield* scope(function* (s) {
        s.spawn(function* () {
          yield* scope(function* (grand) {
            grand.spawn(sleeper(log, 'grandchild'));
            yield* sleep(FOREVER);
          });
        });
        yield* passes(2);
      });
    });
    expect(log).toEqual(['grandchild cleaned']);
  });

  it('refuses new children once it has exited', async () => {
    let kept: Scope | undefined;
    await run(function* () {
      yield* scope((s) => {
        kept = s;
      });
    });
    expect(kept?.open).toBe(false);
    expect(() => kept?.spawn(() => 1)).toThrow(ScopeClosed);
  });

  it('lets children spawn siblings', async () => {
    const values = await run(function* () {
      return yield* scope(function* (s) {
        const first = s.spawn(function* () {
          const second = s.spawn(() => 2);
          return [1, yield* second.get()];
        });
        return yield* first.get();
      });
    });
    expect(values).toEqual([1, 2]);
  });

  it('reports a second failure that cannot propagate', async () => {
    await withReports(async (reports) => {
      let caught: unknown;
      await run(function* () {
        try {
          yield* scope(function* (s) {
            s.spawn(function* () {
              try {
                yield* sleep(FOREVER);
              } finally {
                throw new ChildError('second');
              }
            });
            s.spawn(function* () {
              yield* sleep(0);
              throw new ChildError('first');
            });
            yield* sleep(FOREVER);
          });
        } catch (e) {
          caught = e;
        }
      });
      expect((caught as Error).message).toBe('first');
      expect(reports.map((r) => (r.kind === 'task-error' ? (r.error as Error).message : r.kind))).toEqual(['second']);
    });
  });

  it('leaves nothing registered, and counts the tasks waiting on it', async () => {
    await run(function* () {
      let seen = -1;
      yield* scope(function* (s) {
        s.spawn(passes, 2);
        const watcher = spawn(function* () {
          yield* s.join();
        });
        yield* sleep(0);
        seen = s.waiting;
        yield* watcher.join();
        expect(s.waiting).toBe(0);
      });
      expect(seen).toBe(1);
    });
  });
});

describe('using new Scope()', () => {
  it('kills the children at the end of the block without waiting; their cleanup runs soon after', async () => {
    const log: string[] = [];
    await run(function* () {
      {
        using s = new Scope();
        s.spawn(sleeper(log, 'child'));
        yield* sleep(0);
      }
      log.push('block left');
      yield* sleep(0);
      log.push('a pass later');
    });
    expect(log).toEqual(['block left', 'child cleaned', 'a pass later']);
  });

  it('raises a child’s failure in the owner wherever it is blocked', async () => {
    const log: string[] = [];
    let caught: unknown;
    await run(function* () {
      try {
        using s = new Scope();
        s.spawn(sleeper(log, 'sibling'));
        s.spawn(function* () {
          yield* sleep(0);
          throw new ChildError();
        });
        yield* sleep(FOREVER);
      } catch (e) {
        caught = e;
      }
      yield* sleep(0);
    });
    expect(caught).toBeInstanceOf(ChildError);
    expect(log).toEqual(['sibling cleaned']);
  });

  it('raises a failure the owner never blocked to receive from dispose', async () => {
    let caught: unknown;
    let afterJoin = false;
    let reachedEnd = false;
    await run(function* () {
      try {
        using s = new Scope();
        const waker = s.spawn(() => 'woke');
        s.spawn(() => {
          throw new ChildError();
        });
        yield* waker.join(); // readied by the waker; the failure comes before it runs
        afterJoin = true;
      } catch (e) {
        caught = e;
      }
      yield* sleep(0); // and it must not strike later
      reachedEnd = true;
    });
    expect(reachedEnd).toBe(true);
    expect(afterJoin).toBe(true);
    expect(caught).toBeInstanceOf(ChildError);
  });

  it('disposed by another task while the owner sleeps: a failure the owner caught is not raised again, and the sleep keeps its deadline', async () => {
    // A task parked in sleep(ms) keeps its position in the timer heap where, while it is
    // not parked, an interrupt waits for its next park: a child that throws that very
    // number (0: the only timer) once made dispose take the position for the failure still
    // pending, raise it a second time, and forget the sleep's deadline.
    let s!: Scope;
    let caught: unknown = 'nothing';
    let disposeThrew: unknown = 'nothing';
    let timersWhileAsleep = -1;
    let timersAfterKill = -1;
    await run(function* () {
      const owner = spawn(function* () {
        s = new Scope();
        s.spawn(() => {
          throw 0; // eslint-disable-line @typescript-eslint/only-throw-error -- a thrown number is the point
        });
        try {
          yield* sleep(0);
        } catch (e) {
          caught = e;
        }
        yield* sleep(FOREVER);
      });
      yield* passes(3);
      timersWhileAsleep = getHub().timers.size;
      try {
        s[Symbol.dispose]();
      } catch (e) {
        disposeThrew = e;
      }
      yield* owner.kill();
      timersAfterKill = getHub().timers.size;
    });
    expect(caught).toBe(0);
    expect(timersWhileAsleep).toBe(1);
    expect(disposeThrew).toBe('nothing');
    expect(timersAfterKill).toBe(0);
  });

  it('is killed with the owner: the kill unwinds the block, which kills the children', async () => {
    const log: string[] = [];
    await run(function* () {
      const owner = spawn(function* () {
        using s = new Scope();
        s.spawn(sleeper(log, 'child'));
        yield* sleep(FOREVER);
      });
      yield* passes(2);
      yield* owner.kill();
      yield* sleep(0);
    });
    expect(log).toEqual(['child cleaned']);
  });

  it('refuses to be disposed when opened by scope()', async () => {
    await run(function* () {
      yield* scope((s) => {
        expect(() => s[Symbol.dispose]()).toThrow(/closes when its function returns/);
      });
    });
  });
});

describe('property', () => {
  it('every child’s cleanup runs, the first failure propagates, and nothing stays behind', async () => {
    await withReports(async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ passes: fc.integer({ min: 0, max: 5 }), fails: fc.boolean() }), { maxLength: 6 }),
          fc.integer({ min: 0, max: 6 }),
          async (children, bodyPasses) => {
            const started: number[] = [];
            const cleaned: number[] = [];
            const failedAt: number[] = [];
            let caught: unknown = null;
            let result: unknown = null;
            await run(function* () {
              try {
                result = yield* scope(function* (s) {
                  children.forEach((c, i) =>
                    s.spawn(function* () {
                      started.push(i);
                      try {
                        yield* passes(c.passes);
                        if (c.fails) {
                          failedAt.push(i);
                          throw new ChildError(String(i));
                        }
                      } finally {
                        cleaned.push(i);
                      }
                    }),
                  );
                  yield* passes(bodyPasses);
                  return 'done';
                });
              } catch (e) {
                caught = e;
              }
            });
            expect(cleaned.sort()).toEqual(started.sort());
            if (failedAt.length === 0) {
              expect(caught).toBeNull();
              expect(result).toBe('done');
            } else {
              expect(caught).toBeInstanceOf(ChildError);
              expect((caught as Error).message).toBe(String(failedAt[0]));
            }
            expect(getHub().timers.size).toBe(0);
            expect(getHub().liveCount).toBe(0);
          },
        ),
        { numRuns: 80 },
      );
    });
  });
});
