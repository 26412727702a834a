import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { appendFileSync } from "node:fs";
import { hydrated, signIn } from "../tests/helpers";

// The chaos suite (issue #23): tabs × faults against the release server in real Chromium. Each
// scenario expires the session's access token, switches a fault on, lets every tab fire a burst
// of 20 requests into it, switches it off, and bursts again until every tab's burst succeeds.
// It measures, from the browser's own network events and the page:
//   refresh calls (sent) and rotations (answered 200), failed requests, requests the client
//   said succeeded that the server never answered with a 200 ("lost"), false sign-outs, and the
//   time from the fault's end until every tab works again.
// Targets, asserted: no false sign-out, nothing lost, at most one rotation per expiry per browser.
// `scripts/chaos.sh` runs them all (CHAOS_FULL=1) and writes docs/chaos.md from CHAOS_RESULTS;
// the test command runs the fast subset.

const FULL = process.env.CHAOS_FULL === "1";
const RESULTS = process.env.CHAOS_RESULTS;
const REDIS_PID = Number(process.env.CHAOS_REDIS_PID ?? 0);
const LOCK = "tokenflight-refresh";

type Run = { context: BrowserContext; tabs: Page[] };
type Fault = {
  name: string;
  /** Playwright's clock, installed in the context before any page loads (one clock for all its
   * pages: `page.clock` is the context's). */
  clock?: boolean;
  /** Needs the Redis store this process may stop (scripts/chaos.sh). */
  redis?: boolean;
  on(run: Run): Promise<void>;
  off(run: Run): Promise<void>;
};

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const FAULTS: Fault[] = [
  {
    name: "refresh answers 503 three times",
    async on({ context }) {
      let failures = 0;
      await context.route("**/api/auth/refresh", (route) =>
        failures++ < 3
          ? route.fulfill({ status: 503, contentType: "application/json", body: '{"error":"temporarily_unavailable","message":"chaos"}' })
          : route.continue(),
      );
    },
    async off() {},
  },
  {
    name: "refresh takes 2 s longer",
    async on({ context }) {
      await context.route("**/api/auth/refresh", async (route) => {
        await delay(2_000);
        await route.continue();
      });
    },
    async off({ context }) {
      await context.unrouteAll({ behavior: "ignoreErrors" });
    },
  },
  {
    name: "offline for 10 s",
    async on({ context }) {
      await context.setOffline(true);
    },
    async off({ context }) {
      await delay(10_000);
      await context.setOffline(false);
    },
  },
  {
    name: "the store hangs for 5 s",
    redis: true,
    async on() {
      process.kill(REDIS_PID, "SIGSTOP");
    },
    async off() {
      await delay(5_000);
      process.kill(REDIS_PID, "SIGCONT");
    },
  },
  {
    // Killed, not `Page.crash`ed: headless Chromium keeps same-site tabs of a context in one
    // renderer process, which a crash would take down with all the other tabs.
    name: "the lock holder is killed mid-refresh",
    async on({ context, tabs }) {
      // One more tab holds the cross-tab lock for a refresh that never gets an answer.
      const holder = await context.newPage();
      await holder.goto("/");
      await hydrated(holder);
      await holder.evaluate((name) => void navigator.locks.request(name, () => new Promise(() => {})), LOCK);
      (tabs as Page[] & { holder?: Page }).holder = holder;
    },
    async off({ tabs }) {
      // Long enough for every tab's refresh to be queued behind the held lock.
      await delay(1_000);
      await (tabs as Page[] & { holder?: Page }).holder!.close({ runBeforeUnload: false });
    },
  },
  {
    name: "the clock jumps 20 minutes (sleep)",
    clock: true,
    async on({ context }) {
      await context.clock.fastForward("20:00");
    },
    async off() {},
  },
  {
    name: "grace window off",
    async on({ tabs }) {
      await tabs[0].getByRole("switch", { name: "Grace window" }).uncheck();
      await expect(tabs[0].getByTestId("demo-status")).toContainText("Grace window off");
    },
    async off() {},
  },
];

