/** The peers of `bench:peers`, in the order of the table's columns. */
import { asyncAwait } from './async-await.js';
import { effect, effectTryFinally } from './effect.js';
import { effection } from './effection.js';
import { greenletTs } from './greenlet-ts.js';
import type { Peer } from './workloads.js';

export const PEERS: readonly Peer[] = [greenletTs, asyncAwait, effect, effectTryFinally, effection];
