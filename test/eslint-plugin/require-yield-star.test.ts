/**
 * The lint rule `greenlet/require-yield-star` with typescript-eslint's RuleTester: each
 * case is linted as test/eslint-plugin/fixture/file.ts with type information from that
 * folder's tsconfig.json, where 'greenlet-ts' is the library's own sources. Every invalid
 * case names its message and data (the operation as written) and the code the autofix or
 * the suggestion makes; the exact wording of each message is checked at the end.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuleTester } from '@typescript-eslint/rule-tester';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import plugin from 'greenlet-ts/eslint-plugin';
import { requireYieldStar } from '../../src/eslint-plugin/require-yield-star.js';

RuleTester.afterAll = afterAll;
RuleTester.describe = describe;
// The first case builds the project service's program (the library's sources): 8.6 s at a
// load of 12, 29 s at a load of 25 (2 cores). The limit only stops a hang.
RuleTester.it = (text, method) => it(text, method, 120_000);
RuleTester.itOnly = (text, method) => it.only(text, method, 120_000);

const fixture = fileURLToPath(new URL('./fixture/', import.meta.url));

const ruleTester = new RuleTester({
  languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: fixture } },
});

/** Every case starts with the imports it may use and a few values of each kind. */
const HEADER = `import { Channel, Event, Greenlet, Operation, Pool, Queue, blockingOperation, lazy, recvCase, select, sleep, spawn } from 'greenlet-ts';
import type { GreenletBody, SwitchOp, SwitchSignal, Task } from 'greenlet-ts';
declare const q: Queue<number>;
declare const ch: Channel<string>;
declare const ev: Event;
declare const t: Task<number>;
declare const g: Greenlet;
declare const pool: Pool;
declare const items: number[];
declare function work(): GreenletBody<number>;
`;
const code = (body: string): string => HEADER + body;
/** The line of a case's body (the header's lines come first). */
const line = (n: number): number => HEADER.split('\n').length - 1 + n;

