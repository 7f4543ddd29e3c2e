/**
 * `JobReceiver` and `Job`: the consumer end of a JetStream work queue, as a receive end.
 *
 * Pulling. A durable pull consumer hands out messages only when asked: the receiver
 * publishes pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` with
 * `{ batch, expires }`, JetStream's pull protocol) for as many jobs as it has room for,
 * `maxJobs - held - requested`, and asks again as jobs are settled. So a process never
 * holds more jobs than its tasks can take, and the rest stay on the server for other
 * processes: the back-pressure that core NATS cannot give.
 *
 * A job's life (`held` counts the jobs in the first three states):
 *
 * ```text
 *  arrives ──▶ buffered ──recv()──▶ handed out ──claimed by a task──▶ owned ──task returns──▶ acked (deleted from the queue)
 *                 │                                                      │──task fails──▶ nacked after retryDelay (redelivered)
 *                 │                                                      │──task killed──▶ nacked at once (redelivered)
 *                 └──receiver closed──▶ nacked at once                   └──ack() / nak() / term() by hand──▶ settled
 * ```
 *
 * Invariants:
 * - `requested` is the number of jobs asked for by live pull requests; `held + requested
 *   <= maxJobs` except briefly after a reconnect (a pull request the old server kept may
 *   still answer; what it brings is held, never dropped);
 * - a job is settled (acked, nacked or terminated) at most once; a job owned by a task is
 *   settled by the time that task has ended;
 * - while a job is owned and unsettled, the receiver tells the server every `ackWait / 3`
 *   that it is still being worked on (`+WPI`), so a long job is not redelivered; a job
 *   whose process dies (kill -9) stops being refreshed and is redelivered after `ackWait`;
 * - a task killed while it waits in `recv()` leaves the queue; a job is handed only to a
 *   task parked for it, so nothing is lost.
 *
 * @module
 */
import type { Msg, MsgHdrs, Subscription as ClientSubscription } from '@nats-io/transport-node';
import { GreenletExit } from '../core/errors.js';
import type { GreenletBody } from '../core/greenlet.js';
import { lazy } from '../core/operation.js';
import { isGenerator, type SwitchOp } from '../core/switcher.js';
import { blockingOperation, currentTask } from '../hub/hub.js';
import { PEEK_OUTCOME, WATCH_END, currentTaskOrNull, type Task } from '../hub/task.js';
import { Channel, ChannelIterator, type RecvResult, type SenderWaiter } from '../sync/channel.js';
import type { NatsConnection } from './connection.js';
import { encodePayload, parseJson, type Payload } from './message.js';

/** The header that carries the subject a job's result goes to (`queue.request()`). */
export const REPLY_HEADER = 'Greenlet-Reply-To';

/** How long a pull request waits on the server for jobs before it expires, in ms. */
const PULL_EXPIRES = 30_000;

/** What the receiver needs of its work queue. */
export interface JobSource {
  readonly connection: NatsConnection;
  readonly stream: string;
  readonly consumer: string;
  /** The consumer's ack wait, in ms. */
  readonly ackWait: number;
}

/** Options of `queue.consume()`. */
export interface ConsumeOptions {
  /** How many jobs this end holds at once, buffered or being handled (default 1). */
  maxJobs?: number;
  /** How long after a failure a job is redelivered, in ms (default 1000). */
  retryDelay?: number;
}

const HELD = 0;
const ACKED = 1;
const NACKED = 2;
const TERMINATED = 3;

/**
 * A job from a JetStream work queue: a message that stays on the queue until it is
 * acked. Received from a {@link JobReceiver}; read it with `data`, `string()`, `json()`.
 *
 * The task that receives a job (or the one a job server starts for it) owns it: when that
 * task returns, the job is acked (done, deleted from the queue); when it fails, the job is
 * nacked and redelivered after `retryDelay`; when it is killed, the job is nacked and
 * redelivered at once. Settle it earlier by hand with `ack()`, `nak(delay)` or `term()`,
 * for example in a loop that handles one job after the other.
 */
export class Job {
  /** The message as the official client gave it. */
  readonly raw: Msg;
  readonly #receiver: JobReceiver;
  #state = HELD;
  #owner: Task | null = null;
  #onOwnerEnd: ((task: Task) => void) | null = null;

