import { expect, test } from "@playwright/test";
import { ALICE, hydrated, signIn } from "./helpers";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a protected page redirects to the login page on the server", async ({ page }) => {
    await page.goto("/admin");
    await expect(page).toHaveURL(/\/login\?next=\/admin$/);
  });

  test("signing in works and lands on next, already showing the user", async ({ page }) => {
    await page.goto("/login?next=/admin");
    await page.getByLabel("Username").fill(ALICE.username);
    await page.getByLabel("Password").fill(ALICE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/admin$/);
    await expect(page.getByTestId("signed-in-user")).toHaveText("alice");
  });

  test("a wrong password shows an alert", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("nope");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
  });
});

test("a wrong password shows an alert in the hydrated page", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("nope");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
  await expect(page).toHaveURL(/\/login/);
});

test("signing in goes to next", async ({ page }) => {
  await signIn(page, ALICE, "/admin");
  await expect(page).toHaveURL(/\/admin$/);
});

test("the HTML served to a signed-in user already shows the user", async ({ page }) => {
  await signIn(page);
  const html = await (await page.request.get("/", { headers: { accept: "text/html" } })).text();
  expect(html).toMatch(/data-testid="signed-in-user"[^>]*>alice</);
});
