//! Login, refresh and logout: the endpoints a cookie authenticates.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    api::auth::{paths, LoginRequest, TokenResponse, User},
    server::{
        core::{
            families::{BrowserRecord, Grant, RefreshRefusal},
            store::StoreError,
            tokens::IssuedTo,
        },
        http::{
            client::current_client,
            cookies::{clear_refresh_cookie, read_refresh_cookie, set_refresh_cookie},
            error::ApiError,
            extract::{ApiJson, Authenticated},
            openapi::schemas,
            session_records::SessionRecords,
            state::IdpState,
            user_agent,
        },
    },
};

/// What tower-sessions keeps for a signed-in browser: enough to render the first paint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BrowserSession {
    /// The user as they were at sign-in, so the first paint shows them without a lookup.
    pub user: User,
    /// The refresh family this browser belongs to; the first paint's access token is minted for
    /// it, and only while it lives.
    pub session_id: String,
}

const BROWSER_SESSION_KEY: &str = "auth";

/// Longest username considered; RFC 5321 caps an e-mail address at 254, so 256 fits every
/// real name and keeps attacker-chosen throttle keys small.
pub const MAX_USERNAME_CHARS: usize = 256;

/// `POST /api/auth/login`.
#[utoipa::path(
    post, path = paths::LOGIN, tag = "auth", request_body = schemas::LoginRequest, security(()),
    responses(
        (status = 200, description = "Signed in: an access token, and the refresh credential in the `tf_refresh` HttpOnly cookie", body = schemas::TokenResponse),
        (status = 400, description = "`invalid_json`, `ambiguous_cookies`, or `validation_failed` for a username longer than 256 characters", body = schemas::ApiErrorBody),
        (status = 401, description = "`invalid_credentials`", body = schemas::ApiErrorBody),
        (status = 403, description = "`cross_site_request`: `Sec-Fetch-Site` (or `Origin`) does not say this site", body = schemas::ApiErrorBody),
        (status = 413, description = "`payload_too_large`", body = schemas::ApiErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = schemas::ApiErrorBody),
        (status = 422, description = "`validation_failed`: the body is not an object of this shape", body = schemas::ApiErrorBody),
        (status = 429, description = "`too_many_attempts`: this account or address is throttled; retry after `Retry-After`", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn login(
    State(state): State<IdpState>,
    session: Session,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let (tokens, grant) = sign_in(&state, &session, request, &headers).await?;
    Ok(token_response(tokens, &grant))
}

/// Checks a password and starts a session for the browser that sent `headers`. Shared by the
/// JSON endpoint and the login form.
pub async fn sign_in(
    state: &IdpState,
    session: &Session,
    LoginRequest { username, password }: LoginRequest,
    headers: &HeaderMap,
) -> Result<(TokenResponse, Grant), ApiError> {
    // Checked before anything is keyed on it: no throttle entry, log line or hash per megabyte.
    if username.chars().count() > MAX_USERNAME_CHARS {
        return Err(ApiError::BadField("the username is too long"));
    }
    let account = username.trim().to_lowercase();
    let client = current_client();
    // Counted before the (slow) hash, so parallel guesses cannot all slip past the limit; a
    // store that cannot count the attempt refuses it.
    let allowed = state
        .throttle
        .begin_attempt(&account, client)
        .await
        .map_err(store_unavailable)?;
    allowed.map_err(|retry_after_secs| {
        metrics::counter!("tokenflight_logins_total", "outcome" => "throttled").increment(1);
        ApiError::TooManyAttempts { retry_after_secs }
    })?;
    let checked = state
        .users
        .verify(&account, password, state.config.login_queue_timeout)
        .await;
    let Ok(checked) = checked else {
        metrics::counter!("tokenflight_logins_total", "outcome" => "unavailable").increment(1);
        tracing::warn!("sign-in refused: every password-hashing slot stayed busy");
        state.throttle.abandon_attempt(&account, client).await?;
        return Err(ApiError::Unavailable);
    };
    let Some(user) = checked else {
        // Never the name as typed: people type passwords into that field.
        let logged = state.users.log_name(&account);
        tracing::info!(account = %logged, %client, "sign-in failed");
        state
            .throttle
            .record_failure(&account)
            .await
            .map_err(store_unavailable)?;
        metrics::counter!("tokenflight_logins_total", "outcome" => "invalid_credentials")
            .increment(1);
        return Err(ApiError::InvalidCredentials);
    };
    state
        .throttle
        .record_success(&account, client)
        .await
        .map_err(store_unavailable)?;
    let started = start_session(state, session, &user, user_agent::describe(headers)).await;
    let outcome = if started.is_ok() {
        "success"
    } else {
        "unavailable"
    };
    metrics::counter!("tokenflight_logins_total", "outcome" => outcome).increment(1);
    let grant = started?;
    tracing::info!(user = %user.username, session_id = %grant.session_id, "signed in");
    Ok((tokens_for(state, user, &grant), grant))
}

/// Ends this browser's previous session and starts a new one, in the store.
async fn start_session(
    state: &IdpState,
    session: &Session,
    user: &User,
    user_agent: Option<String>,
) -> Result<Grant, ApiError> {
    // A new login in this browser ends the previous session there.
    if let Some(previous) = browser_session(session).await {
        revoke(state, &previous.session_id).await?;
    }
    // A fresh session id on every login: no session fixation.
    session.cycle_id().await.map_err(unavailable)?;
    let grant = state.families.start(&user.id, user_agent).await?;
    remember_browser_session(state, session, user, &grant).await?;
    Ok(grant)
}

/// `POST /api/auth/refresh`: exchanges the refresh cookie for a new access token.
#[utoipa::path(
    post, path = paths::REFRESH, tag = "auth", security(("refresh_cookie" = [])),
    responses(
        (status = 200, description = "A new access token; the refresh credential rotated (or, for a grace replay, the current one again) in the `tf_refresh` cookie", body = schemas::TokenResponse),
        (status = 400, description = "`invalid_grant`: the refresh cookie is missing, unknown, expired, revoked or reused (the cookie is cleared); `ambiguous_cookies`: two cookies of one name", body = schemas::ApiErrorBody),
        (status = 403, description = "`cross_site_request`: `Sec-Fetch-Site` (or `Origin`) does not say this site", body = schemas::ApiErrorBody),
        (status = 413, description = "`payload_too_large`", body = schemas::ApiErrorBody),
        (status = 415, description = "`unsupported_media_type`: a body that is not `application/json`", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<IdpState>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let presented = read_refresh_cookie(&headers).ok_or(ApiError::InvalidGrant)?;
    let record = new_browser_session(&state, &session, &presented).await?;
    let grant = match state
        .families
        .refresh_attaching(&presented, record.as_ref())
        .await
    {
        Ok(grant) => grant,
        Err(RefreshRefusal::Unavailable | RefreshRefusal::StoreUnavailable) => {
            metrics::counter!("tokenflight_refreshes_total", "outcome" => "unavailable")
                .increment(1);
            if record.is_some() {
                // Best effort: the record made for this refresh names no family yet.
                let _ = session.flush().await;
            }
            return Err(ApiError::Unavailable);
        }
        Err(refusal) => {
            if refusal != RefreshRefusal::Reused {
                metrics::counter!("tokenflight_refreshes_total", "outcome" => "refused")
                    .increment(1);
            }
            tracing::info!(%refusal, "refresh refused");
            // Best effort: the refusal must reach the client even if the store hiccups.
            let _ = session.flush().await;
            let mut response = ApiError::InvalidGrant.into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, clear_refresh_cookie());
            return Ok(response);
        }
    };
    let user = state
        .users
        .by_id(&grant.user_id)
        .ok_or(ApiError::InvalidGrant)?;
    let tokens = tokens_for(&state, user, &grant);
    Ok(token_response(tokens, &grant))
}

/// Keeps the browser session in step with the family a refresh names (the session cookie may
/// have been lost while the family lived on, or never kept, or name another session): the
/// browser gets a record naming this family under a new id, which the refresh creates and
/// points the family at (dropping the one it replaces) in the family's own write, so a refresh
/// is one store write whatever the browser kept. The record, if one was made.
async fn new_browser_session(
    state: &IdpState,
    session: &Session,
    presented: &str,
) -> Result<Option<BrowserRecord>, ApiError> {
    let Some(session_id) = state.families.session_of(presented) else {
        return Ok(None); // forged or malformed: the refresh refuses it
    };
    // The browser session follows the family under a new id on every refresh (OWASP Session
    // Management cheat sheet: renew the id on any privilege change). A `tf_session` naming
    // another session — another user's, planted next to the victim's refresh cookie — is
    // emptied first, never adopted: the victim's session is never written under an id the
    // planter knows (session fixation), and the planted id names nothing afterwards.
    let (user, in_step) = match browser_session(session).await {
        Some(browser) if browser.session_id == session_id => (browser.user, true),
        other => {
            if other.is_some() {
                session.clear().await;
            }
            // The record shows the family's user: one read, beside the writer.
            let Some(user) = state
                .families
                .owner(&session_id)
                .await?
                .and_then(|user_id| state.users.by_id(&user_id))
            else {
                return Ok(None); // no such session: the refresh refuses it
            };
            (user, false)
        }
    };
    // Out of step, the old id names another session or nothing: it dies at once, whatever the
    // refresh comes to.
    if !in_step && session.id().is_some() {
        session.cycle_id().await.map_err(unavailable)?;
    }
    let record = BrowserSession { user, session_id };
    // `save` creates the record, since the id is unset (`cycle_id`, or a browser without a
    // session): that assigns its new id, which the refresh writes into the family, and the
    // record itself is created by that same write. In step, the old id is the family's own
    // record, which that write drops: `cycle_id`'s delete is held back too.
    let held = SessionRecords::holding_back(async {
        if in_step {
            session.cycle_id().await?;
        }
        session.insert(BROWSER_SESSION_KEY, record).await?;
        session.save().await
    })
    .await
    .map_err(unavailable)?;
    Ok(held.created.map(|(id, record)| BrowserRecord {
        id,
        record,
        replaces: held.deleted,
    }))
}

/// `POST /api/auth/logout`: revokes the session server-side and clears the cookies. Always 204,
/// so signing out twice is harmless.
#[utoipa::path(
    post, path = paths::LOGOUT, tag = "auth", security((), ("refresh_cookie" = [])),
    responses(
        (status = 204, description = "Signed out (also when already signed out): the session is revoked and the cookies cleared"),
        (status = 400, description = "`ambiguous_cookies`: two cookies of one of our names", body = schemas::ApiErrorBody),
        (status = 403, description = "`cross_site_request`: `Sec-Fetch-Site` (or `Origin`) does not say this site", body = schemas::ApiErrorBody),
        (status = 413, description = "`payload_too_large`", body = schemas::ApiErrorBody),
        (status = 415, description = "`unsupported_media_type`: a body that is not `application/json`", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn logout(
    State(state): State<IdpState>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let from_cookie =
        read_refresh_cookie(&headers).and_then(|token| state.families.session_of(&token));
    let from_browser = browser_session(&session).await.map(|s| s.session_id);
    for session_id in from_cookie.iter().chain(from_browser.iter()) {
        revoke(&state, session_id).await?;
    }
    session.flush().await.map_err(unavailable)?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_refresh_cookie());
    Ok(response)
}

/// The signed-in user of this browser and their session, if it is still alive, with an access
/// token for it: the page render hands both to the browser (`first_paint`), and server
/// functions called during the render act for the user.
///
/// The token is minted, not refreshed: it carries the number of the session's latest token and
/// ends with the session, so it dies with a logout, a revocation or "expire access token" like
/// every other; nothing is rotated or written.
pub async fn current_caller(
    state: &IdpState,
    session: &Session,
) -> Option<(Authenticated, TokenResponse)> {
    let browser = browser_session(session).await?;
    // A store outage renders the page signed out; the client recovers the session by refresh.
    let access = state
        .families
        .page_access(&browser.session_id)
        .await
        .ok()
        .flatten()
        .filter(|access| access.user_id == browser.user.id)?;
    let tokens = mint_tokens(
        state,
        browser.user.clone(),
        &browser.session_id,
        access.access_ver,
        SessionLeft {
            session_left: access.session_left,
            idle_left: access.idle_left,
            started_secs: access.started_secs,
        },
    );
    let caller = Authenticated {
        user: browser.user,
        session_id: browser.session_id,
        scope: None,
    };
    Some((caller, tokens))
}

/// The JSON answer to login and refresh, with the refresh cookie, `no-store` and
/// `Pragma: no-cache`.
pub fn token_response(tokens: TokenResponse, grant: &Grant) -> Response {
    let mut response = Json(tokens).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // RFC 6749 §5.1: for HTTP/1.0 caches too.
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.append(header::SET_COOKIE, refresh_cookie(grant));
    response
}

/// `Set-Cookie` carrying the grant's refresh credential.
pub fn refresh_cookie(grant: &Grant) -> HeaderValue {
    set_refresh_cookie(&grant.refresh_token, grant.session_left)
}

fn tokens_for(state: &IdpState, user: User, grant: &Grant) -> TokenResponse {
    // A login or refresh has just started the idle clock anew.
    let idle_left = state.families.idle_timeout();
    mint_tokens(
        state,
        user,
        &grant.session_id,
        grant.access_ver,
        SessionLeft {
            session_left: grant.session_left,
            idle_left,
            started_secs: grant.started_secs,
        },
    )
}

/// What is left of a session when a token is minted for it.
struct SessionLeft {
    /// Until its absolute lifetime ends: no token outlives it.
    session_left: Duration,
    /// Until its idle timeout ends it unless refreshed: the client warns before.
    idle_left: Duration,
    /// When the session started, in seconds since the epoch: when its user signed in.
    started_secs: u64,
}

/// An access token for `user`'s session, numbered `access_ver`, never outliving the session,
/// as the answer body the client reads (a login, a refresh, or a page's first paint).
fn mint_tokens(
    state: &IdpState,
    user: User,
    session_id: &str,
    access_ver: u64,
    left: SessionLeft,
) -> TokenResponse {
    let user_claims =
        state
            .users
            .access_token_claims(&user.id, None, &state.config.access_token_claims);
    let (access_token, expires_in) = state.tokens.issue_within(
        &user.id,
        session_id,
        access_ver,
        left.session_left,
        IssuedTo {
            user_claims: Some(&user_claims),
            auth_time: Some(left.started_secs),
            ..IssuedTo::FIRST_PARTY
        },
    );
    TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in,
        user,
        idle_expires_in: Some(left.idle_left.as_secs()),
        idle_timeout: Some(state.families.idle_timeout().as_secs()),
    }
}

async fn browser_session(session: &Session) -> Option<BrowserSession> {
    session.get(BROWSER_SESSION_KEY).await.ok().flatten()
}

async fn remember_browser_session(
    state: &IdpState,
    session: &Session,
    user: &User,
    grant: &Grant,
) -> Result<(), ApiError> {
    let record = BrowserSession {
        user: user.clone(),
        session_id: grant.session_id.clone(),
    };
    session
        .insert(BROWSER_SESSION_KEY, record)
        .await
        .map_err(unavailable)?;
    // Saving now assigns the record its id, which the family keeps so both expire together.
    session.save().await.map_err(unavailable)?;
    if let Some(id) = session.id() {
        state
            .families
            .attach_browser_session(&grant.session_id, id.0)
            .await?;
    }
    Ok(())
}

/// Revokes a family and deletes the browser-session record that mirrors it.
pub async fn revoke(state: &IdpState, session_id: &str) -> Result<(), ApiError> {
    Ok(state.families.revoke(session_id).await?)
}

/// A sign-in the store could not count or record: 503, and counted as such (the detail was
/// logged by the store wrapper).
fn store_unavailable(error: StoreError) -> ApiError {
    metrics::counter!("tokenflight_logins_total", "outcome" => "unavailable").increment(1);
    error.into()
}

/// tower-sessions fails only when its store does: a 503, never a 500 (the detail is logged).
fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%error, "browser session store failed");
    ApiError::Unavailable
}
