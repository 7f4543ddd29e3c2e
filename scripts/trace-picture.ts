/**
 * Draw a trace file (Chrome Trace Event JSON, as `startTrace` / GREENLET_TRACE write it)
 * as a timeline picture, offline: one row per greenlet, its spans as bars, its instant
 * events as ticks (park with what it waited on), rendered to PNG by headless Chromium.
 * Perfetto's UI needs the network; this does not. It makes the picture in the docs:
 *
 * ```sh
 * GREENLET_TRACE=/tmp/trace-example.json node --import tsx --import ./src/debug/auto-trace.ts scripts/trace-example.ts
 * node --import tsx scripts/trace-picture.ts /tmp/trace-example.json docs/trace-example.png
 * ```
 *
 * Needs Chromium (`apt-get install -y chromium`; or set CHROMIUM to its path). With a
 * third argument ending in `.html`, also keeps the page it rendered.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TraceEvent, TraceFile } from '../src/debug/trace-file.js';

const WIDTH = 1200;
const LABEL = 150;
const RIGHT = 24;
const TOP = 64;
const ROW = 30;
const LEGEND = 56;

const INSTANT_COLORS: Record<string, string> = {
  spawn: '#2e7d32',
  park: '#ef6c00',
  wake: '#1565c0',
  kill: '#c62828',
  interrupt: '#c62828',
  throw: '#6a1b9a',
  end: '#424242',
};

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A step for the time axis: 1, 2 or 5 times a power of ten, about 8 per picture. */
function niceStep(rangeUs: number): number {
  const raw = rangeUs / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function traceToSvg(file: TraceFile, title: string): { svg: string; height: number } {
  const meta = file.traceEvents.filter((e) => e.ph === 'M');
  const names = new Map<number, string>();
  const order = new Map<number, number>();
  for (const e of meta) {
    if (e.name === 'thread_name') names.set(e.tid, String(e.args?.name));
    if (e.name === 'thread_sort_index') order.set(e.tid, Number(e.args?.sort_index));
  }
  const events = file.traceEvents.filter((e) => e.ph !== 'M');
  const tids = [...new Set(events.map((e) => e.tid))].sort((a, b) => (order.get(a) ?? a) - (order.get(b) ?? b));
  const row = new Map(tids.map((tid, i) => [tid, i]));

  // The picture starts at the first spawn: before it, only the program loading.
  const firstSpawn = events.find((e) => e.name === 'spawn');
  const end = Math.max(...events.map((e) => e.ts + (e.dur ?? 0)));
  const start0 = firstSpawn?.ts ?? Math.min(...events.map((e) => e.ts));
  const margin = (end - start0) * 0.015;
  const start = start0 - margin;
  const plotWidth = WIDTH - LABEL - RIGHT;
  const x = (ts: number): number => LABEL + ((Math.max(ts, start) - start) / (end + margin - start)) * plotWidth;
  const height = TOP + tids.length * ROW + LEGEND;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold" fill="#212121">${escape(title)}</text>`);

  // Time axis.
  const step = niceStep(end - start);
  const axisY = TOP - 14;
  for (let t = Math.ceil((start - start0) / step) * step; start0 + t <= end + margin; t += step) {
    const px = x(start0 + t);
    out.push(`<line x1="${px}" y1="${axisY + 4}" x2="${px}" y2="${TOP + tids.length * ROW}" stroke="#e0e0e0"/>`);
    const label = step >= 1000 ? `${(t / 1000).toFixed(step >= 10_000 ? 0 : 1)} ms` : `${t.toFixed(0)} µs`;
    out.push(`<text x="${px}" y="${axisY}" font-size="11" fill="#616161" text-anchor="middle">${label}</text>`);
  }

  // Rows.
  tids.forEach((tid, i) => {
    const y = TOP + i * ROW;
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${WIDTH}" height="${ROW}" fill="#f5f5f5"/>`);
    const name = names.get(tid) ?? `tid ${tid}`;
    out.push(`<text x="12" y="${y + ROW / 2 + 4}" font-size="13" fill="#212121">${escape(name)}</text>`);
    // The main greenlet runs whenever no other does: plain code and the event loop.
    if (name === 'main') out.push(`<text x="52" y="${y + ROW / 2 + 4}" font-size="10" fill="#757575">(event loop)</text>`);
  });

  // Spans: at least a pixel and a half, or a microsecond run would not show.
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const y = TOP + (row.get(e.tid) as number) * ROW + 7;
    const x0 = x(e.ts);
    const w = Math.max(1.5, x(e.ts + (e.dur as number)) - x0);
    const name = names.get(e.tid) ?? '';
    const fill = name === 'main' ? '#9e9e9e' : name === 'hub' ? '#546e7a' : '#42a5f5';
    out.push(`<rect x="${x0.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${ROW - 14}" fill="${fill}"/>`);
  }

  // Instants, with what a park waited on where there is room for it.
  const lastLabel = new Map<number, number>();
  for (const e of events) {
    if (e.ph !== 'i' || e.ts < start) continue;
    const rowIndex = row.get(e.tid) as number;
    const y = TOP + rowIndex * ROW;
    const px = x(e.ts);
    const color = INSTANT_COLORS[e.name] ?? '#000000';
    out.push(`<line x1="${px.toFixed(2)}" y1="${y + 3}" x2="${px.toFixed(2)}" y2="${y + ROW - 3}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<circle cx="${px.toFixed(2)}" cy="${y + 4}" r="3" fill="${color}"/>`);
    const text = labelOf(e);
    if (text !== null && px - (lastLabel.get(e.tid) ?? -Infinity) > 150 && px + 6 + text.length * 5.6 < WIDTH) {
      out.push(`<text x="${(px + 5).toFixed(2)}" y="${y + ROW - 5}" font-size="10" fill="${color}">${escape(text)}</text>`);
      lastLabel.set(e.tid, px + text.length * 5.6);
    }
  }

  // Legend.
  let lx = 12;
  const ly = TOP + tids.length * ROW + 30;
  out.push(`<rect x="${lx}" y="${ly - 10}" width="22" height="12" fill="#42a5f5"/>`);
  out.push(`<text x="${lx + 28}" y="${ly}" font-size="12" fill="#212121">running</text>`);
  lx += 100;
  for (const [name, color] of Object.entries(INSTANT_COLORS)) {
    if (name === 'interrupt') continue;
    out.push(`<line x1="${lx}" y1="${ly - 12}" x2="${lx}" y2="${ly + 3}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<circle cx="${lx}" cy="${ly - 11}" r="3" fill="${color}"/>`);
    out.push(`<text x="${lx + 8}" y="${ly}" font-size="12" fill="#212121">${name}</text>`);
    lx += 30 + name.length * 8;
  }
  out.push('</svg>');
  return { svg: out.join('\n'), height };
}

