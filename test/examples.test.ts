import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Run a file as a user would (`node --import tsx <file>`, from the repository root); stopped
 * after `timeout` ms.
 */
async function run(file: string, timeout: number, preload: string[] = []): Promise<{ stdout: string; stderr: string }> {
  const imports = preload.flatMap((module) => ['--import', module]);
  return promisify(execFile)(process.execPath, ['--import', 'tsx', ...imports, file], { cwd: repoRoot, timeout, killSignal: 'SIGKILL' });
}

function lines(output: string): string[] {
  return output.trimEnd().split('\n');
}

/**
 * What `npm run examples` (examples/index.ts) printed, run once for the whole file. It runs
 * every example in a process of its own as a user would (`node --import tsx
 * examples/<name>.ts` from the repository root) and prints, under a heading per example,
 * its stdout then its stderr, indented: so each example's test reads its output there
 * instead of starting the example a second time.
 */
let runner: { code: number; output: string };
const INDENT = '    ';

/**
 * Every example one after the other: 11.6 s at a load of 3.5, 20-22 s at a load of 7-8
 * (14.5 s of CPU), 27 s at a load of 12, over 120 s at a load of 20 (2 cores). The runner
 * stops an example after 2 minutes (it is named FAILED in the output, and the others run);
 * this bound only keeps the runner from outliving the hook's.
 */
const RUNNER_MS = 290_000;

