/**
 * Killing greenlets that nobody can reach any more: greenlet's garbage-collection kill,
 * opt-in.
 *
 * @module
 */
import { setKillUnreachable as setKill, setUnraisableHook, type UnraisableHook } from './switcher.js';

export { setUnraisableHook, type UnraisableHook };

/**
 * Turn on (or off) killing of suspended greenlets that have become unreachable, and
 * return the previous setting. Off by default.
 *
 * When on, a greenlet that suspends for the first time is watched by a
 * `FinalizationRegistry`. If later nothing references it and the garbage collector
 * reclaims it, `GreenletExit` is thrown into it from the main greenlet, with main as its
 * parent for the duration, so that its `catch` and `finally` blocks run, as CPython's
 * greenlet does when the last reference goes. An error other than `GreenletExit` that
 * escapes the kill goes to the unraisable hook ({@link setUnraisableHook}); a greenlet
 * that catches the kill and switches away instead of ending is reported there too and
 * kept alive for good.
 *
 * It is best effort, by the nature of JavaScript finalization:
 * - it happens only after a garbage collection, in a task of its own, some time later or
 *   never (not at process exit, for instance);
 * - a greenlet whose own suspended frames reference it (`this` in a subclass's `run`, a
 *   closure over its variable) is never collected, so never killed: the same leak as
 *   CPython before 3.15;
 * - a chain of greenlets that only their children reference is killed one garbage
 *   collection per level;
 * - greenlets already suspended when it is turned on are watched from their next
 *   suspension.
 *
 * It costs memory: each watched greenlet keeps its state in a second object plus the
 * registry's cell (about 150 bytes more). The deterministic way to end a greenlet is to
 * kill it yourself: `g.throw()`.
 */
export function setKillUnreachable(on: boolean): boolean {
  return setKill(on);
}