  /** @internal */
  constructor(receiver: JobReceiver, raw: Msg) {
    this.#receiver = receiver;
    this.raw = raw;
  }

  /** The subject it was submitted on. */
  get subject(): string {
    return this.raw.subject;
  }

  /** Its payload as bytes. */
  get data(): Uint8Array {
    this.#claimByReader();
    return this.raw.data;
  }

  /** Its headers, if any. */
  get headers(): MsgHdrs | undefined {
    return this.raw.headers;
  }

  /** Its payload decoded as UTF-8. */
  string(): string {
    this.#claimByReader();
    return new TextDecoder().decode(this.raw.data);
  }

  /**
   * Its payload parsed as JSON.
   *
   * @throws `MalformedPayload` naming the subject when the payload is not JSON.
   */
  json<T = unknown>(): T {
    this.#claimByReader();
    return parseJson<T>(this.raw.data, this.raw.subject, 'a job');
  }

  /** How many times it has been delivered (1 the first time; more after a failure, a kill or a crash). */
  get deliveryCount(): number {
    const tokens = (this.raw.reply ?? '').split('.');
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>, or
    // the form with a domain and an account hash before the stream.
    return Number(tokens.length === 9 ? tokens[4] : tokens[6]);
  }

  /** Its sequence number in the stream: the same on every delivery. */
  get sequence(): number {
    const tokens = (this.raw.reply ?? '').split('.');
    return Number(tokens.length === 9 ? tokens[5] : tokens[7]);
  }

  /** Whether it was acked, nacked or terminated. */
  get settled(): boolean {
    return this.#state !== HELD;
  }

  /** The task that owns it (see the class comment), or null. */
  get owner(): Task | null {
    return this.#owner;
  }

  /** Done: the queue deletes it. Does nothing once settled. */
  ack(): void {
    this.#settle(ACKED, '+ACK');
  }

  /**
   * Not done: the queue delivers it again, after `delayMs` (default 0) to this or another
   * consumer. Does nothing once settled.
   */
  nak(delayMs = 0): void {
    this.#settle(NACKED, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1e6) })}` : '-NAK');
  }

  /** Never to be done: the queue drops it without redelivering it. Does nothing once settled. */
  term(): void {
    this.#settle(TERMINATED, '+TERM');
  }

