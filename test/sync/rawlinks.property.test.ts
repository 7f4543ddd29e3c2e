/**
 * Rawlinks (src/sync/rawlinks.ts), the rawlink callbacks of Event and AsyncResult, against a
 * plain array that keeps them as gevent's `AbstractLinkable._links` does (append; `remove`
 * of the first registration; a notification calls the registrations present when it began,
 * in order, skips those unlinked meanwhile, and leaves those registered meanwhile to the
 * next one, which runs if the owner is still ready). Random sequences of rawlink, unlink,
 * the owner becoming ready or not, and hub turns, with callbacks that rawlink and unlink
 * while they are being called, long enough that the list passes from small (a spliced
 * array) to large (null entries and a map of positions) and back: the same calls, in the
 * same order, and the same count of registrations after each step.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { run, sleep, spawn, wait, type GreenletBody, type Task } from 'greenlet-ts';
import { virtualTime } from 'greenlet-ts/testing';
import { Event } from '../../src/sync/event.js';
import { Rawlinks } from '../../src/sync/rawlinks.js';

/** What a callback does the first time it is called (rawlink or unlink a callback, by number). */
type ScriptOp = { kind: 'add' | 'remove'; callback: number };
type Op =
  | { kind: 'add'; callback: number }
  | { kind: 'remove'; callback: number }
  | { kind: 'addMany'; callback: number; times: number }
  | { kind: 'removeMany'; callback: number; times: number }
  | { kind: 'ready' }
  | { kind: 'unready' }
  | { kind: 'turn' };

const CALLBACKS = 6;
const callbackNumber = fc.nat(CALLBACKS - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: callbackNumber.map<Op>((callback) => ({ kind: 'add', callback })), weight: 8 },
  {
    arbitrary: fc.record({ callback: callbackNumber, times: fc.integer({ min: 10, max: 40 }) }).map<Op>((o) => ({ kind: 'addMany', ...o })),
    weight: 1,
  },
  { arbitrary: callbackNumber.map<Op>((callback) => ({ kind: 'remove', callback })), weight: 7 },
  {
    arbitrary: fc.record({ callback: callbackNumber, times: fc.integer({ min: 5, max: 40 }) }).map<Op>((o) => ({ kind: 'removeMany', ...o })),
    weight: 1,
  },
  { arbitrary: fc.constant<Op>({ kind: 'ready' }), weight: 1 },
  { arbitrary: fc.constant<Op>({ kind: 'unready' }), weight: 1 },
  { arbitrary: fc.constant<Op>({ kind: 'turn' }), weight: 1 },
);
const scripts = fc.array(
  fc.array(fc.record({ kind: fc.constantFrom<'add' | 'remove'>('add', 'remove'), callback: callbackNumber }), { maxLength: 4 }),
  { minLength: CALLBACKS, maxLength: CALLBACKS },
);

/** gevent's list, plainly: what the calls should be. */
class Model {
  pending: number[] = [];
  notifying: (number | null)[] | null = null;
  scheduled = false;
  ready = false;
  readonly calls: number[] = [];
  readonly scripted = new Set<number>();
  constructor(readonly scripts: ScriptOp[][]) {}

  get count(): number {
    return this.pending.length + (this.notifying?.filter((c) => c !== null).length ?? 0);
  }
  add(callback: number): void {
    this.pending.push(callback);
    if (this.notifying === null && this.ready) this.schedule();
  }
  remove(callback: number): void {
    if (this.notifying !== null) {
      const i = this.notifying.indexOf(callback);
      if (i !== -1) {
        this.notifying[i] = null;
        return;
      }
    }
    const i = this.pending.indexOf(callback);
    if (i !== -1) this.pending.splice(i, 1);
  }
  schedule(): void {
    if (!this.scheduled && this.pending.length > 0) this.scheduled = true;
  }
  /** The hub's turn: the notification if one is queued, and those it queues. */
  turn(): void {
    while (this.scheduled) {
      this.scheduled = false;
      if (this.pending.length === 0) continue;
      const notifying: (number | null)[] = (this.notifying = this.pending);
      this.pending = [];
      for (let i = 0; i < notifying.length; i++) {
        const callback = notifying[i];
        if (callback === null || callback === undefined) continue;
        notifying[i] = null;
        this.calls.push(callback);
        if (!this.scripted.has(callback)) {
          this.scripted.add(callback);
          for (const s of this.scripts[callback] ?? []) this[s.kind](s.callback);
        }
      }
      this.notifying = null;
      if (this.ready) this.schedule();
    }
  }
}

