/**
 * The list of what runs where (files.ts) stays true to the test files and to
 * docs/runtimes.md, and a run of the runtimes takes its files from one listing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXCLUDED, RUNTIMES, excludedTests, filesFor, planRun, repoRoot } from './files.js';

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

describe('a run of the runtimes (planRun)', () => {
  /** A listing that finds one more file each time it is called, as if files were being added. */
  function growingListing(): { list: () => string[]; calls: () => number } {
    let calls = 0;
    return {
      list: () => {
        calls++;
        return ['test/hub/memory.test.ts', 'test/sync/event.test.ts', ...Array.from({ length: calls }, (_, i) => `test/sync/added-${i}.test.ts`)];
      },
      calls: () => calls,
    };
  }

  it('lists the test files once, and every runtime runs its part of that one list, all of it bundled', () => {
    const listing = growingListing();
    const plan = planRun(RUNTIMES, [], listing.list);
    expect(listing.calls()).toBe(1);
    expect(plan.bundle).toEqual(['test/hub/memory.test.ts', 'test/sync/event.test.ts', 'test/sync/added-0.test.ts']);
    expect(plan.files.get('deno')?.run).toEqual(plan.bundle);
    expect(plan.files.get('bun')?.run).toEqual(plan.bundle);
    for (const runtime of ['chromium', 'firefox', 'jsc'] as const) {
      expect(plan.files.get(runtime)).toEqual({
        run: ['test/sync/event.test.ts', 'test/sync/added-0.test.ts'],
        skipped: [{ file: 'test/hub/memory.test.ts', reason: 'measures process.memoryUsage()' }],
      });
    }
  });

  it('runs only the files whose path contains one of the parts asked for, and plans only the runtimes asked for', () => {
    const listing = growingListing();
    const plan = planRun(['jsc', 'deno'], ['memory', 'added-'], listing.list);
    expect(listing.calls()).toBe(1);
    expect([...plan.files.keys()]).toEqual(['jsc', 'deno']);
    expect(plan.files.get('jsc')?.run).toEqual(['test/sync/added-0.test.ts']);
    expect(plan.files.get('deno')?.run).toEqual(['test/hub/memory.test.ts', 'test/sync/added-0.test.ts']);
    expect(plan.bundle).toEqual(['test/sync/added-0.test.ts', 'test/hub/memory.test.ts']);
  });

  it('lists the test files of the repository by default', () => {
    const plan = planRun(['deno'], []);
    expect(plan.bundle).toContain('test/sync/event.test.ts');
    expect(plan.bundle).toEqual(filesFor('deno').run);
  });
});
