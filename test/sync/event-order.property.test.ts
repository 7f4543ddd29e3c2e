/**
 * Event: the order in which set() wakes its waiters, property-tested on virtual time while
 * tasks leave the wait (killed, timed out) and wait again: each task parked at set() is
 * woken once, at the place of its latest wait() (gevent appends a link per wait). The
 * event keeps its waiters in an array from which a task that leaves is removed lazily
 * (src/sync/event.ts), which is what this exercises.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { GreenletExit, joinall, sleep, spawn, type GreenletBody, type Task } from 'greenlet-ts';
import { virtualTime } from 'greenlet-ts/testing';
import { Event } from '../../src/sync/event.js';
type OrderOp =
  | { kind: 'wait' }
  | { kind: 'timed'; ms: number }
  | { kind: 'stubborn' }
  | { kind: 'kill'; index: number }
  | { kind: 'step' }
  | { kind: 'advance'; ms: number }
  | { kind: 'set' }
  | { kind: 'clear' };

const orderOp: fc.Arbitrary<OrderOp> = fc.oneof(
  { arbitrary: fc.constant<OrderOp>({ kind: 'wait' }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 4 }).map<OrderOp>((ms) => ({ kind: 'timed', ms })), weight: 3 },
  { arbitrary: fc.constant<OrderOp>({ kind: 'stubborn' }), weight: 2 },
  { arbitrary: fc.nat(30).map<OrderOp>((index) => ({ kind: 'kill', index })), weight: 3 },
  { arbitrary: fc.constant<OrderOp>({ kind: 'step' }), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 4 }).map<OrderOp>((ms) => ({ kind: 'advance', ms })), weight: 3 },
  { arbitrary: fc.constant<OrderOp>({ kind: 'set' }), weight: 1 },
  { arbitrary: fc.constant<OrderOp>({ kind: 'clear' }), weight: 1 },
);

it('set() wakes the tasks parked at that moment in the order of their latest wait(), however many left and came back (virtual time)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(orderOp, { minLength: 10, maxLength: 80 }), async (ops) => {
      const evt = new Event();
      /** Each wait() gets a number, in the order they are made. */
      let waits = 0;
      /** Per task (by index): the number of its wait() in progress, while the task is parked on the event. */
      const parked = new Map<number, number>();
      const timedWaits = new Set<number>();
      const outcomes = new Map<number, boolean>();
      /** The waits that ended with true, in the order their tasks resumed. */
      const trues: number[] = [];
      const tasks: Task[] = [];
      function* waitOnce(index: number, ms?: number): GreenletBody<boolean> {
        const number = waits++;
        if (ms !== undefined) timedWaits.add(number);
        parked.set(index, number);
        try {
          const result = yield* evt.wait(ms);
          outcomes.set(number, result);
          if (result) trues.push(number);
          return result;
        } finally {
          if (parked.get(index) === number) parked.delete(index);
        }
      }
      await virtualTime(function* () {
        for (const o of ops) {
          const index = tasks.length;
          switch (o.kind) {
            case 'wait':
              tasks.push(spawn(waitOnce, index, undefined));
              break;
            case 'timed': // waits again each time its timeout passes
              tasks.push(
                spawn(function* () {
                  while (!(yield* waitOnce(index, o.ms)));
                }),
              );
              break;
            case 'stubborn': // a kill makes it wait again (once)
              tasks.push(
                spawn(function* () {
                  try {
                    yield* waitOnce(index);
                  } catch (error) {
                    if (!(error instanceof GreenletExit)) throw error;
                    yield* waitOnce(index);
                  }
                }),
              );
              break;
            case 'kill': {
              const i = o.index % Math.max(1, tasks.length);
              const task = tasks[i];
              if (task !== undefined && !task.ready()) {
                parked.delete(i); // a parked task leaves the event at once; any other is not on it
                task.kill({ block: false });
              }
              break;
            }
            case 'step':
              yield* sleep(0);
              break;
            case 'advance':
              yield* sleep(o.ms);
              break;
            case 'set': {
              // Parked at this moment by the model; a timed wait among them may have
              // ended at this very instant (its task not run yet): it ends with false.
              const present = [...parked.values()].sort((a, b) => a - b);
              const before = trues.length;
              evt.set();
              yield* sleep(0);
              const presentSet = new Set(present);
              expect(trues.slice(before).filter((n) => presentSet.has(n))).toEqual(present.filter((n) => outcomes.get(n) === true));
              for (const n of present) {
                expect(outcomes.has(n)).toBe(true);
                if (outcomes.get(n) === false) expect(timedWaits.has(n)).toBe(true);
              }
              break;
            }
            case 'clear':
              evt.clear();
              break;
          }
        }
        evt.set();
        yield* joinall(tasks);
      });
      expect(evt.waiting).toBe(0);
      expect(evt.linkCount()).toBe(0);
    }),
    { numRuns: 200 },
  );
});