it('Rawlinks calls what a plain array kept as gevent keeps _links calls, in the same order, through rawlink, unlink, readiness and notifications, also while notifying', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 400 }), scripts, async (ops, script) => {
      const model = new Model(script);
      const owner = { isReady: false, ready: () => owner.isReady, toString: () => 'the owner' };
      const links = new Rawlinks(owner);
      const calls: number[] = [];
      const scripted = new Set<number>();
      const callbacks = Array.from({ length: CALLBACKS }, (_, n) => (): void => {
        calls.push(n);
        if (scripted.has(n)) return;
        scripted.add(n);
        for (const s of script[n] ?? []) {
          if (s.kind === 'add') links.add(callbacks[s.callback] as () => void);
          else links.remove(callbacks[s.callback] as () => void);
        }
      });
      const counts: number[] = [];
      const modelCounts: number[] = [];
      await run(function* () {
        for (const o of ops) {
          switch (o.kind) {
            case 'add':
              links.add(callbacks[o.callback] as () => void);
              model.add(o.callback);
              break;
            case 'addMany':
              for (let i = 0; i < o.times; i++) {
                links.add(callbacks[o.callback] as () => void);
                model.add(o.callback);
              }
              break;
            case 'remove':
              links.remove(callbacks[o.callback] as () => void);
              model.remove(o.callback);
              break;
            case 'removeMany':
              for (let i = 0; i < o.times; i++) {
                links.remove(callbacks[o.callback] as () => void);
                model.remove(o.callback);
              }
              break;
            case 'ready':
              owner.isReady = model.ready = true;
              links.schedule();
              model.schedule();
              break;
            case 'unready':
              owner.isReady = model.ready = false;
              break;
            case 'turn':
              // The scripts are finite (each runs once), so a few turns drain every notification.
              for (let i = 0; i < CALLBACKS + 2; i++) yield* sleep(0);
              model.turn();
              break;
          }
          counts.push(links.count);
          modelCounts.push(model.count);
        }
        owner.isReady = model.ready = true;
        links.schedule();
        model.schedule();
        for (let i = 0; i < CALLBACKS + 2; i++) yield* sleep(0);
        model.turn();
      });
      expect(calls).toEqual(model.calls);
      expect(counts).toEqual(modelCounts);
      expect(links.count).toBe(0);
    }),
    { numRuns: 300 },
  );
});

it('tasks in wait([event]) with shuffled timeouts and kills leave the event one by one; set() wakes the rest in the order they arrived (virtual time)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.constant<'wait' | 'kill'>('wait'), fc.constant<'wait' | 'kill'>('kill'), fc.integer({ min: 1, max: 30 })), {
        minLength: 40,
        maxLength: 150,
      }),
      fc.integer({ min: 0, max: 31 }).map((n) => 2 * n), // never when a timeout (odd) passes
      fc.array(fc.nat(), { maxLength: 60 }),
      async (kinds, setAt, killOrder) => {
        const event = new Event();
        const woken: number[] = [];
        const killed = new Set<number>();
        await virtualTime(function* () {
          const tasks: Task[] = kinds.map((kind, n) =>
            spawn(function* (): GreenletBody<void> {
              const ready = yield* wait([event], typeof kind === 'number' ? { timeout: 2 * kind - 1 } : {});
              if (ready.length === 1) woken.push(n);
            }),
          );
          yield* sleep(0);
          // Kill the 'kill' tasks in a shuffled order.
          const killable = kinds.flatMap((kind, n) => (kind === 'kill' ? [n] : []));
          for (const k of killOrder) {
            if (killable.length === 0) break;
            const n = killable.splice(k % killable.length, 1)[0] as number;
            killed.add(n);
            (tasks[n] as Task).kill({ block: false });
            yield* sleep(0);
          }
          yield* sleep(setAt);
          event.set();
          yield* sleep(0);
          for (const task of tasks) task.kill({ block: false });
          yield* sleep(0);
        });
        // Woken: those still waiting at set(), in the order they arrived.
        const expected = kinds.flatMap((kind, n) => ((typeof kind === 'number' ? 2 * kind - 1 > setAt : !killed.has(n)) ? [n] : []));
        expect(woken).toEqual(expected);
        expect(event.linkCount()).toBe(0);
      },
    ),
    { numRuns: 150 },
  );
});
