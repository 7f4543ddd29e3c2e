/**
 * Trace a whole program without changing it: importing this module starts a trace when
 * the environment variable `GREENLET_TRACE` names a file, and writes that file when the
 * process exits.
 *
 * ```sh
 * GREENLET_TRACE=trace.json node --import greenlet-ts/debug/auto-trace app.js
 * # from TypeScript sources, with tsx:
 * GREENLET_TRACE=trace.json node --import tsx --import greenlet-ts/debug/auto-trace app.ts
 * ```
 *
 * Then open `trace.json` in ui.perfetto.dev (or chrome://tracing). Options:
 * - `%p` in the path becomes the process id (`GREENLET_TRACE=trace-%p.json` when a
 *   program starts child processes that inherit the variable and the flag);
 * - `GREENLET_TRACE_LIMIT=200000`: the most recent events kept (default 1,000,000).
 *
 * Only the main thread records (worker threads would write the same file). The file is
 * written synchronously in `process.on('exit')`, so it is complete however the program
 * ends normally (the event loop drains, or `process.exit()`); on SIGINT or SIGTERM that
 * the program does not handle itself, it is written before the signal ends the process.
 * A crash that kills the process outright (a fatal V8 error) writes nothing. One line on
 * stderr says where the trace went.
 *
 * @module
 */
import { isMainThread } from 'node:worker_threads';
import { startTrace, type TraceRecorder } from './trace.js';

/**
 * The recorder started from `GREENLET_TRACE`, or null when the variable is not set (or
 * in a worker thread). A program may stop it early (`autoTrace?.writeTo(path)`); the
 * exit handler then writes nothing more.
 *
 * ```ts
 * import { autoTrace } from 'greenlet-ts/debug/auto-trace';
 * autoTrace?.stop(); // e.g. keep only the start-up of a server
 * ```
 */
export const autoTrace: TraceRecorder | null = startFromEnvironment();

function startFromEnvironment(): TraceRecorder | null {
  const target = process.env.GREENLET_TRACE;
  if (target === undefined || target === '' || !isMainThread) return null;
  const path = target.replace(/%p/g, String(process.pid));
  const limitText = process.env.GREENLET_TRACE_LIMIT;
  const limit = limitText === undefined || limitText === '' ? undefined : Number(limitText);
  let recorder: TraceRecorder;
  try {
    recorder = startTrace({ limit });
  } catch (error) {
    process.stderr.write(`greenlet-ts: GREENLET_TRACE_LIMIT=${String(limitText)} is not a number of events; not tracing (${(error as Error).message})\n`);
    return null;
  }

  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    if (!recorder.recording) return; // the program stopped it and took the file itself
    try {
      const file = recorder.writeTo(path);
      const { recorded, dropped } = file.otherData;
      process.stderr.write(
        `greenlet-ts: trace of ${recorded - dropped} events written to ${path}${dropped > 0 ? ` (${dropped} older events dropped)` : ''}; open it in ui.perfetto.dev\n`,
      );
    } catch (error) {
      process.stderr.write(`greenlet-ts: could not write the trace (GREENLET_TRACE=${target}): ${(error as Error).message}\n`);
    }
  };
  process.on('exit', write);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      // A program that handles the signal decides when to exit: 'exit' writes then.
      if (process.listenerCount(signal) > 1) return;
      write();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
  return recorder;
}
