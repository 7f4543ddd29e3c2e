/** Node's TCP handles, for the I/O tests that check every socket and server is released. */

/** Open TCP sockets and servers of this process. */
export const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

/**
 * Wait (at most `turns` event-loop turns) until Node has released closed handles, down to
 * `limit`; resolves with the count then.
 */
export async function settledHandles(limit: number, turns = 100): Promise<number> {
  for (let turn = 0; turn < turns && tcpHandles() > limit; turn++) await new Promise((r) => setImmediate(r));
  return tcpHandles();
}
