/**
 * The limits a server applies when it is not told otherwise, chosen for a server that
 * faces the internet (slow or hostile clients, more connections than descriptors), and
 * how a connection that must go is ended without losing what was sent on it.
 *
 * The defaults, in one place (docs/io.md, "Running in production", lists them too):
 *
 * | limit | StreamServer | HttpServer | Node's own |
 * |---|---|---|---|
 * | open connections (`maxConnections`) | 80 % of the descriptor limit, at most 50,000 | the same | none |
 * | silence on a connection (`idleTimeout`) | 5 min | — | none |
 * | request head (`headersTimeout`) | — | 10 s | 60 s |
 * | whole request (`requestTimeout`) | — | 30 s | 300 s |
 * | idle keep-alive (`keepAliveTimeout`) | — | 5 s | 5 s |
 * | how often those are checked (`connectionsCheckingInterval`) | — | 1 s | 30 s |
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';

/** `StreamServer`'s default `idleTimeout`: 5 minutes of silence closes a connection. */
export const DEFAULT_IDLE_TIMEOUT = 300_000;
/** `HttpServer`'s default `headersTimeout`: 10 s to send the request head (Node: 60 s). */
export const DEFAULT_HEADERS_TIMEOUT = 10_000;
/** `HttpServer`'s default `requestTimeout`: 30 s to send the whole request (Node: 300 s). */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;
/** `HttpServer`'s default `keepAliveTimeout`: 5 s idle between requests (Node's). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT = 5_000;
/** `HttpServer`'s default `connectionsCheckingInterval`: the timeouts are checked every second (Node: 30 s). */
export const DEFAULT_CONNECTIONS_CHECKING_INTERVAL = 1_000;
/** `HttpServer`'s default `maxHeaderSize`: 16 KiB (Node's). */
export const DEFAULT_MAX_HEADER_SIZE = 16 << 10;

/** The share of the descriptor limit a server's connections may take by default. */
const DESCRIPTOR_SHARE = 0.8;
/** The most connections a server allows by default, whatever the descriptor limit. */
const CONNECTIONS_CAP = 50_000;
/** The default where the descriptor limit cannot be read (not Linux). */
const CONNECTIONS_UNKNOWN_LIMIT = 10_000;

let descriptorLimit: number | null | undefined;

/**
 * The soft limit on open file descriptors of this process (`ulimit -n`), where it can be
 * read (Linux: /proc/self/limits), or null.
 */
export function fileDescriptorLimit(): number | null {
  if (descriptorLimit !== undefined) return descriptorLimit;
  descriptorLimit = null;
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (match !== null) descriptorLimit = Number(match[1]);
  } catch {
    // Not Linux, or no /proc: unknown.
  }
  return descriptorLimit;
}

/**
 * The default `maxConnections` of a server: 80 % of the descriptor limit (the rest is
 * left for files, outgoing connections and the process itself, so that the limit is
 * reached before the process runs out of descriptors), at most 50,000; 10,000 where the
 * descriptor limit cannot be read.
 */
export function defaultMaxConnections(): number {
  const limit = fileDescriptorLimit();
  if (limit === null) return CONNECTIONS_UNKNOWN_LIMIT;
  return Math.max(1, Math.min(CONNECTIONS_CAP, Math.floor(limit * DESCRIPTOR_SHARE)));
}

/** How long a closing connection stays open after its FIN (ms): Go's net/http waits 500 ms too. */
export const LINGER_MS = 500;

/**
 * End `socket` (send `last`, if given, then FIN) and destroy it when the client closes its
 * side or after {@link LINGER_MS}. Destroying a socket at once would make the system send
 * a reset if unread bytes are waiting, and a reset can make the client's system drop the
 * answer it has not read yet.
 */
export function lingerClose(socket: net.Socket, last?: string): void {
  if (socket.destroyed) return;
  if (last === undefined) socket.end();
  else socket.end(last);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // The client's FIN: nothing more will come, nothing more needs to reach it.
  socket.once('end', () => socket.destroy());
}