ruleTester.run('require-yield-star', requireYieldStar, {
  valid: [
    {
      name: 'every operation run by yield*',
      code: code(`
function* body(): GreenletBody<void> {
  yield* sleep(10);
  const n = yield* q.get();
  yield* q.put(n + 1);
  yield* ev.wait(100);
  const ended: boolean = yield* t.join();
  yield* t.kill();
  yield* ch.send('a');
  const s = yield* ch.recv();
  const r = yield* select([recvCase(ch)], { timeout: 10 });
  const back = yield* g.switch(s, r);
  const w = yield* work();
  const worker = yield* pool.spawn(() => sleep(0));
  console.log(ended, back, w, worker);
}`),
    },
    {
      name: 'yield* through as, !, ?: and ??',
      code: code(`
declare const maybe: Queue<number> | undefined;
function* body(c: boolean): GreenletBody<unknown> {
  const a = yield* (c ? q.get() : sleep(1));
  const b = yield* (q.get() as SwitchOp<number>);
  const d = yield* maybe!.get();
  return [a, b, d];
}`),
    },
    {
      name: 'an operation returned from a plain function, or an arrow body: how operations are written',
      code: code(`
function later(ms: number): SwitchOp<void> {
  return sleep(ms);
}
const next = () => q.get();
const method = { get: () => q.get(), wait() { return ev.wait(); } };
console.log(later, next, method);`),
    },
    {
      name: 'a function that returns an operation, passed on',
      code: code(`
function* body(): GreenletBody<void> {
  const task = yield* pool.spawn(() => sleep(0));
  spawn(() => sleep(5));
  yield* task.join();
}`),
    },
    {
      name: 'an operation passed to a parameter declared to take one',
      code: code(`
function* raisedBy(op: SwitchOp<unknown>): GreenletBody<unknown> {
  try {
    yield* op;
  } catch (e) {
    return e;
  }
  return undefined;
}
function* timed<O extends SwitchOp<unknown>>(op: O | undefined, ...more: SwitchOp<number>[]): GreenletBody<void> {
  if (op !== undefined) yield* op;
  for (const m of more) yield* m;
}
function* body(): GreenletBody<void> {
  yield* raisedBy(q.get());
  yield* timed(ev.wait(), q.get(), q.get());
}`),
    },
    {
      name: 'kill without waiting is no operation: fine in plain code and callbacks',
      code: code(`
t.kill({ block: false });
setTimeout(() => t.kill(new Error('late'), { block: false }), 10);`),
    },
    {
      name: 'g.switch() and g.throw() from plain code: the main greenlet switches at once',
      code: code(`
const child = new Greenlet(function* (x: unknown) {
  return x;
});
const value: number = child.switch<number>(1);
child.switch();
g.throw(new Error('stop'));
console.log(value);`),
    },
    {
      name: "an operation kept in a module's constant (made in the main greenlet: a shared object, not a slip)",
      code: code(`
const DONE: SwitchOp<void> = Object.freeze({ [Symbol.iterator]: () => sleep(0)[Symbol.iterator]() });
export const READY = q.get();
console.log(DONE);`),
    },
    {
      name: 'an operation driven by hand, as yield* does',
      code: code(`
const steps = q.get()[Symbol.iterator]();
console.log(steps);`),
    },
    {
      name: 'arrays of tasks and of values are not operations',
      code: code(`
function* body(): GreenletBody<number> {
  const tasks = items.map((n) => spawn(function* () { yield* sleep(n); return n; }));
  let sum = 0;
  for (const task of tasks) sum += yield* task.get();
  const sizes: number[] = items.map((n) => n * 2);
  return sum + sizes.length;
}`),
    },
    {
      name: 'operation kinds kept in module constants (the public Operation protocol), and the operations they make',
      code: code(`
class Mailbox {
  take(n: number): SwitchOp<string> {
    return lazy(TAKE, this, n, undefined);
  }
  peek(): SwitchOp<string> {
    return lazy(PEEK, this, undefined, undefined);
  }
}
const TAKE = blockingOperation<Mailbox, number, undefined, string>('mailbox.take()', function* (_box, n): GreenletBody<string> {
  yield* sleep(n);
  return 'x';
});
const PEEK = new Operation<Mailbox, undefined, undefined, string>('mailbox.peek()', function* (): GreenletBody<string> {
  return 'x';
});
const kinds = [TAKE, PEEK];
function* body(box: Mailbox): GreenletBody<string> {
  return (yield* box.take(2)) + (yield* box.peek()) + kinds.length;
}
console.log(body);`),
    },
    {
      name: 'things that are not operations',
      code: code(`
function* body(): GreenletBody<void> {
  q.putNowait(1);
  ev.set();
  const n: number | undefined = q.getNowait();
  const tasks = [1, 2, 3];
  tasks.forEach((x) => console.log(x));
  yield* sleep(n ?? 0);
}`),
    },
  ],
  invalid: [
    {
      name: 'sleep(10) as a statement in a task body: yield* inserted',
      code: code(`
function* body(): GreenletBody<void> {
  sleep(10);
}`),
      errors: [{ messageId: 'notPerformed', data: { op: 'sleep(10)' }, line: line(3), column: 3 }],
      output: code(`
function* body(): GreenletBody<void> {
  yield* sleep(10);
}`),
    },
    {
      name: 'queue get and put, event wait, task join and kill, channel send and recv, select, switch, a task body',
      code: code(`
function* body(): GreenletBody<void> {
  q.get();
  q.put(1);
  ev.wait();
  t.join();
  t.kill();
  ch.send('a');
  ch.recv();
  select([recvCase(ch)]);
  g.switch('x');
  work();
}`),
      errors: ['q.get()', 'q.put(1)', 'ev.wait()', 't.join()', 't.kill()', "ch.send('a')", 'ch.recv()', 'select([recvCase(ch)])', "g.switch('x')", 'work()'].map(
        (op, i) => ({ messageId: 'notPerformed' as const, data: { op }, line: line(3 + i) }),
      ),
      output: code(`
function* body(): GreenletBody<void> {
  yield* q.get();
  yield* q.put(1);
  yield* ev.wait();
  yield* t.join();
  yield* t.kill();
  yield* ch.send('a');
  yield* ch.recv();
  yield* select([recvCase(ch)]);
  yield* g.switch('x');
  yield* work();
}`),
    },
    {
      name: 'a statement in plain code: no fix, a message saying where yield* goes',
      code: code(`
function handler(): void {
  q.put(1);
}`),
      errors: [{ messageId: 'notPerformedPlain', data: { op: 'q.put(1)' } }],
    },
    {
      name: 'a value stored: the operation, not its result (a suggestion in a generator)',
      code: code(`
function* body(): GreenletBody<number> {
  const n = q.get();
  let done;
  done = t.join();
  const record = { reply: ch.recv() };
  return (n as unknown as number) + Number(done) + Number(record);
}`),
      errors: [
        {
          messageId: 'stored',
          data: { op: 'q.get()' },
          suggestions: [
            {
              messageId: 'writeYieldStar',
              data: { op: 'q.get()' },
              output: code(`
function* body(): GreenletBody<number> {
  const n = yield* q.get();
  let done;
  done = t.join();
  const record = { reply: ch.recv() };
  return (n as unknown as number) + Number(done) + Number(record);
}`),
            },
          ],
        },
        {
          messageId: 'stored',
          data: { op: 't.join()' },
          suggestions: [
            {
              messageId: 'writeYieldStar',
              data: { op: 't.join()' },
              output: code(`
function* body(): GreenletBody<number> {
  const n = q.get();
  let done;
  done = yield* t.join();
  const record = { reply: ch.recv() };
  return (n as unknown as number) + Number(done) + Number(record);
}`),
            },
          ],
        },
        {
          messageId: 'stored',
          data: { op: 'ch.recv()' },
          suggestions: [
            {
              messageId: 'writeYieldStar',
              data: { op: 'ch.recv()' },
              output: code(`
function* body(): GreenletBody<number> {
  const n = q.get();
  let done;
  done = t.join();
  const record = { reply: yield* ch.recv() };
  return (n as unknown as number) + Number(done) + Number(record);
}`),
            },
          ],
        },
      ],
    },
    {
      name: 'a value stored in plain code: reported, nothing to suggest',
      code: code(`
function later(): void {
  const pending = q.get();
  console.log(pending);
}`),
      errors: [{ messageId: 'stored', data: { op: 'q.get()' }, suggestions: [] }],
    },
    {
      name: 'passed on as an argument to a parameter that does not take an operation',
      code: code(`
function* body(): GreenletBody<void> {
  console.log(q.get());
}`),
      errors: [
        {
          messageId: 'passed',
          data: { op: 'q.get()' },
          suggestions: [
            {
              messageId: 'writeYieldStar',
              data: { op: 'q.get()' },
              output: code(`
function* body(): GreenletBody<void> {
  console.log(yield* q.get());
}`),
            },
          ],
        },
      ],
    },
    {
      name: 'used in an expression: the suggestion adds parentheses',
      code: code(`
function* body(): GreenletBody<number> {
  return 1 + (q.get() as unknown as number);
}`),
      errors: [
        {
          messageId: 'used',
          data: { op: 'q.get()' },
          suggestions: [
            {
              messageId: 'writeYieldStar',
              data: { op: 'q.get()' },
              output: code(`
function* body(): GreenletBody<number> {
  return 1 + ((yield* q.get()) as unknown as number);
}`),
            },
          ],
        },
      ],
    },
    {
      name: 'items.map(() => q.get()) as a statement or stored: an array of operations',
      code: code(`
function* body(): GreenletBody<void> {
  items.map(() => q.get());
  const replies = items.map((n) => q.put(n));
  console.log(replies);
}`),
      errors: [
        { messageId: 'arrayOfOperations', data: { op: 'items.map(() => q.get())' }, line: line(3) },
        { messageId: 'arrayOfOperations', data: { op: 'items.map((n) => q.put(n))' }, line: line(4) },
      ],
    },
    {
      name: 'yield op: yield becomes yield*',
      code: code(`
declare const op: SwitchOp<number>;
function* body(): GreenletBody<unknown> {
  const n = yield q.get();
  yield op;
  yield sleep(1);
  return n;
}`),
      errors: [
        { messageId: 'bareYield', data: { op: 'q.get()' }, line: line(4) },
        { messageId: 'bareYield', data: { op: 'op' }, line: line(5) },
        { messageId: 'bareYield', data: { op: 'sleep(1)' }, line: line(6) },
      ],
      output: code(`
declare const op: SwitchOp<number>;
function* body(): GreenletBody<unknown> {
  const n = yield* q.get();
  yield* op;
  yield* sleep(1);
  return n;
}`),
    },
    {
      name: 'await op: an operation is not a promise',
      code: code(`
async function main(): Promise<void> {
  await sleep(10);
  const n = await q.get();
  console.log(n);
}`),
      errors: [
        { messageId: 'awaited', data: { op: 'sleep(10)' } },
        { messageId: 'awaited', data: { op: 'q.get()' } },
      ],
    },
    {
      name: 'an operation returned from a generator function: return yield* inserted',
      code: code(`
function* first(): Generator<SwitchSignal, unknown, unknown> {
  return q.get();
}`),
      errors: [{ messageId: 'returnedFromGenerator', data: { op: 'q.get()' } }],
      output: code(`
function* first(): Generator<SwitchSignal, unknown, unknown> {
  return yield* q.get();
}`),
    },
    {
      name: "a callback whose result is thrown away (forEach's): nothing runs its operation",
      code: code(`
function* body(): GreenletBody<void> {
  items.forEach((n) => q.put(n));
  items.forEach(function (n) {
    return q.put(n);
  });
}`),
      errors: [
        { messageId: 'droppedByCallback', data: { op: 'q.put(n)' }, line: line(3) },
        { messageId: 'droppedByCallback', data: { op: 'q.put(n)' }, line: line(5) },
      ],
    },
    {
      name: 'g.switch() without yield* inside a generator is reported',
      code: code(`
function* body(): GreenletBody<unknown> {
  const v = g.switch(1);
  return String(v);
}`),
      errors: [{ messageId: 'stored', data: { op: 'g.switch(1)' }, suggestions: [{ messageId: 'writeYieldStar', data: { op: 'g.switch(1)' }, output: code(`
function* body(): GreenletBody<unknown> {
  const v = yield* g.switch(1);
  return String(v);
}`) }] }],
    },
    {
      name: 'a conditional of operations as a statement is one slip, fixed as a whole',
      code: code(`
function* body(c: boolean): GreenletBody<void> {
  c ? q.get() : ev.wait();
}`),
      errors: [{ messageId: 'notPerformed', data: { op: 'c ? q.get() : ev.wait()' } }],
      output: code(`
function* body(c: boolean): GreenletBody<void> {
  yield* c ? q.get() : ev.wait();
}`),
    },
    {
      name: 'an operation after && as a statement: the fix runs only the operation (yield* of the whole would yield* a falsy left side)',
      code: code(`
function* body(c: boolean): GreenletBody<void> {
  c && q.put(1);
}`),
      errors: [{ messageId: 'notPerformed', data: { op: 'q.put(1)' } }],
      output: code(`
function* body(c: boolean): GreenletBody<void> {
  c && (yield* q.put(1));
}`),
    },
    {
      name: 'a long operation is named by its callee',
      code: code(`
function* body(): GreenletBody<void> {
  select([recvCase(ch), recvCase(ch), recvCase(ch), recvCase(ch)], { timeout: 1000 });
}`),
      errors: [{ messageId: 'notPerformed', data: { op: 'select(…)' } }],
      output: code(`
function* body(): GreenletBody<void> {
  yield* select([recvCase(ch), recvCase(ch), recvCase(ch), recvCase(ch)], { timeout: 1000 });
}`),
    },
  ],
});

