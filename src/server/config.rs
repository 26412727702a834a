//! Every environment variable the server reads, its default, and its validation.
//!
//! Read once at start-up: a bad value stops the process with a message naming the variable,
//! instead of surfacing as odd behaviour hours later. `LEPTOS_*` variables are read by Leptos.

use std::{env, fmt, net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};

use crate::server::{
    core::{
        clients::ClientRegistration,
        signing::SigningKeys,
        store::{StoreUrl, DEFAULT_STORE_URL},
        users::{self, UserEntry},
    },
    http::listener::ConnectionLimits,
};

/// Validated server configuration. `Debug` redacts the secret.
#[derive(Clone)]
pub struct Config {
    /// `ACCESS_TOKEN_TTL_SECS`, default 60: short, so the demo visibly refreshes.
    pub access_token_ttl: Duration,
    /// `REFRESH_GRACE_SECS`, default 10: how long the immediately previous refresh credential is
    /// still honoured after a rotation (concurrent tabs, lost responses).
    pub refresh_grace: Duration,
    /// `SESSION_IDLE_TIMEOUT_SECS`, default 1800: a session with no refresh for this long ends.
    pub session_idle_timeout: Duration,
    /// `SESSION_ABSOLUTE_TIMEOUT_SECS`, default 43200 (12 h): a session ends this long after login,
    /// however active.
    pub session_absolute_timeout: Duration,
    /// `JWT_SECRET`: at least 32 bytes. `None` means a random key per process.
    pub jwt_secret: Option<Vec<u8>>,
    /// `JWT_PREVIOUS_SECRETS`: comma-separated earlier secrets, each at least 32 bytes, that
    /// still verify (access tokens and refresh credentials) but never sign: rotating
    /// `JWT_SECRET` keeps everyone signed in.
    pub jwt_previous_secrets: Vec<Vec<u8>>,
    /// `DEMO_CONTROLS`, `on` or `off`: the `/api/demo/*` fault controls. On by default in the demo
    /// binary ([`Config::demo_from_env`]), off in library use ([`Config::from_env`]).
    pub demo_controls: bool,
    /// `DPOP`, `on` (default) or `off`: DPoP (RFC 9449). On, a token request with a `DPoP`
    /// proof gets tokens bound to its key (and a public client's refresh family with them),
    /// which are then refused without a proof of that key. Off, `DPoP` headers are ignored and
    /// every token is a bearer token.
    pub dpop: bool,
    /// `LOGIN_MAX_FAILURES`, default 5: failed logins for one account before it is throttled.
    pub login_max_failures: u32,
    /// `LOGIN_LOCKOUT_SECS`, default 60: how long a throttled account must wait; failures older
    /// than this are forgotten.
    pub login_lockout: Duration,
    /// `LOGIN_HASH_CONCURRENCY`, default 2: password hashes computed at once (each takes ~19 MiB).
    pub login_hash_concurrency: usize,
    /// `LOGIN_QUEUE_TIMEOUT_MS`, default 2000: how long a sign-in waits for a free hashing slot
    /// before it is answered 503 `temporarily_unavailable` with `Retry-After` (`0`: no waiting).
    pub login_queue_timeout: Duration,
    /// `LOGIN_PER_CLIENT_PER_MINUTE`, default 60: sign-in attempts one client address may make a
    /// minute, whatever the usernames. Generous enough for an office behind one address.
    pub login_per_client_per_minute: NonZeroU32,
    /// `TRUST_FORWARDED_FOR`, `off` (default) or `on`: take the client address from the last
    /// `X-Forwarded-For` entry. Only behind a proxy that appends it; otherwise clients could
    /// pick their own address and escape the per-client limit.
    pub trust_forwarded_for: bool,
    /// `PUBLIC_ORIGIN`, e.g. `https://app.example.com`: the origin browsers see, for the
    /// cross-site check behind a proxy that rewrites `Host`. Unset: taken from `Host` and the
    /// request's scheme. Stored as browsers serialise `Origin` (lower case, no default port).
    pub public_origin: Option<String>,
    /// The issuer identifier (OIDC Discovery §3): discovery's `issuer` and the `iss` of every
    /// token and authorization response. `PUBLIC_ORIGIN` when set, else `http://` and
    /// `LEPTOS_SITE_ADDR` (default `127.0.0.1:3000`; an unspecified address such as `0.0.0.0`
    /// as `localhost`). Never taken from a request: a `Host` or `X-Forwarded-Proto` header
    /// chosen by a client must not name the issuer a relying party checks tokens against.
    pub issuer: String,
    /// `COOKIE_SECURE`, `auto` (default), `always` or `never`: the `Secure` flag on cookies.
    pub cookie_secure: CookieSecure,
    /// `STORE_URL`, default `sqlite://tokenflight.db`: where sessions live (`memory://`,
    /// `sqlite://<file>` or `redis://host:port/db`).
    pub store_url: StoreUrl,
    /// `STORE_TIMEOUT_MS`, default 2000: the longest any store call may take before the request
    /// answers 503, so a hung store cannot hang requests. Not much lower: a SQLite write that
    /// triggers a WAL checkpoint on a busy disk was measured taking over 500 ms here.
    pub store_timeout: Duration,
    /// `MAX_SESSIONS_PER_USER`, default 10: signing in once more revokes the user's oldest.
    pub max_sessions_per_user: usize,
    /// `METRICS_ADDR`, default `off`: where `GET /metrics` listens, apart from the public
    /// address so it stays off the internet (e.g. `127.0.0.1:9100`).
    pub metrics_addr: Option<SocketAddr>,
    /// `MAX_CONNECTIONS` (default 10000), `HEADER_READ_TIMEOUT_SECS` (default 10) and
    /// `IDLE_TIMEOUT_SECS` (default 30): how many connections are served at once and how long a
    /// connection may hold its slot without sending a request or moving a byte.
    pub connections: ConnectionLimits,
    // --- The OpenID Connect provider (`config/oidc.rs`) ---
    /// `SIGNING_KEY_FILE`, `SIGNING_KEY_NEXT_FILE`, `SIGNING_KEY_PREVIOUS_FILES`: the ES256 keys
    /// from PEM files. `None` (default): derived from the master secret (see `server::core::signing`).
    pub signing_keys: Option<Arc<SigningKeys>>,
    /// `OAUTH_CLIENTS_FILE`: clients registered beside the built-in `tokenflight-public`.
    pub oauth_clients: Vec<ClientRegistration>,
    /// `USERS_FILE`: the users who may sign in, with their roles and claims, in place of the
    /// built-in `alice` and `admin` (the format: `server::core::users::file`). Empty when unset.
    /// Plain passwords are hashed while the file is read, so none is kept here.
    pub users: Vec<UserEntry>,
    /// `ACCESS_TOKEN_CLAIMS`, comma-separated claim names (e.g. `email,department`), default
    /// none: the users' own claims copied into their access tokens (RFC 9068 §2.2.2), for a
    /// resource server that reads them from the token. An OAuth client's tokens carry only those
    /// its granted scopes release, as its ID tokens do. Names the provider sets are refused.
    pub access_token_claims: Vec<String>,
}

