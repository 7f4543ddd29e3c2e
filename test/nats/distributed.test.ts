/**
 * The distributed demo (`npm run demo:distributed`) as a person would use it: a
 * nats-server, two job-worker processes and the HTTP front end, all on 127.0.0.1. A worker
 * killed with -9 in the middle of a job: the job is delivered again and answered. The
 * nats-server restarted: everything reconnects and `/cpu` is answered again. Ctrl-C
 * (SIGTERM): everything stops, the nats-server too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The demo's process and the lines it printed. */
class Demo {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly #waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor() {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', 'demo/distributed.ts', '--port', '0', '--workers', '2', '--threads', '1', '--ack-wait', '1000'],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true },
    );
    let partial = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.lines.push(line);
        for (const waiter of [...this.#waiters]) {
          if (waiter.test(line)) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    });
  }

  /** The first line (printed from now on, or already) that matches. */
  line(pattern: RegExp, since = 0, ms = 30_000): Promise<string> {
    const seen = this.lines.slice(since).find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in ${ms} ms:\n${this.lines.join('\n')}`)), ms);
      this.#waiters.push({
        test: (l) => pattern.test(l),
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let demo: Demo;
let base = '';
let natsPid = 0;

beforeAll(async () => {
  demo = new Demo();
  const listening = await demo.line(/^listening \d+$/);
  base = `http://127.0.0.1:${listening.split(' ')[1]}`;
  natsPid = Number(/\(pid (\d+)\)/.exec(demo.lines[0] ?? '')?.[1]);
  await demo.line(/^\[worker-0\] ready/);
  await demo.line(/^\[worker-1\] ready/);
}, 60_000);

afterAll(async () => {
  // Whatever happened, leave no process behind: the demo's whole process group.
  if (demo.child.exitCode === null) {
    try {
      process.kill(-(demo.child.pid as number), 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

async function cpu(ms: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}/cpu?ms=${ms}`);
  return { status: response.status, body: await response.text() };
}

describe('the distributed demo', () => {
  it('answers /cpu from a job worker through the work queue', async () => {
    const { status, body } = await cpu(20);
    expect(status).toBe(200);
    expect(body).toMatch(/^cpu: 20 ms of work on worker-[01] \(pid \d+, delivery 1, \d+ rounds\)\n$/);
  }, 30_000);

  it('delivers the job of a worker killed with -9 mid-job again, and another worker answers it', async () => {
    const since = demo.lines.length;
    const answer = cpu(300);
    const started = await demo.line(/^\[worker-\d\] job \d+ started \(delivery 1\) \(pid \d+\)$/, since);
    const victim = Number(/\(pid (\d+)\)$/.exec(started)?.[1]);
    const job = /job (\d+)/.exec(started)?.[1];
    process.kill(victim, 'SIGKILL');
    const { status, body } = await answer;
    expect(status).toBe(200);
    expect(body).toMatch(/^cpu: 300 ms of work on worker-[01] \(pid \d+, delivery 2, \d+ rounds\)\n$/);
    expect(body).not.toContain(`pid ${victim},`);
    expect(demo.lines.slice(since).some((l) => l.includes(`job ${job} started (delivery 2)`))).toBe(true);
  }, 30_000);

  it('reconnects everything when the nats-server restarts', async () => {
    const since = demo.lines.length;
    process.kill(demo.child.pid as number, 'SIGHUP');
    const restarted = await demo.line(/^nats-server restarted \(pid \d+\)$/, since);
    expect(Number(/pid (\d+)/.exec(restarted)?.[1])).not.toBe(natsPid);
    // The clients reconnect within their reconnect wait (250 ms); ask until one answers.
    let last = { status: 0, body: '' };
    for (let i = 0; i < 40 && last.status !== 200; i++) {
      last = await cpu(10).catch(() => ({ status: 0, body: '' }));
      if (last.status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(last.status).toBe(200);
    expect(last.body).toMatch(/^cpu: 10 ms of work on worker-[01] /);
  }, 30_000);

  it('stops everything on SIGTERM, the nats-server too', async () => {
    const currentNats = Number(/pid (\d+)/.exec(demo.lines.filter((l) => l.startsWith('nats-server restarted')).at(-1) ?? '')?.[1]);
    process.kill(demo.child.pid as number, 'SIGTERM');
    expect(await demo.exited()).toBe(0);
    expect(demo.lines.at(-1)).toBe('stopped');
    expect(alive(currentNats)).toBe(false);
    const workerPids = demo.lines.filter((l) => / started, pid \d+$/.test(l)).map((l) => Number(/pid (\d+)$/.exec(l)?.[1]));
    expect(workerPids.length).toBeGreaterThanOrEqual(3); // two, and the one started again after the kill
    for (const pid of workerPids) expect(alive(pid)).toBe(false);
  }, 30_000);
});
