/**
 * Process + coroutine: CPU work on a pool of threads while tasks keep running, and a worker thread with its own hub fed through channels.
 * Run: npx tsx examples/process-and-coroutine.ts   → prints what the pool computed while a
 * ticker task kept ticking, then what the worker thread counted.
 *
 * One hub runs on one core: a task that computed for a second would hold every other task
 * of its thread for that second. `CpuPool.run()` sends the job to another thread and parks
 * only the calling task; the ticker below keeps ticking meanwhile. A worker thread started
 * with `startWorkers` loads its own copy of greenlet-ts (its own hub and tasks) and talks
 * through `remoteChannel`s: bounded, so a fast sender waits for a slow receiver.
 */
import { run, sleep, spawn } from 'greenlet-ts';
import { CpuPool, remoteChannel, startWorkers } from 'greenlet-ts/workers';
import type { CounterData } from './workers/word-counter.js';

/** What workers/primes-job.mjs exports. */
type CountPrimes = (job: { limit: number }) => number;

const pool = new CpuPool<CountPrimes>({ filename: new URL('./workers/primes-job.mjs', import.meta.url), maxThreads: 2 });

await run(function* () {
  // 1. CPU work on the pool; a ticker task shows the thread is free meanwhile.
  let ticks = 0;
  let computing = true;
  const ticker = spawn(function* () {
    while (computing) {
      ticks++;
      yield* sleep(1);
    }
  });
  const limits = [200_000, 300_000];
  const counts = yield* spawn(function* () {
    const jobs = limits.map((limit) => spawn(function* () {
      return yield* pool.run({ limit });
    }));
    const results: number[] = [];
    for (const job of jobs) results.push(yield* job.get());
    return results;
  }).get();
  computing = false;
  yield* ticker.join();
  for (const [i, limit] of limits.entries()) console.log(`primes below ${limit}: ${counts[i]}`);
  console.log(`the ticker task kept running meanwhile: ${ticks > 1 ? 'yes' : 'no'}`);
  yield* pool.destroy();

  // 2. A worker thread with its own hub, fed through a bounded channel in batches.
  const [lines, linesThere] = remoteChannel<string[]>(2);
  const [countsThere, wordCounts] = remoteChannel<number>(2);
  const data: CounterData = { lines: linesThere, counts: countsThere };
  const [worker] = startWorkers<string, CounterData>(new URL('./workers/word-counter.ts', import.meta.url), {
    count: 1,
    data,
    runner: new URL('./workers/tsx-runner.mjs', import.meta.url),
  });
  const text = ['the quick brown fox', 'jumps over', 'the lazy dog', 'greenlets switch', 'threads share nothing'];
  const sender = spawn(function* () {
    for (let i = 0; i < text.length; i += 2) yield* lines.send(text.slice(i, i + 2));
    lines.close();
  });
  const received: number[] = [];
  for (const it = wordCounts.iterate(); yield* it.next(); ) received.push(it.value);
  yield* sender.join();
  console.log(`words per batch, counted in the worker thread: ${received.join(', ')}`);
  console.log(`the worker's main task returned: ${yield* worker!.get()}`);
});
