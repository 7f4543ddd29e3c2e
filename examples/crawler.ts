/**
 * A crawler: a Pool bounds how many pages are fetched at once, and a timeout per page gives up on the slow ones.
 * Run: npx tsx examples/crawler.ts   → prints the pages fetched, the pages given up and the pages never reached
 * (each sorted), and the most fetches that were in flight at once (never more than the pool's size).
 *
 * The site is a map in memory, each page with its links and its latency; fetching a page
 * is `sleep(latency)`. Most pages answer in 1–5 ms, two take 10 s and are given up after
 * 200 ms. The gap is wide so that the result is the same on any machine: a fast page
 * could time out only if the process were paused for 195 ms between arming the timeout
 * and starting the fetch (50 ms is not enough on a heavily loaded machine). The run takes
 * about 200 ms, not 10 s: a timeout interrupts the fetch where it waits, and its sleep's
 * timer goes with it.
 *
 * `toCrawl` is a queue of the pages discovered and not crawled yet. A dispatcher task
 * takes them one by one and starts each in the pool, waiting in `pool.spawn()` while the
 * pool is full. `toCrawl.join()` tells when the crawl is over: each page counts as
 * unfinished from when it is queued until its crawl calls `taskDone()`, after queueing
 * the page's own links, so the count reaches zero only when no page is left anywhere.
 */
import { Pool, Queue, run, sleep, spawn, withTimeout, type GreenletBody } from 'greenlet-ts';

interface Page {
  readonly latency: number; // ms
  readonly links: readonly string[];
}

const SITE: Readonly<Record<string, Page>> = {
  '/': { latency: 2, links: ['/about', '/blog', '/docs', '/shop'] },
  '/about': { latency: 1, links: ['/', '/about/team'] },
  '/about/team': { latency: 3, links: ['/about'] },
  '/blog': { latency: 3, links: ['/blog/1', '/blog/2', '/blog/archive'] },
  '/blog/1': { latency: 2, links: ['/blog', '/docs/guide'] },
  '/blog/2': { latency: 5, links: ['/blog'] },
  '/blog/archive': { latency: 10_000, links: ['/blog/2019'] },
  '/blog/2019': { latency: 1, links: [] }, // only the slow archive links here
  '/docs': { latency: 4, links: ['/docs/guide', '/docs/api'] },
  '/docs/guide': { latency: 1, links: ['/docs/api'] },
  '/docs/api': { latency: 5, links: ['/docs'] },
  '/shop': { latency: 10_000, links: ['/shop/cart'] },
  '/shop/cart': { latency: 2, links: [] }, // only the slow shop links here
};
const POOL_SIZE = 3;
const PAGE_TIMEOUT_MS = 200;

/** The page's links, after its latency: what a real crawler would get from the network. */
function* fetchLinks(path: string): GreenletBody<readonly string[]> {
  const page = SITE[path];
  if (page === undefined) throw new Error(`no page ${path} on the site`);
  yield* sleep(page.latency);
  return page.links;
}

const fetched: string[] = [];
const timedOut: string[] = [];
let inFlight = 0;
let mostInFlight = 0;

await run(function* () {
  const pool = new Pool(POOL_SIZE);
  const toCrawl = new Queue<string>();
  const seen = new Set<string>();

  function discover(path: string): void {
    if (seen.has(path)) return;
    seen.add(path);
    toCrawl.putNowait(path);
  }

  function* crawl(path: string): GreenletBody<void> {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    try {
      // The silent form: null when the time runs out, instead of raising the Timeout.
      const links = yield* withTimeout({ ms: PAGE_TIMEOUT_MS, timeoutValue: null }, fetchLinks, path);
      if (links === null) {
        timedOut.push(path);
      } else {
        fetched.push(path);
        links.forEach(discover);
      }
    } finally {
      inFlight--;
      toCrawl.taskDone();
    }
  }

  const dispatcher = spawn(function* () {
    for (;;) {
      const path = yield* toCrawl.get();
      yield* pool.spawn(crawl, path); // waits while POOL_SIZE pages are being crawled
    }
  });
  discover('/');
  yield* toCrawl.join();
  yield* dispatcher.kill(); // it waits in toCrawl.get() for a page that will never come
});

const neverReached = Object.keys(SITE).filter((path) => !fetched.includes(path) && !timedOut.includes(path));
console.log(`fetched (${fetched.length}): ${fetched.sort().join(' ')}`);
console.log(`timed out after ${PAGE_TIMEOUT_MS} ms (${timedOut.length}): ${timedOut.sort().join(' ')}`);
console.log(`never reached (${neverReached.length}): ${neverReached.sort().join(' ')}`);
console.log(`most fetches in flight at once: ${mostInFlight} (pool size ${POOL_SIZE})`);
