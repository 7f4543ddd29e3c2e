/**
 * The I/O examples, run as a user runs them (`node --import tsx examples/<name>.ts` from
 * the repository root), with their whole output compared: both are deterministic.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Run an example in its own process; its stdout (rejects if it exits with a failure). */
async function runExample(name: string): Promise<string[]> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: repoRoot,
    timeout: 30_000,
  });
  expect(stderr).toBe('');
  return stdout.trimEnd().split('\n');
}

// An example ends in a few seconds (7 s with the two cores shared by ten others): the child
// gets 30 s, and the test 5 s more, so that a hung example fails with execFile's timeout.
describe.concurrent('I/O examples', { timeout: 35_000 }, () => {
  it('echo-server.ts echoes every client’s lines and stops with no connection left', async () => {
    expect(await runExample('echo-server')).toEqual([
      'while connected: 3 connections open, 3 accepted',
      'alice sent "hello", got back "hello"',
      'alice sent "how are you?", got back "how are you?"',
      'bob   sent "ping", got back "ping"',
      'bob   sent "ping again", got back "ping again"',
      'carol sent "one line only", got back "one line only"',
      'after stop: 0 connections open, 3 accepted, closed: true',
    ]);
  });

  it('chat-server.ts broadcasts each line to the other clients, answers /who, and announces joins and departures', async () => {
    expect(await runExample('chat-server')).toEqual([
      'alice joins',
      '    alice <- * welcome alice; nobody else is here',
      'bob joins',
      '    bob   <- * welcome bob; here: alice',
      '    alice <- * bob joined',
      'alice -> hi bob!',
      '    bob   <- alice: hi bob!',
      'carol joins',
      '    carol <- * welcome carol; here: alice, bob',
      '    alice <- * carol joined',
      '    bob   <- * carol joined',
      'bob   -> hello both of you',
      '    alice <- bob: hello both of you',
      '    carol <- bob: hello both of you',
      'carol -> /who',
      '    carol <- * here: alice, bob, carol',
      'carol -> I cannot stay long',
      '    alice <- carol: I cannot stay long',
      '    bob   <- carol: I cannot stay long',
      'carol leaves',
      '    alice <- * carol left',
      '    bob   <- * carol left',
      'alice -> bye carol',
      '    bob   <- alice: bye carol',
      'bob leaves',
      '    alice <- * bob left',
      'alice -> /who',
      '    alice <- * here: alice',
      'alice leaves',
      'server stopped: 3 connections served, 0 open, 0 in the room',
    ]);
  });
});
