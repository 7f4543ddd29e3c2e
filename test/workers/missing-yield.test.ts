/**
 * workers operations are lazy: one made without `yield*` does nothing (no job submitted,
 * no pool destroyed, no worker observed, no cluster forked or stopped), and the task that
 * made it fails with a MissingYieldError naming it at its next operation, while a
 * bystander task that was ready runs to its end.
 */
import cluster from 'node:cluster';
import { describe, expect, it } from 'vitest';
import { BlockingError, run, sleep, type HubReport } from 'greenlet-ts';
import { HttpServer } from '../../src/io/http.js';
import { ClusterError, ClusteredServer } from '../../src/workers/cluster.js';
import { CpuPool } from '../../src/workers/cpu-pool.js';
import { startWorker } from '../../src/workers/worker.js';
import { expectMissingYield, slipBeside } from '../slip.js';
import { JOBS, RUNS, expectEachTestToLeaveNothing, newFlags, reports, type Count } from './pool-fixture.js';

const runner = new URL('./fixtures/bootstrap.mjs', import.meta.url);
const fixture = (name: string): URL => new URL(`./fixtures/${name}.ts`, import.meta.url);

expectEachTestToLeaveNothing();

describe('CpuPool', () => {
  it('pool.run() made without yield* submits no job', async () => {
    const flags = newFlags();
    // One thread: jobs run in the order they were submitted.
    const pool = new CpuPool<Count>({ filename: JOBS, name: 'count', maxThreads: 1, workerData: { flags: flags.buffer } });
    const { error, ran } = await run(function* () {
      const error = yield* slipBeside(() => {
        pool.run(7);
        expect(pool.queueSize).toBe(0);
      });
      const ran = yield* pool.run(8); // a real one, submitted after the dropped one would have been
      yield* pool.destroy();
      return { error, ran };
    });
    expectMissingYield(error, 'pool.run()');
    expect(ran).toBe(8);
    expect(Atomics.load(flags, RUNS + 8)).toBe(1);
    expect(Atomics.load(flags, RUNS + 7)).toBe(0);
    expect(pool.completed).toBe(1);
  });

  it('pool.destroy() made without yield* leaves the pool serving', async () => {
    const flags = newFlags();
    const pool = new CpuPool<Count>({ filename: JOBS, name: 'count', maxThreads: 1, workerData: { flags: flags.buffer } });
    const { error, ran } = await run(function* () {
      const error = yield* slipBeside(() => {
        pool.destroy();
      });
      const ran = yield* pool.run(3);
      yield* pool.destroy();
      return { error, ran };
    });
    expectMissingYield(error, 'pool.destroy()');
    expect(ran).toBe(3);
  });
});

describe('WorkerHandle', () => {
  it.each([
    ['worker.join()', (w: ReturnType<typeof startWorker>) => w.join()],
    ['worker.get()', (w: ReturnType<typeof startWorker>) => w.get()],
  ])('%s made without yield* does not observe the worker: its failure is still reported', async (name, wait) => {
    const { error, where } = await run(function* () {
      const w = startWorker(fixture('throws'), { runner });
      const error = yield* slipBeside(() => {
        wait(w);
      });
      // Wait for the end without observing it (ready() observes nothing), then for the report.
      while (!w.ready()) yield* sleep(5);
      while (reports.length === 0) yield* sleep(1);
      const where = (reports.splice(0)[0] as HubReport & { where: string }).where;
      void w.exception; // observed now
      return { error, where };
    });
    expectMissingYield(error, name);
    expect(where).toBe('worker 0 (throws.ts), which nobody joined');
  });
});

describe('ClusteredServer', () => {
  const forked = (): number => Object.keys(cluster.workers ?? {}).length;

  it('cluster.start(), cluster.serveForever() and cluster.stats() made without yield* fork nothing', async () => {
    const errors = await run(function* () {
      const clustered = new ClusteredServer({ workers: 2, server: () => new HttpServer(() => {}) });
      const errors: unknown[] = [];
      for (const make of [() => clustered.start(), () => clustered.serveForever(), () => clustered.stats()]) {
        errors.push(
          yield* slipBeside(() => {
            make();
            expect(forked()).toBe(0);
          }),
        );
        expect(clustered.workers).toEqual([]);
        expect(clustered.started).toBe(false);
      }
      yield* clustered.stop();
      return errors;
    });
    expectMissingYield(errors[0], 'cluster.start()');
    expectMissingYield(errors[1], 'cluster.serveForever()');
    expectMissingYield(errors[2], 'cluster.stats()');
    expect(forked()).toBe(0);
  });

  it('cluster.stop() made without yield* stops nothing', async () => {
    const { error, stoppedAfterSlip, secondRefused } = await run(function* () {
      const clustered = new ClusteredServer({ workers: 1, server: () => new HttpServer(() => {}) });
      const error = yield* slipBeside(() => {
        clustered.stop();
      });
      const stoppedAfterSlip = clustered.stopped;
      let secondRefused: unknown = null;
      try {
        new ClusteredServer({ workers: 1, server: () => new HttpServer(() => {}) }); // the first is still active
      } catch (e) {
        secondRefused = e;
      }
      yield* clustered.stop();
      return { error, stoppedAfterSlip, secondRefused };
    });
    expectMissingYield(error, 'cluster.stop()');
    expect(stoppedAfterSlip).toBe(false);
    expect(secondRefused).toBeInstanceOf(ClusterError);
  });
});

describe('from plain code', () => {
  it('each workers operation made outside a task is a BlockingError naming it, and does nothing', async () => {
    const pool = new CpuPool({ filename: JOBS, maxThreads: 1, workerData: { flags: new SharedArrayBuffer(256) } });
    expect(() => pool.run(1)).toThrow(BlockingError);
    expect(() => pool.destroy()).toThrow(/^pool\.destroy\(\) blocks/);
    expect(pool.completed).toBe(0);
    const clustered = new ClusteredServer({ workers: 1, server: () => new HttpServer(() => {}) });
    expect(() => clustered.start()).toThrow(/^cluster\.start\(\) blocks/);
    expect(() => clustered.stop()).toThrow(/^cluster\.stop\(\) blocks/);
    expect(() => clustered.serveForever()).toThrow(/^cluster\.serveForever\(\) blocks/);
    expect(() => clustered.stats()).toThrow(/^cluster\.stats\(\) blocks/);
    expect(clustered.stopped).toBe(false);
    const w = startWorker<number, number>(fixture('plain'), { runner, data: 2 });
    expect(() => w.join()).toThrow(/^worker\.join\(\) blocks/);
    expect(() => w.get()).toThrow(/^worker\.get\(\) blocks/);
    await w.toPromise();
    await clustered.stopAsync();
    const result = await pool.runAsync(5); // still serving: destroy() did nothing
    expect(result).toMatchObject({ data: 5 });
    await pool.destroyAsync();
  });
});
