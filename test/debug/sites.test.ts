/**
 * Spawn sites and wait sites (src/debug/sites.ts): recorded through the hub's monitor,
 * bounded, weak; errors that leave a task carry its spawn site.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Event,
  getHub,
  greenletOf,
  run,
  sleep,
  spawn,
  type BlockedTask,
  type GreenletBody,
  type HubReport,
  type Task,
} from 'greenlet-ts';
import {
  MAX_FRAME_LENGTH,
  describeError,
  recordSites,
  recordingSites,
  spawnSiteOf,
  spawnSiteOfError,
  spawnerOf,
  spawnerRecorded,
  stopRecordingSites,
  trimStack,
  waitSiteOf,
} from '../../src/debug/sites.js';

/** The line number of the call to callerLine() in this file. */
function callerLine(): number {
  const frame = (new Error().stack as string).split('\n')[2] as string;
  return Number((/:(\d+):\d+\)?$/.exec(frame) as RegExpExecArray)[1]);
}

/** Let every ready task run until it parks (one hub pass). */
async function settle(): Promise<void> {
  await run(function* () {});
}

afterEach(() => {
  stopRecordingSites();
  expect(getHub().monitor).toBeNull();
});

describe('recording sites', () => {
  it('installs nothing on the hub until asked, and removes it when stopped', () => {
    expect(recordingSites()).toBeNull();
    expect(getHub().monitor).toBeNull();
    recordSites({ spawn: true, wait: false, frames: 2 });
    expect(recordingSites()).toEqual({ spawn: true, wait: false, frames: 2 });
    expect(getHub().monitor).not.toBeNull();
    stopRecordingSites();
    expect(recordingSites()).toBeNull();
    expect(getHub().monitor).toBeNull();
  });

  it('rejects a frame count outside 1..10 with a message that says what it takes', () => {
    expect(() => recordSites({ frames: 0 })).toThrow(new RangeError('recordSites({ frames }) takes a whole number from 1 to 10, not 0'));
    expect(getHub().monitor).toBeNull();
  });
});

describe('spawn sites', () => {
  it('name the line that called spawn(), skipping the library\'s own frames', async () => {
    recordSites({ spawn: true });
    const ev = new Event();
    const [task, line] = [spawn(function* worker() { yield* ev.wait(); }), callerLine()];
    const site = spawnSiteOf(task) as string;
    expect(site.split('\n')[0]).toMatch(new RegExp(`sites\\.test\\.ts:${line}:\\d+\\)?$`));
    expect(site).not.toMatch(/src\/(hub|core|debug)\//);
    ev.set();
    await task;
  });

  it('are not recorded for tasks spawned while recording is off', async () => {
    const task = spawn(function* () {});
    expect(spawnSiteOf(task)).toBeUndefined();
    expect(spawnerRecorded(task)).toBe(false);
    await task;
  });

  it('keep only the task\'s own frames: they stop at the switcher, below which the stack is the hub\'s', async () => {
    recordSites({ spawn: true, frames: 10 });
    let child!: Task;
    function* helper(): GreenletBody<void> {
      child = spawn(function* () {});
    }
    await run(function* spawner() {
      yield* helper();
    });
    const frames = (spawnSiteOf(child) as string).split('\n');
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^helper \(.*sites\.test\.ts:\d+:\d+\)$/);
    expect(frames[1]).toMatch(/^spawner \(.*sites\.test\.ts:\d+:\d+\)$/);
    await child;
  });

  it('stay bounded when tasks spawn tasks recursively (gevent#1467)', async () => {
    recordSites({ spawn: true, wait: true, frames: 3 });
    const sites: string[] = [];
    function* nest(depth: number): GreenletBody<void> {
      if (depth === 0) return;
      const child = spawn(nest, depth - 1);
      sites.push(spawnSiteOf(child) as string);
      yield* child.join();
    }
    await run(nest, 100);
    expect(sites).toHaveLength(100);
    for (const site of sites) {
      expect(site.split('\n').length).toBeLessThanOrEqual(3);
      expect(site.length).toBeLessThanOrEqual(3 * (MAX_FRAME_LENGTH + 1));
    }
  });
});

describe('stacks as text (engines without V8\'s stack API)', () => {
  const lib = new URL('../../src/', import.meta.url).href;
  it('keep the first frames that are not the library\'s or native, in V8\'s and SpiderMonkey\'s formats', () => {
    const v8 = [
      'Error',
      `    at captureSite (${lib}debug/sites.ts:1:1)`,
      `    at spawn (${lib}hub/task.ts:2:2)`,
      '    at Generator.next (<anonymous>)',
      '    at crawl (file:///app/crawl.ts:41:18)',
      '    at file:///app/main.ts:3:1',
      `    at drive (${lib}core/switcher.ts:9:9)`,
      '    at later (file:///app/main.ts:9:9)',
    ].join('\n');
    expect(trimStack(v8, 3)).toBe('crawl (file:///app/crawl.ts:41:18)\nfile:///app/main.ts:3:1');
    const spiderMonkey = [`spawn@${lib}hub/task.ts:2:2`, 'crawl@file:///app/crawl.ts:41:18', 'main@file:///app/main.ts:3:1'].join('\n');
    expect(trimStack(spiderMonkey, 1)).toBe('crawl@file:///app/crawl.ts:41:18');
  });
});

