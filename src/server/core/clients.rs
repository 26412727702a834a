//! The OAuth clients the identity provider knows: the built-in public client
//! `tokenflight-public` (any loopback redirect URI, RFC 8252 §7.3), and those of
//! `OAUTH_CLIENTS_FILE`. Redirect URIs match exactly otherwise, so no client can be made an
//! open redirector (RFC 9700 §4.1.3).
//!
//! This file the registrations and the registry; `authentication` how a client proves itself
//! at the token, revocation and introspection endpoints; `redirect_uris` what counts as one.

mod authentication;
mod redirect_uris;

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{api::resources::scopes, server::core::tokens::AUDIENCE};

pub use authentication::{AuthMethod, BodyCredentials, ClientAuthError};
use redirect_uris::RedirectUri;

/// The client every developer can use without registering anything.
pub const PUBLIC_CLIENT: &str = "tokenflight-public";

/// The scopes a client may ask for; `offline_access` is accepted and changes nothing (every
/// grant carries a refresh token). `profile`, `email`, `phone` and `address` release the user's
/// own claims (`USERS_FILE`) of OIDC Core §5.4; the built-in users have none. The rest are the
/// protected API's (`api::resources::scopes`).
pub const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
    scopes::ITEMS_READ,
    scopes::ITEMS_WRITE,
    scopes::SESSIONS,
    scopes::ADMIN,
];

/// The scopes a user's client may be granted when its registration names none: all of them.
fn all_scopes() -> Vec<String> {
    SCOPES.iter().map(|scope| (*scope).to_owned()).collect()
}

/// Public clients prove nothing but their id (PKCE binds their codes); confidential ones
/// authenticate with a secret (`client_secret_basic` or `client_secret_post`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    /// Holds no secret (a browser or native app): named by `client_id` alone, its codes bound by
    /// PKCE.
    Public,
    /// Holds a `client_secret` and presents it by its registered method; the only kind that may
    /// introspect.
    Confidential,
}

