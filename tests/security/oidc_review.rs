//! The review findings of issue #32 (point 6, and introspection and refresh scope of point 3):
//! a used code replayed by a stranger, logout hints that are not ours or not recent, redirect
//! URIs that are not whole, introspection by a client the token is not for, a refresh asking for
//! more scope than it has, and two registrations under one id.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use tokenflight::server::config::Config;

use crate::common::{
    oidc::{
        authorize, authorize_query, clients_file, code_for, code_for_client, exchange, field,
        machine_token, post_form, refresh, tokens, Pkce, CLIENT, CONFIDENTIAL,
        CONFIDENTIAL_REDIRECT, CONFIDENTIAL_SECRET, HOST, MACHINE, POST_CLIENT, REDIRECT,
        REFRESH_ONLY,
    },
    Browser, TestApp, TestResponse,
};

/// `GET /oauth/logout?id_token_hint=…` from `browser` (its cookies, so its own session of the
/// hint's user would end too).
async fn logout(browser: &mut Browser<'_>, hint: &str) -> TestResponse {
    let query = serde_urlencoded::to_string([("id_token_hint", hint)]).unwrap();
    let request = Request::get(format!("/oauth/logout?{query}"))
        .header("host", HOST)
        .body(Body::empty())
        .unwrap();
    browser.send(request).await
}

/// A JWT's claims, unverified.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// RFC 6749 §4.1.2 (revoke what a reused code issued) read with §4.1.3 and RFC 7636 §4.6: the
/// revocation is for the client that holds the code *and* its verifier. A stranger who saw a
/// used code — another client, or the public client without the verifier — gets a plain
/// `invalid_grant` and the user's session lives on; the rightful client's replay still revokes.
#[tokio::test]
async fn a_strangers_replay_of_a_used_code_revokes_nothing() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (code, pkce) = code_for(&app, "stranger-replay").await;
    let first = exchange(&app, &code, &pkce.verifier).await.json();
    let access = field(&first, "access_token");
    let without_verifier = exchange(&app, &code, &Pkce::new("stranger").verifier).await;
    assert_eq!(without_verifier.error_code(), "invalid_grant");
    let other_client = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(other_client.error_code(), "invalid_grant");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::OK,
        "the strangers' replays ended nothing"
    );
    let renewed = refresh(&app, &field(&first, "refresh_token")).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let rightful = exchange(&app, &code, &pkce.verifier).await;
    assert_eq!(rightful.error_code(), "invalid_grant");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED,
        "the replay with the verifier revoked the session"
    );
    let _ = std::fs::remove_file(file);
}

/// OpenID Connect RP-Initiated Logout 1.0 §2 ("If the ID Token's sid claim does not correspond
/// to the RP's current session or a recent session at the OP, the OP SHOULD treat the logout
/// request as suspect, and MAY decline to act upon it"): a hint whose session cannot have lived
/// until now (issued longer ago than the absolute session lifetime) is refused, and the
/// browser's own, newer session of the same user is left alone. A hint of a session that ended
/// recently still signs the browser out.
#[tokio::test]
async fn an_id_token_hint_older_than_a_session_can_live_ends_nothing() {
    let app = TestApp::with_env(&[
        ("SESSION_IDLE_TIMEOUT_SECS", "600"),
        ("SESSION_ABSOLUTE_TIMEOUT_SECS", "3600"),
    ])
    .await;
    // Recent: the session was revoked a moment ago; the hint still names it.
    let recent = tokens(&app, "recent-hint").await;
    let revoked = post_form(
        &app,
        "/oauth/revoke",
        &[
            ("token", &field(&recent, "refresh_token")),
            ("client_id", CLIENT),
        ],
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let (mut browser, own) = app.signed_in("alice").await;
    let response = logout(&mut browser, &field(&recent, "id_token")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        app.get("/api/me", Some(&own)).await.status,
        StatusCode::UNAUTHORIZED,
        "a recent session's hint signs the browser out"
    );
    // Stale: issued more than the absolute lifetime ago.
    let stale = tokens(&app, "stale-hint").await;
    app.advance(std::time::Duration::from_secs(3601));
    let (mut browser, own) = app.signed_in("alice").await;
    let response = logout(&mut browser, &field(&stale, "id_token")).await;
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.body
    );
    assert!(response.header("location").is_none());
    assert_eq!(
        app.get("/api/me", Some(&own)).await.status,
        StatusCode::OK,
        "the stale hint ended nothing"
    );
}

