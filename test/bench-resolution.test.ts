/**
 * docs/benchmarks.md says `npm run bench` times the build (dist/), what an application runs,
 * through `TSX_TSCONFIG_PATH=tsconfig.bench.json`, and that without it tsx maps
 * `greenlet-ts` to src/. These tests resolve the package both ways, as the bench scripts do.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Where `specifier` resolves in a `node --import tsx` process started at the root. */
function resolved(specifier: string, env: NodeJS.ProcessEnv): string {
  const script = `console.log(import.meta.resolve(${JSON.stringify(specifier)}))`;
  const url = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env,
    encoding: 'utf8',
  }).trim();
  return fileURLToPath(url).slice(root.length);
}

describe('the benchmarks time the build', () => {
  const { TSX_TSCONFIG_PATH: _unset, ...plain } = process.env;

  it('resolves greenlet-ts and its entry points to dist/ with tsconfig.bench.json', () => {
    const env = { ...plain, TSX_TSCONFIG_PATH: 'tsconfig.bench.json' };
    expect(resolved('greenlet-ts', env)).toBe('dist/index.js');
    expect(resolved('greenlet-ts/debug', env)).toBe('dist/debug/index.js');
  });

  it('resolves them to src/ without it (tsconfig.json paths)', () => {
    expect(resolved('greenlet-ts', plain)).toBe('src/index.ts');
    expect(resolved('greenlet-ts/debug', plain)).toBe('src/debug/index.ts');
  });

  it('builds and sets tsconfig.bench.json in every bench script', () => {
    const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    const bench = Object.entries(scripts).filter(([name]) => name === 'bench' || name.startsWith('bench:'));
    expect(bench.map(([name]) => name).sort()).toEqual(['bench', 'bench:builds', 'bench:million', 'bench:peers', 'bench:reference']);
    for (const [, s] of bench) expect(s).toMatch(/^npm run build && TSX_TSCONFIG_PATH=tsconfig\.bench\.json node /);
  });
});
