/**
 * `npm run bench:builds -- --base DIR`: the hot paths of this build beside those of
 * another build of greenlet-ts (DIR holds its `dist/`), measured alternately in one
 * process, as ratios (this / base). Used to show that a change costs the hot paths
 * nothing (docs/benchmarks.md, "Build against build").
 *
 * Make the base build from a commit with:
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as current from 'greenlet-ts';
import { spawnFinish, switchRoundTrip, type Library } from './core.bench.js';
import { channelPingPong, queuePingPong, spawnSleepJoin } from './hub.bench.js';
import { median } from './harness.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, rounds: { type: 'string' } } });
if (values.base === undefined) throw new Error('usage: npm run bench:builds -- --base DIR (a checkout with dist/ built)');
const base = (await import(pathToFileURL(resolve(values.base, 'dist/index.js')).href)) as Library;
const rounds = Number(values.rounds ?? 5);

const workloads: [name: string, run: (lib: Library) => Promise<number>][] = [
  ['core.switch', switchRoundTrip],
  ['core.spawn', spawnFinish],
  ['hub.channel.pingpong', channelPingPong],
  ['hub.queue.pingpong', queuePingPong],
  ['hub.spawn_sleep0_join', spawnSleepJoin],
];

console.log(`${'name'.padEnd(24)} ${'this (ns/op)'.padStart(13)} ${'base (ns/op)'.padStart(13)} ${'ratio'.padStart(6)}`);
for (const [name, run] of workloads) {
  const mine: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so that neither always runs on a warmer machine.
    if (i % 2 === 0) {
      mine.push(await run(current));
      theirs.push(await run(base));
    } else {
      theirs.push(await run(base));
      mine.push(await run(current));
    }
  }
  const a = median(mine);
  const b = median(theirs);
  console.log(`${name.padEnd(24)} ${a.toFixed(1).padStart(13)} ${b.toFixed(1).padStart(13)} ${(a / b).toFixed(3).padStart(6)}`);
}