/// `LOG_FORMAT`, `text` (default; coloured on a terminal) or `json` (one object per line, for
/// log collectors). Read before everything else, since it decides how logging starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT` from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match lookup("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError {
                name: "LOG_FORMAT",
                value: other.to_owned(),
                reason: "expected text or json",
            }),
        }
    }
}

/// When cookies carry the `Secure` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieSecure {
    /// Secure when the request reached us over https (directly or per `X-Forwarded-Proto`), so
    /// the local http demo works and a TLS deployment is protected without extra settings.
    Auto,
    /// Always `Secure`, even over plain http (browsers then drop the cookies there).
    Always,
    /// Never `Secure`, even over https (a TLS proxy that does not say so).
    Never,
}

/// A variable that is set but unusable.
#[derive(Debug, thiserror::Error)]
#[error("invalid {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: &'static str,
}

impl Config {
    /// Reads the process environment with the library's defaults: the demo's fault controls
    /// are off unless `DEMO_CONTROLS=on` asks for them.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the process environment with the demo binary's defaults: its fault controls are
    /// on unless `DEMO_CONTROLS=off`.
    pub fn demo_from_env() -> Result<Self, ConfigError> {
        Self::demo_from_lookup(|name| env::var(name).ok())
    }

    /// Reads configuration through `lookup` (library defaults), so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, false)
    }

    /// [`Config::from_lookup`] with the demo binary's defaults.
    pub fn demo_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup, true)
    }

    fn read(
        lookup: impl Fn(&str) -> Option<String>,
        demo_controls_by_default: bool,
    ) -> Result<Self, ConfigError> {
        let secs = |name, default, min| -> Result<Duration, ConfigError> {
            parse_number(&lookup, name, default, min).map(Duration::from_secs)
        };
        let mut config = Config {
            access_token_ttl: secs("ACCESS_TOKEN_TTL_SECS", 60, 1)?,
            refresh_grace: secs("REFRESH_GRACE_SECS", 10, 0)?,
            session_idle_timeout: secs("SESSION_IDLE_TIMEOUT_SECS", 1800, 1)?,
            session_absolute_timeout: secs("SESSION_ABSOLUTE_TIMEOUT_SECS", 43_200, 1)?,
            jwt_secret: parse_secret(&lookup)?,
            jwt_previous_secrets: parse_previous_secrets(&lookup)?,
            demo_controls: parse_switch(&lookup, "DEMO_CONTROLS", demo_controls_by_default)?,
            dpop: parse_switch(&lookup, "DPOP", true)?,
            login_max_failures: parse_number(&lookup, "LOGIN_MAX_FAILURES", 5, 1)? as u32,
            login_lockout: secs("LOGIN_LOCKOUT_SECS", 60, 1)?,
            login_hash_concurrency: parse_number(&lookup, "LOGIN_HASH_CONCURRENCY", 2, 1)? as usize,
            login_queue_timeout: parse_number(&lookup, "LOGIN_QUEUE_TIMEOUT_MS", 2000, 0)
                .map(Duration::from_millis)?,
            login_per_client_per_minute: NonZeroU32::new(
                parse_number(&lookup, "LOGIN_PER_CLIENT_PER_MINUTE", 60, 1)?.min(u32::MAX.into())
                    as u32,
            )
            .unwrap_or(NonZeroU32::MIN),
            trust_forwarded_for: parse_switch(&lookup, "TRUST_FORWARDED_FOR", false)?,
            issuer: String::new(),
            public_origin: parse_origin(&lookup)?,
            cookie_secure: parse_cookie_secure(&lookup)?,
            store_url: parse_store_url(&lookup)?,
            store_timeout: Duration::from_millis(parse_number(
                &lookup,
                "STORE_TIMEOUT_MS",
                2000,
                1,
            )?),
            max_sessions_per_user: parse_number(&lookup, "MAX_SESSIONS_PER_USER", 10, 1)? as usize,
            metrics_addr: parse_metrics_addr(&lookup)?,
            connections: ConnectionLimits {
                max_connections: parse_number(&lookup, "MAX_CONNECTIONS", 10_000, 1)?
                    .min(u32::MAX.into()) as usize,
                header_read_timeout: secs("HEADER_READ_TIMEOUT_SECS", 10, 1)?,
                idle_timeout: secs("IDLE_TIMEOUT_SECS", 30, 1)?,
            },
            signing_keys: oidc::parse_signing_key_files(&lookup)?,
            oauth_clients: oidc::parse_oauth_clients(&lookup)?,
            users: parse_users_file(&lookup)?,
            access_token_claims: parse_access_token_claims(&lookup)?,
        };
        config.issuer = match &config.public_origin {
            Some(origin) => origin.clone(),
            None => issuer_from_site_addr(&lookup)?,
        };
        if config.access_token_ttl > MAX_ACCESS_TOKEN_TTL {
            return Err(ConfigError {
                name: "ACCESS_TOKEN_TTL_SECS",
                value: config.access_token_ttl.as_secs().to_string(),
                reason: "must be at most 86400 (a day): access tokens are meant to be short-lived",
            });
        }
        if config.session_absolute_timeout < config.session_idle_timeout {
            return Err(ConfigError {
                name: "SESSION_ABSOLUTE_TIMEOUT_SECS",
                value: config.session_absolute_timeout.as_secs().to_string(),
                reason: "must not be shorter than SESSION_IDLE_TIMEOUT_SECS",
            });
        }
        Ok(config)
    }
}

