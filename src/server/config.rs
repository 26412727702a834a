//! Every environment variable the server reads, its default, and its validation.
//!
//! Read once at start-up: a bad value stops the process with a message naming the variable,
//! instead of surfacing as odd behaviour hours later. `LEPTOS_*` variables are read by Leptos.

use std::{env, fmt, net::SocketAddr, time::Duration};

use super::store::{StoreUrl, DEFAULT_STORE_URL};

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
    /// `DEMO_CONTROLS`, `on` (default) or `off`: the `/api/demo/*` fault controls.
    pub demo_controls: bool,
    /// `LOGIN_MAX_FAILURES`, default 5: failed logins for one account before it is throttled.
    pub login_max_failures: u32,
    /// `LOGIN_LOCKOUT_SECS`, default 60: how long a throttled account must wait; failures older
    /// than this are forgotten.
    pub login_lockout: Duration,
    /// `LOGIN_HASH_CONCURRENCY`, default 2: password hashes computed at once (each takes ~19 MiB).
    pub login_hash_concurrency: usize,
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
}

/// `LOG_FORMAT`, `text` (default; coloured on a terminal) or `json` (one object per line, for
/// log collectors). Read before everything else, since it decides how logging starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
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
    Always,
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
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secs = |name, default, min| -> Result<Duration, ConfigError> {
            parse_number(&lookup, name, default, min).map(Duration::from_secs)
        };
        let config = Config {
            access_token_ttl: secs("ACCESS_TOKEN_TTL_SECS", 60, 1)?,
            refresh_grace: secs("REFRESH_GRACE_SECS", 10, 0)?,
            session_idle_timeout: secs("SESSION_IDLE_TIMEOUT_SECS", 1800, 1)?,
            session_absolute_timeout: secs("SESSION_ABSOLUTE_TIMEOUT_SECS", 43_200, 1)?,
            jwt_secret: parse_secret(&lookup)?,
            demo_controls: parse_switch(&lookup, "DEMO_CONTROLS", true)?,
            login_max_failures: parse_number(&lookup, "LOGIN_MAX_FAILURES", 5, 1)? as u32,
            login_lockout: secs("LOGIN_LOCKOUT_SECS", 60, 1)?,
            login_hash_concurrency: parse_number(&lookup, "LOGIN_HASH_CONCURRENCY", 2, 1)? as usize,
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
            .field("demo_controls", &self.demo_controls)
            .field("login_max_failures", &self.login_max_failures)
            .field("login_lockout", &self.login_lockout)
            .field("login_hash_concurrency", &self.login_hash_concurrency)
            .field("cookie_secure", &self.cookie_secure)
            .field("store_url", &self.store_url)
            .field("store_timeout", &self.store_timeout)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("metrics_addr", &self.metrics_addr)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn defaults_match_the_readme() {
        let config = config_with(&[]).unwrap();
        assert_eq!(config.access_token_ttl, Duration::from_secs(60));
        assert_eq!(config.refresh_grace, Duration::from_secs(10));
        assert_eq!(config.session_idle_timeout, Duration::from_secs(1800));
        assert_eq!(config.session_absolute_timeout, Duration::from_secs(43_200));
        assert!(config.jwt_secret.is_none());
        assert!(config.demo_controls);
        assert_eq!(config.login_max_failures, 5);
        assert_eq!(config.login_lockout, Duration::from_secs(60));
        assert_eq!(config.login_hash_concurrency, 2);
        assert_eq!(config.cookie_secure, CookieSecure::Auto);
        assert!(
            matches!(config.store_url, StoreUrl::Sqlite(ref url) if url == "sqlite://tokenflight.db")
        );
        assert_eq!(config.store_timeout, Duration::from_millis(2000));
        assert_eq!(config.max_sessions_per_user, 10);
        assert_eq!(config.metrics_addr, None);
    }

    #[test]
    fn store_and_metrics_settings_are_validated() {
        assert!(config_with(&[("STORE_URL", "postgres://x")]).is_err());
        let error = config_with(&[("STORE_URL", "mysql://:hunter2@db")]).unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(config_with(&[("STORE_TIMEOUT_MS", "0")]).is_err());
        assert!(config_with(&[("MAX_SESSIONS_PER_USER", "0")]).is_err());
        assert!(config_with(&[("METRICS_ADDR", "9100")]).is_err());
        let config = config_with(&[("METRICS_ADDR", "127.0.0.1:9100")]).unwrap();
        assert_eq!(config.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
    }

    #[test]
    fn a_non_numeric_ttl_names_the_variable() {
        let error = config_with(&[("ACCESS_TOKEN_TTL_SECS", "soon")]).unwrap_err();
        assert!(
            error.to_string().contains("ACCESS_TOKEN_TTL_SECS"),
            "{error}"
        );
    }

    #[test]
    fn an_access_token_ttl_beyond_a_day_is_refused() {
        assert!(config_with(&[("ACCESS_TOKEN_TTL_SECS", "86400")]).is_ok());
        let error = config_with(&[("ACCESS_TOKEN_TTL_SECS", "86401")]).unwrap_err();
        assert!(
            error.to_string().contains("ACCESS_TOKEN_TTL_SECS"),
            "{error}"
        );
    }

    #[test]
    fn a_zero_ttl_is_refused_but_a_zero_grace_window_is_allowed() {
        assert!(config_with(&[("ACCESS_TOKEN_TTL_SECS", "0")]).is_err());
        let config = config_with(&[("REFRESH_GRACE_SECS", "0")]).unwrap();
        assert_eq!(config.refresh_grace, Duration::ZERO);
    }

    #[test]
    fn a_short_jwt_secret_is_refused_without_echoing_it() {
        let error = config_with(&[("JWT_SECRET", "hunter2")]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("JWT_SECRET") && !message.contains("hunter2"),
            "{message}"
        );
    }

    #[test]
    fn demo_controls_can_be_switched_off_and_typos_are_refused() {
        assert!(
            !config_with(&[("DEMO_CONTROLS", "off")])
                .unwrap()
                .demo_controls
        );
        assert!(config_with(&[("DEMO_CONTROLS", "of")]).is_err());
    }

    #[test]
    fn log_format_defaults_to_text_and_knows_json() {
        assert_eq!(LogFormat::from_lookup(|_| None).unwrap(), LogFormat::Text);
        let json = LogFormat::from_lookup(|_| Some("json".into())).unwrap();
        assert_eq!(json, LogFormat::Json);
        assert!(LogFormat::from_lookup(|_| Some("xml".into())).is_err());
    }

    #[test]
    fn an_absolute_lifetime_shorter_than_the_idle_one_is_refused() {
        let vars = [
            ("SESSION_IDLE_TIMEOUT_SECS", "600"),
            ("SESSION_ABSOLUTE_TIMEOUT_SECS", "60"),
        ];
        assert!(config_with(&vars).is_err());
    }
}
