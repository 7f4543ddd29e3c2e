/**
 * Type tests of the io and workers operations: each is a `SwitchOp<T>` (lazy: `yield*`
 * performs it), and `yield*` evaluates to `T`, overloads included (readFile's encoding,
 * runProcess's encoding, request.json<T>(), the server's start() evaluating to the server).
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { SwitchOp } from 'greenlet-ts';
import {
  HttpServer,
  StreamServer,
  appendFile,
  connect,
  copyFile,
  httpFetch,
  readFile,
  readLines,
  runProcess,
  spawnProcess,
  writeFile,
  type ExitStatus,
  type HttpFetchResponse,
  type HttpRequest,
  type HttpResponse,
  type LineReader,
  type ProcessResult,
  type Socket,
  type Subprocess,
} from 'greenlet-ts/io';
import { ClusteredServer, CpuPool, type ClusterWorkerStats, type WorkerHandle } from 'greenlet-ts/workers';
import type { Done } from 'greenlet-ts';

declare const socket: Socket;
declare const request: HttpRequest;
declare const response: HttpResponse;
declare const fetched: HttpFetchResponse;
declare const reader: LineReader;
declare const child: Subprocess;

describe('io operations', () => {
  it('socket operations and connect are operations of what they read', () => {
    expectTypeOf(connect(80)).toEqualTypeOf<SwitchOp<Socket>>();
    expectTypeOf(socket.read()).toEqualTypeOf<SwitchOp<Buffer | null>>();
    expectTypeOf(socket.readExactly(4)).toEqualTypeOf<SwitchOp<Buffer>>();
    expectTypeOf(socket.readLine()).toEqualTypeOf<SwitchOp<string | null>>();
    expectTypeOf(socket.readUntil('\n')).toEqualTypeOf<SwitchOp<Buffer | null>>();
    expectTypeOf(socket.write('x')).toEqualTypeOf<SwitchOp<void>>();
  });

  it("servers' start() evaluates to the server (HttpServer) or nothing (StreamServer)", () => {
    const http = new HttpServer(() => {});
    expectTypeOf(http.start()).toEqualTypeOf<SwitchOp<HttpServer>>();
    expectTypeOf(http.listen()).toEqualTypeOf<SwitchOp<HttpServer>>();
    expectTypeOf(http.serveForever()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(http.stop()).toEqualTypeOf<SwitchOp<void>>();
    const stream = new StreamServer(() => {});
    expectTypeOf(stream.start()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(stream.serveForever()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(stream.stop(100)).toEqualTypeOf<SwitchOp<void>>();
  });

  it('HTTP body reads and writes, and httpFetch', () => {
    expectTypeOf(request.read()).toEqualTypeOf<SwitchOp<Buffer | null>>();
    expectTypeOf(request.body()).toEqualTypeOf<SwitchOp<Buffer>>();
    expectTypeOf(request.text()).toEqualTypeOf<SwitchOp<string>>();
    expectTypeOf(request.json<{ n: number }>()).toEqualTypeOf<SwitchOp<{ n: number }>>();
    expectTypeOf(response.write('x')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(httpFetch('http://127.0.0.1/')).toEqualTypeOf<SwitchOp<HttpFetchResponse>>();
    expectTypeOf(fetched.text()).toEqualTypeOf<SwitchOp<string>>();
    expectTypeOf(fetched.json<number[]>()).toEqualTypeOf<SwitchOp<number[]>>();
    expectTypeOf(fetched.bytes()).toEqualTypeOf<SwitchOp<Buffer>>();
    expectTypeOf(fetched.read()).toEqualTypeOf<SwitchOp<Uint8Array | null>>();
  });

  it('files: readFile is bytes without an encoding and text with one', () => {
    expectTypeOf(readFile('a')).toEqualTypeOf<SwitchOp<Buffer>>();
    expectTypeOf(readFile('a', 'utf8')).toEqualTypeOf<SwitchOp<string>>();
    expectTypeOf(readFile('a', { encoding: 'utf8', timeout: 10 })).toEqualTypeOf<SwitchOp<string>>();
    expectTypeOf(writeFile('a', 'x')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(appendFile('a', 'x')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(copyFile('a', 'b')).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(readLines('a', () => {})).toEqualTypeOf<SwitchOp<number>>();
    expectTypeOf(reader.readLine()).toEqualTypeOf<SwitchOp<string | Done>>();
    expectTypeOf(reader.read()).toEqualTypeOf<SwitchOp<Buffer | Done>>();
  });

  it('processes: runProcess gives text with an encoding', () => {
    expectTypeOf(runProcess('ls')).toEqualTypeOf<SwitchOp<ProcessResult<Buffer>>>();
    expectTypeOf(runProcess('ls', [], { encoding: 'utf8' })).toEqualTypeOf<SwitchOp<ProcessResult<string>>>();
    expectTypeOf(spawnProcess('ls')).toEqualTypeOf<SwitchOp<Subprocess>>();
    expectTypeOf(child.wait()).toEqualTypeOf<SwitchOp<ExitStatus>>();
    expectTypeOf(child.stop()).toEqualTypeOf<SwitchOp<ExitStatus>>();
    expectTypeOf(child.write('x')).toEqualTypeOf<SwitchOp<void>>();
  });
});

describe('workers operations', () => {
  it('pool.run() evaluates to what the worker function returns', () => {
    const pool = new CpuPool<(input: { text: string }) => Promise<number>>({ filename: 'hash.js' });
    expectTypeOf(pool.run({ text: 'a' })).toEqualTypeOf<SwitchOp<number>>();
    expectTypeOf(pool.run<(n: number) => string>(1, { name: 'other' })).toEqualTypeOf<SwitchOp<string>>();
    expectTypeOf(pool.destroy()).toEqualTypeOf<SwitchOp<void>>();
  });

  it("a worker's join() and get(), and the cluster's operations", () => {
    const worker = {} as WorkerHandle<string>;
    expectTypeOf(worker.join()).toEqualTypeOf<SwitchOp<boolean>>();
    expectTypeOf(worker.get()).toEqualTypeOf<SwitchOp<string>>();
    const cluster = {} as ClusteredServer<HttpServer>;
    expectTypeOf(cluster.start()).toEqualTypeOf<SwitchOp<ClusteredServer<HttpServer>>>();
    expectTypeOf(cluster.serveForever()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(cluster.stop()).toEqualTypeOf<SwitchOp<void>>();
    expectTypeOf(cluster.stats()).toEqualTypeOf<SwitchOp<ClusterWorkerStats[]>>();
  });
});
