/**
 * Where in the user's code something happened, read from a JavaScript stack: the first
 * frame outside greenlet-ts itself (and outside the engine and node_modules).
 *
 * @module
 */

/** The folder that holds the library's modules (src/ or dist/), as it appears in stacks. */
const LIBRARY_ROOT = decodeURIComponent(new URL('../', import.meta.url).pathname);

const CWD: string | undefined = (() => {
  const proc = (globalThis as { process?: { cwd?: () => string } }).process;
  try {
    return typeof proc?.cwd === 'function' ? proc.cwd() : undefined;
  } catch {
    return undefined;
  }
})();

/** `file:line:column` of one frame (V8's `at f (file:1:2)` and JSC's `f@file:1:2` alike). */
function location(frame: string): string | undefined {
  const m = /(?:\(|@|at )((?:file:\/\/)?[^\s()@]+:\d+:\d+)\)?\s*$/.exec(frame.trim());
  if (m === null) return undefined;
  let loc = (m[1] as string).replace(/^file:\/\//, '');
  if (CWD !== undefined && loc.startsWith(`${CWD}/`)) loc = loc.slice(CWD.length + 1);
  return loc;
}

/**
 * The first frame of `stack` in the user's code, as `file:line:column` (relative to the
 * working directory when it is under it), or undefined if there is none.
 */
export function userFrame(stack: string): string | undefined {
  for (const frame of stack.split('\n').slice(1)) {
    const path = frame.replace(/^\s*at\s+/, '');
    if (path.includes(LIBRARY_ROOT) || path.includes('node_modules') || path.includes('node:')) continue;
    const loc = location(frame);
    if (loc !== undefined) return loc;
  }
  return undefined;
}
