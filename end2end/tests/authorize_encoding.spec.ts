import { createHash, randomBytes } from "node:crypto";
import { expect, test } from "@playwright/test";
import { ALICE } from "./helpers";

// Issue #32: the login page read `next` through leptos_router's `use_query_map`, which decodes
// twice, so an authorization request written with `%20` (what most server-side relying parties
// send) lost its user on the way through `/login?next=…`, and an encoded `&`, `+` or `%` in
// `state` came back corrupted. Through the real login form, in Chromium, each encoding must
// bring the code back with `state` byte for byte.

// A loopback redirect URI on a port nothing listens on: the test answers it itself.
const REDIRECT_URI = "http://127.0.0.1:9/callback";
const STATE = "a&b+c%d/e=f?g é ✓ 100%";

const base64url = (bytes: Buffer) => bytes.toString("base64url");

for (const [name, scope] of [
  ["%20", "openid%20profile"],
  ["+", "openid+profile"],
]) {
  test(`an authorization request with scope written with ${name} comes back with its state`, async ({
    page,
  }) => {
    const verifier = base64url(randomBytes(32));
    const challenge = base64url(createHash("sha256").update(verifier).digest());
    let callback: URL | undefined;
    await page.route(`${REDIRECT_URI}**`, async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: "text/plain", body: "back at the client" });
    });
    const query =
      `response_type=code&client_id=tokenflight-public` +
      `&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=${scope}` +
      `&state=${encodeURIComponent(STATE)}` +
      `&code_challenge=${challenge}&code_challenge_method=S256`;
    await page.goto(`/oauth/authorize?${query}`);
    await expect(page).toHaveURL(/\/login\?next=/);
    await page.getByLabel("Username").fill(ALICE.username);
    await page.getByLabel("Password").fill(ALICE.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("back at the client")).toBeVisible();
    expect(callback, "the client's redirect URI was reached").toBeDefined();
    expect(callback!.searchParams.get("state")).toBe(STATE);
    const code = callback!.searchParams.get("code");
    expect(code).toBeTruthy();

    const answer = await page.request.post("/oauth/token", {
      form: {
        grant_type: "authorization_code",
        code: code!,
        redirect_uri: REDIRECT_URI,
        client_id: "tokenflight-public",
        code_verifier: verifier,
      },
    });
    expect(answer.status()).toBe(200);
    const tokens = await answer.json();
    expect(tokens.scope.split(" ").sort()).toEqual(["openid", "profile"]);
  });
}
