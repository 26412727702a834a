//! Machine clients (issue #32, point 4): the `client_credentials` grant is for confidential
//! clients registered for it, and a machine token — no user behind it — is refused wherever a
//! user is expected.

use axum::http::StatusCode;

use crate::common::{
    oidc::{
        clients_file, field, machine_token, post_form, CLIENT, CONFIDENTIAL, CONFIDENTIAL_SECRET,
        MACHINE,
    },
    TestApp,
};

/// RFC 6749 §4.4 ("The client credentials grant type MUST only be used by confidential
/// clients") and §5.2 (`unauthorized_client`): the public client, and a confidential one not
/// registered for the grant, get no machine token.
#[tokio::test]
async fn client_credentials_is_refused_to_public_and_unregistered_clients() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let grant = [("grant_type", "client_credentials")];
    let public = post_form(
        &app,
        "/oauth/token",
        &[grant[0], ("client_id", CLIENT)],
        None,
    )
    .await;
    assert_eq!(
        public.error_code(),
        "unauthorized_client",
        "{}",
        public.body
    );
    let unregistered = post_form(
        &app,
        "/oauth/token",
        &grant,
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(unregistered.error_code(), "unauthorized_client");
    let wrong_secret = post_form(
        &app,
        "/oauth/token",
        &grant,
        Some((MACHINE, "guess-guess-guess")),
    )
    .await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    let _ = std::fs::remove_file(file);
}

/// RFC 9068 §5 ("the authorization server should ensure that … the resource server cannot
/// confuse a client with a resource owner") and RFC 6750 §3.1: a machine token names no user
/// and no session, so the user API (`/api/me`, userinfo) refuses it with 401.
#[tokio::test]
async fn a_machine_token_is_refused_where_a_user_is_expected() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let access = field(&machine_token(&app).await.json(), "access_token");
    for path in ["/api/me", "/oauth/userinfo", "/api/sessions"] {
        assert_eq!(
            app.get(path, Some(&access)).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §4.4.2 and §5.2 (`invalid_scope`): no scope is defined for machine clients, so
/// asking for one (say `openid`, to get an ID token without a user) is refused.
#[tokio::test]
async fn a_machine_client_asking_for_a_scope_is_invalid_scope() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let response = post_form(
        &app,
        "/oauth/token",
        &[("grant_type", "client_credentials"), ("scope", "openid")],
        Some((MACHINE, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(response.error_code(), "invalid_scope");
    let _ = std::fs::remove_file(file);
}
