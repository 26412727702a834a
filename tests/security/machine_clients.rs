//! Machine clients (issue #32, point 4): the `client_credentials` grant is for confidential
//! clients registered for it, and a machine token — no user behind it — is refused wherever a
//! user is expected.

use axum::http::StatusCode;

use crate::common::{
    oidc::{
        authorize, authorize_query, clients_file, field, machine_token, param, post_form, Pkce,
        CLIENT, CONFIDENTIAL, CONFIDENTIAL_REDIRECT, CONFIDENTIAL_SECRET, MACHINE, MACHINE_SCOPE,
        POST_CLIENT,
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

/// RFC 6749 §4.4.2, §3.3 and §5.2 (`invalid_scope`), RFC 9068 §2.2.3: a machine client gets
/// its own registered scopes — all of them when it asks for none, those of its request it is
/// registered for — and asking only for others (say `openid`, for an ID token without a user)
/// is refused.
#[tokio::test]
async fn a_machine_client_gets_only_its_registered_scopes() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let ask = |scope: &'static str| {
        let app = &app;
        async move {
            let mut form = vec![("grant_type", "client_credentials")];
            if !scope.is_empty() {
                form.push(("scope", scope));
            }
            post_form(
                app,
                "/oauth/token",
                &form,
                Some((MACHINE, CONFIDENTIAL_SECRET)),
            )
            .await
        }
    };
    for scope in ["", "items:read admin"] {
        let answer = ask(scope).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.json()["scope"], MACHINE_SCOPE, "asked {scope:?}");
        let access = field(&answer.json(), "access_token");
        assert_eq!(payload(&access)["scope"], MACHINE_SCOPE);
    }
    for scope in ["openid", "admin"] {
        assert_eq!(ask(scope).await.error_code(), "invalid_scope", "{scope}");
    }
    let _ = std::fs::remove_file(file);
}

/// Issue #32 point 3 (`scopes` per client), RFC 6749 §3.3: a user's client is granted those of
/// the scopes it asks for that it is registered for, and says so in the token response.
#[tokio::test]
async fn a_client_is_granted_only_the_scopes_it_is_registered_for() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("registered-scopes");
    let ask = |scope| {
        authorize_query(
            &pkce,
            &[
                ("client_id", POST_CLIENT),
                ("redirect_uri", CONFIDENTIAL_REDIRECT),
                ("scope", scope),
            ],
        )
    };
    let narrowed = authorize(&mut browser, &ask("openid email sessions")).await;
    let code = param(&narrowed, "code").expect("a code for what is allowed");
    let answer = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", POST_CLIENT),
            ("client_secret", CONFIDENTIAL_SECRET),
            ("code", &code),
            ("redirect_uri", CONFIDENTIAL_REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["scope"], "openid email");
    let refused = authorize(&mut browser, &ask("sessions admin")).await;
    assert_eq!(param(&refused, "error").as_deref(), Some("invalid_scope"));
    let _ = std::fs::remove_file(file);
}

/// A JWT's claims, unverified.
fn payload(token: &str) -> serde_json::Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
