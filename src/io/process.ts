/**
 * Child processes from tasks, on `node:child_process`: gevent's `subprocess`, cooperative.
 * `runProcess()` runs a command to its end and collects its output (gevent's and Python's
 * `subprocess.run`); `spawnProcess()` gives a {@link Subprocess} handle whose output a task
 * reads as it comes.
 *
 * How `runProcess` waits. Node callbacks do the I/O: `'data'` listeners collect stdout and
 * stderr (so a child that fills one pipe while we wait on the other cannot deadlock, the
 * trap of Python's `wait()`), and the input goes to stdin through `stream.pipeline`, which
 * writes a chunk only when the pipe has room (back-pressure). The task parks on one
 * {@link Notifier}, woken by what can end the run: the child's `'close'` (it exited and
 * both pipes reached their end), stdout or stderr passing `maxBuffer`, or the input
 * failing.
 *
 * The child never outlives the call. Whatever makes `runProcess` leave early (its
 * `timeout`, `maxBuffer`, a kill of the task, any `Timeout` of the caller) stops the child
 * before the error goes on: `killSignal` (SIGTERM), then SIGKILL if it has not exited
 * after `killGraceMs`; the task waits for the exit, so when the error reaches the caller
 * the pid is gone. A second kill that arrives during that wait sends SIGKILL at once and
 * goes on without waiting (the child is dying; the OS reaps it).
 *
 * Invariants:
 * - a {@link Subprocess} records its exit once (`'exit'`), and wakes every task in
 *   `wait()` / `stop()` with it; a task that leaves such a wait (kill, timeout) is
 *   forgotten by `unpark`;
 * - a {@link Notifier} has at most one waiting task; a notification with nobody waiting
 *   is kept (level-triggered), so a waiter that checks its condition before waiting
 *   misses nothing;
 * - every stdio stream of a child has an `'error'` listener from the start, so an EPIPE
 *   never crashes the process.
 *
 * Coming from gevent: `subprocess.run(args, input=, timeout=, check=, capture_output=True)`
 * is `runProcess(command, args, { input, timeout, check })`; output is always captured.
 * `TimeoutExpired` is {@link ProcessTimeout} (a `Timeout`), `CalledProcessError` is
 * {@link ProcessFailed}. On a timeout or a kill gevent sends SIGKILL at once; here the child
 * gets `killSignal` and `killGraceMs` to exit first. Only the child is signalled, not its
 * own children (as in Python); `runProcess` stops waiting for pipes a grandchild still
 * holds open `killGraceMs` after the child has exited.
 *
 * @module
 */
import { spawn as spawnChild, type ChildProcess, type StdioOptions } from 'node:child_process';
import { pipeline, type Readable, type Writable } from 'node:stream';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { immediate, type Performed, type SwitchOp } from '../core/switcher.js';
import { HOST_WAIT, blockingOperation, currentTask, park, wake, type Parking, type Schedulable } from '../hub/hub.js';
import { Timeout } from '../hub/timeout.js';
import { once } from '../interop/events.js';
import { LineReader, type LineEncoding } from './line-reader.js';

/** How a child process ended: its exit code, or the signal that killed it (the other is null). */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What {@link runProcess} evaluates to: how the child ended and everything it wrote. */
export interface ProcessResult<T extends Buffer | string = Buffer> extends ExitStatus {
  readonly pid: number;
  readonly stdout: T;
  readonly stderr: T;
}

/** Options shared by {@link runProcess} and {@link spawnProcess}. */
export interface ProcessOptions {
  /** The child's working directory. Default: this process's. */
  cwd?: string | URL;
  /** The child's whole environment (not merged: pass `{ ...process.env, NAME: 'v' }`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The first signal `stop()` (and a timeout or a kill of `runProcess`) sends. Default `'SIGTERM'`. */
  killSignal?: NodeJS.Signals;
  /** How long a child may take to exit after `killSignal` before it gets SIGKILL, in ms. Default 1000. */
  killGraceMs?: number;
}

