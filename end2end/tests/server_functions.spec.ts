import { expect, test } from "@playwright/test";
import { ALICE, consoleProblems, countRequests, hydrated, signIn } from "./helpers";

test("the signed-in first paint holds the protected data, even with JavaScript off", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Username").fill(ALICE.username);
  await page.getByLabel("Password").fill(ALICE.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("region", { name: "Profile" })).toContainText("Roles: user");
  await expect(page.getByRole("region", { name: "Items" })).toContainText("Read RFC 9700");
  await expect(page.getByRole("region", { name: "Notifications" })).toContainText("Welcome back, alice.");
  await expect(page.getByRole("region", { name: "Usage" })).toContainText("API requests served for you");
  await expect(page.locator(".skeleton")).toHaveCount(0);
  await context.close();
});

test("hydration reuses the server's data: a reload fetches none of it again", async ({ page }) => {
  await signIn(page);
  const problems = consoleProblems(page);
  const requests = countRequests(page);
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("region", { name: "Items" })).toContainText("Read RFC 9700");
  await page.waitForTimeout(1000); // a refetch after hydration would show up meanwhile
  const dataCalls = ["profile", "items", "notifications", "usage"]
    .map((name) => requests.count(`POST /api/fn/${name}`))
    .reduce((a, b) => a + b, 0);
  expect(dataCalls).toBe(0);
  expect(requests.count("GET /api/items")).toBe(0);
  // Restoring the in-memory token is the only API call a signed-in page load makes.
  expect(requests.total()).toBe(requests.refreshes());
  expect(requests.refreshes()).toBeLessThanOrEqual(1);
  expect(problems).toEqual([]);
});

test("a burst of 20 server functions on an expired token makes exactly one refresh call", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Burst server functions" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  expect(requests.refreshes()).toBe(1);
  // 20 first calls and 20 retries, each a server function carrying the Bearer token.
  expect(requests.count("POST /api/fn/items")).toBe(40);
  await page.getByText("Timeline as text").click();
  await expect(page.getByRole("table", { name: "Timeline" })).toContainText("/api/fn/items");
});
