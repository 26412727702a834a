// openid-client (Node) and jose against a running Tokenflight: discovery, the code flow with
// PKCE (signing in through the login form as a browser does), two refreshes (rotation), a
// replay outside the grace window (invalid_grant, family revoked), userinfo, revocation,
// introspection, and both tokens' signatures checked against the JWKS alone.
//
// Run by scripts/test.sh: BASE_URL is the server, started with REFRESH_GRACE_SECS=1 and
// OAUTH_CLIENTS_FILE naming the confidential client below.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as client from "openid-client";
import { createRemoteJWKSet, jwtVerify, calculateJwkThumbprint } from "jose";

const BASE = process.env.BASE_URL;
assert.ok(BASE, "BASE_URL names the server under test");
const PUBLIC = "tokenflight-public";
const REDIRECT = "http://127.0.0.1:4711/callback";
const CONFIDENTIAL = { id: "resource-server", secret: "resource-server-secret-0123" };
// Plain http on loopback: openid-client refuses it unless told (its own safety default).
const insecure = { execute: [client.allowInsecureRequests] };

const publicClient = () => client.discovery(new URL(BASE), PUBLIC, undefined, client.None(), insecure);

/** A cookie jar of one browser: name -> value. */
function jar() {
  const cookies = new Map();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    keep(response) {
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const [name, value] = pair.split("=");
        if (/Max-Age=0/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
    },
  };
}

/** Follows the authorization URL as a browser would, signing in through the form. */
async function signInThroughTheForm(authorizationUrl) {
  const cookies = jar();
  let response = await fetch(authorizationUrl, { redirect: "manual" });
  assert.equal(response.status, 303, "a visitor without a session goes to the login page");
  const login = new URL(response.headers.get("location"), BASE);
  assert.equal(login.pathname, "/login");
  const next = login.searchParams.get("next");
  response = await fetch(new URL("/rpc/login", BASE), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(BASE).origin },
    body: new URLSearchParams({ username: "alice", password: "wonderland", next }),
  });
  cookies.keep(response);
  assert.equal(response.headers.get("location"), next, "the form sends the browser back");
  response = await fetch(new URL(next, BASE), { redirect: "manual", headers: { cookie: cookies.header() } });
  assert.equal(response.status, 303);
  const callback = new URL(response.headers.get("location"));
  assert.equal(callback.origin + callback.pathname, REDIRECT);
  return callback;
}

async function codeFlow(config) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: "openid profile",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const callback = await signInThroughTheForm(url);
  return client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
}

const refusal = async (promise) => {
  try {
    await promise;
  } catch (error) {
    return error.error ?? error.cause?.error ?? error.code;
  }
  assert.fail("expected the server to refuse");
};

test("discovery, code flow with PKCE, rotation, and reuse detection", async () => {
  const config = await publicClient();
  const metadata = config.serverMetadata();
  assert.equal(metadata.issuer, new URL(BASE).origin);
  assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);

  const tokens = await codeFlow(config);
  assert.equal(tokens.claims().sub, "u-alice");
  const me = await fetch(new URL("/api/me", BASE), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 200, "the access token works on the protected API");

  const first = await client.refreshTokenGrant(config, tokens.refresh_token);
  const second = await client.refreshTokenGrant(config, first.refresh_token);
  assert.notEqual(first.refresh_token, tokens.refresh_token, "rotated");
  assert.notEqual(second.refresh_token, first.refresh_token, "rotated again");

  // The grace window is one second here: past it, the first refresh token is reuse.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(await refusal(client.refreshTokenGrant(config, tokens.refresh_token)), "invalid_grant");
  assert.equal(
    await refusal(client.refreshTokenGrant(config, second.refresh_token)),
    "invalid_grant",
    "the whole family is revoked, its newest token too",
  );
  const after = await fetch(new URL("/api/me", BASE), { headers: { authorization: `Bearer ${second.access_token}` } });
  assert.equal(after.status, 401, "and its access tokens");
});

test("userinfo, introspection, revocation, and signatures checked with the JWKS alone", async () => {
  const config = await publicClient();
  const tokens = await codeFlow(config);
  const claims = tokens.claims();
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.preferred_username, "alice");

  const { issuer, jwks_uri } = config.serverMetadata();
  const jwks = createRemoteJWKSet(new URL(jwks_uri));
  const id = await jwtVerify(tokens.id_token, jwks, { issuer, audience: PUBLIC, algorithms: ["ES256"] });
  assert.equal(id.payload.sub, "u-alice");
  const access = await jwtVerify(tokens.access_token, jwks, {
    issuer: "tokenflight",
    audience: "tokenflight-api",
    typ: "at+jwt",
    algorithms: ["ES256"],
  });
  assert.equal(access.payload.sub, "u-alice");
  const { keys } = await (await fetch(jwks_uri)).json();
  for (const key of keys) assert.equal(await calculateJwkThumbprint(key), key.kid, "kid = RFC 7638 thumbprint");

  const resourceServer = await client.discovery(
    new URL(BASE),
    CONFIDENTIAL.id,
    undefined,
    client.ClientSecretBasic(CONFIDENTIAL.secret),
    insecure,
  );
  const live = await client.tokenIntrospection(resourceServer, tokens.access_token);
  assert.equal(live.active, true);
  assert.equal(live.client_id, PUBLIC);
  assert.equal(live.sub, "u-alice");

  await client.tokenRevocation(config, tokens.refresh_token);
  assert.equal((await client.tokenIntrospection(resourceServer, tokens.access_token)).active, false);
  assert.equal((await client.tokenIntrospection(resourceServer, tokens.refresh_token)).active, false);
  assert.equal(await refusal(client.refreshTokenGrant(config, tokens.refresh_token)), "invalid_grant");
});
