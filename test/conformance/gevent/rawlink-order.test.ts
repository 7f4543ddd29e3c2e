/**
 * How rawlink callbacks are counted and ordered, on every object that has rawlink(), as
 * docs/coming-from-gevent.md says gevent does: a callback registered twice is called twice
 * (gevent keeps a list, `_links.append`), `unlink` removes its first registration
 * (`list.remove`), and a callback that registers another while the callbacks are being
 * called sees it called by the next notification, after the notifications already queued
 * (Event, AsyncResult, Semaphore, BoundedSemaphore: `_notify_link_list` stops at the link
 * that was last when it began), or in the same one (a task: `Greenlet._notify_links` loops
 * until the list is empty). The same program, rawlink-order.py, run by Debian's gevent
 * (`/usr/bin/python3`, package python3-gevent, which .ci/run installs; where it is not
 * installed that half is skipped, saying so), prints the lines this one expects of ours,
 * but for one difference: a callback registered more than once before a notification
 * (`expectedGevent`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { AsyncResult, BoundedSemaphore, Event, Semaphore, run, sleep, spawn, type GreenletBody } from 'greenlet-ts';
import { gevent } from './has-gevent.js';

const KINDS = ['Event', 'AsyncResult', 'Semaphore', 'BoundedSemaphore', 'Task'] as const;
type Kind = (typeof KINDS)[number];

/** What both programs print, one line per kind. */
const expected = KINDS.map((kind) => ({
  kind,
  linkcountTwice: kind === 'Task' ? null : 2,
  twice: ['a', 'a'],
  linkcountAfterUnlink: kind === 'Task' ? null : 2,
  abaUnlinkA: ['b', 'a'],
  registersDuringNotification:
    kind === 'Task' ? ['first', 'second', 'late', 'other object'] : ['first', 'second', 'other object', 'late'],
  aab: ['a', 'a', 'b'],
  abac: ['a', 'b', 'a', 'c'],
}));

/**
 * gevent's, where it differs (docs/coming-from-gevent.md): its AbstractLinkable calls a
 * callback at most once per notification (a set of the ids called) and stops at the first
 * registration of the callback that was last when it began; a greenlet's links call all.
 */
const expectedGevent = expected.map((line) =>
  line.kind === 'Task' ? line : { ...line, aab: ['a', 'b'], abac: ['a', 'b', 'c'] },
);

type Callback = (source: never) => void;
interface Linkable {
  rawlink(callback: Callback): void;
  unlink(callback: Callback): void;
  linkCount?(): number;
}

/** An object of the kind, and a function that makes it ready (notifies its links). */
function make(kind: Kind): [Linkable, () => void] {
  switch (kind) {
    case 'Event': {
      const o = new Event();
      return [o as unknown as Linkable, () => o.set()];
    }
    case 'AsyncResult': {
      const o = new AsyncResult<number>();
      return [o as unknown as Linkable, () => o.set(1)];
    }
    case 'Semaphore': {
      const o = new Semaphore(0);
      return [o as unknown as Linkable, () => o.release()];
    }
    case 'BoundedSemaphore': {
      const o = new BoundedSemaphore(1);
      o.tryAcquire();
      return [o as unknown as Linkable, () => o.release()];
    }
    case 'Task':
      // A task's links fire when it ends: it ends at the switch below.
      return [spawn(function* () {}) as unknown as Linkable, () => {}];
  }
}

const count = (o: Linkable): number | null => (o.linkCount === undefined ? null : o.linkCount());

function* scenario(kind: Kind): GreenletBody<object> {
  const out: Record<string, unknown> = { kind };
  const log: string[] = [];
  const a = (): void => void log.push('a');
  const b = (): void => void log.push('b');

  let [o, ready] = make(kind);
  o.rawlink(a);
  o.rawlink(a);
  out.linkcountTwice = count(o);
  ready();
  yield* sleep(0);
  yield* sleep(0);
  out.twice = log.splice(0);

  [o, ready] = make(kind);
  o.rawlink(a);
  o.rawlink(b);
  o.rawlink(a);
  o.unlink(a);
  out.linkcountAfterUnlink = count(o);
  ready();
  yield* sleep(0);
  yield* sleep(0);
  out.abaUnlinkA = log.splice(0);

  [o, ready] = make(kind);
  const [other, otherReady] = make(kind);
  const target = o;
  const late = (): void => void log.push('late');
  target.rawlink(() => {
    log.push('first');
    target.rawlink(late);
  });
  target.rawlink(() => void log.push('second'));
  other.rawlink(() => void log.push('other object'));
  ready();
  otherReady();
  for (let i = 0; i < 4; i++) yield* sleep(0);
  out.registersDuringNotification = log.splice(0);

  for (const seq of ['aab', 'abac']) {
    [o, ready] = make(kind);
    const calls = new Map([...'abc'].map((k) => [k, (): void => void log.push(k)]));
    for (const k of seq) o.rawlink(calls.get(k) as () => void);
    ready();
    for (let i = 0; i < 5; i++) yield* sleep(0);
    out[seq] = log.splice(0);
  }
  return out;
}

it('ours: a callback registered twice is called twice, unlink removes its first registration, one registered during a notification is called by the next (a task: by the same)', async () => {
  const lines = await run(function* () {
    const result: object[] = [];
    for (const kind of KINDS) result.push(yield* scenario(kind));
    return result;
  });
  expect(lines).toEqual(expected);
});

it.skipIf(!gevent)(
  `gevent prints the same lines (Debian's gevent${gevent ? '' : ': not installed, skipped'})`,
  async () => {
    const program = fileURLToPath(new URL('rawlink-order.py', import.meta.url));
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [program], { timeout: 60_000 });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual(expectedGevent);
  },
  60_000,
);
