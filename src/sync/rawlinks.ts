/**
 * `Rawlinks`: the rawlink callbacks of an `Event` or an `AsyncResult`, kept as gevent's
 * `AbstractLinkable` keeps them (`_links`, a list).
 *
 * How it works. The callbacks are an array in registration order, a callback registered
 * twice there twice; `unlink` removes the first registration not called yet
 * (`list.remove`). A notification runs from the hub (`callSoon`) and calls the callbacks
 * registered when it began, in order: it takes the array (`notifying`), and a new one
 * collects the callbacks registered meanwhile, which the next notification calls (their
 * notification schedules it at its end if the owner is still ready), as in gevent, where a notification
 * stops at the link that was last when it began. An earlier callback that unlinks a later
 * one of the same notification stops it (its entry becomes null).
 *
 * Invariants:
 * - `callbacks` holds, from `head` on, the registrations not called yet and not in the
 *   notification under way, in order (null when none); its entries before `head` are null;
 * - `notifying` is non-null only while a notification calls its callbacks: those it has
 *   not reached, null where called or unlinked;
 * - `scheduled` is true while a notification is queued in the hub and has not begun.
 *
 * @module
 */
import { getHub, runRawlink } from '../hub/hub.js';

/** What owns the callbacks: it is passed to each and names them in error reports. */
interface Owner {
  ready(): boolean;
  toString(): string;
}

type Callback<O> = (owner: O) => void;

/** @internal The rawlink callbacks of one Event or AsyncResult (allocated at the first rawlink). */
export class Rawlinks<O extends Owner> {
  #callbacks: Callback<O>[] | null = null;
  /** Where the registrations in `callbacks` begin: those before it were unlinked (null). */
  #head = 0;
  #notifying: (Callback<O> | null)[] | null = null;
  #scheduled = false;
  readonly #owner: O;

  constructor(owner: O) {
    this.#owner = owner;
  }

  /** How many registrations are not called yet (gevent's `len(self._links)`). */
  get count(): number {
    let count = this.#callbacks === null ? 0 : this.#callbacks.length - this.#head;
    const notifying = this.#notifying;
    if (notifying !== null) for (const callback of notifying) if (callback !== null) count++;
    return count;
  }

  /** Register `callback` once more; schedule a notification if the owner is ready. */
  add(callback: Callback<O>): void {
    const callbacks = this.#callbacks;
    if (callbacks === null) this.#callbacks = [callback];
    else callbacks.push(callback);
    if (this.#notifying === null && this.#owner.ready()) this.schedule();
  }

  /** Remove the first registration of `callback` not called yet; nothing if there is none. */
  remove(callback: Callback<O>): void {
    const notifying = this.#notifying;
    if (notifying !== null) {
      const i = notifying.indexOf(callback);
      if (i !== -1) {
        notifying[i] = null;
        return;
      }
    }
    const callbacks = this.#callbacks;
    if (callbacks === null) return;
    const head = this.#head;
    const i = callbacks.indexOf(callback, head);
    if (i === -1) return;
    if (callbacks.length - head === 1) {
      this.#callbacks = null;
      this.#head = 0;
    } else if (i === head) {
      // The first to arrive leaves (timeouts of one length expire in arrival order): move
      // the head past it, not the array's items (shift() moves them all once the array is
      // large), and slice the array when the head passes its middle.
      (callbacks as (Callback<O> | null)[])[i] = null;
      if (head + 1 > callbacks.length >> 1) {
        this.#callbacks = callbacks.slice(head + 1);
        this.#head = 0;
      } else this.#head = head + 1;
    } else if (i === callbacks.length - 1) callbacks.pop();
    else callbacks.splice(i, 1);
  }

  /** Queue a notification in the hub if there are callbacks and none is queued. */
  schedule(): void {
    if (this.#scheduled || this.#callbacks === null) return;
    this.#scheduled = true;
    getHub().callSoon(this.#notify);
  }

  /**
   * Call the callbacks registered when the notification was scheduled or since, in order,
   * skipping any unlinked meanwhile; called even if the owner is no longer ready (an Event
   * cleared again: they learn it was set, as in gevent).
   */
  readonly #notify = (): void => {
    this.#scheduled = false;
    const callbacks: (Callback<O> | null)[] | null = this.#callbacks;
    if (callbacks === null) return;
    const head = this.#head;
    this.#callbacks = null;
    this.#head = 0;
    this.#notifying = callbacks;
    const owner = this.#owner;
    try {
      for (let i = head; i < callbacks.length; i++) {
        const callback = callbacks[i] as Callback<O> | null;
        if (callback === null) continue;
        callbacks[i] = null;
        runRawlink(callback, owner, () => `a rawlink callback of ${String(owner)}`);
      }
    } finally {
      this.#notifying = null;
    }
    // Those registered meanwhile: the next notification, if the owner is still ready.
    if (owner.ready()) this.schedule();
  };
}
