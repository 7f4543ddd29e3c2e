/**
 * `greenlet-ts/eslint-plugin`: the ESLint plugin of greenlet-ts, with one rule,
 * `require-yield-star`: every operation (`q.get()`, `sleep(10)`, `t.join()`, ...) is the
 * operand of `yield*`, which is what runs it. It reads types, so it runs with
 * typescript-eslint's parser and type information: in `eslint.config.js`, import the
 * plugin (`import greenlet from 'greenlet-ts/eslint-plugin'`), add it to `plugins`
 * (`plugins: { greenlet }`) and turn the rule on
 * (`rules: { 'greenlet/require-yield-star': 'error' }`) in the config object of your
 * TypeScript files, beside `languageOptions: { parserOptions: { projectService: true } }`.
 * The README shows the whole file; docs/tasks.md ("Catching a missing `yield*` before it
 * runs") what the rule reports and what it leaves alone.
 *
 * The plugin imports nothing at run time: it works with the ESLint, typescript-eslint
 * and TypeScript of the project that uses it (optional peer dependencies of greenlet-ts).
 * It is no layer of the library and imports none.
 *
 * @module
 */
import type { ESLint, Linter, Rule } from 'eslint';
import { requireYieldStar } from './require-yield-star.js';

/** The plugin's version: greenlet-ts's. */
const VERSION = '0.1.0';

/** The shape of {@link plugin}: an ESLint plugin for flat config. */
export interface GreenletPlugin extends ESLint.Plugin {
  meta: { name: string; version: string };
  rules: { 'require-yield-star': Rule.RuleModule };
  configs: { recommended: Linter.Config };
}

/**
 * The plugin object, for `plugins: { greenlet }` in a flat config (the rule is then
 * `greenlet/require-yield-star`). `configs.recommended` registers it under that name and
 * turns the rule on for `.ts`, `.tsx`, `.mts` and `.cts` files; the TypeScript parser
 * with type information is yours to set, as in the example above.
 */
const plugin: GreenletPlugin = {
  meta: { name: 'greenlet-ts/eslint-plugin', version: VERSION },
  // typescript-eslint's rule type and ESLint's describe the same object with different
  // node types (TSESTree and ESTree).
  rules: { 'require-yield-star': requireYieldStar as unknown as Rule.RuleModule },
  configs: { recommended: {} },
};

plugin.configs.recommended = {
  name: 'greenlet-ts/recommended',
  files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
  plugins: { greenlet: plugin },
  rules: { 'greenlet/require-yield-star': 'error' },
};

export default plugin;
export { plugin };
