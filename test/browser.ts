/**
 * Headless Chromium (Debian's `chromium`) for the tests that run in a real browser. They are skipped
 * when it is not installed, unless LOADERKIT_REQUIRE_BROWSER=1 (CI installs Chromium and sets it, so
 * there they always run).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when the browser tests can run here; throws when they must run but cannot. */
export const browserAvailable: boolean = existsSync(CHROMIUM);
if (!browserAvailable && process.env.LOADERKIT_REQUIRE_BROWSER === '1') {
  throw new Error(`LOADERKIT_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}: apt-get install chromium`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
