/**
 * The README's API reference: each name exported by each entry point of package.json has a
 * documentation comment (on its declaration, through re-exports).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const exportsMap = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports as Record<string, { types?: string }>;
const entries = Object.values(exportsMap).flatMap((e) => (e.types ? [join(root, e.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'))] : []));

describe('the public API', () => {
  it('has TSDoc on every name each entry point exports', () => {
    const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true });
    const checker = program.getTypeChecker();
    const undocumented = entries.flatMap((entry) =>
      checker
        .getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)
        .filter((exp) => (exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp).getDocumentationComment(checker).length === 0)
        .map((exp) => exp.name),
    );
    expect(entries.length).toBeGreaterThan(10);
    expect([...new Set(undocumented)].sort()).toEqual([]);
  }, 60_000);

  it("is what npm run docs:api writes: typedoc.json lists every entry point but auto-trace (a side effect, no exports)", () => {
    const typedoc = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const listed = typedoc.entryPoints.map((p) => join(root, p)).sort();
    expect(listed).toEqual(entries.filter((e) => !e.endsWith('auto-trace.ts')).sort());
  });
});
