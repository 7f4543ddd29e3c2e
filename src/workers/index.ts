/**
 * Layer 6, workers: "process + coroutine". Coroutines for concurrency inside a thread;
 * threads and processes for the cores: a CPU pool callable from tasks, worker threads
 * with hubs of their own and channels between them, and servers spread over processes.
 * Node only: import it from `greenlet-ts/workers`.
 *
 * @module
 */
export { CpuPool, WorkerJobError, WorkerCrashedError, CpuPoolClosed } from './cpu-pool.js';
export type { JobFunction, JobInput, JobOutput, CpuPoolOptions, CpuRunOptions, CpuRunAsyncOptions } from './cpu-pool.js';
export { startWorkers, startWorker, WorkerHandle, WorkerFailed, WorkerExited } from './worker.js';
export type { WorkerContext, WorkerMain, StartWorkersOptions } from './worker.js';
export { remoteChannel, RemoteSender, RemoteReceiver, ChannelPeerGone } from './remote-channel.js';
export type { RemoteSendOptions } from './remote-channel.js';
export { ClusteredServer, ClusterError, ClusterStartError, WorkerCrashed, STOP_MARGIN_MS } from './cluster.js';
export type {
  ClusterableServer,
  ServerFactory,
  SchedulingPolicy,
  ClusteredServerOptions,
  WorkerState,
  ClusterWorker,
  WorkerSample,
  ClusterWorkerStats,
  WorkerExit,
} from './cluster.js';
