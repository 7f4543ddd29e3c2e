/**
 * A small pipelined HTTP/1.1 load generator for benchmarks that need the client to be
 * cheap: `workers.http.scale` shares 2 cores between the servers and the client, so every
 * microsecond the client spends per request is taken from the servers.
 *
 * Each connection keeps `depth` GET requests in flight, written in one batch (HTTP/1.1
 * pipelining, as the TechEmpower "plaintext" test does with depth 16), and writes the next
 * batch when the whole previous one has been answered. Responses are framed by their
 * `Content-Length`; any status other than 200, a chunked response, a closed connection or
 * a socket error is counted as a failure, so a server that breaks under load cannot look
 * fast.
 */
import { connect, type Socket } from 'node:net';

export interface LoadOptions {
  port: number;
  path: string;
  connections: number;
  /** Requests in flight per connection. */
  depth: number;
  seconds: number;
}

export interface LoadResult {
  /** Responses received within the measured time (see `failed` for the non-200 ones). */
  requests: number;
  /** `requests` per second of wall time. */
  rate: number;
  /** Non-200 responses, unsupported framing, socket errors and early closes. */
  failed: number;
  /** The first socket or framing error, if any. */
  firstError?: Error;
  /** CPU time this process spent per request, µs (the client's own cost). */
  clientCpuMicrosPerRequest: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:\s*chunked/i;

/**
 * Reads responses off one connection's byte stream, a chunk at a time; returns how many
 * complete responses each chunk finished. Partial responses are kept for the next chunk.
 */
class ResponseCounter {
  private leftover: Buffer | undefined;
  failed = 0;

  /** Complete responses in `chunk` (plus what was left over from earlier chunks). */
  feed(chunk: Buffer): number {
    const data = this.leftover === undefined ? chunk : Buffer.concat([this.leftover, chunk]);
    this.leftover = undefined;
    let position = 0;
    let complete = 0;
    while (position < data.length) {
      const headEnd = data.indexOf(HEAD_END, position);
      if (headEnd === -1) break;
      const head = data.toString('latin1', position, headEnd);
      const length = CONTENT_LENGTH.exec(head);
      if (length === null || CHUNKED.test(head)) {
        throw new Error(`http-load: responses must carry Content-Length, got:\n${head}`);
      }
      const end = headEnd + HEAD_END.length + Number(length[1]);
      if (end > data.length) break;
      if (head.slice(9, 12) !== '200') this.failed++;
      complete++;
      position = end;
    }
    if (position < data.length) this.leftover = data.subarray(position);
    return complete;
  }
}

/** Drive `GET path` at `127.0.0.1:port` for `seconds`; see the module comment. */
export async function pipelinedLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, path, connections, depth, seconds } = options;
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const batch = Buffer.concat(Array.from({ length: depth }, () => request));
  const counters: ResponseCounter[] = [];
  const sockets: Socket[] = [];
  let answered = 0;
  let failed = 0;
  let firstError: Error | undefined;
  let stopping = false;

  const finished = Array.from({ length: connections }, () => {
    const counter = new ResponseCounter();
    counters.push(counter);
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.setNoDelay(true);
    let inFlight = depth;
    socket.on('connect', () => socket.write(batch));
    socket.on('data', (chunk: Buffer) => {
      let complete: number;
      try {
        complete = counter.feed(chunk);
      } catch (error) {
        socket.destroy(error as Error);
        return;
      }
      answered += complete;
      inFlight -= complete;
      if (inFlight > 0) return;
      if (stopping) {
        socket.end();
        return;
      }
      inFlight = depth;
      socket.write(batch);
    });
    return new Promise<void>((resolve) => {
      socket.on('error', (error) => {
        failed++;
        firstError ??= error;
      });
      socket.on('close', () => {
        if (!stopping) failed++;
        resolve();
      });
    });
  });

  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stopping = true;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const counted = answered;
  // Let every connection finish its batch in flight (so the server is idle when the next
  // measurement starts), but no longer than a second.
  const drained = Promise.all(finished);
  const timer = setTimeout(() => sockets.forEach((socket) => socket.destroy()), 1000);
  await drained;
  clearTimeout(timer);
  for (const counter of counters) failed += counter.failed;
  return {
    requests: counted,
    rate: counted / elapsed,
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    clientCpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(counted, 1),
  };
}