beforeAll(async () => {
  runner = await run('examples/index.ts', RUNNER_MS).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: { code?: number; stdout?: string; stderr?: string; message: string }) => ({
      code: error.code ?? -1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}${error.message}`,
    }),
  );
}, RUNNER_MS + 10_000);

/** What `examples/<name>.ts` printed (stdout, then stderr) when the runner ran it. */
function outputOf(name: string): string {
  const all = runner.output.split('\n');
  const start = all.findIndex((line) => line.startsWith(`── ${name}: `));
  expect(start, `the runner ran examples/${name}.ts:\n${runner.output}`).not.toBe(-1);
  const end = all.findIndex((line, i) => i > start && line.startsWith('── '));
  const section = all.slice(start + 1, end === -1 ? undefined : end);
  // The blank line after each example (and whatever follows the last one).
  while (section.length > 0 && section.at(-1) === '') section.pop();
  return section.map((line) => (line.startsWith(INDENT) ? line.slice(INDENT.length) : line)).join('\n') + '\n';
}

describe('examples', () => {
  it('process-and-coroutine.ts counts primes on a pool while a ticker runs, and words in a worker thread', () => {
    const countPrimes = (limit: number): number => {
      const composite = new Uint8Array(limit);
      let count = 0;
      for (let n = 2; n < limit; n++) {
        if (composite[n] === 1) continue;
        count++;
        for (let m = n * n; m < limit; m += n) composite[m] = 1;
      }
      return count;
    };
    const words = (batch: string[]) => batch.join(' ').split(/\s+/).filter(Boolean).length;
    const text = ['the quick brown fox', 'jumps over', 'the lazy dog', 'greenlets switch', 'threads share nothing'];
    expect(lines(outputOf('process-and-coroutine'))).toEqual([
      `primes below 200000: ${countPrimes(200_000)}`,
      `primes below 300000: ${countPrimes(300_000)}`,
      'the ticker task kept running meanwhile: yes',
      `words per batch, counted in the worker thread: ${[text.slice(0, 2), text.slice(2, 4), text.slice(4)].map(words).join(', ')}`,
      "the worker's main task returned: counted 3 batches",
    ]);
  });

  it('run-info.ts prints the tree of live tasks by parent and by spawner, with wait and spawn sites', () => {
    const output = outputOf('run-info');
    expect(output).toMatch(/^greenlet-ts run info: 6 live tasks \(1 running, 0 ready, 5 parked, 0 new\)/);
    expect(output).toContain('   ├─ consumer-2: parked for N ms on queue.get() on Queue(0 items, 1 getter)\n');
    expect(output).toContain('   │    waiting at consumer (examples/run-info.ts:');
    expect(output).toContain('   ├─ parent-5: parked for N ms on join(child-6)\n');
    expect(output).toContain('   └─ child-6: parked for N ms on Event(clear, 2 waiting)\n');
    expect(output).toContain('        spawned at parent (examples/run-info.ts:');
    expect(output).toContain('By spawner:\nmain\n└─ program-1 (running)\n');
    expect(output).toContain('   └─ parent-5 (parked)\n      └─ child-6 (parked)');
  });

  it('the-one-rule.ts: each forgotten yield* is named in the task that made it, takes nothing, and the bystander finishes', () => {
    const hint = 'An operation does nothing until `yield*` runs it';
    const sites = "(call recordOperationSites() before it happens to have the line that made it in the error's cause)";
    expect(lines(outputOf('the-one-rule'))).toEqual([
      `getter-1: MissingYieldError: queue.get() was never performed: write \`yield* queue.get()\` where you make it. ${hint}; one made without \`yield*\` is dropped unperformed ${sites}`,
      `sleeper-2: MissingYieldError: <Task "sleeper-2" dead> finished with sleep() made and never performed: write \`yield* sleep()\` where you make it. ${hint} ${sites}`,
      'awaiter-3: TypeError: yield* (intermediate value) is not iterable (greenlet-ts: `yield*` performs operations and switches; if this was a promise, wait for it with `yield* waitFor(promise)`)',
      'yielder-4: GreenletError: <Task "yielder-4" current active started> yielded a promise to the switcher: a greenlet cannot await, so write `yield* waitFor(promise)` (from greenlet-ts) to wait for it; a bare `yield` is not a switch',
      `twice-5: MissingYieldError: queue.get() was never performed: write \`yield* queue.get()\` where you make it. ${hint}; one made without \`yield*\` is dropped unperformed ${sites}`,
      'items still queued: 3',
      'the bystander: done',
      'waitFor, written right: 42',
      'plain code: BlockingError: task.get() blocks, and it was called in the main greenlet (plain code, callbacks, async functions): only a task can block. Run the code in a task (`spawn(fn)`, or `await run(fn)` from async code) and write `yield* task.get(...)`. From plain code read `task.value` / `task.exception` once `task.ready()`, or `await task`',
    ]);
  });

  it('seed.ts prints 12, 56 and 34, and never 78', () => {
    expect(lines(outputOf('seed'))).toEqual(['12', '56', '34']);
  });

  it('state-machine.ts parses a RESP stream fed in arbitrary chunks, then fails on garbage', () => {
    const output = lines(outputOf('state-machine'));
    const fed = output.map((line) => line.split('  →  '));

    // The chunks it reports, put back together, are this stream...
    const stream =
      '+OK\r\n:1000\r\n$5\r\nhello\r\n' +
      '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n*2\r\n:42\r\n$-1\r\n' +
      "-ERR unknown command 'FOO'\r\n";
    const chunks = fed.slice(0, 6).map(([chunk]) => JSON.parse(chunk!.trim()) as string);
    expect(chunks.join('')).toBe(stream);
    // ...and each chunk completed exactly the messages that end inside it.
    expect(fed.slice(0, 6).map(([, parsed]) => parsed)).toEqual([
      '"OK"',
      '1000',
      '"hello"',
      '(needs more input)',
      '(needs more input)',
      `["SET", "key", [42, null]], (error) ERR unknown command 'FOO'`,
    ]);
    expect(fed[6]).toEqual([expect.stringMatching(/^"\?what\\r\\n" *$/), 'ProtocolError: unknown type "?" in line "?what"']);
    expect(output.slice(7)).toEqual(['parser dead: true']);
  });

  it('pipeline.ts delivers the non-stop-words in order, counts them and finishes every stage', () => {
    // The example's input, restated here so that the expected summary is computed with
    // plain array methods instead of greenlets.
    const text = `
      A greenlet runs until it switches to another greenlet. The other greenlet runs until
      it switches back, and no scheduler stands between the two: each switch names the
      greenlet that runs next, and the value it carries arrives with it.
    `;
    const stopWords = ['a', 'and', 'back', 'between', 'each', 'it', 'no', 'that', 'the', 'to', 'two', 'until', 'with'];
    const kept = (text.toLowerCase().match(/[a-z]+/g) ?? []).filter((word) => !stopWords.includes(word));
    const distinct = [...new Set(kept)];
    const countOf = (word: string) => kept.filter((each) => each === word).length;
    const byFrequency = [...distinct].sort((a, b) => countOf(b) - countOf(a));

    expect(lines(outputOf('pipeline'))).toEqual([
      `received: ${kept.join(' ')}`,
      `counts:   ${byFrequency.map((word) => `${word} ${countOf(word)}`).join(', ')}`,
      `total:    ${kept.length} words, ${distinct.length} distinct`,
      'finished: producer true, filter true, consumer true',
    ]);
  });

  it('producer-consumer.ts consumes every item once, never lets the queue exceed its bound, and makes producers wait', () => {
    const output = lines(outputOf('producer-consumer'));
    const handled = new Map(
      output.slice(0, 3).map((line) => {
        const [, name, items] = /^(\w+) +handled (.*)$/.exec(line)!;
        return [name!, items!.split(' ')] as const;
      }),
    );
    const produced = ['A', 'B'].flatMap((producer) => Array.from({ length: 8 }, (_, i) => `${producer}${i + 1}`));

    expect([...handled.keys()]).toEqual(['fast', 'medium', 'slow']);
    expect([...handled.values()].flat().sort()).toEqual([...produced].sort());
    // The queue is FIFO: each consumer gets a producer's items in the order they were put.
    for (const items of handled.values()) {
      for (const producer of ['A', 'B']) {
        const numbers = items.filter((item) => item.startsWith(producer)).map((item) => Number(item.slice(1)));
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      }
    }
    const [fast, medium, slow] = [...handled.values()].map((items) => items.length);
    expect(fast).toBeGreaterThan(medium!);
    expect(medium).toBeGreaterThan(slow!);

    expect(output.slice(3, 7)).toEqual([
      'produced: 16 items (A 8, B 8)',
      `consumed: 16 items (fast ${fast}, medium ${medium}, slow ${slow})`,
      'each item consumed once: true',
      'largest queue size seen: 3 (bound 3)',
    ]);
    const [, waited] = /^puts that waited for room: (\d+) of 16$/.exec(output[7]!) ?? [];
    expect(Number(waited)).toBeGreaterThan(0);
    expect(output).toHaveLength(8);
  });

  it('crawler.ts fetches the fast pages, gives up on the slow ones without waiting for them, and keeps to the pool size', async () => {
    // Its own run, for the time: how long the process lived once the crawl began (its
    // first timer), which Node's and tsx's start-up under load do not lengthen.
    const { stdout, stderr } = await run('examples/crawler.ts', 55_000, ['./test/fixtures/lifetime-after-first-timer.mjs']);

    // From the example's site map: /blog/archive and /shop take 10 s and are given up;
    // /blog/2019 and /shop/cart are linked from nowhere else; the rest is reachable from /.
    const expected = [
      'fetched (9): / /about /about/team /blog /blog/1 /blog/2 /docs /docs/api /docs/guide',
      'timed out after 200 ms (2): /blog/archive /shop',
      'never reached (2): /blog/2019 /shop/cart',
      'most fetches in flight at once: 3 (pool size 3)',
    ];
    expect(lines(stdout)).toEqual(expected);
    expect(lines(outputOf('crawler'))).toEqual(expected);
    // Had the slow pages been awaited, the process would have lived 10 s after the crawl
    // began; it lives about 200 ms (the pages' timeout) on an idle machine.
    const [, lived] = /^lifetime after the first timer: (\d+) ms$/m.exec(stderr) ?? [];
    expect(lived, stderr).toBeDefined();
    expect(Number(lived)).toBeLessThan(8000);
  }, 60_000); // the process takes about 1.5 s on an idle machine, most of it Node's and tsx's start

  it('select-loop.ts handles jobs, control messages, idle ticks and quit in a fixed order', () => {
    expect(lines(outputOf('select-loop'))).toEqual([
      'main: send jobs a, b',
      '  worker: job a',
      '  worker: job b',
      '  worker: flush [a, b]', // default: nothing else is ready
      '  worker: tick: idle', // timeout: main waits for this tick
      'main: send jobs c, d, e, then pause',
      '  worker: job c', // handed straight to the waiting select
      '  worker: control: pause', // control goes before the buffered d and e
      '  worker: flush [c]',
      '  worker: tick: paused, 2 jobs waiting', // the jobs case is disabled
      'main: resume',
      '  worker: control: resume',
      '  worker: job d',
      '  worker: job e',
      '  worker: flush [d, e]',
      '  worker: tick: idle',
      'main: close quit',
      '  worker: quit: 5 jobs done in 3 batches',
    ]);
  });

  it('the npm run examples runner (examples/index.ts) runs every example, seed first, and exits 0', () => {
    const examples = readdirSync(new URL('../examples/', import.meta.url))
      .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
      .map((file) => file.slice(0, -'.ts'.length));

    expect(runner.code, runner.output).toBe(0);
    const { output } = runner;

    const headings = lines(output).filter((line) => line.startsWith('── '));
    expect(headings[0]).toBe("── seed: The seed's program: two greenlets switching back and forth.");
    expect(headings.map((heading) => heading.slice(3, heading.indexOf(':'))).sort()).toEqual([...examples].sort());
    expect(output).toContain('\n    12\n    56\n    34\n');
    expect(output).not.toContain('FAILED');
  });
});
