//! `POST /oauth/token` (RFC 6749 §3.2, §4.1.3, §4.4, §5, §6): the authorization code, refresh
//! token and client credentials grants. An OAuth refresh token *is* a refresh family's
//! credential, so it rotates, has the grace window, revokes its family on reuse and ends with
//! the idle and absolute lifetimes exactly as the first-party cookie does — one decision in the
//! same store. A machine client's token (`client_credentials`) has no family: no refresh token,
//! no ID token, and a `sid` that names no session, so the user API refuses it.

use std::{collections::HashMap, time::Duration};

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::server::http::oidc::{
    error::OAuthError,
    id_token::{self, Subject},
    paths,
};
use crate::server::{
    core::{
        clients::{self, BodyCredentials, ClientRegistration, CLIENT_CREDENTIALS},
        codes::{self, Redeemed},
        families::{FamilyRegistry, Grant, IssuedFor},
        tokens::{IssuedTo, AUDIENCE},
    },
    http::{
        dpop::{self, DPOP_NONCE},
        state::IdpState,
    },
};

/// The successful answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Serialize)]
struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// `POST /oauth/token`: authenticates the client, then trades an authorization code or a
/// refresh token for an access token, a new refresh token and, with `openid`, an ID token — or
/// gives a machine client an access token of its own (`client_credentials`).
pub async fn token(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let (form, client) = authenticated_form(&state, &headers, body)?;
    let issuer = state.config.issuer.clone();
    let grant_type = form.get("grant_type").map(String::as_str);
    if grant_type.is_some_and(|grant| is_supported(grant) && !client.may_use(grant)) {
        return Err(OAuthError::UnauthorizedClient);
    }
    // RFC 9449 §5: a proof binds what this request issues to the client's key.
    let proof = dpop::token_endpoint_proof(&state, &headers, paths::TOKEN).await?;
    if proof.is_none() && client.dpop_bound_access_tokens && state.dpop.is_some() {
        return Err(OAuthError::InvalidDpopProof(
            "this client is registered for DPoP: send a proof",
        ));
    }
    let jkt = proof.as_ref().map(|proof| proof.jkt.as_str());
    let mut response = match grant_type {
        None => Err(OAuthError::InvalidRequest("grant_type is required")),
        Some("authorization_code") => {
            let user_agent = crate::server::http::user_agent::describe(&headers);
            exchange_code(&state, client, &form, &issuer, user_agent, jkt).await
        }
        Some("refresh_token") => refresh(&state, client, &form, &issuer, jkt).await,
        Some(CLIENT_CREDENTIALS) => machine_token(&state, client, &form, jkt),
        Some(_) => Err(OAuthError::UnsupportedGrantType),
    }?;
    // §8.2: the next nonce rides on every answer to a DPoP client.
    if let (Some(checks), Some(_)) = (&state.dpop, &proof) {
        response
            .headers_mut()
            .insert(DPOP_NONCE, checks.nonce_header(state.clock.now_secs()));
    }
    Ok(response)
}

/// RFC 9449 §5: `DPoP` for a token bound to a key, `Bearer` otherwise.
fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

fn is_supported(grant_type: &str) -> bool {
    matches!(
        grant_type,
        "authorization_code" | "refresh_token" | CLIENT_CREDENTIALS
    )
}

/// RFC 6749 §4.4: a confidential client registered for `client_credentials` (checked by the
/// caller, and at start-up: public clients cannot be) gets an access token for itself — `sub`
/// its client id (RFC 9068 §2.2), no refresh token (§4.4.3: "SHOULD NOT be included"), no ID
/// token (no user signed in), and the client's own scopes (`scopes` in its registration): those
/// asked for that it is registered for, or all of them when it asks for none (RFC 6749 §4.4.2).
/// Asking only for scopes it may not have is `invalid_scope`.
fn machine_token(
    state: &IdpState,
    client: &ClientRegistration,
    form: &HashMap<String, String>,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let scope = match form.get("scope").map(|scope| scope.trim()) {
        Some(asked) if !asked.is_empty() => {
            let granted = client.grantable(asked);
            if granted.is_empty() {
                return Err(OAuthError::InvalidScope(
                    "none of the scopes asked for is registered for this client",
                ));
            }
            granted
        }
        _ => client.allowed_scopes().join(" "),
    };
    // No scope at all says so with no claim (RFC 9068 §2.2.3); with no user behind it, the
    // token opens none of this provider's own API either way.
    let granted = (!scope.is_empty()).then_some(scope.as_str());
    // RFC 8707 §2: a machine client usually asks for the API it is about to call.
    let audience = state
        .oidc
        .clients
        .audience_for(form.get("resource").map(String::as_str))
        .ok_or(OAuthError::InvalidTarget(
            "the resource is not registered here",
        ))?;
    let session_id = clients::machine_session_id();
    let (access_token, expires_in) = state.tokens.issue_within(
        &client.client_id,
        &session_id,
        0,
        Duration::MAX,
        IssuedTo {
            client_id: &client.client_id,
            scope: granted,
            user_claims: None,
            auth_time: None,
            audience: &audience,
            dpop_jkt: jkt,
        },
    );
    tracing::info!(client = %client.client_id, "client_credentials token issued");
    Ok(no_store(
        Json(TokenAnswer {
            access_token,
            token_type: token_type(jkt),
            expires_in,
            refresh_token: None,
            id_token: None,
            scope: granted.map(str::to_owned),
        })
        .into_response(),
    ))
}