/// A client secret: compared by digest, never serialised, never shown.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Compares SHA-256 digests byte by byte without stopping early: how long it takes says
    /// nothing about the secret.
    fn matches(&self, presented: &str) -> bool {
        let (ours, theirs) = (
            Sha256::digest(self.0.as_bytes()),
            Sha256::digest(presented.as_bytes()),
        );
        ours.iter()
            .zip(theirs.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// One registered client, as `OAUTH_CLIENTS_FILE` lists it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    /// The id the client sends (1 to 128 characters); `tokenflight-public` and `tokenflight` are
    /// taken by the built-in clients.
    pub client_id: String,
    #[serde(default)]
    client_secret: Option<ClientSecret>,
    /// Whether the client authenticates with a secret, which decides how every endpoint checks it.
    pub kind: ClientKind,
    /// How it authenticates (RFC 7591 §2): `client_secret_basic` (the default for a
    /// confidential client) or `client_secret_post`; `none` (the only one) for a public client.
    /// Another method is `invalid_client` (RFC 6749 §2.3).
    #[serde(default)]
    token_endpoint_auth_method: Option<AuthMethod>,
    /// Where codes may be sent: absolute `http(s)` URIs without a fragment, matched exactly except
    /// for a loopback URI's port (RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser; the redirect URIs when left out.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// The grants the client may use (RFC 7591 §2 `grant_types`): `authorization_code`,
    /// `refresh_token` (both when left out) and, for a confidential client, `client_credentials`.
    /// Another one at the token endpoint is `unauthorized_client` (RFC 6749 §5.2).
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// The scopes the client may be granted (issue #32; RFC 7591 §2 names this `scope`): each one
    /// of [`SCOPES`]. Left out: all of them for a client of users, none for a machine client
    /// (`client_credentials` only), which gets exactly those listed.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// A resource server (an API that checks tokens): introspection tells it about any client's
    /// token; any other client learns only about its own (RFC 7662 §4). Confidential only.
    #[serde(default)]
    pub resource_server: bool,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: the client must send a DPoP proof with every
    /// token request, so all its tokens are bound to its key.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// A resource server's resource indicator (RFC 8707 §2): an absolute `http(s)` URI without
    /// a fragment. A client that names it as `resource` gets tokens whose `aud` is it — tokens
    /// this provider's own API refuses, meant for that server. Resource servers only.
    #[serde(default)]
    pub resource: Option<String>,
    /// The built-in client: any loopback URI, any port, any path.
    #[serde(skip)]
    any_loopback: bool,
}

impl ClientRegistration {
    /// The built-in `tokenflight-public`.
    pub fn built_in() -> Self {
        Self {
            client_id: PUBLIC_CLIENT.to_owned(),
            client_secret: None,
            kind: ClientKind::Public,
            token_endpoint_auth_method: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: default_grant_types(),
            scopes: None,
            resource_server: false,
            dpop_bound_access_tokens: false,
            resource: None,
            any_loopback: true,
        }
    }

    /// What makes a registration unusable, checked at start-up.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.client_id.is_empty() || self.client_id.len() > 128 {
            return Err("every client needs a client_id of 1 to 128 characters");
        }
        if self.client_id == PUBLIC_CLIENT
            || self.client_id == crate::server::core::store::FIRST_PARTY_CLIENT
        {
            return Err("tokenflight-public and tokenflight are built in");
        }
        match (self.kind, &self.client_secret) {
            (ClientKind::Public, Some(_)) => return Err("a public client has no client_secret"),
            (ClientKind::Confidential, None) => {
                return Err("a confidential client needs a client_secret")
            }
            (ClientKind::Confidential, Some(secret)) if secret.0.len() < 16 => {
                return Err("a client_secret needs at least 16 characters")
            }
            _ => {}
        }
        match (self.kind, self.token_endpoint_auth_method) {
            (
                ClientKind::Public,
                Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost),
            ) => return Err("a public client's token_endpoint_auth_method is none"),
            (ClientKind::Confidential, Some(AuthMethod::None)) => return Err(
                "a confidential client authenticates by client_secret_basic or client_secret_post",
            ),
            _ => {}
        }
        if !self
            .grant_types
            .iter()
            .all(|grant| GRANT_TYPES.contains(&grant.as_str()))
        {
            return Err(
                "grant_types may name authorization_code, refresh_token and client_credentials only",
            );
        }
        if self
            .scopes
            .iter()
            .flatten()
            .any(|scope| !SCOPES.contains(&scope.as_str()))
        {
            return Err("scopes may name only the scopes discovery lists (scopes_supported)");
        }
        if self.resource_server && !self.is_confidential() {
            return Err("only a confidential client may be a resource_server");
        }
        if let Some(resource) = &self.resource {
            if !self.resource_server {
                return Err("only a resource_server has a resource");
            }
            if RedirectUri::parse(resource).is_none() || resource == AUDIENCE {
                return Err("a resource is an absolute http(s) URI without a fragment (RFC 8707)");
            }
        }
        if self.may_use(CLIENT_CREDENTIALS) {
            if !self.is_confidential() {
                return Err("only a confidential client may use client_credentials");
            }
            // RFC 9068 §5: a machine token's `sub` is the client id, which must not be taken
            // for a user's (`u-alice`).
            if self.client_id.starts_with(USER_ID_PREFIX) {
                return Err("a client_credentials client's id may not start with u- (user ids do)");
            }
        }
        if self.redirect_uris.is_empty() && self.may_use("authorization_code") {
            return Err("every client needs at least one redirect_uri");
        }
        if !self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
            .all(|uri| RedirectUri::parse(uri).is_some())
        {
            return Err(
                "redirect URIs must be absolute http(s) URLs of printable ASCII, without userinfo or a fragment",
            );
        }
        Ok(())
    }

    /// Of the space-separated `requested` scopes, those this client may be granted, in the
    /// order asked, once each (RFC 6749 §3.3: the server may grant fewer than asked; the token
    /// response says which).
    pub fn grantable(&self, requested: &str) -> String {
        let allowed = self.allowed_scopes();
        let mut granted: Vec<&str> = Vec::new();
        for scope in requested.split(' ') {
            if allowed.iter().any(|allowed| allowed == scope) && !granted.contains(&scope) {
                granted.push(scope);
            }
        }
        granted.join(" ")
    }

    /// The scopes the client may be granted: as registered, else every scope for a client of
    /// users and none for a machine client.
    pub fn allowed_scopes(&self) -> Vec<String> {
        match &self.scopes {
            Some(scopes) => scopes.clone(),
            None if self.serves_users() => all_scopes(),
            None => Vec::new(),
        }
    }

    /// Whether users sign in through this client (it may use the code flow).
    fn serves_users(&self) -> bool {
        self.may_use("authorization_code") || self.may_use("refresh_token")
    }

    /// Whether `grant_type` is one of the client's `grant_types`; the token endpoint answers
    /// `unauthorized_client` otherwise.
    pub fn may_use(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|grant| grant == grant_type)
    }

    /// The one way the client authenticates: as registered, else `client_secret_basic` for a
    /// confidential client and `none` for a public one.
    pub fn auth_method(&self) -> AuthMethod {
        match (self.token_endpoint_auth_method, self.kind) {
            (Some(method), _) => method,
            (None, ClientKind::Confidential) => AuthMethod::ClientSecretBasic,
            (None, ClientKind::Public) => AuthMethod::None,
        }
    }

    /// Whether the client must prove a secret: public clients never present one, and only
    /// confidential ones may introspect (RFC 7662 §2.1).
    pub fn is_confidential(&self) -> bool {
        self.kind == ClientKind::Confidential
    }

    /// RFC 7662 §2.1 and §4: whether introspection may tell this client that a token issued to
    /// `token_client` is active — a confidential client about its own tokens, a resource server
    /// about anyone's. Everyone else hears `{"active": false}`, so no client can probe another's
    /// tokens.
    pub fn may_introspect(&self, token_client: &str) -> bool {
        self.is_confidential() && (self.resource_server || self.client_id == token_client)
    }

    /// RFC 6749 §3.1.2.3 with RFC 8252 §7.3: an exact match, or — for a registered loopback
    /// URI, and any loopback URI of the built-in client — the same URI on another port.
    pub fn allows_redirect(&self, presented: &str) -> bool {
        self.matches(&self.redirect_uris, presented)
    }

    /// OpenID Connect RP-Initiated Logout 1.0 §3: `post_logout_redirect_uri` must be registered.
    pub fn allows_post_logout_redirect(&self, presented: &str) -> bool {
        let registered = if self.post_logout_redirect_uris.is_empty() {
            &self.redirect_uris
        } else {
            &self.post_logout_redirect_uris
        };
        self.matches(registered, presented)
    }

    /// The presented URI is parsed whole first (RFC 9700 §4.1.1: no lax matching): one that
    /// is not an absolute `http(s)` URI of printable ASCII, or has userinfo or a fragment,
    /// matches nothing — not even a registration it equals as text.
    fn matches(&self, registered: &[String], presented: &str) -> bool {
        let Some(parsed) = RedirectUri::parse(presented) else {
            return false;
        };
        if registered.iter().any(|uri| uri == presented) {
            return true;
        }
        let Some(presented) = parsed.loopback() else {
            return false;
        };
        self.any_loopback
            || registered
                .iter()
                .filter_map(|uri| RedirectUri::parse(uri))
                .any(|uri| uri.loopback().is_some_and(|uri| uri == presented))
    }

    fn secret_matches(&self, presented: &str) -> bool {
        self.client_secret
            .as_ref()
            .is_some_and(|secret| secret.matches(presented))
    }
}

