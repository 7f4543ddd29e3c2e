/**
 * The task-lifecycle workloads of docs/benchmarks.md's callgrind counts, one per process:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
 *     node --single-threaded bench/lifecycle-instructions.mjs DIST WORKLOAD N
 *
 * DIST is a build's dist/ directory (absolute), WORKLOAD one of spawnjoin, sleep0, kill,
 * killall, N the number of tasks. Instructions per task are the slope between two N
 * ("Collected" of each run): (count(N2) - count(N1)) / (N2 - N1).
 */
const [, , dist, workload, count] = process.argv;
const { run, spawn, sleep, killall } = await import(`${dist}/index.js`);
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
};
await workloads[workload]();
if ((workload === 'kill' || workload === 'killall') && cleanups !== N) throw new Error(`${cleanups} of ${N} finally blocks ran`);
