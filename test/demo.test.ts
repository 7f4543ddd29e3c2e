/**
 * The demo service (`npm start`), the fixed-pool server it is compared with, and the
 * comparison (`npm run demo:compare`).
 */
import { execFile, spawn as spawnChild } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { getHub, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { httpFetch } from '../src/io/http.js';
import { startDemo, type DemoStats } from '../demo/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function* get(url: string): GreenletBody<[number, string]> {
  const response = yield* httpFetch(url);
  return [response.status, yield* response.text()];
}

describe('the demo service', () => {
  it('answers /fast while /slow requests sleep, and /stats shows them parked', async () => {
    const result = await run(function* () {
      const server = yield* startDemo({ port: 0 });
      try {
        const order: string[] = [];
        const slow = spawn(function* () {
          const [status] = yield* get(`${server.url}/slow?ms=300`);
          order.push(`slow ${status}`);
        });
        yield* sleep(50); // the slow request is in flight
        const [statsStatus, statsBody] = yield* get(`${server.url}/stats`);
        const [fastStatus, fastBody] = yield* get(`${server.url}/fast`);
        order.push(`fast ${fastStatus}`);
        yield* slow.join();
        return { order, fastBody, statsStatus, stats: JSON.parse(statsBody) as DemoStats };
      } finally {
        yield* server.stop(100);
      }
    });
    expect(result.order).toEqual(['fast 200', 'slow 200']);
    expect(result.fastBody).toBe('fast\n');
    expect(result.statsStatus).toBe(200);
    expect(result.stats.inFlightRequests).toBeGreaterThanOrEqual(2); // /slow and /stats itself
    expect(result.stats.parked.some((p) => p.name.startsWith('GET /slow') && p.waitingOn.startsWith('sleep()'))).toBe(true);
    expect(getHub().timers.size).toBe(0);
  });

  it('runs /cpu on a pool thread without holding up /fast', async () => {
    const result = await run(function* () {
      const server = yield* startDemo({ port: 0, cpuThreads: 1 });
      try {
        const order: string[] = [];
        const cpu = spawn(function* () {
          const [status, body] = yield* get(`${server.url}/cpu?ms=300`);
          order.push(`cpu ${status}`);
          return body;
        });
        yield* sleep(50); // the CPU job is running on the pool's thread
        const [fastStatus] = yield* get(`${server.url}/fast`);
        order.push(`fast ${fastStatus}`);
        const cpuBody = yield* cpu.get();
        return { order, cpuBody };
      } finally {
        yield* server.stop(100);
      }
    });
    expect(result.order).toEqual(['fast 200', 'cpu 200']);
    expect(result.cpuBody).toMatch(/^cpu: 300 ms of work on a pool thread \(\d+ rounds\)\n$/);
  });

  it('shows the tree of live tasks at /runinfo, the slow request parked in it', async () => {
    const text = await run(function* () {
      const server = yield* startDemo({ port: 0 });
      try {
        const slow = spawn(function* () {
          yield* get(`${server.url}/slow?ms=200`);
        });
        yield* sleep(50);
        const [status, body] = yield* get(`${server.url}/runinfo`);
        yield* slow.join();
        return `${status}\n${body}`;
      } finally {
        yield* server.stop(100);
      }
    });
    expect(text).toMatch(/^200\ngreenlet-ts run info: \d+ live tasks/);
    expect(text).toMatch(/GET \/slow: parked for \d+ ms on sleep\(\)/);
  });

  it('refuses a bad /slow delay and unknown paths with a message', async () => {
    const result = await run(function* () {
      const server = yield* startDemo({ port: 0 });
      try {
        return [yield* get(`${server.url}/slow?ms=-1`), yield* get(`${server.url}/nowhere`)];
      } finally {
        yield* server.stop(100);
      }
    });
    const [[badStatus], [missingStatus, missingBody]] = result as [[number, string], [number, string]];
    expect(badStatus).toBe(400);
    expect(missingStatus).toBe(404);
    expect(missingBody).toMatch(/nothing at \/nowhere/);
  });
});

describe('the fixed-pool server (the fastcgi model)', () => {
  it('makes /fast wait while every thread is busy with /slow', async () => {
    const child = spawnChild(process.execPath, ['--import', 'tsx', 'demo/fixed-pool-server.ts', '--port', '0', '--workers', '1'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += String(chunk);
          const m = /listening (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
      });
      const order: string[] = [];
      const slow = fetch(`http://127.0.0.1:${port}/slow?ms=300`).then(() => order.push('slow'));
      await new Promise((r) => setTimeout(r, 50));
      const fast = fetch(`http://127.0.0.1:${port}/fast`).then(() => order.push('fast'));
      await Promise.all([slow, fast]);
      expect(order).toEqual(['slow', 'fast']);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('npm run demo:compare', () => {
  it('prints both models side by side; the greenlet-ts service answers /fast without errors', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'demo/compare.ts', '--duration', '1', '--workers', '2', '--slow-ms', '500', '--connections', '4'],
      { cwd: root, timeout: 60_000 },
    );
    const lines = stdout.trim().split('\n');
    const fixed = lines.find((l) => l.startsWith('fixed pool of 2 threads'));
    const greenlets = lines.find((l) => l.startsWith('greenlet-ts, a task per request'));
    expect(fixed).toBeDefined();
    expect(greenlets).toBeDefined();
    const [answered, errors] = (greenlets as string).trim().split(/\s+/).slice(-2).map(Number);
    expect(answered).toBeGreaterThan(0);
    expect(errors).toBe(0);
  }, 60_000);
});
