//! RFC 8707 resource indicators (issue #32 point 2): a client names the resource server its
//! tokens are for and gets tokens whose `aud` is it — which this provider's own API refuses —
//! only for resources registered here; a code or a refresh keeps the resource it was issued
//! for.

use axum::http::StatusCode;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;

use crate::common::{
    oidc::{
        authorize, authorize_query, clients_file, field, param, post_form, refresh, Pkce, CLIENT,
        CONFIDENTIAL, CONFIDENTIAL_SECRET, MACHINE, REDIRECT, RESOURCE,
    },
    TestApp, TestResponse,
};

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The public client's code flow for alice with `extra` authorization parameters, exchanged
/// with `exchange_extra`.
async fn code_flow(
    app: &TestApp,
    extra: &[(&str, &str)],
    exchange_extra: &[(&str, &str)],
) -> TestResponse {
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("resource");
    let answered = authorize(&mut browser, &authorize_query(&pkce, extra)).await;
    let code = param(&answered, "code").expect("a code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    form.extend_from_slice(exchange_extra);
    post_form(app, "/oauth/token", &form, None).await
}

/// RFC 8707 §2.1–2.2: tokens for a registered resource say so in `aud`, keep it across a
/// refresh, are refused by this API (they are not for it), and are introspected for the
/// resource server as active with that `aud`.
#[tokio::test]
async fn a_token_asked_for_a_resource_is_for_that_resource_only() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let answer = code_flow(&app, &[("resource", RESOURCE)], &[("resource", RESOURCE)]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let tokens = answer.json();
    let access = field(&tokens, "access_token");
    assert_eq!(payload(&access)["aud"], RESOURCE);
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED,
        "not for this API"
    );
    let introspected = post_form(
        &app,
        "/oauth/introspect",
        &[("token", &access)],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await
    .json();
    assert_eq!(
        (
            introspected["active"].as_bool(),
            introspected["aud"].as_str()
        ),
        (Some(true), Some(RESOURCE))
    );

    let refreshed = refresh(&app, &field(&tokens, "refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(
        payload(&field(&refreshed.json(), "access_token"))["aud"],
        RESOURCE
    );
    let elsewhere = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", &field(&refreshed.json(), "refresh_token")),
            ("resource", "tokenflight-api"),
        ],
        None,
    )
    .await;
    assert_eq!(elsewhere.error_code(), "invalid_target");

    let plain = code_flow(&app, &[], &[]).await.json();
    assert_eq!(
        payload(&field(&plain, "access_token"))["aud"],
        "tokenflight-api"
    );
    let _ = std::fs::remove_file(file);
}

/// RFC 8707 §2: a resource that is not registered is `invalid_target` — through the redirect
/// at the authorization endpoint, at the token endpoint for a machine client — and a code
/// exchanged for another resource than it was issued for is refused.
#[tokio::test]
async fn an_unregistered_or_changed_resource_is_refused() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("unregistered");
    let query = authorize_query(&pkce, &[("resource", "https://evil.example/")]);
    let refused = authorize(&mut browser, &query).await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_target"));

    let changed = code_flow(
        &app,
        &[("resource", RESOURCE)],
        &[("resource", "tokenflight-api")],
    )
    .await;
    assert_eq!(changed.error_code(), "invalid_grant", "{}", changed.body);

    let machine = |resource: &'static str| {
        let app = &app;
        async move {
            post_form(
                app,
                "/oauth/token",
                &[("grant_type", "client_credentials"), ("resource", resource)],
                Some((MACHINE, CONFIDENTIAL_SECRET)),
            )
            .await
        }
    };
    let for_billing = machine(RESOURCE).await;
    assert_eq!(for_billing.status, StatusCode::OK, "{}", for_billing.body);
    assert_eq!(
        payload(&field(&for_billing.json(), "access_token"))["aud"],
        RESOURCE
    );
    assert_eq!(
        machine("https://evil.example/").await.error_code(),
        "invalid_target"
    );
    let _ = std::fs::remove_file(file);
}
