/**
 * Layer 5, io: cooperative I/O on Node's own modules. A task blocks; the thread never
 * does. Node only: import it from `greenlet-ts/io` (the root entry point stays free of
 * `node:` modules).
 *
 * @module
 */
export { Socket, connect, SocketTimeout, ConnectionReset, SocketClosed, IncompleteRead, LineTooLong } from './socket.js';
export type { SocketOptions, ConnectOptions, OperationOptions, ReadLineOptions, ReadUntilOptions } from './socket.js';
export { StreamServer } from './server.js';
export type { Address, ConnectionHandler, StreamServerOptions } from './server.js';
export { OutOfFileDescriptors, DEFAULT_ACCEPT_BACKOFF } from './accept-backoff.js';
export type { AcceptBackoffOptions } from './accept-backoff.js';
export {
  DEFAULT_IDLE_TIMEOUT,
  DEFAULT_HEADERS_TIMEOUT,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
  DEFAULT_CONNECTIONS_CHECKING_INTERVAL,
  DEFAULT_MAX_HEADER_SIZE,
  defaultMaxConnections,
  fileDescriptorLimit,
} from './server-limits.js';
export * from './http.js';
export {
  runProcess,
  spawnProcess,
  Subprocess,
  ProcessTimeout,
  ProcessFailed,
  MaxBufferExceeded,
  DEFAULT_MAX_BUFFER,
} from './process.js';
export type {
  ExitStatus,
  ProcessResult,
  ProcessOptions,
  RunProcessOptions,
  SpawnProcessOptions,
  StdioMode,
  ProcessErrorDetails,
} from './process.js';
export { readFile, writeFile, appendFile, copyFile, openReader, readLines, FileTimeout } from './files.js';
export type {
  FileTimeoutOption,
  ReadFileOptions,
  WriteFileOptions,
  CopyFileOptions,
  OpenReaderOptions,
  ReadLinesOptions,
} from './files.js';
export { LineReader, DEFAULT_MAX_LINE_LENGTH } from './line-reader.js';
export type { LineEncoding, LineReaderOptions } from './line-reader.js';
