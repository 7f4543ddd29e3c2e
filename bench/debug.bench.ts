/**
 * Debug-layer benchmarks: what recording a trace costs on the most switch-heavy
 * workload there is, the channel ping-pong (every operation parks, wakes and switches).
 */
import { startTrace } from 'greenlet-ts/debug';
import type { Benchmark } from './harness.js';
import { channelPingPong } from './hub.bench.js';

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
    baselineMeasure: () => channelPingPong(),
    target: '≤ 1.5',
  },
];
