/**
 * The seeded generator behind every random decision of the testing layer: sfc32 (Chris
 * Doty-Humphrey's small fast counter), 32-bit state words, so that a seed gives the same
 * sequence in every JavaScript engine. Not for anything that needs unpredictability.
 *
 * @module
 */

/** A seeded pseudo-random generator: the same seed, the same sequence, everywhere. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  /** @param seed - any number; its integer part (mod 2^32) is used. */
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = Math.trunc(seed) >>> 0;
    // Warm up, so that nearby seeds give unrelated sequences.
    for (let i = 0; i < 15; i++) this.next();
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** A whole number in [0, n), n >= 1. */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** A number in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }
}

/** The seed of run `index` of an exploration seeded with `seed`: unrelated for nearby runs. */
export function runSeed(seed: number, index: number): number {
  let h = (Math.trunc(seed) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