impl Default for Config {
    /// The documented defaults, with a random signing key.
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("the defaults are valid")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_grace", &self.refresh_grace)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_absolute_timeout", &self.session_absolute_timeout)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "jwt_previous_secrets",
                &format_args!("<{} redacted>", self.jwt_previous_secrets.len()),
            )
            .field("demo_controls", &self.demo_controls)
            .field("dpop", &self.dpop)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_lockout", &self.login_lockout)
            .field("login_hash_concurrency", &self.login_hash_concurrency)
            .field("login_queue_timeout", &self.login_queue_timeout)
            .field(
                "login_per_client_per_minute",
                &self.login_per_client_per_minute,
            )
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("public_origin", &self.public_origin)
            .field("issuer", &self.issuer)
            .field("cookie_secure", &self.cookie_secure)
            .field("store_url", &self.store_url)
            .field("store_timeout", &self.store_timeout)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("metrics_addr", &self.metrics_addr)
            .field("connections", &self.connections)
            .field("signing_keys", &self.signing_keys)
            .field("oauth_clients", &self.oauth_clients)
            .field("users", &self.users)
            .field("access_token_claims", &self.access_token_claims)
            .finish()
    }
}

/// Access tokens are short-lived by design; a day is already generous (and browsers' timers
/// cannot wait much longer than 24 days anyway).
const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(86_400);

