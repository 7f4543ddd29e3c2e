/**
 * Layer 2, the hub: tasks scheduled by one hub greenlet per thread on the host event
 * loop, sleeping, timeouts, and waiting for several things at once.
 *
 * @module
 */
export { Task, spawn, spawnLater, currentTask, currentTaskOrNull } from './task.js';
export type { LinkCallback, LinkTarget, KillOptions } from './task.js';
export { sleep, idle } from './sleep.js';
export { Timeout, withTimeout } from './timeout.js';
export type { TimeoutOptions } from './timeout.js';
export { run } from './run.js';
export { iwait, wait, joinall, killall, WaitIterator } from './wait.js';
export type { Waitable, WaitOptions, JoinallOptions } from './wait.js';
export { LoopExit, BlockingError } from './errors.js';
export { blockingOperation } from './hub.js';
export type { BlockedTask } from './errors.js';
export { getHub, Hub, printReport, printEveryReport, limitReports, reportKey, DEFAULT_REPORT_LIMITS, greenletOf } from './hub.js';
export { getswitchinterval, setswitchinterval, PASS_BUDGET } from './switchinterval.js';
export type { HubReport, HubReporter, HubMonitor, SuppressedReports, ReportLimits } from './hub.js';
