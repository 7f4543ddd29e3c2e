/**
 * Port of greenlet's `src/greenlet/tests/test_version.py` (anchor 74b3c41), ADAPT: the
 * reference compares `setup.py --version` with `greenlet.__version__`; here the exported
 * `version` is compared with the `version` field of the package's package.json.
 *
 * No test of this file is N/A.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { version } from 'greenlet-ts';

/** The reference's `find_dominating_file(name)`: the nearest `name` in this directory or above. */
function findDominatingFile(name: string): URL {
  const tried: string[] = [];
  for (let i = 0; i < 10; i++) {
    const candidate = new URL(`${'../'.repeat(i)}${name}`, new URL('./', import.meta.url));
    tried.push(candidate.pathname);
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // not here; go up one level
    }
  }
  throw new Error(`Could not find file ${name}; checked ${tried.join(', ')}`);
}

describe('VersionTests', () => {
  it("test_version: the exported version equals package.json's version", () => {
    const manifest = JSON.parse(readFileSync(findDominatingFile('package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    expect(manifest.name).toBe('greenlet-ts');
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);

    expect(version).toBe(manifest.version);
  });
});
