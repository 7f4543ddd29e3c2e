/**
 * Start and stop a real `nats-server` (Debian's binary) on 127.0.0.1, for the
 * distributed demo, the NATS tests and the NATS benchmarks. Plain async code: it runs
 * before any hub does.
 *
 * The server listens on a port the system chooses (`-p -1`; the port is read from its log,
 * so two test files never race for one), with JetStream storing in a temporary directory
 * that `stop()` removes. `restart()` starts it again on the same port and directory, as
 * an operator restarting it would: clients reconnect, JetStream's streams survive.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** How to install the server, for the error raised when it cannot be found. */
export const INSTALL_HINT =
  'nats-server was not found. Install it: `apt-get update && apt-get install -y nats-server` (Debian/Ubuntu), ' +
  'or put the binary on PATH or in NATS_SERVER=/path/to/nats-server';

/** Where Debian and manual installs put the binary, searched after PATH. */
export const NATS_SERVER_DIRS: readonly string[] = ['/usr/sbin', '/usr/bin', '/usr/local/bin'];

/**
 * The path of the nats-server binary: `$NATS_SERVER`, then PATH, then `dirs` (by default
 * /usr/sbin, where Debian puts it, /usr/bin and /usr/local/bin); null if none has it.
 */
export function findNatsServer(dirs: readonly string[] = NATS_SERVER_DIRS): string | null {
  const candidates: string[] = [];
  if (process.env.NATS_SERVER !== undefined && process.env.NATS_SERVER !== '') candidates.push(process.env.NATS_SERVER);
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir !== '') candidates.push(path.join(dir, 'nats-server'));
  for (const dir of dirs) candidates.push(path.join(dir, 'nats-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** The port (default: one the system chooses). */
  port?: number;
  /** Enable JetStream, storing in a temporary directory (default true). */
  jetstream?: boolean;
  /** Print the server's log lines to stderr (default false). */
  verbose?: boolean;
  /** Directories searched after PATH (default {@link NATS_SERVER_DIRS}). */
  searchDirs?: readonly string[];
}

/** A nats-server process started by {@link startNatsServer}. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** JetStream's storage directory (removed by `stop()`), or null without JetStream. */
  readonly storeDir: string | null;
  /** The process id of the running server. */
  readonly pid: number;
  /** Stop it (SIGTERM, then SIGKILL after 2 s) and remove its storage. */
  stop(): Promise<void>;
  /** Stop it, keeping its storage, and start it again on the same port. */
  restart(): Promise<void>;
  /** Stop the process without removing its storage (for a restart later with `start()`). */
  halt(): Promise<void>;
  /** Start it again after `halt()`, on the same port and storage. */
  start(): Promise<void>;
  /** Send a signal to the running server. */
  signal(signal: NodeJS.Signals): void;
  /**
   * Freeze the server (SIGSTOP); resolves once every thread of it has stopped, so that
   * nothing sent from then on is read or answered until {@link NatsServer.thaw}. A stop
   * signal takes effect when the kernel next runs the process's threads, not when
   * `kill()` returns: on a busy machine the server answers for a while after it. Linux
   * only (it reads /proc).
   */
  freeze(): Promise<void>;
  /** Let a frozen server run again (SIGCONT). */
  thaw(): void;
}

/**
 * Start a nats-server on 127.0.0.1; resolves once it accepts clients.
 *
 * @throws an Error with {@link INSTALL_HINT} when the binary cannot be found.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServer(options.searchDirs);
  if (binary === null) throw new Error(INSTALL_HINT);
  const jetstream = options.jetstream ?? true;
  const storeDir = jetstream ? mkdtempSync(path.join(os.tmpdir(), 'greenlet-nats-')) : null;
  let port = options.port ?? -1;
  let child: ChildProcess | null = null;

  async function launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(port)];
    if (storeDir !== null) args.push('-js', '-sd', storeDir);
    const proc = spawn(binary as string, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    port = await new Promise<number>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`nats-server did not start within 10 s:\n${log}`));
      }, 10_000);
      proc.stderr?.setEncoding('utf8');
      proc.stderr?.on('data', (chunk: string) => {
        if (options.verbose === true) process.stderr.write(chunk);
        log += chunk;
        const listening = /Listening for client connections on [^\s]+:(\d+)/.exec(log);
        if (listening !== null && /Server is ready/.test(log)) {
          clearTimeout(timer);
          resolve(Number(listening[1]));
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`));
      });
    });
    // Keep draining its log so that it never blocks on a full pipe.
    proc.stderr?.removeAllListeners('data');
    proc.stderr?.on('data', (chunk: string) => {
      if (options.verbose === true) process.stderr.write(chunk);
    });
  }

  async function halt(): Promise<void> {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
    });
  }

  await launch();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get pid() {
      return child?.pid ?? -1;
    },
    async stop() {
      await halt();
      if (storeDir !== null) rmSync(storeDir, { recursive: true, force: true });
    },
    async restart() {
      await halt();
      await launch();
    },
    halt,
    start: launch,
    signal(signal) {
      child?.kill(signal);
    },
    async freeze() {
      const proc = child;
      if (proc === null || proc.pid === undefined) throw new Error('freeze(): the nats-server is not running');
      proc.kill('SIGSTOP');
      await whenStopped(proc.pid);
    },
    thaw() {
      child?.kill('SIGCONT');
    },
  };
}

/** Resolve once every thread of process `pid` is stopped (state T in /proc), within 10 s. */
async function whenStopped(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let states: string[];
    try {
      states = readdirSync(`/proc/${pid}/task`).map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      });
    } catch (error) {
      throw new Error(`freeze(): cannot read the state of process ${pid} in /proc (freeze() needs Linux)`, { cause: error });
    }
    if (states.every((state) => state === 'T')) return;
    if (Date.now() > deadline) throw new Error(`freeze(): the nats-server (pid ${pid}) did not stop within 10 s: ${states.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
