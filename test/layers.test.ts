/**
 * The layers as the README draws them: `core` ← `hub` ← `sync` ← `interop` ← `io` ←
 * `workers`, with `debug` beside them and `nats` on top; a lower layer never imports a
 * higher one, `src/eslint-plugin` imports none, and `greenlet-ts` (src/index.ts) exports
 * the first four, which import no `node:` module.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '../src');
const CHAIN = ['core', 'hub', 'sync', 'interop', 'io', 'workers'];

/** Every module specifier of a file: `from '…'`, `import '…'`, `import('…')`. */
function specifiers(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\bimport)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
}

/** The folders of src/ the files of `layer` import (itself included), and their `node:` modules. */
function importsOf(layer: string): { layers: Set<string>; node: string[] } {
  const files = readdirSync(join(src, layer), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const layers = new Set<string>();
  const node: string[] = [];
  for (const file of files.map((f) => join(src, layer, f))) {
    for (const spec of specifiers(file)) {
      if (spec.startsWith('node:')) node.push(`${relative(src, file)}: ${spec}`);
      else if (spec.startsWith('.')) layers.add(relative(src, resolve(dirname(file), spec)).split('/')[0]!);
    }
  }
  return { layers, node };
}

/** The layers of src/ that `layer` imports and may not. */
const beyond = (layer: string, allowed: string[]): string[] => [...importsOf(layer).layers].filter((l) => !allowed.includes(l));

describe('the layers of src/', () => {
  it('import only themselves and the layers below them: core, hub, sync, interop, io, workers', () => {
    for (const [i, layer] of CHAIN.entries()) expect(beyond(layer, CHAIN.slice(0, i + 1)), layer).toEqual([]);
    expect(importsOf('core').layers).toEqual(new Set(['core'])); // no dependencies
  });

  it('put debug beside them and nats on top: neither imports the other, nor anything but the chain', () => {
    expect(beyond('debug', [...CHAIN, 'debug'])).toEqual([]);
    expect(beyond('nats', [...CHAIN, 'nats'])).toEqual([]);
  });

  it('leave the eslint plugin on its own: it imports no layer', () => {
    expect(beyond('eslint-plugin', ['eslint-plugin'])).toEqual([]);
  });

  it("make greenlet-ts the first four, which import no node: module", () => {
    expect(specifiers(join(src, 'index.ts')).filter((s) => s.startsWith('.'))).toEqual(['./core/index.js', './hub/index.js', './sync/index.js', './interop/index.js']);
    expect(CHAIN.slice(0, 4).flatMap((layer) => importsOf(layer).node)).toEqual([]);
  });
});
