/**
 * The README's ESLint setup works as written: test/eslint-plugin/readme-project/ is a
 * user's project whose eslint.config.js is the README's (the test checks that the README
 * shows exactly that file), linted with ESLint's Node API from the project's folder, as
 * `npx eslint src` would. 'greenlet-ts/eslint-plugin' resolves to the plugin's source here;
 * test/package/package.test.ts runs the published one.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { describe, expect, it } from 'vitest';

const project = fileURLToPath(new URL('./readme-project/', import.meta.url));
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const config = readFileSync(new URL('./readme-project/eslint.config.js', import.meta.url), 'utf8');

describe("the README's ESLint setup", () => {
  it('is the eslint.config.js of the test project', () => {
    expect(readme).toContain(`\`\`\`js\n${config}\`\`\``);
  });

  it("reports the README's slip with the message the README shows, and nothing else", async () => {
    // Through vitest, whose aliases resolve 'greenlet-ts/eslint-plugin' to the source.
    const path: string = './readme-project/eslint.config.js';
    const { default: flat } = (await import(path)) as { default: Linter.Config[] };
    const eslint = new ESLint({ cwd: project, overrideConfigFile: true, overrideConfig: flat });
    const results = await eslint.lintFiles(['src']);
    const messages = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(project.length)}:${m.line}:${m.column} ${m.ruleId}: ${m.message}`));
    expect(messages).toEqual([
      'src/main.ts:7:5 greenlet/require-yield-star: `q.get()` is an operation: it does nothing until `yield*` runs it. Write `yield* q.get()`.',
    ]);
    expect(readme).toContain('`q.get()` is an operation: it does nothing until `yield*` runs it. Write `yield* q.get()`.');
  }, 60_000);
});
