/**
 * Run info: every live greenlet of this thread, what state it is in and what it waits on
 * (gevent's `print_run_info` and `GreenletTree`), as text for humans.
 *
 * Which greenlets. A suspended generator cannot be found or read from outside, so the
 * listing is what the hub knows: its live tasks (spawned and not ended), plus main and
 * the hub. Raw greenlets made with `new Greenlet` are not listed (nothing registers
 * them); they show up only as the spawner of a task.
 *
 * Two trees, as in gevent:
 * - by parent: main, the hub (its child), and every task (the hub is every task's
 *   parent), each with its state, for how long it has been parked and on what, and, when
 *   recorded (see `recordSites`), the call site of its blocking call and, opt-in, where it
 *   was spawned;
 * - by spawner: who created each task, as recorded by `recordSites` (a task whose
 *   spawner has ended hangs from main, with a note).
 *
 * The output has no guarantees other than being meant for people: do not parse it.
 *
 * @module
 */
import type { Greenlet } from '../core/greenlet.js';
import { getCurrentGreenlet, getMainGreenlet, switchCount } from '../core/switcher.js';
import {
  NEW,
  PARKED,
  READY,
  RUNNING,
  STATUS,
  WAIT,
  deadlineOf,
  getHub,
  parkedAt,
  schedOf,
  type Schedulable,
} from '../hub/hub.js';
import { now } from '../hub/timers.js';
import { indentSite, shortenSite, spawnSiteOf, spawnerOf, spawnerRecorded, waitSiteOf } from './sites.js';

/** What {@link formatRunInfo} shows. */
export interface RunInfoOptions {
  /** Where each task was spawned, when `recordSites({ spawn: true })` recorded it. Default false. */
  spawnSites?: boolean;
  /** Where each parked task made its blocking call, when `recordSites({ wait: true })` recorded it. Default true. */
  waitSites?: boolean;
  /** List at most this many tasks (the oldest); the totals still count every one. Default 1000. */
  maxTasks?: number;
}

/** The default of {@link RunInfoOptions.maxTasks}. */
export const RUN_INFO_MAX_TASKS = 1000;

/**
 * Run info needs something this runtime does not have (Node's process signals).
 * The message says what to do instead.
 */
export class RunInfoUnsupportedError extends Error {
  static {
    this.prototype.name = 'RunInfoUnsupportedError';
  }
}

const STATE_WORDS = ['new', 'ready', 'running', 'parked', 'done'];

/**
 * Every live greenlet of this thread as text: totals, the tree by parent with each task's
 * state and what it waits on, and the tree by spawner.
 *
 * ```ts
 * recordSites();                        // optional: wait sites, spawners, spawn sites
 * console.error(formatRunInfo({ spawnSites: true }));
 * ```
 */
export function formatRunInfo(options: RunInfoOptions = {}): string {
  const maxTasks = options.maxTasks ?? RUN_INFO_MAX_TASKS;
  if (!(maxTasks >= 0)) throw new RangeError(`formatRunInfo({ maxTasks }) takes a number >= 0, not ${String(maxTasks)}`);
  const showWaitSites = options.waitSites ?? true;
  const showSpawnSites = options.spawnSites ?? false;
  const hub = getHub();
  const main = getMainGreenlet();
  const current = getCurrentGreenlet();
  const t = now();
  // Every live task counted, only the `maxTasks` first (oldest) shown.
  const counts = [0, 0, 0, 0, 0];
  const all = hub.liveTasks();
  for (const task of all) counts[schedOf(task)] = (counts[schedOf(task)] as number) + 1;
  const shown: Schedulable[] = all.slice(0, maxTasks);
  const hidden = all.length - shown.length;
  const live = { length: all.length };

  const lines: string[] = [];
  lines.push(
    `greenlet-ts run info: ${plural(live.length, 'live task')} (${counts[RUNNING]} running, ${counts[READY]} ready, ` +
      `${counts[PARKED]} parked, ${counts[NEW]} new); ${plural(switchCount(), 'switch', 'switches')} so far`,
  );

  // By parent: main ── hub ── every task.
  lines.push('', 'By parent:');
  lines.push(`main: ${current === main ? 'running' : 'suspended'}`);
  const hubNode: TreeNode = { label: [`hub: ${current === hub ? 'running' : 'suspended'}`], children: [] };
  for (const task of shown) hubNode.children.push({ label: describeTask(task, t, showWaitSites, showSpawnSites), children: [] });
  if (hidden !== 0) hubNode.children.push(moreNode(hidden));
  renderChildren([hubNode], '', lines);

  // By spawner: main and the hub, then whoever spawned each task.
  lines.push('', 'By spawner:');
  const nodes = new Map<Greenlet, TreeNode>();
  const mainNode: TreeNode = { label: ['main'], children: [] };
  const hubSpawnerNode: TreeNode = { label: ['hub'], children: [] };
  nodes.set(main, mainNode);
  nodes.set(hub, hubSpawnerNode);
  for (const task of shown) nodes.set(task, { label: [`${task.name} (${STATE_WORDS[schedOf(task)] as string})`], children: [] });
  let unrecorded = 0;
  for (const task of shown) {
    const node = nodes.get(task) as TreeNode;
    const spawner = spawnerOf(task);
    const spawnerNode = spawner === undefined ? undefined : nodes.get(spawner);
    if (spawnerNode !== undefined) {
      spawnerNode.children.push(node);
      continue;
    }
    // Not among the greenlets listed: hang it from main and say why.
    if (!spawnerRecorded(task)) {
      unrecorded++;
      node.label[0] = `${node.label[0] as string} [spawner not recorded]`;
    } else if (spawner === undefined) {
      node.label[0] = `${node.label[0] as string} [its spawner has ended]`;
    } else {
      const why = spawner.dead ? ', which has ended' : (spawner as Partial<Schedulable>)[STATUS] !== undefined ? ', not listed' : '';
      node.label[0] = `${node.label[0] as string} [spawned by ${nameOf(spawner)}${why}]`;
    }
    mainNode.children.push(node);
  }
  if (hubSpawnerNode.children.length !== 0) mainNode.children.unshift(hubSpawnerNode);
  if (hidden !== 0) mainNode.children.push(moreNode(hidden));
  lines.push(mainNode.label[0] as string);
  renderChildren(mainNode.children, '', lines);
  if (unrecorded !== 0) {
    lines.push(`(${plural(unrecorded, 'task')} spawned while spawners were not recorded: call recordSites() first)`);
  }
  return lines.join('\n');
}

