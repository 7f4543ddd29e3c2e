/**
 * Evaluated first in every bundled test file (see bundle.ts), before chai, the shim and the
 * sources: fills in the few host functions a runtime lacks, and only where missing.
 *
 * - JavaScriptCore's shell (`jsc`) is an engine with little host around it: it has `print`
 *   and `setTimeout`, but no `console`, no `clearTimeout`, no `queueMicrotask` and no
 *   `EventTarget` (which chai uses for its plugin events). `console` prints;
 *   `queueMicrotask(fn)` is `Promise.resolve().then(fn)` (a microtask, as the standard
 *   function's is); `clearTimeout` cancels nothing, since the shell's timers cannot be
 *   cancelled (the hub's timer heap takes a host timer that fires with nothing due in its
 *   stride); `EventTarget` is a minimal one.
 * - The same JavaScriptCore has no `Symbol.dispose` / `Symbol.asyncDispose` yet: they are
 *   `Symbol.for('Symbol.dispose')` and `Symbol.for('Symbol.asyncDispose')`, as TypeScript's
 *   documentation and esbuild's `using` lowering have them on such engines (set before
 *   the sources define their `[Symbol.dispose]` methods).
 * - Bun has `Bun.gc(true)` where V8 hosts have `gc()` (Deno and Chromium get `gc()` from
 *   the `--expose-gc` V8 flag the runner passes).
 *
 * @module
 */
interface Host {
  print?: (text: string) => void;
  Bun?: { gc(force: boolean): void };
  gc?: () => void;
}
const host = globalThis as unknown as Host & Record<string, unknown>;

if (typeof host.console === 'undefined' && typeof host.print === 'function') {
  const print = host.print;
  const log = (...args: unknown[]) => print(args.map(String).join(' '));
  host.console = { log, info: log, warn: log, error: log, debug: log, trace: log };
}
if (typeof host.queueMicrotask === 'undefined') {
  host.queueMicrotask = (fn: () => void) => {
    void Promise.resolve().then(fn);
  };
}
if (typeof host.clearTimeout === 'undefined') {
  host.clearTimeout = () => {};
}
if (typeof host.EventTarget === 'undefined') {
  host.EventTarget = class EventTarget {
    readonly #listeners = new Map<string, Set<(event: { type: string }) => void>>();
    addEventListener(type: string, fn: (event: { type: string }) => void): void {
      let set = this.#listeners.get(type);
      if (set === undefined) this.#listeners.set(type, (set = new Set()));
      set.add(fn);
    }
    removeEventListener(type: string, fn: (event: { type: string }) => void): void {
      this.#listeners.get(type)?.delete(fn);
    }
    dispatchEvent(event: { type: string }): boolean {
      for (const fn of this.#listeners.get(event.type) ?? []) fn(event);
      return true;
    }
  };
}
if (typeof host.Event === 'undefined') {
  host.Event = class Event {
    constructor(readonly type: string) {}
  };
}
const symbols = Symbol as unknown as Record<string, symbol | undefined>;
symbols.dispose ??= Symbol.for('Symbol.dispose');
symbols.asyncDispose ??= Symbol.for('Symbol.asyncDispose');
if (typeof host.gc === 'undefined' && host.Bun !== undefined) {
  const bun = host.Bun;
  host.gc = () => bun.gc(true);
}

export {};
