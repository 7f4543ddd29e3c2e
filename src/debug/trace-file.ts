/**
 * The trace file: the subset of the Chrome Trace Event Format (JSON object format) that
 * the recorder writes, and {@link writeTraceFile}, which writes one to disk in chunks.
 *
 * The format is Google's "Trace Event Format" document; Perfetto (ui.perfetto.dev) and
 * chrome://tracing open it. The recorder uses three phases:
 * - `X` (complete event): a greenlet ran from `ts` for `dur` microseconds;
 * - `i` with `s: 't'` (instant, thread scope): spawn, park, wake, kill, interrupt, throw,
 *   end, on the track of the greenlet it happened to;
 * - `M` (metadata): `process_name`, `thread_name` (one per track), `thread_sort_index`.
 *
 * Timestamps are microseconds on the `performance.now()` clock; `pid` is the process id;
 * `tid` is a small number per greenlet, given in order of first appearance.
 *
 * @module
 */

/** One event of a trace file. */
export interface TraceEvent {
  /** The greenlet's name on a span, the event on an instant ("park"), the metadata kind. */
  name: string;
  /** `X`: a span; `i`: an instant; `M`: metadata. */
  ph: 'X' | 'i' | 'M';
  /** Microseconds (`performance.now()` × 1000); 0 on metadata. */
  ts: number;
  /** Duration of a span, in microseconds. */
  dur?: number;
  /** Scope of an instant: always the thread (the greenlet's track). */
  s?: 't';
  pid: number;
  /** The greenlet's track. */
  tid: number;
  /** `greenlet` on spans and instants. */
  cat?: string;
  /** What the event is about: `{ on }` for a park, `{ spawner }` for a spawn, `{ error }`. */
  args?: Record<string, string | number | boolean>;
}

/** What the recorder says about itself, in the file's `otherData`. */
export interface TraceMetadata {
  producer: string;
  version: string;
  /** `exact`: the clock was read at every event; `sampled`: see `TraceOptions.clock`. */
  clock: 'exact' | 'sampled';
  /** The bound on recorded events. */
  limit: number;
  /** What happened past the limit: the oldest events were dropped, or recording stopped. */
  overflow: 'drop-oldest' | 'stop';
  /** Events recorded (spans and instants), including those dropped. */
  recorded: number;
  /** Events lost to the limit. */
  dropped: number;
  /** Wall-clock time the recording started (ISO 8601). */
  startedAt: string;
  /** How long it recorded, in milliseconds. */
  durationMs: number;
}

/**
 * A Chrome Trace Event JSON object: `JSON.stringify` it to a `.json` file and open that
 * in ui.perfetto.dev or chrome://tracing.
 *
 * ```ts
 * const file: TraceFile = recorder.stop();
 * console.log(file.traceEvents.filter((e) => e.name === 'park').length, 'parks');
 * ```
 */
export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: TraceMetadata;
}

/** Writing a trace file is impossible here (no `node:fs`), or the write failed. */
export class TraceWriteError extends Error {
  static {
    this.prototype.name = 'TraceWriteError';
  }
}

interface FsLike {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, text: string): number;
  closeSync(fd: number): void;
}

/** Events per write: keeps the largest string built at a time small. */
const CHUNK = 20_000;

/**
 * Write `file` to `path` as JSON, synchronously (it works in a `process.on('exit')`
 * handler), one event per line, without building the whole text in memory.
 *
 * ```ts
 * writeTraceFile('trace.json', recorder.stop());
 * ```
 */
export function writeTraceFile(path: string, file: TraceFile): void {
  const fs = loadFs();
  let fd: number;
  try {
    fd = fs.openSync(path, 'w');
  } catch (error) {
    throw new TraceWriteError(`cannot write the trace to ${path}: ${(error as Error).message}; pass a path in a writable directory`, { cause: error });
  }
  try {
    const { traceEvents, ...rest } = file;
    fs.writeSync(fd, '{"traceEvents":[\n');
    for (let i = 0; i < traceEvents.length; i += CHUNK) {
      const part = traceEvents.slice(i, i + CHUNK).map((e) => JSON.stringify(e));
      fs.writeSync(fd, (i === 0 ? '' : ',\n') + part.join(',\n'));
    }
    const tail = JSON.stringify(rest);
    fs.writeSync(fd, `\n],${tail.slice(1)}\n`);
  } finally {
    fs.closeSync(fd);
  }
}

function loadFs(): FsLike {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = typeof proc?.getBuiltinModule === 'function' ? (proc.getBuiltinModule('node:fs') as FsLike | undefined) : undefined;
  if (fs === undefined) {
    throw new TraceWriteError(
      'writing a trace file needs node:fs (Node >= 20.16); elsewhere, take the object from ' +
        '`recorder.stop()` and save `JSON.stringify(file)` yourself',
    );
  }
  return fs;
}
