/**
 * getswitchinterval() / setswitchinterval(): gevent's switch interval, in milliseconds,
 * and the values it refuses (how it bounds a pass: test/hub/sleep.test.ts, fairness).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { getswitchinterval, setswitchinterval } from 'greenlet-ts';

afterEach(() => {
  setswitchinterval(5);
});

describe('the switch interval', () => {
  it('is 5 ms by default, as gevent 0.005 s', () => {
    expect(getswitchinterval()).toBe(5);
  });

  it('reads back what was set, 0 and fractions included', () => {
    setswitchinterval(0.5);
    expect(getswitchinterval()).toBe(0.5);
    setswitchinterval(0);
    expect(getswitchinterval()).toBe(0);
    setswitchinterval(60_000);
    expect(getswitchinterval()).toBe(60_000);
  });

  it('refuses what is not a number with a TypeError that asks for milliseconds', () => {
    expect(() => setswitchinterval('5' as unknown as number)).toThrow(TypeError);
    expect(() => setswitchinterval('5' as unknown as number)).toThrow(
      'setswitchinterval() takes a time in milliseconds (a number, such as 5), not string',
    );
    expect(() => setswitchinterval(null as unknown as number)).toThrow('setswitchinterval() takes a time in milliseconds (a number, such as 5), not null');
    expect(() => setswitchinterval(undefined as unknown as number)).toThrow('not undefined');
    expect(getswitchinterval()).toBe(5);
  });

  it('refuses a negative, NaN or infinite interval with a RangeError, and keeps the one it had', () => {
    for (const bad of [-1, -0.001, NaN, Infinity, -Infinity]) {
      expect(() => setswitchinterval(bad)).toThrow(RangeError);
      expect(() => setswitchinterval(bad)).toThrow(
        `setswitchinterval(${bad}): the interval is a finite number of milliseconds >= 0 (default 5; 0 gives the event loop a turn every 50 resumes)`,
      );
    }
    expect(getswitchinterval()).toBe(5);
  });
});
