/**
 * examples/http-service.ts, run as a user runs it (`node --import tsx`, from the repository
 * root), and its output compared line by line: every line is deterministic (no port, no
 * timing).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

it('http-service.ts answers its clients, sees the one that gave up, and stops gracefully', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/http-service.ts'], {
    cwd: repoRoot,
    timeout: 15_000,
  });
  expect(stderr).toBe('');
  expect(stdout.trimEnd().split('\n')).toEqual([
    'GET  /hello?name=greenlets          → 200 hello, greenlets',
    'GET  /hello (3 slow in flight)      → 200 hello, world',
    'GET  /slow ×3, in order finished    → 200 slept 100 ms, 200 slept 200 ms, 200 slept 300 ms',
    'POST /sum [1..10]                   → 200 {"sum":55}',
    'POST /sum (1.4 KB of numbers)       → 413 the request body is 1401 bytes (Content-Length), more than the limit of 1024',
    'POST /sum (not JSON)                → 400 the request body is not valid JSON',
    'GET  /nowhere                       → 404 nothing at /nowhere',
    'GET  /slow?ms=10000, timeout 100    → HttpFetchTimeout',
    '  and the service saw               → /slow?ms=10000 killed with ClientDisconnected',
    'GET  /slow?ms=50, during stop(1000) → 200 slept 50 ms',
    'stopped: true, requests in flight: 0, connections: 0',
  ]);
});
