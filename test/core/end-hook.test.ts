/**
 * The switcher's end hook (`setEndHook`, internal): how the hub takes the ends of its
 * tasks without its generator being resumed for each. The hub's own use is pinned in
 * test/hub/task-end.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Greenlet, GreenletExit, getcurrent, settrace, switchCount, type GreenletBody } from 'greenlet-ts';
import { endTransfer, setEndHook, K_VALUE, type EndHook } from '../../src/core/switcher.js';

const main = getcurrent();
// The hub installs its hook when the library loads: put it back after each test.
const [hubOwner, hubHook] = setEndHook(null, null);
setEndHook(hubOwner, hubHook);

afterEach(() => {
  setEndHook(hubOwner, hubHook);
  settrace(null);
});

/** An owner that records what reaches its generator, switching back to main after each. */
function recordingOwner(seen: unknown[]): Greenlet {
  return new Greenlet(function* (): GreenletBody<void> {
    let value: unknown = yield* main.switch('owner ready');
    for (;;) {
      seen.push(value);
      value = yield* main.switch('owner resumed');
    }
  });
}

/**
 * A recording owner, started, whose end hook declines every end and counts its calls:
 * the ends go to the owner as without a hook.
 */
function decliningOwner(seen: unknown[]): { owner: Greenlet; calls: () => number } {
  const owner = recordingOwner(seen);
  owner.switch();
  let calls = 0;
  const decline: EndHook = () => {
    calls++;
    return false;
  };
  setEndHook(owner, decline);
  return { owner, calls: () => calls };
}

describe('the end hook', () => {
  // A child's run is a generator (it ends in its generator) or a plain function (it ends at
  // its start, before any generator runs): the hook is offered either end.
  const runs = {
    'a generator': (value: unknown) =>
      function* () {
        return value;
      },
    'a plain function, which ends at its start,': (value: unknown) => () => value,
  };
  const failingRuns = {
    'a generator': (error: unknown) =>
      function* () {
        throw error;
      },
    'a plain function, at its start': (error: unknown) => () => {
      throw error;
    },
  };

  it.each(Object.entries(runs))('takes the end of a child of its owner whose run is %s: the transfer it asks for happens, the owner is not resumed', (_kind, run) => {
    const seen: unknown[] = [];
    const owner = recordingOwner(seen);
    owner.switch();
    const calls: unknown[] = [];
    setEndHook(owner, (dead, failed, outcome) => {
      calls.push([dead, failed, outcome, getcurrent() === owner]);
      return endTransfer(main, K_VALUE, 'from the hook');
    });
    const child = new Greenlet(run(42), owner);
    const before = switchCount();
    expect(child.switch()).toBe('from the hook');
    expect(calls).toEqual([[child, false, 42, true]]);
    expect(seen).toEqual([]);
    expect(child.dead).toBe(true);
    expect(switchCount() - before).toBe(1); // owner → main only: the child's end went to no generator
  });

  it.each(Object.entries(failingRuns))('is told of an error that ends the child, raised by %s', (_kind, run) => {
    const owner = recordingOwner([]);
    owner.switch();
    const error = new RangeError('child failed');
    let got: unknown[] = [];
    setEndHook(owner, (_dead, failed, outcome) => {
      got = [failed, outcome];
      return endTransfer(main, K_VALUE, 'handled');
    });
    const child = new Greenlet(run(error), owner);
    expect(child.switch()).toBe('handled');
    expect(got).toEqual([true, error]);
  });

  it('is not offered the end of a child killed before it started: that goes to the owner', () => {
    const seen: unknown[] = [];
    const { owner, calls } = decliningOwner(seen);
    const child = new Greenlet(function* () {
      return 'never';
    }, owner);
    const exit = new GreenletExit('before start');
    expect(child.throw(exit)).toBe('owner resumed');
    expect(calls()).toBe(0);
    expect(seen).toEqual([exit]);
    expect(child.dead).toBe(true);
  });

  it.each(Object.entries(runs))('that declines the end of a child whose run is %s leaves it to the owner, as without a hook', (_kind, run) => {
    const seen: unknown[] = [];
    const { owner, calls } = decliningOwner(seen);
    const child = new Greenlet(run('result'), owner);
    expect(child.switch()).toBe('owner resumed');
    expect(calls()).toBe(1);
    expect(seen).toEqual(['result']);
  });

  it('is not called for the children of other greenlets', () => {
    const { calls } = decliningOwner([]);
    const child = new Greenlet(function* () {
      return 'to main';
    });
    expect(child.switch()).toBe('to main');
    expect(calls()).toBe(0);
  });

  it('is not called while a trace function is set: the tracer sees the end go to the owner', () => {
    const seen: unknown[] = [];
    const { owner, calls } = decliningOwner(seen);
    const events: string[] = [];
    const child = new Greenlet(function* () {
      return 'traced';
    }, owner);
    settrace((event, [origin, target]) => {
      const name = (g: Greenlet): string => (g === main ? 'main' : g === owner ? 'owner' : g === child ? 'child' : '?');
      events.push(`${event} ${name(origin)} -> ${name(target)}`);
    });
    expect(child.switch()).toBe('owner resumed');
    expect(calls()).toBe(0);
    expect(seen).toEqual(['traced']);
    expect(events).toEqual(['switch main -> child', 'switch child -> owner', 'switch owner -> main']);
  });
});
