/**
 * The workloads of `npm run bench:peers`: what each peer (greenlet-ts, async/await, Effect,
 * effection) implements, how much of each, and the clocks they are measured with.
 *
 * Every peer writes each workload the way its own documentation teaches it; the workload
 * fixes only what is done (how many tasks, what they wait on, what counts as done).
 */

/** Wall and CPU time of one measured stretch, per operation, in ns. */
export interface Timing {
  wallNs: number;
  cpuNs: number;
}

/** A kill measured: its time, and how many `finally` blocks (cleanups) ran. */
export interface KillTiming extends Timing {
  cleanups: number;
}

/** A stopwatch started now: call it to read wall and CPU ns per op since then. */
export function stopwatch(ops: number): () => Timing {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallNs: (wallMs * 1e6) / ops, cpuNs: ((cpu.user + cpu.system) * 1e3) / ops };
  };
}

/** Time `body` (which performs `ops` operations) with {@link stopwatch}. */
export async function timed(ops: number, body: () => Promise<unknown>): Promise<Timing> {
  const stop = stopwatch(ops);
  await body();
  return stop();
}

/** A task body that must run exactly `n` times; throws if it did not. */
export function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: ${actual} of ${expected}`);
}

/** How long a parked task sleeps: an hour, so that only a kill ends it. */
export const AN_HOUR_MS = 3_600_000;

/**
 * One peer: each method performs one workload of size `n` (tasks, or round trips) and
 * returns its figure. Timed workloads time only the part the workload names (a kill
 * times the kill, not the spawning of the tasks it kills). A peer that cannot express a
 * workload leaves it out.
 */
export interface Peer {
  readonly name: string;
  /** Spawn `n` tasks that return at once, then join each. */
  spawnJoin?(n: number): Promise<Timing>;
  /** Spawn `n` tasks that each yield to the scheduler once, then join each. */
  spawnYieldJoin?(n: number): Promise<Timing>;
  /** `n` round trips between two tasks through two queues. */
  pingPong?(n: number): Promise<Timing>;
  /** Heap bytes per task parked on an event (a one-shot signal), `n` of them. */
  parkedBytes?(n: number): Promise<number>;
  /** Kill `n` tasks parked in a one-hour sleep, each with a `finally` that counts. */
  kill?(n: number): Promise<KillTiming>;
  /** `n` tasks each waiting for an already resolved promise, all joined. */
  fanOut?(n: number): Promise<Timing>;
  /** Heap bytes per task asleep on its own deadline, `n` of them. */
  timerBytes?(n: number): Promise<number>;
}

export type WorkloadName = Exclude<keyof Peer, 'name'>;

export interface Workload {
  name: WorkloadName;
  /** The row's label in the table and the JSON name. */
  id: string;
  what: string;
  unit: 'ns/op' | 'B/item';
  /** Tasks or round trips per measurement. */
  size: number;
  /** Memory: measured once per fresh process; time: a warm-up run, then the median of `reps`. */
  memory: boolean;
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'spawnJoin', id: 'spawn_join', what: 'spawn 100,000 tasks that return at once, join each; per task', unit: 'ns/op', size: 100_000, memory: false },
  { name: 'spawnYieldJoin', id: 'spawn_yield_join', what: 'spawn 100,000 tasks that yield once, join each; per task', unit: 'ns/op', size: 100_000, memory: false },
  { name: 'pingPong', id: 'pingpong', what: 'round trip between two tasks through two queues', unit: 'ns/op', size: 100_000, memory: false },
  { name: 'parkedBytes', id: 'memory.parked', what: 'heap per task parked on an event, 100,000 of them', unit: 'B/item', size: 100_000, memory: true },
  { name: 'kill', id: 'kill', what: 'kill 100,000 tasks parked in a 1 h sleep, each finally counted; per task', unit: 'ns/op', size: 100_000, memory: false },
  { name: 'fanOut', id: 'fanout', what: '10,000 tasks each waiting for a resolved promise, all joined; per task', unit: 'ns/op', size: 10_000, memory: false },
  { name: 'timerBytes', id: 'memory.timers', what: 'heap per task asleep on its own deadline, 100,000 of them', unit: 'B/item', size: 100_000, memory: true },
];
