/** The OS threads of this process, for tests that check worker threads are gone. */
import fs from 'node:fs';
import { expect, vi } from 'vitest';

/** The threads of this process (the main thread, V8's and libuv's, worker threads). */
export function osThreads(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/**
 * The process is back to at most `count` threads. Polled for up to eight seconds (within
 * the 10 s of the hook that calls it): about one run in ten, a thread is still listed for
 * a moment after every worker has emitted 'exit' (seen with CpuPool's threads, not with
 * plain `Worker`s; its name is just "node"), and that moment is longer on a loaded
 * machine. A thread that leaked would stay and fail this.
 */
export async function expectThreadsBackTo(count: number): Promise<void> {
  await vi.waitFor(() => expect(osThreads()).toBeLessThanOrEqual(count), { timeout: 8000, interval: 5 });
}