/** Options of {@link runProcess}. */
export interface RunProcessOptions extends ProcessOptions {
  /**
   * What to write to the child's stdin, which is then closed: a string, bytes, or a Node
   * `Readable` / async iterable of chunks, read only as fast as the child reads
   * (back-pressure). Without it the child's stdin is `/dev/null`.
   */
  input?: string | Uint8Array | AsyncIterable<string | Uint8Array>;
  /** Decode stdout and stderr to strings with this encoding. Default: Buffers. */
  encoding?: BufferEncoding;
  /**
   * Stop the child and raise {@link ProcessTimeout} if it has not finished after this many
   * milliseconds.
   */
  timeout?: number;
  /**
   * The most bytes kept of stdout, and of stderr. If the child writes more, it is
   * stopped and {@link MaxBufferExceeded} raised. Default 64 MiB.
   */
  maxBuffer?: number;
  /** Raise {@link ProcessFailed} if the child exits with a non-zero code or is killed by a signal. */
  check?: boolean;
  /** Called with the child's pid as soon as it has started (to log it, or to watch it). */
  onSpawn?: (pid: number) => void;
}

/** What becomes of one of a spawned child's standard streams. */
export type StdioMode = 'pipe' | 'ignore' | 'inherit';

/** Options of {@link spawnProcess}. */
export interface SpawnProcessOptions extends ProcessOptions {
  /** `'pipe'` (default): write with `child.write()`; `'ignore'`: `/dev/null`; `'inherit'`: ours. */
  stdin?: StdioMode;
  /** `'pipe'` (default): read with `child.stdout`; `'ignore'`; `'inherit'`. */
  stdout?: StdioMode;
  /** `'pipe'` (default): read with `child.stderr`; `'ignore'`; `'inherit'`. */
  stderr?: StdioMode;
  /** How `readLine()` of `child.stdout` / `child.stderr` decodes. Default `'utf8'`. */
  encoding?: LineEncoding;
  /** The longest line `readLine()` accepts, in bytes. Default 1 MiB. */
  maxLineLength?: number;
}

const DEFAULT_KILL_GRACE_MS = 1000;
/** The default of {@link RunProcessOptions.maxBuffer}: 64 MiB per stream. */
export const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;
const STDERR_TAIL = 2000;

/** `cmd arg 'two words'`, short enough for a message. */
function describeCommand(command: string, args: readonly string[]): string {
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : JSON.stringify(s));
  const text = [command, ...args].map(quote).join(' ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function describeEnd(status: ExitStatus): string {
  return status.signal !== null ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}

function tail(output: Buffer | string): string {
  const text = typeof output === 'string' ? output : output.toString('utf8');
  const trimmed = text.trimEnd();
  return trimmed.length > STDERR_TAIL ? `...${trimmed.slice(-STDERR_TAIL)}` : trimmed;
}

/** What the errors of a run know about it. */
export interface ProcessErrorDetails {
  readonly command: string;
  readonly args: readonly string[];
  /** Undefined if the child never started. */
  readonly pid: number | undefined;
  /** What the child wrote to stdout (so far), decoded if `encoding` was given. */
  readonly stdout: Buffer | string;
  /** What the child wrote to stderr (so far). */
  readonly stderr: Buffer | string;
}

/**
 * A child did not finish in time: raised by `runProcess` with `timeout` (after stopping the
 * child; `stdout` and `stderr` hold what it wrote until then, `signal` how it ended) and
 * by `child.wait(timeout)` (the child still runs; `signal` is null). A {@link Timeout}, so
 * `catch (e) { if (e instanceof Timeout) ... }` catches it; Python's `TimeoutExpired`.
 *
 * ```ts
 * try {
 *   yield* runProcess('make', ['test'], { timeout: 60_000 });
 * } catch (e) {
 *   if (!(e instanceof ProcessTimeout)) throw e;
 *   console.log('too slow; it had printed:', e.stdout.toString());
 * }
 * ```
 */
export class ProcessTimeout extends Timeout implements ProcessErrorDetails {
  readonly command: string;
  readonly args: readonly string[];
  readonly pid: number | undefined;
  readonly stdout: Buffer | string;
  readonly stderr: Buffer | string;
  /** The signal the child ended with after it was stopped; null if it was not stopped. */
  readonly signal: NodeJS.Signals | null;

