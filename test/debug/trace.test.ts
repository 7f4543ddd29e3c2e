/**
 * The trace recorder: the file it writes follows the Chrome Trace Event Format, shows
 * every greenlet on its own track with spans and instant events in order, respects its
 * bound, and leaves nothing installed when it stops. Also the GREENLET_TRACE variable.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  Greenlet,
  Queue,
  getHub,
  gettrace,
  run,
  settrace,
  sleep,
  spawn,
  type GreenletBody,
  type HubMonitor,
  type Task,
  type TraceFunction,
} from 'greenlet-ts';
import { ClockTicker } from '../../src/debug/clock-ticker.js';
import { startTrace, type TraceRecorder } from '../../src/debug/trace.js';
import type { TraceEvent, TraceFile } from '../../src/debug/trace-file.js';

let recorder: TraceRecorder | null = null;

afterEach(() => {
  recorder?.stop();
  recorder = null;
  expect(gettrace()).toBeNull();
  expect(getHub().monitor).toBeNull();
});

// --- checking a file against the format -------------------------------------------------

/** The events of one track (tid), metadata left out, in file order. */
function track(file: TraceFile, tid: number): TraceEvent[] {
  return file.traceEvents.filter((e) => e.ph !== 'M' && e.tid === tid);
}

/** The tid whose thread_name is `name`. */
function tidNamed(file: TraceFile, name: string): number {
  const meta = file.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === name);
  if (meta === undefined) throw new Error(`no track named ${name}`);
  return meta.tid;
}

/**
 * Every rule of the Trace Event Format the file relies on; returns the problems found
 * (none for a valid file), so that a failure lists them all.
 */
function formatProblems(file: TraceFile): string[] {
  // Checked as the format allows any phase, not only those the recorder writes.
  const events = file.traceEvents as (Omit<TraceEvent, 'ph'> & { ph: string })[];
  const problems: string[] = [];
  if (!Array.isArray(file.traceEvents)) return ['traceEvents is not an array'];
  const open = new Map<number, string[]>();
  const lastBegin = new Map<number, number>();
  const threadNames = new Map<number, number>();
  const used = new Set<number>();
  events.forEach((e, i) => {
    const at = `event ${i} (${JSON.stringify(e)})`;
    if (typeof e.name !== 'string') problems.push(`${at}: name is not a string`);
    if (!['X', 'i', 'M', 'B', 'E'].includes(e.ph)) problems.push(`${at}: unknown phase`);
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts)) problems.push(`${at}: ts is not a finite number`);
    if (!Number.isInteger(e.pid)) problems.push(`${at}: pid is not an integer`);
    if (!Number.isInteger(e.tid)) problems.push(`${at}: tid is not an integer`);
    if (e.ph === 'M') {
      if (e.name === 'thread_name') threadNames.set(e.tid, (threadNames.get(e.tid) ?? 0) + 1);
      return;
    }
    used.add(e.tid);
    if (e.ph === 'X' && (typeof e.dur !== 'number' || e.dur < 0)) problems.push(`${at}: X without a duration >= 0`);
    if (e.ph === 'i' && e.s !== 't') problems.push(`${at}: instant not scoped to its thread`);
    if (e.ph !== 'E') {
      const last = lastBegin.get(e.tid) ?? -Infinity;
      if (e.ts < last) problems.push(`${at}: time goes back on tid ${e.tid}`);
      lastBegin.set(e.tid, e.ts);
    }
    const stack = open.get(e.tid) ?? [];
    if (e.ph === 'B') stack.push(e.name);
    if (e.ph === 'E' && stack.pop() === undefined) problems.push(`${at}: E without B`);
    open.set(e.tid, stack);
  });
  for (const [tid, stack] of open) if (stack.length !== 0) problems.push(`tid ${tid}: ${stack.length} B without E`);
  for (const tid of used) if (threadNames.get(tid) !== 1) problems.push(`tid ${tid}: ${threadNames.get(tid) ?? 0} thread_name events, want 1`);
  return problems;
}

