// The engines puppeteer-core drives: Firefox over WebDriver BiDi, and Chromium over CDP (only
// for the API probes of docs/engines.md; Chromium's suite is Playwright's, end2end/tests). A
// context is a browser context of its own (cookies, storage); a page is a window of its own, so
// every tab is visible, as Playwright's pages are.
import puppeteer from 'puppeteer-core';

/** Launches `options` (puppeteer.launch's) and returns the engine the runner drives. */
export async function launchWith({ name, family, ...options }) {
  const browser = await puppeteer.launch({
    headless: true,
    // The specs' proxy serves https with a throwaway certificate.
    acceptInsecureCerts: true,
    ...options,
  });
  return {
    name,
    family,
    version: await browser.version(),
    /** The driver takes a page's network away itself (BiDi emulation.setNetworkConditions, CDP). */
    offlineByEngine: true,
    async newContext() {
      const context = await browser.createBrowserContext();
      const pages = [];
      return {
        async newPage() {
          const page = await context.newPage({ type: 'window' });
          pages.push(page);
          // Hidden: another tab opened over it in its window, as a person switching tabs does;
          // shown: its tab brought to the front again.
          let cover = null;
          const setHidden = async (hidden) => {
            if (hidden && !cover) {
              await page.bringToFront();
              cover = await context.newPage();
            } else if (!hidden && cover) {
              await page.bringToFront();
              await cover.close();
              cover = null;
            }
          };
          return { ...rawPage(page), setHidden };
        },
        async setOffline(offline) {
          for (const page of pages) if (!page.isClosed()) await page.setOfflineMode(offline);
          return true;
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function rawPage(page) {
  const expression = (source, args) => `(${source})(...${JSON.stringify(args)})`;
  const withElement = async (source, args, use) => {
    const handle = await page.evaluateHandle(expression(source, args));
    try {
      await use(handle.asElement());
    } finally {
      await handle.dispose().catch(() => {});
    }
  };
  return {
    goto: (url) => page.goto(url, { waitUntil: 'load' }),
    reload: () => page.reload({ waitUntil: 'load' }),
    run: (source, args) => page.evaluate(expression(source, args)),
    clickElement: (source, args) => withElement(source, args, (element) => element.click()),
    typeInto: (source, args, text) => withElement(source, args, (element) => element.type(text)),
    press: (key) => page.keyboard.press(key),
    close: () => page.close(),
  };
}