  constructor(ms: number, details: ProcessErrorDetails, end: ExitStatus | null) {
    super(ms);
    this.command = details.command;
    this.args = details.args;
    this.pid = details.pid;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
    this.signal = end?.signal ?? null;
    const who = `${describeCommand(details.command, details.args)} (pid ${details.pid})`;
    this.message =
      end === null
        ? `${who} did not exit within ${ms} ms and is still running: wait longer, or end it with yield* child.stop()`
        : `${who} did not finish within ${ms} ms and was stopped (it ${describeEnd(end)}); error.stdout and ` +
          'error.stderr hold what it wrote until then. Pass a larger timeout if it needs longer';
  }

  static {
    this.prototype.name = 'ProcessTimeout';
  }
}

/**
 * A child run with `check: true` exited with a non-zero code or was killed by a signal;
 * Python's `CalledProcessError`. The message ends with the tail of its stderr.
 *
 * ```ts
 * try {
 *   yield* runProcess('git', ['pull'], { check: true, encoding: 'utf8' });
 * } catch (e) {
 *   if (e instanceof ProcessFailed && e.code === 1) console.log(e.stderr);
 *   else throw e;
 * }
 * ```
 */
export class ProcessFailed extends Error implements ProcessErrorDetails, ExitStatus {
  readonly command: string;
  readonly args: readonly string[];
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer | string;
  readonly stderr: Buffer | string;

  constructor(details: ProcessErrorDetails, status: ExitStatus) {
    const end = tail(details.stderr);
    super(
      `${describeCommand(details.command, details.args)} (pid ${details.pid}) ${describeEnd(status)}` +
        (end === '' ? ' and wrote nothing to stderr' : `; its stderr ends with:\n${end}`),
    );
    this.command = details.command;
    this.args = details.args;
    this.pid = details.pid;
    this.code = status.code;
    this.signal = status.signal;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }

  static {
    this.prototype.name = 'ProcessFailed';
  }
}

/**
 * A child wrote more than `maxBuffer` bytes to stdout or stderr in `runProcess`: it was
 * stopped, and `stdout` / `stderr` hold the first `maxBuffer` bytes of each.
 *
 * ```ts
 * try {
 *   yield* runProcess('git', ['log'], { maxBuffer: 1024 * 1024 });
 * } catch (e) {
 *   if (!(e instanceof MaxBufferExceeded)) throw e;
 *   console.log(`the first MiB of ${e.stream}:`, e.stdout.toString());
 * }
 * ```
 */
export class MaxBufferExceeded extends Error implements ProcessErrorDetails {
  readonly command: string;
  readonly args: readonly string[];
  readonly pid: number | undefined;
  readonly stdout: Buffer | string;
  readonly stderr: Buffer | string;

  constructor(
    details: ProcessErrorDetails,
    /** The stream that overflowed. */
    readonly stream: 'stdout' | 'stderr',
    /** The limit, in bytes. */
    readonly maxBuffer: number,
  ) {
    super(
      `${describeCommand(details.command, details.args)} (pid ${details.pid}) wrote more than ${maxBuffer} bytes ` +
        `to ${stream} (maxBuffer) and was stopped; error.${stream} holds the first ${maxBuffer}. Pass a larger ` +
        'maxBuffer, or read the output as it comes with spawnProcess()',
    );
    this.command = details.command;
    this.args = details.args;
    this.pid = details.pid;
    this.stdout = details.stdout;
    this.stderr = details.stderr;
  }

  static {
    this.prototype.name = 'MaxBufferExceeded';
  }
}

const TIMED_OUT: unique symbol = Symbol('timed out');
const NONE: unique symbol = Symbol('none');

/**
 * One task waiting for "something happened", woken by callbacks. Level-triggered: a
 * notification while nobody waits is kept for the next wait.
 */