/// RP-Initiated Logout 1.0 §4 ("the OP MUST validate that it was the issuer of the ID Token")
/// with OIDC Core §2 and RFC 8725 §3.11 (explicit typing): a JWT of ours that is not an ID
/// token (`typ: at+jwt`), or one for an audience that is no registered client, is no hint —
/// nothing ends.
#[tokio::test]
async fn a_hint_that_is_not_our_id_token_for_a_registered_client_ends_nothing() {
    let app = TestApp::new().await;
    let answer = tokens(&app, "foreign-hint").await;
    let claims = payload(&field(&answer, "id_token"));
    let as_access_token = app.state.tokens.sign("at+jwt", &claims);
    let mut foreign = claims.clone();
    foreign["aud"] = json!("no-such-client");
    let for_nobody = app.state.tokens.sign("JWT", &foreign);
    let (mut browser, own) = app.signed_in("alice").await;
    for hint in [as_access_token, for_nobody, field(&answer, "access_token")] {
        let response = logout(&mut browser, &hint).await;
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{}",
            response.body
        );
    }
    for token in [field(&answer, "access_token"), own] {
        assert_eq!(
            app.get("/api/me", Some(&token)).await.status,
            StatusCode::OK,
            "nothing ended"
        );
    }
}

/// RFC 6749 §3.1.2 (an absolute URI, no fragment) and §4.1.2.1 (an invalid redirect URI gets no
/// redirect), RFC 9700 §4.1.1 (exact, whole-URI matching): a loopback URI with a newline
/// (`http://127.0.0.1:1/%0A` decodes to one), other control characters, a space, userinfo or a
/// fragment is refused with the error page before any code is stored — never a 500 when the
/// redirect is built.
#[tokio::test]
async fn a_redirect_uri_that_is_not_a_whole_uri_gets_an_error_page_not_a_500() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("whole-uri");
    for target in [
        "http://127.0.0.1:1/\n",
        "http://127.0.0.1:1/cb\r\nSet-Cookie: a=b",
        "http://127.0.0.1:1/cb\t",
        "http://127.0.0.1:1/c b",
        "http://127.0.0.1:1/caf\u{e9}",
        "http://user:pass@127.0.0.1:4711/callback",
        "http://127.0.0.1:4711/callback#fragment",
    ] {
        let query = authorize_query(&pkce, &[("redirect_uri", target)]);
        let response = authorize(&mut browser, &query).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{target:?}");
        assert!(response.header("location").is_none(), "{target:?}");
        assert!(response.body.contains("not registered"), "{target:?}");
    }
}

/// RFC 7662 §2.1 ("the authorization server … MAY limit which protected resources may ask") and
/// §4 ("to prevent token scanning attacks … require authorization to access this endpoint"):
/// `active: true` only to the token's own client or a registered resource server; any other
/// confidential client hears `{"active": false}` about a live token.
#[tokio::test]
async fn introspection_answers_active_only_to_the_tokens_client_or_a_resource_server() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let introspect = |token: String, caller: &'static str| {
        let app = &app;
        async move {
            let basic = (caller != POST_CLIENT).then_some((caller, CONFIDENTIAL_SECRET));
            let mut form = vec![("token", token.as_str())];
            if caller == POST_CLIENT {
                form.extend([
                    ("client_id", POST_CLIENT),
                    ("client_secret", CONFIDENTIAL_SECRET),
                ]);
            }
            post_form(app, "/oauth/introspect", &form, basic)
                .await
                .json()["active"]
                .clone()
        }
    };
    let public = tokens(&app, "introspect-others").await;
    let (code, pkce) = code_for_client(&app, "introspect-own", POST_CLIENT).await;
    let own = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CONFIDENTIAL_REDIRECT),
            ("code_verifier", &pkce.verifier),
            ("client_id", POST_CLIENT),
            ("client_secret", CONFIDENTIAL_SECRET),
        ],
        None,
    )
    .await
    .json();
    let machine = machine_token(&app).await.json();
    for (token, owner) in [
        (field(&public, "access_token"), CLIENT),
        (field(&public, "refresh_token"), CLIENT),
        (field(&own, "access_token"), POST_CLIENT),
        (field(&machine, "access_token"), MACHINE),
    ] {
        assert_eq!(
            introspect(token.clone(), CONFIDENTIAL).await,
            true,
            "resource server"
        );
        for caller in [REFRESH_ONLY, POST_CLIENT, MACHINE] {
            let expected = caller == owner;
            assert_eq!(
                introspect(token.clone(), caller).await,
                expected,
                "{caller} asking about {owner}'s token"
            );
        }
    }
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §6 ("The requested scope MUST NOT include any scope not originally granted … and
/// if omitted is treated as equal to the scope originally granted"): a refresh that asks for
/// less gets less — its `scope` and its ID token say so — and the family keeps the full scope
/// for the next refresh.
#[tokio::test]
async fn a_refresh_asking_for_a_narrower_scope_gets_that_scope() {
    let app = TestApp::new().await;
    let first = tokens(&app, "narrow").await;
    let narrowed = refresh_with_scope(&app, &field(&first, "refresh_token"), "profile").await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.body);
    let narrowed = narrowed.json();
    assert_eq!(narrowed["scope"], "profile");
    assert!(narrowed.get("id_token").is_none(), "no openid, no ID token");
    let full = refresh(&app, &field(&narrowed, "refresh_token"))
        .await
        .json();
    assert_eq!(full["scope"], "openid profile");
}

