/**
 * io operations are lazy: one made without `yield*` does nothing (no connection opened, no
 * byte read or written, no server listening or stopping, no request sent, no file or child
 * process touched), and the task that made it fails with a MissingYieldError naming it at
 * its next operation, while a bystander task that was ready runs to its end.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BlockingError, DONE, sleep, waitFor, type GreenletBody } from 'greenlet-ts';
import { appendFile, copyFile, readFile, readLines, writeFile } from '../../src/io/files.js';
import { HttpServer, httpFetch, type HttpFetchResponse, type HttpRequest, type HttpResponse } from '../../src/io/http.js';
import { LineReader } from '../../src/io/line-reader.js';
import { runProcess, spawnProcess } from '../../src/io/process.js';
import { StreamServer } from '../../src/io/server.js';
import { Socket, connect } from '../../src/io/socket.js';
import { expectMissingYield, slipBeside } from '../slip.js';
import { runBounded, until } from './bounded.js';
import { checkEachTest, nodeRequest } from './http-helpers.js';

checkEachTest();

/** Active Node resources of these kinds: a request or handle an operation would have started. */
function resources(...kinds: string[]): number {
  return process.getActiveResourcesInfo().filter((r) => kinds.includes(r)).length;
}

// --- sockets ----------------------------------------------------------------------------------

