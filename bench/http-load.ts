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
  /**
   * The measured window, in seconds: about the `seconds` asked for (a timer may fire up to a
   * millisecond early by this clock, or late under load).
   */
  elapsed: number;
  /** Non-200 responses, unsupported framing, socket errors and early closes. */
  failed: number;
  /** The first socket or framing error, if any. */
  firstError?: Error;
  /** CPU time this process spent per request, µs (the client's own cost). */
  clientCpuMicrosPerRequest: number;
}

/** Bytes per read, one buffer per connection, reused. */
const READ_BUFFER = 64 * 1024;
const CR = 13;
const LF = 10;
/** `content-length:` and `transfer-encoding:`, lower case, as bytes. */
const CONTENT_LENGTH = Buffer.from('content-length:');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding:');

/** Whether the header line at `i` starts with `name` (lower case), ignoring case. */
function startsWithName(data: Buffer, i: number, name: Buffer): boolean {
  if (i + name.length > data.length) return false;
  for (let j = 0; j < name.length; j++) {
    // ASCII letters: `| 0x20` lower-cases them and leaves ':' and '-' alone.
    if (((data[i + j] as number) | 0x20) !== name[j]) return false;
  }
  return true;
}

/**
 * Reads responses off one connection's byte stream, a chunk at a time; returns how many
 * complete responses each chunk finished. Partial responses are kept for the next chunk.
 *
 * The head is scanned byte by byte, without making strings or running regular
 * expressions: this runs for every response of a benchmark and its cost is taken from
 * the servers being measured.
 */
export class ResponseCounter {
  private leftover: Buffer | undefined;
  /** Responses whose status was not 200. */
  failed = 0;

  /** Complete responses in `chunk` (plus what was left over from earlier chunks). */
  feed(chunk: Buffer): number {
    const data = this.leftover === undefined ? chunk : Buffer.concat([this.leftover, chunk]);
    this.leftover = undefined;
    let position = 0;
    let complete = 0;
    while (position < data.length) {
      const end = this.responseEnd(data, position);
      if (end === -1) break;
      // "HTTP/1.1 200 ": the status code is bytes 9 to 11.
      if (data[position + 9] !== 0x32 || data[position + 10] !== 0x30 || data[position + 11] !== 0x30) this.failed++;
      complete++;
      position = end;
    }
    // A copy: `chunk` may be a buffer the socket reuses for its next read.
    if (position < data.length) this.leftover = Buffer.from(data.subarray(position));
    return complete;
  }

  /** Where the response starting at `start` ends, or -1 if `data` does not hold all of it. */
  private responseEnd(data: Buffer, start: number): number {
    let length = -1;
    // Skip the status line, then look at the first bytes of each header line.
    let i = start;
    while (i < data.length && data[i] !== LF) i++;
    i++;
    for (;;) {
      if (i >= data.length) return -1;
      if (data[i] === CR) break; // the empty line: end of the head
      if (startsWithName(data, i, CONTENT_LENGTH)) {
        let j = i + CONTENT_LENGTH.length;
        while (data[j] === 0x20) j++;
        length = 0;
        for (let d = (data[j] as number) - 0x30; d >= 0 && d <= 9; d = (data[++j] as number) - 0x30) length = length * 10 + d;
      } else if (startsWithName(data, i, TRANSFER_ENCODING)) {
        throw new Error(`http-load: responses must carry Content-Length, got:\n${data.toString('latin1', start, i + 40)}`);
      }
      while (i < data.length && data[i] !== LF) i++;
      i++;
    }
    if (i + 1 >= data.length) return -1;
    if (length === -1) {
      throw new Error(`http-load: responses must carry Content-Length, got:\n${data.toString('latin1', start, i)}`);
    }
    const end = i + 2 + length;
    return end > data.length ? -1 : end;
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
    let inFlight = depth;
    // `onread` hands each read to the callback in one reused buffer, without the stream
    // machinery and 'data' events (about half of this client's per-read cost).
    const onData = (bytes: number, buffer: Buffer): boolean => {
      let complete: number;
      try {
        complete = counter.feed(buffer.subarray(0, bytes));
      } catch (error) {
        socket.destroy(error as Error);
        return false;
      }
      answered += complete;
      inFlight -= complete;
      if (inFlight > 0) return true;
      if (stopping) {
        socket.end();
        return true;
      }
      inFlight = depth;
      socket.write(batch);
      return true;
    };
    const socket = connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER), callback: onData } });
    sockets.push(socket);
    socket.on('connect', () => socket.write(batch));
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
    elapsed,
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    clientCpuMicrosPerRequest: (cpu.user + cpu.system) / Math.max(counted, 1),
  };
}
