import { expect, test, type Page } from "@playwright/test";
import { countRequests, hydrated, signIn } from "./helpers";

// Issue #24: the inspector tells a grace replay (harmless) from a reuse (theft: the session is
// revoked), per session, from the server's own counts — and only when asked, so its request
// counters keep meaning what the demo's controls caused.

async function counts(page: Page) {
  await page.getByRole("button", { name: "Count grace replays and reuse" }).click();
  await expect(page.getByTestId("grace-or-theft")).toBeVisible();
  return {
    grace: Number(await page.getByTestId("grace-replays").textContent()),
    reuse: Number(await page.getByTestId("ended-by-reuse").textContent()),
  };
}

test("the inspector counts this session's grace replays and the sessions reuse ended, when asked", async ({ page }) => {
  await signIn(page);
  // This browser's first refresh credential, kept as a second tab (or a thief) would keep it.
  const first = (await page.context().cookies()).find((c) => c.name.endsWith("tf_refresh"))!;
  const refresh = () => page.evaluate(() => fetch("/api/auth/refresh", { method: "POST" }).then((r) => r.status));
  const presentFirstAgain = async () => {
    await page.context().addCookies([first]);
    return refresh();
  };
  expect(await refresh()).toBe(200); // rotates
  expect(await presentFirstAgain()).toBe(200); // the previous one, inside the grace window
  await page.reload();
  await hydrated(page);
  const requests = countRequests(page);
  await page.waitForTimeout(500);
  expect(requests.total(), "nothing is loaded before it is asked for").toBe(0);
  const before = await counts(page);
  expect(before.grace).toBe(1);

  // One rotation later the first credential is two behind: reuse, and the session ends.
  expect(await refresh()).toBe(200);
  expect(await presentFirstAgain()).toBe(400);
  await page.reload();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page);
  const after = await counts(page);
  expect(after.reuse).toBe(before.reuse + 1);
  expect(after.grace, "a new session has had no grace replay").toBe(0);
});