describe('the messages', () => {
  const linter = new Linter({ configType: 'flat' });

  function messagesOf(body: string): string[] {
    const config: Linter.Config[] = [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: fixture } },
        plugins: { greenlet: plugin },
        rules: { 'greenlet/require-yield-star': 'error' },
      },
    ];
    return linter.verify(code(body), config, { filename: `${fixture}file.ts` }).map((m) => m.message);
  }

  it('say what the operation is and what to write', () => {
    expect(
      messagesOf(`
function* body(): GreenletBody<unknown> {
  q.get();
  const n = t.join();
  console.log(ch.recv());
  const m = 1 + (ev.wait() as unknown as number);
  yield sleep(1);
  items.map(() => q.get());
  items.forEach((x) => q.put(x));
  console.log(n, m);
  return 0;
}
function* first(): GreenletBody<unknown> {
  return q.get();
}
function handler(): void {
  q.put(1);
}
async function main(): Promise<void> {
  await sleep(10);
}`),
    ).toEqual([
      '`q.get()` is an operation: it does nothing until `yield*` runs it. Write `yield* q.get()`.',
      '`t.join()` is an operation: it does nothing until `yield*` runs it, so what is stored here is the operation, not its result. Write `yield* t.join()`.',
      '`ch.recv()` is an operation: it does nothing until `yield*` runs it, so what is passed here is the operation, not its result. Write `yield* ch.recv()`.',
      '`ev.wait()` is an operation: it does nothing until `yield*` runs it, so what is used here is the operation, not its result. Write `(yield* ev.wait())`.',
      '`yield sleep(1)` hands the operation to the switcher without running it. Write `yield* sleep(1)`.',
      '`items.map(() => q.get())` is an array of operations: none of them does anything until `yield*` runs it. Run each with `yield*` in a `for ... of` loop.',
      "`q.put(x)` is an operation, and this callback's result is thrown away, so nothing runs it. Write `yield* q.put(x)` in a task's generator function instead (for `forEach`, a `for ... of` loop).",
      '`q.get()` is an operation: returning it from a generator function hands back the operation, not its result. Write `return yield* q.get()`.',
      "`q.put(1)` is an operation: it does nothing until `yield*` runs it, and this is not a generator function. Write `yield* q.put(1)` in a task's generator function.",
      "`sleep(10)` is an operation, not a promise: `await` does not run it. Write `yield* sleep(10)` in a task's generator function.",
    ]);
  });

  it('refuse a file parsed without type information, saying what to configure', () => {
    const config: Linter.Config[] = [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { greenlet: plugin }, rules: { 'greenlet/require-yield-star': 'error' } }];
    expect(() => linter.verify('export {};', config, { filename: `${fixture}file.ts` })).toThrow(
      /greenlet\/require-yield-star needs type information, and .*file\.ts was parsed without it: use typescript-eslint's parser with `languageOptions: \{ parserOptions: \{ projectService: true \} \}`/,
    );
  });
});

