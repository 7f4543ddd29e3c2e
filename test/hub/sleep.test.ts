/**
 * sleep(), idle() and the hub's fairness towards the event loop.
 * gevent: test__sleep0.py, test__api.py (sleep), gevent#1068 (sleep(0) and I/O).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockingError, Event, getHub, getswitchinterval, idle, run, setswitchinterval, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { deadlineOf } from '../../src/hub/hub.js';
import { pingPong } from '../ping-pong.js';

afterEach(() => {
  expect(getHub().timers.size).toBe(0);
});

describe('sleep', () => {
  it('wakes sleepers in the order of their deadlines', async () => {
    const woke: number[] = [];
    // The deadlines are the hub's own (deadlineOf), read by a task that runs after the
    // three sleepers have parked, in the same pass: on a loaded machine the three calls
    // can be more than 10 ms apart, and a clock read by the test beside sleep()'s own can
    // be preempted between the two (once on Deno under load: 20 woke before 30, whose
    // deadline read by the test was 10 ms earlier). On an idle machine they are 10 ms apart.
    let deadlines = new Map<number, number | null>();
    await run(function* () {
      yield* sleep(1); // a first sleep pays for the host's first timer, which Deno sets up lazily
      const tasks = [30, 10, 20].map((ms) =>
        spawn(function* () {
          yield* sleep(ms);
          woke.push(ms);
        }),
      );
      spawn(() => {
        deadlines = new Map(tasks.map((t, i) => [[30, 10, 20][i]!, deadlineOf(t)]));
      });
      for (const t of tasks) yield* t.join();
    });
    expect([...woke].sort()).toEqual([10, 20, 30]);
    expect([...deadlines.values()].every((d) => typeof d === 'number')).toBe(true);
    // Equal deadlines (whole milliseconds) wake in the order the sleeps began: 30, 10, 20.
    const begun = [30, 10, 20];
    const byDeadline = [...begun].sort((a, b) => deadlines.get(a)! - deadlines.get(b)! || begun.indexOf(a) - begun.indexOf(b));
    expect(woke).toEqual(byDeadline);
  });

  it('a sleep counts from its own start, as in gevent: a 5 ms sleep started after 20 ms of work ends after a 10 ms one started before the work, in the same pass', async () => {
    // gevent updates its loop's clock before each sleep and each Timeout (gevent#1227,
    // 1.3.3; test__api_timeout's test_*_calls_update_now), where libev alone would count
    // from the clock it read once per loop iteration and end the 5 ms sleep first. The
    // same program on Debian's gevent 22.10: a, then b.
    const woke: string[] = [];
    await run(function* () {
      const a = spawn(function* () {
        yield* sleep(10);
        woke.push('a: 10 ms');
      });
      const b = spawn(function* () {
        const end = performance.now() + 20;
        while (performance.now() < end) {
          // work that holds the pass for 20 ms
        }
        yield* sleep(5);
        woke.push('b: 5 ms, after 20 ms of work');
      });
      yield* a.join();
      yield* b.join();
    });
    expect(woke).toEqual(['a: 10 ms', 'b: 5 ms, after 20 ms of work']);
  });

  it('a sleep cut short leaves the timer heap at once, before its task runs again', async () => {
    const sizes: number[] = [];
    await run(function* () {
      const sleeper = spawn(function* () {
        yield* sleep(3_600_000);
      });
      yield* sleep(0);
      sizes.push(getHub().timers.size);
      sleeper.kill({ block: false });
      sizes.push(getHub().timers.size);
      yield* sleeper.join();
    });
    expect(sizes).toEqual([1, 0]);
  });

  it('sleep(0) lets the other ready tasks run, round robin', async () => {
    const order: string[] = [];
    await run(function* () {
      const a = spawn(function* () {
        for (let i = 0; i < 3; i++) {
          order.push(`a${i}`);
          yield* sleep(0);
        }
      });
      const b = spawn(function* () {
        for (let i = 0; i < 3; i++) {
          order.push(`b${i}`);
          yield* sleep(0);
        }
      });
      yield* a.join();
      yield* b.join();
    });
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it('is refused in the main greenlet with a BlockingError that says what to do', () => {
    expect(() => sleep(10)).toThrow(BlockingError);
    expect(() => sleep(10)).toThrow(/sleep\(10\) blocks, and it was called in the main greenlet .* only a task can block/);
  });

  it('a negative or NaN delay is sleep(0)', async () => {
    const order: string[] = [];
    await run(function* () {
      const other = spawn(function* () {
        order.push('other');
      });
      yield* sleep(-5);
      order.push('after sleep(-5)');
      yield* sleep(Number.NaN);
      yield* other.join();
    });
    expect(order).toEqual(['other', 'after sleep(-5)']);
  });
});

describe('idle', () => {
  it('resumes once nothing else is ready', async () => {
    const order: string[] = [];
    await run(function* () {
      const idler = spawn(function* () {
        yield* idle();
        order.push('idle');
      });
      const busy = spawn(function* () {
        for (let i = 0; i < 3; i++) {
          order.push(`busy ${i}`);
          yield* sleep(0);
        }
      });
      yield* busy.join();
      yield* idler.join();
    });
    expect(order).toEqual(['busy 0', 'busy 1', 'busy 2', 'idle']);
  });

  // A task that leaves its sleep(0) early (killed) leaves its entry in the hub's list of
  // tasks in sleep(0); the pass must still wake the tasks in idle(). Found by
  // test/sync/missing-yield.property.test.ts.
  it('resumes after a task was killed in sleep(0)', async () => {
    const order: string[] = [];
    await run(function* () {
      const sleeper = spawn(function* () {
        yield* sleep(0);
        order.push('sleeper woke');
      });
      spawn(function* () {
        sleeper.kill(undefined, { block: false });
        order.push('sleeper killed');
      });
      yield* idle();
      order.push('idle');
    });
    expect(order).toEqual(['sleeper killed', 'idle']);
  });

  it('resumes after a task killed while ready ended at its next sleep(0)', async () => {
    const order: string[] = [];
    const ev = new Event();
    await run(function* () {
      const victim = spawn(function* () {
        yield* ev.wait();
        order.push('victim woke');
        yield* sleep(0); // the kill strikes here
        order.push('victim slept');
      });
      spawn(function* () {
        yield* sleep(0);
        ev.set();
        victim.kill(undefined, { block: false });
      });
      yield* idle();
      order.push('idle');
    });
    expect(order).toEqual(['victim woke', 'idle']);
  });
});

describe('fairness', () => {
  it('a wakeup hands off within the same pass: no event-loop turn between tasks', async () => {
    let immediateRan = false;
    const seenBeforeImmediate = await run(function* () {
      setImmediate(() => {
        immediateRan = true;
      });
      const child = spawn(function* () {
        return immediateRan;
      });
      return yield* child.get();
    });
    expect(seenBeforeImmediate).toBe(false);
  });

  it('a task looping on sleep(0) does not starve a real timer or a real socket', async () => {
    let server: Server | undefined;
    let client: Socket | undefined;
    try {
      let timerFired = false;
      let dataArrived = false;
      server = createServer((socket) => socket.end('hello'));
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      setTimeout(() => {
        timerFired = true;
      }, 5);
      client = connect(port, '127.0.0.1');
      client.on('data', () => {
        dataArrived = true;
      });
      const iterations = await run(function* () {
        let n = 0;
        while (!(timerFired && dataArrived) && n < 1_000_000) {
          n++;
          yield* sleep(0);
        }
        return n;
      });
      expect(timerFired).toBe(true);
      expect(dataArrived).toBe(true);
      expect(iterations).toBeLessThan(1_000_000);
    } finally {
      client?.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    }
  });

  it('tasks that keep each other busy still let a due timer and setImmediate run, with the default switch interval', async () => {
    let immediateRan = false;
    let timerFired = false;
    const handoffs = await run(function* () {
      setImmediate(() => (immediateRan = true));
      setTimeout(() => (timerFired = true), 1);
      return yield* pingPong(() => immediateRan && timerFired, 10_000_000);
    });
    expect(getswitchinterval()).toBe(5);
    expect(immediateRan && timerFired).toBe(true);
    expect(handoffs).toBeLessThan(10_000_000);
  });

  it('with the switch interval at 0, the event loop gets its turn every 50 resumes, not at each', async () => {
    setswitchinterval(0);
    try {
      // A chain of setImmediate callbacks, each recording the hand-offs made since the last:
      // each turn of the event loop runs one of them and one hub pass.
      const gaps: number[] = [];
      let handoffs = 0;
      let atLastTurn = 0;
      let turns = 0;
      const tick = (): void => {
        gaps.push(handoffs - atLastTurn);
        atLastTurn = handoffs;
        if (++turns < 12) setImmediate(tick);
      };
      await run(function* () {
        setImmediate(tick);
        yield* pingPong(() => turns >= 12, 1_000_000, () => handoffs++);
      });
      expect(turns).toBe(12);
      // The first gap and the last hold the start and the end of the ping-pong.
      expect(gaps.slice(1, -1)).toEqual(Array<number>(10).fill(50));
    } finally {
      setswitchinterval(5);
    }
  });

  it('with a long switch interval, thousands of ready tasks run in one pass', async () => {
    setswitchinterval(10_000);
    try {
      let ended = 0;
      let endedAtTheLoopsTurn = -1;
      await run(function* () {
        setImmediate(() => (endedAtTheLoopsTurn = ended));
        const tasks = Array.from({ length: 3000 }, () =>
          spawn(function* () {
            ended++;
          }),
        );
        for (const t of tasks) yield* t.join();
        while (endedAtTheLoopsTurn < 0) yield* sleep(0);
      });
      // (With a pass of 1,000 resumes at most, as before the switch interval, it read 999.)
      expect(endedAtTheLoopsTurn).toBe(3000);
    } finally {
      setswitchinterval(5);
    }
  });
});