/**
 * Print {@link formatRunInfo} to stderr (gevent's `print_run_info`).
 *
 * ```ts
 * printRunInfo({ spawnSites: true });
 * ```
 */
export function printRunInfo(options: RunInfoOptions = {}): void {
  console.error(formatRunInfo(options));
}

/**
 * Print the run info to stderr whenever the process receives `signal` (Node only):
 * `kill -USR2 <pid>` shows what every task is doing in a live server. Returns the function
 * that removes the handler. Throws {@link RunInfoUnsupportedError} where there are no
 * process signals (browsers).
 *
 * ```ts
 * const uninstall = installRunInfoSignal();  // SIGUSR2
 * // $ kill -USR2 <pid>
 * uninstall();
 * ```
 */
export function installRunInfoSignal(signal = 'SIGUSR2', options: RunInfoOptions = {}): () => void {
  const proc = (globalThis as { process?: SignalProcess }).process;
  const on = proc?.on;
  const off = proc?.off;
  if (proc === undefined || typeof on !== 'function' || typeof off !== 'function') {
    throw new RunInfoUnsupportedError(
      'installRunInfoSignal() needs Node process signals, which this runtime does not have: call printRunInfo() ' +
        'or formatRunInfo() from a trigger of your own (a debug endpoint, a key) instead',
    );
  }
  const handler = (): void => {
    const text = `${formatRunInfo(options)}\n`;
    if (typeof proc.stderr?.write === 'function') proc.stderr.write(text);
    else console.error(text);
  };
  on.call(proc, signal, handler);
  let installed = true;
  return () => {
    if (!installed) return;
    installed = false;
    off.call(proc, signal, handler);
  };
}

interface SignalProcess {
  on?(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
  stderr?: { write?(text: string): unknown };
}

/** A node of a tree: its label (first line, then detail lines) and its children. */
interface TreeNode {
  label: string[];
  children: TreeNode[];
}

function renderChildren(children: readonly TreeNode[], prefix: string, lines: string[]): void {
  children.forEach((child, i) => {
    const last = i === children.length - 1;
    lines.push(`${prefix}${last ? '└─ ' : '├─ '}${child.label[0] as string}`);
    const inner = `${prefix}${last ? '   ' : '│  '}`;
    const detailPrefix = `${inner}${child.children.length !== 0 ? '│ ' : '  '}`;
    for (const detail of child.label.slice(1)) lines.push(`${detailPrefix}${detail}`);
    renderChildren(child.children, inner, lines);
  });
}

function moreNode(hidden: number): TreeNode {
  return { label: [`… ${plural(hidden, 'more task')} (formatRunInfo({ maxTasks }) shows more)`], children: [] };
}

/** The first line says the task's state; the next ones where it waits and was spawned. */
function describeTask(task: Schedulable, t: number, waitSites: boolean, spawnSites: boolean): string[] {
  const state = schedOf(task);
  let head = `${task.name}: ${STATE_WORDS[state] as string}`;
  const lines: string[] = [];
  if (state === PARKED) {
    head += ` for ${Math.max(0, Math.round(t - parkedAt(task)))} ms on ${String(task[WAIT])}`;
    const deadline = deadlineOf(task);
    if (deadline !== null) head += `, until ${Math.max(0, Math.round(deadline - t))} ms from now`;
    const site = waitSites ? waitSiteOf(task) : undefined;
    if (site !== undefined) lines.push(...labelled('waiting at ', site));
  }
  lines.unshift(head);
  const spawnSite = spawnSites ? spawnSiteOf(task) : undefined;
  if (spawnSite !== undefined) lines.push(...labelled('spawned at ', spawnSite));
  return lines;
}

/** `label` before the first frame of `site`, the others aligned under it. */
function labelled(label: string, site: string): string[] {
  const frames = shortenSite(site).split('\n');
  return [`${label}${frames[0] as string}`, ...(frames.length > 1 ? indentSite(frames.slice(1).join('\n'), ' '.repeat(label.length)).split('\n') : [])];
}

function nameOf(g: Greenlet): string {
  if (g === getMainGreenlet()) return 'main';
  if (g === getHub()) return 'hub';
  const name = (g as { name?: unknown }).name;
  return typeof name === 'string' && name !== '' ? name : String(g);
}

function plural(n: number, word: string, words = `${word}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? word : words}`;
}
