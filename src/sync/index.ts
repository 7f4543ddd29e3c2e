/**
 * Layer 3, sync: the cooperative primitives tasks wait on.
 *
 * @module
 */
export { Event } from './event.js';
export { AsyncResult } from './async-result.js';
export type { ResultSource } from './async-result.js';
export { Semaphore, BoundedSemaphore, OverReleaseError } from './semaphore.js';
export { Lock, RLock, NotOwnerError } from './lock.js';
export { Queue, JoinableQueue, LifoQueue, PriorityQueue, Empty, Full, ShutDown, TaskDoneError } from './queue.js';
export type { AsyncWaitOptions } from './queue.js';
export { naturalOrder } from './priority-heap.js';
export type { Comparator } from './priority-heap.js';
