import path from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { countRequests, signIn } from "./helpers";

/** The inspector's counters, as numbers. */
async function counters(page: Page) {
  const read = async (id: string) => Number(await page.getByTestId(id).textContent());
  return {
    requests: await read("count-requests"),
    refreshes: await read("count-refreshes"),
    retries: await read("count-retries"),
  };
}

/** "20 requests, 1 refresh, 20 retries", as the chart words it. */
function summary(n: { requests: number; refreshes: number; retries: number }) {
  const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return `${plural(n.requests, "request", "requests")}, ${plural(n.refreshes, "refresh", "refreshes")}, ${plural(n.retries, "retry", "retries")}`;
}

async function expireAccessToken(page: Page) {
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
}

async function setGraceWindow(page: Page, on: boolean) {
  const grace = page.getByRole("switch", { name: "Grace window" });
  await expect(grace).toBeChecked();
  if (!on) {
    await grace.uncheck();
    await expect(page.getByTestId("demo-status")).toContainText("Grace window off");
  }
}

/** UPDATE_SCREENSHOT=1 writes the pictures the README and docs/ show. */
async function picture(page: Page, name: string) {
  const target = process.env.UPDATE_SCREENSHOT ? `../../docs/${name}` : `../test-results/${name}`;
  await page.getByRole("region", { name: "Inspector" }).screenshot({ path: path.join(__dirname, target) });
}

test("after a burst the waterfall shows 20 request rows and one refresh bar serving all 20", async ({ page }) => {
  await signIn(page);
  await expireAccessToken(page);
  const before = await counters(page);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  const chart = page.getByRole("img", { name: /requests/ });
  await expect(chart.getByTestId("waterfall-row")).toHaveCount(20);
  const bars = chart.getByTestId("refresh-bar");
  await expect(bars).toHaveCount(1);
  await expect(bars).toHaveAttribute("data-served", "20");
  // The chart's accessible name is the run's share of the inspector's counters.
  const after = await counters(page);
  const run = {
    requests: after.requests - before.requests,
    refreshes: after.refreshes - before.refreshes,
    retries: after.retries - before.retries,
  };
  expect(run).toEqual({ requests: 20, refreshes: 1, retries: 20 });
  await expect(chart).toHaveAttribute("aria-label", summary(run));
  // Focusing a bar tells its story in words.
  await bars.focus();
  await expect(page.getByTestId("waterfall-detail")).toContainText("served 20 requests");
  await expect(page.getByTestId("waterfall-detail")).toContainText("(after a 401, ");
  await picture(page, "waterfall-coordinator.png");
  // The text timeline is still there, folded away.
  await page.getByText("Timeline as text").click();
  await expect(page.getByRole("table", { name: "Timeline" })).toContainText("retried");
});

test("the naive interceptor makes one refresh call per 401, on the wire and in the chart", async ({ page }) => {
  await signIn(page);
  const naive = page.getByRole("switch", { name: "Naive interceptor" });
  await expect(naive).not.toBeChecked();
  await naive.check();
  await expireAccessToken(page);
  const requests = countRequests(page);
  const refused: number[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname === "/api/auth/refresh" && response.status() === 400) refused.push(1);
  });
  await page.getByRole("button", { name: "Burst requests" }).click();
  // Browsers queue calls beyond six per host, and a queued refresh may leave with a cookie two
  // rotations old: then even the grace window sees reuse and the session ends (the explanation
  // says so). Either way the storm is on the wire; the chart is checked when the run completes
  // with the session alive. (The login page is a full page load, so the run's last status can
  // show before the page leaves: a refused refresh is what says the session ended.)
  const finished = /^Naive interceptor: \d+\/20 succeeded · \d+ refresh calls/;
  const outcome = async () => {
    if (new URL(page.url()).pathname === "/login") return "signed out";
    const text = await page.getByTestId("demo-status").textContent({ timeout: 200 }).catch(() => "");
    return finished.test(text ?? "") ? "completed" : "running";
  };
  await expect.poll(outcome, { timeout: 15_000 }).not.toBe("running");
  expect(requests.refreshes()).toBeGreaterThan(1);
  if (refused.length > 0 || (await outcome()) === "signed out") {
    await expect(page).toHaveURL(/\/login\?next=\/$/);
    // At most one per request, plus the auth client's own single refresh that finds the
    // session ended when the page reloads its data: bounded, no loop.
    expect(requests.refreshes()).toBeLessThanOrEqual(20 + 1);
    return;
  }
  const chart = page.getByRole("img", { name: /requests/ });
  await expect(chart.getByTestId("waterfall-row")).toHaveCount(20);
  // Every refresh call the browser sent is a bar: the chart hides none of them.
  const naiveCalls = Number(/(\d+) refresh calls/.exec((await page.getByTestId("demo-status").textContent()) ?? "")?.[1]);
  expect(naiveCalls).toBe(20);
  await expect(chart.getByTestId("refresh-bar")).toHaveCount(naiveCalls);
  await picture(page, "waterfall-naive.png");
});

test("the naive interceptor is off again after a reload", async ({ page }) => {
  await signIn(page);
  await page.getByRole("switch", { name: "Naive interceptor" }).check();
  await page.reload();
  await expect(page.getByRole("switch", { name: "Naive interceptor" })).not.toBeChecked();
});

test("naive with the grace window off trips reuse detection and signs out, with no loop", async ({ page }) => {
  await signIn(page);
  await setGraceWindow(page, false);
  await page.getByRole("switch", { name: "Naive interceptor" }).check();
  await expireAccessToken(page);
  const requests = countRequests(page);
  const refused: number[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname === "/api/auth/refresh" && response.status() === 400) refused.push(1);
  });
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/$/);
  expect(refused.length).toBeGreaterThan(0);
  await page.waitForTimeout(1500); // a loop would keep sending meanwhile
  const settled = requests.total();
  // 20 requests, at most 20 naive refreshes and 20 retries, then the client's own discovery.
  expect(settled).toBeLessThan(70);
  await page.waitForTimeout(1000);
  expect(requests.total()).toBe(settled);
  // The family is gone: the cookie, if any is left, refreshes nothing.
  const again = await page.evaluate(() => fetch("/api/auth/refresh", { method: "POST" }).then((r) => r.status));
  expect(again).toBe(400);
});

test("the auth client with the grace window off: one refresh, 20/20", async ({ page }) => {
  await signIn(page);
  await setGraceWindow(page, false);
  await expireAccessToken(page);
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  expect(requests.refreshes()).toBe(1);
  await expect(page.getByRole("img", { name: "20 requests, 1 refresh, 20 retries" })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
});
