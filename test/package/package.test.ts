/**
 * The package as it is published: `npm pack` (whose `prepack` builds dist/), checked by
 * publint and @arethetypeswrong/cli, then installed from the tarball into a fresh consumer
 * project that typechecks against it (moduleResolution node16 and bundler) and runs a
 * program importing `greenlet-ts`, `greenlet-ts/io` and `greenlet-ts/workers`, and whose
 * ESLint, set up as the README says, runs `greenlet-ts/eslint-plugin`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
const exec = promisify(execFile);
const REPOSITORY = 'https://github.com/greenlet-ts/greenlet-ts';

let work: string;
let tarball: string;
let consumer: string;
/** The consumer's `npm install`, started as soon as the tarball is packed (see below). */
let installed: Promise<void>;

/** The version of a package installed in the repository. */
function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Run a command; on failure, the error carries its whole output. Killed after `timeout` ms,
 * before the time limit of the test or hook that runs it, so that no process outlives it.
 */
async function sh(file: string, args: string[], cwd: string, timeout = 110_000): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed:\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'greenlet-ts-package-'));
  // `npm pack` runs `prepack`, which builds dist/ from a clean slate.
  const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work], repoRoot, 290_000)) as { filename: string }[];
  tarball = join(work, packed[0]!.filename);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  // The consumer's install (mostly waiting on npm's cache and the disk) goes on while the
  // tarball's own tests run; the consumer's tests wait for it.
  installed = installConsumer();
  installed.catch(() => {}); // reported by the consumer's beforeAll, which awaits it
  // The build takes about 20 s on an idle machine and went past 110 s at a load of 20 (2
  // cores): the limits only stop a hang.
}, 300_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 60_000); // the consumer's node_modules: past vitest's 10 s default at a load of 15 (2 cores)

/** The consumer's program: the package's entry points, a pool thread, a file read. */
const program = `
import { Queue, run, spawn } from 'greenlet-ts';
import { readFile } from 'greenlet-ts/io';
import { CpuPool } from 'greenlet-ts/workers';
import type square from './square.mjs';

const pool = new CpuPool<typeof square>({ filename: new URL('./square.mjs', import.meta.url), maxThreads: 1 });
const answer: string = await run(function* () {
  const text = yield* readFile(new URL('../message.txt', import.meta.url), 'utf8');
  const results = new Queue<number>();
  const worker = spawn(function* () {
    results.putNowait(yield* pool.run(7));
  });
  yield* worker.join();
  const squared = yield* results.get();
  yield* pool.destroy();
  return \`\${text.trim()} \${squared}\`;
});
console.log(answer);
`;

/** The consumer project: its files, then `npm install` of the tarball and of ESLint. */
async function installConsumer(): Promise<void> {
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(consumer, 'message.txt'), 'seven squared is\n');
  mkdirSync(join(consumer, 'src'));
  writeFileSync(join(consumer, 'src', 'main.ts'), program);
  writeFileSync(join(consumer, 'src', 'square.mjs'), 'export default function square(n) { return n * n; }\n');
  writeFileSync(join(consumer, 'src', 'square.d.mts'), 'export default function square(n: number): number;\n');
  // Offline where it can be: dependencies come from npm's cache, which `npm ci` filled.
  // ESLint, typescript-eslint and TypeScript for the lint rule, at the repository's versions.
  const linting = ['eslint', 'typescript-eslint', 'typescript'].map((name) => `${name}@${installedVersion(name)}`);
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...linting], consumer, 290_000);
}

describe('the packed tarball', () => {
  it('holds the built entry points, their types, the sources their maps point to, README and LICENSE, and no tests', async () => {
    const files = (await sh('tar', ['-tzf', tarball], work)).split('\n').filter(Boolean);
    for (const entry of ['index', 'io/index', 'workers/index', 'debug/index', 'workers/worker', 'eslint-plugin/index']) {
      expect(files).toContain(`package/dist/${entry}.js`);
      expect(files).toContain(`package/dist/${entry}.d.ts`);
    }
    expect(files).toContain('package/src/index.ts');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/LICENSE');
    expect(files.filter((f) => f.startsWith('package/test/') || f.includes('node_modules'))).toEqual([]);
  });

  it('passes publint with warnings counted as errors', async () => {
    const output = await sh(bin('publint'), ['run', tarball, '--strict'], work);
    expect(output).toContain('All good!');
  }, 120_000); // beside the consumer's npm install (see beforeAll)

  it('passes @arethetypeswrong/cli for ESM consumers (node16 from ESM, bundler)', async () => {
    // ESM only, as the README says: CommonJS `require` is not offered (node10, node16-cjs).
    const output = await sh(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], work);
    const report = JSON.parse(output) as { problems?: unknown[]; analysis: { problems: unknown[] } };
    const problems = (report.analysis.problems as { resolutionKind?: string }[]).filter(
      (p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs',
    );
    expect(problems).toEqual([]);
  }, 120_000); // 7 s at a load of 12; past the 20 s default beside the consumer's npm install at a load of 8

  it('has a license, a repository, a homepage, an issue tracker and the oldest Node it accepts (20) in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(pkg.repository).toEqual({ type: 'git', url: `git+${REPOSITORY}.git` });
    expect(pkg.homepage).toBe(`${REPOSITORY}#readme`);
    expect(pkg.bugs).toEqual({ url: `${REPOSITORY}/issues` });
    // The README: CI runs Node 20, "the oldest the package accepts".
    expect(pkg.engines).toEqual({ node: '>=20' });
  });
});

