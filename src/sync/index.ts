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
export { SimpleQueue, Queue, JoinableQueue, LifoQueue, PriorityQueue, Empty, Full, ShutDown, TaskDoneError } from './queue.js';
export type { AsyncWaitOptions, QueueOptions, QueueIterator } from './queue.js';
export { naturalOrder } from './priority-heap.js';
export type { Comparator } from './priority-heap.js';
export { Channel, ChannelClosed, ChannelAlreadyClosed, ChannelTimeout } from './channel.js';
export type { RecvResult, ChannelIterator } from './channel.js';
export { select, recvCase, sendCase, seedSelectRandom, SELECT_NONE } from './select.js';
export type {
  RecvCase,
  SendCase,
  CaseSlot,
  SelectResult,
  CaseResult,
  SelectNone,
  SelectOptions,
  SelectOrder,
  RecvSelectable,
  SendSelectable,
  ReceiverWaiter,
  SenderWaiter,
  RecvSlot,
} from './select.js';
export { TaskSet, Group, MapIterator } from './group.js';
export type { TaskFunction, OperationFunction, MapOptions, JoinOptions } from './group.js';
export { Pool, PoolFull } from './pool.js';
export type { PoolAddOptions } from './pool.js';
export { Local } from './local.js';
export { scope, Scope, ScopeClosed } from './scope.js';
