import { describe, expect, it } from 'vitest';
import { Greenlet, getcurrent } from 'greenlet-ts';

describe('smoke', () => {
  it('runs the seed program', () => {
    const out: number[] = [];
    const gr1: Greenlet = new Greenlet(function* () {
      out.push(12);
      yield* gr2.switch();
      out.push(34);
    });
    const gr2: Greenlet = new Greenlet(function* () {
      out.push(56);
      yield* gr1.switch();
      out.push(78);
    });
    gr1.switch();
    expect(out).toEqual([12, 56, 34]);
    expect(getcurrent().parent).toBeNull();
  });
});
