/**
 * The one rule: every suspension is written `yield*`. What happens when a `yield*` is
 * forgotten: the operation does nothing (no item taken, no timer set), and the task that
 * made the slip fails with an error that names it, while every other task goes on.
 *
 *   npx tsx examples/the-one-rule.ts
 */
import { Queue, run, sleep, spawn, waitFor, type Task } from 'greenlet-ts';

function report(t: Task): void {
  console.log(`${t.name}: ${String(t.exception)}`);
}

const q = new Queue<number>({ items: [1, 2, 3] });

await run(function* () {
  const bystander = spawn(function* () {
    yield* sleep(5);
    return 'done';
  });

  const getter = spawn(function* getter() {
    q.get(); // forgot yield*: takes nothing
    yield* sleep(0); // the next operation reports it
  });
  const sleeper = spawn(function* sleeper() {
    sleep(100); // forgot yield*: sets no timer; reported when the task ends
  });
  const awaiter = spawn(function* awaiter() {
    // @ts-expect-error: a promise is not an operation (tsc says so too)
    yield* Promise.resolve(1);
  });
  // @ts-expect-error: a body yields nothing but operations (tsc says so too)
  const yielder = spawn(function* yielder() {
    yield Promise.resolve(1); // a bare yield of a promise
  });
  const twice = spawn(function* twice() {
    const ops = [1, 2].map(() => q.get()); // an array of operations: caught at the second
    yield* ops[0]!;
  });
  for (const t of [getter, sleeper, awaiter, yielder, twice]) {
    yield* t.join();
    report(t);
  }
  console.log(`items still queued: ${q.qsize()}`);
  console.log(`the bystander: ${yield* bystander.get()}`);
  console.log(`waitFor, written right: ${yield* waitFor(Promise.resolve(42))}`);
});

// From plain code, where nothing can yield*:
const finished = spawn(function* () {
  return 7;
});
await finished;
try {
  finished.get();
} catch (e) {
  console.log(`plain code: ${String(e)}`);
}
