/**
 * A worker's select loop over several channels: jobs, control messages, an idle tick, a default case, and a quit channel.
 * Run: npx tsx examples/select-loop.ts   → prints, in order, what main sends and what the worker does in answer,
 * ending with the worker's summary once main closes the quit channel.
 *
 * The worker collects jobs into batches. Each turn it first polls with `default: true`:
 * if a message is ready it takes it at once, and if none is (the default case) it flushes
 * its batch and then waits, with a timeout that serves as its idle tick. `order: 'listed'`
 * gives the cases a priority (quit, then control, then jobs), so a `pause` overtakes the
 * jobs already buffered; while paused, the jobs case is `null`, disabled (Go's nil
 * channel). Closing `quit` stops the worker: a receive case on a closed channel is ready.
 *
 * The order of events does not depend on the clock. Every hand-off is decided by the
 * scheduler, and the worker ticks only after 20 ms without a message, which happens only
 * while main waits for that tick on `idle` (main's next message comes in the same hub pass
 * as the tick, long before another 20 ms).
 */
import { Channel, type RecvCase, recvCase, run, select, spawn, type GreenletBody } from 'greenlet-ts';

const TICK_MS = 20;
type Control = 'pause' | 'resume';
/** The worker's select cases, highest priority first; a null case is disabled (Go's nil channel). */
type WorkerCases = readonly [RecvCase<never>, RecvCase<Control>, RecvCase<string> | null];

const jobs = new Channel<string>(4); // buffered: main queues jobs without waiting for the worker
const control = new Channel<Control>(); // unbuffered: send() returns once the worker has it
const quit = new Channel<never>(); // carries nothing: closing it is the message
const idle = new Channel<void>(); // the worker's ticks, for whoever is listening

function* worker(): GreenletBody<string> {
  const log = (event: string) => console.log(`  worker: ${event}`);
  // Made once and reused by every select below.
  const quitCase = recvCase(quit);
  const controlCase = recvCase(control);
  const jobsCase = recvCase(jobs);
  let paused = false;
  let batch: string[] = [];
  let jobsDone = 0;
  let batches = 0;
  for (;;) {
    // Typed by hand: `paused` decides the cases and is set from the result, a loop through
    // which TypeScript cannot infer the result's type (error TS7022).
    const cases: WorkerCases = [quitCase, controlCase, paused ? null : jobsCase];
    let r = yield* select(cases, { default: true, order: 'listed' });
    if (r.index === -1) {
      if (batch.length > 0) {
        log(`flush [${batch.join(', ')}]`);
        jobsDone += batch.length;
        batches++;
        batch = [];
      }
      r = yield* select(cases, { timeout: TICK_MS, order: 'listed' });
    }
    switch (r.index) {
      case 0: // quit is closed (nothing is ever sent on it)
        return `quit: ${jobsDone} jobs done in ${batches} batches`;
      case 1:
        if (r.ok) {
          paused = r.value === 'pause';
          log(`control: ${r.value}`);
        }
        break;
      case 2:
        if (r.ok) {
          log(`job ${r.value}`);
          batch.push(r.value);
        }
        break;
      case -1:
        log(paused ? `tick: paused, ${jobs.length} jobs waiting` : 'tick: idle');
        idle.trySend(); // never blocks: a tick nobody waits for is dropped
        break;
    }
  }
}

const summary = await run(function* () {
  const say = (what: string) => console.log(`main: ${what}`);
  const task = spawn(worker);

  say('send jobs a, b');
  yield* jobs.send('a');
  yield* jobs.send('b');
  yield* idle.recv(); // the worker has done them all and found nothing else to do

  say('send jobs c, d, e, then pause');
  for (const job of ['c', 'd', 'e']) yield* jobs.send(job);
  yield* control.send('pause');
  yield* idle.recv();

  say('resume');
  yield* control.send('resume');
  yield* idle.recv();

  say('close quit');
  quit.close();
  return yield* task.get();
});
console.log(`  worker: ${summary}`);
