/**
 * Takes docs/browser-example.png: the browser example in headless Chromium after a few
 * clicks and a query, as a person would leave it.
 * Run: npm run docs:screenshot
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serveExample } from '../examples/browser/serve.js';
import { chromiumMissing, launchChromium } from './chromium.js';

const missing = chromiumMissing();
/** The page's globals, as the functions evaluated in the page see them (this file is not compiled with the DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null; value?: number } | null };

if (missing !== null) throw new Error(missing);

const server = await serveExample(0);
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 860, height: 640, deviceScaleFactor: 1 });
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  for (let i = 0; i < 3; i++) await page.click('#start');
  await page.waitForFunction(() => (document.querySelector('#download-2 progress')?.value ?? 0) >= 15);
  await page.click('#download-2 .cancel');
  await page.type('#query', 'green', { delay: 30 });
  await page.waitForFunction(() => document.querySelector('#search-status')?.textContent?.startsWith('searching'));
  await page.type('#query', 'lets', { delay: 30 });
  await page.waitForFunction(() => document.querySelector('#search-status')?.textContent?.startsWith('results'), { timeout: 15_000 });
  await page.click('#start');
  const file = fileURLToPath(new URL('../docs/browser-example.png', import.meta.url));
  await page.screenshot({ path: file as `${string}.png` });
  console.log(`wrote ${file}`);
} finally {
  await browser.close();
  server.close();
}
