//! Client authentication at the token, revocation and introspection endpoints (issue #32,
//! point 4): each client proves itself by the one method it is registered for —
//! `client_secret_basic`, `client_secret_post`, or nothing for a public client — and a request
//! uses one method only.

use axum::http::StatusCode;

use crate::common::{
    oidc::{
        clients_file, code_for_client, field, post_form, Pkce, CONFIDENTIAL, CONFIDENTIAL_REDIRECT,
        CONFIDENTIAL_SECRET, POST_CLIENT,
    },
    TestApp,
};

/// The token request of the code grant for a confidential client, its credentials in
/// `credentials` (body parameters) and `basic`.
async fn exchange_as(
    app: &TestApp,
    code: &str,
    pkce: &Pkce,
    credentials: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> crate::common::TestResponse {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CONFIDENTIAL_REDIRECT),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    form.extend_from_slice(credentials);
    post_form(app, "/oauth/token", &form, basic).await
}

/// RFC 6749 §2.3.1 ("the authorization server MAY support including the client credentials in
/// the request-body"): a client registered for `client_secret_post` gets its tokens with the
/// secret in the body, and revokes and introspects its own tokens the same way.
#[tokio::test]
async fn a_client_registered_for_client_secret_post_authenticates_in_the_body() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (code, pkce) = code_for_client(&app, "post", POST_CLIENT).await;
    let credentials = [
        ("client_id", POST_CLIENT),
        ("client_secret", CONFIDENTIAL_SECRET),
    ];
    let response = exchange_as(&app, &code, &pkce, &credentials, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let access = field(&response.json(), "access_token");
    let mut introspect = credentials.to_vec();
    introspect.push(("token", &access));
    let answer = post_form(&app, "/oauth/introspect", &introspect, None).await;
    assert_eq!(answer.json()["active"], true, "{}", answer.body);
    let mut revoke = credentials.to_vec();
    revoke.push(("token", &access));
    let revoked = post_form(&app, "/oauth/revoke", &revoke, None).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED,
        "the revocation by a client_secret_post client took effect"
    );
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §2.3 ("the authorization server MUST … [use] the authentication method registered
/// for the client"; RFC 7591 §2 `token_endpoint_auth_method`): a `client_secret_post` client is
/// refused by HTTP Basic, a `client_secret_basic` one in the body — `invalid_client`, even with
/// the right secret, and the code is not spent.
#[tokio::test]
async fn a_client_presenting_the_method_it_is_not_registered_for_is_invalid_client() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (code, pkce) = code_for_client(&app, "post-by-basic", POST_CLIENT).await;
    let by_basic = exchange_as(
        &app,
        &code,
        &pkce,
        &[],
        Some((POST_CLIENT, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(by_basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(by_basic.error_code(), "invalid_client");
    let (code_b, pkce_b) = code_for_client(&app, "basic-by-post", CONFIDENTIAL).await;
    let by_post = exchange_as(
        &app,
        &code_b,
        &pkce_b,
        &[
            ("client_id", CONFIDENTIAL),
            ("client_secret", CONFIDENTIAL_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(by_post.status, StatusCode::UNAUTHORIZED);
    assert_eq!(by_post.error_code(), "invalid_client");
    // The refusals spent nothing: each client's own method still redeems its code.
    let post = [
        ("client_id", POST_CLIENT),
        ("client_secret", CONFIDENTIAL_SECRET),
    ];
    assert_eq!(
        exchange_as(&app, &code, &pkce, &post, None).await.status,
        StatusCode::OK
    );
    let basic = Some((CONFIDENTIAL, CONFIDENTIAL_SECRET));
    assert_eq!(
        exchange_as(&app, &code_b, &pkce_b, &[], basic).await.status,
        StatusCode::OK
    );
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §2.3 ("The client MUST NOT use more than one authentication method in each
/// request"): HTTP Basic and a `client_secret` in the body at once is `invalid_request`.
#[tokio::test]
async fn two_client_authentication_methods_in_one_request_are_invalid_request() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (code, pkce) = code_for_client(&app, "two-methods", CONFIDENTIAL).await;
    let both = exchange_as(
        &app,
        &code,
        &pkce,
        &[("client_secret", CONFIDENTIAL_SECRET)],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(both.error_code(), "invalid_request");
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §2.3.1 and §2.1 (a public client holds no secret): the built-in public client
/// cannot be made to "authenticate" with a secret in the body.
#[tokio::test]
async fn a_public_client_presenting_a_secret_is_invalid_client() {
    let app = TestApp::new().await;
    let response = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "tokenflight-public"),
            ("client_secret", "anything-at-all-here"),
            ("refresh_token", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_client");
}
