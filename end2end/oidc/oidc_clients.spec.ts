import { test, expect } from "@playwright/test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// This folder (its package.json makes these ES modules, which have no here).
const here = fileURLToPath(new URL(".", import.meta.url));
import type { Server } from "node:http";
import { serveRelyingParty } from "./static_server.ts";

// Clients nobody here wrote, against the release server (scripts/test.sh starts it with
// REFRESH_GRACE_SECS=1 and end2end/oidc/clients.json): oidc-client-ts in Chromium, on a page
// served from another loopback port; openid-client + jose in Node.
const BASE = process.env.BASE_URL ?? "http://127.0.0.1:3000";

let relyingParty: { server: Server; origin: string };
test.beforeAll(async () => {
  relyingParty = await serveRelyingParty();
});
test.afterAll(() => relyingParty.server.close());

test("oidc-client-ts signs in with the code flow + PKCE, renews by rotation, and is signed out once revoked", async ({ page }) => {
  await page.goto(`${relyingParty.origin}/?authority=${encodeURIComponent(BASE)}`);
  await expect(page.getByRole("status", { name: "Session" })).toHaveText("Signed out");
  await page.getByRole("button", { name: "Sign in with Tokenflight" }).click();

  // Tokenflight's own login page, then back to the app's origin.
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("wonderland");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(`${relyingParty.origin}/`);
  await expect(page.getByRole("status", { name: "Session" })).toHaveText("Signed in as alice");

  await page.getByRole("button", { name: "Call the protected endpoint" }).click();
  await expect(page.getByRole("status", { name: "Userinfo" })).toHaveText("alice");

  const first = await page.getByRole("status", { name: "Refresh token" }).textContent();
  await page.getByRole("button", { name: "Renew silently" }).click();
  await expect(page.getByRole("status", { name: "Refresh token" })).not.toHaveText(first ?? "");
  await expect(page.getByRole("status", { name: "Session" })).toHaveText("Signed in as alice");

  // Revoke the session behind the app's back (RFC 7009, as another of the user's devices or an
  // administrator would), then renew: the refused refresh signs the app out.
  const refreshToken = await page.evaluate(() => {
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("oidc.user:"));
    return JSON.parse(sessionStorage.getItem(key!)!).refresh_token as string;
  });
  const revoked = await fetch(`${BASE}/oauth/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: refreshToken, client_id: "tokenflight-public" }),
  });
  expect(revoked.status).toBe(200);
  await page.getByRole("button", { name: "Renew silently" }).click();
  await expect(page.getByRole("status", { name: "Session" })).toHaveText("Signed out");
});

test("openid-client and jose in Node (end2end/oidc/openid_client.test.mjs)", () => {
  const run = spawnSync(process.execPath, ["--test", join(here, "openid_client.test.mjs")], {
    env: { ...process.env, BASE_URL: BASE },
    encoding: "utf8",
    timeout: 60_000,
  });
  console.log(run.stdout, run.stderr);
  expect(run.status, run.stdout + run.stderr).toBe(0);
});

// Issue #32 point 7: a Python relying party from PyPI, Authlib, with `%20`-encoded scopes and a
// `state` of awkward characters, refresh, revocation and client_credentials. Its interpreter is
// the virtualenv the test command installs it in (AUTHLIB_PYTHON).
test("Authlib in Python (end2end/authlib/relying_party.py)", () => {
  const python = process.env.AUTHLIB_PYTHON ?? "python3";
  const run = spawnSync(python, [join(here, "..", "authlib", "relying_party.py")], {
    env: { ...process.env, BASE_URL: BASE },
    encoding: "utf8",
    timeout: 60_000,
  });
  console.log(run.stdout, run.stderr);
  expect(run.status, run.stdout + run.stderr).toBe(0);
});
