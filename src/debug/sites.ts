/**
 * Spawn sites and wait sites: where each task was spawned, by whom, and where it made the
 * blocking call it is parked in. A suspended generator's frames cannot be read from
 * outside, so these are *recorded*, opt-in, through the hub's monitor: at `spawned` and
 * at `parked` the JavaScript stack is the spawn's or the blocking call's, and capturing a
 * stack trace there records it (with V8's stack API the frames are chosen before any is
 * formatted, and only the kept ones are, through whatever `Error.prepareStackTrace` is
 * installed, so source maps apply; elsewhere `new Error().stack` is parsed).
 *
 * What is kept, and for how long (the lesson of gevent#1467, where recursive spawning
 * kept every ancestor's frames alive):
 * - a site is a short string: the first few frames that are not greenlet-ts's own (the
 *   library's files, Node's internals), `function (file:line:column)` one per line, each
 *   frame cut at {@link MAX_FRAME_LENGTH} characters; the captured frames are dropped at
 *   once, so no function, receiver or greenlet stays reachable through them. Equal sites
 *   (a spawn in a loop) are formatted once and share one string, through a bounded cache;
 * - everything is in a WeakMap keyed by the task: it goes when the task goes, and never
 *   keeps a task alive;
 * - the spawner is held through a WeakRef (main and the hub, which live forever,
 *   directly): a child never keeps its spawner alive, so a chain of recursive spawns
 *   costs one small record per live task.
 *
 * When spawn sites are recorded, an error that leaves a task (the hub has named it, see
 * `greenletOf`) also gets the task's spawn site as a non-enumerable `spawnedAt`
 * property; its message and stack stay as they were. {@link describeError} prints both.
 *
 * Overhead: none while not recording (no monitor installed). While recording, each spawn
 * and each park captures a stack trace (5 to 10 µs in Node 20, most of it V8's capture
 * itself); the `debug.spawnsite.overhead` benchmark measures it.
 *
 * @module
 */
import type { Greenlet } from '../core/greenlet.js';
import { getMainGreenlet } from '../core/switcher.js';
import { Hub, PARKED, STATUS, getHub, schedOf, greenletOf, park, type Schedulable } from '../hub/hub.js';
import { addHubMonitor, type DebugMonitor } from './monitors.js';

/** What {@link recordSites} records. */
export interface SiteOptions {
  /** Where each task is spawned, for run info and for errors that leave it. Default true. */
  spawn?: boolean;
  /** Where each task makes the blocking call it parks in. Default true. */
  wait?: boolean;
  /** How many of the caller's frames a site keeps: 1 to 10, default 3. */
  frames?: number;
}

/** The longest a frame of a site gets, in characters; longer ones are cut with `…`. */
export const MAX_FRAME_LENGTH = 300;

/**
 * Frames captured at most, the library's own and the native ones between generator frames
 * included: enough for `framesKept` of the caller's (capturing costs per frame).
 */
let stackLimit = 18;

/** What is known of one task. */
interface TaskSites {
  /** The greenlet current when it was created: main and the hub directly, others weakly. */
  spawner: Greenlet | WeakRef<Greenlet> | null;
  spawnSite: string | undefined;
  /** The site of its latest park (meaningful while it is parked). */
  waitSite: string | undefined;
}

const records = new WeakMap<Greenlet, TaskSites>();

let stopObserving: (() => void) | null = null;
let recordingSpawn = false;
let recordingWait = false;
let framesKept = 3;

/**
 * Start recording spawners and, as asked, spawn sites and wait sites of the tasks of this
 * thread (both by default). Run info, deadlock reports and {@link describeError} show
 * what was recorded. Calling it again changes what is recorded; what was recorded stays.
 *
 * ```ts
 * recordSites({ spawn: true, wait: true });
 * const t = spawn(worker);          // t's spawn site: this line
 * // ... later, from anywhere:
 * console.error(formatRunInfo({ spawnSites: true }));
 * stopRecordingSites();
 * ```
 */
export function recordSites(options: SiteOptions = {}): void {
  const frames = options.frames ?? 3;
  if (!Number.isInteger(frames) || frames < 1 || frames > 10) {
    throw new RangeError(`recordSites({ frames }) takes a whole number from 1 to 10, not ${String(frames)}`);
  }
  stopObserving?.();
  recordingSpawn = options.spawn ?? true;
  recordingWait = options.wait ?? true;
  framesKept = frames;
  stackLimit = 12 + 2 * frames;
  const observer: DebugMonitor = {
    spawned: recordSpawned,
    ended: recordEnded,
    waitSite: waitSiteOfParked,
  };
  if (recordingWait) observer.parked = recordParked;
  stopObserving = addHubMonitor(observer);
}

