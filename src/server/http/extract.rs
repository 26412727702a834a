//! Extractors that turn a request into typed input or into an [`ApiError`] — never into axum's
//! plain-text rejections, so every failure has our JSON shape.

use axum::{
    extract::{
        rejection::JsonRejection, FromRef, FromRequest, FromRequestParts, OriginalUri, Request,
    },
    http::{header::AUTHORIZATION, request::Parts, HeaderMap, StatusCode},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::auth::User;
use crate::server::http::{dpop, error::ApiError, state::IdpState};

/// `axum::Json`, with rejections mapped to [`ApiError`]: a wrong content type is 415, broken
/// JSON 400, a body of the wrong shape 422, an oversized body 413.
///
/// Every request body of this API is a JSON object, and says so in the OpenAPI document, so
/// anything else is a 422 — serde alone would read a struct from an array (`[]` was accepted
/// as an empty `DemoFaults`). Numbers are read as JSON Schema reads them: `10.0` is the
/// integer 10, as the document's `"type": "integer"` promises (schemathesis sent it).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut body = match axum::Json::<Value>::from_request(request, state).await {
            Ok(axum::Json(body)) => body,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(ApiError::UnsupportedMediaType)
            }
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge)
            }
            Err(_) => return Err(ApiError::InvalidJson),
        };
        if !body.is_object() {
            return Err(ApiError::Validation(
                "the request body must be a JSON object".to_owned(),
            ));
        }
        integral_numbers_as_integers(&mut body);
        serde_json::from_value(body).map(Self).map_err(|error| {
            let detail = error.to_string();
            tracing::debug!(%detail, "request body of the wrong shape");
            ApiError::Validation(shape_message(&detail))
        })
    }
}

/// Rewrites every number with no fractional part (`10.0`, `1e3`) as an integer, so serde's
/// integer fields take what JSON Schema calls an integer. Out-of-range ones stay as they are
/// (and fail as the wrong type).
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
                if float.fract() == 0.0 && float.abs() < 2f64.powi(53) {
                    *number = serde_json::Number::from(float as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// The 422 message for a body of the wrong shape. serde's own text quotes the input (values of
/// any length) and our type names (`struct DemoFaults`); only a missing field's name, which is
/// ours, is repeated (OWASP Error Handling cheat sheet: no echo of input, no internals).
fn shape_message(detail: &str) -> String {
    let missing = detail
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field)
        .filter(|field| {
            field.len() <= 32 && field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        });
    match missing {
        Some(field) => format!("the request body has the wrong shape: missing field `{field}`"),
        None => {
            "the request body has the wrong shape: a field is missing, unknown or of the wrong type"
                .to_owned()
        }
    }
}

/// A request carrying a valid access token whose session is still alive.
///
/// The token is read from the `Authorization: Bearer` header only — never from the query string,
/// where it would end up in logs and `Referer` headers.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user the token's `sub` names, as the user table has them now (current roles).
    pub user: User,
    /// The token's `sid`: the caller's live session, the one a logout or "sign out other
    /// devices" spares or ends.
    pub session_id: String,
    /// The scopes the token was granted (RFC 9068 §2.2.3); `None` for the first-party
    /// session, whose roles alone decide.
    pub scope: Option<String>,
}

impl Authenticated {
    /// `403 insufficient_scope` (naming `scope`) unless the token was granted `scope`
    /// (RFC 6750 §3.1). A first-party token has every scope.
    pub fn require_scope(&self, scope: &'static str) -> Result<(), ApiError> {
        match &self.scope {
            Some(granted) if !granted.split(' ').any(|given| given == scope) => {
                Err(ApiError::InsufficientScope(scope))
            }
            _ => Ok(()),
        }
    }

    /// `403 insufficient_scope` unless the user has `role`.
    pub fn require_role(&self, role: &'static str) -> Result<(), ApiError> {
        if self.user.has_role(role) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(role))
        }
    }
}

