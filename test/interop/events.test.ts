import { EventEmitter, getEventListeners } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  BlockingError,
  GreenletExit,
  Timeout,
  run,
  sleep,
  spawn,
  withTimeout,
} from 'greenlet-ts';
import { once } from '../../src/interop/events.js';
import { waitFor } from '../../src/interop/wait.js';
import { expectCleanHub } from './clean-hub.js';

// No gevent counterpart: gevent waits on watchers, not events. The behaviours are those
// of Node's events.once (value, 'error' rejection, EventTarget's event) with gevent's
// blocking style: kill and Timeout raise where the task waits, and nothing stays
// registered (the shape of test__event.py::TestEventWait's timeout cases).

const reports = expectCleanHub();

const listeners = (emitter: EventEmitter): number =>
  emitter.eventNames().reduce((n, name) => n + emitter.listenerCount(name), 0);

describe('once(EventEmitter)', () => {
  it('evaluates to the arguments the event was emitted with', async () => {
    const emitter = new EventEmitter();
    const args = await run(function* () {
      const t = spawn(function* () {
        return yield* once<[string, number]>(emitter, 'data');
      });
      yield* sleep(0);
      emitter.emit('data', 'chunk', 7);
      return yield* t.get();
    });
    expect(args).toEqual(['chunk', 7]);
    expect(listeners(emitter)).toBe(0);
  });

  it('waits for a symbol event name', async () => {
    const emitter = new EventEmitter();
    const ready = Symbol('ready');
    const args = await run(function* () {
      const t = spawn(function* () {
        return yield* once(emitter, ready);
      });
      yield* sleep(0);
      emitter.emit(ready, 1);
      return yield* t.get();
    });
    expect(args).toEqual([1]);
    expect(listeners(emitter)).toBe(0);
  });

  it("raises the error of an 'error' event in the task", async () => {
    const emitter = new EventEmitter();
    const boom = new Error('boom');
    const caught = await run(function* () {
      const t = spawn(function* () {
        try {
          yield* once(emitter, 'data');
          return null;
        } catch (e) {
          return e;
        }
      });
      yield* sleep(0);
      emitter.emit('error', boom);
      return yield* t.get();
    });
    expect(caught).toBe(boom);
    expect(listeners(emitter)).toBe(0);
  });

  it("evaluates to the error's arguments when waiting for 'error' itself", async () => {
    const emitter = new EventEmitter();
    const boom = new Error('boom');
    const args = await run(function* () {
      const t = spawn(function* () {
        return yield* once(emitter, 'error');
      });
      yield* sleep(0);
      emitter.emit('error', boom);
      return yield* t.get();
    });
    expect(args).toEqual([boom]);
    expect(listeners(emitter)).toBe(0);
  });

  it('wakes the task once, with the first emission, when the event is emitted twice', async () => {
    const emitter = new EventEmitter();
    const args = await run(function* () {
      const t = spawn(function* () {
        return yield* once(emitter, 'data');
      });
      yield* sleep(0);
      emitter.emit('data', 'first');
      const heardSecond = emitter.emit('data', 'second');
      expect(heardSecond).toBe(false);
      return yield* t.get();
    });
    expect(args).toEqual(['first']);
  });

  it('raises a Timeout and removes its listeners when the timeout runs out', async () => {
    const emitter = new EventEmitter();
    const caught = await run(function* () {
      try {
        yield* once(emitter, 'data', { timeout: 10 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(listeners(emitter)).toBe(0);
  });

  it("removes its listeners when the task's own Timeout strikes", async () => {
    // gevent: test__timeout.py::Test::test_expires
    const emitter = new EventEmitter();
    const caught = await run(function* () {
      try {
        yield* withTimeout(10, function* () {
          return yield* once(emitter, 'data');
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(listeners(emitter)).toBe(0);
  });

  it('removes its listeners and runs finally when the task is killed', async () => {
    // gevent: test__greenlet.py::TestKill::test_block
    const emitter = new EventEmitter();
    const log: string[] = [];
    await run(function* () {
      const t = spawn(function* () {
        try {
          yield* once(emitter, 'data');
        } finally {
          log.push(`finally with ${listeners(emitter)} listeners`);
        }
      });
      yield* sleep(0);
      expect(listeners(emitter)).toBe(2); // 'data' and 'error'
      yield* t.kill();
      expect(t.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally with 0 listeners']);
    expect(listeners(emitter)).toBe(0);
  });

  it('refuses to block outside a task, naming once()', () => {
    const emitter = new EventEmitter();
    expect(() => once(emitter, 'data')).toThrow(BlockingError);
    expect(() => once(emitter, 'data')).toThrow(/once\(\) blocks/);
    expect(listeners(emitter)).toBe(0);
  });

  it('refuses a source that is neither an EventEmitter nor an EventTarget, saying what it takes', async () => {
    const caught = await run(function* () {
      try {
        yield* once({} as unknown as EventEmitter, 'data');
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toMatch(/EventEmitter .*or an EventTarget .*got a plain object/);
  });
});

describe('once(EventTarget)', () => {
  it('evaluates to the event', async () => {
    const target = new EventTarget();
    const sent = new Event('message');
    const received = await run(function* () {
      const t = spawn(function* () {
        return yield* once(target, 'message');
      });
      yield* sleep(0);
      target.dispatchEvent(sent);
      return yield* t.get();
    });
    expect(received).toBe(sent);
    expect(getEventListeners(target, 'message')).toHaveLength(0);
  });

  it('works with an AbortSignal, evaluating to its abort event', async () => {
    const controller = new AbortController();
    const type = await run(function* () {
      const t = spawn(function* () {
        const event = yield* once(controller.signal, 'abort');
        return event.type;
      });
      yield* sleep(0);
      controller.abort();
      return yield* t.get();
    });
    expect(type).toBe('abort');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('removes its listener when the task is killed', async () => {
    const target = new EventTarget();
    const log: string[] = [];
    await run(function* () {
      const t = spawn(function* () {
        try {
          yield* once(target, 'message');
        } finally {
          log.push('finally');
        }
      });
      yield* sleep(0);
      expect(getEventListeners(target, 'message')).toHaveLength(1);
      yield* t.kill();
    });
    expect(log).toEqual(['finally']);
    expect(getEventListeners(target, 'message')).toHaveLength(0);
  });

  it('raises a Timeout and removes its listener when the timeout runs out', async () => {
    const target = new EventTarget();
    const caught = await run(function* () {
      try {
        yield* once(target, 'message', { timeout: 10 });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(Timeout);
    expect(getEventListeners(target, 'message')).toHaveLength(0);
  });
});

describe('once() on a real socket', () => {
  it("waits for a TCP client's 'connect' and its first 'data' on 127.0.0.1", async () => {
    const server = net.createServer((conn) => {
      conn.end('hello from the server');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    const before = {
      connect: socket.listenerCount('connect'),
      data: socket.listenerCount('data'),
      error: socket.listenerCount('error'),
    };
    try {
      const text = await run(function* () {
        yield* once(socket, 'connect', { timeout: 5000 });
        const [chunk] = yield* once<[Buffer]>(socket, 'data', { timeout: 5000 });
        return chunk.toString();
      });
      expect(text).toBe('hello from the server');
      expect({
        connect: socket.listenerCount('connect'),
        data: socket.listenerCount('data'),
        error: socket.listenerCount('error'),
      }).toEqual(before);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("raises a connection error from 'error' while waiting for 'connect'", async () => {
    // A port that was just free: nothing listens there, the connection is refused.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const socket = net.connect(port, '127.0.0.1');
    try {
      const caught = await run(function* () {
        try {
          yield* once(socket, 'connect', { timeout: 5000 });
          return null;
        } catch (e) {
          return e;
        }
      });
      expect((caught as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      expect(socket.listenerCount('connect')).toBe(0);
      expect(socket.listenerCount('error')).toBe(0);
    } finally {
      socket.destroy();
      await run(function* () {
        // Let the socket's close run before the next test.
        yield* waitFor(new Promise((resolve) => setImmediate(resolve)));
      });
    }
  });
});
