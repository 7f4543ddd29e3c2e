/**
 * The page's tasks (index.html). Bundled for the browser by serve.ts:
 * `npm run example:browser`, then open http://127.0.0.1:8000/.
 */
import { Queue, getHub, sleep, spawn, withTimeout, type GreenletBody, type Task } from 'greenlet-ts';

const element = <T extends HTMLElement = HTMLElement>(selector: string): T => document.querySelector<T>(selector) as T;

// --- downloads: tasks with a progress bar, cancelled by a button ------------------------

let started = 0;
const downloads = new Set<Task<void>>();

function showRunning(): void {
  element('#running').textContent = `${getHub().liveCount} task${getHub().liveCount === 1 ? '' : 's'} running`;
}

/** A pretend download: 5 % every 250 ms. Killed, it says where it stopped, from its finally block. */
function* download(row: HTMLElement, bar: HTMLProgressElement, status: HTMLElement): GreenletBody<void> {
  try {
    while (bar.value < 100) {
      yield* sleep(250);
      bar.value += 5;
      status.textContent = `${bar.value} %`;
    }
    row.className = 'done';
    status.textContent = 'done';
  } finally {
    if (bar.value < 100) {
      row.className = 'cancelled';
      status.textContent = `cancelled at ${bar.value} %: its finally block ran`;
    }
  }
}

element('#start').addEventListener('click', () => {
  const name = `download-${++started}`;
  const row = document.createElement('li');
  row.id = name;
  const label = Object.assign(document.createElement('span'), { textContent: name });
  const bar = Object.assign(document.createElement('progress'), { max: 100, value: 0 });
  const status = Object.assign(document.createElement('span'), { className: 'status', textContent: '0 %' });
  const cancel = Object.assign(document.createElement('button'), { textContent: 'Cancel', className: 'cancel' });
  row.append(label, bar, status, cancel);
  element('#downloads').append(row);

  const task = spawn(download, row, bar, status);
  task.name = name;
  downloads.add(task);
  // From plain code (an event handler), kill() returns at once; the task dies at its wait.
  cancel.addEventListener('click', () => task.kill());
  // rawlink: called by the hub as the task ends (link would start a task to call it).
  task.rawlink(() => {
    downloads.delete(task);
    cancel.disabled = true;
    showRunning();
  });
  showRunning();
});

element('#cancel-all').addEventListener('click', () => {
  for (const task of downloads) task.kill({ block: false });
});

// --- search as you type: a queue, a timeout, and a kill ----------------------------------

const keystrokes = new Queue<string>();
element<HTMLInputElement>('#query').addEventListener('input', (event) => {
  keystrokes.putNowait((event.target as HTMLInputElement).value);
});

function log(text: string, className = ''): void {
  element('#log').append(Object.assign(document.createElement('li'), { textContent: text, className }));
}

/** A pretend request: 1.5 s. Killed by a newer query, it logs so from its finally block. */
function* search(query: string): GreenletBody<void> {
  let answered = false;
  element('#search-status').textContent = `searching for “${query}”…`;
  try {
    yield* sleep(1500);
    answered = true;
    const words = query.trim().split(/\s+/).length;
    element('#search-status').textContent = `results for “${query}”: ${words} word${words === 1 ? '' : 's'}, ${query.length} characters`;
    log(`searched “${query}”`);
  } finally {
    if (!answered) log(`search for “${query}” cancelled by a newer query`, 'killed');
  }
}

const typeAhead = spawn(function* () {
  let inFlight: Task<void> | null = null;
  for (;;) {
    let query = yield* keystrokes.get();
    // Until the typing pauses for 300 ms, every keystroke replaces the query.
    for (;;) {
      const next = yield* withTimeout({ ms: 300, timeoutValue: null }, () => keystrokes.get());
      if (next === null) break;
      query = next;
    }
    if (inFlight !== null) yield* inFlight.kill();
    inFlight = query.trim() === '' ? null : spawn(search, query);
  }
});
typeAhead.name = 'type-ahead';
showRunning();
