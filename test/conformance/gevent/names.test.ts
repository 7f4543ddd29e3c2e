/**
 * docs/coming-from-gevent.md names only what exists: every name in the greenlet-ts column
 * of its tables (the rules of translation, the names kept, the errors, where the rest of
 * gevent is) is an export of the package's entry points, a JavaScript global, or a
 * method or property of an exported class. A renamed or removed name fails here until
 * the page follows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as main from 'greenlet-ts';
import * as debug from 'greenlet-ts/debug';
import * as io from 'greenlet-ts/io';
import * as workers from 'greenlet-ts/workers';

const page = readFileSync(new URL('../../../docs/coming-from-gevent.md', import.meta.url), 'utf8');

/** The tables whose second column is greenlet-ts code. */
const SECTIONS = ['## The rules of translation', '## Names kept', '## Where the rest of gevent is'];

/** Words of the examples that are JavaScript syntax or placeholders, not names. */
const NOT_NAMES = new Set(['if', 'for', 'while', 'catch', 'function', 'use']);

const exported: Record<string, unknown> = { ...main, ...io, ...debug, ...workers };

/** Methods, getters and static members of every exported class, up its prototype chain. */
function memberNames(): Set<string> {
  const names = new Set<string>();
  for (const value of Object.values(exported)) {
    if (typeof value !== 'function') continue;
    for (const name of Object.getOwnPropertyNames(value)) names.add(name);
    for (let proto = (value.prototype ?? null) as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      for (const name of Object.getOwnPropertyNames(proto)) names.add(name);
    }
  }
  // Fields set in constructors (`t.id`), read from instances made without side effects.
  const samples: object[] = [new main.Task(() => {}), new main.Event(), new main.AsyncResult(), new main.Queue(), new main.Channel()];
  samples.push(new main.Semaphore(), new main.Pool(), new main.Group(), new main.Local());
  for (const sample of samples) for (const name of Object.getOwnPropertyNames(sample)) names.add(name);
  return names;
}

/** The greenlet-ts cells (second column) of the tables in the sections named above. */
function greenletTsCells(): string[] {
  const cells: string[] = [];
  let inSection = false;
  for (const line of page.split('\n')) {
    if (line.startsWith('## ')) inSection = SECTIONS.some((s) => line.startsWith(s));
    if (!inSection || !line.startsWith('| ') || line.startsWith('|---')) continue;
    const cell = line.split(' | ')[1];
    if (cell !== undefined && cell !== 'greenlet-ts' && cell !== 'greenlet-ts raises') cells.push(cell);
  }
  return cells;
}

/**
 * The names a cell's code spans use: `new X`, `X.y`, `f(...)` (not after a dot) must be
 * exported or global; `.m` after a dot must be a member of an exported class.
 */
function namesUsed(cells: string[]): { topLevel: Set<string>; members: Set<string> } {
  const topLevel = new Set<string>();
  const members = new Set<string>();
  for (const cell of cells) {
    for (const [, span] of cell.matchAll(/`([^`]+)`/g)) {
      const code = (span as string).replaceAll('...', ' '); // a spread is not a member
      for (const m of code.matchAll(/(\.)?\b([A-Za-z_$][\w$]*)\b(\s*\()?/g)) {
        const [, dot, name, call] = m as unknown as [string, string | undefined, string, string | undefined];
        const before = code.slice(0, m.index);
        if (NOT_NAMES.has(name) || /^[A-Z]$/.test(name) || /function\*?\s*$/.test(before)) continue; // T: a type parameter
        if (dot !== undefined) members.add(name);
        else if (call !== undefined || /^[A-Z]/.test(name)) topLevel.add(name);
      }
    }
  }
  return { topLevel, members };
}

describe('docs/coming-from-gevent.md', () => {
  const { topLevel, members } = namesUsed(greenletTsCells());

  it('reads names from its tables (the check is not empty)', () => {
    expect([...topLevel]).toEqual(expect.arrayContaining(['spawn', 'Task', 'Queue', 'OverReleaseError', 'StreamServer', 'printRunInfo']));
    expect([...members]).toEqual(expect.arrayContaining(['startNew', 'linkValue', 'iterate']));
  });

  it('every function and class its tables name is exported by greenlet-ts (or its io, debug, workers entry points) or is a JavaScript global; a method named alone (`set()` in the `Event` row) belongs to an exported class', () => {
    const known = memberNames();
    const unknown = [...topLevel].filter((name) => !(name in exported) && !(name in globalThis) && !(/^[a-z]/.test(name) && known.has(name)));
    expect(unknown).toEqual([]);
  });

  it('every method and property its tables name belongs to an exported class', () => {
    const known = memberNames();
    const unknown = [...members].filter((name) => !known.has(name));
    expect(unknown).toEqual([]);
  });
});