/// How an access token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750 §2.1), or a form body's `access_token` (§2.2).
    Bearer,
    /// `Authorization: DPoP`, with a proof in the `DPoP` header (RFC 9449 §7.1).
    Dpop,
}

/// The access token of the `Authorization` header and its scheme, unchecked: `Bearer` or
/// `DPoP`. No header, or another scheme (Basic, …), is no token at all; a header that is not
/// text is a malformed one.
pub fn access_token(headers: &HeaderMap) -> Result<(Scheme, &str), ApiError> {
    let header = headers.get(AUTHORIZATION).ok_or(ApiError::MissingToken)?;
    let value = header.to_str().map_err(|_| ApiError::InvalidToken)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok((Scheme::Bearer, token.trim()))
        }
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("dpop") => {
            Ok((Scheme::Dpop, token.trim()))
        }
        _ => Err(ApiError::MissingToken),
    }
}

/// The token of [`access_token`], whatever its scheme (the demo's fault switch reads whose
/// session a request is).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    access_token(headers).map(|(_, token)| token)
}

/// The request an access token came with, for the DPoP proof that must name it.
pub struct Presentation<'a> {
    /// How the token came.
    pub scheme: Scheme,
    /// The request's headers (the `DPoP` proof).
    pub headers: &'a HeaderMap,
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The request's path (`htu` is the issuer and this).
    pub path: &'a str,
}

/// Generic over the host's state: any state that can give an [`IdpState`] (axum's `FromRef`).
impl<S> FromRequestParts<S> for Authenticated
where
    IdpState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = IdpState::from_ref(state);
        let (scheme, token) = access_token(&parts.headers)?;
        // The path as the client sent it, before a host router's `nest` cut its prefix off:
        // the proof's `htu` names that.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path());
        let presentation = Presentation {
            scheme,
            headers: &parts.headers,
            method: parts.method.as_str(),
            path,
        };
        Self::from_access_token(&state, token, &presentation).await
    }
}

impl Authenticated {
    /// The caller behind an access token however it was sent (the header; userinfo also takes
    /// it in a form body, RFC 6750 §2.2): valid, of a live session of its `sub`, of a user who
    /// still exists — and, if it is bound to a DPoP key, presented with a proof of that key for
    /// this very request (RFC 9449 §7): a bound token sent as `Bearer` is refused.
    pub async fn from_access_token(
        state: &IdpState,
        token: &str,
        presented: &Presentation<'_>,
    ) -> Result<Self, ApiError> {
        let claims = state.tokens.verify(token).map_err(|error| {
            tracing::debug!(%error, "access token refused");
            ApiError::InvalidToken
        })?;
        match (&claims.cnf, presented.scheme) {
            (Some(cnf), Scheme::Dpop) => dpop::resource_proof(
                state,
                presented.headers,
                presented.method,
                presented.path,
                token,
                &cnf.jkt,
            )?,
            (Some(_), Scheme::Bearer) => {
                tracing::debug!("DPoP-bound access token sent as Bearer");
                return Err(ApiError::InvalidToken);
            }
            // §7.2: the DPoP scheme is for bound tokens; a bearer token says it is one.
            (None, Scheme::Dpop) => return Err(ApiError::InvalidDpopProof),
            (None, Scheme::Bearer) => {}
        }
        state
            .families
            .check_access(&claims.sid, claims.ver)
            .map_err(|error| {
                tracing::debug!(%error, "access token's session refused");
                ApiError::InvalidToken
            })?;
        // RFC 9068 §4 leaves "is this token still backed?" to the resource server: only while
        // its `sid` names a live session of its `sub` (memory, or the store once per session).
        if !state.families.belongs_to(&claims.sid, &claims.sub).await? {
            tracing::debug!("access token's sid names no live session of its sub");
            return Err(ApiError::InvalidToken);
        }
        let user = state
            .users
            .by_id(&claims.sub)
            .ok_or(ApiError::InvalidToken)?;
        Ok(Self {
            user,
            session_id: claims.sid.clone(),
            scope: claims.scope.clone(),
        })
    }
}
