/**
 * Seeing inside: the tree of live tasks, by parent and by spawner, with what each waits on and where it was spawned.
 * Run: npx tsx examples/run-info.ts   → prints formatRunInfo() for a small program whose
 * tasks are parked on a Queue, an Event, a sleep and a join; the same text that
 * `printRunInfo()`, the demo's `/runinfo` and `kill -USR2` give.
 *
 * Call sites are recorded only when asked (`recordSites()`: a stack capture per spawn and
 * park, a few microseconds each), so they are for investigating, not for production.
 */
import { Event, Queue, run, sleep, spawn } from 'greenlet-ts';
import { formatRunInfo, recordSites, stopRecordingSites } from 'greenlet-ts/debug';

recordSites({ spawn: true, wait: true });

await run(function* program() {
  const jobs = new Queue<string>();
  const go = new Event();
  const consumer = spawn(function* consumer() {
    return yield* jobs.get();
  });
  const waiter = spawn(function* waiter() {
    yield* go.wait();
  });
  const sleeper = spawn(function* sleeper() {
    yield* sleep(60_000);
  });
  const parent = spawn(function* parent() {
    const child = spawn(function* child() {
      yield* go.wait();
    });
    yield* child.join();
  });
  yield* sleep(0); // every task starts and parks
  // Durations change from run to run: show them as N.
  console.log(formatRunInfo({ spawnSites: true, waitSites: true }).replace(/\d+ ms/g, 'N ms').replace(/\d+ switches/, 'N switches'));
  go.set();
  jobs.putNowait('done');
  yield* sleeper.kill();
  for (const t of [consumer, waiter, parent]) yield* t.join();
});
stopRecordingSites();
