/**
 * greenlet-ts/testing: virtual time and schedule exploration for programs built on
 * greenlet-ts. Builds on the core, hub and sync layers only (no `node:` modules), so it
 * runs wherever the core runs.
 *
 * @module
 */
export { virtualTime } from './virtual-time.js';
export type { VirtualTimeOptions } from './virtual-time.js';
export { VirtualClock } from './clock.js';
export { VirtualTimeLimit, LeakedTaskError, UncaughtTaskError, RealIoError } from './errors.js';
export { Random } from './random.js';
export { explore, replay } from './explore.js';
export type { ExploreOptions, ExploreResult, ReplayOptions } from './explore.js';
export { ScheduleFailure } from './report.js';
export type { Deviation } from './report.js';
export type { Schedule, Strategy } from './schedule.js';
