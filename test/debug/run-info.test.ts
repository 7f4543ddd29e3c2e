/**
 * Run info (src/debug/run-info.ts): the greenlets of this thread by parent and by
 * spawner, with their states, waits and sites.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Event,
  Queue,
  Task,
  currentTaskOrNull,
  getHub,
  joinall,
  run,
  sleep,
  spawn,
  switchCount,
} from 'greenlet-ts';
import { formatRunInfo, installRunInfoSignal, printRunInfo } from '../../src/debug/run-info.js';
import { recordSites, stopRecordingSites } from '../../src/debug/sites.js';

afterEach(() => {
  stopRecordingSites();
  vi.restoreAllMocks();
  expect(getHub().monitor).toBeNull();
  expect(getHub().liveCount).toBe(0);
});

/** Durations, counts that vary from run to run, and line:column replaced by stable marks. */
function normalise(text: string): string {
  return text
    .replace(/\d+ ms/g, 'N ms')
    .replace(/[\d,]+ switches so far/, 'N switches so far')
    .replace(/\.ts:\d+:\d+/g, '.ts:L:C');
}

/**
 * The program of the docs: a consumer parked on a Queue, a waiter on an Event, a sleeper,
 * and a parent that spawned a child and joins it. `look` runs in the program's own task
 * once every other task has parked; then everything ends.
 */
async function program(look: () => void): Promise<void> {
  await run(function* () {
    (currentTaskOrNull() as Task).name = 'program';
    const jobs = new Queue<string>();
    const ready = new Event();
    const consumer = spawn(function* consumer() {
      yield* jobs.get();
    });
    const waiter = spawn(function* waiter() {
      yield* ready.wait();
    });
    const sleeper = spawn(function* sleeper() {
      yield* sleep(60_000);
    });
    const parent = spawn(function* parent() {
      const child = spawn(function* child() {
        yield* ready.wait();
      });
      child.name = 'child';
      yield* child.join();
    });
    consumer.name = 'consumer';
    waiter.name = 'waiter';
    sleeper.name = 'sleeper';
    parent.name = 'parent';
    yield* sleep(0); // every task runs until it parks
    look();
    jobs.putNowait('job');
    ready.set();
    yield* sleeper.kill();
    yield* joinall([consumer, waiter, parent]);
  });
}