/**
 * Stop recording sites (see {@link recordSites}). What was recorded for tasks still alive
 * stays visible.
 *
 * ```ts
 * stopRecordingSites();
 * ```
 */
export function stopRecordingSites(): void {
  stopObserving?.();
  stopObserving = null;
  recordingSpawn = false;
  recordingWait = false;
}

/**
 * What is being recorded now, or null when nothing is.
 *
 * ```ts
 * if (recordingSites()?.spawn) console.log('spawn sites are recorded');
 * ```
 */
export function recordingSites(): { readonly spawn: boolean; readonly wait: boolean; readonly frames: number } | null {
  return stopObserving === null ? null : { spawn: recordingSpawn, wait: recordingWait, frames: framesKept };
}

function recordSpawned(task: Schedulable, spawner: Greenlet): void {
  records.set(task, {
    spawner: spawner === getMainGreenlet() || spawner === getHub() ? spawner : new WeakRef(spawner),
    spawnSite: recordingSpawn ? captureSite(SPAWN_ENTRY) : undefined,
    waitSite: undefined,
  });
}

function recordParked(task: Schedulable): void {
  const site = captureSite(PARK_ENTRY);
  const record = records.get(task);
  if (record !== undefined) record.waitSite = site;
  else records.set(task, { spawner: null, spawnSite: undefined, waitSite: site });
}

function recordEnded(task: Schedulable, failed: boolean, outcome: unknown): void {
  if (!failed) return;
  const site = records.get(task)?.spawnSite;
  if (site === undefined) return;
  // The hub named the error after the first task it left; only that task's site goes on it.
  if (typeof outcome !== 'object' || outcome === null || !Object.isExtensible(outcome)) return;
  if (greenletOf(outcome) !== task.name || Object.prototype.hasOwnProperty.call(outcome, 'spawnedAt')) return;
  Object.defineProperty(outcome, 'spawnedAt', { value: site, enumerable: false, configurable: true, writable: true });
}

function waitSiteOfParked(task: Schedulable): string | undefined {
  return schedOf(task) === PARKED ? records.get(task)?.waitSite : undefined;
}

/**
 * The greenlet that was current when `task` was created (main, the hub, or another
 * task), if spawners were being recorded then and that greenlet has not been collected.
 *
 * ```ts
 * const parent = spawnerOf(task); // e.g. the task that called spawn()
 * ```
 */
export function spawnerOf(task: Greenlet): Greenlet | undefined {
  const spawner = records.get(task)?.spawner;
  if (spawner === undefined || spawner === null) return undefined;
  return spawner instanceof WeakRef ? spawner.deref() : spawner;
}

/**
 * Whether the spawner of `task` was recorded (even if it has been collected since).
 *
 * ```ts
 * if (!spawnerRecorded(task)) console.log('spawned before recordSites()');
 * ```
 */
export function spawnerRecorded(task: Greenlet): boolean {
  const spawner = records.get(task)?.spawner;
  return spawner !== undefined && spawner !== null;
}

/**
 * Where `task` was spawned, if spawn sites were being recorded then: frames as
 * `function (file:line:column)`, one per line, the spawning call first.
 *
 * ```ts
 * recordSites({ spawn: true });
 * const t = spawn(worker);
 * spawnSiteOf(t); // 'main (file:///app/server.ts:12:13)'
 * ```
 */
export function spawnSiteOf(task: Greenlet): string | undefined {
  return records.get(task)?.spawnSite;
}

/**
 * Where `task` made the blocking call it is parked in, if wait sites are recorded and it
 * is parked now (undefined otherwise). Same format as {@link spawnSiteOf}.
 *
 * ```ts
 * waitSiteOf(consumer); // 'consume (file:///app/worker.ts:30:24)'
 * ```
 */
export function waitSiteOf(task: Greenlet): string | undefined {
  const isTask = (task as Partial<Schedulable>)[STATUS] !== undefined;
  return isTask && schedOf(task as Schedulable) === PARKED ? records.get(task)?.waitSite : undefined;
}

/**
 * The spawn site of the task an error left (see {@link recordSites}), if it was recorded.
 *
 * ```ts
 * try { yield* t.get(); } catch (e) { console.log(spawnSiteOfError(e)); }
 * ```
 */
export function spawnSiteOfError(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const site = (error as { spawnedAt?: unknown }).spawnedAt;
  return typeof site === 'string' ? site : undefined;
}

