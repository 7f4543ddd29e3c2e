/**
 * `npm run soak`'s scale (target.ts): 1 in `npm test`; SOAK_SCALE (default 25) under the
 * soak, refused with a message saying what to do when it is not a whole number or the
 * descriptor limit is too low for it.
 */
import { describe, expect, it } from 'vitest';
import { descriptorsNeeded, soakScale } from './target.js';

describe('the soak scale', () => {
  it('is 1 without SOAK=1, whatever SOAK_SCALE says', () => {
    expect(soakScale({ SOAK_SCALE: '40' }, 1024)).toBe(1);
  });

  it('is 25 under SOAK=1 by default, SOAK_SCALE otherwise', () => {
    expect(soakScale({ SOAK: '1' }, 20_000)).toBe(25);
    expect(soakScale({ SOAK: '1', SOAK_SCALE: '4' }, 20_000)).toBe(4);
    expect(soakScale({ SOAK: '1' }, null)).toBe(25);
  });

  it('needs 400 descriptors per unit of scale and 200 more: 10,200 at 25', () => {
    expect(descriptorsNeeded(25)).toBe(10_200);
    expect(soakScale({ SOAK: '1' }, 10_200)).toBe(25);
    expect(() => soakScale({ SOAK: '1' }, 10_199)).toThrow(
      'npm run soak at scale 25 holds up to 10200 file descriptors in one process (both ends of 5000 connections): the limit is 10199. Raise it (ulimit -n 10200) or lower SOAK_SCALE',
    );
  });

  it('refuses a SOAK_SCALE that is not a whole number >= 1', () => {
    for (const bad of ['x', '0', '2.5', '-3']) {
      expect(() => soakScale({ SOAK: '1', SOAK_SCALE: bad }, null)).toThrow(`SOAK_SCALE takes a whole number >= 1 (how many times larger), not ${bad}`);
    }
  });
});