  /** Tell the server it is still being worked on (the receiver does it by itself for owned jobs). */
  working(): void {
    if (this.#state === HELD) this.#publish('+WPI');
  }

  /**
   * Send `value` to whoever submitted the job with `queue.request()` (nothing if it was
   * submitted with `submit()`): `yield* job.reply(value)`. Job servers send what their
   * handler returns.
   */
  reply(value: Payload): SwitchOp<void> {
    return lazy(REPLY, this, value, undefined);
  }

  /** @internal Performs {@link Job.reply}. */
  *performReply(value: Payload): GreenletBody<void> {
    currentTask('job.reply()');
    const to = this.raw.headers?.get(REPLY_HEADER) ?? '';
    if (to === '') return;
    yield* this.#receiver.source.connection.performPublish(to, encodePayload(value, this.raw.subject), undefined);
  }

  /** For reports: `Job(jobs.cpu, delivery 2, held)`. */
  toString(): string {
    const state = ['held', 'acked', 'nacked', 'terminated'][this.#state];
    return `Job(${this.raw.subject}, delivery ${this.deliveryCount}, ${state})`;
  }

  /**
   * @internal Make `task` the owner: the job is settled when it ends (acked if it
   * returned, nacked if it failed or was killed), unless it is settled before.
   */
  claim(task: Task): void {
    if (this.#owner !== null || this.#state !== HELD) return;
    this.#owner = task;
    const onEnd = (ended: Task): void => this.#ownerEnded(ended);
    this.#onOwnerEnd = onEnd;
    task[WATCH_END](onEnd);
    this.#receiver.owned(this);
  }

  /** A job handed out by a select is claimed by the first task that reads it. */
  #claimByReader(): void {
    if (this.#owner !== null || this.#state !== HELD) return;
    const task = currentTaskOrNull();
    if (task !== null) this.claim(task);
  }

  #ownerEnded(task: Task): void {
    this.#onOwnerEnd = null;
    if (this.#state !== HELD) return;
    const [failed, outcome] = task[PEEK_OUTCOME]();
    if (failed) this.nak(this.#receiver.retryDelay);
    else if (outcome instanceof GreenletExit) this.nak();
    else this.ack();
  }

  #settle(state: number, body: string): void {
    if (this.#state !== HELD) return;
    this.#state = state;
    this.#publish(body);
    const owner = this.#owner;
    const onEnd = this.#onOwnerEnd;
    if (owner !== null && onEnd !== null && !owner.ready()) owner.unlink(onEnd);
    this.#onOwnerEnd = null;
    this.#receiver.settled(this);
  }

  #publish(body: string): void {
    const client = this.#receiver.source.connection.client;
    const reply = this.raw.reply;
    if (reply === undefined || reply === '' || client.isClosed()) return; // redelivered after ackWait
    try {
      client.publish(reply, body);
    } catch {
      // The connection is closing: the server redelivers after ackWait.
    }
  }
}

/** A pull request in flight. */
interface PullRequest {
  readonly id: string;
  remaining: number;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The consumer end of a JetStream work queue: a receive end of {@link Job}s, made by
 * `queue.consume({ maxJobs })`. It works like a channel: `yield* jobs.recv(ms)`,
 * `jobs.iterate()`, `recvCase(jobs)` in a `select`.
 *
 * ```ts
 * const jobs = queue.consume({ maxJobs: 4 });
 * for (const it = jobs.iterate(); yield* it.next(); ) {
 *   const job = it.value;
 *   handle(job.json());
 *   job.ack();                 // done: the next job
 * }
 * ```
 *
 * It holds at most `maxJobs` jobs at once (buffered here or handed out and not yet
 * settled), asking the server for more as they are settled. `close()` stops asking; jobs
 * buffered here are nacked (redelivered at once), jobs handed out stay with their tasks.
 */
export class JobReceiver extends Channel<Job> {
  /** How many jobs it holds at once. */
  readonly maxJobs: number;
  /** How long after a failure a job is redelivered, in ms. */
  readonly retryDelay: number;
  /** @internal */ readonly source: JobSource;
  #held = 0;
  #requested = 0;
  readonly #requests = new Map<string, PullRequest>();
  #nextId = 0;
  readonly #inbox: string;
  readonly #sub: ClientSubscription;
  /** Jobs owned by a task and not settled: refreshed with +WPI. */
  readonly #owned = new Set<Job>();
  #refresh: ReturnType<typeof setInterval> | null = null;
  readonly #unwatch: () => void;
  /** A job server's dispatch: jobs go straight to it instead of the buffer. */
  readonly #dispatch: ((job: Job) => void) | null;
  #delivered = 0;

  /** @internal Made by `queue.consume()` and job servers. */
  constructor(source: JobSource, options?: ConsumeOptions, dispatch?: (job: Job) => void) {
    super(Infinity);
    const maxJobs = options?.maxJobs ?? 1;
    if (!Number.isInteger(maxJobs) || maxJobs < 1) {
      throw new RangeError(`maxJobs is a whole number >= 1 (how many jobs one end holds at once), not ${String(maxJobs)}`);
    }
    this.maxJobs = maxJobs;
    this.retryDelay = options?.retryDelay ?? 1000;
    this.source = source;
    this.#dispatch = dispatch ?? null;
    const connection = source.connection;
    this.#inbox = `${connection.module.createInbox()}.`;
    const start = this.#inbox.length;
    this.#sub = connection.client.subscribe(`${this.#inbox}*`, {
      callback: (error, msg) => {
        if (error === null) this.#arrived(msg.subject.slice(start), msg);
      },
    });
    this.#unwatch = connection.watch((event) => {
      if (event === 'closed') {
        this.close();
        return;
      }
      // The server may be a new one that knows nothing of our pull requests: ask again.
      this.#forgetRequests();
      this.#pull();
    });
    this.#pull();
  }

  /** Jobs held now: buffered here, or handed out and not yet settled. */
  get held(): number {
    return this.#held;
  }