/// The grants a registration may name.
const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", CLIENT_CREDENTIALS];

/// RFC 6749 §4.4: a confidential client acting on its own behalf.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// How user ids (`sub`) start (`core::users`): no machine client may share it.
const USER_ID_PREFIX: &str = "u-";

/// What a client's access token of the `client_credentials` grant carries as `sid`: a session
/// id no refresh family has (theirs are base64url, with no `.`), so the user API, which asks
/// for a live session of the token's `sub`, refuses it, while revocation by `sid` still works.
const MACHINE_SESSION_PREFIX: &str = "client.";

/// A fresh `sid` for a `client_credentials` access token (128 random bits behind
/// `MACHINE_SESSION_PREFIX`): revocable like a session's tokens, naming no session.
pub fn machine_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{MACHINE_SESSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether an access token's `sid` is a machine token's (see [`machine_session_id`]).
pub fn is_machine_session(session_id: &str) -> bool {
    session_id.starts_with(MACHINE_SESSION_PREFIX)
}

/// What a client registered without `grant_types` may use: the code flow and its refreshes.
fn default_grant_types() -> Vec<String> {
    vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
}

/// The built-in client and the configured ones.
#[derive(Clone, Debug)]
pub struct ClientRegistry {
    clients: Vec<ClientRegistration>,
}

impl ClientRegistry {
    /// The built-in `tokenflight-public` first, then `configured` (`OAUTH_CLIENTS_FILE`, already
    /// [`check`](ClientRegistration::check)ed at start-up).
    pub fn new(configured: &[ClientRegistration]) -> Self {
        let mut clients = vec![ClientRegistration::built_in()];
        clients.extend(configured.iter().cloned());
        Self { clients }
    }

    /// RFC 8707: the audience of tokens asked for `resource` — this provider's own API
    /// ([`AUDIENCE`]) when none is named (or it is named), a registered resource server's
    /// resource indicator — or `None`: no such resource (`invalid_target`).
    pub fn audience_for(&self, resource: Option<&str>) -> Option<String> {
        match resource {
            None | Some(AUDIENCE) => Some(AUDIENCE.to_owned()),
            Some(resource) => self
                .clients
                .iter()
                .any(|client| client.resource.as_deref() == Some(resource))
                .then(|| resource.to_owned()),
        }
    }

    /// The client registered under `client_id`, if any (ids are unique: `OAUTH_CLIENTS_FILE` is
    /// refused at start-up when two registrations share one).
    pub fn find(&self, client_id: &str) -> Option<&ClientRegistration> {
        self.clients
            .iter()
            .find(|client| client.client_id == client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confidential() -> ClientRegistration {
        serde_json::from_str(
            r#"{"client_id": "app", "client_secret": "0123456789abcdef", "kind": "confidential",
                "redirect_uris": ["https://app.example/cb", "http://127.0.0.1:8080/cb"]}"#,
        )
        .unwrap()
    }

    #[test]
    fn the_built_in_client_takes_any_loopback_port_and_nothing_else() {
        let client = ClientRegistration::built_in();
        for ok in [
            "http://127.0.0.1:4711/callback",
            "http://localhost:1/",
            "http://[::1]:9/cb?x=1",
        ] {
            assert!(client.allows_redirect(ok), "{ok}");
        }
        for bad in [
            "https://evil.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost@evil.example/",
            "http://127.0.0.1:80/cb#frag",
            "javascript:alert(1)",
        ] {
            assert!(!client.allows_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn registered_uris_match_exactly_except_a_loopback_port() {
        let client = confidential();
        client.check().unwrap();
        assert!(client.allows_redirect("https://app.example/cb"));
        assert!(client.allows_redirect("http://127.0.0.1:9999/cb"));
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb?next=//evil",
            "https://app.example:444/cb",
            "http://127.0.0.1:9999/other",
        ] {
            assert!(!client.allows_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn a_client_is_granted_the_scopes_it_is_registered_for_in_the_order_asked() {
        let limited: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "kind": "public", "redirect_uris": ["https://x.example/cb"],
                "scopes": ["openid", "items:read"]}"#,
        )
        .unwrap();
        limited.check().unwrap();
        assert_eq!(
            limited.grantable("items:read admin openid items:read"),
            "items:read openid"
        );
        assert_eq!(limited.grantable("admin"), "");
        assert_eq!(
            confidential().grantable("openid admin"),
            "openid admin",
            "all by default"
        );
        let unknown: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "kind": "public", "redirect_uris": ["https://x.example/cb"],
                "scopes": ["openid", "everything"]}"#,
        )
        .unwrap();
        assert!(unknown.check().is_err());
    }

    #[test]
    fn registrations_are_checked() {
        let public_with_secret: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "client_secret": "0123456789abcdef", "kind": "public",
                "redirect_uris": ["https://x.example/cb"]}"#,
        )
        .unwrap();
        assert!(public_with_secret.check().is_err());
        let no_secret: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "kind": "confidential", "redirect_uris": ["https://x/cb"]}"#,
        )
        .unwrap();
        assert!(no_secret.check().is_err());
        assert!(!format!("{:?}", confidential()).contains("0123456789abcdef"));
        // RFC 7591 §2: a public client authenticates by `none`, a confidential one never does.
        let public_by_post: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "kind": "public", "redirect_uris": ["https://x.example/cb"],
                "token_endpoint_auth_method": "client_secret_post"}"#,
        )
        .unwrap();
        assert!(public_by_post.check().is_err());
        let confidential_by_none: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "client_secret": "0123456789abcdef", "kind": "confidential",
                "redirect_uris": ["https://x.example/cb"], "token_endpoint_auth_method": "none"}"#,
        )
        .unwrap();
        assert!(confidential_by_none.check().is_err());
        assert_eq!(confidential().auth_method(), AuthMethod::ClientSecretBasic);
        // RFC 6749 §4.4: client_credentials for confidential clients only, which need no
        // redirect URI for it; RFC 9068 §5: no machine client id that reads as a user's.
        let machine = |id: &str, kind: &str| -> ClientRegistration {
            let secret = if kind == "confidential" {
                r#""client_secret": "0123456789abcdef","#
            } else {
                ""
            };
            serde_json::from_str(&format!(
                r#"{{"client_id": "{id}", {secret} "kind": "{kind}", "redirect_uris": [],
                    "grant_types": ["client_credentials"]}}"#
            ))
            .unwrap()
        };
        machine("batch", "confidential").check().unwrap();
        assert!(machine("batch", "public").check().is_err());
        assert!(machine("u-alice", "confidential").check().is_err());
        // RFC 7662 §4: only a confidential client may introspect others' tokens.
        let public_resource_server: ClientRegistration = serde_json::from_str(
            r#"{"client_id": "x", "kind": "public", "redirect_uris": ["https://x.example/cb"],
                "resource_server": true}"#,
        )
        .unwrap();
        assert!(public_resource_server.check().is_err());
        // RFC 8707 §2: a resource indicator is an absolute URI, and only a resource server's.
        let with_resource = |resource_server: bool, resource: &str| -> ClientRegistration {
            serde_json::from_str(&format!(
                r#"{{"client_id": "rs", "client_secret": "0123456789abcdef", "kind": "confidential",
                    "redirect_uris": [], "grant_types": ["client_credentials"],
                    "resource_server": {resource_server}, "resource": "{resource}"}}"#
            ))
            .unwrap()
        };
        with_resource(true, "https://api.example/v1")
            .check()
            .unwrap();
        assert!(with_resource(false, "https://api.example/v1")
            .check()
            .is_err());
        assert!(with_resource(true, "api").check().is_err());
        assert!(with_resource(true, "https://api.example/#x")
            .check()
            .is_err());
        // RFC 6749 §3.1.2: registered URIs are parsed whole too.
        for bad in [
            "https://x.example/cb\n",
            "https://u@x.example/cb",
            "https://x.example/ cb",
        ] {
            let client: ClientRegistration = serde_json::from_value(serde_json::json!({
                "client_id": "x", "kind": "public", "redirect_uris": [bad]
            }))
            .unwrap();
            assert!(client.check().is_err(), "{bad:?}");
        }
    }
}
