/**
 * Producers and consumers around a bounded Queue: producers wait while it is full, then everything shuts down cleanly.
 * Run: npx tsx examples/producer-consumer.ts   → prints what each consumer handled, then a summary: items produced
 * and consumed, the largest queue size seen (never above the bound) and how many puts had to wait for room.
 *
 * Two producers put items as fast as they can; three consumers, of different speeds, take
 * them. `maxsize` is the back-pressure: a `put` on a full queue parks the producer until a
 * consumer makes room, so the queue never holds more than `BOUND` items, however far the
 * producers are ahead. The faster consumer takes more items: whoever asks first gets the
 * next one.
 *
 * Shutting down is two steps: `join()` waits until every item put has been marked done
 * (`taskDone()`, after the work), and `shutdown()` then wakes the consumers still waiting
 * in `get()` with `ShutDown`, which ends their loops.
 *
 * The "work" is `sleep(0)`, which lets the other tasks run and involves no clock: a slow
 * consumer spends more hub passes per item. The run is the same on every machine.
 */
import { Queue, ShutDown, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';

const BOUND = 3;
const PRODUCERS = { A: 8, B: 8 }; // name: how many items it produces
const CONSUMERS = { fast: 1, medium: 2, slow: 3 }; // name: hub passes of work per item

const queue = new Queue<string>(BOUND);
let largestSizeSeen = 0;
let putsThatWaited = 0;

function* produce(name: string, count: number): GreenletBody<void> {
  for (let i = 1; i <= count; i++) {
    if (queue.full()) putsThatWaited++; // this put parks until a consumer takes an item
    yield* queue.put(`${name}${i}`);
    largestSizeSeen = Math.max(largestSizeSeen, queue.size);
  }
}

/** Handle items until the queue is shut down; evaluates to the items it handled. */
function* consume(passesPerItem: number): GreenletBody<string[]> {
  const handled: string[] = [];
  for (;;) {
    let item: string;
    try {
      item = yield* queue.get();
    } catch (error) {
      if (error instanceof ShutDown) return handled;
      throw error;
    }
    for (let pass = 0; pass < passesPerItem; pass++) yield* sleep(0);
    handled.push(item);
    queue.taskDone();
  }
}

const handledBy = await run(function* () {
  const consumers = Object.entries(CONSUMERS).map(([name, passes]) => [name, spawn(consume, passes)] as const);
  const producers = Object.entries(PRODUCERS).map(([name, count]) => spawn(produce, name, count));
  for (const producer of producers) yield* producer.get(); // every item is in the queue or taken
  yield* queue.join(); // ...and marked done
  queue.shutdown(); // the consumers, all waiting in get(), raise ShutDown and return
  const handled = new Map<string, string[]>();
  for (const [name, consumer] of consumers) handled.set(name, yield* consumer.get());
  return handled;
});

const produced = Object.values(PRODUCERS).reduce((sum, count) => sum + count, 0);
const consumed = [...handledBy.values()].flat();
for (const [name, items] of handledBy) console.log(`${name.padEnd(6)} handled ${items.join(' ')}`);
console.log(`produced: ${produced} items (${Object.entries(PRODUCERS).map(([name, count]) => `${name} ${count}`).join(', ')})`);
console.log(`consumed: ${consumed.length} items (${[...handledBy].map(([name, items]) => `${name} ${items.length}`).join(', ')})`);
console.log(`each item consumed once: ${new Set(consumed).size === produced && consumed.length === produced}`);
console.log(`largest queue size seen: ${largestSizeSeen} (bound ${BOUND})`);
console.log(`puts that waited for room: ${putsThatWaited} of ${produced}`);
