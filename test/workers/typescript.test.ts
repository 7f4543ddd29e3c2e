/**
 * Worker modules written in TypeScript, on Node: startWorkers registers tsx in each thread
 * (no `runner` needed), CpuPool refuses a .ts file saying what to give instead, and the
 * snippets of docs/workers.md run as written, with `tsx main.ts` as a user runs them.
 * (Without tsx to be found, startWorkers's TypeError is tested by test/package, whose
 * consumer project has no tsx.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { getHub, run } from 'greenlet-ts';
import { CpuPool, remoteChannel, startWorkers } from '../../src/workers/index.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

afterEach(() => {
  expect(getHub().liveCount).toBe(0);
});

describe('TypeScript worker modules', () => {
  it('startWorkers runs a .ts module, named .ts or .js, with tsx registered in the thread, without a runner', async () => {
    for (const name of ['square.ts', 'square.js']) {
      const result = await run(function* () {
        const [jobs, jobsThere] = remoteChannel<number>(4);
        const [resultsThere, results] = remoteChannel<number>(4);
        const [worker] = startWorkers<string>(fixture(name), { count: 1, data: { jobs: jobsThere, results: resultsThere } });
        for (let i = 1; i <= 3; i++) yield* jobs.send(i);
        jobs.close();
        const squares: number[] = [];
        for (const it = results.iterate(); yield* it.next(); ) squares.push(it.value);
        return { squares, done: yield* worker!.get() };
      });
      expect(result).toEqual({ squares: [1, 4, 9], done: 'done' });
    }
  }, 120_000); // two threads that each load tsx and greenlet-ts's sources: past the 20 s default at a load of 25 (2 cores)

  it('CpuPool refuses a .ts worker module with a TypeError that says to give the JavaScript file', () => {
    expect(() => new CpuPool({ filename: fixture('square.ts') })).toThrow(
      /^CpuPool: the worker module square\.ts is TypeScript, and the pool's threads \(piscina's\) load it without your TypeScript loader\. Give the compiled JavaScript file/,
    );
  });
});

describe("docs/workers.md's snippets, run as written", () => {
  /** The ```ts blocks of the page, in order. */
  const blocks = [...readFileSync(join(repoRoot, 'docs/workers.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const named = (first: string) => {
    const block = blocks.find((b) => b.startsWith(first));
    if (block === undefined) throw new Error(`docs/workers.md has no snippet starting with ${first}`);
    return block;
  };
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A folder as a user's project has it: the files, and greenlet-ts resolved to this repository's sources. */
  function project(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'greenlet-ts-docs-workers-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const src = (path: string) => join(repoRoot, 'src', path);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', paths: { 'greenlet-ts': [src('index.ts')], 'greenlet-ts/*': [src('*/index.ts')] } } }),
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  const tsx = async (cwd: string, file: string) =>
    (await promisify(execFile)(join(repoRoot, 'node_modules/.bin/tsx'), [file], { cwd, timeout: 150_000 })).stdout;

  it('the CpuPool snippet: hash-worker.mjs and the program that hashes on the pool', async () => {
    const worker = named('// hash-worker.mjs');
    const main = blocks[blocks.indexOf(worker) + 1]!;
    expect(main).toContain("new CpuPool<typeof hash>({ filename: new URL('./hash-worker.mjs', import.meta.url) })");
    const cwd = project({ 'hash-worker.mjs': worker, 'main.ts': main });
    const { createHash } = await import('node:crypto');
    let digest = 'greenlets';
    for (let i = 0; i < 10_000; i++) digest = createHash('sha256').update(digest).digest('hex');
    // The snippet's `timeout` counts the start of the pool's thread too: its 5 s were missed
    // at a load of 20 on 2 cores (the job itself takes ~20 ms idle); 30 s only stops a hang.
    expect(main).toContain('{ timeout: 30_000 }');
    expect(await tsx(cwd, 'main.ts')).toBe(`${digest}\n`);
  }, 180_000); // 36-43 s at a load of 25 (2 cores); the limits only stop a hang

  it('the startWorkers snippet: square.ts and main.ts, which names it ./square.js', async () => {
    const cwd = project({ 'square.ts': named('// square.ts'), 'main.ts': named('// main.ts') });
    expect(await tsx(cwd, 'main.ts')).toBe('1\n4\n9\ndone\n');
  }, 180_000); // 36-43 s at a load of 25 (2 cores); the limits only stop a hang

  // The third snippet (ClusteredServer) serves on port 8080 until a signal stops it:
  // test/workers/cluster.test.ts runs the same shape on a free port.
});
