/**
 * The CPU-bound job of the `workers.cpu` benchmark: `rounds` chained SHA-256 digests, a
 * deterministic busy loop. Loaded by the pool's threads (its default export is the job
 * function) and, for the baseline, by the main thread.
 */
import { createHash } from 'node:crypto';

export default function hashRounds(rounds) {
  let digest = 'greenlet-ts';
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}
