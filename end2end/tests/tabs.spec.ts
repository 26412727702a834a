import { expect, test, type BrowserContext } from "@playwright/test";
import { ADMIN, countRequests, hydrated, signIn } from "./helpers";

test("two tabs bursting on an expired token make one refresh call in all", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  await expect(second.getByRole("region", { name: "Items" })).toContainText("Ship the demo");
  await first.getByRole("button", { name: "Expire access token" }).click();
  await expect(first.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(context);
  const before = await Promise.all([first, second].map(async (tab) => Number(await tab.getByTestId("count-401").textContent())));
  // The refresh is held on the wire until both bursts have met the expired token. Without that,
  // a tab whose click lands after the other tab's refresh has finished starts with the new token
  // and never sees a 401, which is right but is not the race this test is about.
  const bothMetTheExpiredToken = unauthorizedResponses(context, "/api/items", 40);
  await context.route("**/api/auth/refresh", async (route) => {
    await Promise.race([bothMetTheExpiredToken, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    await route.continue();
  });
  await Promise.all([
    first.getByRole("button", { name: "Burst requests" }).click(),
    second.getByRole("button", { name: "Burst requests" }).click(),
  ]);
  await expect(first.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded/);
  await expect(second.getByTestId("demo-status")).toHaveText(/^20\/20 succeeded/);
  expect(requests.refreshes()).toBe(1);
  // Both tabs really met the expired token: the second adopted the first one's refresh.
  await expect(first.getByTestId("count-401")).toHaveText(String(before[0] + 20));
  await expect(second.getByTestId("count-401")).toHaveText(String(before[1] + 20));
});

/** Resolves once `count` responses to `path` have been 401s. */
function unauthorizedResponses(context: BrowserContext, path: string, count: number) {
  return new Promise<void>((resolve) => {
    let seen = 0;
    context.on("response", (response) => {
      if (response.status() === 401 && new URL(response.url()).pathname === path && ++seen === count) resolve();
    });
  });
}

test("a new tab makes no refresh call: its page brings a token for the session", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const requests = countRequests(context);
  const second = await context.newPage();
  await second.goto("/");
  await hydrated(second);
  await expect(second.getByRole("region", { name: "Items" })).toContainText("Ship the demo");
  // The new tab's page came with a token (a client without one would ask the open tab, then
  // refresh); a refresh would have gone out by now.
  await second.waitForTimeout(1000);
  expect(requests.refreshes()).toBe(0);
});

test("signing out in one tab sends the other to the login page", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  const second = await context.newPage();
  await second.goto("/admin");
  await hydrated(second);
  await first.getByRole("button", { name: "Sign out" }).click();
  await expect(second).toHaveURL(/\/login\?next=\/admin$/);
});

test("signing in as someone else in a new tab makes that tab theirs; the open tab follows at its next refresh", async ({ context }) => {
  const first = await context.newPage();
  await signIn(first);
  // The form's sign-in is heard by no tab; the open tab answers the new page with alice's token,
  // which the new page, rendered for admin, must refuse and refresh instead (signIn waits for it).
  const second = await context.newPage();
  await signIn(second, ADMIN, "/admin");
  const stats = second.getByRole("region", { name: "Server statistics" });
  await expect(stats).toContainText("Active sessions");
  const answer = second.waitForResponse((response) => new URL(response.url()).pathname === "/api/fn/admin_stats");
  await second.getByRole("button", { name: "Reload" }).click();
  expect((await answer).status()).toBe(200);
  await expect(stats.getByRole("alert")).toHaveCount(0);

  // The form's sign-in ended alice's session, and the cookie is admin's: the open tab learns it
  // at its next call, made as alice, whose refresh brings admin's token. That call is not sent
  // again with admin's token (here it would expire admin's tokens); the page loads again, as
  // admin's.
  const requests = countRequests(first);
  const reloaded = first.waitForEvent("load");
  await first.getByRole("button", { name: "Expire access token" }).click();
  await reloaded;
  await expect(first.getByTestId("signed-in-user")).toHaveText(ADMIN.username);
  await hydrated(first);
  expect(requests.count("POST /api/demo/expire-access")).toBe(1);
});