/** The fast subset the test command runs: two tabs, three faults. */
const FAST = new Set(["refresh takes 2 s longer", "the lock holder is killed mid-refresh", "grace window off"]);

type Wire = { refreshCalls: number; rotations: number; items200: number };

function watchWire(context: BrowserContext): Wire {
  const wire = { refreshCalls: 0, rotations: 0, items200: 0 };
  context.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/auth/refresh") wire.refreshCalls++;
  });
  context.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (path === "/api/auth/refresh" && response.status() === 200) wire.rotations++;
    if (path === "/api/items" && response.status() === 200) wire.items200++;
  });
  return wire;
}

/** Fires a burst of 20 in `tab` and returns how many succeeded (the page's own count). */
async function burst(tab: Page): Promise<number> {
  let sent = 0;
  const onRequest = (request: { url(): string }) => {
    if (new URL(request.url()).pathname === "/api/items") sent++;
  };
  tab.on("request", onRequest);
  const button = tab.getByRole("button", { name: "Burst requests" });
  await button.click();
  await expect.poll(() => sent, { timeout: 60_000 }).toBeGreaterThan(0);
  await expect(button).toBeEnabled({ timeout: 60_000 });
  tab.off("request", onRequest);
  const status = (await tab.getByTestId("demo-status").textContent()) ?? "";
  const ok = /^(\d+)\/20 succeeded/.exec(status);
  if (!ok) throw new Error(`unexpected status: ${status}`);
  return Number(ok[1]);
}

const TAB_COUNTS = FULL ? [1, 2, 8] : [2];

for (const fault of FAULTS.filter((fault) => FULL || FAST.has(fault.name))) {
  for (const tabCount of TAB_COUNTS) {
    test(`${fault.name}, ${tabCount} tab${tabCount === 1 ? "" : "s"}`, async ({ context }) => {
      if (fault.redis && !REDIS_PID) throw new Error("this fault needs scripts/chaos.sh's Redis store");
      test.setTimeout(180_000);
      const tabs: Page[] = [];
      if (fault.clock) await context.clock.install();
      for (let i = 0; i < tabCount; i++) {
        const tab = await context.newPage();
        if (i === 0) await signIn(tab);
        else {
          await tab.goto("/");
          await hydrated(tab);
        }
        tabs.push(tab);
      }
      const run = { context, tabs };
      await tabs[0].getByRole("button", { name: "Expire access token" }).click();
      await expect(tabs[0].getByTestId("demo-status")).toContainText("expired");
      const wire = watchWire(context);
      let succeeded = 0;
      let failed = 0;
      const tally = (ok: number) => {
        succeeded += ok;
        failed += 20 - ok;
        return ok;
      };

      await fault.on(run);
      const during = Promise.all(tabs.map(async (tab) => tally(await burst(tab))));
      await fault.off(run);
      await during;
      const faultEnded = Date.now();
      let recovered = false;
      while (!recovered && Date.now() - faultEnded < 60_000) {
        const rounds = await Promise.all(tabs.map(async (tab) => tally(await burst(tab))));
        recovered = rounds.every((ok) => ok === 20);
      }
      const recoveryMs = Date.now() - faultEnded;
      const falseSignOuts = tabs.filter((tab) => new URL(tab.url()).pathname === "/login").length;
      const lost = Math.max(0, succeeded - wire.items200);
      const row = {
        fault: fault.name,
        tabs: tabCount,
        refreshCalls: wire.refreshCalls,
        rotations: wire.rotations,
        failedRequests: failed,
        lost,
        falseSignOuts,
        recoveryMs,
      };
      if (RESULTS) appendFileSync(RESULTS, `${JSON.stringify(row)}\n`);
      console.log(JSON.stringify(row));
      expect(recovered, "every tab works again").toBe(true);
      expect(falseSignOuts).toBe(0);
      expect(lost).toBe(0);
      expect(wire.rotations, "one rotation per expiry for the whole browser").toBeLessThanOrEqual(1);
    });
  }
}
