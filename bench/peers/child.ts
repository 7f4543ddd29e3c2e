/**
 * Child process of `bench:peers`: `child.ts PEER WORKLOAD SIZE` measures one workload of
 * one peer in a fresh process (so that peers do not share a heap or the JIT's type
 * feedback) and prints one line of JSON: `{value, cpu?, cleanups?}`.
 *
 * A timed workload is warmed up, then runs five times; the medians are printed. The warm-up
 * runs it at least once and until it has run for WARM_UP_MS in all (at most
 * MAX_WARM_UP_RUNS times): a short workload (the fan-out, 10,000 tasks in a few ms) run
 * once before it is timed is timed while V8 is still compiling it, which measures the JIT's
 * warm-up of each peer, not its steady state (bench/harness.ts primes its workloads for the
 * same reason).
 */
import { median } from '../harness.js';
import { PEERS } from './peers.js';
import { WORKLOADS, type KillTiming, type Timing } from './workloads.js';

const REPS = 5;
const WARM_UP_MS = 500;
const MAX_WARM_UP_RUNS = 50;

const [peerName, workloadName, sizeArg] = process.argv.slice(2);
const peer = PEERS.find((p) => p.name === peerName);
const workload = WORKLOADS.find((w) => w.name === workloadName);
if (peer === undefined || workload === undefined) throw new Error(`no peer ${peerName} or no workload ${workloadName}`);
const size = Number(sizeArg ?? workload.size);
const measure = peer[workload.name] as ((n: number) => Promise<number | Timing | KillTiming>) | undefined;
if (measure === undefined) throw new Error(`${peerName} has no ${workloadName}`);

let line: { value: number; cpu?: number; cleanups?: number };
if (workload.memory) {
  line = { value: (await measure(size)) as number };
} else {
  const warmUpEnd = performance.now() + WARM_UP_MS;
  for (let i = 0; i < MAX_WARM_UP_RUNS && (i === 0 || performance.now() < warmUpEnd); i++) await measure(size);
  const runs: (Timing | KillTiming)[] = [];
  for (let i = 0; i < REPS; i++) runs.push((await measure(size)) as Timing);
  line = { value: median(runs.map((r) => r.wallNs)), cpu: median(runs.map((r) => r.cpuNs)) };
  const cleanups = runs.map((r) => (r as Partial<KillTiming>).cleanups).filter((c) => c !== undefined);
  if (cleanups.length !== 0) line.cleanups = Math.min(...cleanups);
}
console.log(JSON.stringify(line));
// Memory workloads leave their tasks parked: do not wait for them.
process.exit(0);
