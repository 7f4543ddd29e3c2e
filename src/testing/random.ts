/**
 * The seeded generator behind every random decision of the testing layer: sfc32 (Chris
 * Doty-Humphrey's small fast counter), 32-bit state words, so that a seed gives the same
 * sequence in every JavaScript engine. Not for anything that needs unpredictability.
 *
 * @module
 */

/** A seeded pseudo-random generator: the same seed, the same sequence, everywhere. */
export class Random {
  // The four words of sfc32 live in a typed array: held in object fields, 32-bit values
  // beyond the small-integer range would be boxed, an allocation per word per draw.
  readonly #s = new Int32Array(4);

  /** @param seed - any number; its integer part (mod 2^32) is used. */
  constructor(seed: number) {
    const s = this.#s;
    s[0] = 0x9e3779b9;
    s[1] = 0x243f6a88;
    s[2] = Math.trunc(seed) >>> 0;
    s[3] = 1;
    // Warm up, so that nearby seeds give unrelated sequences.
    for (let i = 0; i < 15; i++) this.#step();
  }

  /** One step; the result as a signed 32-bit integer. */
  #step(): number {
    const s = this.#s;
    const a = s[0] as number;
    const b = s[1] as number;
    const c = s[2] as number;
    const d = s[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t;
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    return this.#step() >>> 0;
  }

  /** A whole number in [0, n), n >= 1. */
  below(n: number): number {
    // The top 30 bits: a small integer, never boxed.
    return n <= 1 ? 0 : Math.floor(((this.#step() >>> 2) / 0x4000_0000) * n);
  }

  /** A number in [0, 1). */
  float(): number {
    return (this.#step() >>> 0) / 0x1_0000_0000;
  }
}

/** The seed of run `index` of an exploration seeded with `seed`: unrelated for nearby runs. */
export function runSeed(seed: number, index: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
