/**
 * The worker thread of examples/process-and-coroutine.ts: its main task receives lines on
 * one channel and sends back, for each batch, how many words it saw; it has a hub of its
 * own, so it could run any number of tasks.
 */
import type { GreenletBody } from 'greenlet-ts';
import type { RemoteReceiver, RemoteSender, WorkerContext } from 'greenlet-ts/workers';

export interface CounterData {
  lines: RemoteReceiver<string[]>;
  counts: RemoteSender<number>;
}

export default function* countWords({ data }: WorkerContext<CounterData>): GreenletBody<string> {
  let batches = 0;
  // Batches of lines, not one line per message: crossing a thread costs tens of µs.
  for (const it = data.lines.iterate(); yield* it.next(); ) {
    const words = it.value.reduce((n, line) => n + line.split(/\s+/).filter(Boolean).length, 0);
    yield* data.counts.send(words);
    batches++;
  }
  data.counts.close();
  return `counted ${batches} batches`;
}
