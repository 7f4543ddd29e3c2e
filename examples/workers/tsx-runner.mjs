// Only for running the examples from TypeScript source: each worker thread registers tsx
// before it loads the worker runtime. (Compiled JavaScript needs no runner.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.greenletTsWorker.runtime);
