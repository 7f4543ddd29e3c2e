import net from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  GreenletError,
  GreenletExit,
  Timeout,
  run,
  sleep,
  spawn,
  withTimeout,
  type GreenletBody,
} from 'greenlet-ts';
import {
  DONE,
  PrematureCloseError,
  forEach,
  iterate,
  type AsyncIterableReader,
  type Done,
} from '../../src/interop/iterate.js';
import { waitFor } from '../../src/interop/wait.js';
import { expectCleanHub } from './clean-hub.js';

// No gevent counterpart for async iterables; the closest is reading a socket's makefile()
// line by line in a greenlet (test__socket.py). Kill and Timeout follow gevent
// (test__greenlet.py::TestKill, test__timeout.py): raised where the task waits.

const reports = expectCleanHub();

const STREAM_EVENTS = ['readable', 'data', 'end', 'error', 'close'] as const;

/** Every listener on a stream, by event, for the events a reader uses. */
const streamListeners = (stream: Readable): Record<string, number> =>
  Object.fromEntries(STREAM_EVENTS.map((e) => [e, stream.listenerCount(e)]));

const NO_LISTENERS = { readable: 0, data: 0, end: 0, error: 0, close: 0 };

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Read everything a reader gives until DONE. */
function* drain<T>(reader: AsyncIterableReader<T>): GreenletBody<T[]> {
  const items: T[] = [];
  for (let item: T | Done; (item = yield* reader.next()) !== DONE; ) items.push(item);
  return items;
}

