/**
 * Adversarial: file-descriptor exhaustion, in a child process whose `ulimit -n` is 128
 * (test/io/adversarial/fixtures/fd-server.ts), with an HttpServer and a StreamServer. When
 * the process runs out of descriptors, each server stops accepting (new clients are refused or reset, never left hanging), says
 * so once on stderr for the whole burst, keeps serving the connection it has, accepts
 * again once descriptors are free, and leaves no handle open when it stops.
 */
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { within } from '../bounded.js';
import { SCALE, fastOnce } from './target.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/fd-server.ts', import.meta.url));

/** The next JSON line the child prints (within 30 s: it starts in 2-3 s on an idle machine). */
function nextLine(child: ChildProcess): Promise<Record<string, unknown>> {
  return within(nextLineUnbounded(child), 30_000, 'a line from the fixture');
}

function nextLineUnbounded(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end === -1) return;
      child.stdout?.removeListener('data', onData);
      resolve(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the fixture exited (${code}) before printing`)));
  });
}

/** GET `path` through `agent` (its one kept-alive connection); rejects after 5 s. */
function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
  return within(response, 5000, `GET ${path} on the open connection`);
}

/** Send `hello` to the echo server on a fresh connection: the line it answers, or null. */
function echoOnce(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write('hello\n'));
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (c: Buffer) => {
      answer += c.toString();
      if (answer.includes('\n')) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.includes('\n') ? answer.slice(0, answer.indexOf('\n')) : null);
    });
  });
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('adversarial: file-descriptor exhaustion', () => {
  it('stops accepting, reports once, serves the open connection, accepts again when descriptors free, and leaks no handle', { timeout: 60_000 }, async () => {
    const child = spawnChild('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" --import tsx "${fixture}"`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { port, echoPort } = (await nextLine(child)) as { port: number; echoPort: number };
      expect(await echoOnce(echoPort)).toBe('hello');
      expect((await get(agent, port, '/fast')).status).toBe(200);

      const exhausted = JSON.parse((await get(agent, port, '/exhaust')).body) as { held: number; code: string };
      expect(exhausted.code).toBe('EMFILE');
      expect(exhausted.held).toBeGreaterThan(50);
      let state = { count: 0, paused: false, echo: { count: 0, paused: false } };
      for (let i = 0; i < 100 && (state.count === 0 || state.echo.count === 0); i++) {
        await pause(20);
        state = JSON.parse((await get(agent, port, '/state')).body) as typeof state;
      }
      expect(state.count).toBeGreaterThanOrEqual(1);
      expect(state.echo.count).toBeGreaterThanOrEqual(1);
      // The fixture takes every descriptor that comes free (those of the closed listeners
      // too): both servers stay paused.
      for (let i = 0; i < 100 && !(state.paused && state.echo.paused); i++) {
        await pause(20);
        state = JSON.parse((await get(agent, port, '/state')).body) as typeof state;
      }
      expect([state.paused, state.echo.paused]).toEqual([true, true]);

      // New clients are not served (refused, or reset by the system), and are not left hanging;
      // the open connection is served all along.
      for (let i = 0; i < 10 * SCALE; i++) {
        const attempt = await fastOnce(port, 3000);
        expect(attempt.status).not.toBe('HTTP/1.1 200 OK');
        expect(attempt.ms).toBeLessThan(3000);
        expect(await echoOnce(echoPort)).not.toBe('hello');
        expect((await get(agent, port, '/fast')).status).toBe(200);
      }

      expect((await get(agent, port, '/release')).body).toBe('released\n');
      let again = { status: '', ms: 0 };
      for (let i = 0; i < 100 && again.status !== 'HTTP/1.1 200 OK'; i++) {
        again = await fastOnce(port, 3000);
        if (again.status !== 'HTTP/1.1 200 OK') await pause(20);
      }
      expect(again.status).toBe('HTTP/1.1 200 OK');
      let echoed: string | null = null;
      for (let i = 0; i < 100 && echoed !== 'hello'; i++) {
        echoed = await echoOnce(echoPort);
        if (echoed !== 'hello') await pause(20);
      }
      expect(echoed).toBe('hello');

      // One report per server for the whole burst.
      const reportsOnStderr = stderr.match(/out of file descriptors \(EMFILE\)/g) ?? [];
      expect(reportsOnStderr).toHaveLength(2);
      expect(stderr).toMatch(/OutOfFileDescriptors: StreamServer\(127\.0\.0\.1:\d+\): out of file descriptors \(EMFILE\)/);
      expect(stderr).toMatch(/OutOfFileDescriptors: HttpServer\(127\.0\.0\.1:\d+\): out of file descriptors \(EMFILE\): new connections are refused while the open ones are served/);

      agent.destroy();
      const stopped = nextLine(child);
      child.kill('SIGTERM');
      expect(await stopped).toEqual({ stopped: true, tcp: 0 });
      const code = await within(
        new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve))),
        10_000,
        'the fixture to exit',
      );
      expect(code).toBe(0);
    } finally {
      agent.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
