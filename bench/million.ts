/**
 * `npm run bench:million`: the seed's claim, "millions, even tens of millions" of
 * greenlets per process. Creates 10,000,000 greenlets (or `--count N`), starts each, lets
 * each switch back to main once and keeps them all alive and suspended; then prints the
 * time taken and the memory used, and resumes them all to the end.
 *
 * For comparison: CPython's greenlet keeps ~6 KB per suspended greenlet (60 GB for ten
 * million; `npm run bench:reference` measures it).
 */
import { parseArgs } from 'node:util';
import { Greenlet, getcurrent, type GreenletBody } from 'greenlet-ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '10000000' } } });
const count = Number(values.count);
if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`--count must be a positive integer, not ${values.count}`);

const main = getcurrent();
let finished = 0;

function* once(i: number): GreenletBody<void> {
  const resumedWith = yield* main.switch();
  if (resumedWith === i) finished++;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

gc();
const before = process.memoryUsage();
const t0 = performance.now();
const greenlets: Greenlet[] = new Array(count);
for (let i = 0; i < count; i++) {
  const g = new Greenlet(once);
  g.switch(i);
  greenlets[i] = g;
}
const t1 = performance.now();
gc();
const after = process.memoryUsage();
const suspended = greenlets.filter((g) => g.active).length;

console.log(`${count.toLocaleString('en')} greenlets started and suspended in ${((t1 - t0) / 1000).toFixed(2)} s`);
console.log(`  ${((t1 - t0) * 1e6 / count).toFixed(0)} ns per greenlet (create + start + switch to main)`);
console.log(`  suspended now: ${suspended.toLocaleString('en')}`);
console.log(`  heap used: ${mb(after.heapUsed - before.heapUsed)} (${((after.heapUsed - before.heapUsed) / count).toFixed(0)} B per greenlet, the array of references included)`);
console.log(`  RSS: ${mb(after.rss)} (${((after.rss - before.rss) / count).toFixed(0)} B per greenlet)`);

const t2 = performance.now();
for (let i = 0; i < count; i++) (greenlets[i] as Greenlet).switch(i);
const t3 = performance.now();
console.log(`resumed all to the end in ${((t3 - t2) / 1000).toFixed(2)} s; finished: ${finished.toLocaleString('en')}`);
if (finished !== count) {
  console.error(`expected ${count} greenlets to finish, ${finished} did`);
  process.exitCode = 1;
}
