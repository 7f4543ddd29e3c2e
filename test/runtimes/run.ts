/**
 * Runs the core, hub, sync and interop test files (and the greenlet conformance suite) on
 * every runtime besides Node: Deno and Bun (from node_modules), headless Chromium and
 * Firefox (Debian's, driven by puppeteer-core: CDP for Chromium, WebDriver BiDi for
 * Firefox), and JavaScriptCore's shell `jsc` (Debian's WebKitGTK). The same files vitest
 * runs on Node, bundled one by one with vitest's API provided by vitest-shim.ts; each file
 * runs in a fresh process or page, as vitest runs each in a fresh fork.
 *
 *     tsx test/runtimes/run.ts [deno|bun|chromium|firefox|jsc ...] [PATH-PART ...]
 *
 * runs the runtimes named (default: all) on the files whose path contains one of the
 * PATH-PARTs (an argument with a `/` or a `.`; default: all files). The files are listed
 * once, at the start (files.ts's `planRun`), and bundled then: every runtime runs its part
 * of that one list, so a test file added during the run is not run.
 *
 * A runtime that is not installed is reported as skipped, with the reason; a file the
 * runtime cannot run is listed with the reason from files.ts. A file that fails runs once
 * more (timing tests can lose a race on a loaded machine); one that then passes is listed
 * as FLAKY, with its first failure shown. A file in which no test ran fails (counted as one
 * failed test), unless files.ts left out each of its tests here: outcome.ts's `verdict`.
 * The last line counts the tests: `runtimes: N passed, N failed, N skipped`. Exits
 * non-zero if any test failed.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM_PATH, launchChromium } from '../../scripts/chromium.js';
import { bundleName, bundleTests } from './bundle.js';
import { RUNTIMES, planRun, repoRoot, type Runtime, type RuntimeFiles } from './files.js';
import { verdict, type FileOutcome } from './outcome.js';
import type { TestResult } from './vitest-shim.js';
import type { ConsoleMessage, Page } from 'puppeteer-core';

/** How long one file may take on a runtime before it counts as hung. */
const FILE_LIMIT_MS = 180_000;
/** Files run side by side per runtime (the machine has 2 cores). */
const CONCURRENCY = 2;

/** Runs one bundled file on a runtime and collects its output lines. */
type Launcher = { run(bundle: string): Promise<{ lines: string[]; broken?: string }>; close(): Promise<void> };

const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

async function works(file: string, args: string[]): Promise<string | null> {
  try {
    await promisify(execFile)(file, args, { timeout: 60_000 });
    return null;
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? String(error);
  }
}

/** A runtime that runs a file as a process: `command ...args file`. */
function processLauncher(command: string, args: string[], outdir: string): Launcher {
  return {
    run: (bundle) =>
      new Promise((resolve) => {
        const child = spawn(command, [...args, join(outdir, bundle)], { cwd: outdir, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const timer = setTimeout(() => child.kill('SIGKILL'), FILE_LIMIT_MS);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          const lines = stdout.split('\n');
          const done = lines.some((l) => l.startsWith('##DONE'));
          const why = signal === 'SIGKILL' ? `did not finish within ${FILE_LIMIT_MS / 1000} s` : `exited with ${code ?? signal}`;
          const output = `${stderr}\n${lines.filter((l) => !l.startsWith('##')).join('\n')}`.trim().split('\n').slice(-30).join('\n');
          resolve(done ? { lines } : { lines, broken: `${why}:\n${output}` });
        });
      }),
    close: async () => {},
  };
}

/** Serves the bundles and a page that imports the one named in its query string. */
async function serve(outdir: string): Promise<Server> {
  const page = `<!doctype html><meta charset="utf-8"><title>greenlet-ts tests</title>
<script type="module">import('./' + new URLSearchParams(location.search).get('bundle'));</script>`;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.slice(1);
    if (path === 'run.html') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    } else if (/^[\w.-]+\.mjs$/.test(path) && existsSync(join(outdir, path))) {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(outdir, path)));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * Firefox throttles the timers of a tab that is not the selected one: none fires sooner than
 * 1 s after it was set, and fewer still once the tab has spent its budget of running time.
 * The lanes' pages are tabs of one window, so all but the last one opened run their files
 * in such a tab (`document.visibilityState` is 'hidden' there). Measured in that tab, every
 * test that waits on a timer took 1 s or more: the greenlet docs file 23 s instead of 0.4 s,
 * the Semaphore file 61 s instead of 0.9 s, its property test past its 20 s limit (a "hang"
 * of 2026-12-07). These preferences turn the throttling off. (Puppeteer starts Chromium with
 * `--disable-background-timer-throttling` for the same reason.)
 */
