/**
 * `npm run demo:compare`: the seed's story, measured. The same service (`/fast`, and
 * `/slow?ms=N`) runs two ways, each in a process of its own:
 *
 *  - a fixed pool of worker threads, each busy with one request from start to end: the
 *    fastcgi model (demo/fixed-pool-server.ts);
 *  - greenlet-ts, a task per request (demo/server.ts, one process: `--workers 1`).
 *
 * For each, this process keeps K `/slow` requests in flight and meanwhile measures `/fast`
 * with autocannon (C connections, D seconds, a request timeout of T ms), then prints the
 * latencies and errors side by side.
 *
 * Options: --workers N (8) --slow K (= N) --slow-ms S (2000) --connections C (10)
 *          --duration D (5) --timeout T (3000)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '8' },
    slow: { type: 'string' },
    'slow-ms': { type: 'string', default: '2000' },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '3000' },
  },
});
const workers = Number(values.workers);
// By default as many slow requests as the pool has threads: "a handful of slow requests
// took every thread".
const slowInFlight = Number(values.slow ?? values.workers);
const slowMs = Number(values['slow-ms']);
const connections = Number(values.connections);
const duration = Number(values.duration);
const timeoutMs = Number(values.timeout);

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Start a server script in a child process and wait for its `listening PORT` line. */
async function startServer(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', here(script), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Keep reading its output to the end (a closed pipe would fail the server's next log line).
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += String(chunk);
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`${script} exited before listening`)));
  });
  return { child, port };
}

/** Keep `count` requests to /slow in flight until `until()` says stop. */
function keepSlowInFlight(port: number, count: number, until: () => boolean): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  const loop = async (): Promise<void> => {
    while (!until()) {
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: `/slow?ms=${slowMs}`, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
      });
    }
  };
  return Promise.all(Array.from({ length: count }, loop)).then(() => agent.destroy());
}

interface Outcome {
  model: string;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  errors: number;
}

async function measure(model: string, script: string, args: string[]): Promise<Outcome> {
  const { child, port } = await startServer(script, args);
  let done = false;
  const slow = keepSlowInFlight(port, slowInFlight, () => done);
  await new Promise((r) => setTimeout(r, 300)); // let the slow requests arrive first
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/fast`,
    connections,
    duration,
    timeout: timeoutMs / 1000,
  });
  done = true;
  child.kill('SIGTERM');
  await Promise.race([slow, new Promise((r) => setTimeout(r, slowMs + 1000))]);
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  return {
    model,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok: result['2xx'],
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

console.log(
  `/fast measured for ${duration} s over ${connections} connections (timeout ${timeoutMs} ms), ` +
    `while ${slowInFlight} requests to /slow?ms=${slowMs} are kept in flight.\n`,
);
const outcomes = [
  await measure(`fixed pool of ${workers} threads (fastcgi)`, 'fixed-pool-server.ts', ['--workers', String(workers)]),
  // One process: the comparison is about the model (a task per request against a thread
  // per request), not about the number of cores.
  await measure('greenlet-ts, a task per request', 'server.ts', ['--workers', '1']),
];

const rows = [
  ['model', '/fast p50', '/fast p99', '/fast max', 'answered', 'timeouts, errors'],
  ...outcomes.map((o) => {
    const ms = (v: number) => (o.ok === 0 ? '-' : `${v} ms`);
    return [o.model, ms(o.p50), ms(o.p99), ms(o.max), String(o.ok), String(o.errors)];
  }),
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   '));
