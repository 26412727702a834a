import { expect, test, type Page } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

/** Opens /sessions and returns the label of this browser's own entry ("Chromium on Linux · abc123"). */
async function ownEntry(page: Page) {
  await page.goto("/sessions");
  await hydrated(page);
  const own = page.getByRole("listitem").filter({ hasText: "(this browser)" });
  await expect(own).toHaveCount(1);
  const label = (await own.getAttribute("aria-label")) ?? "";
  return label.replace(" (this browser)", "");
}

test("the Sessions page lists this browser's session with its counts", async ({ page }) => {
  await signIn(page);
  const label = await ownEntry(page);
  expect(label).toMatch(/^Chromium on Linux · \S{6}$/);
  const own = page.getByRole("listitem", { name: `${label} (this browser)` });
  await expect(own).toContainText("tokenflight");
  await expect(own.getByRole("definition").nth(3)).toHaveText(/^\d+$/); // rotations
  await expect(own).toContainText("Grace replays");
});

test("ending another browser's session removes it here and sends that browser to /login at its next refresh", async ({ browser }) => {
  const phoneContext = await browser.newContext();
  const laptopContext = await browser.newContext();
  const phone = await phoneContext.newPage();
  const laptop = await laptopContext.newPage();
  await signIn(phone);
  await signIn(laptop);
  const phoneLabel = await ownEntry(phone);
  await phone.goto("/");
  await hydrated(phone);

  await ownEntry(laptop);
  const entry = laptop.getByRole("listitem", { name: phoneLabel, exact: true });
  await expect(entry).toHaveCount(1);
  await entry.getByRole("button", { name: "End session" }).click();
  await expect(laptop.getByRole("status").filter({ hasText: "Session ended" })).toBeVisible();
  await expect(laptop.getByRole("listitem", { name: phoneLabel, exact: true })).toHaveCount(0);

  // The phone's next protected request is refused, its refresh too: it goes to sign in.
  await phone.getByRole("button", { name: "Reload data" }).click();
  await expect(phone).toHaveURL(/\/login\?next=\/$/);
  // The laptop is still signed in.
  await laptop.reload();
  await hydrated(laptop);
  await expect(laptop).toHaveURL(/\/sessions$/);
  await phoneContext.close();
  await laptopContext.close();
});

test("ending this browser's own session signs out every tab", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  await ownEntry(first);
  await first
    .getByRole("listitem")
    .filter({ hasText: "(this browser)" })
    .getByRole("button", { name: "End this session" })
    .click();
  await expect(first).toHaveURL(/\/login/);
  await expect(second).toHaveURL(/\/login/);
});

test("grace replays count on the live session; a reuse ends it and lists it apart", async ({ page }) => {
  await signIn(page);
  const label = await ownEntry(page);
  // This browser's first refresh credential, kept as a second tab (or a thief) would keep it.
  const first = (await page.context().cookies()).find((c) => c.name.endsWith("tf_refresh"))!;
  expect(first).toBeDefined();
  const refresh = () => page.evaluate(() => fetch("/api/auth/refresh", { method: "POST" }).then((r) => r.status));
  const presentFirstAgain = async () => {
    await page.context().addCookies([first]);
    return refresh();
  };
  expect(await refresh()).toBe(200); // rotates
  // The previous credential again, inside the grace window: a grace replay, harmless.
  expect(await presentFirstAgain()).toBe(200);
  await page.reload();
  await hydrated(page);
  const own = page.getByRole("listitem", { name: `${label} (this browser)` });
  await expect(own.getByRole("definition").nth(3)).toHaveText("1"); // rotations
  await expect(own.getByRole("definition").nth(4)).toHaveText("1"); // grace replays

  // One rotation later the first credential is two behind: reuse, and the session ends.
  expect(await refresh()).toBe(200);
  expect(await presentFirstAgain()).toBe(400);
  await page.reload();
  await expect(page).toHaveURL(/\/login/);

  await signIn(page, undefined, "/sessions");
  await expect(page.getByRole("region", { name: "Your sessions" }).getByRole("listitem", { name: label, exact: true })).toHaveCount(0);
  const ended = page.getByRole("region", { name: "Ended by reuse detection" }).getByRole("listitem", { name: label, exact: true });
  await expect(ended).toBeVisible();
  await expect(ended.getByRole("definition").nth(3)).toHaveText("1"); // grace replays before the theft
});
