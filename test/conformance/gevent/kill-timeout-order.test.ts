/**
 * The order of a kill and a Timeout that test/hub/kill-again.test.ts pins ("a kill sent,
 * then the task's Timeout due, before the task runs again"), and docs/coming-from-gevent.md
 * says gevent shares: the same program run by Debian's gevent (`/usr/bin/python3`,
 * package python3-gevent, which .ci/run installs; where it is not installed the test is
 * skipped, saying so) prints the same events, with the killer woken by `sleep(0)` or by a
 * 1 ms sleep.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { gevent } from './has-gevent.js';


it.skipIf(!gevent)(
  `gevent strikes the kill where the task waits and its Timeout in the cleanup, whether the killer was woken by sleep(0) or by a timer (Debian's gevent${gevent ? '' : ': not installed, skipped'})`,
  async () => {
    const program = fileURLToPath(new URL('kill-timeout-order.py', import.meta.url));
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [program], { timeout: 60_000 });
    const runs = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    // The log kill-again.test.ts expects of ours, for both wakes.
    const log = ['killer kills', 'killer done', 'body got GreenletExit', 'finally parks', 'cleanup got Timeout'];
    expect(runs).toEqual([
      { wake: 0, sentInTime: true, log, dead: true, failedWithItsTimeout: true },
      { wake: 0.001, sentInTime: true, log, dead: true, failedWithItsTimeout: true },
    ]);
  },
  60_000,
);