const FIREFOX_PREFS = {
  'dom.min_background_timeout_value': 0,
  'dom.min_background_timeout_value_without_budget_throttling': 0,
  'dom.timeout.enable_budget_timer_throttling': false,
};

async function browserLauncher(runtime: 'chromium' | 'firefox', executablePath: string, outdir: string): Promise<Launcher> {
  const { default: puppeteer } = await import('puppeteer-core');
  const userDataDir = mkdtempSync(join(tmpdir(), `greenlet-ts-${runtime}-`));
  const browser =
    runtime === 'chromium'
      ? await launchChromium()
      : await puppeteer.launch({ browser: 'firefox', executablePath, headless: true, userDataDir, extraPrefsFirefox: FIREFOX_PREFS });
  const server = await serve(outdir);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // One page per lane, reused: each navigation gives the next file a fresh realm, and
  // Firefox's WebDriver BiDi does not like pages opened and closed side by side.
  const idle: Page[] = [];
  return {
    async run(bundle) {
      const page = idle.pop() ?? (await browser.newPage());
      const lines: string[] = [];
      let settle: (outcome: { lines: string[]; broken?: string }) => void = () => {};
      const onConsole = (message: ConsoleMessage) => {
        const text = message.text();
        lines.push(text);
        if (text.startsWith('##DONE')) settle({ lines });
      };
      const onError = (error: unknown) => lines.push(`page error: ${String(error)}`);
      page.on('console', onConsole);
      page.on('pageerror', onError);
      try {
        return await new Promise((resolve) => {
          const timer = setTimeout(() => resolve({ lines, broken: `did not finish within ${FILE_LIMIT_MS / 1000} s` }), FILE_LIMIT_MS);
          settle = (outcome) => {
            clearTimeout(timer);
            resolve(outcome);
          };
          page.goto(`${base}/run.html?bundle=${bundle}`).catch((error: unknown) => settle({ lines, broken: `could not load the page: ${String(error)}` }));
        });
      } finally {
        page.off('console', onConsole);
        page.off('pageerror', onError);
        await page.goto('about:blank').catch(() => {});
        idle.push(page);
      }
    },
    async close() {
      await browser.close();
      server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** How to run `runtime` here, or why it cannot run. */
async function launcher(runtime: Runtime, outdir: string): Promise<Launcher | string> {
  switch (runtime) {
    case 'deno':
    case 'bun': {
      const file = bin(runtime);
      if (!existsSync(file)) return `${runtime} is not installed (npm ci installs it from the devDependencies)`;
      const broken = await works(file, ['--version']);
      if (broken !== null) return `${runtime} --version failed: ${broken}`;
      return runtime === 'deno'
        ? processLauncher(file, ['run', '--allow-all', '--quiet', '--v8-flags=--expose-gc'], outdir)
        : processLauncher(file, [], outdir);
    }
    case 'jsc': {
      const file = process.env.JSC_PATH ?? '/usr/bin/jsc';
      if (!existsSync(file)) return `${file} is missing (Debian package libjavascriptcoregtk-4.0-bin; .ci/run installs it)`;
      return processLauncher(file, ['-m'], outdir);
    }
    case 'chromium':
    case 'firefox': {
      const file = runtime === 'chromium' ? CHROMIUM_PATH : (process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr');
      if (!existsSync(file)) return `${file} is missing (Debian package ${runtime === 'chromium' ? 'chromium' : 'firefox-esr'}; .ci/run installs it)`;
      try {
        return await browserLauncher(runtime, file, outdir);
      } catch (error) {
        return `${file} did not start: ${String(error).split('\n')[0]}`;
      }
    }
  }
}

function parse(file: string, lines: string[], broken: string | undefined, ms: number): FileOutcome {
  const results = lines.filter((l) => l.startsWith('##RESULT ')).map((l) => JSON.parse(l.slice('##RESULT '.length)) as TestResult);
  return broken === undefined ? { file, results, ms } : { file, results, broken, ms };
}

const failedIn = (outcome: FileOutcome) => verdict(outcome).state === 'fail';
/** Files that failed, then passed when run again: listed at the end. */
const flaky: string[] = [];

/** Runs `files.run` on `runtime` (the files of the run's one listing: see planRun); reports `files.skipped`. */
async function runRuntime(runtime: Runtime, files: RuntimeFiles, outdir: string): Promise<{ passed: number; failed: number; skipped: number } | null> {
  const { run, skipped } = files;
  const started = Date.now();
  const how = await launcher(runtime, outdir);
  if (typeof how === 'string') {
    console.log(`\n${runtime}: SKIPPED, not run: ${how}`);
    return null;
  }
  console.log(`\n${runtime}: ${run.length} files`);
  const outcomes: FileOutcome[] = [];
  const queue = [...run];
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
          const attempt = async (): Promise<FileOutcome> => {
            const t = Date.now();
            const { lines, broken } = await how.run(bundleName(file)).catch((error: unknown) => ({ lines: [], broken: `the runner failed: ${String(error)}` }));
            return parse(file, lines, broken, Date.now() - t);
          };
          let outcome = await attempt();
          if (failedIn(outcome)) {
            // Timing tests can lose a race on a loaded machine (a cold runtime, two cores shared
            // with other work): a file that fails runs once more, and the first failure is shown.
            report(outcome);
            const again = await attempt();
            if (!failedIn(again)) {
              console.log(`    FLAKY: ${file} passed when run again on ${runtime}`);
              flaky.push(`${runtime}: ${file}`);
            }
            outcome = again;
          }
          outcomes.push(outcome);
          report(outcome);
        }
      }),
    );
  } finally {
    await how.close();
  }
  const count = (state: TestResult['state']) => outcomes.reduce((n, o) => n + o.results.filter((r) => r.state === state).length, 0);
  // A file that failed with no failing test in it (it did not finish, or no test ran) counts as one failure.
  const failedFiles = outcomes.filter((o) => failedIn(o) && !o.results.some((r) => r.state === 'fail')).length;
  const totals = { passed: count('pass'), failed: count('fail') + failedFiles, skipped: count('skip') };
  for (const s of skipped) console.log(`  - ${s.file}: not run here (${s.reason})`);
  console.log(
    `${runtime}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped in ${run.length} files ` +
      `(${skipped.length} files not run here) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return totals;
}

function report(outcome: FileOutcome): void {
  const failed = outcome.results.filter((r) => r.state === 'fail');
  const passed = outcome.results.filter((r) => r.state === 'pass').length;
  const v = verdict(outcome);
  const mark = v.state === 'pass' ? '✓' : v.state === 'skip' ? '-' : '✗';
  console.log(`  ${mark} ${outcome.file} (${passed}/${outcome.results.length} passed, ${(outcome.ms / 1000).toFixed(1)} s)`);
  for (const f of failed) console.log(`      ✗ ${f.name}\n${indent(f.error ?? '', 8)}`);
  for (const s of outcome.results.filter((r) => r.reason !== undefined)) console.log(`      - ${s.name}: not run here (${s.reason})`);
  if (outcome.broken !== undefined) console.log(`      ✗ the file did not finish: ${indent(outcome.broken, 8).trimStart()}`);
  else if (v.state !== 'pass' && failed.length === 0) console.log(`      ${mark} ${v.why}`);
}

const indent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => a.includes('/') || a.includes('.'));
  const asked = process.argv.slice(2).filter((a) => !only.includes(a));
  const unknown = asked.filter((a) => !RUNTIMES.includes(a as Runtime));
  if (unknown.length !== 0) throw new Error(`unknown runtime ${unknown.join(', ')}: choose among ${RUNTIMES.join(', ')}`);
  const runtimes = asked.length === 0 ? RUNTIMES : (asked as Runtime[]);
  // Inside the repository, so that a test that looks for package.json from its own
  // import.meta.url (test_version) finds the repository's, as it does on Node.
  mkdirSync(join(repoRoot, 'node_modules', '.cache'), { recursive: true });
  const outdir = mkdtempSync(join(repoRoot, 'node_modules', '.cache', 'greenlet-ts-runtimes-'));
  const started = Date.now();
  try {
    const plan = planRun(runtimes, only);
    await bundleTests(plan.bundle, outdir);
    console.log(`bundled ${plan.bundle.length} test files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const total = { passed: 0, failed: 0, skipped: 0 };
    const notRun: Runtime[] = [];
    for (const runtime of runtimes) {
      const totals = await runRuntime(runtime, plan.files.get(runtime) as RuntimeFiles, outdir);
      if (totals === null) {
        notRun.push(runtime);
        continue;
      }
      total.passed += totals.passed;
      total.failed += totals.failed;
      total.skipped += totals.skipped;
    }
    console.log(`\nruntimes run: ${runtimes.filter((r) => !notRun.includes(r)).join(', ') || 'none'}` + (notRun.length === 0 ? '' : `; SKIPPED (not installed): ${notRun.join(', ')}`));
    if (flaky.length !== 0) console.log(`FLAKY (failed, then passed when run again): ${flaky.join('; ')}`);
    console.log(`in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`runtimes: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
    process.exitCode = total.failed === 0 ? 0 : 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
