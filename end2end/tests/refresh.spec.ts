import { expect, test } from "@playwright/test";
import { ADMIN, ALICE, countRequests, signedInAfter, signIn } from "./helpers";

test("a burst of 20 requests on an expired token makes exactly one refresh call", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  expect(requests.refreshes()).toBe(1);
  // 20 first attempts and 20 retries, nothing more.
  expect(requests.count("GET /api/items")).toBe(40);
});

test("a reload keeps the session with no refresh call: the page brings a token", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  await signedInAfter(page, () => page.reload());
  await expect(page.getByRole("region", { name: "Items" })).toContainText("Ship the demo");
  await expect(page.getByRole("region", { name: "Usage" })).toContainText("API requests served for you");
  // The token from the page works: reloading the data from the browser needs no refresh.
  await page.getByRole("button", { name: "Reload data" }).click();
  await expect.poll(() => requests.count("POST /api/fn/profile")).toBe(1);
  await page.waitForTimeout(500);
  expect(requests.refreshes()).toBe(0);
});

test("following links between the pages makes no refresh call", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  for (const [link, heading] of [["Admin", "Admin"], ["Dashboard", "Hello, alice"], ["Admin", "Admin"], ["Dashboard", "Hello, alice"]]) {
    await signedInAfter(page, () => page.getByRole("link", { name: link, exact: true }).click());
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
  }
  // The page's token is good for a call from the browser.
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 0 refreshes");
  expect(requests.refreshes()).toBe(0);
});

test("a signed-in page is never stored by any cache: it carries an access token", async ({ page }) => {
  await signIn(page);
  const response = await page.goto("/");
  expect(response!.headers()["cache-control"]).toBe("no-store");
  const signedOut = await page.request.get("/login", { headers: { cookie: "" } });
  expect(signedOut.headers()["cache-control"]).toBe("private, no-cache");
});

test("a revoked session ends on the login page with no request loop", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Revoke session" }).click();
  await expect(page).toHaveURL(/\/login\?next=\/$/);
  await page.waitForTimeout(1500); // a loop would keep sending meanwhile
  const settled = requests.total();
  expect(requests.refreshes()).toBe(1);
  expect(settled).toBeLessThan(15);
  await page.waitForTimeout(1000);
  expect(requests.total()).toBe(settled);
});

test("a 403 from a server function shows Forbidden and triggers no refresh", async ({ page }) => {
  await signIn(page, ALICE);
  await signedInAfter(page, () => page.getByRole("link", { name: "Admin" }).click());
  const stats = page.getByRole("region", { name: "Server statistics" });
  // In the first paint: the server function ran on the server, for alice's session.
  await expect(stats.getByRole("alert")).toContainText("Forbidden");
  // Again from the browser, through the auth client.
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Reload" }).click();
  await expect.poll(() => requests.count("POST /api/fn/admin_stats")).toBe(1);
  await expect(stats.getByRole("alert")).toContainText("Forbidden");
  await page.waitForTimeout(500);
  expect(requests.total()).toBe(1);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
});

test("the admin sees the statistics", async ({ page }) => {
  await signIn(page, ADMIN, "/admin");
  await expect(page.getByRole("region", { name: "Server statistics" })).toContainText("Active sessions");
});

test("a failing refresh keeps the user signed in and recovers", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Fail next refresh" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("503");
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  await page.getByRole("button", { name: "Reload data" }).click();
  await expect(page.getByTestId("token-countdown")).toHaveText(/offline/);
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  // The background retries succeed once the two failures are used up.
  await expect(page.getByTestId("token-countdown")).toHaveText(/\d+ s/, { timeout: 15_000 });
  await expect(page).toHaveURL(/\/$/);
  expect(requests.count("POST /api/auth/logout")).toBe(0);
  expect(requests.refreshes()).toBe(3); // two 503s, then success
});