describe('the README on the registry page', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);

  it('links only to absolute addresses (relative links break on the registry page)', () => {
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !/^https:\/\//.test(link))).toEqual([]);
  });

  it("links to files of the repository's main branch that exist", () => {
    const prefix = `${REPOSITORY}/blob/main/`;
    const own = links.filter((link) => link.startsWith(prefix)).map((link) => link.slice(prefix.length).replace(/#.*$/, ''));
    expect(own.length).toBeGreaterThan(5);
    expect(own.filter((path) => !existsSync(join(repoRoot, path)))).toEqual([]);
  });
});

describe('a consumer project installing the tarball', () => {
  beforeAll(() => installed, 300_000);

  /** tsc with the repository's TypeScript and Node types, and the consumer's node_modules. */
  function tsconfig(resolution: 'node16' | 'bundler', emit: boolean): string {
    const file = join(consumer, `tsconfig.${resolution}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: resolution === 'node16' ? 'node16' : 'esnext',
          moduleResolution: resolution,
          strict: true,
          // The declarations were checked when they were built; @types/node need not be again.
          skipLibCheck: true,
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
          types: ['node'],
          ...(emit ? { outDir: 'out', rootDir: 'src' } : { noEmit: true }),
        },
        include: ['src'],
      }),
    );
    return file;
  }

  it('gets the package with its one dependency, piscina', () => {
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', 'greenlet-ts', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
    expect(existsSync(join(consumer, 'node_modules', 'piscina', 'package.json'))).toBe(true);
  });

  it('typechecks with moduleResolution bundler', async () => {
    await sh(bin('tsc'), ['-p', tsconfig('bundler', false)], consumer);
  }, 120_000);

  it('typechecks and compiles with moduleResolution node16, and the program runs on the installed package', async () => {
    await sh(bin('tsc'), ['-p', tsconfig('node16', true)], consumer);
    writeFileSync(join(consumer, 'out', 'square.mjs'), readFileSync(join(consumer, 'src', 'square.mjs')));
    const output = await sh(process.execPath, [join(consumer, 'out', 'main.js')], consumer);
    expect(output).toBe('seven squared is 49\n');
  }, 120_000);

  it("loads from CommonJS with await import('greenlet-ts'), as the README says", async () => {
    const cjs = "(async () => {\n  const { run } = await import('greenlet-ts');\n  console.log(await run(function* () { return 'from CommonJS'; }));\n})();\n";
    writeFileSync(join(consumer, 'from-commonjs.cjs'), cjs);
    expect(await sh(process.execPath, [join(consumer, 'from-commonjs.cjs')], consumer)).toBe('from CommonJS\n');
  }, 120_000);

  it("lints with the README's eslint.config.js: greenlet-ts/eslint-plugin reports a forgotten yield*", async () => {
    const config = /```js\n(\/\/ eslint\.config\.js\n[\s\S]*?)```/.exec(readFileSync(join(repoRoot, 'README.md'), 'utf8'))![1]!;
    writeFileSync(join(consumer, 'eslint.config.js'), config);
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', strict: true, skipLibCheck: true, noEmit: true }, include: ['src', 'lint'] }));
    mkdirSync(join(consumer, 'lint'), { recursive: true });
    const slip = "import { Queue, run, sleep, spawn } from 'greenlet-ts';\nconst q = new Queue<number>();\nawait run(function* () {\n  spawn(function* () {\n    q.get();\n    yield* sleep(0);\n  });\n});\n";
    writeFileSync(join(consumer, 'lint', 'slip.ts'), slip);
    const eslint = join(consumer, 'node_modules', '.bin', 'eslint');
    // ESLint exits with 1 when it reports a problem (2 when it fails).
    const report = await exec(eslint, ['--format', 'json', 'src', 'lint'], { cwd: consumer, timeout: 110_000 }).then(
      () => expect.fail('eslint reported no problem'),
      (e: { code?: number; stdout?: string; stderr?: string }) => {
        expect(e.code, e.stderr).toBe(1);
        return e.stdout ?? '';
      },
    );
    const results = JSON.parse(report) as { filePath: string; messages: { line: number; ruleId: string; message: string }[] }[];
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(consumer.length + 1)}:${m.line} ${m.ruleId}: ${m.message}`))).toEqual([
      'lint/slip.ts:5 greenlet/require-yield-star: `q.get()` is an operation: it does nothing until `yield*` runs it. Write `yield* q.get()`.',
    ]);
  }, 120_000);

  it('refuses a TypeScript worker module where no tsx is installed, saying what to pass instead', async () => {
    writeFileSync(join(consumer, 'job.ts'), 'export default (n: number): number => n;\n');
    writeFileSync(
      join(consumer, 'typescript-workers.mjs'),
      [
        "import { CpuPool, startWorkers } from 'greenlet-ts/workers';",
        "const job = new URL('./job.ts', import.meta.url);",
        'for (const attempt of [() => startWorkers(job, { count: 1 }), () => new CpuPool({ filename: job })]) {',
        "  try { attempt(); console.log('no error'); } catch (error) { console.log(`${error.name}: ${error.message}`); }",
        '}',
      ].join('\n'),
    );
    const lines = (await sh(process.execPath, ['typescript-workers.mjs'], consumer)).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^TypeError: startWorkers\(\): job\.ts is TypeScript, and Node's worker threads do not get the TypeScript loader of the main thread\. Install tsx where the worker module can import it \(npm install --save-dev tsx\)/,
    );
    expect(lines[1]).toMatch(/^TypeError: CpuPool: the worker module job\.ts is TypeScript, and the pool's threads \(piscina's\) load it without your TypeScript loader\. Give the compiled JavaScript file/);
  }, 60_000);
});
