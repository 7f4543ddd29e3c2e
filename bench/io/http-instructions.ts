/**
 * Instructions per request of a benchmark HTTP server, counted by callgrind: a figure the
 * load of a shared machine does not move, where `io.http`'s wall-clock ratio moves by ±15 %.
 *
 *     node --import tsx bench/io/http-instructions.ts [SCRIPT...] [--connections 50] [--warmup 5000] [--requests 3000,9000]
 *
 * Each server script (default `http-greenlet.mjs` and `http-plain.mjs`, from the build) runs
 * under `valgrind --tool=callgrind` (node `--single-threaded`, so that GC and compiler work
 * stay on the counted thread) twice. Each time it first serves `warmup` requests without
 * counting (callgrind's instrumentation off: the functions get optimized meanwhile), then
 * counts while it serves the smaller number of requests, or the larger. The client, in this
 * process, keeps `connections` keep-alive connections with one request in flight each, as
 * autocannon does in `io.http`. The slope between the two totals is the server's cost per
 * request, start-up, warm-up and shutdown taken out. The client is fast next
 * to a server under valgrind (about 50 times slower than native), so each server read finds
 * about one request per connection waiting: the batching `io.http` sees on a loaded machine.
 *
 *     node --import tsx bench/io/http-instructions.ts --in-process [plain floor greenlet]
 *
 * counts the same without the kernel and the network: `http-inprocess.mjs` feeds each
 * server in-memory connections in one process, so that the figures hold only the
 * JavaScript path of a request (and no keep-alive timer can close a connection under
 * valgrind). `floor` is the plain server with a task per request through our hub: the
 * least the HTTP server's design can cost with this hub; `floor.bare` runs a bare generator
 * per request instead (no hub, no switcher): the least any coroutine per request costs. In process, the default is one connection: each request then
 * comes in a turn of the event loop of its own, as every request does over TCP (each
 * socket's read is a callback of its own); with 50 connections, 50 requests share a turn
 * and its microtask checkpoint, which hides what a callback costs (`--connections 50`).
 *
 * `--semi-space MB` gives V8's young generation a fixed size (`--min-semi-space-size` and
 * `--max-semi-space-size`). By default V8 grows it as it sees fit, and the cost of the
 * collections (a few thousand instructions per request, much of it the roots each scavenge
 * visits) then depends on how far it has grown by the counted requests, which moves a
 * count by several per cent from one warm-up length to another. With a fixed size, the
 * collections cost each server in proportion to what it allocates. It applies over TCP
 * too. Either way a count reads several thousand higher when a major collection's
 * incremental marking falls in one of its two windows and not the other (by function:
 * the scavenges' root visits and the write barriers): take two runs, and the lower.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    /** Default: 50 over TCP, 1 in process (see above). */
    connections: { type: 'string' },
    requests: { type: 'string', default: '3000,9000' },
    warmup: { type: 'string', default: '5000' },
    'semi-space': { type: 'string' },
    'in-process': { type: 'boolean', default: false },
    /**
     * Keep callgrind's output, per function, in DIR/SCRIPT.REQUESTS.out (for callgrind_annotate);
     * node then also runs with `--perf-basic-prof`, whose /tmp/perf-PID.map names the JIT
     * code's addresses (the PID is the out file's `pid:` line).
     */
    out: { type: 'string' },
  },
});
const inProcess = values['in-process'];
const connections = Number(values.connections ?? (inProcess ? 1 : 50));
const warmup = Number(values.warmup);
const [small, large] = values.requests.split(',').map(Number) as [number, number];
/** With `--semi-space`, the young generation's fixed size (see above), over TCP and in process. */
const semiSpace = values['semi-space'] === undefined ? [] : [`--min-semi-space-size=${values['semi-space']}`, `--max-semi-space-size=${values['semi-space']}`];
/** With `--out`, name the JIT code for the per-function view (see `out`). */
const perfMap = values.out === undefined ? [] : ['--perf-basic-prof'];
const scripts = positionals.length > 0 ? positionals : inProcess ? ['plain', 'floor', 'greenlet'] : ['http-greenlet.mjs', 'http-plain.mjs'];

/** Total instructions of `http-inprocess.mjs KIND requests`, counted after the warm-up. */
async function inProcessInstructions(kind: string, requests: number): Promise<number> {
  const path = fileURLToPath(new URL('http-inprocess.mjs', import.meta.url));
  const file = values.out === undefined ? '/dev/null' : `${values.out}/${kind}.${requests}.out`;
  const args = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${file}`, process.execPath, '--single-threaded', ...perfMap, ...semiSpace, path, kind, String(requests), String(connections)];
  const { stderr } = await promisify(execFile)('valgrind', args, { env: { ...process.env, WARMUP: String(warmup) }, maxBuffer: 1 << 24 });
  const match = /Collected : (\d+)/.exec(stderr);
  if (!match) throw new Error(`${kind}: no callgrind total in:\n${stderr}`);
  return Number(match[1]);
}

/** Total instructions of a server process that answered `requests` requests, then stopped. */
async function instructions(script: string, requests: number): Promise<number> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const file = values.out === undefined ? '/dev/null' : `${values.out}/${script}.${requests}.out`;
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${file}`, process.execPath, '--single-threaded', ...perfMap, ...semiSpace, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += String(chunk);
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening:\n${stderr}`)));
  });
  await load(port, warmup);
  await promisify(execFile)('callgrind_control', ['--instr=on', String(child.pid)]);
  await load(port, requests);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
  const match = /Collected : (\d+)/.exec(stderr);
  if (!match) throw new Error(`${script}: no callgrind total in:\n${stderr}`);
  return Number(match[1]);
}

/**
 * Send `total` GET requests over `connections` keep-alive connections, one in flight on
 * each. A connection the server closes (under valgrind a request can outlast the server's
 * timeouts) is replaced, its request sent again; the count stays exact to a few requests.
 */
async function load(port: number, total: number): Promise<void> {
  const request = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  let answered = 0;
  let failed = 0;
  let replaced = 0;
  const connection = (resolve: () => void): void => {
    let pending = false;
    let tail = '';
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const next = (): void => {
      if (answered >= total) {
        socket.end();
        return;
      }
      pending = true;
      socket.write(request);
    };
    socket.on('connect', next);
    // Both servers write each response in one piece: a status line seen is a response
    // received (the tail keeps a status line split between two reads).
    socket.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      let last = -1;
      for (let i = text.indexOf('HTTP/1.1 '); i !== -1 && i + 12 <= text.length; i = text.indexOf('HTTP/1.1 ', i + 1)) {
        if (text.slice(i + 9, i + 12) !== '200') failed++;
        last = i;
      }
      tail = last === -1 ? text.slice(-11) : '';
      if (last !== -1) {
        pending = false;
        answered++;
        next();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (pending || answered < total) {
        if (++replaced > 1000) throw new Error('the server keeps closing connections');
        connection(resolve);
      } else {
        resolve();
      }
    });
  };
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve) => connection(resolve))));
  if (failed > 0) throw new Error(`${failed} responses were not 200`);
  if (replaced > 0) console.error(`(${replaced} connections closed by the server were replaced)`);
}

for (const script of scripts) {
  const count = inProcess ? inProcessInstructions : instructions;
  const a = await count(script, small);
  const b = await count(script, large);
  console.log(
    `${script}: ${Math.round((b - a) / (large - small)).toLocaleString('en')} instructions per request ` +
      `(${small} → ${large} requests after ${warmup}, ${connections} connections)`,
  );
}