/// Upper bound for every numeric variable: ten years of seconds, far beyond any sane setting,
/// and small enough that no arithmetic on it can overflow.
const MAX_NUMBER: u64 = 10 * 365 * 24 * 3600;

fn parse_number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = lookup(name) else {
        return Ok(default);
    };
    let error = |reason| ConfigError {
        name,
        value: raw.clone(),
        reason,
    };
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|_| error("expected a whole number"))?;
    if value < min {
        return Err(error(if min == 1 {
            "must be at least 1"
        } else {
            "too small"
        }));
    }
    if value > MAX_NUMBER {
        return Err(error("too large"));
    }
    Ok(value)
}

fn parse_switch(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("on" | "true" | "1") => Ok(true),
        Some("off" | "false" | "0") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            value: other.to_owned(),
            reason: "expected on or off",
        }),
    }
}

fn parse_cookie_secure(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<CookieSecure, ConfigError> {
    match lookup("COOKIE_SECURE").as_deref().map(str::trim) {
        None | Some("auto") => Ok(CookieSecure::Auto),
        Some("always") => Ok(CookieSecure::Always),
        Some("never") => Ok(CookieSecure::Never),
        Some(other) => Err(ConfigError {
            name: "COOKIE_SECURE",
            value: other.to_owned(),
            reason: "expected auto, always or never",
        }),
    }
}

/// The issuer without `PUBLIC_ORIGIN`: the address the server listens on, as Leptos reads it.
fn issuer_from_site_addr(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let raw = lookup("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let addr: SocketAddr = raw.trim().parse().map_err(|_| ConfigError {
        name: "LEPTOS_SITE_ADDR",
        value: raw.clone(),
        reason: "expected an address such as 127.0.0.1:3000",
    })?;
    Ok(if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    })
}