// --- the program traced by most tests ------------------------------------------------------

interface Traced {
  file: TraceFile;
  consumer: string;
  victim: string;
  sleeper: string;
  driver: string;
}

/**
 * Tasks that sleep, wait on a Queue and get killed, then two raw greenlets that switch
 * back and forth and one killed by a throw.
 */
async function tracedProgram(options?: Parameters<typeof startTrace>[0]): Promise<Traced> {
  recorder = startTrace(options);
  const queue = new Queue<number>();
  let consumer!: Task;
  let victim!: Task;
  let sleeper!: Task;
  let driver!: Task;
  await run(function* () {
    driver = spawn(function* driverTask() {
      consumer = spawn(function* consumerTask() {
        return yield* queue.get();
      });
      sleeper = spawn(function* sleeperTask() {
        yield* sleep(2);
      });
      victim = spawn(function* victimTask() {
        yield* sleep(10_000);
      });
      yield* sleep(1);
      queue.putNowait(42);
      yield* victim.kill();
      yield* consumer.join();
      yield* sleeper.join();
    });
    yield* driver.join();
  });
  const ping: Greenlet = new Greenlet(function* (): GreenletBody<string> {
    for (let i = 0; i < 3; i++) yield* pong.switch();
    return 'done';
  });
  const pong: Greenlet = new Greenlet(function* (): GreenletBody<void> {
    for (;;) yield* ping.switch();
  });
  ping.switch();
  pong.throw();
  const file = recorder.stop();
  return { file, consumer: consumer.name, victim: victim.name, sleeper: sleeper.name, driver: driver.name };
}

describe('a recorded trace', () => {
  let traced: Traced;
  beforeAll(async () => {
    traced = await tracedProgram();
    recorder = null;
  });

  it('follows the Trace Event Format: names, phases, times, pids and tids of the right types, one thread_name per track', () => {
    expect(formatProblems(traced.file)).toEqual([]);
    expect(traced.file.displayTimeUnit).toBe('ms');
    expect(new Set(traced.file.traceEvents.map((e) => e.pid))).toEqual(new Set([process.pid]));
  });

  it('has spans that never overlap, since one greenlet runs at a time', () => {
    const spans = traced.file.traceEvents.filter((e) => e.ph === 'X');
    expect(spans.length).toBeGreaterThan(10);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1] as TraceEvent;
      // Times are rounded to the nanosecond: allow that much.
      expect((spans[i] as TraceEvent).ts).toBeGreaterThanOrEqual(prev.ts + (prev.dur as number) - 0.002);
    }
  });

  it('gives each greenlet a track named after it: tasks by name, main, the hub and raw greenlets by label', () => {
    const names = traced.file.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args?.name);
    expect(names).toEqual(expect.arrayContaining(['main', 'hub', traced.driver, traced.consumer, traced.victim, traced.sleeper, 'greenlet #1', 'greenlet #2']));
    expect(traced.consumer).toMatch(/^consumerTask-\d+$/);
    for (const name of ['main', 'hub', traced.consumer, 'greenlet #1']) {
      expect(track(traced.file, tidNamed(traced.file, name)).some((e) => e.ph === 'X')).toBe(true);
    }
  });

  it("shows a task's life in order: spawn (by its spawner), park on the Queue, wake, end", () => {
    const instants = track(traced.file, tidNamed(traced.file, traced.consumer)).filter((e) => e.ph === 'i');
    expect(instants.map((e) => e.name)).toEqual(['spawn', 'park', 'wake', 'end']);
    expect(instants[0]?.args).toEqual({ spawner: traced.driver });
    expect(instants[1]?.args).toEqual({ on: 'queue.get() on Queue(0 items, 1 getter)' });
    expect(instants[2]?.args).toEqual({ with: 'value' });
    expect(instants[3]?.args).toEqual({ outcome: 'returned' });
  });

  it('shows a kill on the killed task: the error name, the wake with an error, the throw, the end', () => {
    const instants = track(traced.file, tidNamed(traced.file, traced.victim)).filter((e) => e.ph === 'i');
    expect(instants.map((e) => e.name)).toEqual(['spawn', 'park', 'kill', 'wake', 'throw', 'end']);
    expect(instants[1]?.args).toEqual({ on: 'sleep()' });
    expect(instants[2]?.args).toEqual({ error: 'GreenletExit' });
    expect(instants[3]?.args).toEqual({ with: 'error' });
    expect(instants[4]?.args).toEqual({ from: 'hub' });
    expect(instants[5]?.args).toEqual({ outcome: 'killed' });
  });

  it('shows raw greenlets switching as alternating spans, and a throw into one as an instant', () => {
    const spans = traced.file.traceEvents.filter((e) => e.ph === 'X').map((e) => e.name);
    const from = spans.indexOf('greenlet #1');
    expect(spans.slice(from - 1, from + 8)).toEqual([
      'main',
      'greenlet #1',
      'greenlet #2',
      'greenlet #1',
      'greenlet #2',
      'greenlet #1',
      'greenlet #2',
      'greenlet #1',
      'main',
    ]);
    const throws = track(traced.file, tidNamed(traced.file, 'greenlet #2')).filter((e) => e.name === 'throw');
    expect(throws.map((e) => e.args)).toEqual([{ from: 'main' }]);
  });

  it('round-trips through JSON.stringify and JSON.parse unchanged', () => {
    expect(JSON.parse(JSON.stringify(traced.file))).toEqual(traced.file);
  });

  it('says in its metadata how it was recorded', () => {
    expect(traced.file.otherData).toMatchObject({
      producer: 'greenlet-ts',
      limit: 1_000_000,
      overflow: 'drop-oldest',
      dropped: 0,
    });
    expect(traced.file.otherData.recorded).toBeGreaterThan(20);
  });
});

