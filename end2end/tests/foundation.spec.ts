import { expect, test } from "@playwright/test";
import { consoleProblems, countRequests, hydrated, signedInAfter, signIn } from "./helpers";

test.describe("server rendering", () => {
  test.use({ javaScriptEnabled: false });

  test("the login page is complete HTML without JavaScript", async ({ page }) => {
    await page.goto("/login");
    await expect(page).toHaveTitle("Sign in · Tokenflight");
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await expect(page.getByLabel("Username")).toBeVisible();
    await expect(page.getByRole("cell", { name: "wonderland" })).toBeVisible();
  });
});

test("the login page hydrates without console warnings or errors; signing in is one form post and no refresh", async ({ page }) => {
  const problems = consoleProblems(page);
  await page.goto("/login");
  await hydrated(page);
  const requests = countRequests(page);
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("wonderland");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  // The form posts to its server function, which sets the refresh cookie and redirects; the
  // dashboard comes with an access token for the new session, so nothing is refreshed.
  await hydrated(page);
  expect(requests.count("POST /rpc/login")).toBe(1);
  expect(requests.count("POST /api/auth/login")).toBe(0);
  await page.waitForTimeout(500);
  expect(requests.refreshes()).toBe(0);
  expect(problems).toEqual([]);
});

test("static assets have content-hashed names, are cached for good and precompressed", async ({ page, request }) => {
  await page.goto("/login");
  const href = await page.locator('link#leptos[rel="stylesheet"]').getAttribute("href");
  expect(href).toMatch(/^\/pkg\/tokenflight\.[^/]+\.css$/);
  const css = await request.get(href!, { headers: { "accept-encoding": "br, gzip" } });
  expect(css.status()).toBe(200);
  expect(css.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  expect(css.headers()["content-encoding"]).toBe("br");
});

test("signed-in pages hydrate without console warnings or errors", async ({ page }) => {
  await signIn(page);
  const problems = consoleProblems(page);
  for (const path of ["/", "/admin"]) {
    await signedInAfter(page, () => page.goto(path));
    await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
    // The islands that arrive later: the demo panels' chunk, /admin's statistics island.
    const late = path === "/" ? page.getByRole("button", { name: "Burst requests" }) : page.getByRole("button", { name: "Reload" });
    await expect(late).toBeEnabled();
  }
  // alice's 403 on /admin is expected in the network log, but nothing else may complain.
  expect(problems.filter((text) => !text.includes("403"))).toEqual([]);
});

test("the dashboard downloads its own wasm only: the demo panels after hydration, /admin's statistics on the way there", async ({ browser, baseURL, page }) => {
  await signIn(page);
  // A fresh browser with the session's cookies and an empty cache, like a returning visitor's
  // first load of the day.
  const context = await browser.newContext({ baseURL, storageState: await page.context().storageState() });
  const visitor = await context.newPage();
  const wasm: string[] = [];
  visitor.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) wasm.push(path);
  });
  await visitor.goto("/");
  await hydrated(visitor);
  await expect(visitor.getByRole("button", { name: "Burst requests" })).toBeVisible();
  expect(wasm.filter((path) => /^\/pkg\/tokenflight\.[^/]+\.wasm$/.test(path))).toHaveLength(1);
  expect(wasm.filter((path) => path.includes("demo_panels"))).toHaveLength(1);
  expect(wasm.filter((path) => path.includes("server_statistics"))).toEqual([]);
  // /admin is a full page load: its statistics island, a chunk of its own, comes with it.
  await visitor.getByRole("link", { name: "Admin" }).click();
  await expect(visitor.getByRole("heading", { name: "Admin" })).toBeVisible();
  await expect(visitor.getByRole("button", { name: "Reload" })).toBeEnabled();
  expect(wasm.filter((path) => path.includes("server_statistics"))).toHaveLength(1);
  await context.close();
});
