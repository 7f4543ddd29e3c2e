/**
 * `npm run bench:builds -- --base DIR`: the hot paths of this build beside those of
 * another build of greenlet-ts (DIR holds its `dist/`), measured alternately, each
 * measurement in a fresh process, as ratios (this / base). Used to show that a change
 * costs the hot paths nothing (docs/benchmarks-log.md, "Build against build").
 *
 * Make the base build from a commit with:
 *   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnFinish, switchRoundTrip, type Library } from './core.bench.js';
import { channelPingPong, queuePingPong, spawnSleepJoin } from './hub.bench.js';
import { median } from './harness.js';
import { spawnJoin, spawnJoinClosures } from './lifecycle.bench.js';

const { values } = parseArgs({
  options: { base: { type: 'string' }, this: { type: 'string' }, rounds: { type: 'string' }, child: { type: 'string' }, workload: { type: 'string' } },
});

const workloads: Record<string, (lib: Library) => Promise<number>> = {
  'core.switch': switchRoundTrip,
  'core.spawn': spawnFinish,
  'hub.channel.pingpong': channelPingPong,
  'hub.queue.pingpong': queuePingPong,
  'hub.spawn_sleep0_join': spawnSleepJoin,
  'hub.spawn_join': spawnJoin,
  'hub.spawn_join.closure': spawnJoinClosures,
};

if (values.child !== undefined) {
  // One measurement of one build, in a process of its own: the two builds never share
  // the workload's code, whose type feedback would otherwise favour whichever ran first
  // (measured: core.switch came out 0.57 or 1.95 depending on the order).
  const lib = (await import(pathToFileURL(resolve(values.child, 'dist/index.js')).href)) as Library;
  const run = workloads[values.workload ?? ''];
  if (run === undefined) throw new Error(`no workload ${String(values.workload)}`);
  console.log(String(await run(lib)));
} else {
  if (values.base === undefined) throw new Error('usage: npm run bench:builds -- --base DIR [--this DIR] [--rounds N] (checkouts with dist/ built)');
  // Both sides are tsc's output (dist/): 'greenlet-ts' would resolve to the sources here,
  // compiled on the fly by tsx's esbuild, which is not the code users run.
  const mineDir = values.this ?? fileURLToPath(new URL('..', import.meta.url));
  const baseDir = values.base;
  const rounds = Number(values.rounds ?? 5);
  const measure = (dir: string, name: string): number =>
    Number(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir, '--workload', name], {
        encoding: 'utf8',
      }).trim(),
    );
  console.log(`${'name'.padEnd(24)} ${'this (ns/op)'.padStart(13)} ${'base (ns/op)'.padStart(13)} ${'ratio'.padStart(6)}`);
  for (const name of Object.keys(workloads)) {
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so that neither always runs on a warmer machine.
      if (i % 2 === 0) {
        mine.push(measure(mineDir, name));
        theirs.push(measure(baseDir, name));
      } else {
        theirs.push(measure(baseDir, name));
        mine.push(measure(mineDir, name));
      }
    }
    const a = median(mine);
    const b = median(theirs);
    console.log(`${name.padEnd(24)} ${a.toFixed(1).padStart(13)} ${b.toFixed(1).padStart(13)} ${(a / b).toFixed(3).padStart(6)}`);
  }
}
