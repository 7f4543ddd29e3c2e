/**
 * Layer 7, debug: see inside a running program. Run info (every live task, what it waits
 * on, where it was spawned), the loop-blocking watchdog, spawn and wait sites in errors
 * and reports. Node-oriented: import it from `greenlet-ts/debug`.
 *
 * @module
 */
export { addHubMonitor, addSwitchObserver } from './monitors.js';
export type { DebugMonitor } from './monitors.js';
export {
  recordSites,
  stopRecordingSites,
  recordingSites,
  spawnerOf,
  spawnerRecorded,
  spawnSiteOf,
  waitSiteOf,
  spawnSiteOfError,
  describeError,
  MAX_FRAME_LENGTH,
} from './sites.js';
export type { SiteOptions } from './sites.js';
export { summariseParked } from './parked-summary.js';
export type { ParkedSummary, ParkedSummaryOptions } from './parked-summary.js';
export { formatRunInfo, printRunInfo, installRunInfoSignal, RunInfoUnsupportedError, RUN_INFO_MAX_TASKS } from './run-info.js';
export type { RunInfoOptions } from './run-info.js';
export { startWatchdog, stopWatchdog, watchdogRunning, watchdogThreadReady, NAME_SLOTS, NAME_BYTES } from './watchdog.js';
export type { WatchdogOptions, LoopBlockedReport } from './watchdog.js';
export { startTrace, DEFAULT_TRACE_LIMIT } from './trace.js';
export type { TraceOptions, TraceRecorder } from './trace.js';
export { writeTraceFile, TraceWriteError } from './trace-file.js';
export type { TraceEvent, TraceMetadata, TraceFile } from './trace-file.js';