class Notifier implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  #task: Schedulable | null = null;
  #pending = false;

  constructor(readonly describe: () => string) {}

  readonly notify = (): void => {
    const task = this.#task;
    if (task === null) {
      this.#pending = true;
      return;
    }
    this.#task = null;
    wake(task, true);
  };

  /** Wait for a notification: true, or false after `ms`. Called in performs only (not an operation). */
  wait(operation: string, ms?: number): Performed<boolean> {
    const task = currentTask(operation);
    if (this.#pending) {
      this.#pending = false;
      return immediate(true);
    }
    this.#task = task;
    return ms === undefined ? park(task, this) : park(task, this, Math.max(0, ms), false);
  }

  unpark(): void {
    this.#task = null;
  }

  toString(): string {
    return this.describe();
  }
}

/** Tasks waiting for a child's exit. */
class ExitWait implements Parking {
  /** @internal Woken by the host (see HOST_WAIT). */
  get [HOST_WAIT](): boolean {
    return true;
  }

  readonly tasks = new Set<Schedulable>();
  constructor(readonly child: Subprocess) {}
  unpark(task: Schedulable): void {
    this.tasks.delete(task);
  }
  toString(): string {
    return `${String(this.child)}.wait()`;
  }
}

function ignore(): void {}

/** Errors of writing to a child's stdin that mean "the child stopped reading": not failures. */
function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === 'EPIPE' ||
    code === 'ECONNRESET' ||
    code === 'ERR_STREAM_DESTROYED' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE'
  );
}

/** A private token: only this module constructs Subprocess. */
const CONSTRUCT: unique symbol = Symbol('construct');

/**
 * A running child process, made by {@link spawnProcess}: gevent's `Popen`. Read its output
 * with `child.stdout` / `child.stderr` ({@link LineReader}s), write its input with
 * `yield* child.write(data)` and `child.closeInput()`, wait for it with
 * `yield* child.wait()`, end it with `yield* child.stop()` or `child.kill(signal)`.
 *
 * ```ts
 * using child = yield* spawnProcess('tail', ['-f', logPath], { stdin: 'ignore' });
 * for (let line; (line = yield* child.stdout!.readLine()) !== DONE; ) {
 *   if (line.includes('ready')) break;
 * }
 * yield* child.stop(); // SIGTERM, SIGKILL after killGraceMs; evaluates to the exit status
 * ```
 *
 * Read what you pipe: a child whose stdout or stderr pipe is full stops until someone
 * reads it, and then never exits (use `'ignore'` for output you do not want, or
 * `runProcess`, which collects both). Disposing the handle (`using`) SIGKILLs a child that
 * is still running and does not wait; `yield* child.stop()` waits.
 */
export class Subprocess implements Disposable {
  /** The child's process id. */
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  /** The Node `ChildProcess` underneath, for what this class does not offer. */
  readonly childProcess: ChildProcess;
  /** The child's stdout, read by chunks or lines; null unless piped. */
  readonly stdout: LineReader | null;
  /** The child's stderr; null unless piped. */
  readonly stderr: LineReader | null;
  readonly #killSignal: NodeJS.Signals;
  readonly #killGraceMs: number;
  readonly #exitWait: ExitWait;
  #exit: ExitStatus | null = null;
  #stdinError: unknown = NONE;
  /** @internal The error the spawn failed with (ENOENT...), once Node has emitted it. */
  spawnError: unknown = NONE;

