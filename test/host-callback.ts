/**
 * A host callback for tests: code that runs from the event loop as plain main-greenlet code
 * (an I/O event, a timer), as a server's request does. Timers, which every runtime has
 * (`setImmediate` is only Node's, Deno's and Bun's).
 */

/** A turn of the host's event loop (a timer). */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Run `fn` as a host callback (a macrotask), then let every microtask and pass it caused run. */
export async function inHostCallback(fn: () => void): Promise<void> {
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      fn();
      resolve();
    }, 0),
  );
  await macrotask();
}
