/**
 * Where in the user's code something happened, read from a JavaScript stack: the frames
 * outside greenlet-ts itself (and outside the engine and node_modules).
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

/** A frame of the user's code. */
interface Frame {
  /** The function's name, if the engine gives one. */
  readonly name: string | undefined;
  /** `file:line:column`, relative to the working directory when it is under it. */
  readonly location: string;
}

/** One frame, from V8's `at f (file:1:2)` / `at file:1:2` or JSC's and SpiderMonkey's `f@file:1:2`. */
function parse(frame: string): Frame | undefined {
  const line = frame.trim();
  const m = /^(?:at\s+)?(?:(.*?)\s*[(@])?((?:file:\/\/)?[^\s()@]+:\d+:\d+)\)?$/.exec(line);
  if (m === null) return undefined;
  let location = (m[2] as string).replace(/^file:\/\//, '');
  if (CWD !== undefined && location.startsWith(`${CWD}/`)) location = location.slice(CWD.length + 1);
  const name = m[1]?.replace(/^(?:Generator\.|Object\.|async\s+)/, '').trim();
  return { name: name === '' || name === '<anonymous>' ? undefined : name, location };
}

/** The frames of `stack` in the user's code, innermost first, at most `max`. */
export function userFrames(stack: string, max: number): Frame[] {
  const frames: Frame[] = [];
  for (const frame of stack.split('\n').slice(1)) {
    if (frames.length >= max) break;
    if (frame.includes(LIBRARY_ROOT) || frame.includes('node_modules') || frame.includes('node:')) continue;
    const parsed = parse(frame);
    if (parsed !== undefined) frames.push(parsed);
  }
  return frames;
}

/** The innermost frame of `stack` in the user's code, as `file:line:column`, if any. */
export function userFrame(stack: string): string | undefined {
  return userFrames(stack, 1)[0]?.location;
}

/** `fraudCheck (app.ts:20:10) ← withdraw (app.ts:25:12)`: where a task blocked, and the call that led there. */
export function describeSite(stack: string): string | undefined {
  const frames = userFrames(stack, 2);
  if (frames.length === 0) return undefined;
  return frames.map((f) => (f.name === undefined ? f.location : `${f.name} (${f.location})`)).join(' ← ');
}
