/**
 * A real nats-server per test file, on a loopback port the system chooses. A machine
 * without the binary fails the file with a message saying how to install it (CI installs
 * it in .ci/run): the tests are never skipped silently.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { getHub, printReport, run, type GreenletBody, type HubReport } from 'greenlet-ts';
import { connect, type NatsConnection } from 'greenlet-ts/nats';
import { startNatsServer, type NatsServer, type NatsServerOptions } from '../../demo/nats-server.js';

/** Start a server before the file's tests, stop it after; `server()` is the running one. */
export function useNatsServer(options: NatsServerOptions = {}): () => NatsServer {
  let server: NatsServer | null = null;
  beforeAll(async () => {
    server = await startNatsServer(options);
  }, 20_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === null) throw new Error('the nats-server did not start (see the error of beforeAll)');
    return server;
  };
}

/**
 * Collect the hub's reports during each test (instead of printing them) and check after
 * each that no timer is left and nothing was reported. A test that expects a report
 * empties the array after checking it.
 */
export function expectCleanHub(): HubReport[] {
  const reports: HubReport[] = [];
  beforeEach(() => {
    reports.length = 0;
    getHub().reporter = (report) => reports.push(report);
  });
  afterEach(() => {
    getHub().reporter = printReport;
    expect(getHub().timers.size).toBe(0);
    expect(getHub().liveCount).toBe(0);
    expect(reports).toEqual([]);
  });
  return reports;
}

/** Run `body` in a task with a fresh connection to `server()`, closed at the end. */
export function withConnectionTo<T>(server: () => NatsServer, body: (nc: NatsConnection) => GreenletBody<T>): Promise<T> {
  return run(function* () {
    const nc = yield* connect({ servers: server().url });
    try {
      return yield* body(nc);
    } finally {
      yield* nc.close();
    }
  });
}