/// RFC 6749 §4.1.3 with RFC 7636 §4.5: the code, for the client, redirect URI and verifier it
/// was issued for. A second use with all three revokes what the first one issued (§4.1.2); a
/// second use without them is a plain `invalid_grant` that touches nothing.
async fn exchange_code(
    state: &IdpState,
    client: &ClientRegistration,
    form: &HashMap<String, String>,
    issuer: &str,
    user_agent: Option<String>,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let required = |name: &str, missing: &'static str| {
        form.get(name)
            .map(String::as_str)
            .ok_or(OAuthError::InvalidRequest(missing))
    };
    let code = required("code", "code is required")?;
    let redirect_uri = required("redirect_uri", "redirect_uri is required")?;
    let verifier = required("code_verifier", "code_verifier is required (PKCE)")?;
    // RFC 8707 §2.2: a `resource` here must be the one the code was issued for.
    let resource = form.get("resource").map(String::as_str);
    let asked_audience = match resource {
        Some(_) => Some(state.oidc.clients.audience_for(resource).ok_or(
            OAuthError::InvalidTarget("the resource is not registered here"),
        )?),
        None => None,
    };
    let session_id = FamilyRegistry::new_session_id();
    let now_ms = state.clock.now_ms();
    let redeemed = codes::redeem(state.store.as_ref(), code, now_ms, &session_id, |grant| {
        if grant.client_id != client.client_id {
            return Err("the code was issued to another client");
        }
        if grant.redirect_uri != redirect_uri {
            return Err("redirect_uri differs from the authorization request's");
        }
        if !codes::verifier_matches(verifier, &grant.code_challenge) {
            return Err("code_verifier does not match the code_challenge");
        }
        if asked_audience
            .as_ref()
            .is_some_and(|audience| *audience != grant.audience)
        {
            return Err("resource differs from the authorization request's");
        }
        Ok(())
    })
    .await?;
    let grant = match redeemed {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Refused(reason) => return Err(OAuthError::InvalidGrant(reason)),
        Redeemed::Replayed(first) => {
            if let Some(first) = first {
                tracing::warn!(session_id = %first, "authorization code replayed; its session revoked");
                state.families.revoke(&first).await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the code was already used; what it issued is revoked",
            ));
        }
    };
    let started = state
        .families
        .start_for_client(
            session_id,
            &grant.user_id,
            IssuedFor {
                client_id: &client.client_id,
                scope: &grant.scope,
                audience: Some(grant.audience.as_str()).filter(|audience| *audience != AUDIENCE),
                // §5: a public client's refresh token is bound to the key too; a confidential
                // client's is bound to its authentication already.
                dpop_jkt: jkt.filter(|_| !client.is_confidential()),
            },
            user_agent,
        )
        .await?;
    // A replay that raced this exchange saw no session to revoke yet: revoke it here.
    if codes::was_replayed(state.store.as_ref(), code).await? {
        state.families.revoke(&started.session_id).await?;
        return Err(OAuthError::InvalidGrant(
            "the code was already used; what it issued is revoked",
        ));
    }
    answer(
        state,
        &started,
        &started.scope,
        issuer,
        Some(grant.auth_time),
        grant.nonce,
        jkt,
    )
}

