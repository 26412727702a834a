import path from "node:path";
import { expect, test } from "@playwright/test";
import { countRequests, signIn } from "./helpers";

test("the dashboard greets the user and loads four resources in parallel", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveTitle("Dashboard · Tokenflight");
  await expect(page.getByRole("heading", { name: "Hello, alice" })).toBeVisible();
  await expect(page.getByRole("region", { name: "Profile" })).toContainText("Roles: user");
  await expect(page.getByRole("region", { name: "Items" })).toContainText("Read RFC 9700");
  await expect(page.getByRole("region", { name: "Notifications" })).toContainText("Welcome back, alice.");
  await expect(page.getByRole("region", { name: "Usage" })).toContainText("API requests served for you since this server started");
});

test("Reload data fetches every resource again", async ({ page }) => {
  await signIn(page);
  await expect(page.getByRole("region", { name: "Usage" })).toContainText("API requests served for you");
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Reload data" }).click();
  await expect.poll(() => requests.total()).toBe(4);
  await page.waitForTimeout(500);
  expect(requests.total()).toBe(4);
});

test("the inspector counts the burst: twenty 401s, one refresh, twenty retries", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  const count = async (id: string) => Number(await page.getByTestId(id).textContent());
  const before = { unauthorized: await count("count-401"), refreshes: await count("count-refreshes"), retries: await count("count-retries") };
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  await expect(page.getByTestId("count-401")).toHaveText(String(before.unauthorized + 20));
  await expect(page.getByTestId("count-refreshes")).toHaveText(String(before.refreshes + 1));
  await expect(page.getByTestId("count-retries")).toHaveText(String(before.retries + 20));
  // Requests whose 401 came back after the refresh retry with the new token without joining it,
  // so the refresh served "up to" twenty waiters.
  await expect(page.getByTestId("last-refresh")).toContainText(/one call to \/api\/auth\/refresh served \d+ waiting requests?/);
  await page.getByText("Timeline as text").click();
  await expect(page.getByRole("table", { name: "Timeline" })).toContainText("retried");
  // Spelled out by the app (the release bundle's `Debug` prints nothing).
  await expect(page.getByRole("table", { name: "Timeline" })).toContainText(/refresh \d+ started \(after a 401\)/);
  await expect(page.getByTestId("token-countdown")).toHaveText(/\d+ s/);
  // The README shows this picture: UPDATE_SCREENSHOT=1 ./scripts/test.sh refreshes it.
  const picture = process.env.UPDATE_SCREENSHOT ? "../../docs/dashboard.png" : "../test-results/dashboard.png";
  await page.screenshot({ path: path.join(__dirname, picture), fullPage: true });
});

test("Slow API is a toggle button", async ({ page }) => {
  await signIn(page);
  const slow = page.getByRole("button", { name: "Slow API" });
  await slow.click();
  await expect(slow).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("demo-status")).toContainText("1 s longer");
  await slow.click();
  await expect(slow).toHaveAttribute("aria-pressed", "false");
});

test("Sign out ends the session and returns to the login page", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=\/$/);
});

test("an unknown page is a 404 with navigation", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page).toHaveTitle("Not found · Tokenflight");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
});
