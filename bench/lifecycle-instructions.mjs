/**
 * The workloads of docs/benchmarks-log.md's callgrind counts (the task lifecycle, and the hot
 * operations of "Build against build"), one per process:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --single-threaded bench/lifecycle-instructions.mjs DIST WORKLOAD N [REPS]
 *
 * DIST is a build's dist/ directory (absolute), WORKLOAD one of spawnjoin, spawnjoin.closure
 * (and spawnjoin.closure.floor: V8's own part of it, no DIST used), sleep0, sleep1,
 * kill, killall, waitfor (N tasks), channel, queue, queuetimeout (N ping-pong round trips),
 * getready (N gets of a ready item), event, eventtimeout, eventkill (N tasks wait on one
 * Event: it is set, or they are killed), eventpingpong (N round trips through two Events),
 * eventwaitlist, eventwaitlistkill (the same as event and eventkill through wait([event]):
 * N rawlinks on one Event), eventwaitpingpong (eventpingpong through wait([own, stop],
 * { count: 1 }): rawlink and unlink on lists of 0-2), timerheap (N timers added to and removed from the
 * hub's timer heap, not through the hub); or, for the fan-outs of interop.waitfor_fanout
 * and hub.spawn_sleep0_join, spawnall (spawn N tasks that return at once, then join them
 * all; spawnall.async and spawnall.floor: hub.spawn_join's baseline and stripped floor, which do not
 * use DIST; spawnall.floor.sched: the floor with a long-lived run queue and current-task slot), waitfor.async (that benchmark's baseline), waitfor.own and waitfor.own.async (the same
 * with a promise of its own per task), waitfor.floor and sleep0.floor (the
 * stripped experiments of bench/lifecycle.bench.ts and bench/hub.bench.ts, which do not
 * use DIST). Instructions per task or round trip are the slope between two N ("Collected"
 * of each run):
 * (count(N2) - count(N1)) / (N2 - N1). With REPS (default 1) the workload runs that many
 * times in the process: with N fixed, (count(R2) - count(R1)) / ((R2 - R1) * N) is the
 * count once the JIT has compiled the hot code, which a single short run mostly is not.
 * The hub's switch interval is lifted to 1,000,000 ms (SWITCH_INTERVAL_MS sets another; see
 * below), so that no pass ends by the clock of a program slowed down by valgrind.
 */
