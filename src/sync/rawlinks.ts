/**
 * `Rawlinks`: the rawlink callbacks of an `Event` or an `AsyncResult`, kept as gevent's
 * `AbstractLinkable` keeps them (`_links`, a list).
 *
 * How it works. The callbacks are a list in registration order, a callback registered
 * twice there twice; `unlink` removes the first registration not called yet
 * (`list.remove`). A notification runs from the hub (`callSoon`) and calls the callbacks
 * registered when it began, in order: it takes the list (`notifying`), and a new one
 * collects the callbacks registered meanwhile, which the next notification calls (their
 * notification schedules it at its end if the owner is still ready), as in gevent, where a
 * notification stops at the link that was last when it began. An earlier callback that
 * unlinks a later one of the same notification stops it (its entry becomes null).
 *
 * A list is small or large. Small (nearly always: an object has 0–2 rawlinks): a plain
 * array, from which `unlink` splices (a search and a move of at most `SMALL` items). Large:
 * a {@link LargeList}, which a small list becomes when `unlink` is asked to search more
 * than `SMALL` items. gevent's `list.remove` searches the list, so n tasks in a timed
 * `wait([event])` whose timeouts expire out of their arrival order cost O(n²). A large list
 * leaves a null where a registration was removed (a tombstone) and finds a callback's first
 * registration in a map of positions, built at the first removal that is not of the first
 * entry; when the nulls outnumber the live entries the array is rebuilt without them (the
 * map is then built again when needed), or becomes a small list if few are left: an unlink
 * costs O(1) amortized. A callback's positions in the map are in ascending order, so the
 * first live one is its first registration.
 *
 * Invariants:
 * - `callbacks` holds the registrations not called yet and not in the notification under
 *   way, in order (null when none): a small list has no null entries; a large list's live
 *   entries are its non-null entries from `head` on, and its map, if built, holds exactly
 *   their positions;
 * - `notifying` is non-null only while a notification calls its callbacks: those it has
 *   not reached, null where called or unlinked (a large list's map may then name positions
 *   already null: they are skipped and dropped; it is never rebuilt while notifying);
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

/**
 * The most items a small list searches on unlink; a longer one becomes a {@link LargeList}
 * (and a large one whose live entries fall to half this becomes small again).
 */
const SMALL = 32;

/**
 * A long list of callbacks with O(1) amortized removal of a callback's first registration:
 * null entries where registrations were removed (`dead` counts those from `head` on), and,
 * once a removal has had to search, a map from each callback to the positions of its live
 * registrations in ascending order. The first entry leaves without the map (timeouts of one
 * length expire, and `killall` kills, in arrival order): it is the first live registration
 * of its callback.
 */
class LargeList<C> {
  items: (C | null)[];
  /** Where the entries begin: all before it are null (removed or called). */
  head: number;
  /** Null entries from `head` on (while not notifying). */
  dead = 0;
  /** Each callback's positions: one number, or an array of them for one registered more than once; null until a removal searches. */
  positions: Map<C, number | number[]> | null = null;

  constructor(items: (C | null)[], head: number) {
    this.items = items;
    this.head = head;
  }

  /** Live registrations (while not notifying). */
  get live(): number {
    return this.items.length - this.head - this.dead;
  }

  push(callback: C): void {
    const i = this.items.length;
    this.items.push(callback);
    if (this.positions !== null) addPosition(this.positions, callback, i);
  }

  /**
   * The position of the first live registration of `callback`, taken out of the map (the
   * caller nulls it); -1 if none. Positions found null (called by the notification under
   * way) are dropped on the way.
   */
  take(callback: C): number {
    const items = this.items;
    let positions = this.positions;
    if (positions === null) {
      if (items[this.head] === callback) return this.head;
      positions = this.positions = positionsOf(items, this.head);
    }
    const at = positions.get(callback);
    if (at === undefined) return -1;
    if (typeof at === 'number') {
      positions.delete(callback);
      return items[at] === callback ? at : -1;
    }
    let i = at.shift() as number;
    while (items[i] !== callback && at.length > 0) i = at.shift() as number;
    if (at.length === 0) positions.delete(callback);
    else if (at.length === 1) positions.set(callback, at[0] as number);
    return items[i] === callback ? i : -1;
  }
}