  /** @internal Made by spawnProcess / runProcess. */
  constructor(
    token: typeof CONSTRUCT,
    child: ChildProcess,
    command: string,
    args: readonly string[],
    options: ProcessOptions & { encoding?: LineEncoding; maxLineLength?: number; readers: boolean },
  ) {
    if (token !== CONSTRUCT) throw new TypeError('a Subprocess is made by spawnProcess(), not by new');
    this.childProcess = child;
    this.pid = child.pid ?? -1;
    this.command = command;
    this.args = args;
    this.#killSignal = options.killSignal ?? 'SIGTERM';
    this.#killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.#exitWait = new ExitWait(this);
    child.on('error', (error: unknown) => {
      if (this.spawnError === NONE && child.pid === undefined) this.spawnError = error;
    });
    child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => this.#exited({ code, signal }));
    child.stdin?.on('error', (error: unknown) => {
      if (this.#stdinError === NONE) this.#stdinError = error;
    });
    child.stdout?.on('error', ignore);
    child.stderr?.on('error', ignore);
    const readerOptions = { encoding: options.encoding, maxLineLength: options.maxLineLength };
    this.stdout = options.readers && child.stdout !== null ? new LineReader(child.stdout, readerOptions) : null;
    this.stderr = options.readers && child.stderr !== null ? new LineReader(child.stderr, readerOptions) : null;
  }

  #exited(status: ExitStatus): void {
    if (this.#exit !== null) return;
    this.#exit = status;
    const tasks = [...this.#exitWait.tasks];
    this.#exitWait.tasks.clear();
    for (const task of tasks) wake(task, status);
  }

  /** How the child ended, or null while it runs (Python's `poll()`). */
  get exitStatus(): ExitStatus | null {
    return this.#exit;
  }

  /**
   * Wait for the child to exit and evaluate to how it ended. With `timeout` (ms), raise
   * {@link ProcessTimeout} if it is still running then (it is not stopped). Several tasks
   * may wait at once. Inside a task: `const { code } = yield* child.wait()`.
   *
   * The exit is the process's end; output it wrote may still be unread in `child.stdout`.
   */
  wait(timeout?: number): SwitchOp<ExitStatus> {
    return lazy(WAIT, this, timeout, undefined);
  }

  /** @internal Performs {@link Subprocess.wait}. */
  performWait(timeout: number | undefined): Performed<ExitStatus> {
    const task = currentTask('child.wait()');
    if (this.#exit !== null) return immediate(this.#exit);
    if (timeout !== undefined) return this.#timedWait(task, timeout);
    this.#exitWait.tasks.add(task);
    return park(task, this.#exitWait);
  }

  *#timedWait(task: Schedulable, timeout: number): GreenletBody<ExitStatus> {
    if (this.#exit !== null) return this.#exit;
    this.#exitWait.tasks.add(task);
    const status = yield* park<ExitStatus | typeof TIMED_OUT>(task, this.#exitWait, Math.max(0, timeout), TIMED_OUT);
    if (status !== TIMED_OUT) return status;
    throw new ProcessTimeout(
      timeout,
      { command: this.command, args: this.args, pid: this.pid, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) },
      null,
    );
  }

  /** The exit status, or TIMED_OUT after `ms`; waits forever without `ms`. */
  *#waitExit(ms?: number): GreenletBody<ExitStatus | typeof TIMED_OUT> {
    const task = currentTask('child.stop()');
    if (this.#exit !== null) return this.#exit;
    this.#exitWait.tasks.add(task);
    return yield* (ms === undefined
      ? park<ExitStatus>(task, this.#exitWait)
      : park<ExitStatus | typeof TIMED_OUT>(task, this.#exitWait, Math.max(0, ms), TIMED_OUT));
  }

  /**
   * Send `signal` (default `'SIGTERM'`) to the child; does not wait. False if it has
   * already exited (or the signal could not be sent).
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#exit !== null || this.childProcess.pid === undefined) return false;
    return this.childProcess.kill(signal);
  }

  /**
   * End the child and wait until it has exited: `killSignal` (SIGTERM), then SIGKILL if it
   * is still running after `graceMs` (default `killGraceMs`, 1000). Evaluates to how it
   * ended; at once if it already had. If the task is killed meanwhile, the child gets
   * SIGKILL at once and the kill goes on.
   *
   * ```ts
   * const { signal } = yield* child.stop(200);
   * ```
   */
  stop(graceMs: number = this.#killGraceMs): SwitchOp<ExitStatus> {
    return lazy(STOP, this, graceMs, undefined);
  }

  /** @internal Performs {@link Subprocess.stop}. */
  *performStop(graceMs: number): GreenletBody<ExitStatus> {
    if (this.#exit !== null) return this.#exit;
    this.kill(this.#killSignal);
    try {
      const status = yield* this.#waitExit(graceMs);
      if (status !== TIMED_OUT) return status;
      this.kill('SIGKILL');
      return (yield* this.#waitExit()) as ExitStatus;
    } catch (error) {
      this.kill('SIGKILL');
      throw error;
    }
  }

  #stdin(operation: string): Writable {
    const stdin = this.childProcess.stdin;
    if (stdin === null) {
      throw new TypeError(`${operation}: the child's stdin is not a pipe; spawn it with { stdin: 'pipe' }`);
    }
    return stdin;
  }

  /**
   * Write `data` to the child's stdin, waiting while the pipe is full (back-pressure): the
   * task resumes when the child has read enough. Raises the pipe's error (`EPIPE`) if the
   * child closed its stdin or exited.
   *
   * ```ts
   * for (const row of rows) yield* child.write(`${row}\n`);
   * child.closeInput();
   * ```
   */
  write(data: string | Uint8Array): SwitchOp<void> {
    return lazy(WRITE, this, data, undefined);
  }

  /** @internal Performs {@link Subprocess.write}. */
  *performWrite(data: string | Uint8Array): GreenletBody<void> {
    const stdin = this.#stdin('child.write()');
    if (this.#stdinError !== NONE) throw this.#stdinError;
    if (stdin.writableEnded || stdin.destroyed) {
      throw Object.assign(new Error(`child.write(): the stdin of ${String(this)} is closed (closeInput() or exit)`), {
        code: 'ERR_STREAM_DESTROYED',
      });
    }
    if (stdin.write(data)) return;
    const notifier = new Notifier(() => `${String(this)}.write()`);
    stdin.on('drain', notifier.notify);
    stdin.on('close', notifier.notify);
    stdin.on('error', notifier.notify);
    try {
      while (stdin.writableNeedDrain && !stdin.destroyed) yield* notifier.wait('child.write()');
    } finally {
      stdin.removeListener('drain', notifier.notify);
      stdin.removeListener('close', notifier.notify);
      stdin.removeListener('error', notifier.notify);
    }
    if (this.#stdinError !== NONE) throw this.#stdinError;
  }

  /** Close the child's stdin (it reads end-of-file once it has read what was written). Does not block. */
  closeInput(): void {
    this.#stdin('child.closeInput()').end();
  }

  /** SIGKILL the child if it still runs, and close its pipes; does not wait. */
  [Symbol.dispose](): void {
    this.kill('SIGKILL');
    this.stdout?.close();
    this.stderr?.close();
    this.childProcess.stdin?.destroy();
  }

  toString(): string {
    return `Subprocess(${describeCommand(this.command, this.args)}, pid ${this.pid})`;
  }
}

const WAIT = blockingOperation<Subprocess, number | undefined, undefined, ExitStatus>('child.wait()', (child, timeout) =>
  child.performWait(timeout),
);
const STOP = blockingOperation<Subprocess, number, undefined, ExitStatus>('child.stop()', (child, graceMs) => child.performStop(graceMs));
const WRITE = blockingOperation<Subprocess, string | Uint8Array, undefined, void>('child.write()', (child, data) =>
  child.performWrite(data),
);

function stdio(mode: StdioMode | undefined): StdioMode {
  return mode ?? 'pipe';
}

/**
 * Start `command` with `args` (no shell: pass `'sh', ['-c', line]` for one) and evaluate to
 * a {@link Subprocess} handle. Raises the spawn error (`ENOENT` for a command that does not
 * exist) instead of giving a handle without a pid.
 *
 * ```ts
 * const child = yield* spawnProcess('sort', [], { stderr: 'inherit' });
 * yield* child.write('b\na\n');
 * child.closeInput();
 * const first = yield* child.stdout!.readLine(); // 'a'
 * yield* child.wait();
 * ```
 *
 * The child is not tied to the task: end it with `yield* child.stop()` (or `using`, which
 * SIGKILLs it without waiting) when you are done. `runProcess` is the call that ties them.
 */
export function spawnProcess(command: string, args: readonly string[] = [], options: SpawnProcessOptions = {}): SwitchOp<Subprocess> {
  return lazy(SPAWN_PROCESS, command, args, options);
}

const SPAWN_PROCESS = blockingOperation<string, readonly string[], SpawnProcessOptions, Subprocess>('spawnProcess()', spawning);

function* spawning(command: string, args: readonly string[], options: SpawnProcessOptions): GreenletBody<Subprocess> {
  currentTask('spawnProcess()');
  const child = spawnChild(command, [...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: [stdio(options.stdin), stdio(options.stdout), stdio(options.stderr)] as StdioOptions,
    windowsHide: true,
  });
  const sub = new Subprocess(CONSTRUCT, child, command, args, { ...options, readers: true });
  if (child.pid === undefined) {
    // Node reports a failed spawn on the next tick, with an 'error' event.
    if (sub.spawnError === NONE) yield* once(child, 'error');
    throw sub.spawnError;
  }
  return sub;
}

/** Collects a child's output for runProcess, and notifies its task of what ends the run. */
class ProcessRun {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  stdoutLength = 0;
  stderrLength = 0;
  overflow: 'stdout' | 'stderr' | null = null;
  inputError: unknown = NONE;
  closed = false;
  status: ExitStatus = { code: null, signal: null };
  readonly notifier: Notifier;

  constructor(
    readonly sub: Subprocess,
    readonly maxBuffer: number,
    readonly encoding: BufferEncoding | undefined,
  ) {
    this.notifier = new Notifier(() => `runProcess(${describeCommand(sub.command, sub.args)}, pid ${sub.pid})`);
    const child = sub.childProcess;
    child.stdout?.on('data', (chunk: Buffer) => this.#take('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#take('stderr', chunk));
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      this.closed = true;
      this.status = { code, signal };
      this.notifier.notify();
    });
  }

  #take(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.overflow !== null) return; // the child is being stopped: drop the rest
    const length = stream === 'stdout' ? this.stdoutLength : this.stderrLength;
    const room = this.maxBuffer - length;
    let kept = chunk;
    if (chunk.length > room) {
      kept = chunk.subarray(0, room);
      this.overflow = stream;
    }
    if (stream === 'stdout') {
      this.stdout.push(kept);
      this.stdoutLength += kept.length;
    } else {
      this.stderr.push(kept);
      this.stderrLength += kept.length;
    }
    if (this.overflow !== null) this.notifier.notify(); // the task stops the child
  }

  /** Write `input` to stdin through a pipeline, which waits for the pipe to have room. */
  feed(input: string | Uint8Array | AsyncIterable<string | Uint8Array>): void {
    const stdin = this.sub.childProcess.stdin as Writable;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      // Node hands the bytes to the pipe as the child reads them; nothing is copied.
      stdin.end(input);
      return;
    }
    pipeline(input as Readable | AsyncIterable<string | Uint8Array>, stdin, (error) => {
      if (error === undefined || error === null || isBrokenPipe(error)) return;
      if (this.inputError === NONE) this.inputError = error;
      this.notifier.notify();
    });
  }

  /** Park until the run ends: the child closed, an output overflowed, or the input failed. */
  *waitUntilDone(): GreenletBody<void> {
    while (!this.closed && this.overflow === null && this.inputError === NONE) {
      yield* this.notifier.wait('runProcess()');
    }
  }

  /**
   * Stop the child and wait for it to exit, then give its pipes `killGraceMs` to reach
   * their end (a grandchild may hold them open) and close them.
   */
  *stop(graceMs: number): GreenletBody<void> {
    this.sub.childProcess.stdin?.destroy();
    yield* this.sub.performStop(graceMs);
    const until = performance.now() + graceMs;
    while (!this.closed) {
      const left = until - performance.now();
      if (left <= 0 || !(yield* this.notifier.wait('runProcess()', left))) break;
    }
    if (!this.closed) {
      this.sub.childProcess.stdout?.destroy();
      this.sub.childProcess.stderr?.destroy();
    }
  }

  output(chunks: Buffer[]): Buffer | string {
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    return this.encoding === undefined ? bytes : bytes.toString(this.encoding);
  }

  details(): ProcessErrorDetails {
    const sub = this.sub;
    return {
      command: sub.command,
      args: sub.args,
      pid: sub.pid,
      stdout: this.output(this.stdout),
      stderr: this.output(this.stderr),
    };
  }
}

/**
 * Run `command` with `args` in a child process (no shell: pass `'sh', ['-c', line]` for
 * one), wait for it to finish, and evaluate to `{ code, signal, pid, stdout, stderr }`:
 * gevent's `subprocess.run(..., capture_output=True)`. Only the task waits; other tasks run.
 *
 * ```ts
 * const { code, stdout } = yield* runProcess('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', check: true });
 * const sorted = yield* runProcess('sort', [], { input: 'b\na\n', timeout: 5000 });
 * ```
 *
 * - `input` is written to stdin with back-pressure, then stdin is closed;
 * - `timeout`: the child is stopped and {@link ProcessTimeout} raised, with the output so far;
 * - `maxBuffer` (per stream, default 64 MiB): the child is stopped and
 *   {@link MaxBufferExceeded} raised;
 * - `check: true`: a non-zero exit (or death by a signal) raises {@link ProcessFailed};
 * - a spawn that fails raises Node's error (`ENOENT`...).
 *
 * If the task is killed, or a `Timeout` of the caller strikes, while the child runs, the
 * child is stopped (`killSignal`, then SIGKILL after `killGraceMs`) and its exit awaited
 * before the error goes on: no orphan is left behind.
 */
export function runProcess(
  command: string,
  args?: readonly string[],
  options?: RunProcessOptions & { encoding?: undefined },
): SwitchOp<ProcessResult<Buffer>>;
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions & { encoding: BufferEncoding },
): SwitchOp<ProcessResult<string>>;
export function runProcess(
  command: string,
  args?: readonly string[],
  options?: RunProcessOptions,
): SwitchOp<ProcessResult<Buffer | string>>;
export function runProcess(
  command: string,
  args: readonly string[] = [],
  options: RunProcessOptions = {},
): SwitchOp<ProcessResult<Buffer | string>> {
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  if (!(maxBuffer > 0)) throw new RangeError(`maxBuffer must be a positive number of bytes, not ${maxBuffer}`);
  return lazy(RUN_PROCESS, command, args, options);
}

const RUN_PROCESS = blockingOperation<string, readonly string[], RunProcessOptions, ProcessResult<Buffer | string>>(
  'runProcess()',
  running,
);

function* running(command: string, args: readonly string[], options: RunProcessOptions): GreenletBody<ProcessResult<Buffer | string>> {
  currentTask('runProcess()');
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const input = options.input;
  const child = spawnChild(command, [...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const sub = new Subprocess(CONSTRUCT, child, command, args, {
    killSignal: options.killSignal,
    killGraceMs: graceMs,
    readers: false,
  });
  const run = new ProcessRun(sub, maxBuffer, options.encoding);
  if (child.pid === undefined) {
    // Node reports a failed spawn with 'error', then 'close'.
    yield* run.waitUntilDone();
    throw sub.spawnError;
  }
  options.onSpawn?.(child.pid);
  if (input !== undefined) run.feed(input);
  const deadline = options.timeout === undefined ? null : Timeout.startNew(options.timeout);
  try {
    yield* run.waitUntilDone();
  } catch (error) {
    deadline?.cancel();
    yield* run.stop(graceMs);
    if (error === deadline && deadline !== null) {
      throw new ProcessTimeout(deadline.ms as number, run.details(), sub.exitStatus);
    }
    throw error;
  } finally {
    deadline?.cancel();
  }
  if (run.overflow !== null) {
    yield* run.stop(graceMs);
    throw new MaxBufferExceeded(run.details(), run.overflow, maxBuffer);
  }
  if (run.inputError !== NONE) {
    yield* run.stop(graceMs);
    throw run.inputError;
  }
  const status = run.status;
  const result: ProcessResult<Buffer | string> = {
    pid: child.pid,
    code: status.code,
    signal: status.signal,
    stdout: run.output(run.stdout),
    stderr: run.output(run.stderr),
  };
  if (options.check === true && (status.code !== 0 || status.signal !== null)) {
    throw new ProcessFailed(run.details(), status);
  }
  return result;
}