describe('spawners', () => {
  it('are the task that spawned, or main for plain code', async () => {
    recordSites({ spawn: false, wait: false });
    const fromMain = spawn(function* () {});
    let child!: Task;
    const parent = spawn(function* () {
      child = spawn(function* () {});
    });
    await parent;
    await child;
    expect(spawnerOf(fromMain)).toBe(getHub().parent);
    expect(spawnerOf(child)).toBe(parent);
    await fromMain;
  });

  it('are held weakly: a child does not keep its ended spawner alive', async () => {
    recordSites({ spawn: true });
    const ev = new Event();
    // Only the child is kept: the parent ends and nothing else refers to it. (In arrays:
    // a task is a thenable, which `await` and `return` from async code would wait for.)
    const [child] = await (async () => {
      const parent = spawn(function* spawnsAndEnds() {
        return [spawn(function* child() { yield* ev.wait(); })];
      });
      return (await parent) as Task[];
    })() as [Task];
    const gc = (globalThis as { gc?: () => void }).gc as () => void;
    for (let i = 0; i < 20 && spawnerOf(child) !== undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    expect(spawnerOf(child)).toBeUndefined();
    expect(spawnerRecorded(child)).toBe(true);
    ev.set();
    await child;
  });
});

describe('wait sites', () => {
  it('name the blocking call the task is parked in', async () => {
    recordSites({ wait: true });
    const ev = new Event();
    let line = 0;
    const task = spawn(function* waiter() {
      line = callerLine(); yield* ev.wait(); // prettier-ignore
    });
    await settle();
    expect(waitSiteOf(task)).toMatch(new RegExp(`^waiter \\(.*sites\\.test\\.ts:${line}:\\d+\\)$`));
    ev.set();
    await task;
  });

  it('are only reported while the task is parked', async () => {
    recordSites({ wait: true });
    let running: string | undefined = 'not read';
    const task = spawn(function* () {
      yield* sleep(0);
      running = waitSiteOf(task);
    });
    await task;
    expect(running).toBeUndefined();
  });

  it('are not recorded with { wait: false }', async () => {
    recordSites({ spawn: true, wait: false });
    const ev = new Event();
    const task = spawn(function* () {
      yield* ev.wait();
    });
    await settle();
    expect(waitSiteOf(task)).toBeUndefined();
    ev.set();
    await task;
  });

  it('appear in the hub\'s deadlock report under each parked task', async () => {
    recordSites({ wait: true });
    const ev = new Event();
    const task = spawn(function* stuck() {
      yield* ev.wait();
    });
    task.name = 'stuck';
    await settle();
    const hub = getHub();
    const blocked = hub.blockedTasks().find((b) => b.name === 'stuck') as BlockedTask;
    const reports: HubReport[] = [];
    const reporter = hub.reporter;
    hub.reporter = (r) => reports.push(r);
    try {
      hub.loopRanDry();
    } finally {
      hub.reporter = reporter;
    }
    expect(blocked.waitSite).toBe(waitSiteOf(task));
    const report = reports.find((r) => r.kind === 'deadlock');
    expect(report?.kind === 'deadlock' && report.message).toMatch(/ {2}stuck waits on Event\(clear, 1 waiting\) \(for \d+ ms\)\n {6}at stuck \(.*sites\.test\.ts:\d+:\d+\)/);
    task.kill();
  });
});

describe('errors that leave a task', () => {
  it('carry its spawn site as a non-enumerable spawnedAt, message and stack unchanged', async () => {
    recordSites({ spawn: true });
    const error = new RangeError('out of range');
    const stack = error.stack;
    const [task, line] = [spawn(function* fetchPage() { throw error; }), callerLine()];
    await expect(task).rejects.toBe(error);
    expect(greenletOf(error)).toBe(task.name);
    expect(spawnSiteOfError(error)).toBe(spawnSiteOf(task));
    expect(spawnSiteOfError(error)).toMatch(new RegExp(`sites\\.test\\.ts:${line}:\\d+\\)?(\\n|$)`));
    expect(Object.keys(error)).not.toContain('spawnedAt');
    expect(error.message).toBe('out of range');
    expect(error.stack).toBe(stack);
  });

  it('keep the spawn site of the first task they left when another re-raises them', async () => {
    recordSites({ spawn: true });
    const inner = spawn(function* inner() {
      throw new Error('inner');
    });
    const outer = spawn(function* outer() {
      yield* inner.get();
    });
    const error = await outer.then(
      () => null,
      (e: unknown) => e,
    );
    expect(spawnSiteOfError(error)).toBe(spawnSiteOf(inner));
    expect(spawnSiteOfError(error)).not.toBe(spawnSiteOf(outer));
  });

  it('get no spawn site when spawn sites are not recorded', async () => {
    const task = spawn(function* () {
      throw new Error('no site');
    });
    const error = await task.then(
      () => null,
      (e: unknown) => e,
    );
    expect(greenletOf(error)).toBe(task.name);
    expect(spawnSiteOfError(error)).toBeUndefined();
  });
});

describe('describeError', () => {
  it('prints the stack, then the greenlet it left and where that greenlet was spawned', async () => {
    recordSites({ spawn: true });
    const error = new Error('connection refused');
    const [task, line] = [spawn(function* fetchPage() { throw error; }), callerLine()];
    task.name = 'fetchPage-7';
    await task.then(
      () => null,
      () => null,
    );
    const text = describeError(error);
    expect(text.startsWith(error.stack as string)).toBe(true);
    expect(text.slice((error.stack as string).length)).toMatch(
      new RegExp(`^\\n {2}in greenlet fetchPage-7, spawned at:\\n {4}at .*test/debug/sites\\.test\\.ts:${line}:\\d+\\)?(\\n|$)`),
    );
  });

  it('names the greenlet even without a spawn site, and prints other errors as they are', async () => {
    const task = spawn(function* quiet() {
      throw new TypeError('bad');
    });
    task.name = 'quiet';
    await task.then(
      () => null,
      () => null,
    );
    const error = task.exception as TypeError;
    expect(describeError(error)).toBe(`${error.stack as string}\n  in greenlet quiet`);
    expect(describeError('just a string')).toBe('just a string');
  });
});
