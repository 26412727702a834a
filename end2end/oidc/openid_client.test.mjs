// openid-client (Node) and jose against a running Tokenflight: discovery, the code flow with
// PKCE (signing in through the login form as a browser does), two refreshes (rotation), a
// replay outside the grace window (invalid_grant, family revoked), userinfo, revocation,
// introspection, and both tokens' signatures checked against the JWKS alone; a confidential
// client with openid-client's default authentication (client_secret_post) and one with
// client_secret_basic; a machine client's client_credentials grant (issue #32, point 4); and
// DPoP with openid-client's own DPoP handle (issue #33): bound tokens, nonce challenges answered
// by the library, userinfo and the protected API, a bound refresh, refusal without the key.
//
// Run by scripts/test.sh: BASE_URL is the server, started with REFRESH_GRACE_SECS=1 and
// OAUTH_CLIENTS_FILE naming the confidential clients below (end2end/oidc/clients.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as client from "openid-client";
import { createRemoteJWKSet, jwtVerify, calculateJwkThumbprint, exportJWK } from "jose";

const BASE = process.env.BASE_URL;
assert.ok(BASE, "BASE_URL names the server under test");
const PUBLIC = "tokenflight-public";
const REDIRECT = "http://127.0.0.1:4711/callback";
const CONFIDENTIAL = { id: "resource-server", secret: "resource-server-secret-0123" };
// Registered for client_secret_post: openid-client's default when given a secret.
const WEB_APP = { id: "web-app", secret: "web-app-secret-0123456789" };
// Registered for client_credentials only, authenticating by client_secret_basic.
const MACHINE = { id: "machine", secret: "machine-secret-0123456789" };
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

async function codeFlow(config, options) {
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
  return client.authorizationCodeGrant(
    config,
    callback,
    {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    },
    undefined,
    options,
  );
}

const refusal = async (promise) => {
  try {
    await promise;
  } catch (error) {
    // A 401 with `WWW-Authenticate` (invalid_client) is a WWWAuthenticateChallengeError, whose
    // RFC 6749 §5.2 error code is still in the unread body.
    if (error.code === "OAUTH_WWW_AUTHENTICATE_CHALLENGE" && !error.response.bodyUsed) {
      return (await error.response.json()).error;
    }
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
  // RFC 9068 §4, as a resource server checks it: the issuer of discovery, our audience.
  const access = await jwtVerify(tokens.access_token, jwks, {
    issuer,
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

test("a confidential client with openid-client's default authentication (client_secret_post)", async () => {
  // No ClientAuth argument: given a secret, openid-client 6 sends client_id and client_secret
  // in the form body (client_secret_post) — at the token, introspection and revocation endpoints.
  const config = await client.discovery(new URL(BASE), WEB_APP.id, WEB_APP.secret, undefined, insecure);
  assert.ok(config.serverMetadata().token_endpoint_auth_methods_supported.includes("client_secret_post"));
  const tokens = await codeFlow(config);
  assert.equal(tokens.claims().aud, WEB_APP.id);

  // RFC 6749 §6: a refresh may narrow the scope, and the answer says so.
  const narrowed = await client.refreshTokenGrant(config, tokens.refresh_token, { scope: "openid" });
  assert.equal(narrowed.scope, "openid");
  const own = await client.tokenIntrospection(config, narrowed.access_token);
  assert.equal(own.active, true, "a client may introspect its own token");
  assert.equal(own.client_id, WEB_APP.id);

  // RFC 6749 §2.3: the method it is not registered for is refused.
  const byBasic = await client.discovery(
    new URL(BASE),
    WEB_APP.id,
    undefined,
    client.ClientSecretBasic(WEB_APP.secret),
    insecure,
  );
  assert.equal(await refusal(client.refreshTokenGrant(byBasic, narrowed.refresh_token)), "invalid_client");

  await client.tokenRevocation(config, narrowed.refresh_token);
  assert.equal((await client.tokenIntrospection(config, narrowed.access_token)).active, false);
  assert.equal(await refusal(client.refreshTokenGrant(config, narrowed.refresh_token)), "invalid_grant");
});

test("client_credentials with client_secret_basic: a machine token, active at introspection, refused by the user API", async () => {
  const config = await client.discovery(
    new URL(BASE),
    MACHINE.id,
    undefined,
    client.ClientSecretBasic(MACHINE.secret),
    insecure,
  );
  assert.ok(config.serverMetadata().grant_types_supported.includes("client_credentials"));
  const tokens = await client.clientCredentialsGrant(config);
  assert.equal(tokens.token_type.toLowerCase(), "bearer");
  assert.equal(tokens.refresh_token, undefined, "RFC 6749 §4.4.3: no refresh token");
  assert.equal(tokens.id_token, undefined, "no user, no ID token");

  const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const access = await jwtVerify(tokens.access_token, jwks, {
    issuer: config.serverMetadata().issuer,
    audience: "tokenflight-api",
    typ: "at+jwt",
    algorithms: ["ES256"],
  });
  assert.equal(access.payload.sub, MACHINE.id, "RFC 9068 §2.2: sub is the client");
  const me = await fetch(new URL("/api/me", BASE), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 401, "no user behind a machine token");

  const live = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(live.active, true);
  assert.equal(live.client_id, MACHINE.id);
  // RFC 7662 §4: a client that is neither the token's nor a resource server learns nothing.
  const bystander = await client.discovery(new URL(BASE), WEB_APP.id, WEB_APP.secret, undefined, insecure);
  assert.equal((await client.tokenIntrospection(bystander, tokens.access_token)).active, false);
  const resourceServer = await client.discovery(
    new URL(BASE),
    CONFIDENTIAL.id,
    undefined,
    client.ClientSecretBasic(CONFIDENTIAL.secret),
    insecure,
  );
  assert.equal((await client.tokenIntrospection(resourceServer, tokens.access_token)).active, true);

  await client.tokenRevocation(config, tokens.access_token);
  assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
});

test("DPoP with openid-client's DPoP handle: bound tokens, nonces, userinfo, the API, a bound refresh", async () => {
  const config = await publicClient();
  assert.deepEqual(config.serverMetadata().dpop_signing_alg_values_supported, ["ES256"]);
  const keyPair = await client.randomDPoPKeyPair("ES256");
  const DPoP = client.getDPoPHandle(config, keyPair);
  // The first token request carries no nonce: the library answers use_dpop_nonce itself.
  const tokens = await codeFlow(config, { DPoP });
  assert.equal(tokens.token_type, "dpop");
  const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri)), {
    issuer: config.serverMetadata().issuer,
    audience: "tokenflight-api",
    typ: "at+jwt",
  });
  assert.equal(payload.cnf.jkt, jkt, "RFC 9449 §6.1: bound to the library's key");

  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub, { DPoP });
  assert.equal(info.preferred_username, "alice");
  const me = await client.fetchProtectedResource(config, tokens.access_token, new URL("/api/me", BASE), "GET", undefined, undefined, { DPoP });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).username, "alice");
  const asBearer = await fetch(new URL("/api/me", BASE), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401, "a bound token is no bearer token");

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  assert.equal(refreshed.token_type, "dpop");
  assert.equal(await refusal(client.refreshTokenGrant(config, refreshed.refresh_token)), "invalid_dpop_proof");
  const again = await client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP });
  assert.equal(again.token_type, "dpop", "the key-less attempt left the family alone");
});
