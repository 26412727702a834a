// Page-load benchmark, run by scripts/bench.sh (never by the test command: it measures, it does
// not assert). Signs in once through the real form, then loads the dashboard in Debian's Chromium:
// cold (a new context holding only the session cookies: empty cache) and warm (the same context
// again). Prints markdown table rows: first paint, hydrated (the app sets data-hydrated="true" on
// <body>), and the bytes on the wire (CDP's encodedDataLength: headers and bodies as received).
//
//   BASE_URL=http://127.0.0.1:PORT node end2end/bench/page-load.mjs [runs]
import { chromium } from "@playwright/test";

const BASE_URL = process.env.BASE_URL;
const RUNS = Number(process.argv[2] ?? 5);
if (!BASE_URL) throw new Error("set BASE_URL");

// The same flags as the e2e suite (end2end/playwright.config.ts): no network beyond the server.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

// Records, inside the page, when hydration flips the marker: no polling delay in the figure.
const MARK_HYDRATED = () => {
  new MutationObserver((_, observer) => {
    if (document.body?.dataset.hydrated === "true") {
      window.__hydratedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
};

async function signedInCookies() {
  const context = await browser.newContext({ baseURL: BASE_URL });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("wonderland");
  // The dashboard the form lands on gets its access token with the page (no refresh, so no
  // rotation): the cookies the sign-in set are the ones to keep.
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").waitFor();
  const state = await context.storageState();
  await context.close();
  return state.cookies;
}

/** One load of the dashboard in `context`: paint and hydration times, bytes received. */
async function load(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (event) => (bytes += event.encodedDataLength));
  await page.goto("/");
  await page.waitForFunction(() => window.__hydratedAt !== undefined);
  await page.getByTestId("signed-in-user").waitFor();
  const times = await page.evaluate(() => ({
    paint: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN,
    hydrated: window.__hydratedAt,
  }));
  await page.close();
  return { ...times, bytes };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

const cold = [];
const warm = [];
for (let run = 0; run < RUNS; run++) {
  // A session of its own per run: the first load rotates the refresh credential, and the same
  // cookies replayed by a later run would be reuse once the grace window has passed.
  const cookies = await signedInCookies();
  const context = await browser.newContext({ baseURL: BASE_URL });
  await context.addCookies(cookies);
  await context.addInitScript(MARK_HYDRATED);
  cold.push(await load(context));
  warm.push(await load(context));
  await context.close();
}
await browser.close();

for (const [name, runs] of [["cold cache", cold], ["warm cache", warm]]) {
  const ms = (key) => `${median(runs.map((run) => run[key])).toFixed(0)} ms`;
  const kb = `${(median(runs.map((run) => run.bytes)) / 1024).toFixed(1)} KiB`;
  console.log(`| page load, ${name}: first contentful paint / hydrated (median of ${RUNS}) | ${ms("paint")} / ${ms("hydrated")} |`);
  console.log(`| page load, ${name}: bytes transferred | ${kb} |`);
}
