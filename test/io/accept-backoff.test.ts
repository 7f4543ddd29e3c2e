/**
 * io/accept-backoff: what a server does when the process runs out of file descriptors, on
 * a listener that only records what it is asked (the real thing, in a child process under
 * `ulimit -n 128`, is test/io/adversarial/fd-exhaustion.test.ts). Time is vitest's fake
 * time, so that the delays are exact: 5 ms, doubling, at most `maxDelay`, as Go's net/http;
 * one report per burst, a burst being pauses less than 10 s apart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getHub, printReport, type HubReport } from 'greenlet-ts';
import { AcceptBackoff, DEFAULT_ACCEPT_BACKOFF, OutOfFileDescriptors, type Listener } from '../../src/io/accept-backoff.js';

/** A listener that records when it was closed and asked to reopen, and fails reopens while `full`. */
class RecordingListener implements Listener {
  events: string[] = [];
  full = false;
  describe(): string {
    return 'TestServer(127.0.0.1:1)';
  }
  closeListener(): void {
    this.events.push(`close at ${performance.now()}`);
  }
  reopenListener(done: (error: Error | null) => void): void {
    this.events.push(`reopen at ${performance.now()}`);
    done(this.full ? Object.assign(new Error('listen EMFILE'), { code: 'EMFILE' }) : null);
  }
}

const emfile = (): Error => Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });

let reports: HubReport[] = [];
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
  reports = [];
  getHub().reporter = (report) => reports.push(report);
});
afterEach(() => {
  vi.useRealTimers();
  getHub().reporter = printReport;
});

describe('AcceptBackoff', () => {
  it('tries again after 1 s at most, and probes every second, by default', () => {
    expect(DEFAULT_ACCEPT_BACKOFF).toEqual({ maxDelay: 1000, probeInterval: 1000 });
  });

  it('closes the listener and retries after 5 ms, doubling the delay up to maxDelay while descriptors stay out', () => {
    const listener = new RecordingListener();
    const backoff = new AcceptBackoff(listener, { probeInterval: 0 });
    listener.full = true;
    expect(backoff.listenerError(emfile())).toBe(true);
    expect(backoff.paused).toBe(true);
    vi.advanceTimersByTime(3300);
    const t0 = Number(listener.events[0]?.split(' at ')[1]);
    const attempts = listener.events.slice(1).map((e) => Number(e.split(' at ')[1]) - t0);
    expect(listener.events[0]).toMatch(/^close at /);
    expect(attempts).toEqual([5, 15, 35, 75, 155, 315, 635, 1275, 2275, 3275]);
    expect(backoff.paused).toBe(true);

    // Descriptors come back: the next attempt reopens, and accepting goes on.
    listener.full = false;
    vi.advanceTimersByTime(1000);
    expect(listener.events.at(-1)).toBe(`reopen at ${t0 + 4275}`);
    expect(backoff.paused).toBe(false);
    backoff.stop();
  });

  it('reports once per burst, saying what to raise, and again for a burst 10 s after the last reopen', () => {
    const listener = new RecordingListener();
    const backoff = new AcceptBackoff(listener, { probeInterval: 0, maxDelay: 200 });
    backoff.listenerError(emfile());
    backoff.listenerError(emfile()); // one error per waiting connection: the same pause
    vi.advanceTimersByTime(5);
    expect(backoff.paused).toBe(false);
    // Out again soon after: the same burst, not reported again.
    for (let i = 0; i < 5; i++) {
      backoff.listenerError(emfile());
      vi.advanceTimersByTime(1000);
    }
    expect(backoff.pauses).toBe(6);
    expect(reports).toHaveLength(1);
    const [report] = reports as [HubReport & { kind: 'callback-error'; where: string; error: OutOfFileDescriptors }];
    expect(report.kind).toBe('callback-error');
    expect(report.where).toBe('TestServer(127.0.0.1:1) accepting connections');
    expect(report.error).toBeInstanceOf(OutOfFileDescriptors);
    expect(report.error.code).toBe('EMFILE');
    expect(report.error.message).toBe(
      'TestServer(127.0.0.1:1): out of file descriptors (EMFILE): new connections are refused while the open ones are served; ' +
        'trying again in 5 ms, then at most every 200 ms (reported once per burst). Raise the limit (ulimit -n), or lower maxConnections',
    );
    // A new burst, 10 s after the last reopen: reported.
    vi.advanceTimersByTime(10_000);
    backoff.listenerError(Object.assign(new Error('accept ENFILE'), { code: 'ENFILE' }));
    expect(reports).toHaveLength(2);
    expect((reports[1] as { error: OutOfFileDescriptors }).error.code).toBe('ENFILE');
    backoff.stop();
  });

  it('leaves other listener errors to the server', () => {
    const backoff = new AcceptBackoff(new RecordingListener(), { probeInterval: 0 });
    expect(backoff.listenerError(Object.assign(new Error('accept ECONNABORTED'), { code: 'ECONNABORTED' }))).toBe(false);
    expect(backoff.paused).toBe(false);
    expect(reports).toEqual([]);
  });

  it('stops retrying once the server stops', () => {
    const listener = new RecordingListener();
    const backoff = new AcceptBackoff(listener, { probeInterval: 0 });
    listener.full = true;
    backoff.listenerError(emfile());
    vi.advanceTimersByTime(20);
    const attempts = listener.events.length;
    backoff.stop();
    vi.advanceTimersByTime(5000);
    expect(listener.events).toHaveLength(attempts);
    expect(vi.getTimerCount()).toBe(0);
  });
});
