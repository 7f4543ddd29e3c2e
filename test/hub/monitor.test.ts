/**
 * What the hub lets the debug layer see: the monitor's events, and errors that name the
 * task they left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, getHub, greenletOf, run, sleep, spawn, type HubMonitor, type Task } from 'greenlet-ts';

afterEach(() => {
  getHub().monitor = null;
});

describe('errors that leave a task', () => {
  it('carry the task\'s name, with message and stack unchanged', async () => {
    const error = new RangeError('out of range');
    const stack = error.stack;
    const task = spawn(function* fetchPage() {
      yield* sleep(0);
      throw error;
    });
    await expect(task).rejects.toBe(error);
    expect(greenletOf(error)).toBe(task.name);
    expect(task.name).toMatch(/^fetchPage-\d+$/);
    expect(error.message).toBe('out of range');
    expect(error.stack).toBe(stack);
    expect(Object.keys(error)).not.toContain('greenlet');
  });

  it('keep the name of the first task they left when re-raised by another', async () => {
    const inner = spawn(function* innerTask() {
      throw new Error('inner');
    });
    const outer = spawn(function* outerTask() {
      yield* inner.get();
    });
    const error = await outer.then(
      () => null,
      (e: unknown) => e,
    );
    expect(greenletOf(error)).toBe(inner.name);
  });
});

describe('the hub monitor', () => {
  it('sees spawn, park, wake and end, in order, with the spawner and what the task parked on', async () => {
    const events: string[] = [];
    const queue = new Queue<number>();
    let consumer!: Task;
    const monitor: HubMonitor = {
      spawned: (t, spawner) => events.push(`spawned ${t === consumer ? 'consumer' : '?'} by ${spawner === getHub() ? 'hub' : 'a task or main'}`),
      parked: (t, parking) => t === consumer && events.push(`parked on ${String(parking)}`),
      woken: (t, throws) => t === consumer && events.push(`woken${throws ? ' with an error' : ''}`),
      ended: (t, failed) => t === consumer && events.push(`ended${failed ? ' failed' : ''}`),
    };
    await run(function* () {
      getHub().monitor = monitor;
      consumer = spawn(function* () {
        return yield* queue.get();
      });
      yield* sleep(0);
      queue.putNowait(1);
      yield* consumer.join();
    });
    expect(events).toEqual([
      'spawned ? by a task or main', // `consumer` is assigned after spawn returns
      'parked on queue.get() on Queue(0 items, 1 getter)',
      'woken',
      'ended',
    ]);
  });

  it('sees interrupts: kills and timeouts', async () => {
    const interrupts: unknown[] = [];
    await run(function* () {
      getHub().monitor = { interrupted: (_t, error) => interrupts.push(error) };
      const t = spawn(function* () {
        yield* sleep(10_000);
      });
      yield* sleep(0);
      yield* t.kill();
    });
    expect(interrupts).toHaveLength(1);
    expect((interrupts[0] as Error).name).toBe('GreenletExit');
  });
});
