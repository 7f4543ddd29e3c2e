/**
 * `startNow(task)` (internal) from a host callback runs the task straight from main when
 * it would be the pass's only ready task: main → task, and when the task ends with nothing
 * else ready, back to main, without the hub's generator resumed (an HttpServer request).
 * Everything that can be observed happens as in the pass the hub would have run: these tests
 * pin the order of events for the cases where the direct start hands over to the usual
 * machinery, and the cases where it must not be taken at all.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Event,
  Task,
  getHub,
  getswitchinterval,
  greenletOf,
  printReport,
  settrace,
  setswitchinterval,
  sleep,
  spawn,
  switchCount,
  type Greenlet,
  type GreenletBody,
  type HubMonitor,
  type HubReport,
} from 'greenlet-ts';
import type { HubControl, RunQueueLike, Schedulable } from '../../src/hub/hub.js';
import { parkedAt } from '../../src/hub/hub.js';
import { CLOCK_CHECK_EVERY } from '../../src/hub/switchinterval.js';
import { inHostCallback, macrotask } from '../host-callback.js';

const hub = getHub();


/** The switches (resumes of started greenlets) and passes that `fn` costs, run as a host callback. */
async function costOf(fn: () => void): Promise<{ switches: number; passes: number }> {
  let switches = 0;
  let passes = 0;
  await inHostCallback(() => {
    const switchesBefore = switchCount();
    const passesBefore = hub.passes;
    fn();
    switches = switchCount() - switchesBefore;
    passes = hub.passes - passesBefore;
  });
  return { switches, passes };
}

// The hub starts with its first pass: make that one before any test.
beforeAll(() => inHostCallback(() => spawn(() => {})));

afterEach(() => {
  hub.reporter = printReport;
  hub.monitor = null;
  settrace(null);
});