const [, , dist, workload, count, reps = '1'] = process.argv;
const { run, spawn, sleep, killall, waitFor, wait, Event, Queue, Channel, setswitchinterval } = await import(`${dist}/index.js`);
// Under callgrind a program runs several hundred times slower than natively (a repetition of
// spawnjoin, 10,000 tasks: ~5 s under callgrind at a load average of ~8, 3-8 ms natively),
// so a hub pass bounded by the default switch interval (5 ms) would resume that many times
// fewer tasks than on the machine itself, and count event-loop turns that a real run does
// not take. The default here is 1,000,000 ms: no pass of these workloads ends by time, so a
// count does not depend on how much of the CPU the valgrind run gets. (It was 1000 ms until
// 2026-12-07: ~4,000 resumes of spawnjoin under callgrind, but on a loaded machine a pass
// then ended where the CPU share put it, and counts drifted: waitfor read 737 and spawnall
// 4,773 per task once, against 3,372-3,564 and 2,095-2,480 with the interval lifted: see
// docs/benchmarks-log.md.) SWITCH_INTERVAL_MS sets another.
// A build from before the switch interval ignores it.
if (setswitchinterval !== undefined) setswitchinterval(Number(process.env.SWITCH_INTERVAL_MS ?? 1_000_000));
const N = Number(count);
let cleanups = 0;
function* returnAtOnce() {
  return 1;
}
function* sleepAnHour() {
  try {
    yield* sleep(3_600_000);
  } finally {
    cleanups++;
  }
}
/** spawnall.floor.sched's scheduler: a FIFO ring and the current task, made once. */
const sched = {
  ring: new Array(1 << 15).fill(undefined),
  head: 0,
  tail: 0,
  current: null,
  push(task) {
    this.ring[this.tail] = task;
    this.tail = (this.tail + 1) & 0x7fff;
  },
  shift() {
    if (this.head === this.tail) return undefined;
    const task = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & 0x7fff;
    return task;
  },
};
const workloads = {
  // spawn a task that returns at once and join it, one after the other
  spawnjoin: () =>
    run(function* () {
      for (let i = 0; i < N; i++) yield* spawn(returnAtOnce).join();
    }),
  // spawn a task whose generator function is made afresh (a closure per task) and join
  // it, one after the other (hub.spawn_join.closure)
  'spawnjoin.closure': () =>
    run(function* () {
      for (let i = 0; i < N; i++) {
        yield* spawn(function* () {
          return i;
        }).join();
      }
    }),
  // what V8 alone pays for spawnjoin.closure: make a generator function, call it, run
  // its generator to the end (no library)
  'spawnjoin.closure.floor': () => {
    let sum = 0;
    for (let i = 0; i < N; i++) {
      const fn = function* () {
        return i;
      };
      sum += fn().next().value;
    }
    return sum;
  },
  // spawn N tasks that each sleep(0), then join them all
  sleep0: () =>
    run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(function* () { yield* sleep(0); }));
      for (const t of tasks) yield* t.join();
    }),
  // spawn N tasks that each sleep(1), then join them all (the sleeps end at their deadline)
  sleep1: () =>
    run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(function* () { yield* sleep(1); }));
      for (const t of tasks) yield* t.join();
    }),
  // kill a task parked in sleep(1 h) and wait for its end, one at a time
  kill: () =>
    run(function* () {
      for (let i = 0; i < N; i++) {
        const t = spawn(sleepAnHour);
        yield* sleep(0);
        yield* t.kill();
      }
    }),
  // killall() of N tasks parked in sleep(1 h)
  killall: () =>
    run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(sleepAnHour));
      yield* sleep(0);
      yield* killall(tasks);
    }),
  // spawn N tasks that each waitFor() a resolved promise, then join them all (interop.waitfor_fanout)
  waitfor: () => {
    const resolved = Promise.resolve(1);
    const waiter = () => waitFor(resolved);
    return run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(waiter));
      for (const t of tasks) yield* t.join();
    });
  },
  // the same, each task waiting on a promise of its own (already resolved): no two waits share a promise
  'waitfor.own': () => {
    const promises = [];
    for (let i = 0; i < N; i++) promises.push(Promise.resolve(i));
    const waiter = (p) => waitFor(p);
    return run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(waiter, promises[i]));
      for (const t of tasks) yield* t.join();
    });
  },
  // its baseline: N async functions each awaiting a promise of its own, Promise.all
  'waitfor.own.async': async () => {
    const promises = [];
    for (let i = 0; i < N; i++) promises.push(Promise.resolve(i));
    const waiter = async (p) => await p;
    const calls = [];
    for (let i = 0; i < N; i++) calls.push(waiter(promises[i]));
    await Promise.all(calls);
  },
  // spawn N tasks that return at once, then join them all
  spawnall: () =>
    run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(returnAtOnce));
      for (const t of tasks) yield* t.join();
    }),
  // hub.spawn_join's baseline: call N async functions that return at once, then await each
  'spawnall.async': async () => {
    const returnAtOnceAsync = async () => 1;
    const promises = new Array(N);
    for (let i = 0; i < N; i++) promises[i] = returnAtOnceAsync();
    for (let i = 0; i < N; i++) await promises[i];
  },
  // hub.spawn_join.floor (bench/lifecycle.bench.ts): three-field records, a loop runs each
  // generator to its end, a join reads the result
  'spawnall.floor': async () => {
    const tasks = new Array(N);
    for (let i = 0; i < N; i++) tasks[i] = { fn: returnAtOnce, result: undefined, done: false };
    for (let i = 0; i < N; i++) {
      const task = tasks[i];
      task.result = task.fn().next().value;
      task.done = true;
    }
    let sum = 0;
    for (let i = 0; i < N; i++) sum += tasks[i].result;
    return sum;
  },
  // spawnall.floor plus what a scheduler that outlives its tasks cannot avoid: the tasks go
  // through a run queue and a current-task slot that live longer than they do (`sched`,
  // made once: each store of a young task into them costs a write barrier), and a task
  // starts when the loop takes it from the queue, not when it is made
  'spawnall.floor.sched': async () => {
    if (N >= 1 << 15) throw new RangeError('spawnall.floor.sched takes N < 32768 (the size of its ring)');
    const tasks = new Array(N);
    for (let i = 0; i < N; i++) {
      const task = { fn: returnAtOnce, result: undefined, done: false };
      tasks[i] = task;
      sched.push(task);
    }
    for (let task = sched.shift(); task !== undefined; task = sched.shift()) {
      sched.current = task;
      task.result = task.fn().next().value;
      task.done = true;
    }
    sched.current = null;
    let sum = 0;
    for (let i = 0; i < N; i++) sum += tasks[i].result;
    return sum;
  },
  // interop.waitfor_fanout's baseline: N async functions awaiting a resolved promise, Promise.all
  'waitfor.async': async () => {
    const resolved = Promise.resolve(1);
    const waiter = async () => await resolved;
    const calls = [];
    for (let i = 0; i < N; i++) calls.push(waiter());
    await Promise.all(calls);
  },
  // interop.waitfor_fanout.floor (bench/lifecycle.bench.ts): records, iterator bodies, one reaction each
  'waitfor.floor': async () => {
    const resolved = Promise.resolve(1);
    let ready = [];
    let values = [];
    let draining = false;
    let left = N;
    let allEnded;
    const ended = new Promise((resolve) => (allEnded = resolve));
    let current = null;
    const step = (task, value) => {
      const r = task.body.next(value);
      if (r.done === true) {
        task.result = r.value;
        if (--left === 0) allEnded();
      }
    };
    const drain = () => {
      draining = false;
      const tasks = ready;
      const vs = values;
      ready = [];
      values = [];
      for (let i = 0; i < tasks.length; i++) step(tasks[i], vs[i]);
    };
    const wake = (task, value) => {
      ready.push(task);
      values.push(value);
      if (!draining) {
        draining = true;
        queueMicrotask(drain);
      }
    };
    class FloorWait {
      constructor(promise) {
        this.promise = promise;
        this.started = false;
      }
      next(value) {
        if (this.started) return { done: true, value };
        this.started = true;
        const task = current;
        this.promise.then((v) => wake(task, v), (e) => wake(task, e));
        return { done: false, value: undefined };
      }
    }
    const waiter = () => new FloorWait(resolved);
    const tasks = [];
    for (let i = 0; i < N; i++) tasks.push({ fn: waiter, body: null, result: undefined });
    for (const task of tasks) {
      current = task;
      task.body = task.fn();
      step(task, undefined);
    }
    current = null;
    await ended;
  },
  // hub.spawn_sleep0_join.floor (bench/hub.bench.ts): records, generators, a next-pass list
  'sleep0.floor': async () => {
    let resuming = false;
    const suspend = { done: false, value: undefined };
    const resumed = { done: true, value: undefined };
    const sleep0 = {
      [Symbol.iterator]() {
        return this;
      },
      next() {
        if (!resuming) return suspend;
        resuming = false;
        return resumed;
      },
    };
    function* yieldOnce() {
      yield* sleep0;
    }
    const tasks = [];
    for (let i = 0; i < N; i++) tasks.push({ fn: yieldOnce, body: null, ended: false, result: undefined });
    const nextPass = [];
    for (const task of tasks) {
      task.body = task.fn();
      const r = task.body.next();
      if (r.done === true) {
        task.ended = true;
        task.result = r.value;
      } else {
        nextPass.push(task);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    for (const task of nextPass) {
      resuming = true;
      const r = task.body.next();
      if (r.done === true) {
        task.ended = true;
        task.result = r.value;
      }
    }
  },
  // two channels, two tasks: send, receive the answer
  channel: () =>
    run(function* () {
      const ping = new Channel();
      const pong = new Channel();
      const ponger = spawn(function* () {
        for (let i = 0; i < N; i++) yield* pong.send((yield* ping.recv()) + 1);
      });
      for (let i = 0; i < N; i++) {
        yield* ping.send(i);
        yield* pong.recv();
      }
      yield* ponger.join();
    }),
  // two queues, two tasks: putNowait, get the answer
  queue: () =>
    run(function* () {
      const ping = new Queue();
      const pong = new Queue();
      const ponger = spawn(function* () {
        for (let i = 0; i < N; i++) pong.putNowait((yield* ping.get()) + 1);
      });
      for (let i = 0; i < N; i++) {
        ping.putNowait(i);
        yield* pong.get();
      }
      yield* ponger.join();
    }),
  // the hub's timer heap alone: a Timer added and removed N times beside one other pending
  timerheap: async () => {
    const { Timer, TimerHeap } = await import(`${dist}/hub/timers.js`);
    class Noop extends Timer {
      fire() {}
    }
    const heap = new TimerHeap(() => {}, () => {});
    const other = new Noop();
    heap.add(other, 3_600_000);
    for (let i = 0; i < N; i++) {
      const timer = new Noop();
      heap.add(timer, 60_000);
      heap.remove(timer);
    }
    heap.remove(other);
  },
  // the queue ping-pong with a timeout on every get() (a timed wait that ends early)
  queuetimeout: () =>
    run(function* () {
      const ping = new Queue();
      const pong = new Queue();
      const ponger = spawn(function* () {
        for (let i = 0; i < N; i++) pong.putNowait((yield* ping.get(60_000)) + 1);
      });
      for (let i = 0; i < N; i++) {
        ping.putNowait(i);
        yield* pong.get(60_000);
      }
      yield* ponger.join();
    }),
  // spawn N tasks that wait() on one Event, set it, join them all
  event: () =>
    run(function* () {
      const event = new Event();
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(() => event.wait()));
      yield* sleep(0);
      event.set();
      for (const t of tasks) yield* t.join();
    }),
  // the same with wait(1 h): timed waits that end by the set()
  eventtimeout: () =>
    run(function* () {
      const event = new Event();
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(() => event.wait(3_600_000)));
      yield* sleep(0);
      event.set();
      for (const t of tasks) yield* t.join();
    }),
  // killall() of N tasks waiting on one Event (each leaves the wait: the event forgets it)
  eventkill: () =>
    run(function* () {
      const event = new Event();
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(() => event.wait()));
      yield* sleep(0);
      yield* killall(tasks);
    }),
  // two Events, two tasks: set the other's, wait on one's own, clear it
  eventpingpong: () =>
    run(function* () {
      const ping = new Event();
      const pong = new Event();
      const ponger = spawn(function* () {
        for (let i = 0; i < N; i++) {
          yield* ping.wait();
          ping.clear();
          pong.set();
        }
      });
      for (let i = 0; i < N; i++) {
        ping.set();
        yield* pong.wait();
        pong.clear();
      }
      yield* ponger.join();
    }),
  // spawn N tasks in wait([event]) on one Event (a rawlink each: one list of N), set it, join them all
  eventwaitlist: () =>
    run(function* () {
      const event = new Event();
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(() => wait([event])));
      yield* sleep(0);
      event.set();
      for (const t of tasks) yield* t.join();
    }),
  // killall() of N tasks in wait([event]) on one Event (each unlinks the first rawlink of the list)
  eventwaitlistkill: () =>
    run(function* () {
      const event = new Event();
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(() => wait([event])));
      yield* sleep(0);
      yield* killall(tasks);
    }),
  // eventpingpong through wait([own, stop], { count: 1 }): each round rawlinks on two Events and
  // unlinks from the one not set (lists of 0-2 rawlinks)
  eventwaitpingpong: () =>
    run(function* () {
      const ping = new Event();
      const pong = new Event();
      const stop = new Event();
      const ponger = spawn(function* () {
        for (let i = 0; i < N; i++) {
          yield* wait([ping, stop], { count: 1 });
          ping.clear();
          pong.set();
        }
      });
      for (let i = 0; i < N; i++) {
        ping.set();
        yield* wait([pong, stop], { count: 1 });
        pong.clear();
      }
      yield* ponger.join();
    }),
  // get() that finds its item, in one task
  getready: () =>
    run(function* () {
      const q = new Queue();
      q.putNowait(0);
      for (let i = 0; i < N; i++) q.putNowait((yield* q.get()) + 1);
    }),
};
for (let r = 0; r < Number(reps); r++) await workloads[workload]();
if ((workload === 'kill' || workload === 'killall') && cleanups !== N * Number(reps)) {
  throw new Error(`${cleanups} of ${N * Number(reps)} finally blocks ran`);
}
