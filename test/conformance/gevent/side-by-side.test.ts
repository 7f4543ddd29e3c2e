/**
 * docs/gevent-side-by-side.md: every TypeScript translation on the page runs (as a user
 * would run it: `node --import tsx`, `greenlet-ts` resolved through tsconfig.json) and
 * prints the output the page shows. With `CHECK_GEVENT=1` and Debian's gevent installed
 * (`/usr/bin/python3 -c 'import gevent'` works), the Python program beside it runs too
 * and prints the same output; otherwise those tests are skipped. They are opt-in because
 * gevent reads its clock before its first loop iteration, so on a loaded machine its
 * timeouts can strike early and the Python programs' output vary.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const page = readFileSync(join(repoRoot, 'docs/gevent-side-by-side.md'), 'utf8');

interface Program {
  title: string;
  python: string;
  ts: string;
  output: string;
}

/** The page's sections: a title, then a python, a ts and a text block. */
function programs(): Program[] {
  const result: Program[] = [];
  for (const section of page.split(/^## /m).slice(1)) {
    const title = section.slice(0, section.indexOf('\n'));
    const block = (lang: string): string => {
      const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(section);
      if (match === null) throw new Error(`section "${title}" has no ${lang} block`);
      return match[1] as string;
    };
    result.push({ title, python: block('python'), ts: block('ts'), output: block('text') });
  }
  return result;
}

const all = programs();
const dir = mkdtempSync(join(tmpdir(), 'greenlet-ts-side-by-side-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function hasGevent(): boolean {
  if (process.env.CHECK_GEVENT !== '1') return false;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import gevent'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const gevent = hasGevent();

async function runFile(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await promisify(execFile)(command, args, { cwd: repoRoot, env, timeout: 60_000 });
  return stdout.trimEnd();
}

describe.concurrent('docs/gevent-side-by-side.md', () => {
  it('has the five programs the issue asks for', () => {
    expect(all.map((p) => p.title)).toEqual([
      'A crawler with a `Pool`',
      'A producer/consumer with a bounded `Queue`',
      'A server with a per-connection timeout',
      'A fan-out with `joinall`',
      'A pub/sub with `Event` and `AsyncResult`',
    ]);
  });

  for (const [i, program] of all.entries()) {
    it(`${program.title}: the translation prints the output shown`, async () => {
      const file = join(dir, `program-${i}.mts`);
      writeFileSync(file, program.ts);
      const env: NodeJS.ProcessEnv = { ...process.env, TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') };
      delete env.NODE_OPTIONS;
      expect(await runFile(process.execPath, ['--import', 'tsx', file], env)).toBe(program.output);
    }, 60_000);

    it.skipIf(!gevent)(`${program.title}: the gevent program prints the same output (Debian's gevent)`, async () => {
      const file = join(dir, `program-${i}.py`);
      writeFileSync(file, program.python);
      expect(await runFile('/usr/bin/python3', [file], process.env)).toBe(program.output);
    }, 60_000);
  }
});
