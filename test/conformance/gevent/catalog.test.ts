/**
 * CATALOG.md and the ports cannot drift apart: every PORTABLE / ADAPT row has exactly
 * one test of that name under that class in the file's port, every test of a port has a
 * PORTABLE / ADAPT row, and the counts (class headings, file headings, the totals table,
 * the sentence that sums them up) agree with the rows.
 *
 * The ports' test names are read by running each port file's collection (its
 * `describe` / `it` calls, including the ones harness.ts's `genericWaitTests` /
 * `genericGetTests` make and `.each` tables) against a recording stand-in for vitest
 * (`vi.doMock('vitest', ...)`): what is compared is what vitest would run, without a
 * second run of the tests. A port's `describe` is gevent's class (the outermost one; an
 * inner `describe` only groups variations) and its `it` is `test_name: what it checks`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

type Marker = 'PORTABLE' | 'ADAPT' | 'N/A';

interface Row {
  file: string; // gevent's test__x.py
  cls: string;
  test: string;
  marker: Marker;
}

interface Catalog {
  rows: Row[];
  /** `### Class (n)` headings, per file. */
  classCounts: { file: string; cls: string; count: number }[];
  /** `## test__x.py — n tests` headings. */
  fileCounts: Map<string, number>;
  /** The totals table: counts per file and the port file ('—' for none). */
  totals: Map<string, { tests: number; portable: number; adapt: number; na: number; port: string }>;
  totalLine: { tests: number; portable: number; adapt: number; na: number } | undefined;
  /** "**489 tests in 18 files**; 366 are ported". */
  summary: { tests: number; files: number; ported: number } | undefined;
}

function parseCatalog(text: string): Catalog {
  const catalog: Catalog = { rows: [], classCounts: [], fileCounts: new Map(), totals: new Map(), totalLine: undefined, summary: undefined };
  let file: string | undefined;
  let cls: string | undefined;
  let inTotals = false;
  const summary = /\*\*(\d+) tests in (\d+) files\*\*; (\d+) are\s+ported/.exec(text);
  if (summary) catalog.summary = { tests: +summary[1]!, files: +summary[2]!, ported: +summary[3]! };
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if (/^## Totals/.test(line)) {
      inTotals = true;
      continue;
    }
    if ((m = /^## (test__\S+\.py) — (\d+) tests$/.exec(line))) {
      inTotals = false;
      file = m[1]!;
      cls = undefined;
      catalog.fileCounts.set(file, +m[2]!);
      continue;
    }
    if (/^## /.test(line)) {
      inTotals = false;
      file = undefined;
      continue;
    }
    if (inTotals) {
      if ((m = /^\| \*\*total\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|/.exec(line))) {
        catalog.totalLine = { tests: +m[1]!, portable: +m[2]!, adapt: +m[3]!, na: +m[4]! };
      } else if ((m = /^\| (test__\S+\.py) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\S+) \|$/.exec(line))) {
        catalog.totals.set(m[1]!, { tests: +m[2]!, portable: +m[3]!, adapt: +m[4]!, na: +m[5]!, port: m[6]! });
      }
      continue;
    }
    if (file === undefined) continue;
    if ((m = /^### (.+) \((\d+)\)$/.exec(line))) {
      cls = m[1]!;
      catalog.classCounts.push({ file, cls, count: +m[2]! });
      continue;
    }
    if (line.startsWith('| ') && !line.startsWith('| test | marker') && !line.startsWith('|---')) {
      const cells = line.split(' | ');
      const test = cells[0]!.slice(2);
      const marker = cells[1];
      if (cls === undefined || (marker !== 'PORTABLE' && marker !== 'ADAPT' && marker !== 'N/A')) {
        throw new Error(`CATALOG.md: a row outside a class table, or without a marker: ${line}`);
      }
      catalog.rows.push({ file, cls, test, marker });
    }
  }
  return catalog;
}

/** A test a port file defines: its describe path and its `it` title. */
export interface CollectedTest {
  path: string[];
  title: string;
  /** `it.skip`, `it.todo`, `describe.skip`, ...: defined but not run. */
  skipped: boolean;
}