describe('iterate(Readable)', () => {
  it('evaluates to each item of Readable.from in order, then DONE, leaving no listener', async () => {
    const stream = Readable.from(['a', 'b', 'c']);
    const items = await run(function* () {
      const reader = iterate<string>(stream);
      const got: (string | Done)[] = [];
      for (let i = 0; i < 5; i++) got.push(yield* reader.next());
      return got;
    });
    expect(items).toEqual(['a', 'b', 'c', DONE, DONE]);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('reads a stream whose data arrives while the task waits', async () => {
    const stream = new PassThrough({ objectMode: true });
    const items = await run(function* () {
      const reader = spawn(function* () {
        return yield* drain<number>(iterate<number>(stream));
      });
      yield* sleep(0);
      stream.write(1);
      yield* sleep(0);
      stream.write(2);
      stream.end(3);
      return yield* reader.get();
    });
    expect(items).toEqual([1, 2, 3]);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('raises the error the stream was destroyed with', async () => {
    const stream = new PassThrough({ objectMode: true });
    const boom = new Error('boom');
    const caught = await run(function* () {
      const reader = spawn(function* () {
        try {
          yield* drain(iterate(stream));
          return null;
        } catch (e) {
          return e;
        }
      });
      yield* sleep(0);
      stream.destroy(boom);
      return yield* reader.get();
    });
    expect(caught).toBe(boom);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('keeps an error the stream emits while the task is busy, and raises it at the next next()', async () => {
    const stream = new PassThrough({ objectMode: true });
    const boom = new Error('while busy');
    const caught = await run(function* () {
      const reader = iterate(stream);
      stream.write('first');
      const first = yield* reader.next();
      expect(first).toBe('first');
      const waiting = spawn(function* () {
        return yield* reader.next();
      });
      yield* sleep(0); // the reader listens now
      stream.write('second');
      expect(yield* waiting.get()).toBe('second');
      stream.destroy(boom); // emitted on the next tick, while this task is busy sleeping
      yield* sleep(0);
      try {
        yield* reader.next();
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('keeps its error listener until an error the stream recorded but has not emitted yet arrives', async () => {
    const stream = new PassThrough({ objectMode: true });
    const boom = new Error('recorded first');
    const caught = await run(function* () {
      const reader = iterate(stream);
      const waiting = spawn(function* () {
        return yield* reader.next();
      });
      yield* sleep(0);
      stream.write('x');
      yield* waiting.join();
      // Recorded at once, emitted on the next tick: without a listener then, the process would crash.
      stream.destroy(boom);
      try {
        yield* reader.next();
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
    await new Promise((resolve) => setImmediate(resolve));
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('raises a PrematureCloseError when the stream is destroyed without an error while the task waits', async () => {
    const stream = new PassThrough({ objectMode: true });
    const caught = await run(function* () {
      const reader = spawn(function* () {
        try {
          yield* iterate(stream).next();
          return null;
        } catch (e) {
          return e;
        }
      });
      yield* sleep(0);
      stream.destroy();
      return yield* reader.get();
    });
    expect(caught).toBeInstanceOf(PrematureCloseError);
    expect((caught as PrematureCloseError).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('destroys an idle stream and leaves no listener when the task waiting on it is killed', async () => {
    // gevent: test__greenlet.py::TestKill::test_block
    const stream = new PassThrough({ objectMode: true });
    const log: string[] = [];
    await run(function* () {
      const reader = spawn(function* () {
        try {
          yield* iterate(stream).next();
        } finally {
          log.push(`finally, destroyed: ${stream.destroyed}`);
        }
      });
      yield* sleep(0);
      expect(stream.listenerCount('readable')).toBe(1);
      yield* reader.kill();
      expect(reader.value).toBeInstanceOf(GreenletExit);
    });
    expect(log).toEqual(['finally, destroyed: true']);
    expect(stream.destroyed).toBe(true);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('respects back-pressure: a paused stream is not read far ahead of the task', async () => {
    let produced = 0;
    const stream = new Readable({
      objectMode: true,
      highWaterMark: 2,
      read() {
        this.push(produced++);
      },
    });
    const consumed = await run(function* () {
      const reader = iterate<number>(stream);
      const got: number[] = [];
      for (let i = 0; i < 3; i++) {
        got.push((yield* reader.next()) as number);
        for (let j = 0; j < 5; j++) yield* sleep(0); // the event loop has many turns
      }
      reader.close();
      return got;
    });
    expect(consumed).toEqual([0, 1, 2]);
    // An endless source read without back-pressure would have produced thousands.
    expect(produced).toBeLessThanOrEqual(3 + 2 + 1);
    expect(stream.destroyed).toBe(true);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it("reads a TCP socket on 127.0.0.1 until the peer ends it", async () => {
    const server = net.createServer((conn) => {
      conn.write('one,');
      setImmediate(() => conn.end('two'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    try {
      const text = await run(function* () {
        let all = '';
        yield* forEach(socket, (chunk: Buffer) => {
          all += chunk.toString();
        });
        return all;
      });
      expect(text).toBe('one,two');
      expect(streamListeners(socket).readable).toBe(0);
      expect(streamListeners(socket).data).toBe(0);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('iterate(async iterable)', () => {
  it('evaluates to each item of an async generator in order, then DONE', async () => {
    async function* numbers() {
      yield 1;
      yield 2;
    }
    const items = await run(function* () {
      const reader = iterate(numbers());
      const got: (number | Done)[] = [];
      for (let i = 0; i < 4; i++) got.push(yield* reader.next());
      return got;
    });
    expect(items).toEqual([1, 2, DONE, DONE]);
  });

  it('delivers undefined as an item, distinct from DONE', async () => {
    async function* values() {
      yield undefined;
      yield null;
    }
    const items = await run(function* () {
      return yield* drain(iterate(values()));
    });
    expect(items).toEqual([undefined, null]);
  });

  it('raises the error the async generator throws, then evaluates to DONE', async () => {
    const boom = new Error('boom');
    async function* failing() {
      yield 1;
      throw boom;
    }
    const outcome = await run(function* () {
      const reader = iterate(failing());
      const first = yield* reader.next();
      let caught: unknown;
      try {
        yield* reader.next();
      } catch (e) {
        caught = e;
      }
      return { first, caught, after: yield* reader.next(), closed: reader.closed };
    });
    expect(outcome).toEqual({ first: 1, caught: boom, after: DONE, closed: true });
  });

  it("calls the iterator's return() when the task waiting on it is killed", async () => {
    const log: string[] = [];
    const gate = deferred<void>();
    async function* slow() {
      try {
        yield 'first';
        await gate.promise;
        yield 'never delivered';
      } finally {
        log.push('generator finally');
      }
    }
    await run(function* () {
      const reader = spawn(function* () {
        const it = iterate(slow());
        yield* it.next();
        try {
          yield* it.next();
        } finally {
          log.push('task finally');
        }
      });
      yield* sleep(0);
      yield* reader.kill();
      // An async generator runs return() after the pending next() settles.
      gate.resolve();
      yield* waitFor(new Promise((resolve) => setImmediate(resolve)));
    });
    expect(log).toEqual(['task finally', 'generator finally']);
  });

  it('pulls one item at a time: the source produces only what the task asked for', async () => {
    let produced = 0;
    async function* counter() {
      for (;;) yield produced++;
    }
    const got = await run(function* () {
      const reader = iterate(counter());
      const items: number[] = [];
      for (let i = 0; i < 3; i++) {
        items.push((yield* reader.next()) as number);
        yield* sleep(0);
      }
      reader.close();
      return items;
    });
    expect(got).toEqual([0, 1, 2]);
    expect(produced).toBe(3);
  });

  it('keeps the reader open when a Timeout strikes, and delivers the item to the next call', async () => {
    // gevent: test__timeout.py::Test::test_expires (the Timeout is raised where the task waits)
    const gate = deferred<void>();
    let generatorFinished = false;
    async function* late() {
      try {
        await gate.promise;
        yield 'late item';
      } finally {
        generatorFinished = true;
      }
    }
    const outcome = await run(function* () {
      const reader = iterate(late());
      let timedOut = false;
      try {
        yield* withTimeout(10, function* () {
          return yield* reader.next();
        });
      } catch (e) {
        if (!(e instanceof Timeout)) throw e;
        timedOut = true;
      }
      const closedAfterTimeout = reader.closed;
      gate.resolve();
      const item = yield* reader.next();
      const end = yield* reader.next();
      return { timedOut, closedAfterTimeout, item, end };
    });
    expect(outcome).toEqual({ timedOut: true, closedAfterTimeout: false, item: 'late item', end: DONE });
    expect(generatorFinished).toBe(true);
  });

  it('gives DONE to a task waiting in next() when another task closes the reader', async () => {
    const gate = deferred<void>();
    async function* blocked() {
      await gate.promise;
      yield 'x';
    }
    const got = await run(function* () {
      const reader = iterate(blocked());
      const waiting = spawn(function* () {
        return yield* reader.next();
      });
      yield* sleep(0);
      reader.close();
      const result = yield* waiting.get();
      gate.resolve();
      return result;
    });
    expect(got).toBe(DONE);
  });

  it('refuses a second task waiting in next() at the same time, saying to use a Queue', async () => {
    const gate = deferred<void>();
    async function* blocked() {
      await gate.promise;
      yield 'x';
    }
    const caught = await run(function* () {
      const reader = iterate(blocked());
      const first = spawn(function* () {
        return yield* reader.next();
      });
      yield* sleep(0);
      let error: unknown;
      try {
        yield* reader.next();
      } catch (e) {
        error = e;
      }
      gate.resolve();
      expect(yield* first.get()).toBe('x');
      return error;
    });
    expect(caught).toBeInstanceOf(GreenletError);
    expect((caught as Error).message).toMatch(/already waiting in next\(\).*Queue/);
  });

  it('refuses a source that is not async iterable', () => {
    expect(() => iterate([1, 2] as unknown as AsyncIterable<number>)).toThrow(TypeError);
    expect(() => iterate([1, 2] as unknown as AsyncIterable<number>)).toThrow(/async iterable/);
  });
});

describe('forEach', () => {
  it('runs the function on each item in order, letting it block', async () => {
    const seen: string[] = [];
    await run(function* () {
      yield* forEach(Readable.from(['a', 'b', 'c']), function* (item: string) {
        yield* sleep(0);
        seen.push(item);
      });
    });
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('closes the stream and passes the error on when the function raises', async () => {
    const stream = new Readable({
      objectMode: true,
      read() {
        this.push('item');
      },
    });
    const boom = new Error('boom');
    const caught = await run(function* () {
      try {
        yield* forEach(stream, () => {
          throw boom;
        });
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBe(boom);
    expect(stream.destroyed).toBe(true);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('destroys the stream when the task is killed while the function blocks', async () => {
    const stream = new PassThrough({ objectMode: true });
    stream.write('only');
    const seen: string[] = [];
    await run(function* () {
      const consumer = spawn(function* () {
        yield* forEach(stream, function* (item: string) {
          seen.push(item);
          yield* sleep(60_000);
        });
      });
      yield* sleep(0);
      yield* consumer.kill();
    });
    expect(seen).toEqual(['only']);
    expect(stream.destroyed).toBe(true);
    expect(streamListeners(stream)).toEqual(NO_LISTENERS);
  });

  it('closes an async generator it did not finish', async () => {
    let finished = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finished = true;
      }
    }
    const caught = await run(function* () {
      try {
        yield* forEach(endless(), (i: number) => {
          if (i === 2) throw new Error('enough');
        });
      } catch (e) {
        yield* waitFor(new Promise((resolve) => setImmediate(resolve)));
        return (e as Error).message;
      }
      return null;
    });
    expect(caught).toBe('enough');
    expect(finished).toBe(true);
  });

  it('refuses a plain function that returns a promise, saying to use a generator function', async () => {
    const stream = Readable.from(['a', 'b']);
    const caught = await run(function* () {
      try {
        yield* forEach(stream, (item: string) => Promise.resolve(item));
        return null;
      } catch (e) {
        return e;
      }
    });
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toMatch(/returned a promise.*generator function.*waitFor/);
    expect(stream.destroyed).toBe(true);
  });
});