describe('formatRunInfo', () => {
  it('lists every live task by parent with its state, for how long and on what it waits, and where', async () => {
    recordSites({ spawn: true, wait: true });
    let info = '';
    await program(() => {
      info = formatRunInfo();
    });
    const byParent = normalise(info).split('\n\nBy spawner:')[0];
    expect(byParent).toBe(
      [
        'greenlet-ts run info: 6 live tasks (1 running, 0 ready, 5 parked, 0 new); N switches so far',
        '',
        'By parent:',
        'main: suspended',
        '└─ hub: suspended',
        '   ├─ program: running',
        '   ├─ consumer: parked for N ms on queue.get() on Queue(0 items, 1 getter)',
        '   │    waiting at consumer (test/debug/run-info.test.ts:L:C)',
        '   ├─ waiter: parked for N ms on Event(clear, 2 waiting)',
        '   │    waiting at waiter (test/debug/run-info.test.ts:L:C)',
        '   ├─ sleeper: parked for N ms on sleep(), until N ms from now',
        '   │    waiting at sleeper (test/debug/run-info.test.ts:L:C)',
        '   ├─ parent: parked for N ms on join(child)',
        '   │    waiting at parent (test/debug/run-info.test.ts:L:C)',
        '   └─ child: parked for N ms on Event(clear, 2 waiting)',
        '        waiting at child (test/debug/run-info.test.ts:L:C)',
      ].join('\n'),
    );
  });

  it('lists tasks by spawner: nested spawns under the task that spawned them', async () => {
    recordSites({ spawn: false, wait: false });
    let info = '';
    await program(() => {
      info = formatRunInfo();
    });
    expect(info.split('\n\nBy spawner:\n')[1]).toBe(
      [
        'main',
        '└─ program (running)',
        '   ├─ consumer (parked)',
        '   ├─ waiter (parked)',
        '   ├─ sleeper (parked)',
        '   └─ parent (parked)',
        '      └─ child (parked)',
      ].join('\n'),
    );
  });

  it('shows where each task was spawned when asked and recorded', async () => {
    recordSites({ spawn: true, wait: false });
    let info = '';
    await program(() => {
      info = formatRunInfo({ spawnSites: true });
    });
    const lines = normalise(info).split('\n');
    expect(lines).toContain('   │    spawned at program (test/debug/run-info.test.ts:L:C)');
    expect(lines).toContain('        spawned at parent (test/debug/run-info.test.ts:L:C)');
    expect(lines.filter((l) => l.includes('waiting at'))).toEqual([]);
  });

  it('without recorded sites still shows states and waits, and says spawners were not recorded', async () => {
    let info = '';
    await program(() => {
      info = formatRunInfo({ spawnSites: true });
    });
    const text = normalise(info);
    expect(text).toContain('   ├─ consumer: parked for N ms on queue.get() on Queue(0 items, 1 getter)\n   ├─ waiter:');
    expect(text).not.toContain('waiting at');
    expect(text).not.toContain('spawned at');
    expect(text).toContain('├─ parent (parked) [spawner not recorded]');
    expect(text).toMatch(/\(6 tasks spawned while spawners were not recorded: call recordSites\(\) first\)$/);
  });

  it('names a spawner that has ended', async () => {
    recordSites({ spawn: false, wait: false });
    const ev = new Event();
    const [orphan] = (await run(function* () {
      (currentTaskOrNull() as Task).name = 'gone';
      const t = spawn(function* () {
        yield* ev.wait();
      });
      t.name = 'orphan';
      return [t];
    })) as [Task];
    expect(formatRunInfo().split('\n\nBy spawner:\n')[1]).toBe('main\n└─ orphan (parked) [spawned by gone, which has ended]');
    ev.set();
    await orphan;
  });

  it('counts live tasks by state, including new and ready ones, and the switches so far', () => {
    const fresh = new Task(function* () {});
    fresh.name = 'fresh';
    const queued = spawn(function* () {});
    queued.name = 'queued';
    const before = switchCount();
    const info = formatRunInfo();
    expect(info.split('\n')[0]).toBe(
      `greenlet-ts run info: 2 live tasks (0 running, 1 ready, 0 parked, 1 new); ${before.toLocaleString('en')} switches so far`,
    );
    expect(info).toContain('   ├─ fresh: new\n   └─ queued: ready');
    expect(info).toContain('main: running');
    fresh.kill();
    queued.kill();
  });

  it('lists at most maxTasks tasks and says how many it left out', () => {
    const tasks = Array.from({ length: 5 }, (_, i) => {
      const t = new Task(function* () {});
      t.name = `t${i}`;
      return t;
    });
    const info = formatRunInfo({ maxTasks: 2 });
    expect(info).toContain('   ├─ t0: new\n   ├─ t1: new\n   └─ … 3 more tasks (formatRunInfo({ maxTasks }) shows more)\n');
    expect(info.split('\n')[0]).toContain('5 live tasks');
    for (const t of tasks) t.kill();
  });
});

describe('printRunInfo', () => {
  it('writes the run info to stderr', () => {
    const printed: unknown[] = [];
    vi.spyOn(console, 'error').mockImplementation((text: unknown) => {
      printed.push(text);
    });
    printRunInfo();
    expect(printed).toEqual([formatRunInfo()]);
  });
});

describe('installRunInfoSignal', () => {
  it('prints the run info to stderr when the process gets SIGUSR2, until uninstalled', async () => {
    const written: string[] = [];
    let signalled!: () => void;
    const received = new Promise<void>((resolve) => (signalled = resolve));
    vi.spyOn(process.stderr, 'write').mockImplementation((text: string | Uint8Array) => {
      written.push(String(text));
      signalled();
      return true;
    });
    const listeners = process.listenerCount('SIGUSR2');
    const uninstall = installRunInfoSignal();
    expect(process.listenerCount('SIGUSR2')).toBe(listeners + 1);
    process.kill(process.pid, 'SIGUSR2');
    await received;
    uninstall();
    expect(process.listenerCount('SIGUSR2')).toBe(listeners);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^greenlet-ts run info: 0 live tasks \(0 running, 0 ready, 0 parked, 0 new\); [\d,]+ switches so far\n\nBy parent:\nmain: running\n└─ hub: suspended\n\nBy spawner:\nmain\n$/);
  });
});
