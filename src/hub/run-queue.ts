/**
 * The hub's run queue: the READY tasks, first in first out, in a chain of fixed-size
 * chunks. A push writes into the newest chunk, and a chunk that fills up gets a new one
 * after it; a shift reads from the oldest, and a chunk that has been read to its end is
 * dropped (the collector takes it). So the queue grows with a burst and gives its room back
 * as the burst drains, with nothing to copy and no pass-by-pass bookkeeping.
 *
 * Why chunks rather than one ring buffer. A store of a young object into an old one costs
 * a write barrier (a call of ~50 instructions: `Builtins_RecordWriteSaveFP`), and a ring
 * that lives as long as the hub is old, while the tasks pushed into it are mostly young
 * (just spawned, or woken soon after they parked): one barrier per push, two per task in
 * a fan-out (the push at its spawn, the push at its wake). A chunk is made when the one
 * before it fills up, so it is as young as the tasks pushed into it, and a push costs no
 * barrier unless the chunk has lived through two scavenges (one store of a new chunk into
 * the queue per {@link RUN_QUEUE_CHUNK} pushes instead). The last chunk dropped is kept
 * for the next one needed, though: a steady workload (a ping-pong, two tasks ready in
 * turn) then goes back and forth between two chunks and allocates none, where a chunk made
 * every 128 round trips made a channel ping-pong half as slow again in wall clock (its
 * tasks are old: the barrier was never what it paid); a burst still gets new chunks, all
 * but one. docs/benchmarks-log.md, `interop.waitfor_fanout`, has the counts.
 *
 * Invariants: `first` is the oldest chunk, `last` the newest (the same one when the queue
 * holds at most a chunk's worth); a chunk's slot {@link RUN_QUEUE_CHUNK} holds the next
 * chunk; the queued tasks are `first[head ..]`, every chunk in between, then
 * `last[.. tail)`, in the order they were pushed; `head` and `tail` are below
 * RUN_QUEUE_CHUNK (a push that fills a chunk adds the next one; a shift that reads a
 * chunk's last slot moves to the next one); a slot shifted is cleared at once (a task run
 * is not kept alive by the queue), so `spare`, when there is one, is all empty; `chunks` counts the chunks after `first`, so the length
 * is `chunks * RUN_QUEUE_CHUNK + tail - head`.
 *
 * @module
 */
import type { RunQueueLike, Schedulable } from './hub.js';

/** @internal The tasks a chunk holds (the slot after them links the next chunk). */
export const RUN_QUEUE_CHUNK = 256;

/** RUN_QUEUE_CHUNK slots of tasks, then the next chunk (or undefined). */
type Chunk = (Schedulable | Chunk | undefined)[];

const CHUNK = RUN_QUEUE_CHUNK;

/** @internal A FIFO chain of chunks of tasks; see the module's comment. */
export class RunQueue implements RunQueueLike {
  private first: Chunk = newChunk();
  private head = 0;
  private last: Chunk = this.first;
  private tail = 0;
  /** The chunks after `first`. */
  private chunks = 0;
  /** The last chunk dropped, empty, for the next chunk needed (see {@link RunQueue.addChunk}). */
  private spare: Chunk | null = null;

  get length(): number {
    return this.chunks * CHUNK + this.tail - this.head;
  }

  /** @internal The slots of the chunks held now (for tests of the room given back). */
  get capacity(): number {
    return (this.chunks + 1) * CHUNK;
  }

  push(task: Schedulable): void {
    this.last[this.tail] = task;
    if (++this.tail === CHUNK) this.addChunk();
  }

  /** The newest chunk is full: chain a new one after it. */
  private addChunk(): void {
    const chunk = this.spare ?? newChunk();
    this.spare = null;
    this.last[CHUNK] = chunk;
    this.last = chunk;
    this.tail = 0;
    this.chunks++;
  }

  shift(): Schedulable | undefined {
    const first = this.first;
    const head = this.head;
    if (head === this.tail && first === this.last) return undefined;
    const task = first[head] as Schedulable;
    first[head] = undefined;
    if (head + 1 === CHUNK) this.dropChunk(first);
    else this.head = head + 1;
    return task;
  }

  /** The oldest chunk has been read to its end: go on with the next (there is one, see the invariants). */
  private dropChunk(first: Chunk): void {
    this.first = first[CHUNK] as Chunk;
    first[CHUNK] = undefined;
    this.spare = first;
    this.head = 0;
    this.chunks--;
  }

  queued(): Schedulable[] {
    const list: Schedulable[] = [];
    let chunk = this.first;
    let i = this.head;
    while (chunk !== this.last || i !== this.tail) {
      list.push(chunk[i] as Schedulable);
      if (++i === CHUNK) {
        chunk = chunk[CHUNK] as Chunk;
        i = 0;
      }
    }
    return list;
  }
}

/**
 * An empty chunk: its slots are holes, never read (only `[head, tail)` and a full chunk's
 * link are). `new Array(n)` is the cheapest way to make one (callgrind, per chunk of 257
 * slots: ~2,500 instructions, against ~8,400 with `.fill(undefined)`, which runs in C++).
 * Its link slot is written here, so that every chunk has left the elements kind of an
 * array of small integers before a push or a shift sees it: those see one kind only.
 */
function newChunk(): Chunk {
  const chunk = new Array<Schedulable | Chunk | undefined>(CHUNK + 1);
  chunk[CHUNK] = undefined;
  return chunk;
}