/**
 * The error as Node prints it (its stack, untouched), followed by the greenlet it left
 * and, when spawn sites were recorded, where that greenlet was spawned.
 *
 * ```ts
 * try {
 *   yield* fetcher.get();
 * } catch (e) {
 *   console.error(describeError(e));
 *   // Error: connection refused
 *   //     at fetchPage (file:///app/fetch.ts:20:11)
 *   //   in greenlet fetchPage-7, spawned at:
 *   //     at crawl (app/crawl.ts:41:18)
 * }
 * ```
 */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    const head = String(error);
    const stack = typeof error.stack === 'string' ? error.stack : '';
    text = stack === '' ? head : stack.startsWith(head) ? stack : `${head}\n${stack}`;
  } else {
    text = `${typeof error === 'string' ? error : String(error)}`;
  }
  const name = greenletOf(error);
  if (name === undefined) return text;
  text += `\n  in greenlet ${name}`;
  const site = spawnSiteOfError(error);
  if (site !== undefined) text += `, spawned at:\n${indentSite(shortenSite(site), '    at ')}`;
  return text;
}

// --- capturing a site ------------------------------------------------------------------

/** The folder of the library's own files (src/ or dist/), as a URL and as a path. */
const libraryRoot = new URL('../', import.meta.url);
const libraryMarkers: string[] = [libraryRoot.href];
if (libraryRoot.protocol === 'file:') {
  const path = decodeURIComponent(libraryRoot.pathname);
  libraryMarkers.push(path);
  if (/^\/[A-Za-z]:\//.test(path)) libraryMarkers.push(path.slice(1).replace(/\//g, '\\'));
}
/** Frames of the switcher end a greenlet's own stack: below them is whoever resumed it. */
const switcherMarkers = libraryMarkers.map((m) => `${m}core${m.includes('\\') ? '\\' : '/'}switcher.`);

function isOwnFrame(frame: string): boolean {
  // Node's built-in modules, and V8's native frames: a generator's `next`, `Array.map`.
  if (frame.includes('node:') || frame.endsWith('(<anonymous>)') || frame === '<anonymous>') return true;
  for (const marker of libraryMarkers) if (frame.includes(marker)) return true;
  return false;
}

function isSwitcherFrame(frame: string): boolean {
  for (const marker of switcherMarkers) if (frame.includes(marker)) return true;
  return false;
}

/**
 * Sites seen recently, so that a site is formatted once and equal ones share a string
 * (a spawn in a loop): keyed by the raw positions of the kept frames where V8's stack API
 * gives them, else by the site itself. Cleared when full.
 */
const siteCache = new Map<string, string>();
const SITE_CACHE_SIZE = 4096;

function remember(key: string, site: string): string {
  if (siteCache.size >= SITE_CACHE_SIZE) siteCache.clear();
  siteCache.set(key, site);
  return site;
}

/** What V8 hands `Error.prepareStackTrace` for each frame (the part used here). */
interface CallSite {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  toString(): string;
}

type PrepareStackTrace = (error: Error, frames: CallSite[]) => unknown;

/** V8's stack API (Node, Deno, Chrome; Bun mimics it); absent elsewhere. */
const V8Error = Error as ErrorConstructor & {
  prepareStackTrace?: PrepareStackTrace;
  captureStackTrace?: (target: object, above?: Function) => void;
};

/** The header-less error handed to the previous `prepareStackTrace` to format the kept frames. */
const FORMAT_ONLY = { name: 'Error', message: '' } as Error;

/**
 * V8's stack API lets the frames be chosen *before* any is formatted: formatting (with
 * source maps, as tsx and vitest install them) is what costs, so only the kept frames are
 * formatted, by whatever `Error.prepareStackTrace` was installed (source maps included).
 */
const selectFrames: PrepareStackTrace = (_error, frames) => {
  if (frames.length === 0) return null; // the capture started below the frames there were
  const kept: CallSite[] = [];
  for (const frame of frames) {
    const file = frame.getFileName() ?? '';
    if (isSwitcherFrame(file)) break; // the bottom of the greenlet's stack
    if (file === '' || file.startsWith('node:') || isOwnFrame(file)) continue;
    kept.push(frame);
    if (kept.length === framesKept) break;
  }
  return kept;
};

/**
 * The hub functions that call the monitor at a spawn and at a park: the frames above them
 * (the monitor's, the hub's) are the library's, and V8 can leave them out of the capture,
 * which saves looking at each (reading a frame's file name is what costs there).
 */
const SPAWN_ENTRY: Function = Hub.prototype.adopt;
const PARK_ENTRY: Function = park;

/** The caller's site, skipping the library's frames: the first `framesKept` others. */
function captureSite(entry: Function): string | undefined {
  return typeof V8Error.captureStackTrace === 'function' ? captureWithV8(entry) : captureFromString();
}

function captureWithV8(entry: Function): string | undefined {
  const previous = V8Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  let frames: unknown;
  V8Error.prepareStackTrace = selectFrames;
  Error.stackTraceLimit = stackLimit;
  try {
    const capture = V8Error.captureStackTrace as (target: object, above?: Function) => void;
    capture(holder, entry);
    frames = holder.stack; // formatted (here: selected) on first access
    if (frames === null) {
      // `entry` was not on the stack (called some other way): look at every frame.
      const again: { stack?: unknown } = {};
      capture(again);
      frames = again.stack;
    }
  } finally {
    V8Error.prepareStackTrace = previous;
    Error.stackTraceLimit = limit;
  }
  if (!Array.isArray(frames)) return typeof frames === 'string' ? trimStack(frames, framesKept) : undefined;
  if (frames.length === 0) return undefined;
  const kept = frames as CallSite[];
  let key = '';
  for (const f of kept) key += `${f.getFileName() ?? ''}:${f.getLineNumber() ?? ''}:${f.getColumnNumber() ?? ''}\n`;
  const known = siteCache.get(key);
  if (known !== undefined) return known;
  let site: string | undefined;
  if (typeof previous === 'function') {
    try {
      const text = previous(FORMAT_ONLY, kept);
      if (typeof text === 'string') site = trimStack(text, framesKept, false);
    } catch {
      // A formatter that wants a real error: V8's own formatting below will do.
    }
  }
  site ??= trimStack(kept.map((f) => `    at ${String(f)}`).join('\n'), framesKept, false);
  return site === undefined ? undefined : remember(key, site);
}

function captureFromString(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = stackLimit;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  const site = typeof stack === 'string' ? trimStack(stack, framesKept) : undefined;
  return site === undefined ? undefined : (siteCache.get(site) ?? remember(site, site));
}

/**
 * The first `count` frames of `stack` (V8's `    at f (file:1:2)` lines or
 * SpiderMonkey's `f@file:1:2`) that are not the library's nor native, one per line
 * without `at `; it stops at the switcher, below which the stack is not the greenlet's.
 *
 * @internal
 */
export function trimStack(stack: string, count: number, skipOwn = true): string | undefined {
  let site = '';
  let kept = 0;
  let start = 0;
  while (kept < count && start < stack.length) {
    let end = stack.indexOf('\n', start);
    if (end === -1) end = stack.length;
    let frame = stack.slice(start, end).trim();
    start = end + 1;
    if (frame.startsWith('at ')) frame = frame.slice(3);
    else if (!frame.includes('@') && !/:\d+:\d+\)?$/.test(frame)) continue; // "Error", a message line
    if (frame === '') continue;
    if (skipOwn) {
      if (isSwitcherFrame(frame)) break; // the bottom of the greenlet's stack
      if (isOwnFrame(frame)) continue;
    }
    if (frame.startsWith('<anonymous> (') && frame.endsWith(')')) frame = frame.slice(13, -1); // as V8 prints it elsewhere
    if (frame.length > MAX_FRAME_LENGTH) frame = `${frame.slice(0, MAX_FRAME_LENGTH - 1)}…`;
    site = kept === 0 ? frame : `${site}\n${frame}`;
    kept++;
  }
  return kept === 0 ? undefined : site;
}

/**
 * `site` with paths under the current directory made relative (for reading, not for
 * tools).
 *
 * @internal
 */
export function shortenSite(site: string): string {
  const cwd = (globalThis as { process?: { cwd?: () => string } }).process?.cwd?.();
  if (cwd === undefined || cwd === '/' || cwd === '') return site;
  const dir = cwd.endsWith('/') || cwd.endsWith('\\') ? cwd : `${cwd}${cwd.includes('\\') ? '\\' : '/'}`;
  const url = `file://${dir.startsWith('/') ? '' : '/'}${dir.replace(/\\/g, '/')}`;
  return site.split(url).join('').split(dir).join('');
}

/**
 * Each line of `site` prefixed with `prefix`.
 *
 * @internal
 */
export function indentSite(site: string, prefix: string): string {
  return `${prefix}${site.split('\n').join(`\n${prefix}`)}`;
}