/// A refresh of the public client's `refresh_token` asking for `scope`.
async fn refresh_with_scope(app: &TestApp, refresh_token: &str, scope: &str) -> TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh_token),
            ("scope", scope),
        ],
        None,
    )
    .await
}

/// RFC 9068 §2.2.3 with RFC 7662 §2.2: introspection reports the token's own scope — after a
/// narrowing refresh, the narrower one, not the family's — and its own `jti`.
#[tokio::test]
async fn introspection_reports_the_access_tokens_own_scope() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let first = tokens(&app, "own-scope").await;
    let narrowed = refresh_with_scope(&app, &field(&first, "refresh_token"), "profile")
        .await
        .json();
    let access = field(&narrowed, "access_token");
    let answer = post_form(
        &app,
        "/oauth/introspect",
        &[("token", access.as_str())],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await
    .json();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["scope"], "profile", "{answer}");
    assert!(
        answer["jti"].as_str().is_some_and(|jti| !jti.is_empty()),
        "{answer}"
    );
}

/// RFC 6749 §6 (a wider scope MUST NOT be granted; §5.2 `invalid_scope`) — refused before the
/// family rotates: the refresh token that asked for too much still works, even after the grace
/// window, so the client keeps its session.
#[tokio::test]
async fn a_refresh_asking_for_a_wider_scope_is_invalid_scope_and_rotates_nothing() {
    let app = TestApp::new().await;
    let first = tokens(&app, "widen").await;
    let refresh_token = field(&first, "refresh_token");
    let wider = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &refresh_token),
            ("scope", "openid profile email"),
        ],
        None,
    )
    .await;
    assert_eq!(wider.status, StatusCode::BAD_REQUEST);
    assert_eq!(wider.error_code(), "invalid_scope");
    app.advance(std::time::Duration::from_secs(11));
    let again = refresh(&app, &refresh_token).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        app.get("/api/me", Some(&field(&again.json(), "access_token")))
            .await
            .status,
        StatusCode::OK
    );
}

/// RFC 6749 §2.2 ("The client identifier is … unique to the authorization server"): an
/// `OAUTH_CLIENTS_FILE` registering one id twice stops the server at start-up.
#[test]
fn two_registrations_under_one_client_id_are_refused_at_start() {
    let path = std::env::temp_dir().join(format!(
        "{}.json",
        crate::common::unique_name("duplicate-clients")
    ));
    let client =
        |uri: &str| json!({"client_id": "twice", "kind": "public", "redirect_uris": [uri]});
    let clients = json!([
        client("https://a.example/cb"),
        client("https://b.example/cb")
    ]);
    std::fs::write(&path, clients.to_string()).unwrap();
    let file = path.display().to_string();
    let error = Config::from_lookup(|name| (name == "OAUTH_CLIENTS_FILE").then(|| file.clone()))
        .expect_err("a duplicate client_id is refused");
    let message = error.to_string();
    assert!(
        message.contains("OAUTH_CLIENTS_FILE") && message.contains("client_id"),
        "{message}"
    );
    let _ = std::fs::remove_file(path);
}

/// Issue #32 point 6, RFC 8414 §3.3 and RFC 9068 §4: the issuer is configuration, never a
/// request's `Host` or `X-Forwarded-Proto` — a client choosing them would choose the `iss` a
/// relying party compares tokens with — and it is the `iss` of every access and ID token.
#[tokio::test]
async fn the_issuer_is_configured_never_taken_from_the_request() {
    let app = TestApp::new().await;
    let request = Request::get("/.well-known/openid-configuration")
        .header("host", "evil.test")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let discovery = app.send(request).await.json();
    let issuer = discovery["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        issuer, "http://127.0.0.1:3000",
        "LEPTOS_SITE_ADDR's default"
    );
    let answer = tokens(&app, "n").await;
    assert_eq!(payload(&field(&answer, "access_token"))["iss"], issuer);
    assert_eq!(payload(&field(&answer, "id_token"))["iss"], issuer);

    let public = TestApp::with_env(&[("PUBLIC_ORIGIN", "https://id.example.com")]).await;
    let discovery = public.get("/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.json()["issuer"], "https://id.example.com");
    let any = TestApp::with_env(&[("LEPTOS_SITE_ADDR", "0.0.0.0:8080")]).await;
    let discovery = any.get("/.well-known/openid-configuration", None).await;
    assert_eq!(discovery.json()["issuer"], "http://localhost:8080");
}
