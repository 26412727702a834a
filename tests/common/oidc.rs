//! Driving the OpenID Connect endpoints as a client would: PKCE pairs, the authorization
//! request through a browser's cookie jar, token requests as forms.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

use super::{Browser, TestApp, TestResponse};

pub const CLIENT: &str = "tokenflight-public";
pub const REDIRECT: &str = "http://127.0.0.1:4711/callback";
pub const HOST: &str = "127.0.0.1:3000";
pub const ISSUER: &str = "http://127.0.0.1:3000";

/// A confidential client, as `OAUTH_CLIENTS_FILE` would list it; a resource server, so
/// introspection answers it about any client's token.
pub const CONFIDENTIAL: &str = "backend";
pub const CONFIDENTIAL_SECRET: &str = "backend-secret-0123456789";
pub const CONFIDENTIAL_REDIRECT: &str = "https://backend.example/callback";
/// A confidential client registered for the refresh grant only.
pub const REFRESH_ONLY: &str = "refresh-only";
/// A confidential client registered for `client_secret_post` (RFC 6749 §2.3.1).
pub const POST_CLIENT: &str = "post-client";
/// A machine client: `client_credentials` only, no redirect URI (RFC 6749 §4.4).
pub const MACHINE: &str = "machine";
/// The resource indicator (RFC 8707) the resource server `CONFIDENTIAL` is registered with.
pub const RESOURCE: &str = "https://billing.example/api";
/// The one scope the machine client is registered for.
pub const MACHINE_SCOPE: &str = "items:read";

/// A `code_verifier` and its S256 `code_challenge`.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new(seed: &str) -> Self {
        let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(format!("verifier-{seed}")));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// Writes an `OAUTH_CLIENTS_FILE` with the confidential client; returns its path.
pub fn clients_file() -> String {
    let path = std::env::temp_dir().join(format!("{}.json", super::unique_name("clients")));
    let body = serde_json::json!([{
        "client_id": CONFIDENTIAL,
        "client_secret": CONFIDENTIAL_SECRET,
        "kind": "confidential",
        "redirect_uris": [CONFIDENTIAL_REDIRECT],
        "resource_server": true,
        "resource": RESOURCE,
    }, {
        "client_id": REFRESH_ONLY,
        "client_secret": CONFIDENTIAL_SECRET,
        "kind": "confidential",
        "redirect_uris": [CONFIDENTIAL_REDIRECT],
        "grant_types": ["refresh_token"],
    }, {
        "client_id": POST_CLIENT,
        "client_secret": CONFIDENTIAL_SECRET,
        "kind": "confidential",
        "token_endpoint_auth_method": "client_secret_post",
        "redirect_uris": [CONFIDENTIAL_REDIRECT],
        "scopes": ["openid", "profile", "email"],
    }, {
        "client_id": MACHINE,
        "client_secret": CONFIDENTIAL_SECRET,
        "kind": "confidential",
        "grant_types": ["client_credentials"],
        "redirect_uris": [],
        "scopes": [MACHINE_SCOPE],
    }]);
    std::fs::write(&path, body.to_string()).unwrap();
    path.display().to_string()
}

/// The authorization request's query for the public client, with `extra` parameters added.
pub fn authorize_query(pkce: &Pkce, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "the-state"),
        ("nonce", "the-nonce"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in extra {
        params.retain(|(existing, _)| existing != name);
        params.push((name, value));
    }
    params.retain(|(_, value)| !value.is_empty());
    serde_urlencoded::to_string(params).unwrap()
}

/// `GET /oauth/authorize?<query>` from this browser.
pub async fn authorize(browser: &mut Browser<'_>, query: &str) -> TestResponse {
    let request = Request::get(format!("/oauth/authorize?{query}"))
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    browser.send(request).await
}

/// The parameters of a redirect's `Location` query.
pub fn redirect_params(response: &TestResponse) -> Vec<(String, String)> {
    let location = response.header("location").expect("a redirect");
    let query = location.split_once('?').map_or("", |(_, query)| query);
    serde_urlencoded::from_str(query).unwrap()
}

pub fn param(response: &TestResponse, name: &str) -> Option<String> {
    redirect_params(response)
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// A code for a signed-in browser (alice), and the PKCE pair it is bound to.
pub async fn code_for(app: &TestApp, seed: &str) -> (String, Pkce) {
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new(seed);
    let response = authorize(&mut browser, &authorize_query(&pkce, &[])).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    (param(&response, "code").expect("a code"), pkce)
}

/// A code for a signed-in browser (alice) issued to `client_id` for the confidential clients'
/// redirect URI, and the PKCE pair it is bound to.
pub async fn code_for_client(app: &TestApp, seed: &str, client_id: &str) -> (String, Pkce) {
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new(seed);
    let query = authorize_query(
        &pkce,
        &[
            ("client_id", client_id),
            ("redirect_uri", CONFIDENTIAL_REDIRECT),
        ],
    );
    let response = authorize(&mut browser, &query).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    (param(&response, "code").expect("a code"), pkce)
}

/// `POST /oauth/<endpoint>` with a form body and, optionally, HTTP Basic client credentials.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> TestResponse {
    let mut request = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header(header::AUTHORIZATION, format!("Basic {credentials}"));
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    app.send(request.body(Body::from(body)).unwrap()).await
}

/// The `client_credentials` grant for the machine client, by HTTP Basic.
pub async fn machine_token(app: &TestApp) -> TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[("grant_type", "client_credentials")],
        Some((MACHINE, CONFIDENTIAL_SECRET)),
    )
    .await
}

/// The code exchange for the public client.
pub async fn exchange(app: &TestApp, code: &str, verifier: &str) -> TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
        None,
    )
    .await
}

/// The refresh grant for the public client.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    post_form(
        app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", refresh_token),
        ],
        None,
    )
    .await
}

/// Signs alice in through the code flow: the token response's JSON.
pub async fn tokens(app: &TestApp, seed: &str) -> serde_json::Value {
    let (code, pkce) = code_for(app, seed).await;
    let response = exchange(app, &code, &pkce.verifier).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

pub fn field(json: &serde_json::Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        .to_owned()
}
