// The HTTP servers of io.http without the kernel: Node's http server fed by in-memory
// sockets, so that an instruction count (bench/io/http-instructions.ts --in-process) holds
// the JavaScript path of a request and nothing else. Prints what it measured as JSON.
//
//     node bench/io/http-inprocess.mjs KIND REQUESTS [CONNECTIONS (default 1)]
//
// KIND: `plain` (bench/io/http-plain.mjs's handler: the bytes HttpServer sends),
// `plain-chunked` (the same without Content-Length: Node then answers in chunks, as the
// baseline did before 2026-12-07), `floor` (the plain server where each request runs in a
// task of its own, started and run at once with the hub's startNow() as HttpServer does:
// what a task per request costs through our hub), `floor.bare` (the plain server where each
// request runs a bare generator to its end from a three-field record: no hub, no
// switcher, no library; the least a coroutine per request costs) or `greenlet`
// (bench/io/http-greenlet.mjs's HttpServer).
// PRELOAD=a.js,b.js imports those modules of the build first, unused (what loading them
// costs a server); BUNDLE=file.js makes `greenlet` import the library from that one file of
// dist/ instead of dist/index.js and dist/io/index.js (e.g. an esbuild bundle of both): see
// docs/benchmarks-log.md, "What loading the library costs plain node:http".
// With WARMUP=N it first serves N requests, then turns callgrind's instrumentation on for
// the measured requests only (run it under `valgrind --tool=callgrind --instr-atstart=no`).
//
// Every server listens on 127.0.0.1 (port 0), as in io.http, although no request comes
// through the listener: Node tracks a listening server's connections (a list of parsers
// it updates at each request's start and end, to enforce the request and head timeouts),
// about 1,000 instructions per request that a server never started would not pay.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { Duplex } from 'node:stream';

const [kind, requestsArg, connectionsArg] = process.argv.slice(2);
const requests = Number(requestsArg);
const connections = Number(connectionsArg ?? 1);
const warmup = Number(process.env.WARMUP ?? 0);
const dist = new URL('../../dist/', import.meta.url).href;
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');

let server;
let stop;
for (const module of (process.env.PRELOAD ?? '').split(',').filter(Boolean)) await import(`${dist}${module}`);

/** Listen as io.http's servers do (see above), on 127.0.0.1 only. */
function listen(nodeServer) {
  return new Promise((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
}
if (kind === 'plain') {
  server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '11' }).end('hello world');
  });
  await listen(server);
  stop = () => server.close();
} else if (kind === 'plain-chunked') {
  server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('hello world');
  });
  await listen(server);
  stop = () => server.close();
} else if (kind === 'floor') {
  const { Task, getHub } = await import(`${dist}index.js`);
  const hub = getHub();
  server = http.createServer((_request, response) => {
    hub.startNow(
      new Task(() => {
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '11' }).end('hello world');
      }),
    );
  });
  await listen(server);
  stop = () => server.close();
} else if (kind === 'floor.bare') {
  // No hub, no switcher, no library: each request records a generator function and its
  // argument in a three-field record and runs the generator to its end at once, as
  // hub.spawn_join.floor (bench/lifecycle.bench.ts) does for spawn and join: the least a
  // design that runs a coroutine per request can cost. The generator function is made
  // once; a generator function literal inside the handler (a new generator closure per
  // request) costs about twice plain's whole request under V8.
  class BareTask {
    result = undefined;
    constructor(fn, response) {
      this.fn = fn;
      this.response = response;
    }
  }
  function* answer(response) {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '11' }).end('hello world');
    return 1;
  }
  let returned = 0;
  server = http.createServer((_request, response) => {
    const task = new BareTask(answer, response);
    task.result = task.fn(task.response).next().value;
    returned += task.result;
  });
  await listen(server);
  stop = () => {
    if (returned !== answered) throw new Error(`the bare tasks returned ${returned}, not ${answered}`);
    server.close();
  };
} else if (kind === 'greenlet') {
  const { run } = await import(`${dist}${process.env.BUNDLE || 'index.js'}`);
  const { HttpServer } = await import(`${dist}${process.env.BUNDLE || 'io/index.js'}`);
  const greenletServer = new HttpServer((_request, response) => {
    response.send(200, 'hello world');
  });
  // Started (it takes requests only while listening); the requests come through the
  // in-memory sockets below, not through the listener.
  await new Promise((resolve) => run(function* () {
    yield* greenletServer.start();
    resolve();
  }));
  server = greenletServer.nodeServer;
  stop = () => greenletServer.close();
} else {
  throw new Error(`KIND is plain, plain-chunked, floor, floor.bare or greenlet, not ${kind}`);
}

let answered = 0;

/** A connection in memory: the client's requests are pushed in, the server's writes counted. */
class MemorySocket extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  waiting = false;
  constructor() {
    super({ allowHalfOpen: true });
  }
  _read() {}
  _write(chunk, _encoding, callback) {
    this.received(chunk);
    callback();
  }
  _writev(chunks, callback) {
    for (const { chunk } of chunks) this.received(chunk);
    callback();
  }
  /** Each response starts a write of its own (head, or head and body). */
  received(chunk) {
    const start = typeof chunk === 'string' ? chunk.slice(0, 12) : chunk.latin1Slice(0, Math.min(chunk.length, 12));
    if (!start.startsWith('HTTP/1.1 ')) return;
    if (start !== 'HTTP/1.1 200') throw new Error(`not 200: ${start}`);
    answered++;
    this.waiting = false;
  }
  setTimeout() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {}
  unref() {}
  destroySoon() {
    this.destroy();
  }
}

const sockets = Array.from({ length: connections }, () => {
  const socket = new MemorySocket();
  server.emit('connection', socket);
  return socket;
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Send `count` requests, one in flight per connection, and wait for every answer. */
async function serve(count) {
  const until = answered + count;
  let sent = 0;
  while (sent < count) {
    for (const socket of sockets) {
      if (socket.waiting || sent === count) continue;
      socket.waiting = true;
      sent++;
      socket.push(REQUEST);
    }
    await turn();
  }
  while (answered < until) await turn();
}

if (warmup > 0) {
  await serve(warmup);
  execFileSync('callgrind_control', ['--instr=on', String(process.pid)], { stdio: 'ignore' });
}
const started = process.hrtime.bigint();
const cpu = process.cpuUsage();
await serve(requests);
if (warmup > 0) execFileSync('callgrind_control', ['--instr=off', String(process.pid)], { stdio: 'ignore' });
const elapsed = Number(process.hrtime.bigint() - started);
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ kind, requests, nsPerRequest: Math.round(elapsed / requests), cpuNsPerRequest: Math.round(((used.user + used.system) * 1000) / requests) }));
for (const socket of sockets) socket.destroy();
stop();
