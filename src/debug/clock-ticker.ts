/**
 * `ClockTicker`: a counter that a helper thread increments about once a millisecond, so
 * that the trace recorder can tell "no millisecond boundary has passed since I last read
 * the clock" for the price of one memory read instead of a clock read.
 *
 * Why it exists. In Node 20 `performance.now()` costs about 40 ns, a third of a task
 * switch round trip; reading it at every switch, park and wake would make a trace cost
 * several times the work it records. The recorder reads the clock only every few events,
 * or as soon as this counter has moved, and places the events in between by
 * interpolation: every event is then within one tick of its true time, and a span that
 * lasts longer than a tick always ends at a real clock reading.
 *
 * Invariants: `ticks[0]` is 0 until the thread has started (the recorder then reads the
 * clock at every event), and only grows afterwards; `ticks[1]` is the stop flag: once set
 * the thread leaves its loop and ends by itself, without `terminate()` and without a
 * round trip through the event loop. The thread is `unref`ed: it never keeps a process
 * alive.
 *
 * @module
 */

/** The helper thread's program (CommonJS, evaluated: it needs no loader and no file). */
const TICKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const ticks = new Int32Array(workerData.buffer);
while (Atomics.load(ticks, 1) === 0) {
  Atomics.add(ticks, 0, 1);
  Atomics.wait(ticks, 1, 0, workerData.periodMs);
}
`;

interface WorkerLike {
  unref(): void;
  on(event: 'error' | 'exit', listener: (arg: unknown) => void): unknown;
}
interface WorkerThreadsModule {
  Worker: new (source: string, options: Record<string, unknown>) => WorkerLike;
}

/**
 * A tick counter advanced by a helper thread every `periodMs`. Create one with
 * {@link ClockTicker.start}; read {@link ClockTicker.ticks}`[0]`; {@link ClockTicker.stop}
 * it when done.
 *
 * ```ts
 * const ticker = ClockTicker.start(1);
 * if (ticker !== null) {
 *   const seen = ticker.ticks[0];
 *   // ... later: has a millisecond boundary passed?
 *   const moved = ticker.ticks[0] !== seen;
 *   ticker.stop();
 * }
 * ```
 */
export class ClockTicker {
  private constructor(
    /** `[0]`: ticks so far (0 until the thread runs); `[1]`: the stop flag. */
    readonly ticks: Int32Array,
    /** Settles when the thread has ended (after `stop()`, or if it failed to start). */
    readonly exited: Promise<void>,
  ) {}

  /**
   * Start a ticker, or return null where threads with shared memory are not available
   * (a browser page that is not cross-origin isolated, Node before 20.16).
   */
  static start(periodMs: number): ClockTicker | null {
    const threads = loadWorkerThreads();
    if (threads === null || typeof SharedArrayBuffer !== 'function') return null;
    const ticks = new Int32Array(new SharedArrayBuffer(8));
    let worker: WorkerLike;
    try {
      worker = new threads.Worker(TICKER_SOURCE, {
        eval: true,
        workerData: { buffer: ticks.buffer, periodMs },
        // The parent's flags may load a TypeScript loader; the ticker needs none.
        execArgv: [],
        stdout: true,
        stderr: true,
        name: 'greenlet-ts trace clock',
      });
      worker.unref();
    } catch {
      return null;
    }
    const exited = new Promise<void>((resolve) => {
      // Without a thread the counter stays at 0, and the recorder reads the clock every time.
      worker.on('error', () => resolve());
      worker.on('exit', () => resolve());
    });
    return new ClockTicker(ticks, exited);
  }

  /** Ask the thread to end; it leaves its loop at once. Idempotent. */
  stop(): void {
    Atomics.store(this.ticks, 1, 1);
    Atomics.notify(this.ticks, 1);
  }
}

function loadWorkerThreads(): WorkerThreadsModule | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  const threads = proc.getBuiltinModule('node:worker_threads') as WorkerThreadsModule | undefined;
  return threads !== undefined && typeof threads.Worker === 'function' ? threads : null;
}
