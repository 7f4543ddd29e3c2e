/**
 * Worker threads and TypeScript on Node: a thread does not get the TypeScript loader of
 * the main thread (tsx's hooks are registered per thread, and on Node 20 `--import tsx`
 * in a worker's execArgv does not install them), so a `.ts` worker module needs one
 * registered in the thread. `startWorkers` does it with tsx when it finds it; `CpuPool`
 * (piscina's threads) cannot, and says so.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPESCRIPT_FILE = /\.[mc]?ts$/;

/**
 * Whether a thread started on `url` (a module URL or a path) needs a TypeScript loader that
 * the runtime will not give it: a TypeScript file, on a Node that does not strip types
 * itself (Deno and Bun load TypeScript in their threads).
 */
export function needsTypeScriptLoader(url: string): boolean {
  const versions = process.versions as { bun?: string; deno?: string };
  if (versions.bun !== undefined || versions.deno !== undefined) return false;
  if ((process as { features?: { typescript?: unknown } }).features?.typescript) return false;
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // a path
  }
  return TYPESCRIPT_FILE.test(path);
}

/**
 * The URL of tsx's registration API (`tsx/esm/api`, its ES module) as seen from each of
 * `from` (module URLs) in turn, then from the current directory; null if tsx is in none.
 */
export function findTsx(from: readonly string[]): string | null {
  for (const place of [...from, pathToFileURL(`${process.cwd()}/`).href]) {
    try {
      const manifest = createRequire(place).resolve('tsx/package.json');
      const exports = (JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } } | undefined> })
        .exports;
      const entry = exports?.['./esm/api']?.import?.default;
      if (entry !== undefined) return pathToFileURL(resolve(dirname(manifest), entry)).href;
    } catch {
      // not installed there
    }
  }
  return null;
}
