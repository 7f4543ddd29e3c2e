/**
 * Headless Chromium (Debian's `chromium`, or CHROMIUM_PATH) driven by puppeteer-core, for
 * the runtime tests, the browser example's test and its screenshot. The flags suit a
 * machine with no display and no network, as root (no sandbox); `--expose-gc` gives pages
 * `gc()` for the garbage-collection tests.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why Chromium cannot run here, or null if it can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is missing (Debian package chromium; .ci/run installs it)`;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--js-flags=--expose-gc',
];

/** Launch headless Chromium with a fresh profile, removed when the browser closes. */
export async function launchChromium(): Promise<Browser> {
  const { default: puppeteer } = await import('puppeteer-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'greenlet-ts-chromium-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, userDataDir });
  // Removed once the browser has exited (close() waits for its process), not at disconnect,
  // when Chromium may still be writing to it.
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  return browser;
}