/** vitest's `.each` naming, for the forms the ports use (printf `%s`, `%d`, `%i`, `%#`, `%%`). */
function eachTitle(template: string, row: unknown, index: number): string {
  const args = Array.isArray(row) ? row : [row];
  if (/%[^sdi#%]/.test(template)) throw new Error(`catalog.test.ts: the .each title ${JSON.stringify(template)} uses a format it does not know`);
  const withIndex = template.replace(/%#/g, String(index));
  const used = (withIndex.match(/%[sdi]/g) ?? []).length;
  return format(withIndex, ...args.slice(0, used));
}

/** A recording stand-in for vitest's `describe` / `it` / hooks. */
function recorder() {
  const tests: CollectedTest[] = [];
  const path: string[] = [];
  let skipDepth = 0;
  const lastFunction = (args: unknown[]) => args.findLast((a): a is (...xs: unknown[]) => unknown => typeof a === 'function');

  function makeSuite(skipped: boolean) {
    const suite = (name: string, ...rest: unknown[]): void => {
      const body = lastFunction(rest);
      path.push(String(name));
      if (skipped) skipDepth++;
      try {
        const result = body?.();
        if (result instanceof Promise) throw new Error(`catalog.test.ts: the describe ${JSON.stringify(name)} has an async body`);
      } finally {
        if (skipped) skipDepth--;
        path.pop();
      }
    };
    return Object.assign(suite, {
      each:
        (table: unknown[]) =>
        (template: string, ...rest: unknown[]) => {
          const body = lastFunction(rest)!;
          table.forEach((row, i) => suite(eachTitle(template, row, i), () => body(...(Array.isArray(row) ? row : [row]))));
        },
    });
  }
  function makeTest(skipped: boolean) {
    const test = (name: string): void => {
      tests.push({ path: [...path], title: String(name), skipped: skipped || skipDepth > 0 });
    };
    return Object.assign(test, {
      each:
        (table: unknown[]) =>
        (template: string): void => {
          table.forEach((row, i) => test(eachTitle(template, row, i)));
        },
    });
  }
  function chain<T extends object>(make: (skipped: boolean) => T): T {
    const run = make(false);
    const skip = make(true);
    const skipIf = (condition: unknown) => (condition ? skip : run);
    const runIf = (condition: unknown) => (condition ? run : skip);
    return Object.assign(run, {
      skip,
      todo: skip,
      skipIf,
      runIf,
      only: run,
      concurrent: run,
      sequential: run,
      fails: run,
    });
  }
  const noop = (): void => {};
  return {
    tests,
    api: {
      describe: chain(makeSuite),
      suite: chain(makeSuite),
      it: chain(makeTest),
      test: chain(makeTest),
      beforeAll: noop,
      afterAll: noop,
      beforeEach: noop,
      afterEach: noop,
    },
  };
}

/** The tests each port file (test__*.test.ts) defines, by collecting it against {@link recorder}. */
async function collectPorts(files: string[]): Promise<Map<string, CollectedTest[]>> {
  const { tests, api } = recorder();
  vi.resetModules(); // a port imported before is collected again
  vi.doMock('vitest', async (importOriginal) => ({ ...(await importOriginal<object>()), ...api }));
  const byFile = new Map<string, CollectedTest[]>();
  try {
    for (const file of files) {
      const before = tests.length;
      await import(/* @vite-ignore */ join(here, file));
      byFile.set(file, tests.slice(before));
    }
  } finally {
    vi.doUnmock('vitest');
  }
  return byFile;
}

/** The gevent test name a port's `it` title names: the part before the first ': '. */
function testName(title: string): string {
  const colon = title.indexOf(': ');
  return colon === -1 ? title : title.slice(0, colon);
}

/**
 * What does not match between the catalogue's rows of one gevent file and its port's
 * tests: rows without a test, tests without a PORTABLE / ADAPT row (or with an N/A
 * one), rows with more than one test, and skipped tests.
 */
export function compare(rows: Row[], tests: CollectedTest[]): string[] {
  const problems: string[] = [];
  const key = (cls: string, test: string) => `${cls} :: ${test}`;
  const rowByKey = new Map<string, Row>();
  for (const row of rows) {
    const k = key(row.cls, row.test);
    if (rowByKey.has(k)) problems.push(`row listed twice: ${k}`);
    rowByKey.set(k, row);
  }
  const testsByKey = new Map<string, CollectedTest[]>();
  for (const t of tests) {
    const cls = t.path[0];
    const k = key(cls ?? '(no describe)', testName(t.title));
    const row = rowByKey.get(k);
    if (cls === undefined) problems.push(`test outside a describe (gevent's class): ${t.title}`);
    else if (row === undefined) problems.push(`test without a row: ${t.path.join(' > ')} > ${t.title}`);
    else if (row.marker === 'N/A') problems.push(`test of a row marked N/A: ${k}`);
    if (t.skipped) problems.push(`test skipped: ${t.path.join(' > ')} > ${t.title}`);
    testsByKey.set(k, [...(testsByKey.get(k) ?? []), t]);
  }
  for (const row of rows) {
    if (row.marker === 'N/A') continue;
    const found = testsByKey.get(key(row.cls, row.test)) ?? [];
    if (found.length === 0) problems.push(`${row.marker} row without a test: ${key(row.cls, row.test)}`);
    if (found.length > 1) problems.push(`${found.length} tests for one row: ${key(row.cls, row.test)}`);
  }
  return problems;
}

const catalog = parseCatalog(readFileSync(join(here, 'CATALOG.md'), 'utf8'));
const portFiles = readdirSync(here)
  .filter((f) => /^test__.*\.test\.ts$/.test(f))
  .sort();

describe('CATALOG.md', () => {
  it('counts: each class heading, file heading and totals-table line agrees with the rows, and the summary sentence with the totals', () => {
    const count = (rows: Row[], marker?: Marker) => rows.filter((r) => marker === undefined || r.marker === marker).length;
    for (const { file, cls, count: n } of catalog.classCounts) {
      expect(count(catalog.rows.filter((r) => r.file === file && r.cls === cls)), `${file} ${cls}`).toBe(n);
    }
    expect([...catalog.totals.keys()].sort()).toEqual([...catalog.fileCounts.keys()].sort());
    for (const [file, line] of catalog.totals) {
      const rows = catalog.rows.filter((r) => r.file === file);
      expect(catalog.fileCounts.get(file), `${file} heading`).toBe(rows.length);
      expect(
        { tests: line.tests, portable: line.portable, adapt: line.adapt, na: line.na },
        `${file} totals line`,
      ).toEqual({ tests: count(rows), portable: count(rows, 'PORTABLE'), adapt: count(rows, 'ADAPT'), na: count(rows, 'N/A') });
    }
    const rows = catalog.rows;
    expect(catalog.totalLine).toEqual({ tests: count(rows), portable: count(rows, 'PORTABLE'), adapt: count(rows, 'ADAPT'), na: count(rows, 'N/A') });
    expect(catalog.summary).toEqual({ tests: count(rows), files: catalog.fileCounts.size, ported: count(rows, 'PORTABLE') + count(rows, 'ADAPT') });
  });

  it('port files: every gevent file with PORTABLE / ADAPT rows names its port, which exists; every port file here is named', () => {
    const named = new Set<string>();
    for (const [file, line] of catalog.totals) {
      const ported = line.portable + line.adapt;
      if (ported === 0) {
        expect(line.port, file).toBe('—');
        continue;
      }
      expect(line.port, file).toBe(file.replace(/\.py$/, '.test.ts'));
      named.add(line.port);
    }
    expect(portFiles).toEqual([...named].sort());
  });

  it('ports: every PORTABLE / ADAPT row has exactly one test of that name under that class, and every test a PORTABLE / ADAPT row', async () => {
    const collected = await collectPorts(portFiles);
    const problems: string[] = [];
    let tests = 0;
    for (const [file, line] of catalog.totals) {
      if (line.port === '—') continue;
      const portTests = collected.get(line.port) ?? [];
      tests += portTests.length;
      problems.push(...compare(catalog.rows.filter((r) => r.file === file), portTests).map((p) => `${line.port}: ${p}`));
    }
    expect(problems).toEqual([]);
    expect(tests).toBe(catalog.rows.filter((r) => r.marker !== 'N/A').length);
  });

  it('the comparison reports a row without a test, a test without a row, a test of an N/A row, a row tested twice and a skipped test', () => {
    const rows: Row[] = [
      { file: 'test__x.py', cls: 'TestA', test: 'test_one', marker: 'PORTABLE' },
      { file: 'test__x.py', cls: 'TestA', test: 'test_two', marker: 'ADAPT' },
      { file: 'test__x.py', cls: 'TestA', test: 'test_three', marker: 'N/A' },
      { file: 'test__x.py', cls: 'TestB', test: 'test_one', marker: 'PORTABLE' },
    ];
    const t = (path: string[], title: string, skipped = false): CollectedTest => ({ path, title, skipped });
    expect(compare(rows, [t(['TestA'], 'test_one: x'), t(['TestA', 'variation'], 'test_two: y'), t(['TestB'], 'test_one: z')])).toEqual([]);
    expect(
      compare(rows, [
        t(['TestA'], 'test_one: x'),
        t(['TestA'], 'test_one: again'),
        t(['TestA'], 'test_three: ported though N/A'),
        t(['TestA'], 'test_four: no row'),
        t(['TestB'], 'test_one: z', true),
      ]),
    ).toEqual([
      'test of a row marked N/A: TestA :: test_three',
      'test without a row: TestA > test_four: no row',
      'test skipped: TestB > test_one: z',
      '2 tests for one row: TestA :: test_one',
      'ADAPT row without a test: TestA :: test_two',
    ]);
  });

});
