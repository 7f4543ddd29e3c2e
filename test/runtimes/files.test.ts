/**
 * The list of what runs where (files.ts) stays true to the test files and to
 * docs/runtimes.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXCLUDED, RUNTIMES, excludedTests, filesFor, repoRoot } from './files.js';

describe('the runtime exclusions', () => {
  it('name test files that exist, and tests that those files declare', () => {
    for (const exclusion of EXCLUDED) {
      const path = join(repoRoot, exclusion.file);
      expect(existsSync(path), exclusion.file).toBe(true);
      if (exclusion.test !== undefined) {
        const name = exclusion.test.split(' > ').at(-1)!;
        expect(readFileSync(path, 'utf8'), exclusion.test).toContain(name);
      }
    }
  });

  it("match docs/runtimes.md's table of how many files and single tests each runtime leaves out", () => {
    const table = readFileSync(join(repoRoot, 'docs/runtimes.md'), 'utf8');
    const row = { deno: 'Deno 2', bun: 'Bun 1', chromium: 'Chromium', firefox: 'Firefox', jsc: 'JavaScriptCore' } as const;
    for (const runtime of RUNTIMES) {
      const cells = table.split('\n').find((l) => l.startsWith(`| ${row[runtime]} `))?.split('|') ?? [];
      expect(cells[3]?.trim().split(':')[0], `${runtime}: files`).toBe(String(filesFor(runtime).skipped.length));
      expect(cells[4]?.trim().split(':')[0], `${runtime}: tests`).toBe(String(excludedTests().filter((e) => e.runtimes.includes(runtime)).length));
    }
  });
});
