/**
 * io/server: StreamServer, a task per connection, with real `node:net` clients (through
 * `connect()`). Behaviours from gevent's src/gevent/tests/test__server.py (TestDefaultSpawn,
 * TestPoolSpawn) and test__example_echoserver.py, cited per test.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlockingError,
  Event,
  GreenletExit,
  Pool,
  Queue,
  getHub,
  printReport,
  sleep,
  spawn,
  type GreenletBody,
  type HubReport,
} from 'greenlet-ts';
import { StreamServer, type Address } from '../../src/io/server.js';
import { connect, type Socket } from '../../src/io/socket.js';
import { settledHandles, tcpHandles } from './handles.js';
import { runBounded, until } from './bounded.js';

// --- what every test leaves behind ----------------------------------------------------------

let reports: HubReport[] = [];
let handlesBefore = 0;
let liveBefore = 0;
const servers: StreamServer[] = [];

beforeEach(() => {
  reports = [];
  getHub().reporter = (report) => reports.push(report);
  handlesBefore = tcpHandles();
  liveBefore = getHub().liveCount;
});

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stopAsync(0);
  getHub().reporter = printReport;
  expect(getHub().timers.size).toBe(0);
  expect(getHub().liveCount).toBe(liveBefore);
  expect(await settledHandles(handlesBefore)).toBe(handlesBefore);
});

/** A server that tests stop themselves; afterEach stops it if a test failed half-way. */
function serve(handler: ConstructorParameters<typeof StreamServer>[0], options?: ConstructorParameters<typeof StreamServer>[1]): StreamServer {
  const server = new StreamServer(handler, options);
  servers.push(server);
  return server;
}

function* echo(socket: Socket): GreenletBody<void> {
  for (let line; (line = yield* socket.readLine()) !== null; ) yield* socket.write(`${line}\n`);
}

/** Connect, send each line and read its answer; evaluates to the answers. */
function* client(port: number, lines: string[]): GreenletBody<(string | null)[]> {
  using socket = yield* connect(port);
  const answers: (string | null)[] = [];
  for (const line of lines) {
    yield* socket.write(`${line}\n`);
    answers.push(yield* socket.readLine());
  }
  return answers;
}

