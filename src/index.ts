/**
 * greenlet-ts: Python's greenlet and gevent's cooperative model for TypeScript.
 *
 * @module
 */
export * from './core/index.js';
export * from './hub/index.js';
export * from './sync/index.js';
export * from './interop/index.js';
