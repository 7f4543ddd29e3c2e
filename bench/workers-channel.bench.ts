/**
 * Cross-thread channel benchmark: a round trip between a task of this thread and a task
 * of a worker thread through a pair of remote channels, against the same round trip with
 * raw MessagePort `postMessage` / `'message'` callbacks, both with a worker started for
 * the measurement. The workers run from the build (`npm run bench` builds first), as an
 * application would run them; this side runs the library from source like the other
 * benchmarks of this process.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { run, type GreenletBody } from 'greenlet-ts';
import { remoteChannel, startWorker } from 'greenlet-ts/workers';
import type { Benchmark } from './harness.js';

/** The worker runtime from the build. */
const RUNNER = new URL('../dist/workers/worker.js', import.meta.url);
const WARMUP = 2_000;
const ROUNDS = 10_000;

/**
 * The worker module: echo every value back until the input closes. A data: module needs
 * no import: the channel ends it receives carry their methods.
 */
const ECHO_MODULE = `data:text/javascript,${encodeURIComponent(`
export default function* ({ data }) {
  const { input, output } = data;
  for (;;) {
    const [value, ok] = yield* input.recvOk();
    if (!ok) break;
    yield* output.send(value);
  }
  output.close();
}
`)}`;

/** ns per round trip: a task sends a number to the worker's task and receives it back. */
function channelRoundTrip(): Promise<number> {
  return run(function* (): GreenletBody<number> {
    const [ping, pingThere] = remoteChannel<number>(16);
    const [pongThere, pong] = remoteChannel<number>(16);
    const worker = startWorker(ECHO_MODULE, { runner: RUNNER, data: { input: pingThere, output: pongThere } });
    try {
      for (let i = 0; i < WARMUP; i++) {
        yield* ping.send(i);
        yield* pong.recv();
      }
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < ROUNDS; i++) {
        yield* ping.send(i);
        yield* pong.recv();
      }
      return Number(process.hrtime.bigint() - t0) / ROUNDS;
    } finally {
      ping.close();
      yield* worker.join();
    }
  });
}

/** The worker of the baseline: echo every message on the port it is given. */
const RAW_ECHO = `
const { workerData } = require('node:worker_threads');
const port = workerData.port;
port.on('message', (m) => (m === null ? port.close() : port.postMessage(m)));
`;

/** ns per round trip with raw MessagePort callbacks. */
async function rawRoundTrip(): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(RAW_ECHO, { eval: true, workerData: { port: port2 }, transferList: [port2] });
  const pingPong = (n: number): Promise<void> =>
    new Promise((resolve) => {
      let i = 0;
      port1.removeAllListeners('message');
      port1.on('message', () => {
        if (++i === n) resolve();
        else port1.postMessage(i);
      });
      port1.postMessage(0);
    });
  try {
    await pingPong(WARMUP);
    const t0 = process.hrtime.bigint();
    await pingPong(ROUNDS);
    return Number(process.hrtime.bigint() - t0) / ROUNDS;
  } finally {
    port1.postMessage(null);
    port1.close();
    await worker.terminate();
  }
}

export const workersChannelBenchmarks: Benchmark[] = [
  {
    name: 'workers.channel.pingpong',
    unit: 'ns/op',
    what: `round trip main task ↔ worker task through two remote channels, ${ROUNDS} trips`,
    measure: channelRoundTrip,
    baseline: 'raw MessagePort postMessage/message ping-pong with a worker',
    baselineMeasure: rawRoundTrip,
    target: '≤ 1.3',
    // Short alternating runs, many of them: the median shrugs off a burst of load on the cores.
    rounds: 9,
  },
];
