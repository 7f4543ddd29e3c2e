/**
 * Layer 1, the core: greenlets and the switcher. No dependencies; runs in Node, Deno,
 * Bun and browsers.
 *
 * @module
 */
export { Greenlet, getcurrent } from './greenlet.js';
export type { GreenletBody, RunFunction, Switched, ErrorClass } from './greenlet.js';
export { GreenletExit, GreenletError, MissingYieldError, isGreenletExit } from './errors.js';
export { Operation, lazy, recordOperationSites } from './operation.js';
export type { Outside } from './operation.js';
export { call } from './call.js';
export type { Callable, CallResult } from './call.js';
export { settrace, gettrace } from './trace.js';
export type { TraceFunction } from './trace.js';
export { Context, ContextVar, Token, LookupError, copyContext } from './context.js';
export { setKillUnreachable, setUnraisableHook } from './unreachable.js';
export { switchCount } from './switcher.js';
export type { UnraisableHook } from './unreachable.js';
export type { SwitchOp, SwitchSignal } from './switcher.js';
export { version } from './version.js';