describe('startNow() from a host callback: the direct start', () => {
  it('runs a task that ends at once from main and back, in one pass, without resuming the hub', async () => {
    const log: string[] = [];
    const cost = await costOf(() => {
      hub.startNow(new Task(() => log.push('plain run')));
      hub.startNow(
        new Task(function* () {
          log.push('generator run');
        }),
      );
      log.push('startNow returned');
    });
    expect(log).toEqual(['plain run', 'generator run', 'startNow returned']);
    // One switch per task, its end back to main: the hub's generator was not resumed (the
    // usual pass costs three: main → hub, the end → hub, hub → main).
    expect(cost).toEqual({ switches: 2, passes: 2 });
  });

  it('settles the task: its value, and the hub counts it out', async () => {
    const live = hub.liveCount;
    const task = new Task(() => 42);
    await inHostCallback(() => hub.startNow(task));
    expect(task.ready()).toBe(true);
    expect(task.value).toBe(42);
    expect(hub.liveCount).toBe(live);
    expect(hub.liveTasks()).not.toContain(task);
  });

  it('runs a task it wakes right after it, in the same pass, before startNow returns', async () => {
    const log: string[] = [];
    const event = new Event();
    await inHostCallback(() => {
      spawn(function* () {
        yield* event.wait();
        log.push('waiter woken');
      });
    });
    const cost = await costOf(() => {
      hub.startNow(
        new Task(() => {
          event.set();
          log.push('waker ends');
        }),
      );
      log.push('startNow returned');
    });
    expect(log).toEqual(['waker ends', 'waiter woken', 'startNow returned']);
    expect(cost.passes).toBe(1);
  });

  it('runs the tasks it spawns after it, in spawn order, before startNow returns', async () => {
    const log: string[] = [];
    await inHostCallback(() => {
      hub.startNow(
        new Task(function* () {
          spawn(() => log.push('first child'));
          spawn(() => log.push('second child'));
          log.push('parent ends');
        }),
      );
      log.push('startNow returned');
    });
    expect(log).toEqual(['parent ends', 'first child', 'second child', 'startNow returned']);
  });

  it('returns when the task parks, and the task resumes when woken later, in a pass of its own', async () => {
    const log: string[] = [];
    const event = new Event();
    const task = new Task(function* () {
      log.push('parks');
      yield* event.wait();
      log.push('woken');
    });
    const cost = await costOf(() => {
      hub.startNow(task);
      log.push('startNow returned');
    });
    expect(log).toEqual(['parks', 'startNow returned']);
    expect(cost.passes).toBe(1);
    expect(hub.parkedTasks()).toContain(task);
    const passesBefore = hub.passes;
    await inHostCallback(() => {
      event.set();
      log.push('set');
    });
    expect(log).toEqual(['parks', 'startNow returned', 'set', 'woken']);
    expect(hub.passes - passesBefore).toBe(1);
    expect(task.successful()).toBe(true);
  });

  it('leaves a task in sleep(0) for the next pass, a macrotask later', async () => {
    const log: string[] = [];
    const task = new Task(function* () {
      log.push('before sleep(0)');
      yield* sleep(0);
      log.push('after sleep(0)');
    });
    await inHostCallback(() => {
      hub.startNow(task);
      log.push('startNow returned');
      queueMicrotask(() => log.push('microtask'));
    });
    await task;
    expect(log).toEqual(['before sleep(0)', 'startNow returned', 'microtask', 'after sleep(0)']);
  });

  it('reports a task that fails, plain or generator, once, with its name on the error', async () => {
    const reports: HubReport[] = [];
    hub.reporter = (report) => reports.push(report);
    const plainError = new RangeError('plain run failed');
    const generatorError = new TypeError('generator failed');
    const plain = new Task(function plainHandler() {
      throw plainError;
    });
    const generator = new Task(function* generatorHandler(): GreenletBody<void> {
      throw generatorError;
    });
    await inHostCallback(() => {
      hub.startNow(plain);
      hub.startNow(generator);
    });
    // The hub reports a failure nobody observed a macrotask after its pass.
    for (let turns = 0; turns < 100 && reports.length < 2; turns++) await macrotask();
    expect(reports.map((r) => [r.kind, (r as { task?: Task }).task, (r as { error?: unknown }).error])).toEqual([
      ['task-error', plain, plainError],
      ['task-error', generator, generatorError],
    ]);
    expect(greenletOf(plainError)).toBe(plain.name);
    expect(greenletOf(generatorError)).toBe(generator.name);
  });

  it('lets a task parked after a direct start be killed, its finally run', async () => {
    const log: string[] = [];
    const task = new Task(function* () {
      try {
        yield* sleep(3_600_000);
      } finally {
        log.push('finally');
      }
    });
    await inHostCallback(() => hub.startNow(task));
    expect(hub.parkedTasks()).toContain(task);
    await inHostCallback(() => {
      task.kill();
      log.push('kill returned');
    });
    expect(log).toEqual(['kill returned', 'finally']);
    expect(task.dead).toBe(true);
    expect(hub.timers.size).toBe(0);
  });

  it('shows the monitor the events of the usual pass, in order', async () => {
    let started: Task | null = null;
    const events: [string, Greenlet, Greenlet?][] = [];
    const event = new Event();
    const names = new Map<Greenlet, string>();
    const monitor: HubMonitor = {
      spawned: (t, spawner) => events.push(['spawned', t, spawner]),
      parked: (t) => events.push(['parked', t]),
      woken: (t) => events.push(['woken', t]),
      ended: (t, failed) => events.push([failed ? 'failed' : 'ended', t]),
    };
    await inHostCallback(() => {
      hub.monitor = monitor;
      const waiter = new Task(function* () {
        yield* event.wait();
      });
      names.set(waiter, 'waiter');
      waiter.start();
    });
    await inHostCallback(() => {
      const task = new Task(function* () {
        names.set(spawn(() => {}), 'child');
        event.set();
        yield* sleep(0);
      });
      names.set(task, 'task');
      hub.startNow(task);
      started = task;
    });
    await started;
    const name = (g: Greenlet | undefined): string => (g === undefined ? '' : (names.get(g) ?? (g === hub ? 'hub' : 'main')));
    expect(events.map(([what, t, spawner]) => `${what} ${name(t)}${spawner === undefined ? '' : ` by ${name(spawner)}`}`)).toEqual([
      'spawned waiter by main',
      'parked waiter',
      'spawned task by main',
      'spawned child by task',
      'woken waiter',
      'parked task',
      'ended child',
      'ended waiter',
      'woken task',
      'ended task',
    ]);
  });
});

/**
 * Run `fn` as a host callback and count its reads of the host's clock (`performance.now`,
 * what the hub reads), or null where the host's `performance.now` cannot be replaced.
 */
async function clockReadsOf(fn: () => void): Promise<number | null> {
  const perf = performance as { now(): number };
  const own = Object.prototype.hasOwnProperty.call(perf, 'now');
  const original = perf.now;
  let reads = 0;
  let during: number | null = null;
  try {
    perf.now = function now(): number {
      reads++;
      return original.call(perf);
    };
  } catch {
    return null;
  }
  if (perf.now === original) return null;
  try {
    await inHostCallback(() => {
      const before = reads;
      fn();
      during = reads - before;
    });
  } finally {
    if (own) perf.now = original;
    else delete (perf as Partial<typeof perf>).now;
  }
  return during;
}