/// RFC 6749 §6: a refresh token of this client's, rotated by the family's own decision.
async fn refresh(
    state: &IdpState,
    client: &ClientRegistration,
    form: &HashMap<String, String>,
    issuer: &str,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let presented = form
        .get("refresh_token")
        .ok_or(OAuthError::InvalidRequest("refresh_token is required"))?;
    // §6: a narrower scope may be asked for, never a wider one — decided before the family
    // rotates, so a client that asked for too much keeps its refresh token (and its session).
    // A family's scope never changes, so reading it first cannot disagree with the rotation.
    let asked = form
        .get("scope")
        .map(|scope| {
            scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|asked| !asked.is_empty());
    // RFC 8707 §2.2: a `resource` must be the family's own, checked the same way.
    let resource = form.get("resource").map(String::as_str);
    if asked.is_some() || resource.is_some() {
        let granted = match state.families.session_of(presented) {
            Some(session_id) => state.families.live_family(&session_id).await?,
            None => None,
        };
        let ours = granted.filter(|(family, _)| family.client_id == client.client_id);
        if let Some((family, _)) = &ours {
            if asked
                .as_ref()
                .is_some_and(|asked| !within(asked, &family.scope))
            {
                return Err(OAuthError::InvalidScope("a refresh cannot widen the scope"));
            }
            let audience = family.audience.as_deref().unwrap_or(AUDIENCE);
            if resource.is_some_and(|resource| resource != audience) {
                return Err(OAuthError::InvalidTarget(
                    "a refresh cannot change the resource",
                ));
            }
        }
    }
    let grant = state
        .families
        .refresh_for_client(presented, &client.client_id, jkt)
        .await?;
    let scope = match &asked {
        Some(asked) if !within(asked, &grant.scope) => {
            return Err(OAuthError::InvalidScope("a refresh cannot widen the scope"));
        }
        // The family's scopes that were asked for, in the family's order, each once.
        Some(asked) => grant
            .scope
            .split(' ')
            .filter(|scope| asked.contains(scope))
            .collect::<Vec<_>>()
            .join(" "),
        None => grant.scope.clone(),
    };
    // OIDC Core §12.2: a refreshed ID token's `auth_time`, *if present*, is the original one;
    // the family does not keep it, so it is left out.
    answer(state, &grant, &scope, issuer, None, None, jkt)
}

/// Whether every scope `asked` for is one of the space-separated `granted` (RFC 6749 §3.3).
fn within(asked: &[&str], granted: &str) -> bool {
    asked
        .iter()
        .all(|scope| granted.split(' ').any(|granted| granted == *scope))
}

/// The token response for a family's grant, for `scope` (the family's, or the narrower one a
/// refresh asked for): an access token like the first-party one (it works on the protected API
/// and dies with its family), the refresh token, and an ID token when `scope` has `openid`.
/// With `jkt`, the key this request proved, the access token is bound to it (RFC 9449 §6).
fn answer(
    state: &IdpState,
    grant: &Grant,
    scope: &str,
    issuer: &str,
    auth_time: Option<u64>,
    nonce: Option<String>,
    jkt: Option<&str>,
) -> Result<Response, OAuthError> {
    let user = state
        .users
        .by_id(&grant.user_id)
        .ok_or(OAuthError::InvalidGrant("the user no longer exists"))?;
    let user_claims = state.users.access_token_claims(
        &grant.user_id,
        Some(scope),
        &state.config.access_token_claims,
    );
    let (access_token, expires_in) = state.tokens.issue_within(
        &grant.user_id,
        &grant.session_id,
        grant.access_ver,
        grant.session_left,
        IssuedTo {
            client_id: &grant.client_id,
            scope: Some(scope),
            user_claims: Some(&user_claims),
            auth_time,
            audience: grant.audience.as_deref().unwrap_or(AUDIENCE),
            dpop_jkt: jkt,
        },
    );
    let id_token = scope.split(' ').any(|s| s == "openid").then(|| {
        id_token::mint(
            state,
            Subject {
                issuer,
                user: &user,
                client_id: &grant.client_id,
                session_id: &grant.session_id,
                auth_time,
                nonce,
                access_token: Some(&access_token),
            },
            scope,
        )
    });
    Ok(no_store(
        Json(TokenAnswer {
            access_token,
            token_type: token_type(jkt),
            expires_in,
            refresh_token: Some(grant.refresh_token.as_str().to_owned()),
            id_token,
            scope: Some(scope.to_owned()),
        })
        .into_response(),
    ))
}

/// RFC 6749 §5.1: a token response is never cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The form of a request to the token, revocation or introspection endpoint and the client it
/// authenticates (RFC 6749 §2.3: by HTTP Basic or in the body, the method it is registered for).
pub fn authenticated_form<'s>(
    state: &'s IdpState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(HashMap<String, String>, &'s ClientRegistration), OAuthError> {
    let body = body.map_err(|_| OAuthError::InvalidRequest("the request body is too large"))?;
    let form = read_form(headers, &body)?;
    let client = state
        .oidc
        .clients
        .authenticate(headers, body_credentials(&form))?;
    Ok((form, client))
}

/// The client credentials a form may carry (`client_id`, and `client_secret` for
/// `client_secret_post`, RFC 6749 §2.3.1).
fn body_credentials(form: &HashMap<String, String>) -> BodyCredentials<'_> {
    BodyCredentials {
        client_id: form.get("client_id").map(String::as_str),
        client_secret: form.get("client_secret").map(String::as_str),
    }
}

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2), each parameter at most once
/// (§3.1): anything else is `invalid_request`, never a 415 or 500 of the framework's.
fn read_form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::InvalidRequest("the form could not be read"))?;
    let mut form = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if form.insert(name, value).is_some() {
            return Err(OAuthError::InvalidRequest("a parameter was repeated"));
        }
    }
    Ok(form)
}
