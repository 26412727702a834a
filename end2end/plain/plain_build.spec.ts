import { expect, test } from "@playwright/test";
import { ADMIN, consoleProblems, countRequests, hydrated, signIn } from "../tests/helpers";

// `cargo leptos build` and `cargo leptos watch` with no flags: the lazy parts are in the main
// wasm, and nothing imports `__wasm_split_placeholder__`.
test("a plain build hydrates: the demo panels and /admin's statistics work without --split", async ({ page }) => {
  const problems = consoleProblems(page);
  await signIn(page);
  await page.getByRole("button", { name: "Expire access token" }).click();
  await expect(page.getByTestId("demo-status")).toContainText("expired");
  const requests = countRequests(page);
  await page.getByRole("button", { name: "Burst requests" }).click();
  await expect(page.getByTestId("demo-status")).toHaveText("20/20 succeeded · 1 refresh");
  expect(requests.refreshes()).toBe(1);

  await page.goto("/admin");
  await hydrated(page);
  await expect(page.getByRole("button", { name: "Reload" })).toBeEnabled();
  // The burst's 401s are the point of it; anything else in the console is a problem.
  expect(problems.filter((problem) => !problem.includes("status of 401"))).toEqual([]);
  const wasm = await page.evaluate(() =>
    performance.getEntriesByType("resource").map((entry) => entry.name).filter((name) => name.endsWith(".wasm")),
  );
  expect(wasm).toHaveLength(1); // one wasm: no chunks
});

test("the admin's statistics island runs in a plain build", async ({ page }) => {
  await signIn(page, ADMIN, "/admin");
  await expect(page.getByRole("region", { name: "Server statistics" })).toContainText("Active sessions");
  await page.getByRole("button", { name: "Reload" }).click();
  await expect(page.getByRole("region", { name: "Server statistics" })).toContainText("Active sessions");
});
