/**
 * Two tasks that keep each other busy (one resume per hand-off), for tests of how a hub
 * pass ends: `yield* pingPong(done, limit)` evaluates to the hand-offs made.
 */
import { Queue, spawn, type GreenletBody } from 'greenlet-ts';

/**
 * Two tasks that wake each other through two queues, one resume per hand-off, until
 * `done()` says so or `limit` hand-offs have been made; evaluates to the hand-offs made.
 */
export function* pingPong(done: () => boolean, limit: number, onHandoff: () => void = () => {}): GreenletBody<number> {
  const ping = new Queue<number>();
  const pong = new Queue<number>();
  let handoffs = 0;
  const player = (inbox: Queue<number>, outbox: Queue<number>) =>
    function* (): GreenletBody<void> {
      for (;;) {
        const n = yield* inbox.get();
        if (n < 0 || done() || handoffs >= limit) {
          outbox.putNowait(-1);
          return;
        }
        handoffs++;
        onHandoff();
        outbox.putNowait(n + 1);
      }
    };
  const a = spawn(player(ping, pong));
  const b = spawn(player(pong, ping));
  ping.putNowait(0);
  yield* a.join();
  yield* b.join();
  return handoffs;
}