  /** Jobs delivered to this end so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /**
   * Receive the next job, waiting for one (see `Channel.recv`): `const job = yield*
   * jobs.recv(ms)`. The receiving task owns it.
   */
  override recv(timeout?: number): SwitchOp<Job | undefined> {
    return lazy(RECV, this, timeout, undefined);
  }

  /** @internal Performs {@link JobReceiver.recv}. */
  override *performRecv(timeout: number | undefined): GreenletBody<Job | undefined> {
    const task = currentTask('jobs.recv()') as unknown as Task;
    const job = yield* super.performRecv(timeout);
    job?.claim(task);
    return job;
  }

  /** Receive like `recv()`, telling a job from the end: `[job, true]` or `[undefined, false]`. */
  override recvOk(timeout?: number): SwitchOp<RecvResult<Job>> {
    return lazy(RECV_OK, this, timeout, undefined);
  }

  /** @internal Performs {@link JobReceiver.recvOk}. */
  override *performRecvOk(timeout: number | undefined): GreenletBody<RecvResult<Job>> {
    const task = currentTask('jobs.recvOk()') as unknown as Task;
    const result = yield* super.performRecvOk(timeout);
    if (result[1]) result[0].claim(task);
    return result;
  }

  /**
   * Call `fn(job)` for each job until the receiver is closed: `yield* jobs.forEach(fn)`
   * (see `Channel.forEach`). The task running the loop owns each job: settle it in `fn`
   * (`job.ack()`), or it is settled when the task ends.
   */
  override forEach(fn: (job: Job) => unknown): SwitchOp<void> {
    return lazy(FOR_EACH, this, fn, undefined);
  }

  /** A job if one is buffered (owned by the current task, if called in one). */
  override tryRecv(): RecvResult<Job> {
    const result = super.tryRecv();
    const task = currentTaskOrNull();
    if (result[1] && task !== null) result[0].claim(task);
    return result;
  }

  /** An iterator over the jobs for a loop in a task; each job is owned by the task that receives it. */
  override iterate(): ChannelIterator<Job> {
    return new JobIterator(this);
  }

  /**
   * Stop asking for jobs: jobs buffered here are nacked (redelivered at once to any
   * consumer), jobs handed out stay with their tasks; receivers see the end. Works
   * anywhere; closing twice does nothing.
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    this.#unwatch();
    this.#forgetRequests();
    if (!this.#sub.isClosed()) this.#sub.unsubscribe();
    for (let r = super.tryRecv(); r[1]; r = super.tryRecv()) r[0].nak();
    if (this.#owned.size === 0) this.#stopRefresh();
  }

  /** For reports: `JobReceiver(JOBS/workers, 2 of 4 held)`. */
  override toString(): string {
    return `JobReceiver(${this.source.stream}/${this.source.consumer}, ${this.#held} of ${this.maxJobs} held${this.closed ? ', closed' : ''})`;
  }

  // --- not this end's business ----------------------------------------------------------

  override send(_value: Job, _timeout?: number): SwitchOp<void> {
    throw wrongEnd(this, 'send()');
  }
  override trySend(_value: Job): boolean {
    throw wrongEnd(this, 'trySend()');
  }
  /** @internal */
  override sendReady(): boolean {
    throw wrongEnd(this, 'a select send case');
  }
  /** @internal */
  override sendNow(_value: Job): void {
    throw wrongEnd(this, 'a select send case');
  }
  /** @internal */
  override addSender(_waiter: SenderWaiter<Job>): void {
    throw wrongEnd(this, 'a select send case');
  }

  // --- jobs -----------------------------------------------------------------------------------

