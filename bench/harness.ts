/**
 * The benchmark harness: every measurement is reported beside a baseline measured in the
 * same process run, as a ratio (`value / baseline_value`).
 *
 * `npm run bench` prints a table; `npm run bench -- --json FILE [--only PREFIX]` also
 * writes `{"results":[{name, unit, value, baseline, baseline_value, ratio}]}`.
 */
import { writeFileSync } from 'node:fs';
import { measure } from 'mitata';

/** A measurement: returns the figure in the benchmark's unit (lower is better for ns/op and B/item). */
export type Measure = () => number | Promise<number>;

export interface Benchmark {
  name: string;
  unit: string;
  /** What is measured, for the table. */
  what: string;
  measure: Measure;
  /** Name of the baseline: another benchmark of the run, or a reference measurement below. */
  baseline: string;
  /** How to measure the baseline when it is not itself a benchmark. */
  baselineMeasure?: Measure;
  /** The goal, for the table (e.g. "≤ 1.3"). */
  target?: string;
  /**
   * Measure in a fresh child process (value and baseline both): heap figures depend on
   * what ran before in the same heap.
   */
  isolate?: boolean;
  /** Alternating rounds for this benchmark (long ones use 1); the run's `--rounds` otherwise. */
  rounds?: number;
}

export interface Result {
  name: string;
  unit: string;
  value: number;
  baseline: string;
  baseline_value: number;
  ratio: number;
}

/**
 * Nanoseconds per operation of `fn`, which performs `opsPerCall` operations per call:
 * mitata's median over its samples.
 */
export async function nsPerOp(fn: () => unknown, opsPerCall = 1): Promise<number> {
  const stats = await measure(fn, { min_cpu_time: 300e6 });
  return stats.p50 / opsPerCall;
}

/** Measure `a` and `b` alternately `rounds` times and keep the median of each. */
async function interleaved(a: Measure, b: Measure, rounds: number): Promise<[number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    as.push(await a());
    bs.push(await b());
  }
  return [median(as), median(bs)];
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Runs of a workload at {@link PRIME_SIZE} items before it is first run at full size (see
 * {@link medianNsPerItem}).
 */
export const PRIME_RUNS = 20;
/** Items per priming run. */
export const PRIME_SIZE = 100;

/**
 * Nanoseconds per item of `workload(n)`, a whole-program workload over `n` items (tasks,
 * calls): the median of `reps` timed runs (see {@link medianMs}) after the workload has been
 * primed, run {@link PRIME_RUNS} times over {@link PRIME_SIZE} items. Both sides of a
 * comparison go through it, so both get the same treatment.
 *
 * Why the priming: V8 gives a function its feedback vector only after some calls, and
 * compiles a function with a long loop while its first call is still in the loop (on stack
 * replacement, or, for a generator, at a resume), when the code after the loop has never
 * run and so has no type feedback; that code then deoptimizes when reached. V8 keeps such
 * code (the on-stack-replacement cache; a generator's code, which every resume enters), so
 * in some processes every later run deoptimizes the same way, and in others, depending on
 * when the concurrent compiler finished, none does. Small runs first give every path its
 * feedback before anything is compiled. Measured (docs/benchmarks-log.md, "The spread from
 * process to process"): the async baseline of interop.waitfor_fanout deoptimized on every
 * run in about half the processes, and hub.spawn_join's generator in some; primed, no
 * deoptimization after the priming in any.
 */
export async function medianNsPerItem(workload: (n: number) => Promise<unknown>, n: number, reps = 5): Promise<number> {
  for (let i = 0; i < PRIME_RUNS; i++) await workload(Math.min(n, PRIME_SIZE));
  const ms = await medianMs(() => workload(n), reps);
  return (ms * 1e6) / n;
}

/** Median of `reps` timings of `fn`, in ms, after one warm-up run: for whole-program workloads. */
export async function medianMs(fn: () => Promise<unknown>, reps = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[reps >> 1] as number;
}

/**
 * Run one benchmark (value and baseline, alternating) in a new process started like
 * this one (same flags, `--expose-gc` and the TypeScript loader included).
 */
