/**
 * The program traced for the picture in the docs (docs/trace-example.png): a producer
 * feeds a bounded Queue, two workers take items and work on them (a timer, then some CPU),
 * a reporter waits on an Event, and the supervisor kills the workers at the end.
 *
 * ```sh
 * GREENLET_TRACE=/tmp/trace-example.json node --import tsx --import ./src/debug/auto-trace.ts scripts/trace-example.ts
 * node --import tsx scripts/trace-picture.ts /tmp/trace-example.json docs/trace-example.png
 * ```
 */
import { Event, Queue, killall, run, sleep, spawn } from 'greenlet-ts';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

await run(function* supervisor() {
  const queue = new Queue<number>(2);
  const allDone = new Event();
  let handled = 0;

  const workers = [1, 2].map((n) => {
    const worker = spawn(function* worker() {
      for (;;) {
        const item = yield* queue.get();
        yield* sleep(2 + item);
        busy(1);
        if (++handled === 6) allDone.set();
      }
    });
    worker.name = `worker-${n}`;
    return worker;
  });

  const producer = spawn(function* producer() {
    for (let i = 0; i < 6; i++) {
      busy(0.5);
      yield* queue.put(i);
    }
  });
  producer.name = 'producer';

  const reporter = spawn(function* reporter() {
    yield* allDone.wait();
    busy(1);
  });
  reporter.name = 'reporter';

  yield* producer.join();
  yield* reporter.join();
  yield* killall(workers);
});
