/**
 * Composable observers (src/debug/monitors.ts): several debug features share the hub's
 * one monitor slot and the switcher's one trace function.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Greenlet, getHub, gettrace, printReport, run, settrace, sleep, spawn, type HubReport, type TraceFunction } from 'greenlet-ts';
import { addHubMonitor, addSwitchObserver, type DebugMonitor } from '../../src/debug/monitors.js';

afterEach(() => {
  getHub().reporter = printReport;
  expect(getHub().monitor).toBeNull();
  expect(gettrace()).toBeNull();
});

describe('addHubMonitor', () => {
  it('lets several observers see the same events through one monitor, and removes it when the last leaves', async () => {
    const seen: [string, unknown][] = [];
    const stopA = addHubMonitor({ spawned: (t) => seen.push(['a', t]) });
    const stopB = addHubMonitor({ spawned: (t) => seen.push(['b', t]) });
    const monitor = getHub().monitor;
    expect(monitor).not.toBeNull();
    const task = spawn(function* () {});
    await task;
    stopA();
    expect(getHub().monitor).toBe(monitor);
    stopB();
    stopB(); // a second call does nothing
    expect(getHub().monitor).toBeNull();
    expect(seen.map(([who, t]) => [who, t === task])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });

  it('keeps calling a monitor that was installed before, and puts it back at the end', async () => {
    const before: string[] = [];
    const earlier = { ended: () => before.push('ended') };
    getHub().monitor = earlier;
    const stop = addHubMonitor({});
    await spawn(function* () {});
    stop();
    expect(getHub().monitor).toBe(earlier);
    expect(before).toEqual(['ended']);
    getHub().monitor = null;
  });

  it('reports an observer that throws and still calls the others', async () => {
    const reports: HubReport[] = [];
    getHub().reporter = (r) => reports.push(r);
    const boom = new Error('observer bug');
    let called = 0;
    const stopA = addHubMonitor({
      ended: () => {
        throw boom;
      },
    });
    const stopB = addHubMonitor({ ended: () => called++ });
    await spawn(function* () {});
    stopA();
    stopB();
    expect(called).toBe(1);
    expect(reports).toEqual([{ kind: 'callback-error', where: 'a debug monitor (ended)', error: boom }]);
  });

  it('steps aside at the next event when a monitor installed on top of it gives the hub back', async () => {
    const stop = addHubMonitor({});
    const ours = getHub().monitor as DebugMonitor;
    const onTop = { ended: () => {} };
    getHub().monitor = onTop; // e.g. a tool that chains to what it found
    stop(); // not on top: it stays, observing nothing
    expect(getHub().monitor).toBe(onTop);
    getHub().monitor = ours; // the one on top leaves, restoring what it found
    await spawn(function* () {});
    expect(getHub().monitor).toBeNull();
  });

  it('answers the wait site of a task with the first observer that knows it', () => {
    const stopA = addHubMonitor({ waitSite: () => undefined });
    const stopB = addHubMonitor({ waitSite: () => 'worker (app.ts:1:2)' });
    const task = spawn(function* () {});
    expect((getHub().monitor as DebugMonitor).waitSite?.(task)).toBe('worker (app.ts:1:2)');
    stopA();
    stopB();
    task.kill();
  });
});

describe('addSwitchObserver', () => {
  it('lets several observers see every switch through one trace function, and removes it at the end', () => {
    const a: string[] = [];
    const b: string[] = [];
    const stopA = addSwitchObserver((event) => a.push(event));
    const stopB = addSwitchObserver((event) => b.push(event));
    const g = new Greenlet(() => 'done');
    g.switch();
    stopA();
    stopB();
    expect(a).toEqual(['switch', 'switch']);
    expect(b).toEqual(a);
    expect(gettrace()).toBeNull();
  });

  it('calls a trace function installed before it first, and puts it back at the end', () => {
    const order: string[] = [];
    const earlier: TraceFunction = () => order.push('earlier');
    settrace(earlier);
    const stop = addSwitchObserver(() => order.push('observer'));
    new Greenlet(() => undefined).switch();
    stop();
    expect(order.slice(0, 2)).toEqual(['earlier', 'observer']);
    expect(gettrace()).toBe(earlier);
    settrace(null);
  });

  it('reports and removes an observer that throws, and the switch goes on', () => {
    const reports: HubReport[] = [];
    getHub().reporter = (r) => reports.push(r);
    const boom = new Error('tracer bug');
    let calls = 0;
    const stopA = addSwitchObserver(() => {
      throw boom;
    });
    const stopB = addSwitchObserver(() => calls++);
    expect(new Greenlet(() => 42).switch()).toBe(42);
    stopA();
    stopB();
    expect(calls).toBe(2);
    expect(reports).toEqual([{ kind: 'callback-error', where: 'a debug trace function (removed)', error: boom }]);
  });

  it('steps aside at the next switch when a trace function installed on top of it gives control back', async () => {
    const stop = addSwitchObserver(() => {});
    const ours = gettrace() as TraceFunction;
    const onTop: TraceFunction = (event, args) => ours(event, args);
    settrace(onTop);
    stop(); // not on top: it stays in the chain, observing nothing
    expect(gettrace()).toBe(onTop);
    settrace(ours); // the one on top leaves, restoring what it found
    await run(function* () {
      yield* sleep(0);
    });
    expect(gettrace()).toBeNull();
  });
});
