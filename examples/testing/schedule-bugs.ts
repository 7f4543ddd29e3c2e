/**
 * Three concurrency bugs that pass under the default schedule, found by explore().
 * Run: npx tsx examples/testing/schedule-bugs.ts   → each program passes once on virtual time, then
 * explore() finds the schedule that breaks it and prints the shrunk report.
 *
 * docs/testing.md shows this output; a test checks that it is what these programs print.
 */
import { Event, Lock, joinall, sleep, spawn, waitFor, type GreenletBody, type SwitchOp } from 'greenlet-ts';
import { ScheduleFailure, explore, virtualTime, type ExploreOptions } from 'greenlet-ts/testing';

// --- 1. A check-then-act race across a yield* ----------------------------------------------

interface Account {
  balance: number;
}

/** Asks the fraud service about a payment: a round trip of 1 ms. */
function* fraudCheck(_amount: number): GreenletBody<void> {
  yield* sleep(1);
}

function* withdraw(account: Account, amount: number): GreenletBody<void> {
  if (account.balance >= amount) {
    yield* fraudCheck(amount);
    account.balance -= amount;
  }
}

/** Two withdrawals of the whole balance, arriving 1 ms apart: at most one may go through. */
export function* overdraft(): GreenletBody<void> {
  const account: Account = { balance: 100 };
  const first = spawn(withdraw, account, 100);
  yield* sleep(1);
  const second = spawn(withdraw, account, 100);
  yield* joinall([first, second]);
  if (account.balance < 0) throw new Error(`overdrawn: the balance is ${account.balance}`);
}

// --- 2. A lost wakeup in a hand-made condition variable ------------------------------------

/** A condition variable: notifyAll() wakes the tasks that are waiting at that moment. */
class Condition {
  readonly #waiters: Event[] = [];

  *wait(): GreenletBody<void> {
    const wakeup = new Event();
    this.#waiters.push(wakeup);
    yield* wakeup.wait();
  }

  notifyAll(): void {
    for (const wakeup of this.#waiters.splice(0)) wakeup.set();
  }
}

/** A worker waits until the loader has loaded the configuration. */
export function* configLoaded(): GreenletBody<void> {
  const config = { entries: 0 };
  const loaded = new Condition();
  const worker = spawn(function* worker() {
    yield* loaded.wait();
    return config.entries;
  });
  const loader = spawn(function* loader() {
    config.entries = 3;
    loaded.notifyAll();
  });
  yield* loader.join();
  if ((yield* worker.get()) !== 3) throw new Error('the worker saw no configuration');
}

// --- 3. A lock-order deadlock --------------------------------------------------------------

interface LockedAccount {
  readonly lock: Lock;
  balance: number;
}

function* transfer(from: LockedAccount, to: LockedAccount, amount: number): GreenletBody<void> {
  yield* from.lock.acquire();
  try {
    yield* sleep(1); // read the balance from the database
    yield* to.lock.acquire();
    try {
      from.balance -= amount;
      to.balance += amount;
    } finally {
      to.lock.release();
    }
  } finally {
    from.lock.release();
  }
}

/** Two transfers in opposite directions, arriving 1 ms apart. */
export function* crossTransfers(): GreenletBody<void> {
  const alice: LockedAccount = { lock: new Lock(), balance: 100 };
  const bob: LockedAccount = { lock: new Lock(), balance: 100 };
  const first = spawn(transfer, alice, bob, 10);
  yield* sleep(1);
  const second = spawn(transfer, bob, alice, 20);
  yield* joinall([first, second]);
}

// --- the fixes -------------------------------------------------------------------------------

/** Bug 1 fixed: the check and the debit under the account's lock. */
export function* overdraftFixed(): GreenletBody<void> {
  const account = { balance: 100, lock: new Lock() };
  const withdrawLocked = (amount: number): SwitchOp<void> =>
    account.lock.run(function* () {
      if (account.balance >= amount) {
        yield* fraudCheck(amount);
        account.balance -= amount;
      }
    });
  const first = spawn(withdrawLocked, 100);
  yield* sleep(1);
  const second = spawn(withdrawLocked, 100);
  yield* joinall([first, second]);
  if (account.balance < 0) throw new Error(`overdrawn: the balance is ${account.balance}`);
}

/** Bug 2 fixed: the worker checks a predicate before it waits. */
export function* configLoadedFixed(): GreenletBody<void> {
  const config = { entries: 0 };
  const loaded = new Condition();
  const worker = spawn(function* worker() {
    while (config.entries === 0) yield* loaded.wait();
    return config.entries;
  });
  const loader = spawn(function* loader() {
    config.entries = 3;
    loaded.notifyAll();
  });
  yield* loader.join();
  if ((yield* worker.get()) !== 3) throw new Error('the worker saw no configuration');
}

/** Bug 3 fixed: locks taken in one order (alice's, then bob's), whatever the direction. */
export function* crossTransfersFixed(): GreenletBody<void> {
  const alice: LockedAccount = { lock: new Lock(), balance: 100 };
  const bob: LockedAccount = { lock: new Lock(), balance: 100 };
  const ordered = function* (from: LockedAccount, to: LockedAccount, amount: number): GreenletBody<void> {
    const [firstLock, secondLock] = from === alice ? [from.lock, to.lock] : [to.lock, from.lock];
    yield* firstLock.run(function* () {
      yield* sleep(1); // read the balance from the database
      yield* secondLock.run(() => {
        from.balance -= amount;
        to.balance += amount;
      });
    });
  };
  const first = spawn(ordered, alice, bob, 10);
  yield* sleep(1);
  const second = spawn(ordered, bob, alice, 20);
  yield* joinall([first, second]);
}

// --- not explorable: a wait on the host --------------------------------------------------------

/** Waits on a promise: explore() refuses it (the wake would come from outside the hub). */
export function* usesPromise(): GreenletBody<number> {
  return yield* waitFor(Promise.resolve(42));
}

// --- finding them ----------------------------------------------------------------------------

/** The programs, and how docs/testing.md explores them. */
export const bugs: readonly [program: () => GreenletBody<void>, options: ExploreOptions][] = [
  [overdraft, { runs: 1000, seed: 42 }],
  [configLoaded, { runs: 1000, seed: 42 }],
  [crossTransfers, { runs: 1000, seed: 42, strategy: 'pct' }],
];

/** What explore() reports for `program`: the message of its ScheduleFailure. */
export async function report(program: () => GreenletBody<void>, options: ExploreOptions): Promise<string> {
  await virtualTime(program); // passes under the default schedule
  try {
    await explore(program, options);
  } catch (e) {
    if (e instanceof ScheduleFailure) return e.message;
    throw e;
  }
  return `${program.name}: no failing schedule in ${options.runs} runs`;
}

if (process.argv[1]?.endsWith('schedule-bugs.ts') === true) {
  for (const [program, options] of bugs) {
    const shown = Object.entries(options).map(([k, v]) => `${k}: ${typeof v === 'string' ? `'${v}'` : String(v)}`);
    console.log(`> await explore(${program.name}, { ${shown.join(', ')} })`);
    console.log(await report(program, options));
    console.log();
  }
}