/** Whether connecting now is refused. */
function* refused(port: number): GreenletBody<boolean> {
  try {
    using _ = yield* connect(port);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

// --- starting and stopping ------------------------------------------------------------------------

describe('start and stop', () => {
  it('listens on 127.0.0.1 and an ephemeral port, serves, and refuses connections once stopped (test__server.py::TestDefaultSpawn::test_subclass_with_address)', async () => {
    const server = serve(echo);
    const got = await runBounded(function* () {
      const before = { started: server.started, closed: server.closed, port: server.address.port };
      const wasRefused = yield* refused(1); // nothing of ours listens there
      yield* server.start();
      const during = { started: server.started, address: server.address };
      const answers = yield* client(server.address.port, ['ping', 'pong']);
      yield* server.stop();
      return { before, wasRefused, during, answers, after: { started: server.started, closed: server.closed }, refused: yield* refused(server.address.port) };
    });
    expect(got.before).toEqual({ started: false, closed: false, port: 0 });
    expect(got.wasRefused).toBe(true);
    expect(got.during.started).toBe(true);
    expect(got.during.address.host).toBe('127.0.0.1');
    expect(got.during.address.port).toBeGreaterThan(0);
    expect(got.answers).toEqual(['ping', 'pong']);
    expect(got.after).toEqual({ started: false, closed: true });
    expect(got.refused).toBe(true);
    expect(server.connections).toBe(0);
  });

  it('listen() and stopAsync() serve the same from async code', async () => {
    const server = serve(echo);
    await server.listen();
    const answers = await runBounded(client, server.address.port, ['from async']);
    await server.stopAsync();
    expect(answers).toEqual(['from async']);
    expect(server.closed).toBe(true);
  });

  it('`await using` stops the server at the end of the block', async () => {
    let port = 0;
    {
      await using server = new StreamServer(echo);
      await server.listen();
      port = server.address.port;
      expect(await runBounded(client, port, ['in the block'])).toEqual(['in the block']);
    }
    expect(await runBounded(refused, port)).toBe(true);
  });

  it('serveForever() blocks its task until stop() is called elsewhere (test__server.py::TestDefaultSpawn::test_serve_forever)', async () => {
    const server = serve(echo);
    const got = await runBounded(function* () {
      const forever = spawn(() => server.serveForever());
      yield* until(() => server.started);
      const answers = yield* client(server.address.port, ['hi']);
      const stillServing = !forever.ready();
      yield* server.stop();
      yield* forever.get();
      return { answers, stillServing, started: server.started };
    });
    expect(got).toEqual({ answers: ['hi'], stillServing: true, started: false });
  });

  it('serveForever() after start() waits the same (test__server.py::TestDefaultSpawn::test_serve_forever_after_start)', async () => {
    const server = serve(echo);
    const got = await runBounded(function* () {
      yield* server.start();
      const forever = spawn(() => server.serveForever());
      yield* sleep(0);
      const waiting = !forever.ready();
      yield* server.stop();
      yield* forever.join();
      return { waiting, ended: forever.successful() };
    });
    expect(got).toEqual({ waiting: true, ended: true });
  });

  it('killing the task in serveForever() stops the server', async () => {
    const server = serve(echo);
    const closed = await runBounded(function* () {
      const forever = spawn(() => server.serveForever());
      yield* until(() => server.started);
      yield* forever.kill();
      return server.closed && !server.started;
    });
    expect(closed).toBe(true);
  });

  it('raises the listen error, such as EADDRINUSE', async () => {
    const first = serve(echo);
    await first.listen();
    const second = serve(echo, { port: first.address.port });
    await expect(second.listen()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(second.closed).toBe(true);
    await first.stopAsync();
  });

  it('starts once: a second start is refused with a message', async () => {
    const server = serve(echo);
    await server.listen();
    await expect(server.listen()).rejects.toThrow(/was already started: a server starts once/);
    await server.stopAsync();
  });

  it('refuses an async handler, which could not block, and says what to write instead', () => {
    expect(() => new StreamServer(async () => {})).toThrow(/StreamServer's handler is async.*generator function/);
  });

  it('refuses to block in the main greenlet', () => {
    const server = new StreamServer(echo);
    expect(() => server.start()).toThrow(BlockingError);
    expect(() => server.stop()).toThrow(/server\.stop\(\) blocks.*main greenlet/);
  });
});

// --- connections ------------------------------------------------------------------------------------

describe('connections', () => {
  it('runs each connection in its own task, concurrently (test__example_echoserver.py)', async () => {
    const server = serve(echo);
    await server.listen();
    const answers = await runBounded(function* () {
      const clients = ['a', 'b', 'c'].map((name) => spawn(client, server.address.port, [`${name}1`, `${name}2`]));
      const out: (string | null)[][] = [];
      for (const c of clients) out.push(yield* c.get());
      return out;
    });
    await server.stopAsync();
    expect(answers).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
      ['c1', 'c2'],
    ]);
  });

  it("passes the peer's address to the handler", async () => {
    const seen = new Queue<Address>();
    const server = serve(function* (_socket, address) {
      yield* seen.put(address);
    });
    await server.listen();
    const got = await runBounded(function* () {
      const socket = yield* connect(server.address.port);
      const address = yield* seen.get();
      const local = socket.localPort;
      socket.close();
      return { address, local };
    });
    await server.stopAsync();
    expect(got.address).toEqual({ host: '127.0.0.1', port: got.local });
  });

  it('closes the socket when the handler returns, also for a plain function (test__server.py::TestDefaultSpawn::test_server_closes_client_sockets)', async () => {
    const server = serve(() => undefined);
    await server.listen();
    const got = await runBounded(function* () {
      using socket = yield* connect(server.address.port);
      return yield* socket.read();
    });
    await server.stopAsync();
    expect(got).toBeNull();
  });

  it('reports a handler that throws, naming the connection, and keeps serving', async () => {
    const server = serve(function* (socket) {
      const line = yield* socket.readLine();
      if (line === 'boom') throw new Error('the handler failed');
      yield* socket.write(`${line}\n`);
    });
    await server.listen();
    const got = await runBounded(function* () {
      const socket = yield* connect(server.address.port);
      const local = socket.localPort;
      yield* socket.write('boom\n');
      const answer = yield* socket.read();
      socket.close();
      return { local, answer, after: yield* client(server.address.port, ['still here']) };
    });
    await server.stopAsync();
    expect(got.answer).toBeNull();
    expect(got.after).toEqual(['still here']);
    expect(reports).toHaveLength(1);
    const report = reports[0] as Extract<HubReport, { kind: 'task-error' }>;
    expect(report.kind).toBe('task-error');
    expect(report.error).toEqual(new Error('the handler failed'));
    expect(report.task.name).toBe(`StreamServer(127.0.0.1:${server.address.port}) connection from 127.0.0.1:${got.local}`);
    reports.length = 0;
  });

  it('reports a handler that uses its socket after closing it: SocketClosed is quiet only while the server stops', async () => {
    const server = serve(function* (socket) {
      socket.close();
      yield* socket.write('too late\n');
    });
    await server.listen();
    const answer = await runBounded(function* () {
      using socket = yield* connect(server.address.port);
      return yield* socket.read();
    });
    await server.stopAsync();
    expect(answer).toBeNull();
    expect(reports).toHaveLength(1);
    expect(String((reports[0] as Extract<HubReport, { kind: 'task-error' }>).error)).toMatch(
      /^SocketClosed: Socket\(127\.0\.0\.1:\d+\)\.write\(\): the socket was closed/,
    );
    reports.length = 0;
  });

  it('disconnects a silent client after idleTimeout, quietly', async () => {
    const server = serve(echo, { idleTimeout: 30 });
    await server.listen();
    const got = await runBounded(function* () {
      using socket = yield* connect(server.address.port);
      return yield* socket.read();
    });
    await server.stopAsync();
    expect(got).toBeNull();
    expect(reports).toEqual([]);
  });
});

// --- bounding the work --------------------------------------------------------------------------------

describe('a pool bounds the handlers', () => {
  /** A handler that announces itself, reads a line, and answers once `gate` is set. */
  function gated(started: Queue<string>, gate: Event) {
    return function* (socket: Socket): GreenletBody<void> {
      const line = (yield* socket.readLine()) as string;
      yield* started.put(line);
      yield* gate.wait();
      yield* socket.write(`${line} done\n`);
    };
  }

  it('runs at most pool.capacity handlers at once; the others wait, then are served in order (test__server.py::TestPoolSpawn::test_pool_full)', async () => {
    const started = new Queue<string>();
    const gate = new Event();
    const server = serve(gated(started, gate), { pool: 2 });
    await server.listen();
    const got = await runBounded(function* () {
      const clients = ['a', 'b', 'c'].map((name) => spawn(client, server.address.port, [name]));
      const first = [yield* started.get(), yield* started.get()];
      yield* until(() => server.connections === 3);
      for (let i = 0; i < 5; i++) yield* sleep(1);
      const runningWhileFull = { pool: server.pool?.size, startedSoFar: 2 + started.size };
      gate.set();
      const answers: (string | null)[][] = [];
      for (const c of clients) answers.push(yield* c.get());
      return { first: first.sort(), runningWhileFull, third: yield* started.get(), answers };
    });
    await server.stopAsync();
    expect(got.first).toEqual(['a', 'b']);
    expect(got.runningWhileFull).toEqual({ pool: 2, startedSoFar: 2 });
    expect(got.third).toBe('c');
    expect(got.answers).toEqual([['a done'], ['b done'], ['c done']]);
  });

  it('closes connections at once when the waiting room of a full pool is full', async () => {
    const started = new Queue<string>();
    const gate = new Event();
    const pool = new Pool(1);
    const server = serve(gated(started, gate), { pool, backlog: 1 });
    await server.listen();
    const got = await runBounded(function* () {
      const served = spawn(client, server.address.port, ['served']);
      yield* started.get();
      const waiting = spawn(client, server.address.port, ['waiting']);
      yield* until(() => server.connections === 2);
      const rejected = yield* client(server.address.port, ['rejected']);
      const count = server.rejected;
      gate.set();
      return { rejected, count, served: yield* served.get(), waiting: yield* waiting.get() };
    });
    await server.stopAsync();
    expect(got.rejected).toEqual([null]);
    expect(got.count).toBe(1);
    expect(got.served).toEqual(['served done']);
    expect(got.waiting).toEqual(['waiting done']);
    expect(pool.size).toBe(0);
  });

  it('closes connections beyond maxConnections at once', async () => {
    const started = new Queue<string>();
    const gate = new Event();
    const server = serve(gated(started, gate), { maxConnections: 2 });
    await server.listen();
    const got = await runBounded(function* () {
      const kept = ['a', 'b'].map((name) => spawn(client, server.address.port, [name]));
      yield* started.get();
      yield* started.get();
      const third = yield* client(server.address.port, ['c']);
      gate.set();
      const answers: (string | null)[][] = [];
      for (const c of kept) answers.push(yield* c.get());
      return { third, answers, rejected: server.rejected, accepted: server.accepted };
    });
    await server.stopAsync();
    expect(got.third).toEqual([null]);
    expect(got.answers).toEqual([['a done'], ['b done']]);
    expect(got.rejected).toBe(1);
    expect(got.accepted).toBe(3);
  });
});

// --- graceful stop ----------------------------------------------------------------------------------

describe('stop(graceMs)', () => {
  it('lets a handler that finishes within the grace period answer', async () => {
    const started = new Event();
    const server = serve(function* (socket) {
      yield* socket.readLine();
      started.set();
      yield* sleep(30);
      yield* socket.write('finished\n');
    });
    await server.listen();
    const got = await runBounded(function* () {
      const c = spawn(client, server.address.port, ['work']);
      yield* started.wait();
      yield* server.stop(5000);
      return yield* c.get();
    });
    expect(got).toEqual(['finished']);
  });

  it('kills a handler still running after the grace period, runs its finally, and closes its socket', async () => {
    const cleanedUp = new Event();
    let exit: unknown = null;
    const server = serve(function* (socket) {
      try {
        yield* socket.readLine(); // the client never sends a line
      } catch (e) {
        exit = e;
        throw e;
      } finally {
        cleanedUp.set();
      }
    });
    await server.listen();
    const got = await runBounded(function* () {
      const socket = yield* connect(server.address.port);
      yield* until(() => server.connections === 1);
      const reading = spawn(function* () {
        return yield* socket.read();
      });
      const t0 = performance.now();
      yield* server.stop(50);
      const took = performance.now() - t0;
      const seen = yield* reading.get();
      socket.close();
      return { took, seen, cleanedUp: cleanedUp.isSet(), connections: server.connections };
    });
    expect(exit).toBeInstanceOf(GreenletExit);
    expect(got.cleanedUp).toBe(true);
    expect(got.seen).toBeNull();
    expect(got.took).toBeGreaterThanOrEqual(45);
    expect(got.took).toBeLessThan(1000);
    expect(got.connections).toBe(0);
  });

  it('reports an error a killed handler raises in its finally, naming the connection, and still stops', async () => {
    const cleanupFailed = new Error('cleanup failed');
    const server = serve(function* (socket) {
      try {
        yield* socket.readLine(); // the client never sends a line
      } finally {
        // eslint-disable-next-line no-unsafe-finally
        throw cleanupFailed;
      }
    });
    await server.listen();
    await runBounded(function* () {
      const socket = yield* connect(server.address.port);
      yield* until(() => server.connections === 1);
      yield* server.stop(0);
      socket.close();
      yield* sleep(5); // the hub reports a failure nobody took one event-loop turn later
    });
    expect(server.connections).toBe(0);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'task-error', error: cleanupFailed });
    expect((reports[0] as { task: { name: string } }).task.name).toMatch(/^StreamServer\(127\.0\.0\.1:\d+\) connection from 127\.0\.0\.1:\d+$/);
  });

  it('a second stop() waits for the first to finish', async () => {
    const server = serve(echo);
    await server.listen();
    const order = await runBounded(function* () {
      const socket = yield* connect(server.address.port);
      yield* until(() => server.connections === 1);
      const out: string[] = [];
      const first = spawn(function* () {
        yield* server.stop(30);
        out.push('first');
      });
      yield* sleep(0);
      yield* server.stop();
      out.push('second');
      yield* first.join();
      socket.close();
      return out;
    });
    expect(order).toEqual(['first', 'second']);
  });

  it('a handler may stop its own server: it is neither waited for nor killed', async () => {
    let handlerFinished = false;
    const server = serve(function* (socket) {
      const line = yield* socket.readLine();
      if (line === 'shutdown') {
        yield* server.stop(100);
        handlerFinished = true;
      }
    });
    await server.listen();
    const got = await runBounded(function* () {
      using socket = yield* connect(server.address.port);
      yield* socket.write('shutdown\n');
      const answer = yield* socket.read(); // the stop closes this connection too
      yield* until(() => handlerFinished);
      return { answer, closed: server.closed, refused: yield* refused(server.address.port) };
    });
    expect(got).toEqual({ answer: null, closed: true, refused: true });
  });

  it('stopping a server that never started closes it', async () => {
    const server = serve(echo);
    await runBounded(function* () {
      yield* server.stop();
    });
    expect(server.closed).toBe(true);
    await expect(server.listen()).rejects.toThrow(/already stopped/);
  });
});

describe('accepted sockets', () => {
  it('are not read until their handler runs (pauseOnConnect): the bytes wait in the kernel', async () => {
    const gate = new Event();
    const started = new Queue<string>();
    const server = serve(
      function* (socket) {
        const line = (yield* socket.readLine()) as string;
        yield* started.put(line);
        yield* gate.wait();
        yield* socket.write(`${line}\n`);
      },
      { pool: 1 },
    );
    await server.listen();
    const got = await runBounded(function* () {
      const first = spawn(client, server.address.port, ['one']);
      yield* started.get();
      const raw = net.connect(server.address.port, '127.0.0.1');
      raw.write('two\n');
      yield* until(() => server.connections === 2);
      gate.set();
      const answers = yield* first.get();
      const second = yield* started.get();
      raw.destroy();
      return { answers, second };
    });
    await server.stopAsync();
    expect(got).toEqual({ answers: ['one'], second: 'two' });
  });
});
