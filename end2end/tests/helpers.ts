import { expect, type BrowserContext, type Page } from "@playwright/test";

export const ALICE = { username: "alice", password: "wonderland" };
export const ADMIN = { username: "admin", password: "admin-secret" };

/**
 * Waits until the WebAssembly has hydrated the page's islands; a lazy island (a chunk of its
 * own, like /admin's statistics) may come later.
 */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

/**
 * Runs `navigation` and waits until the signed-in page it loads has hydrated. Every navigation is
 * a full page load; the server renders a signed-in page with an access token for its session,
 * which the auth client takes as it hydrates: no refresh call.
 */
export async function signedInAfter(page: Page, navigation: () => Promise<unknown>) {
  await navigation();
  await hydrated(page);
}

/** Signs in through the login form and waits until the destination has hydrated. */
export async function signIn(page: Page, user = ALICE, next?: string) {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : "/login");
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await signedInAfter(page, () => page.getByRole("button", { name: "Sign in" }).click());
  await expect(page.getByTestId("signed-in-user")).toHaveText(user.username);
}

/**
 * Counts requests to the API and to the form endpoints (`/rpc/`) as the browser sends them
 * (network events, not app counters).
 */
export function countRequests(target: Page | BrowserContext) {
  const seen: string[] = [];
  target.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith("/api/") || path.startsWith("/rpc/")) seen.push(`${request.method()} ${path}`);
  });
  return {
    count: (what: string) => seen.filter((entry) => entry === what).length,
    refreshes: () => seen.filter((entry) => entry === "POST /api/auth/refresh").length,
    total: () => seen.length,
    reset: () => seen.splice(0, seen.length),
  };
}

/** Collects console warnings and errors. */
export function consoleProblems(page: Page) {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return problems;
}