async function measureInChild(name: string, rounds: number): Promise<[number, number]> {
  const { execFileSync } = await import('node:child_process');
  const script = new URL('./isolated.ts', import.meta.url).pathname;
  const out = execFileSync(process.execPath, [...process.execArgv, script, name, String(rounds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const parsed = JSON.parse(out.trim().split('\n').pop() as string) as { value: number; baseline: number };
  return [parsed.value, parsed.baseline];
}

/** The child side of {@link measureInChild}. */
export async function runIsolated(all: Benchmark[], name: string, rounds: number): Promise<void> {
  const b = all.find((x) => x.name === name);
  if (b === undefined || b.baselineMeasure === undefined) throw new Error(`no isolated benchmark ${name}`);
  const [value, baseline] = await interleaved(b.measure, b.baselineMeasure, rounds);
  console.log(JSON.stringify({ value, baseline }));
}

export interface RunOptions {
  only?: string;
  json?: string;
  /** Alternating rounds per pair of measurements (default 3). */
  rounds?: number;
}

export async function runBenchmarks(all: Benchmark[], options: RunOptions): Promise<Result[]> {
  const selected = all.filter((b) => options.only === undefined || b.name.startsWith(options.only));
  if (selected.length === 0) throw new Error(`no benchmark name starts with ${JSON.stringify(options.only)}`);
  const byName = new Map(all.map((b) => [b.name, b]));
  const measured = new Map<string, number>();
  const runRounds = options.rounds ?? 3;
  const results: Result[] = [];
  for (const b of selected) {
    const rounds = b.rounds ?? runRounds;
    let value: number;
    let baselineValue: number;
    const ref = byName.get(b.baseline);
    if (ref !== undefined) {
      // The baseline is another benchmark: use its figure from this run, measuring it now if needed.
      if (!measured.has(ref.name)) measured.set(ref.name, (await interleaved(ref.measure, ref.measure, 1))[0]);
      [value] = await interleaved(b.measure, b.measure, rounds);
      baselineValue = measured.get(ref.name) as number;
    } else if (b.isolate === true) {
      [value, baselineValue] = await measureInChild(b.name, rounds);
    } else if (b.baselineMeasure !== undefined) {
      [value, baselineValue] = await interleaved(b.measure, b.baselineMeasure, rounds);
    } else {
      throw new Error(`${b.name}: baseline ${b.baseline} is neither a benchmark nor measured`);
    }
    measured.set(b.name, value);
    const result: Result = {
      name: b.name,
      unit: b.unit,
      value: round(value),
      baseline: b.baseline,
      baseline_value: round(baselineValue),
      ratio: round(value / baselineValue, 3),
    };
    results.push(result);
    printRow(b, result);
  }
  if (options.json !== undefined) {
    writeFileSync(options.json, `${JSON.stringify({ results }, null, 2)}\n`);
    console.log(`\nwrote ${options.json}`);
  }
  return results;
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

let headerPrinted = false;
function printRow(b: Benchmark, r: Result): void {
  const cols: [string, number][] = [
    ['name', 30],
    ['unit', 7],
    ['value', 10],
    ['baseline', 34],
    ['baseline value', 15],
    ['ratio', 7],
    ['target', 8],
  ];
  if (!headerPrinted) {
    headerPrinted = true;
    console.log(cols.map(([c, w]) => c.padEnd(w)).join(' '));
    console.log(cols.map(([, w]) => '-'.repeat(w)).join(' '));
  }
  const cells = [r.name, r.unit, String(r.value), r.baseline, String(r.baseline_value), r.ratio.toFixed(2), b.target ?? ''];
  console.log(cells.map((c, i) => c.padEnd((cols[i] as [string, number])[1])).join(' '));
}

/**
 * Bytes in use after a full collection (needs node --expose-gc): the JavaScript heap and
 * the backing stores of ArrayBuffers (typed arrays past a few dozen bytes keep their
 * elements there, outside `heapUsed`: the timer heap's deadlines, for one).
 */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('memory benchmarks need node --expose-gc (npm run bench passes it)');
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Heap bytes per item kept alive by `make(i)` for `count` items. */
export function bytesPerItem(count: number, make: (i: number) => unknown): number {
  const keep: unknown[] = new Array(count).fill(null);
  const before = heapAfterGc();
  for (let i = 0; i < count; i++) keep[i] = make(i);
  const after = heapAfterGc();
  const perItem = (after - before) / count;
  keep.length = 0;
  heapAfterGc();
  return perItem;
}
