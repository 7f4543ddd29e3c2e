/**
 * `npm run bench:reference`: the Python figures that docs/benchmarks.md quotes (greenlet
 * and gevent, measured by bench/python/reference.py) beside the matching greenlet-ts
 * benchmarks, both measured in this run on this machine, one after the other.
 *
 * Needs node --expose-gc (for core.memory) and a Python 3 with greenlet and gevent; on
 * Debian `apt-get install -y python3-greenlet python3-gevent`, which serves
 * /usr/bin/python3. Exits with code 2 if no interpreter tried has both.
 */
import { spawnSync } from 'node:child_process';
import { coreBenchmarks } from './core.bench.js';
import { hubBenchmarks } from './hub.bench.js';
import { type Benchmark, median } from './harness.js';

/**
 * Python figure ↔ greenlet-ts benchmark. Memory comes first on both sides, measured
 * before anything else has grown the heap.
 */
const PAIRS: readonly (readonly [python: string, ours: string])[] = [
  ['greenlet.memory', 'core.memory'],
  ['greenlet.switch', 'core.switch'],
  ['greenlet.spawn', 'core.spawn'],
  ['gevent.spawn_sleep0_join', 'hub.spawn_sleep0_join'],
  ['gevent.queue.pingpong', 'hub.queue.pingpong'],
  ['gevent.channel.pingpong', 'hub.channel.pingpong'],
];

/** Calls of each of our measurements; the median is reported, as `npm run bench` does. */
const ROUNDS = 3;

const APT_PACKAGES = 'python3-greenlet python3-gevent';

/** Exit code of reference.py when greenlet or gevent cannot be imported. */
const MODULES_MISSING = 2;

interface PythonFigure {
  name: string;
  unit: string;
  value: number;
}

/**
 * Runs reference.py under the first interpreter that has greenlet and gevent: $PYTHON if
 * set, the `python3` on PATH, then /usr/bin/python3, where the Debian packages install
 * (a pyenv or venv `python3` on PATH does not see them). Exits with code 2 if none does.
 */
function measurePython(): Map<string, PythonFigure> {
  const script = new URL('./python/reference.py', import.meta.url).pathname;
  const candidates = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'])].filter(
    (c): c is string => c !== undefined && c !== '',
  );
  const refusals: string[] = [];
  for (const python of candidates) {
    const run = spawnSync(python, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (run.error !== undefined) {
      refusals.push(`${python}: ${run.error.message}`);
      continue;
    }
    if (run.status === MODULES_MISSING) {
      refusals.push(`${python}: ${run.stderr.trim()}`);
      continue;
    }
    if (run.status !== 0) {
      throw new Error(`${python} ${script} failed (exit code ${run.status ?? run.signal}):\n${run.stderr}`);
    }
    process.stderr.write(run.stderr);
    const figures = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PythonFigure);
    return new Map(figures.map((f) => [f.name, f]));
  }
  console.error(
    `bench:reference needs Python 3 with greenlet and gevent: apt-get install -y ${APT_PACKAGES}\n` +
      `(or set PYTHON to an interpreter that has them). Tried:\n  ${refusals.join('\n  ')}`,
  );
  process.exit(2);
}

async function medianOf(measure: Benchmark['measure'], rounds: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < rounds; i++) values.push(await measure());
  return median(values);
}

function formatValue(x: number): string {
  return x.toLocaleString('en', { maximumFractionDigits: x < 100 ? 1 : 0 });
}

function formatRatio(x: number): string {
  return x.toFixed(x < 10 ? 2 : 1);
}

console.error('measuring the Python reference (about 15 s)...');
const python = measurePython();

const ours = new Map([...coreBenchmarks, ...hubBenchmarks].map((b) => [b.name, b]));
console.error(`measuring greenlet-ts (Node ${process.version}, median of ${ROUNDS} runs)...`);
const rows: string[][] = [];
for (const [pythonName, ourName] of PAIRS) {
  const reference = python.get(pythonName);
  const benchmark = ours.get(ourName);
  if (reference === undefined) throw new Error(`reference.py printed no ${pythonName}`);
  if (benchmark === undefined) throw new Error(`no benchmark ${ourName}`);
  if (reference.unit !== benchmark.unit) {
    throw new Error(`${pythonName} is in ${reference.unit}, ${ourName} in ${benchmark.unit}`);
  }
  const value = await medianOf(benchmark.measure, ROUNDS);
  rows.push([
    `\`${pythonName}\``,
    `\`${ourName}\``,
    benchmark.unit,
    formatValue(reference.value),
    formatValue(value),
    formatRatio(reference.value / value),
  ]);
}

const header = ['Python', 'greenlet-ts', 'unit', 'Python value', 'greenlet-ts value', 'Python / greenlet-ts'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const numeric = [false, false, false, true, true, true];
const line = (cells: string[]): string =>
  `| ${cells.map((c, i) => (numeric[i] === true ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (numeric[i] === true ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
for (const row of rows) console.log(line(row));
console.log(
  '\nThe memory figures differ in kind: Python\'s is RSS growth (greenlet keeps C stack slices outside ' +
    'the Python heap), ours is V8 heap after a full collection.',
);
