/**
 * The seed's program: two greenlets switching back and forth.
 * Run: npx tsx examples/seed.ts   → prints 12, 56, 34 (78 is never printed)
 *
 * gr1 and gr2 refer to each other, so TypeScript needs their type spelled out
 * (`: Greenlet`); it cannot infer a type from an initializer that mentions itself.
 */
import { Greenlet } from 'greenlet-ts';

const gr1: Greenlet = new Greenlet(function* () {
  console.log(12);
  yield* gr2.switch();
  console.log(34);
});

const gr2: Greenlet = new Greenlet(function* () {
  console.log(56);
  yield* gr1.switch();
  console.log(78);
});

gr1.switch();
