// Firefox: Debian's firefox-esr, headless, driven by puppeteer-core over WebDriver BiDi (no
// geckodriver, no download).
import { launchWith } from './puppeteer.mjs';

export const name = 'firefox';
/** How the server's Sessions page names this browser (src/server/http/user_agent.rs). */
export const family = 'Firefox';

export function launch({ executablePath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr' } = {}) {
  return launchWith({
    name,
    family,
    browser: 'firefox',
    executablePath,
    extraPrefsFirefox: {
      // Nothing goes out but to the server under test.
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'browser.safebrowsing.update.enabled': false,
    },
  });
}
