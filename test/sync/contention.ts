/**
 * The steps the contention property tests of the sync primitives share (Event,
 * AsyncResult, Lock, Semaphore): kill a contender, let the others run, let time pass.
 */
import { sleep, type GreenletBody, type Task } from 'greenlet-ts';

export type SharedOp = { kind: 'kill'; index: number } | { kind: 'step' } | { kind: 'advance' };

/** A task of the test, and whether the test killed it. */
export interface Contender {
  readonly task: Task;
  killed: boolean;
}

/**
 * Carry out a shared step: `kill` kills (without waiting) the contender `index` picks, if
 * it has not ended; `step` lets every ready task run once; `advance` sleeps 3 ms, longer
 * than every timed operation (1 ms) started before it.
 */
export function* sharedStep(op: SharedOp, contenders: readonly Contender[]): GreenletBody<void> {
  switch (op.kind) {
    case 'kill': {
      const c = contenders[op.index % Math.max(1, contenders.length)];
      if (c !== undefined && !c.task.ready()) {
        c.killed = true;
        c.task.kill(undefined, { block: false });
      }
      return;
    }
    case 'step':
      yield* sleep(0);
      return;
    case 'advance':
      yield* sleep(3);
      return;
  }
}