fn parse_origin(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = lookup("PUBLIC_ORIGIN") else {
        return Ok(None);
    };
    let error = |reason| ConfigError {
        name: "PUBLIC_ORIGIN",
        value: raw.clone(),
        reason,
    };
    let uri: axum::http::Uri = raw
        .trim()
        .parse()
        .map_err(|_| error("expected scheme://host[:port]"))?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let default_port = match scheme.as_deref() {
        Some("https") => 443,
        Some("http") => 80,
        _ => return Err(error("the scheme must be http or https")),
    };
    let host = uri.host().ok_or_else(|| error("no host"))?;
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(error("an origin has no path or query"));
    }
    let port = match uri.port_u16() {
        Some(port) if port != default_port => format!(":{port}"),
        _ => String::new(),
    };
    let scheme = scheme.unwrap_or_default();
    Ok(Some(format!(
        "{scheme}://{}{port}",
        host.to_ascii_lowercase()
    )))
}

fn parse_previous_secrets(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<Vec<u8>>, ConfigError> {
    let Some(raw) = lookup("JWT_PREVIOUS_SECRETS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .map(|secret| {
            if secret.len() >= 32 {
                Ok(secret.as_bytes().to_vec())
            } else {
                Err(ConfigError {
                    name: "JWT_PREVIOUS_SECRETS",
                    value: "<redacted>".to_owned(),
                    reason: "each secret must be at least 32 bytes",
                })
            }
        })
        .collect()
}

fn parse_store_url(lookup: &impl Fn(&str) -> Option<String>) -> Result<StoreUrl, ConfigError> {
    let raw = lookup("STORE_URL").unwrap_or_else(|| DEFAULT_STORE_URL.to_owned());
    StoreUrl::parse(&raw).map_err(|reason| ConfigError {
        name: "STORE_URL",
        // A Redis URL may carry a password.
        value: if raw.contains('@') {
            "<redacted>".to_owned()
        } else {
            raw.clone()
        },
        reason,
    })
}

fn parse_metrics_addr(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<SocketAddr>, ConfigError> {
    match lookup("METRICS_ADDR").as_deref().map(str::trim) {
        None | Some("off") => Ok(None),
        Some(addr) => addr.parse().map(Some).map_err(|_| ConfigError {
            name: "METRICS_ADDR",
            value: addr.to_owned(),
            reason: "expected off or an address such as 127.0.0.1:9100",
        }),
    }
}

fn parse_secret(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Vec<u8>>, ConfigError> {
    match lookup("JWT_SECRET") {
        None => Ok(None),
        Some(secret) if secret.len() >= 32 => Ok(Some(secret.into_bytes())),
        Some(_) => Err(ConfigError {
            name: "JWT_SECRET",
            // Never echo a secret, not even a short, rejected one.
            value: "<redacted>".to_owned(),
            reason: "must be at least 32 bytes",
        }),
    }
}

/// `USERS_FILE`, read and checked whole before the server starts; unset or empty: no entries.
/// A refusal names the entry (`<path>: entry 1 (dave), field password_hash`) and never a
/// password or hash. The file's text is wiped once read, as it may hold plain passwords.
fn parse_users_file(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<UserEntry>, ConfigError> {
    let Some(path) = lookup("USERS_FILE").filter(|path| !path.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path.trim()).map_err(|_| ConfigError {
        name: "USERS_FILE",
        value: path.clone(),
        reason: "cannot read this file",
    })?;
    let parsed = users::file::parse(&text);
    users::file::wipe(text);
    parsed.map_err(|error| ConfigError {
        name: "USERS_FILE",
        value: format!("{path}: {}", error.place),
        reason: error.reason,
    })
}

/// `ACCESS_TOKEN_CLAIMS`: claim names, each a user claim a `USERS_FILE` may hold.
fn parse_access_token_claims(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = lookup("ACCESS_TOKEN_CLAIMS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            if users::claims::RESERVED.contains(&name) {
                Err(ConfigError {
                    name: "ACCESS_TOKEN_CLAIMS",
                    value: name.to_owned(),
                    reason: "the provider sets this claim itself",
                })
            } else {
                Ok(name.to_owned())
            }
        })
        .collect()
}

mod oidc;
#[cfg(test)]
mod tests;
