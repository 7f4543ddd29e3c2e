/**
 * What a task's record keeps, now that the task constructor is small enough for V8 to
 * inline (docs/benchmarks-log.md, task lifecycle): its fields are symbol-keyed (no
 * `#private` fields, which would give `Task` an instance initializer), rarely needed work is
 * out of line, and the ends that settle it take a short path for a lone join. These tests
 * pin what a user sees of it.
 */
import { describe, expect, it } from 'vitest';
import { Greenlet, Task, getHub, run, spawn, type GreenletBody } from 'greenlet-ts';

describe('the task record', () => {
  it('has no string-keyed own fields: Object.keys and for...in see nothing of the library', () => {
    const task = new Task(function* named(): GreenletBody<number> {
      return 1;
    });
    expect(Object.keys(task)).toEqual([]);
    const seen: string[] = [];
    for (const key in task) seen.push(key);
    expect(seen).toEqual([]);
    task.kill({ block: false });
  });

  it('a subclass with fields of its own (plain, #private, parameter properties) and a *run method runs, joins and is named', async () => {
    class Job extends Task<string, []> {
      done = false;
      #secret = 'x';
      constructor(readonly label: string) {
        super();
      }
      override *run(): GreenletBody<string> {
        this.done = true;
        return `${this.label}${this.#secret}`;
      }
      get secret(): string {
        return this.#secret;
      }
    }
    const order: string[] = [];
    const value = await run(function* () {
      const job = new Job('a').start();
      job.rawlink(() => order.push('rawlink'));
      const got = yield* job.get();
      order.push('get');
      expect(job.done).toBe(true);
      expect(job.secret).toBe('x');
      expect(job.name).toMatch(/^Job-\d+$/);
      return got;
    });
    expect(value).toBe('ax');
    expect(order).toEqual(['rawlink', 'get']);
  });

  it('a task given arguments receives them; a named task keeps its name once ended', async () => {
    const [task] = await run(function* () {
      const t = spawn(function* add(a: number, b: number): GreenletBody<number> {
        return a + b;
      }, 2, 3);
      t.name = 'adder';
      expect(yield* t.get()).toBe(5);
      return [t]; // in an array: a task is a thenable, which await would follow
    });
    expect(task.name).toBe('adder');
    expect(task.value).toBe(5);
  });

  it('a lone join and a join among other links both wake with the outcome, links in the order registered', async () => {
    const events: string[] = [];
    await run(function* () {
      const alone = spawn(function* (): GreenletBody<number> {
        return 1;
      });
      expect(yield* alone.join()).toBe(true);
      const failing = spawn(function* (): GreenletBody<never> {
        throw new Error('boom');
      });
      failing.rawlink(() => events.push('first rawlink'));
      const waiter = spawn(function* (): GreenletBody<void> {
        try {
          yield* failing.get();
        } catch (error) {
          events.push(`get raised ${(error as Error).message}`);
        }
      });
      failing.rawlink(() => events.push('second rawlink'));
      yield* waiter.join();
      expect(failing.exception).toBeInstanceOf(Error);
    });
    expect(events).toEqual(['first rawlink', 'second rawlink', 'get raised boom']);
  });

  it('a raw greenlet still checks the parent it is given', () => {
    expect(() => new Greenlet(function* () {}, 42 as unknown as Greenlet)).toThrow(
      'GreenletChecker: Expected any type of greenlet, not number',
    );
    const child = new Greenlet(function* () {}, getHub());
    expect(child.parent).toBe(getHub());
  });
});