describe('the recorder', () => {
  it('times a long span from real clock readings, though it reads the clock only now and then', async () => {
    recorder = startTrace();
    await run(function* () {
      // Dense switching first, so that most events are not timed individually.
      const a = spawn(function* chatter() {
        for (let i = 0; i < 200; i++) yield* sleep(0);
      });
      yield* a.join();
      const busy = spawn(function* spinner() {
        const until = performance.now() + 30;
        while (performance.now() < until);
      });
      yield* busy.join();
    });
    const file = recorder.stop();
    const spinner = file.traceEvents.find((e) => e.ph === 'X' && e.name.startsWith('spinner-'));
    expect(spinner?.dur).toBeGreaterThanOrEqual(29_000);
    // The upper bound only says the span is the spin's, not the run's: a preemption inside
    // the span lengthens it on a loaded machine (200 ms was exceeded in a run of all test
    // files at once on 2 cores).
    expect(spinner?.dur).toBeLessThan(1_000_000);
  });

  it('records every park and wake of a fast ping-pong, each on the task it happened to', async () => {
    recorder = startTrace();
    // Give the clock's helper thread time to start, so that most events are not timed one by one.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rounds = 2000;
    let ponger!: Task;
    await run(function* () {
      const ping = new Channel<number>();
      const pong = new Channel<number>();
      ponger = spawn(function* pongerTask() {
        for (let i = 0; i < rounds; i++) yield* pong.send(((yield* ping.recv()) as number) + 1);
      });
      for (let i = 0; i < rounds; i++) {
        yield* ping.send(i);
        yield* pong.recv();
      }
    });
    const file = recorder.stop();
    expect(formatProblems(file)).toEqual([]);
    const names = track(file, tidNamed(file, ponger.name)).map((e) => e.name);
    const count = (name: string): number => names.filter((n) => n === name).length;
    expect(count('park')).toBe(rounds);
    expect(count('wake')).toBe(rounds);
    expect(count(ponger.name)).toBe(rounds + 1);
    // Each park is followed by a wake before the task runs again.
    const instants = names.filter((n) => n === 'park' || n === 'wake');
    expect(instants.every((n, i) => n === (i % 2 === 0 ? 'park' : 'wake'))).toBe(true);
  });

  it("with clock: 'exact' records the same events and says so", async () => {
    const { file, consumer } = await tracedProgram({ clock: 'exact' });
    expect(formatProblems(file)).toEqual([]);
    expect(file.otherData.clock).toBe('exact');
    const names = track(file, tidNamed(file, consumer))
      .filter((e) => e.ph === 'i')
      .map((e) => e.name);
    expect(names).toEqual(['spawn', 'park', 'wake', 'end']);
  });

  it('keeps only the most recent events past its limit, and says how many it dropped', async () => {
    recorder = startTrace({ limit: 50 });
    await run(function* () {
      for (let i = 0; i < 100; i++) yield* sleep(0);
    });
    const file = recorder.stop();
    expect(formatProblems(file)).toEqual([]);
    const events = file.traceEvents.filter((e) => e.ph !== 'M');
    // A park or a wake may share its place with the span that follows.
    expect(events.filter((e) => e.name !== 'park' && e.name !== 'wake').length).toBeLessThanOrEqual(50);
    expect(events.length).toBeGreaterThan(40);
    expect(events.length).toBeLessThanOrEqual(150);
    expect(file.otherData).toMatchObject({ limit: 50, overflow: 'drop-oldest' });
    expect(file.otherData.dropped).toBe(file.otherData.recorded - 50);
    expect(file.otherData.dropped).toBeGreaterThan(100);
    // The last events are there: the task's end.
    expect(events.some((e) => e.name === 'end')).toBe(true);
  });

  it("with overflow: 'stop' keeps the first events and stops recording at the limit", async () => {
    recorder = startTrace({ limit: 50, overflow: 'stop' });
    await run(function* () {
      for (let i = 0; i < 100; i++) yield* sleep(0);
    });
    const file = recorder.stop();
    expect(formatProblems(file)).toEqual([]);
    const events = file.traceEvents.filter((e) => e.ph !== 'M');
    expect(events.filter((e) => e.name !== 'park' && e.name !== 'wake').length).toBeLessThanOrEqual(50);
    expect(events.length).toBeGreaterThan(40);
    expect(events.some((e) => e.name === 'spawn')).toBe(true);
    expect(events.some((e) => e.name === 'end')).toBe(false);
    expect(file.otherData).toMatchObject({ overflow: 'stop' });
    expect(file.otherData.dropped).toBe(file.otherData.recorded - 50);
  });

  it('closes the span that is running when it stops', async () => {
    recorder = startTrace();
    let file!: TraceFile;
    await run(function* stopper() {
      yield* sleep(0);
      file = (recorder as TraceRecorder).stop();
    });
    expect(formatProblems(file)).toEqual([]);
    const spans = file.traceEvents.filter((e) => e.ph === 'X');
    const last = spans[spans.length - 1] as TraceEvent;
    expect(last.name).toMatch(/^stopper-\d+$/);
    expect(last.dur).toBeGreaterThanOrEqual(0);
  });

  it('puts back the trace function and hub monitor it found, which saw every event meanwhile', async () => {
    const switches: string[] = [];
    const parks: string[] = [];
    const tracer: TraceFunction = (event) => switches.push(event);
    const monitor: HubMonitor = { parked: (_t, parking) => parks.push(String(parking)) };
    settrace(tracer);
    getHub().monitor = monitor;
    try {
      recorder = startTrace();
      await run(function* () {
        yield* sleep(0);
      });
      const file = recorder.stop();
      expect(gettrace()).toBe(tracer);
      expect(getHub().monitor).toBe(monitor);
      expect(parks).toEqual(['sleep(0)']);
      expect(switches.length).toBe(file.traceEvents.filter((e) => e.ph === 'X').length - 1);
    } finally {
      settrace(null);
      getHub().monitor = null;
    }
  });

  it('stopped while a tracer installed after it still calls it, leaves that tracer in place and keeps forwarding', async () => {
    const first: string[] = [];
    settrace((event) => first.push(event));
    try {
      recorder = startTrace();
      const ours = gettrace() as TraceFunction;
      const later: TraceFunction = (event, args) => ours(event, args);
      settrace(later);
      recorder.stop();
      expect(gettrace()).toBe(later);
      first.length = 0;
      await run(function* () {
        yield* sleep(0);
      });
      expect(first.length).toBeGreaterThan(0);
    } finally {
      settrace(null);
    }
  });

  it('stopped under a monitor that later puts it back on the hub, steps aside at the next event', async () => {
    recorder = startTrace();
    const ours = getHub().monitor as HubMonitor;
    const onTop: HubMonitor = { parked: (task, parking) => ours.parked?.(task, parking) };
    getHub().monitor = onTop;
    recorder.stop();
    expect(getHub().monitor).toBe(onTop);
    getHub().monitor = ours; // what a fan-out of monitors does when its last observer leaves
    await run(function* () {
      yield* sleep(0);
    });
    expect(getHub().monitor).toBeNull();
  });

  it('stops once: stop() again returns the same file', () => {
    recorder = startTrace();
    const file = recorder.stop();
    expect(recorder.recording).toBe(false);
    expect(recorder.stop()).toBe(file);
  });

  it('writes the file with writeTo, one event per line, as JSON that parses back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    try {
      recorder = startTrace();
      await run(function* () {
        yield* sleep(0);
      });
      const path = join(dir, 'trace.json');
      const file = recorder.writeTo(path);
      const text = readFileSync(path, 'utf8');
      expect(JSON.parse(text)).toEqual(file);
      expect(text.split('\n').length).toBeGreaterThan(file.traceEvents.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a limit that is not a whole number of events, saying what to pass', () => {
    expect(() => startTrace({ limit: 0 })).toThrow(/the limit is a number of events, a whole number >= 1/);
    expect(() => startTrace({ limit: 1.5 })).toThrow(RangeError);
    expect(gettrace()).toBeNull();
  });

  it('records errors that end a task under their name', async () => {
    recorder = startTrace();
    const failing = spawn(function* failing() {
      yield* sleep(0);
      throw new RangeError('no');
    });
    await expect(failing).rejects.toThrow('no');
    const file = recorder.stop();
    const end = track(file, tidNamed(file, failing.name)).find((e) => e.name === 'end');
    expect(end?.args).toEqual({ outcome: 'failed', error: 'RangeError' });
  });
});