  /** @internal A task owns `job` now: keep it alive on the server while it works. */
  owned(job: Job): void {
    this.#owned.add(job);
    if (this.#refresh === null) {
      const every = Math.max(50, Math.floor(this.source.ackWait / 3));
      this.#refresh = setInterval(() => {
        for (const owned of this.#owned) owned.working();
      }, every);
      this.#refresh.unref();
    }
  }

  /** @internal `job` was acked, nacked or terminated: room for another. */
  settled(job: Job): void {
    this.#owned.delete(job);
    this.#held--;
    if (this.#owned.size === 0 && (this.closed || this.#held === 0)) this.#stopRefresh();
    if (!this.closed) this.#pull();
  }

  // --- pulling --------------------------------------------------------------------------------

  /** Ask for as many jobs as there is room for. */
  #pull(): void {
    if (this.closed) return;
    const want = this.maxJobs - this.#held - this.#requested;
    if (want <= 0) return;
    const client = this.source.connection.client;
    if (client.isClosed()) return;
    const id = (this.#nextId++).toString(36);
    const timer = setTimeout(() => {
      // Expired without a word (the server lost it): forget it and ask again.
      if (this.#endRequest(id)) this.#pull();
    }, PULL_EXPIRES + 5000);
    timer.unref();
    this.#requests.set(id, { id, remaining: want, timer });
    this.#requested += want;
    try {
      client.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${this.source.stream}.${this.source.consumer}`,
        JSON.stringify({ batch: want, expires: PULL_EXPIRES * 1e6 }),
        { reply: `${this.#inbox}${id}` },
      );
    } catch {
      this.#endRequest(id);
    }
  }

  /** A message for a pull request: a job, or a status (on the request's inbox, `id`) that ends it. */
  #arrived(id: string, msg: Msg): void {
    const reply = msg.reply ?? '';
    if (!reply.startsWith('$JS.ACK.')) {
      // A status: 100 (heartbeat) changes nothing; 404, 408 (expired), 409 end the request.
      const code = msg.headers?.code ?? 0;
      if (code !== 100 && this.#endRequest(id)) this.#pull();
      return;
    }
    // A job comes on its own subject, not the request's inbox: count it against the oldest
    // request (the server serves a consumer's pull requests in order).
    for (const request of this.#requests.values()) {
      request.remaining--;
      this.#requested--;
      if (request.remaining === 0) {
        clearTimeout(request.timer);
        this.#requests.delete(request.id);
      }
      break;
    }
    const job = new Job(this, msg);
    if (this.closed) {
      job.nak(); // closed meanwhile: straight back to the queue
      return;
    }
    this.#held++;
    this.#delivered++;
    if (this.#dispatch !== null) this.#dispatch(job);
    else super.trySend(job);
  }

  #endRequest(id: string): boolean {
    const request = this.#requests.get(id);
    if (request === undefined) return false;
    clearTimeout(request.timer);
    this.#requests.delete(id);
    this.#requested -= request.remaining;
    return true;
  }

  #forgetRequests(): void {
    for (const id of [...this.#requests.keys()]) this.#endRequest(id);
  }

  #stopRefresh(): void {
    if (this.#refresh !== null) clearInterval(this.#refresh);
    this.#refresh = null;
  }
}

/** `jobs.iterate()`: each job received is owned by the task that receives it. */
class JobIterator extends ChannelIterator<Job> {
  /** @internal Performs `next()`: the receiving task owns the job. */
  override *performNext(timeout: number | undefined): GreenletBody<boolean> {
    const task = currentTask('jobs iterator next()') as unknown as Task;
    const more = yield* super.performNext(timeout);
    if (more) this.value.claim(task);
    return more;
  }
}

// --- the operations (see core/operation.ts): made by the methods, performed by yield* -----------

const REPLY = blockingOperation<Job, Payload, undefined, void>('job.reply()', (job, value) => job.performReply(value));
const RECV = blockingOperation<JobReceiver, number | undefined, undefined, Job | undefined>('jobs.recv()', (jobs, timeout) =>
  jobs.performRecv(timeout),
);
const RECV_OK = blockingOperation<JobReceiver, number | undefined, undefined, RecvResult<Job>>('jobs.recvOk()', (jobs, timeout) =>
  jobs.performRecvOk(timeout),
);
const FOR_EACH = blockingOperation<JobReceiver, (job: Job) => unknown, undefined, void>('jobs.forEach()', function* (jobs, fn) {
  for (const it = jobs.iterate(); yield* it.performNext(undefined); ) {
    const r = fn(it.value);
    if (isGenerator<GreenletBody<unknown>>(r)) yield* r;
  }
});

function wrongEnd(jobs: JobReceiver, what: string): TypeError {
  return new TypeError(
    `${what} on ${String(jobs)}: a job receiver is a receive end. Submit jobs with \`yield* queue.submit(subject, data)\``,
  );
}
