/**
 * examples/browser/ as a person uses it, in headless Chromium: start downloads, cancel one
 * and then the rest, type a query in pieces, and read what the page shows.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveExample } from '../examples/browser/serve.js';
import { chromiumMissing, launchChromium } from '../scripts/chromium.js';

const missing = chromiumMissing();
/** The page's globals, as the functions evaluated in the page see them (this file is not compiled with the DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null; value?: number } | null };


describe.skipIf(missing !== null)(`the browser example in Chromium${missing === null ? '' : ` (SKIPPED: ${missing})`}`, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await serveExample(0);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  const text = (selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
  const waitForText = (selector: string, pattern: RegExp) =>
    page.waitForFunction(
      (s: string, source: string) => new RegExp(source).test(document.querySelector(s)?.textContent ?? ''),
      { timeout: 15_000 },
      selector,
      pattern.source,
    );

  it('loads with one task running: the one that reads keystrokes', async () => {
    expect(await text('#running')).toBe('1 task running');
    expect(await text('#search-status')).toBe('waiting for you to type');
  });

  it('runs a download task per click, each moving its own progress bar', async () => {
    await page.click('#start');
    await page.click('#start');
    expect(await text('#running')).toBe('3 tasks running');
    await waitForText('#download-1 .status', /^[1-9]\d* %$/);
    await waitForText('#download-2 .status', /^[1-9]\d* %$/);
  });

  it('cancels one download: its finally block runs and says where it stopped; the other goes on', async () => {
    await page.click('#download-1 .cancel');
    await waitForText('#download-1 .status', /^cancelled at \d+ %: its finally block ran$/);
    expect(await page.$eval('#download-1', (e) => e.className)).toBe('cancelled');
    expect(await page.$eval('#download-1 .cancel', (e) => (e as unknown as { disabled: boolean }).disabled)).toBe(true);
    const before = await page.$eval('#download-2 progress', (e) => (e as unknown as { value: number }).value);
    await page.waitForFunction((v: number) => (document.querySelector('#download-2 progress')?.value ?? 0) > v, { timeout: 15_000 }, before);
    expect(await text('#running')).toBe('2 tasks running');
  });

  it('cancels all downloads still running', async () => {
    await page.click('#start');
    await page.click('#cancel-all');
    await waitForText('#download-3 .status', /^cancelled at \d+ %: its finally block ran$/);
    await waitForText('#running', /^1 task running$/);
    expect(await text('#download-2 .status')).toMatch(/^(cancelled at \d+ %: its finally block ran|done)$/);
  });

  it('searches once the typing pauses, and a newer query kills the search in flight', async () => {
    await page.type('#query', 'green', { delay: 20 });
    await waitForText('#search-status', /^searching for “green”…$/);
    await page.type('#query', 'lets', { delay: 20 });
    await waitForText('#search-status', /^results for “greenlets”: 1 word, 9 characters$/);
    const log = await page.$$eval('#log li', (items) => items.map((li) => [li.textContent, li.className]));
    expect(log).toEqual([
      ['search for “green” cancelled by a newer query', 'killed'],
      ['searched “greenlets”', ''],
    ]);
    expect(pageErrors).toEqual([]);
  });
});
