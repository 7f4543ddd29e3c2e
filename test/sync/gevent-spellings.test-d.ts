/**
 * Type tests for the gevent spellings: the loop protocol shared by queues, channels,
 * iwait and imap (`yield* it.next()` is a boolean, `it.value` the item's type), option
 * objects, link targets and the current task. (The iterators are not named `it` here:
 * vitest's type-test collector reads every `it.x(...)` call as a test.)
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  AsyncResult,
  Channel,
  Event,
  Group,
  LifoQueue,
  Pool,
  PriorityQueue,
  Queue,
  SimpleQueue,
  Task,
  currentTask,
  iwait,
  killall,
  sleep,
  spawn,
  type GreenletBody,
  type SwitchOp,
} from 'greenlet-ts';

function* square(x: number): GreenletBody<number> {
  yield* sleep(0);
  return x * x;
}

describe('the loop protocol', () => {
  it('next() is an operation evaluating to a boolean; value has the item type', () => {
    const q = new Queue<string>();
    expectTypeOf(q.iterate().next()).toEqualTypeOf<SwitchOp<boolean>>();
    expectTypeOf(q.iterate().value).toEqualTypeOf<string>();
    expectTypeOf(new Channel<number>().iterate().next()).toEqualTypeOf<SwitchOp<boolean>>();
    expectTypeOf(new Channel<number>().iterate().value).toEqualTypeOf<number>();
    const ready = iwait([new Event(), new Event()]);
    expectTypeOf(ready.next()).toEqualTypeOf<SwitchOp<boolean>>();
    expectTypeOf(ready.value).toEqualTypeOf<Event>();
    const results = new Pool(2).imap(square, [1, 2]);
    expectTypeOf(results.next()).toEqualTypeOf<SwitchOp<boolean>>();
    expectTypeOf(results.value).toEqualTypeOf<number>();
  });

  it('a loop reads the item with its type, also with `using` in the for initializer', () => {
    function* consume(): GreenletBody<number> {
      let total = 0;
      for (const items = new LifoQueue<number>().iterate(); yield* items.next(); ) total += items.value;
      for (using results = new Group().imapUnordered(square, [1, 2]); yield* results.next(); ) total += results.value;
      return total;
    }
    expectTypeOf(consume).returns.toEqualTypeOf<GreenletBody<number>>();
  });

  it('forEach takes a function of the item, plain or a generator function', () => {
    expectTypeOf(new SimpleQueue<string>().forEach).parameter(0).toEqualTypeOf<(item: string) => unknown>();
    expectTypeOf(new PriorityQueue<number>().forEach((n) => n + 1)).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(iwait([spawn(square, 1)]).forEach).parameter(0).parameter(0).toEqualTypeOf<Task<number, [x: number]>>();
  });
});

describe('options and targets', () => {
  it('kill and killall take an options object first, or an error then options', () => {
    const t = spawn(square, 2);
    expectTypeOf(t.kill({ block: false })).toEqualTypeOf<void>(); // acts at once: nothing to yield*
    expectTypeOf(t.kill(RangeError, { timeout: 5 })).toEqualTypeOf<SwitchOp<void>>();
    // @ts-expect-error: the error goes first or in the options, not in both
    t.kill(new Error(), { error: new Error() });
    expectTypeOf(killall([t], { timeout: 10 })).toEqualTypeOf<SwitchOp<void>>();
  });

  it('queues take { maxsize, items }; a PriorityQueue also { compare }', () => {
    expectTypeOf(new Queue({ maxsize: 2, items: ['a'] })).toEqualTypeOf<Queue<string>>();
    expectTypeOf(new PriorityQueue({ compare: (a: { p: number }, b: { p: number }) => a.p - b.p })).toEqualTypeOf<
      PriorityQueue<{ p: number }>
    >();
  });

  it('a task links to an AsyncResult of its result type', () => {
    const t = spawn(square, 3);
    t.link(new AsyncResult<number>());
    t.linkValue(new AsyncResult<unknown>());
    // @ts-expect-error: a result of another type does not take this task's outcome
    t.link(new AsyncResult<string>());
  });

  it('currentTask() is a Task; getNowait() the result type', () => {
    expectTypeOf(currentTask()).toEqualTypeOf<Task>();
    expectTypeOf(spawn(square, 4).getNowait()).toEqualTypeOf<number>();
  });

  it('a function that returns an operation (gevent: pool.spawn(gevent.sleep, 10)) is accepted, with the operation\'s result', () => {
    const pool = new Pool(1);
    function* body(): GreenletBody<void> {
      const member = yield* pool.spawn(sleep, 10);
      expectTypeOf(member.value).toEqualTypeOf<void | undefined>();
    }
    void body;
    expectTypeOf(new Group().spawn(sleep, 10).value).toEqualTypeOf<void | undefined>();
    expectTypeOf(pool.map(sleep, [1, 2])).toEqualTypeOf<SwitchOp<void[]>>();
    expectTypeOf(new Task(sleep, 10).value).toEqualTypeOf<void | undefined>();
    expectTypeOf(pool.apply((q: Queue<string>) => q.get(), new Queue<string>())).toEqualTypeOf<SwitchOp<string>>();
    // A plain function's array result is not mistaken for an operation.
    expectTypeOf(pool.apply((a: number) => [a], 1)).toEqualTypeOf<SwitchOp<number[]>>();
  });
});
