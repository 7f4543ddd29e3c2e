/**
 * The workloads of docs/benchmarks.md's callgrind counts (the task lifecycle, and the hot
 * operations of "Build against build"), one per process:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --single-threaded bench/lifecycle-instructions.mjs DIST WORKLOAD N
 *
 * DIST is a build's dist/ directory (absolute), WORKLOAD one of spawnjoin, sleep0, kill,
 * killall (N tasks), channel, queue (N ping-pong round trips), getready (N gets of a ready
 * item). Instructions per task or round trip are the slope between two N ("Collected" of
 * each run): (count(N2) - count(N1)) / (N2 - N1).
 */
const [, , dist, workload, count] = process.argv;
const { run, spawn, sleep, killall, Queue, Channel } = await import(`${dist}/index.js`);
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
const workloads = {
  // spawn a task that returns at once and join it, one after the other
  spawnjoin: () =>
    run(function* () {
      for (let i = 0; i < N; i++) yield* spawn(returnAtOnce).join();
    }),
  // spawn N tasks that each sleep(0), then join them all
  sleep0: () =>
    run(function* () {
      const tasks = [];
      for (let i = 0; i < N; i++) tasks.push(spawn(function* () { yield* sleep(0); }));
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
  // get() that finds its item, in one task
  getready: () =>
    run(function* () {
      const q = new Queue();
      q.putNowait(0);
      for (let i = 0; i < N; i++) q.putNowait((yield* q.get()) + 1);
    }),
};
await workloads[workload]();
if ((workload === 'kill' || workload === 'killall') && cleanups !== N) throw new Error(`${cleanups} of ${N} finally blocks ran`);
