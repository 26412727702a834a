import { expect, test } from "@playwright/test";
import { countRequests, hydrated, signIn } from "../tests/helpers";

// Run against a server with SESSION_IDLE_TIMEOUT_SECS=16 (scripts/test.sh): the warning leads
// by a quarter of that, 4 s, and a tab in use refreshes 8 s before the deadline.
const IDLE_S = 16;
test.setTimeout(90_000);

test("tabs nobody uses are warned, then every tab is on the login page saying why, on time", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const signedInAt = Date.now();
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  const requests = countRequests(context);
  for (const tab of [first, second]) {
    const warning = tab.getByRole("alertdialog");
    await expect(warning).toBeVisible({ timeout: 20_000 });
    await expect(warning).toContainText("You will be signed out in");
  }
  for (const tab of [first, second]) {
    await expect(tab).toHaveURL(new RegExp(`/login\\?next=/&idle=${IDLE_S}$`), { timeout: 20_000 });
    await expect(tab.getByText(`Signed out after ${IDLE_S} seconds without activity.`)).toBeVisible();
  }
  expect(Date.now() - signedInAt).toBeGreaterThanOrEqual((IDLE_S - 2) * 1000);
  expect(requests.refreshes()).toBe(0);
});

test("a tab in use stays signed in past twice the timeout, with no warning", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  const warning = page.getByRole("alertdialog");
  for (let elapsed = 0; elapsed < 2 * IDLE_S + 4; elapsed += 2) {
    await page.keyboard.press("Shift");
    await page.waitForTimeout(2_000);
    await expect(warning).toHaveCount(0);
  }
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  expect(requests.refreshes()).toBeGreaterThanOrEqual(2);
  await page.getByRole("button", { name: "Reload data" }).click();
  await expect(page.getByRole("region", { name: "Items" })).toContainText("Ship the demo");
});

test("'Stay signed in' answers the warning in every tab with one refresh call", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  await expect(first.getByRole("alertdialog")).toBeVisible({ timeout: 20_000 });
  const requests = countRequests(context);
  await first.getByRole("button", { name: "Stay signed in" }).click();
  await expect(first.getByRole("alertdialog")).toHaveCount(0);
  await expect(second.getByRole("alertdialog")).toHaveCount(0);
  // Past the deadline the warning announced: both tabs are still signed in.
  await first.waitForTimeout(6_000);
  for (const tab of [first, second]) await expect(tab.getByTestId("signed-in-user")).toHaveText("alice");
  expect(requests.refreshes()).toBe(1);
});

// Issue #34: the check 8 s before the deadline found nobody there; the user comes back after it.
test("a tab left alone past the idle check, then used before the warning, stays signed in", async ({ page }) => {
  await signIn(page);
  const signedInAt = Date.now();
  const requests = countRequests(page);
  const warning = page.getByRole("alertdialog");
  // Untouched for 10 s: past the check (8 s before the deadline), before the warning (4 s before).
  await page.waitForTimeout(10_000 - (Date.now() - signedInAt));
  await expect(warning).toHaveCount(0);
  await page.keyboard.press("Shift");
  await page.mouse.wheel(0, 300);
  await expect.poll(() => requests.refreshes()).toBe(1);
  // Past the deadline the first token had, with no warning on the way.
  while (Date.now() - signedInAt < (IDLE_S + 3) * 1000) {
    await expect(warning).toHaveCount(0);
    await page.waitForTimeout(500);
  }
  await expect(page).not.toHaveURL(/\/login/);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  // A second refresh is fine: activity after the first one's token (the wheel may arrive after
  // it) counts for that token, whose own check is 8 s before its deadline.
  expect(requests.refreshes()).toBeLessThanOrEqual(2);
});

test("a tab used while the warning shows stays signed in, with one refresh call", async ({ page }) => {
  await signIn(page);
  const signedInAt = Date.now();
  const requests = countRequests(page);
  const warning = page.getByRole("alertdialog");
  await expect(warning).toBeVisible({ timeout: 20_000 });
  // A key, not the button: any activity answers the warning.
  await page.keyboard.press("Shift");
  await expect(warning).toHaveCount(0);
  await page.waitForTimeout(Math.max(0, (IDLE_S + 3) * 1000 - (Date.now() - signedInAt)));
  await expect(page).not.toHaveURL(/\/login/);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  expect(requests.refreshes()).toBe(1);
});
