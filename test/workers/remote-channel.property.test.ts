/**
 * workers/remote-channel, as a property: whatever the capacity, the number of senders,
 * the pace of the receiver, the send timeouts and the kills, a remote channel loses and
 * duplicates nothing. Both ends live in this thread (the values still travel through a
 * MessagePort and the credit protocol), so a failing case shrinks and replays.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelTimeout, getHub, run, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { openEndCount, remoteChannel } from '../../src/workers/remote-channel.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(0);
  expect(openEndCount()).toBe(0);
});

interface SenderPlan {
  /** How many values it sends. */
  count: number;
  /** Every `timeoutEvery`-th send gives up at once without credit (`timeout: 0`). */
  timeoutEvery: number | null;
  /** Killed after this many hub passes of the killer, if at all. */
  killAfter: number | null;
}

const plans = fc.record({
  capacity: fc.integer({ min: 1, max: 4 }),
  senders: fc.array(
    fc.record({
      count: fc.integer({ min: 0, max: 8 }),
      timeoutEvery: fc.option(fc.integer({ min: 1, max: 3 })),
      killAfter: fc.option(fc.integer({ min: 0, max: 6 })),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  /** After each value, whether the receiver lets the others run first. */
  receiverPauses: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
});

/** What each sender saw of its own sends, in order. */
interface SenderLog {
  sent: number[];
  timedOut: number[];
  /** The value of the send a kill interrupted, if one did. */
  interrupted: number | null;
}

describe('remote channel, as a property', () => {
  it('delivers every value whose send returned, once, in each sender’s order; never one that timed out', async () => {
    await fc.assert(
      fc.asyncProperty(plans, async ({ capacity, senders, receiverPauses }) => {
        const { logs, received } = await run(function* () {
          const [tx, rx] = remoteChannel<number>(capacity);
          const received: number[] = [];
          const receiver = spawn(function* () {
            for (const it = rx.iterate(); yield* it.next(); ) {
              received.push(it.value);
              if (receiverPauses[received.length % receiverPauses.length] === true) yield* sleep(0);
            }
          });
          const logs: SenderLog[] = senders.map(() => ({ sent: [], timedOut: [], interrupted: null }));
          const tasks: Task[] = senders.map((plan: SenderPlan, s) =>
            spawn(function* (): GreenletBody<void> {
              const log = logs[s] as SenderLog;
              for (let j = 0; j < plan.count; j++) {
                const value = s * 100 + j;
                const giveUp = plan.timeoutEvery !== null && j % plan.timeoutEvery === 0;
                log.interrupted = value;
                try {
                  yield* tx.send(value, giveUp ? { timeout: 0 } : {});
                  log.sent.push(value);
                } catch (error) {
                  if (!(error instanceof ChannelTimeout)) throw error;
                  log.timedOut.push(value);
                }
                log.interrupted = null;
              }
            }),
          );
          const killers = senders.map((plan, s) =>
            spawn(function* () {
              if (plan.killAfter === null) return;
              for (let pass = 0; pass < plan.killAfter; pass++) yield* sleep(0);
              yield* (tasks[s] as Task).kill();
            }),
          );
          for (const task of [...tasks, ...killers]) yield* task.join();
          tx.close();
          yield* receiver.join();
          return { logs, received };
        });

        // Nothing twice.
        expect(new Set(received).size).toBe(received.length);
        for (const [s, log] of logs.entries()) {
          const fromThis = received.filter((v) => Math.floor(v / 100) === s);
          // Every value whose send returned arrived, in the order it was sent; a send cut
          // short by a kill may have delivered its value (it was posted, then the task
          // was killed before it resumed) but nothing else arrived.
          const expected = log.interrupted !== null && fromThis.at(-1) === log.interrupted ? [...log.sent, log.interrupted] : log.sent;
          expect(fromThis).toEqual(expected);
          // A send that timed out delivered nothing.
          for (const v of log.timedOut) expect(received).not.toContain(v);
        }
      }),
      { numRuns: 60 },
    );
  });
});
