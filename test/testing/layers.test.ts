/**
 * greenlet-ts/testing builds on the core, hub and sync layers only, and imports no `node:`
 * module, so it runs wherever the core runs. The test-runner glue (vitest, fast-check)
 * lives in modules of its own that the entry point does not import.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../src/testing');
const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
const GLUE = new Set(['vitest.ts', 'fast-check.ts']);

function importsOf(file: string): string[] {
  const source = readFileSync(join(root, file), 'utf8');
  return [...source.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1] as string);
}

describe('the testing layer', () => {
  it('imports nothing but the core, the hub, sync and itself (and no node: module)', () => {
    expect(files.length).toBeGreaterThan(3);
    for (const file of files.filter((f) => !GLUE.has(f))) {
      for (const spec of importsOf(file)) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^\.\/|^\.\.\/(core|hub|sync)\//);
      }
    }
  });

  it('keeps vitest and fast-check out of the entry point', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(file)) if (spec.startsWith('./')) visit(spec.slice(2).replace(/\.js$/, '.ts'));
    };
    visit('index.ts');
    for (const file of GLUE) expect(seen.has(file), `index.ts reaches ${file}`).toBe(false);
  });
});