/** A plain node:net peer that counts its connections and hands them out. */
interface Peer {
  readonly port: number;
  readonly connections: net.Socket[];
  close(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const connections: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    connections.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: async () => {
      for (const s of connections) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connect to the peer; evaluates to our socket and the peer's side of it. */
function* connected(peer: Peer): GreenletBody<[Socket, net.Socket]> {
  const before = peer.connections.length;
  const socket = yield* connect(peer.port);
  yield* until(() => peer.connections.length > before, 'the peer to accept the connection');
  return [socket, peer.connections[before] as net.Socket];
}

/** Wait until `socket` has buffered `n` bytes from the peer. */
function* buffered(socket: Socket, n: number): GreenletBody<void> {
  yield* until(() => socket.bufferedLength >= n, `${n} bytes from the peer`);
}

describe('sockets', () => {
  let peer: Peer;
  beforeEach(async () => {
    peer = await startPeer();
  });
  afterEach(() => peer.close());

  it('connect() made without yield* opens no connection, and names itself', async () => {
    const { error, accepted } = await runBounded(function* () {
      const error = yield* slipBeside(() => {
        const handles = resources('TCPSocketWrap', 'TCPConnectWrap');
        connect(peer.port);
        expect(resources('TCPSocketWrap', 'TCPConnectWrap')).toBe(handles);
      });
      const before = peer.connections.length;
      const [socket] = yield* connected(peer); // a real one: only it arrives
      socket.close();
      return { error, accepted: peer.connections.length - before };
    });
    expectMissingYield(error, 'connect()');
    expect(accepted).toBe(1);
  });

  it.each([
    ['socket.readLine()', (s: Socket) => s.readLine()],
    ['socket.read()', (s: Socket) => s.read()],
    ['socket.readExactly()', (s: Socket) => s.readExactly(4)],
    ['socket.readUntil()', (s: Socket) => s.readUntil('\n')],
  ])('%s made without yield* takes no byte from the buffer', async (name, read) => {
    const { error, bufferedAtSlip, line } = await runBounded(function* () {
      const [socket, other] = yield* connected(peer);
      other.write('one\ntwo\n');
      yield* buffered(socket, 8);
      let bufferedAtSlip = -1;
      const error = yield* slipBeside(() => {
        read(socket);
        bufferedAtSlip = socket.bufferedLength;
      });
      const line = yield* socket.readLine();
      socket.close();
      return { error, bufferedAtSlip, line };
    });
    expectMissingYield(error, name);
    expect(bufferedAtSlip).toBe(8);
    expect(line).toBe('one');
  });

  it('socket.write() made without yield* sends nothing', async () => {
    const { error, received } = await runBounded(function* () {
      const [socket, other] = yield* connected(peer);
      const chunks: Buffer[] = [];
      other.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise((resolve) => other.once('end', resolve));
      const error = yield* slipBeside(() => {
        socket.write('lost\n');
        expect(socket.raw.writableLength + socket.raw.bytesWritten).toBe(0);
      });
      yield* socket.write('kept\n');
      socket.end();
      yield* waitFor(ended);
      socket.close();
      return { error, received: Buffer.concat(chunks).toString() };
    });
    expectMissingYield(error, 'socket.write()');
    expect(received).toBe('kept\n');
  });
});

// --- servers -----------------------------------------------------------------------------------

describe('StreamServer', () => {
  it('server.start() and server.serveForever() made without yield* listen on nothing', async () => {
    const errors = await runBounded(function* () {
      const server = new StreamServer(() => {});
      const errors: unknown[] = [];
      for (const make of [() => server.start(), () => server.serveForever()]) {
        errors.push(
          yield* slipBeside(() => {
            const handles = resources('TCPServerWrap');
            make();
            expect(server.started).toBe(false);
            expect(resources('TCPServerWrap')).toBe(handles);
          }),
        );
      }
      yield* server.stop();
      return errors;
    });
    expectMissingYield(errors[0], 'server.start()');
    expectMissingYield(errors[1], 'server.serveForever()');
  });

  it('server.stop() made without yield* leaves the server serving', async () => {
    const { error, answer } = await runBounded(function* () {
      const server = new StreamServer(function* (socket) {
        yield* socket.write(`${yield* socket.readLine()}\n`);
      });
      yield* server.start();
      const error = yield* slipBeside(() => {
        server.stop();
        expect(server.closed).toBe(false);
      });
      expect(server.started).toBe(true);
      const socket = yield* connect(server.address.port);
      yield* socket.write('still here\n');
      const answer = yield* socket.readLine();
      socket.close();
      yield* server.stop();
      return { error, answer };
    });
    expectMissingYield(error, 'server.stop()');
    expect(answer).toBe('still here');
  });
});

describe('HttpServer', () => {
  it('server.start(), server.listen() and server.serveForever() made without yield* listen on nothing', async () => {
    const errors = await runBounded(function* () {
      const server = new HttpServer((_request, response) => response.send(200, 'ok'));
      const errors: unknown[] = [];
      for (const make of [() => server.start(), () => server.listen(), () => server.serveForever()]) {
        errors.push(
          yield* slipBeside(() => {
            const handles = resources('TCPServerWrap');
            make();
            expect(server.started).toBe(false);
            expect(server.port).toBe(0);
            expect(resources('TCPServerWrap')).toBe(handles);
          }),
        );
      }
      yield* server.stop();
      return errors;
    });
    expectMissingYield(errors[0], 'server.start()');
    expectMissingYield(errors[1], 'server.listen()');
    expectMissingYield(errors[2], 'server.serveForever()');
  });

  it('server.stop() made without yield* leaves the server serving', async () => {
    await runBounded(function* () {
      const server = yield* new HttpServer((_request, response) => response.send(200, 'ok')).start();
      const error = yield* slipBeside(() => {
        server.stop();
        expect(server.stopped).toBe(false);
      });
      expectMissingYield(error, 'server.stop()');
      expect(server.started).toBe(true);
      const answer = yield* waitFor(nodeRequest(`${server.url}/`));
      expect(answer.body).toBe('ok');
      yield* server.stop();
    });
  });

  /** A server whose handler makes `slip` with the request and the response, then echoes the body. */
  function* echoAfterSlip(slip: (request: HttpRequest, response: HttpResponse) => void): GreenletBody<{ error: unknown; body: string }> {
    let error: unknown = null;
    const server = yield* new HttpServer(function* (request, response) {
      error = yield* slipBeside(() => slip(request, response));
      response.end(`body: ${yield* request.text()}`);
    }).start();
    const answer = yield* waitFor(nodeRequest(`${server.url}/`, { method: 'POST', body: 'all of it' }));
    yield* server.stop();
    return { error, body: answer.body };
  }

  it.each([
    ['request.read()', (r: HttpRequest) => r.read()],
    ['request.body()', (r: HttpRequest) => r.body()],
    ['request.text()', (r: HttpRequest) => r.text()],
    ['request.json()', (r: HttpRequest) => r.json()],
  ])('%s made without yield* reads no byte of the body', async (name, read) => {
    const { error, body } = await runBounded(() =>
      echoAfterSlip((request) => {
        read(request);
        expect(request.bytesRead).toBe(0);
      }),
    );
    expectMissingYield(error, name);
    expect(body).toBe('body: all of it');
  });

  it('response.write() made without yield* sends nothing', async () => {
    const { error, body } = await runBounded(() =>
      echoAfterSlip((_request, response) => {
        response.write('lost ');
        expect(response.headersSent).toBe(false);
      }),
    );
    expectMissingYield(error, 'response.write()');
    expect(body).toBe('body: all of it');
  });
});

describe('httpFetch', () => {
  it('httpFetch() made without yield* sends no request', async () => {
    await runBounded(function* () {
      let requests = 0;
      const server = yield* new HttpServer((_request, response) => {
        requests++;
        response.send(200, 'hello');
      }).start();
      const error = yield* slipBeside(() => {
        httpFetch(`${server.url}/`);
      });
      expectMissingYield(error, 'httpFetch()');
      const res = yield* httpFetch(`${server.url}/`); // a real one: only it arrives
      expect(yield* res.text()).toBe('hello');
      expect(requests).toBe(1);
      yield* server.stop();
    });
  });

  it.each([
    ['response.text()', (r: HttpFetchResponse) => r.text()],
    ['response.json()', (r: HttpFetchResponse) => r.json()],
    ['response.bytes()', (r: HttpFetchResponse) => r.bytes()],
    ['response.read()', (r: HttpFetchResponse) => r.read()],
  ])('%s made without yield* leaves the body unread', async (name, read) => {
    await runBounded(function* () {
      const server = yield* new HttpServer((_request, response) => response.send(200, { hello: 'world' })).start();
      const res = yield* httpFetch(`${server.url}/`);
      const error = yield* slipBeside(() => {
        read(res);
        expect(res.raw.bodyUsed).toBe(false);
        expect(res.raw.body?.locked).toBe(false);
      });
      expectMissingYield(error, name);
      expect(yield* res.json()).toEqual({ hello: 'world' });
      yield* server.stop();
    });
  });
});

// --- line readers, files, processes ---------------------------------------------------------------

describe('LineReader', () => {
  it.each([
    ['reader.readLine()', (r: LineReader) => r.readLine()],
    ['reader.read()', (r: LineReader) => r.read()],
  ])('%s made without yield* takes nothing from the stream', async (name, read) => {
    const { error, bytesRead, line } = await runBounded(function* () {
      using reader = new LineReader(Readable.from([Buffer.from('first\nsecond\n')]));
      let bytesRead = -1;
      const error = yield* slipBeside(() => {
        read(reader);
        bytesRead = reader.bytesRead;
      });
      return { error, bytesRead, line: yield* reader.readLine() };
    });
    expectMissingYield(error, name);
    expect(bytesRead).toBe(0);
    expect(line).toBe('first');
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greenlet-ts-missing-yield-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const FS_REQUESTS = ['FSReqPromise', 'FSReqCallback'];

  it.each([
    ['readFile()', (p: string) => readFile(p)],
    ['writeFile()', (p: string) => writeFile(p, 'lost')],
    ['appendFile()', (p: string) => appendFile(p, 'lost')],
    ['copyFile()', (p: string) => copyFile(p, `${p}.copy`)],
    ['readLines()', (p: string) => readLines(p, () => expect.unreachable('no line is read'))],
  ])('%s made without yield* starts no file system call', async (name, make) => {
    const p = path.join(dir, `${name.replace('()', '')}.txt`);
    fs.writeFileSync(p, 'kept\n');
    const error = await runBounded(() =>
      slipBeside(() => {
        const requests = resources(...FS_REQUESTS);
        make(p);
        expect(resources(...FS_REQUESTS)).toBe(requests);
      }),
    );
    expectMissingYield(error, name);
    expect(fs.readFileSync(p, 'utf8')).toBe('kept\n');
    expect(fs.existsSync(`${p}.copy`)).toBe(false);
  });
});

describe('processes', () => {
  it.each([
    ['spawnProcess()', () => spawnProcess('true')],
    ['runProcess()', () => runProcess('true')],
  ])('%s made without yield* starts no child', async (name, make) => {
    const error = await runBounded(() =>
      slipBeside(() => {
        const children = resources('ProcessWrap');
        make();
        expect(resources('ProcessWrap')).toBe(children);
      }),
    );
    expectMissingYield(error, name);
  });

  it('child.write() made without yield* writes nothing to the child', async () => {
    const { error, lines } = await runBounded(function* () {
      const child = yield* spawnProcess('cat', [], { stderr: 'ignore' });
      const error = yield* slipBeside(() => {
        child.write('lost\n');
      });
      yield* child.write('kept\n');
      child.closeInput();
      const lines: string[] = [];
      for (let line; (line = yield* child.stdout!.readLine()) !== DONE; ) lines.push(line);
      yield* child.wait();
      return { error, lines };
    });
    expectMissingYield(error, 'child.write()');
    expect(lines).toEqual(['kept']);
  });

  it('child.stop() and child.wait() made without yield* leave the child running', async () => {
    const { errors, status } = await runBounded(function* () {
      const child = yield* spawnProcess('sleep', ['30'], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
      const errors: unknown[] = [];
      for (const make of [() => child.stop(), () => child.wait()]) {
        errors.push(
          yield* slipBeside(() => {
            make();
            expect(child.exitStatus).toBe(null);
          }),
        );
        expect(() => process.kill(child.pid, 0)).not.toThrow(); // still running
      }
      return { errors, status: yield* child.stop() };
    });
    expectMissingYield(errors[0], 'child.stop()');
    expectMissingYield(errors[1], 'child.wait()');
    expect(status.signal).toBe('SIGTERM');
  });
});

describe('from plain code, and after the error', () => {
  it('each io operation made outside a task is a BlockingError naming it, and does nothing', () => {
    const handles = resources('TCPSocketWrap', 'TCPConnectWrap', 'ProcessWrap', 'FSReqPromise');
    expect(() => connect(1)).toThrow(/^connect\(\) blocks/);
    expect(() => readFile('/nonexistent')).toThrow(BlockingError);
    expect(() => spawnProcess('true')).toThrow(/^spawnProcess\(\) blocks/);
    expect(() => httpFetch('http://127.0.0.1:1/')).toThrow(/^httpFetch\(\) blocks/);
    expect(resources('TCPSocketWrap', 'TCPConnectWrap', 'ProcessWrap', 'FSReqPromise')).toBe(handles);
  });

  it('a task can go on after catching the error: the operation is not left pending', async () => {
    const { caught, line } = await runBounded(function* () {
      using reader = new LineReader(Readable.from(['only line\n']));
      let caught: unknown = null;
      try {
        reader.readLine();
        yield* sleep(0);
      } catch (e) {
        caught = e;
      }
      return { caught, line: yield* reader.readLine() };
    });
    expectMissingYield(caught, 'reader.readLine()');
    expect(line).toBe('only line');
  });
});
