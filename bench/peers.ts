/**
 * `npm run bench:peers [-- --json FILE] [--only WORKLOAD] [--rounds N]`: the same
 * workloads on greenlet-ts, plain async/await, Effect and effection, side by side.
 *
 * Each measurement runs in a fresh process (bench/peers/child.ts), so that peers share
 * neither a heap nor the JIT's type feedback. Rounds are interleaved: every round
 * measures every peer on a workload one after the other, then the next workload, so a
 * burst of load on the machine hits all peers alike; the table shows the median over the
 * rounds. Timed workloads report wall time and CPU time (user + system) of the process:
 * on a shared machine the CPU time is the steadier of the two.
 *
 * The table gives each figure and its ratio to the best peer of the row (lower is
 * better). A kill counts every `finally` block: a peer whose cleanup did not run in every
 * task is reported as such and is never the best.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Result, median } from './harness.js';
import { PEERS } from './peers/peers.js';
import { WORKLOADS, type Peer, type Workload } from './peers/workloads.js';

const { values } = parseArgs({
  options: {
    json: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const rounds = Number(values.rounds ?? 3);
const workloads = WORKLOADS.filter((w) => values.only === undefined || w.id.startsWith(values.only));
if (workloads.length === 0) throw new Error(`no workload starts with ${JSON.stringify(values.only)}`);

/**
 * effection spends hundreds of µs per task in most of these workloads (measured here,
 * at 1,000 to 20,000 tasks alike); 100,000 tasks would take minutes a run, so it runs
 * fewer. The table says how many.
 */
const SIZE_CAP: Record<string, number> = { effection: 2_000 };

function sizeFor(peer: Peer, w: Workload): number {
  return Math.min(w.size, SIZE_CAP[peer.name] ?? Infinity);
}

interface Sample {
  value: number;
  cpu?: number;
  cleanups?: number;
}

function measureInChild(peer: Peer, w: Workload): Sample {
  const script = new URL('./peers/child.ts', import.meta.url).pathname;
  const out = execFileSync(process.execPath, [...process.execArgv, script, peer.name, w.name, String(sizeFor(peer, w))], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as Sample;
}

const samples = new Map<string, Sample[]>();
const key = (w: Workload, peer: Peer): string => `${w.id}\u0000${peer.name}`;
const started = Date.now();
for (let r = 0; r < rounds; r++) {
  for (const w of workloads) {
    for (const peer of PEERS) {
      if (peer[w.name] === undefined) continue;
      process.stderr.write(`round ${r + 1}/${rounds}: ${w.id} on ${peer.name}...\n`);
      const list = samples.get(key(w, peer)) ?? [];
      list.push(measureInChild(peer, w));
      samples.set(key(w, peer), list);
    }
  }
}

interface Cell {
  peer: Peer;
  value: number;
  cpu: number | undefined;
  /** Fewer than one per task: the peer's cleanup did not run. */
  cleanups: number | undefined;
  size: number;
}

function cellsOf(w: Workload): Cell[] {
  return PEERS.filter((p) => samples.has(key(w, p))).map((peer) => {
    const list = samples.get(key(w, peer)) as Sample[];
    const cpus = list.map((s) => s.cpu).filter((c): c is number => c !== undefined);
    const cleanups = list.map((s) => s.cleanups).filter((c): c is number => c !== undefined);
    return {
      peer,
      value: median(list.map((s) => s.value)),
      cpu: cpus.length === 0 ? undefined : median(cpus),
      cleanups: cleanups.length === 0 ? undefined : Math.min(...cleanups),
      size: sizeFor(peer, w),
    };
  });
}

const cleanedUp = (c: Cell): boolean => c.cleanups === undefined || c.cleanups >= c.size;

function format(x: number): string {
  return x.toLocaleString('en', { maximumFractionDigits: x < 100 ? 1 : 0 });
}

const results: Result[] = [];
const columns = PEERS.filter((p) => workloads.some((w) => samples.has(key(w, p))));
const rows: string[][] = [];
for (const w of workloads) {
  const cells = cellsOf(w);
  const figures: { label: string; unit: string; pick: (c: Cell) => number | undefined }[] = [
    { label: w.id, unit: w.unit, pick: (c) => c.value },
  ];
  if (!w.memory) figures.push({ label: `${w.id} (CPU)`, unit: `${w.unit} CPU`, pick: (c) => c.cpu });
  for (const figure of figures) {
    const eligible = cells.filter((c) => cleanedUp(c) && figure.pick(c) !== undefined);
    const best = eligible.reduce<Cell | undefined>(
      (b, c) => (b === undefined || (figure.pick(c) as number) < (figure.pick(b) as number) ? c : b),
      undefined,
    );
    const bestValue = best === undefined ? NaN : (figure.pick(best) as number);
    const row = [`\`${figure.label}\``, figure.unit.replace('ns/op', 'ns/task').replace('B/item', 'B/task')];
    if (w.id === 'pingpong') row[1] = figure.unit.replace('ns/op', 'ns/round trip');
    for (const peer of columns) {
      const c = cells.find((x) => x.peer === peer);
      const v = c === undefined ? undefined : figure.pick(c);
      if (c === undefined || v === undefined) {
        row.push('–');
        continue;
      }
      const sized = c.size !== w.size ? ` [${c.size.toLocaleString('en')}]` : '';
      if (!cleanedUp(c)) {
        row.push(`${format(v)}, cleanup ran in ${(c.cleanups as number).toLocaleString('en')} of ${c.size.toLocaleString('en')}${sized}`);
      } else {
        row.push(`${format(v)} (${(v / bestValue).toFixed(2)})${sized}`);
      }
      results.push({
        name: `peers.${figure.label.replace(' (CPU)', '.cpu')}.${peer.name}`,
        unit: figure.unit,
        value: Math.round(v * 10) / 10,
        baseline: best === undefined ? 'none' : `best peer: ${best.peer.name}`,
        baseline_value: Math.round(bestValue * 10) / 10,
        ratio: Math.round((v / bestValue) * 1000) / 1000,
      });
    }
    rows.push(row);
  }
}

const header = ['workload', 'unit', ...columns.map((p) => p.name)];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const row of rows) console.log(line(row));
console.log(
  `\nMedian of ${rounds} interleaved rounds, each peer in a fresh process; (ratio to the best peer of the row); ` +
    `[n]: measured with n tasks instead of the workload's size. Node ${process.version}, ` +
    `${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s.`,
);
for (const w of workloads) console.log(`- \`${w.id}\`: ${w.what}`);
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify({ results }, null, 2)}\n`);
  console.log(`\nwrote ${values.json}`);
}
