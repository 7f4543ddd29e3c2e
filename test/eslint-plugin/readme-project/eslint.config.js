// eslint.config.js
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import greenlet from 'greenlet-ts/eslint-plugin';

export default defineConfig(tseslint.configs.base, {
  files: ['**/*.ts'],
  languageOptions: { parserOptions: { projectService: true } },
  plugins: { greenlet },
  rules: { 'greenlet/require-yield-star': 'error' },
});
