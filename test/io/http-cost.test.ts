/**
 * io/http: what a request costs the hub. A request that its handler answers at once runs
 * in Node's request callback, in one pass of the hub, and asks for no microtask (bench/io:
 * over TCP each request arrives in a callback of its own, so a second, empty pass per
 * request was a cost that in-process counts batching 50 requests per turn did not show).
 */
import type net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { getHub, getcurrent, sleep, type Task } from 'greenlet-ts';
import { waitFor } from '../../src/interop/wait.js';
import { HttpServer } from '../../src/io/http.js';
import { checkEachTest, nodeRequest, rawConnect } from './http-helpers.js';
import { runBounded } from './bounded.js';

checkEachTest();

const REQUESTS = 20;

/**
 * From plain code (no task): send `count` requests one after the other on `socket`, each
 * once the previous answer came, and count the hub's passes and the microtasks asked for
 * between the first request and the last answer.
 */
async function sequentialRequests(socket: net.Socket, count: number): Promise<{ answers: number; passes: number; microtasks: number }> {
  const hub = getHub();
  let answers = 0;
  let received = '';
  const queued = vi.spyOn(globalThis, 'queueMicrotask');
  const before = hub.passes;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
        const complete = received.split('hello world').length - 1;
        if (complete === answers) return;
        answers = complete;
        if (answers === count) resolve();
        else socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
      });
      socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    });
    return { answers, passes: hub.passes - before, microtasks: queued.mock.calls.length };
  } finally {
    queued.mockRestore();
  }
}

describe('HttpServer: what a request costs the hub', () => {
  it('answers each request of a keep-alive connection in one pass of the hub, and asks for no microtask', async () => {
    const counts = await runBounded(function* () {
      const server = yield* new HttpServer((_request, response) => response.send(200, 'hello world')).start();
      const socket = yield* waitFor(rawConnect(server.port));
      try {
        return yield* waitFor(sequentialRequests(socket, REQUESTS));
      } finally {
        socket.destroy();
        yield* server.stop(0);
      }
    });
    expect(counts).toEqual({ answers: REQUESTS, passes: REQUESTS, microtasks: 0 });
  });

  it('keeps the request\'s task among the hub\'s live tasks while its handler runs and waits, and not after', async () => {
    const seen = await runBounded(function* () {
      let task: Task | null = null;
      const listed: boolean[] = [];
      const server = yield* new HttpServer(function* (_request, response) {
        task = getcurrent() as Task;
        listed.push(getHub().liveTasks().includes(task));
        yield* sleep(1);
        listed.push(getHub().liveTasks().includes(task));
        response.send(200, 'hello world');
      }).start();
      try {
        const answer = yield* waitFor(nodeRequest(`http://127.0.0.1:${server.port}/`));
        expect(answer.body).toBe('hello world');
        yield* sleep(1);
        listed.push(getHub().liveTasks().includes(task as unknown as Task));
        return listed;
      } finally {
        yield* server.stop(0);
      }
    });
    expect(seen).toEqual([true, true, false]);
  });
});
