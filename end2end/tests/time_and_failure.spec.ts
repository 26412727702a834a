import { expect, test } from "@playwright/test";
import { countRequests, hydrated, signIn } from "./helpers";

// Time and failure (issue #23): a lock holder that freezes or crashes, a laptop that sleeps, a
// network that goes away, and tabs of two builds on one channel. The idle timeout itself runs
// against a server with a short one (end2end/idle/).

const LOCK = "tokenflight-refresh";

test("a tab frozen while holding the refresh lock wedges no one: the other tab goes ahead after the bounded wait", async ({ context }) => {
  const holder = await context.newPage();
  await signIn(holder);
  const other = await context.newPage();
  await other.goto("/");
  await hydrated(other);
  // The holder takes the cross-tab lock and never lets go, then is frozen (a background tab on
  // a phone, a renderer that hangs).
  await holder.evaluate((name) => void navigator.locks.request(name, () => new Promise(() => {})), LOCK);
  await expect.poll(() => other.evaluate(async () => (await navigator.locks.query()).held?.length)).toBe(1);
  const cdp = await context.newCDPSession(holder);
  await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
  await other.getByRole("button", { name: "Expire access token" }).click();
  await expect(other.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(context);
  const started = Date.now();
  await other.getByRole("button", { name: "Burst requests" }).click();
  await expect(other.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded · 1 refresh$/, { timeout: 15_000 });
  // It really waited for the held lock (5 s, AuthConfig::lock_wait_ms) before going ahead.
  expect(Date.now() - started).toBeGreaterThanOrEqual(4_500);
  expect(requests.refreshes()).toBe(1);
  await expect(other.getByTestId("signed-in-user")).toHaveText("alice");
  await cdp.send("Page.setWebLifecycleState", { state: "active" });
});

// A tab killed in the middle of its refresh (the tab closed, the renderer gone). Not CDP's
// `Page.crash`: headless Chromium keeps same-site tabs of a context in one renderer process,
// so it would take the other tab down with the holder.
test("a tab killed in the middle of its refresh: the other tab keeps working, with one extra refresh call at most", async ({ context }) => {
  const holder = await context.newPage();
  await signIn(holder);
  const other = await context.newPage();
  await other.goto("/");
  await hydrated(other);
  // The holder's refresh never gets an answer: it holds the lock when the tab is killed.
  await holder.route("**/api/auth/refresh", () => {});
  await holder.getByRole("button", { name: "Expire access token" }).click();
  await expect(holder.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(context);
  await holder.getByRole("button", { name: "Burst requests" }).click();
  await expect.poll(() => requests.refreshes()).toBe(1);
  await other.getByRole("button", { name: "Burst requests" }).click();
  await expect(other.getByTestId("demo-status")).toHaveText(/^Firing/);
  await holder.close({ runBeforeUnload: false });
  await expect(other.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded · 1 refresh$/, { timeout: 15_000 });
  expect(requests.refreshes()).toBeLessThanOrEqual(2);
  await expect(other.getByTestId("signed-in-user")).toHaveText("alice");
});

test("a laptop that slept 20 minutes: the next use makes one refresh and nobody is signed out", async ({ page }) => {
  await page.clock.install();
  await signIn(page);
  const requests = countRequests(page);
  await page.clock.fastForward("20:00");
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded · 1 refresh$/);
  expect(requests.refreshes()).toBe(1);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
});

test("a laptop that slept three hours, past the idle timeout: a clean sign-out that says why, with no refresh call", async ({ page }) => {
  await page.clock.install();
  await signIn(page);
  const requests = countRequests(page);
  await page.clock.fastForward("03:00:00");
  await expect(page).toHaveURL(/\/login\?next=\/&idle=1800$/);
  await expect(page.getByText("Signed out after 30 minutes without activity.")).toBeVisible();
  expect(requests.refreshes()).toBe(0);
});

test("ten seconds offline: calls fail with a clear offline error, nobody is signed out, and the cards load again once back", async ({ page, context }) => {
  await signIn(page);
  const items = page.getByRole("region", { name: "Items" });
  await expect(items).toContainText("Ship the demo");
  // The demo controls are a lazy chunk fetched after hydration: it must be here before the
  // network goes (a chunk fetched offline never arrives).
  await expect(page.getByRole("button", { name: "Burst requests" })).toBeEnabled();
  const requests = countRequests(page);
  await context.setOffline(true);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText(/^0\/20 succeeded · 0 refreshes$/);
  await page.getByRole("button", { name: "Reload data" }).click();
  await expect(items).toContainText("Offline");
  await page.waitForTimeout(10_000);
  await context.setOffline(false);
  // Nobody pressed anything: the card said it would load again, and it does.
  await expect(items).toContainText("Ship the demo");
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  expect(requests.refreshes()).toBeLessThanOrEqual(1);
});

test("a message from a tab of another build is ignored, never misread; the same message from this build is obeyed", async ({ page }) => {
  await signIn(page);
  await page.evaluate(() => {
    const channel = new BroadcastChannel("tokenflight-auth");
    const alien = { id: "x", username: "mallory", roles: ["user", "admin"] };
    // The build before versioned messages, and a newer build than this one.
    channel.postMessage(JSON.stringify({ seq: 1000, message: "signed_out" }));
    channel.postMessage(JSON.stringify({ v: 3, seq: 1001, message: "signed_out" }));
    channel.postMessage(JSON.stringify({
      v: 3,
      seq: 1002,
      message: { signed_in: { access_token: "forged", expires_in_ms: 600000, user: alien, idle: null } },
    }));
  });
  await page.waitForTimeout(500);
  await page.getByRole("button", { name: "Burst requests" }).click();
  // A token taken from those messages would have drawn 401s and a refresh.
  await expect(page.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded · 0 refreshes$/);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  await page.evaluate(() =>
    new BroadcastChannel("tokenflight-auth").postMessage(JSON.stringify({ v: 2, seq: 1003, message: "signed_out" })),
  );
  await expect(page).toHaveURL(/\/login\?next=\/$/);
});
