//! Reading the server's answers: a protected response is a success, a rejected token (refresh and
//! retry) or a final error; a refresh answer is a token, a refusal or a transient failure.

use super::challenge::parse_bearer_challenge;
use super::{ApiResponse, AuthError, LoginError, RefreshError, TransportError};
use crate::api::auth::{codes, ApiErrorBody, TokenResponse};

/// How a response is handled.
pub(super) enum Verdict {
    Success,
    TokenRejected,
    Fail(AuthError),
}

/// Sorts an API response. The `WWW-Authenticate` challenge decides, not the status alone:
///
/// * 401 with `error="invalid_token"`: refresh and retry.
/// * 401 with no error code: RFC 6750 means "no credentials were sent", but the coordinator
///   always sends one, so a proxy or a lax server dropped it. Treated like `invalid_token`:
///   the single retry bounds it, so it cannot loop.
/// * 401 with another code (`invalid_request`): an ordinary [`AuthError::Http`].
/// * 403 with `insufficient_scope` (in the challenge or the body): [`AuthError::Forbidden`],
///   never a refresh — a new token carries the same roles.
pub(super) fn classify_response(response: &ApiResponse) -> Verdict {
    if response.is_success() {
        return Verdict::Success;
    }
    let challenge = response
        .www_authenticate
        .as_deref()
        .and_then(parse_bearer_challenge);
    let challenge_error = challenge.as_ref().and_then(|c| c.error.as_deref());
    let body: Option<ApiErrorBody> = serde_json::from_str(&response.body).ok();
    let body_code = body.as_ref().map(|b| b.error.as_str());
    match response.status {
        401 if challenge_error.is_none_or(|e| e == codes::INVALID_TOKEN) => Verdict::TokenRejected,
        403 if challenge_error == Some(codes::INSUFFICIENT_SCOPE)
            || body_code == Some(codes::INSUFFICIENT_SCOPE) =>
        {
            Verdict::Fail(AuthError::Forbidden)
        }
        status @ 500..=599 => Verdict::Fail(AuthError::Transient(format!(
            "HTTP {status}{}",
            body.map(|b| format!(": {}", b.message)).unwrap_or_default()
        ))),
        status => Verdict::Fail(AuthError::Http {
            status,
            code: body
                .as_ref()
                .map(|b| b.error.clone())
                .or_else(|| challenge.as_ref().and_then(|c| c.error.clone())),
            message: body
                .map(|b| b.message)
                .or_else(|| challenge.and_then(|c| c.description)),
        }),
    }
}

/// Sorts a refresh answer: 2xx with a token; 400/401 (`invalid_grant`) refused; anything else
/// (5xx, network, timeout, a garbled body) transient, so a flaky network never signs anyone out.
pub(super) fn classify_refresh(
    answer: Result<ApiResponse, TransportError>,
) -> Result<TokenResponse, RefreshError> {
    let response = answer.map_err(|e| RefreshError::Transient(e.to_string()))?;
    match response.status {
        200..=299 => serde_json::from_str(&response.body)
            .map_err(|e| RefreshError::Transient(format!("unreadable refresh response: {e}"))),
        400 | 401 => Err(RefreshError::SessionExpired),
        status => Err(RefreshError::Transient(format!(
            "refresh answered HTTP {status}"
        ))),
    }
}

/// Sorts a login answer: 200 with a token, or why not. Only the error code counts, never the
/// message, so the server's wording can change without breaking the form.
pub fn classify_login(
    answer: Result<ApiResponse, TransportError>,
) -> Result<TokenResponse, LoginError> {
    let response = answer.map_err(|_| LoginError::Unavailable)?;
    let status = response.status;
    if response.is_success() {
        return serde_json::from_str(&response.body).map_err(|_| LoginError::Unexpected { status });
    }
    let code = serde_json::from_str::<ApiErrorBody>(&response.body).map(|body| body.error);
    Err(match (status, code.as_deref()) {
        (_, Ok(codes::INVALID_CREDENTIALS)) => LoginError::InvalidCredentials,
        (_, Ok(codes::TOO_MANY_ATTEMPTS)) => LoginError::TooManyAttempts,
        (500..=599, _) => LoginError::Unavailable,
        _ => LoginError::Unexpected { status },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, www_authenticate: Option<String>, body: &str) -> ApiResponse {
        ApiResponse {
            status,
            www_authenticate,
            body: body.into(),
            ..ApiResponse::default()
        }
    }

    #[test]
    fn other_statuses_become_http_or_transient_errors() {
        let challenge = Some(r#"Bearer error="invalid_request""#.to_string());
        let bad_request = classify_response(&response(401, challenge, ""));
        assert!(matches!(
            bad_request,
            Verdict::Fail(AuthError::Http { status: 401, code: Some(ref c), .. }) if c == "invalid_request"
        ));
        let body = r#"{"error":"not_found","message":"No such item"}"#;
        let not_found = classify_response(&response(404, None, body));
        let expected = AuthError::Http {
            status: 404,
            code: Some("not_found".into()),
            message: Some("No such item".into()),
        };
        assert!(matches!(not_found, Verdict::Fail(ref e) if *e == expected));
        let garbled = classify_response(&response(502, None, "<html>"));
        assert!(matches!(garbled, Verdict::Fail(AuthError::Transient(_))));
        let scope_in_body = r#"{"error":"insufficient_scope","message":"admins only"}"#;
        let forbidden = classify_response(&response(403, None, scope_in_body));
        assert!(matches!(forbidden, Verdict::Fail(AuthError::Forbidden)));
    }

    #[test]
    fn a_login_answer_is_sorted_by_its_error_code() {
        let refused = |status, code: &str| {
            let body = format!(r#"{{"error":"{code}","message":"any words"}}"#);
            classify_login(Ok(response(status, None, &body))).unwrap_err()
        };
        assert_eq!(
            refused(401, "invalid_credentials"),
            LoginError::InvalidCredentials
        );
        assert_eq!(
            refused(429, "too_many_attempts"),
            LoginError::TooManyAttempts
        );
        assert_eq!(
            refused(503, "temporarily_unavailable"),
            LoginError::Unavailable
        );
        assert_eq!(
            refused(415, "unsupported_media_type"),
            LoginError::Unexpected { status: 415 }
        );
        let offline = classify_login(Err(TransportError::Network("down".into())));
        assert_eq!(offline.unwrap_err(), LoginError::Unavailable);
        let garbled = classify_login(Ok(response(200, None, "<html>")));
        assert_eq!(garbled.unwrap_err(), LoginError::Unexpected { status: 200 });
        let body = r#"{"access_token":"t","token_type":"Bearer","expires_in":60,"user":{"id":"u1","username":"alice","roles":["user"]}}"#;
        let tokens = classify_login(Ok(response(200, None, body))).expect("a token");
        assert_eq!(tokens.user.username, "alice");
    }
}
