/**
 * A task's end is settled without resuming the hub's generator (the switcher's end hook,
 * core/switcher.ts `setEndHook`), except while a trace function is set. Both paths must
 * show the same events in the same order: ends, wakes, links, rawlinks, joins, reports,
 * and the event loop's turn after a pass's budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getHub, run, settrace, spawn, switchCount, type HubReport, type Task } from 'greenlet-ts';

const hub = getHub();
const reporter = hub.reporter;

afterEach(() => {
  settrace(null);
  hub.monitor = null;
  hub.reporter = reporter;
});

/** 1,200 tasks (more than one pass) that return or fail, joined, linked and rawlinked. */
async function scenario(): Promise<string[]> {
  const log: string[] = [];
  const ids = new WeakMap<object, string>();
  const id = (t: object): string => ids.get(t) ?? '?';
  hub.monitor = {
    ended: (t, failed) => log.push(`ended ${id(t)}${failed ? ' failed' : ''}`),
    woken: (t, throws) => log.push(`woken ${id(t)}${throws ? ' with an error' : ''}`),
  };
  hub.reporter = (report: HubReport) => log.push(`report ${report.kind} ${report.kind === 'task-error' ? id(report.task) : ''}`);
  await run(function* () {
    ids.set(spawn(function* () {}), 'first'); // makes the run's own task known by elimination
    setImmediate(() => log.push('event loop'));
    const tasks: Task[] = [];
    for (let i = 0; i < 1200; i++) {
      const t = spawn(function* () {
        log.push(`run ${i}`);
        if (i % 7 === 3) throw new Error(`e${i}`);
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
  await new Promise((resolve) => setTimeout(resolve, 10)); // the reports of unobserved failures
  hub.monitor = null;
  hub.reporter = reporter;
  return log;
}

describe('the end of a task', () => {
  it('shows the same events in the same order with a trace function set (the hub settles it) and without', async () => {
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