/** The positions of the non-null entries from `head` on, by callback. */
function positionsOf<C>(items: (C | null)[], head: number): Map<C, number | number[]> {
  const positions = new Map<C, number | number[]>();
  for (let i = head; i < items.length; i++) {
    const callback = items[i] as C | null;
    if (callback !== null) addPosition(positions, callback, i);
  }
  return positions;
}

/** Record that `callback` is registered at `i`, after its earlier positions. */
function addPosition<C>(positions: Map<C, number | number[]>, callback: C, i: number): void {
  const at = positions.get(callback);
  if (at === undefined) positions.set(callback, i);
  else if (typeof at === 'number') positions.set(callback, [at, i]);
  else at.push(i);
}

/** @internal The rawlink callbacks of one Event or AsyncResult (allocated at the first rawlink). */
export class Rawlinks<O extends Owner> {
  #callbacks: Callback<O>[] | LargeList<Callback<O>> | null = null;
  #notifying: (Callback<O> | null)[] | LargeList<Callback<O>> | null = null;
  #scheduled = false;
  readonly #owner: O;

  constructor(owner: O) {
    this.#owner = owner;
  }

  /** How many registrations are not called yet (gevent's `len(self._links)`). */
  get count(): number {
    const callbacks = this.#callbacks;
    let count = callbacks === null ? 0 : Array.isArray(callbacks) ? callbacks.length : callbacks.live;
    const notifying = this.#notifying;
    if (notifying !== null) {
      for (const callback of Array.isArray(notifying) ? notifying : notifying.items) if (callback !== null) count++;
    }
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
      if (Array.isArray(notifying) && notifying.length <= SMALL) {
        const i = notifying.indexOf(callback);
        if (i !== -1) {
          notifying[i] = null;
          return;
        }
      } else {
        // A long notification searched by a map (the loop in notify reads the same array).
        const large = Array.isArray(notifying) ? (this.#notifying = new LargeList(notifying, 0)) : notifying;
        const i = large.take(callback);
        if (i !== -1) {
          large.items[i] = null;
          return;
        }
      }
    }
    const callbacks = this.#callbacks;
    if (callbacks === null) return;
    if (Array.isArray(callbacks)) {
      if (callbacks.length <= SMALL) {
        const i = callbacks.indexOf(callback);
        if (i === -1) return;
        if (callbacks.length === 1) this.#callbacks = null;
        else if (i === callbacks.length - 1) callbacks.pop();
        else callbacks.splice(i, 1);
        return;
      }
      const large = new LargeList<Callback<O>>(callbacks, 0);
      this.#callbacks = large;
      this.#removeLarge(large, callback);
    } else this.#removeLarge(callbacks, callback);
  }

  #removeLarge(list: LargeList<Callback<O>>, callback: Callback<O>): void {
    const i = list.take(callback);
    if (i === -1) return;
    const items = list.items;
    items[i] = null;
    if (i === list.head) {
      // The first to arrive leaves (timeouts of one length expire in arrival order).
      let head = i + 1;
      while (head < items.length && items[head] === null) head++;
      list.dead -= head - i - 1;
      list.head = head;
    } else if (i === items.length - 1) {
      let end = i;
      while (end > list.head && items[end - 1] === null) end--;
      list.dead -= i - end;
      items.length = end;
    } else list.dead++;
    const live = list.live;
    if (live === 0) {
      this.#callbacks = null;
    } else if (list.head + list.dead > live) {
      // More nulls than live entries: rebuild (O(live), paid for by the removals that made the nulls).
      const compact: Callback<O>[] = [];
      for (let j = list.head; j < items.length; j++) {
        const c = items[j] as Callback<O> | null;
        if (c !== null) compact.push(c);
      }
      if (live <= SMALL >> 1) this.#callbacks = compact;
      else {
        list.items = compact;
        list.head = 0;
        list.dead = 0;
        list.positions = null; // built again when a removal searches
      }
    }
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
    const list = this.#callbacks;
    if (list === null) return;
    this.#callbacks = null;
    this.#notifying = list;
    let callbacks: (Callback<O> | null)[];
    let head = 0;
    if (Array.isArray(list)) callbacks = list;
    else {
      callbacks = list.items;
      head = list.head;
    }
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
