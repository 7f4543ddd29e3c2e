/**
 * Debug-layer benchmarks: what recording a trace costs on the most switch-heavy
 * workload there is, the channel ping-pong (every operation parks, wakes and switches).
 */
import { Channel, run, spawn } from 'greenlet-ts';
import { startTrace } from '../src/debug/trace.js';
import type { Benchmark } from './harness.js';

/** Median of `reps` timings of `fn`, in ms, after one warm-up run (as in hub.bench.ts). */
async function medianMs(fn: () => Promise<unknown>, reps = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[reps >> 1] as number;
}

const PINGPONG_ROUNDS = 200_000;

/** hub.channel.pingpong, copied from hub.bench.ts: a round trip through two unbuffered channels. */
async function channelPingPong(): Promise<number> {
  const ms = await medianMs(
    () =>
      run(function* () {
        const ping = new Channel<number>();
        const pong = new Channel<number>();
        const ponger = spawn(function* () {
          for (let i = 0; i < PINGPONG_ROUNDS; i++) {
            const v = (yield* ping.recv()) as number;
            yield* pong.send(v + 1);
          }
        });
        for (let i = 0; i < PINGPONG_ROUNDS; i++) {
          yield* ping.send(i);
          yield* pong.recv();
        }
        yield* ponger.join();
      }),
    3,
  );
  return (ms * 1e6) / PINGPONG_ROUNDS;
}

/**
 * The same with a trace recording (default options: 1,000,000 records kept, the oldest
 * dropped, sampled clock), in the steady state of a long trace: a first measurement
 * fills the recorder (its rows grow to the limit, then wrap around) and lets the code
 * settle after the switch from not tracing; the second is the figure. Building the file
 * at stop() is not timed.
 */
async function tracedChannelPingPong(): Promise<number> {
  const recorder = startTrace();
  try {
    // Let the clock's helper thread start (until then every event reads the clock).
    await new Promise((resolve) => setTimeout(resolve, 50));
    await channelPingPong();
    return await channelPingPong();
  } finally {
    recorder.stop();
    // Building the file leaves a million event objects behind: collect them now rather
    // than in the middle of the next measurement (`npm run bench` passes --expose-gc).
    (globalThis as { gc?: () => void }).gc?.();
  }
}

export const debugBenchmarks: Benchmark[] = [
  {
    name: 'debug.trace.overhead',
    unit: 'ns/op',
    what: 'hub.channel.pingpong round trip while startTrace() records (default options)',
    measure: tracedChannelPingPong,
    baseline: 'the same, not tracing',
    baselineMeasure: channelPingPong,
    target: '≤ 1.5',
  },
];