describe('startNow() from a host callback: the clock', () => {
  it('is not read for a task that ends without parking', async () => {
    const log: string[] = [];
    const reads = await clockReadsOf(() => {
      hub.startNow(new Task(() => log.push('plain run')));
      hub.startNow(
        new Task(function* () {
          log.push('generator run');
        }),
      );
    });
    expect(log).toEqual(['plain run', 'generator run']);
    if (reads !== null) expect(reads).toBe(0);
  });

  it('is read once when the task parks, which records the time it parked', async () => {
    const event = new Event();
    const task = new Task(function* () {
      yield* event.wait();
    });
    let before = 0;
    let after = 0;
    const reads = await clockReadsOf(() => {
      before = Math.floor(performance.now());
      hub.startNow(task);
      after = performance.now();
    });
    if (reads !== null) expect(reads).toBe(3); // before, the park's, after
    const at = parkedAt(task as unknown as Schedulable);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    expect(Number.isInteger(at)).toBe(true);
    event.set();
    await task;
  });

  it('is read when the pass has spent its first budget, and the pass still ends by its switch interval', async () => {
    // 3 × CLOCK_CHECK_EVERY tasks that each take longer than the switch interval: the pass
    // that startNow() began reads the clock when its first CLOCK_CHECK_EVERY resumes are
    // spent, its interval counts from there, and it ends at the next check; the rest run
    // in later passes, in order.
    const ran: number[] = [];
    const count = 3 * CLOCK_CHECK_EVERY;
    const interval = getswitchinterval();
    setswitchinterval(0.001); // 1 µs: each task below takes longer
    try {
      let passesDuring = 0;
      let ranInPass = 0;
      await inHostCallback(() => {
        const passesBefore = hub.passes;
        hub.startNow(
          new Task(() => {
            for (let i = 0; i < count; i++) {
              spawn(() => {
                const until = performance.now() + 0.01;
                while (performance.now() < until);
                ran.push(i);
              });
            }
          }),
        );
        passesDuring = hub.passes - passesBefore;
        ranInPass = ran.length;
      });
      expect(passesDuring).toBe(1);
      // The spawner took one resume of the first budget; the clock is read when that budget
      // is spent, and the pass ends at the next check: the bound is one budget later than
      // in a pass that reads the clock as it begins.
      expect(ranInPass).toBe(2 * CLOCK_CHECK_EVERY - 1);
      while (ran.length < count) await macrotask();
      expect(ran).toEqual(Array.from({ length: count }, (_, i) => i));
    } finally {
      setswitchinterval(interval);
    }
  });
});

describe('startNow() from a host callback: the usual pass instead', () => {
  it('when tasks are ready already: they run first, in order', async () => {
    const log: string[] = [];
    await inHostCallback(() => {
      spawn(() => log.push('spawned before'));
      hub.startNow(new Task(() => log.push('started now')));
      log.push('startNow returned');
    });
    expect(log).toEqual(['spawned before', 'started now', 'startNow returned']);
  });

  it('when hub callbacks wait: they run before the task', async () => {
    const log: string[] = [];
    await inHostCallback(() => {
      hub.callSoon(() => log.push('callback'));
      hub.startNow(new Task(() => log.push('task')));
    });
    expect(log).toEqual(['callback', 'task']);
  });

  it('while a trace function is set: it sees the switches of the usual pass', async () => {
    const events: string[] = [];
    const task = new Task(() => {});
    const name = (g: Greenlet): string => (g === hub ? 'hub' : g === task ? 'task' : 'main');
    await inHostCallback(() => {
      settrace((event, [origin, target]) => events.push(`${event} ${name(origin)} -> ${name(target)}`));
      hub.startNow(task);
      settrace(null);
    });
    expect(events).toEqual(['switch main -> hub', 'switch hub -> task', 'switch task -> hub', 'switch hub -> main']);
  });

  it('under a HubControl (virtual time): the control\'s queue and its turn at the end of the pass', async () => {
    const pushed: Schedulable[] = [];
    let turns = 0;
    const fifo: Schedulable[] = [];
    const queue: RunQueueLike = {
      get length() {
        return fifo.length;
      },
      push(task) {
        pushed.push(task);
        fifo.push(task);
      },
      shift: () => fifo.shift(),
      queued: () => [...fifo],
    };
    const control: HubControl = {
      now: () => performance.now(),
      turn: () => {
        turns++;
        return false;
      },
      soon: (fn) => queueMicrotask(fn),
      queue,
      chooseCase: null,
    };
    const log: string[] = [];
    await inHostCallback(() => {
      hub.setControl(control);
      try {
        const task = new Task(() => log.push('task'));
        hub.startNow(task);
        expect(pushed).toEqual([task]);
      } finally {
        hub.setControl(null);
      }
    });
    expect(log).toEqual(['task']);
    expect(turns).toBe(1);
  });
});