function labelOf(e: TraceEvent): string | null {
  const args = e.args ?? {};
  const short = (s: string): string => (s.length > 34 ? `${s.slice(0, 33)}…` : s);
  switch (e.name) {
    case 'park':
      return short(String(args.on).replace(/ on Queue\(.*$/, ' on Queue'));
    case 'kill':
      return 'kill';
    case 'end':
      return `end (${String(args.outcome)})`;
    default:
      return null;
  }
}

function main(): void {
  const [input, output = 'docs/trace-example.png', keepHtml] = process.argv.slice(2);
  if (input === undefined) {
    console.error('usage: node --import tsx scripts/trace-picture.ts TRACE.json [OUT.png] [KEEP.html]');
    process.exit(2);
  }
  const file = JSON.parse(readFileSync(input, 'utf8')) as TraceFile;
  const { svg, height } = traceToSvg(file, 'greenlet-ts trace: producer, two workers, a reporter (GREENLET_TRACE)');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>trace</title>
<style>html,body{margin:0;padding:0;background:#fff}</style></head><body>${svg}</body></html>`;
  const dir = mkdtempSync(join(tmpdir(), 'trace-picture-'));
  try {
    const page = join(dir, 'trace.html');
    writeFileSync(page, html);
    if (keepHtml !== undefined) copyFileSync(page, keepHtml);
    const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
    execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--hide-scrollbars',
        `--window-size=${WIDTH},${height}`,
        `--screenshot=${resolve(output)}`,
        `file://${page}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
    console.log(`wrote ${output} (${WIDTH}×${height})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
