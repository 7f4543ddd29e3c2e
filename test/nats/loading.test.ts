/**
 * nats: what importing the entry point costs (nothing: the client loads at the first
 * connect), and the message a machine without nats-server gets.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { findNatsServer, startNatsServer } from '../../demo/nats-server.js';

const loadedClientFiles = (): string[] =>
  Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes(`${'@nats-io'}`));

describe('loading', () => {
  it('importing greenlet-ts/nats loads no NATS client code; the first connect() does', async () => {
    const nats = await import('greenlet-ts/nats');
    const { run } = await import('greenlet-ts');
    expect(loadedClientFiles()).toEqual([]);
    const server = await startNatsServer({ jetstream: false });
    try {
      await run(function* () {
        const nc = yield* nats.connect({ servers: server.url });
        yield* nc.close();
      });
    } finally {
      await server.stop();
    }
    expect(loadedClientFiles().length).toBeGreaterThan(0);
  });

  it('a machine without nats-server gets a message saying how to install it', async () => {
    const saved = { PATH: process.env.PATH, NATS_SERVER: process.env.NATS_SERVER };
    process.env.PATH = '/nonexistent';
    delete process.env.NATS_SERVER;
    try {
      expect(findNatsServer([])).toBe(null);
      await expect(startNatsServer({ searchDirs: [] })).rejects.toThrow(
        'nats-server was not found. Install it: `apt-get update && apt-get install -y nats-server` (Debian/Ubuntu), ' +
          'or put the binary on PATH or in NATS_SERVER=/path/to/nats-server',
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.NATS_SERVER !== undefined) process.env.NATS_SERVER = saved.NATS_SERVER;
    }
  });
});
