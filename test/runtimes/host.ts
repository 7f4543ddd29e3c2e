/**
 * The host side of a bundled test file (see bundle.ts), run inside the runtime under test:
 * catches errors that escape a test, prints the results for the runner (run.ts) and ends
 * the process where there is one.
 *
 * @module
 */
import { failCurrent, skipTests, type TestResult } from './vitest-shim.js';

declare const __EXCLUDED_TESTS__: unknown;

interface Host {
  print?: (text: string) => void;
  quit?: (code?: number) => void;
  Deno?: { exit(code?: number): never };
  Bun?: object;
  process?: { on(event: string, fn: (error: unknown) => void): void; exit(code?: number): never };
  addEventListener?: (event: string, fn: (event: { reason?: unknown; error?: unknown; preventDefault(): void }) => void) => void;
}
const host = globalThis as unknown as Host & typeof globalThis;

function line(text: string): void {
  if (typeof host.console?.log === 'function') host.console.log(text);
  else host.print?.(text);
}

/** Which runtime this is, as files.ts names them. */
function runtime(): string {
  if (host.Deno !== undefined) return 'deno';
  if (host.Bun !== undefined) return 'bun';
  const agent = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ?? '';
  if (agent.includes('Firefox')) return 'firefox';
  if (agent.includes('Chrome')) return 'chromium';
  return typeof host.print === 'function' ? 'jsc' : 'unknown';
}

/** Prepare the host for `file`'s tests; `excluded` is files.ts's list of single tests left out. */
export function start(file: string, excluded: readonly { file: string; test: string; runtimes: readonly string[]; reason: string }[]): void {
  const here = runtime();
  skipTests(new Map(excluded.filter((e) => e.file === file && e.runtimes.includes(here)).map((e) => [e.test, e.reason])));
  if (host.Bun !== undefined && host.process !== undefined) {
    host.process.on('unhandledRejection', (reason) => failCurrent(reason));
    host.process.on('uncaughtException', (error) => failCurrent(error));
  } else if (typeof host.addEventListener === 'function') {
    host.addEventListener('unhandledrejection', (event) => {
      event.preventDefault();
      failCurrent(event.reason);
    });
    host.addEventListener('error', (event) => {
      event.preventDefault();
      failCurrent(event.error);
    });
  }
  line(`##START ${JSON.stringify({ file, runtime: here })}`);
}

/** Print one result for the runner. */
export function report(result: TestResult): void {
  line(`##RESULT ${JSON.stringify(result)}`);
}

/** All results are in: say so, and end the process where the host has one. */
export function finish(results: readonly TestResult[]): void {
  line(`##DONE ${JSON.stringify({ tests: results.length })}`);
  if (host.Deno !== undefined) host.Deno.exit(0);
  else if (host.Bun !== undefined && host.process !== undefined) host.process.exit(0);
  else if (typeof host.quit === 'function') host.quit(0);
}
