import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium: the suites never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Throws (failing the suite, never skipping it) when Debian's Chromium is not installed. */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; the browser suite needs it: apt-get update && apt-get install -y chromium (.ci/run does this)`);
  }
}

export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export const SCREENSHOT_DIR = path.resolve(new URL('../../test-results/browser', import.meta.url).pathname);

/** Saves numbered full-page screenshots of one flow: `<flow>-01-<step>.png`, … */
export function screenshots(flow: string): (page: Page, step: string) => Promise<void> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const old of fs.readdirSync(SCREENSHOT_DIR)) if (old.startsWith(`${flow}-`)) fs.rmSync(path.join(SCREENSHOT_DIR, old));
  let n = 0;
  return async (page, step) => {
    n += 1;
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${flow}-${String(n).padStart(2, '0')}-${step}.png`), fullPage: true });
  };
}