describe('the clock ticker of the sampled clock', () => {
  it('ticks about every millisecond, and its thread ends when stopped', async () => {
    const ticker = ClockTicker.start(1);
    expect(ticker).not.toBeNull();
    const { ticks, exited } = ticker as ClockTicker;
    const deadline = performance.now() + 5_000;
    while (Atomics.load(ticks, 0) < 5 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(Atomics.load(ticks, 0)).toBeGreaterThanOrEqual(5);
    (ticker as ClockTicker).stop();
    await exited;
    const final = Atomics.load(ticks, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(Atomics.load(ticks, 0)).toBe(final);
  });
});

describe('GREENLET_TRACE', () => {
  it('traces a program that knows nothing of it, and writes the file when the process exits', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const fixture = fileURLToPath(new URL('./fixtures/traced-app.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    try {
      const path = join(dir, 'trace-%p.json');
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', './src/debug/auto-trace.ts', fixture], {
        cwd: root,
        env: { ...process.env, GREENLET_TRACE: path },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20_000,
      });
      expect(JSON.parse(out)).toEqual({ total: 42 });
      const [written] = readdirSync(dir);
      expect(written).toMatch(/^trace-\d+\.json$/);
      const file = JSON.parse(readFileSync(join(dir, written as string), 'utf8')) as TraceFile;
      expect(formatProblems(file)).toEqual([]);
      const consumer = file.traceEvents.find((e) => e.name === 'thread_name' && String(e.args?.name).startsWith('consumer-'));
      expect(consumer).toBeDefined();
      const instants = track(file, (consumer as TraceEvent).tid).filter((e) => e.ph === 'i');
      expect(instants.map((e) => e.name)).toEqual(['spawn', 'park', 'wake', 'end']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