describe('docs/tasks.md', () => {
  it('shows what the rule says about the slips of its example', () => {
    const page = readFileSync(new URL('../../docs/tasks.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('## Catching a missing `yield*` before it runs'));
    const example = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    const said = /```text\n([\s\S]*?)```/.exec(section)![1]!;
    const linter = new Linter({ configType: 'flat' });
    const config: Linter.Config[] = [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: fixture } },
        plugins: { greenlet: plugin },
        rules: { 'greenlet/require-yield-star': 'error' },
      },
    ];
    // The example's names, imported on a line of their own before it.
    const text = `import { Queue, sleep, type GreenletBody } from 'greenlet-ts';\n${example}`;
    const messages = linter.verify(text, config, { filename: `${fixture}file.ts` });
    expect(messages.map((m) => `${m.line - 1}:${m.column}  ${m.message}\n`).join('')).toBe(said);
  });
});

describe('the plugin object', () => {
  it('imports nothing at run time but its own files (types only from eslint, typescript and typescript-eslint)', () => {
    const folder = new URL('../../src/eslint-plugin/', import.meta.url);
    const files = readdirSync(folder).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) {
      const source = readFileSync(new URL(file, folder), 'utf8');
      for (const [statement, , spec] of source.matchAll(/^(?:import|export)\b([^;]*?)from\s+'([^']+)'/gm)) {
        if (!spec!.startsWith('./')) expect(statement, `${file}: ${statement}`).toMatch(/^import type /);
      }
    }
  });


  it("has the package's name and version, the rule, and a recommended config that turns it on for TypeScript files", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(plugin.meta).toEqual({ name: 'greenlet-ts/eslint-plugin', version });
    expect(Object.keys(plugin.rules)).toEqual(['require-yield-star']);
    expect(plugin.configs.recommended).toEqual({
      name: 'greenlet-ts/recommended',
      files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
      plugins: { greenlet: plugin },
      rules: { 'greenlet/require-yield-star': 'error' },
    });
  });
});
