/**
 * A task's end is settled without resuming the hub's generator (the switcher's end hook,
 * core/switcher.ts `setEndHook`), except while a trace function is set. Both paths must
 * show the same events in the same order: ends, wakes, links, rawlinks, joins, reports,
 * and the event loop's turn at the end of a pass (with the switch interval at 0, every 50
 * resumes, so that the passes end at the same points on both paths, whatever the time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getHub, run, setswitchinterval, settrace, spawn, switchCount, type HubReport, type Task } from 'greenlet-ts';

const hub = getHub();
const reporter = hub.reporter;

afterEach(() => {
  settrace(null);
  setswitchinterval(5);
  hub.monitor = null;
  hub.reporter = reporter;
});

/**
 * Run `fn` in a turn of the event loop of its own, as the hub schedules its next pass: with
 * `setImmediate` where the host has it (Node, Deno, Bun), else a `MessageChannel`
 * (browsers), else a zero-delay timer (JavaScriptCore's shell).
 */
function macrotask(fn: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(fn);
  else if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    // The DOM's MessagePort (onmessage), which Node's types do not describe.
    (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
      channel.port1.close();
      fn();
    };
    channel.port2.postMessage(null);
  } else setTimeout(fn, 0);
}

const COUNT = 1200;
const fails = (i: number) => i % 7 === 3;
/**
 * The failures that must be reported: those of tasks nobody links to (every 5th is
 * rawlinked, every 11th linked) and nobody gets (the run gets the even ones). The hub
 * reports them a turn of the event loop after their pass, which may come after run()
 * has returned; an even one may be reported too if its pass's report comes before the get.
 */
const mustReport = Array.from({ length: COUNT }, (_, i) => i).filter((i) => fails(i) && i % 2 === 1 && i % 5 !== 0 && i % 11 !== 0);

/** 1,200 tasks (more than one pass) that return or fail, joined, linked and rawlinked. */
async function scenario(): Promise<string[]> {
  const log: string[] = [];
  const ids = new WeakMap<object, string>();
  const id = (t: object): string => ids.get(t) ?? '?';
  const unreported = new Set(mustReport.map((i) => `t${i}`));
  let allReported: () => void = () => {};
  const reported = new Promise<void>((resolve) => (allReported = resolve));
  hub.monitor = {
    ended: (t, failed) => log.push(`ended ${id(t)}${failed ? ' failed' : ''}`),
    woken: (t, throws) => log.push(`woken ${id(t)}${throws ? ' with an error' : ''}`),
  };
  hub.reporter = (report: HubReport) => {
    log.push(`report ${report.kind} ${report.kind === 'task-error' ? id(report.task) : ''}`);
    if (report.kind === 'task-error') unreported.delete(id(report.task));
    if (unreported.size === 0) allReported();
  };
  await run(function* () {
    ids.set(spawn(function* () {}), 'first'); // makes the run's own task known by elimination
    macrotask(() => log.push('event loop'));
    const tasks: Task[] = [];
    for (let i = 0; i < COUNT; i++) {
      const t = spawn(function* () {
        log.push(`run ${i}`);
        if (fails(i)) throw new Error(`e${i}`);
        return i;
      });
      ids.set(t, `t${i}`);
      if (i % 5 === 0) t.rawlink((x) => log.push(`rawlink ${id(x)}`));
      if (i % 11 === 0) t.link(function* (x) { log.push(`link ${id(x)}`); });
      tasks.push(t);
    }
    for (let j = 0; j < 6; j++) {
      const joiner = spawn(function* () {
        log.push(`joined ${j} ${String(yield* (tasks[j * 200] as Task).join())}`);
      });
      ids.set(joiner, `joiner${j}`);
    }
    for (let i = 0; i < tasks.length; i += 2) {
      try {
        log.push(`got ${String(yield* (tasks[i] as Task).get())}`);
      } catch (e) {
        log.push(`got error ${(e as Error).message}`);
      }
    }
  });
  // The reports of the failures nobody observed; the limit only turns a missing report into a message.
  let limit: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    reported,
    new Promise<never>((_, reject) => {
      limit = setTimeout(() => reject(new Error(`no report for ${[...unreported].join(', ')} after 10 s`)), 10_000);
    }),
  ]).finally(() => clearTimeout(limit));
  hub.monitor = null;
  hub.reporter = reporter;
  return log;
}

describe('the end of a task', () => {
  it('shows the same events in the same order with a trace function set (the hub settles it) and without', async () => {
    setswitchinterval(0);
    const direct = await scenario();
    settrace(() => {});
    const traced = await scenario();
    settrace(null);
    expect(direct).toEqual(traced);
    // The scenario covers what it should: both kinds of end, links, a pass boundary.
    expect(direct).toContain('ended t3 failed');
    expect(direct).toContain('rawlink t5');
    expect(direct).toContain('link t11');
    expect(direct).toContain('joined 1 true');
    expect(direct).toContain('report task-error t3');
    expect(direct.indexOf('event loop')).toBeGreaterThan(direct.indexOf('run 0'));
    expect(direct.indexOf('event loop')).toBeLessThan(direct.indexOf('run 1199'));
  });

  it('passes control from the ended task straight to the next ready one', async () => {
    let transfers = 0;
    await run(function* () {
      const before = switchCount();
      yield* spawn(function* () {
        return 1;
      }).join();
      transfers = switchCount() - before;
    });
    // The joiner parks (to the new task, which starts), the task ends (to the joiner):
    // the hub's generator is not resumed in between.
    expect(transfers).toBe(1);
  });
});
