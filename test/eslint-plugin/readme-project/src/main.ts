// A user's project with the README's eslint.config.js, and the README's slip.
import { Queue, run, sleep, spawn } from 'greenlet-ts';

const q = new Queue<number>({ items: [1, 2, 3] });
await run(function* () {
  spawn(function* getter() {
    q.get();
    yield* sleep(0);
  });
});
