/**
 * Layer 4, interop: promises, AbortSignal, events, async iterables and streams, seen
 * from tasks.
 *
 * @module
 */
export { waitFor } from './wait.js';
export type { WaitForOptions, AbortableOperation } from './wait.js';
export { AbortError, killOnAbort, spawnWithSignal, taskSignal } from './abort.js';
export { once } from './events.js';
export type { EventEmitterLike, EventTargetLike, OnceOptions } from './events.js';
export { DONE, PrematureCloseError, iterate, forEach } from './iterate.js';
export type { Done, AsyncIterableReader } from './iterate.js';
