import { expect, test, type Page } from "@playwright/test";
import { ALICE, countRequests, consoleProblems } from "../tests/helpers";

// The auth client lifted into an ordinary Leptos app (examples/router_app): SSR + hydration, a
// client-side <Router>, no islands, the README's glue verbatim.

async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

async function signIn(page: Page) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(ALICE.username);
  await page.getByLabel("Password").fill(ALICE.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("user")).toHaveText(ALICE.username);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("main")).toContainText("Ship the demo");
}

test("signs in with use_auth().login, navigates three routes with no refresh call, bursts with one, signs out", async ({ page }) => {
  const problems = consoleProblems(page);
  const requests = countRequests(page);
  const documents: string[] = [];
  page.on("request", (request) => {
    if (request.resourceType() === "document") documents.push(request.url());
  });
  await signIn(page);
  expect(requests.count("POST /api/auth/login")).toBe(1);
  const loads = documents.length;
  requests.reset();
  for (const [link, text] of [["Profile", "alice (user)"], ["Items", "Ship the demo"], ["Profile", "alice (user)"], ["Items", "Ship the demo"]]) {
    await page.getByRole("link", { name: link, exact: true }).click();
    await expect(page.getByRole("main")).toContainText(text);
  }
  expect(documents.length).toBe(loads); // client-side navigation: no page load
  expect(requests.refreshes()).toBe(0);
  expect(requests.count("GET /api/me")).toBe(2);

  await page.getByRole("button", { name: "Expire token" }).click();
  await expect(page.getByTestId("burst")).toContainText("expired");
  requests.reset();
  await page.getByRole("button", { name: "Burst 20" }).click();
  await expect(page.getByTestId("burst")).toContainText("20/20 succeeded");
  expect(requests.refreshes()).toBe(1);
  expect(requests.count("GET /api/items")).toBe(40);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  expect(requests.count("POST /api/auth/logout")).toBe(1);
  // The burst's 401s are the point of it; anything else in the console is a problem.
  expect(problems.filter((problem) => !problem.includes("status of 401"))).toEqual([]);
});

test("a reload restores the session with at most one refresh call", async ({ page }) => {
  await signIn(page);
  const requests = countRequests(page);
  await page.reload();
  await expect(page.getByTestId("user")).toHaveText(ALICE.username);
  await expect(page.getByRole("main")).toContainText("Ship the demo");
  await page.waitForTimeout(300);
  expect(requests.refreshes()).toBeLessThanOrEqual(1);
});

test("mounting and unmounting a subscribing route 100 times leaves the listener count where it started", async ({ page }) => {
  await signIn(page);
  const count = async () => {
    await page.getByRole("button", { name: "Count listeners" }).click();
    return Number(await page.getByTestId("listeners").textContent());
  };
  await page.getByRole("link", { name: "Profile", exact: true }).click();
  await expect(page.getByRole("main")).toContainText("alice (user)");
  await page.getByRole("link", { name: "Items", exact: true }).click();
  const before = await count();
  expect(before).toBeGreaterThan(0);
  for (let i = 0; i < 100; i++) {
    await page.getByRole("link", { name: "Profile", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible();
    await page.getByRole("link", { name: "Items", exact: true }).click();
    await expect(page.getByRole("heading", { name: "Profile" })).toHaveCount(0);
  }
  expect(await count()).toBe(before);
});
