// Chromium: Debian's, headless, driven by puppeteer-core over CDP — for the API probes of
// docs/engines.md, measured the same way as in the other engines. Chromium's end-to-end suite is
// Playwright's (end2end/tests), run by scripts/test.sh.
import { launchWith } from './puppeteer.mjs';

export const name = 'chromium';
export const family = 'Chromium';

export function launch({ executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' } = {}) {
  return launchWith({
    name,
    family,
    browser: 'chrome',
    executablePath,
    // As end2end/playwright.config.ts launches it.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
