//! Every variable: its default, its validation, and that secrets are never echoed.

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
    assert!(!config.demo_controls, "off in library use");
    assert!(
        Config::demo_from_lookup(|_| None).unwrap().demo_controls,
        "on in the demo binary"
    );
    assert_eq!(config.login_max_failures, 5);
    assert_eq!(config.login_lockout, Duration::from_secs(60));
    assert_eq!(config.login_hash_concurrency, 2);
    assert_eq!(config.login_queue_timeout, Duration::from_millis(2000));
    assert_eq!(config.login_per_client_per_minute.get(), 60);
    assert!(!config.trust_forwarded_for);
    assert_eq!(config.cookie_secure, CookieSecure::Auto);
    assert_eq!(config.public_origin, None);
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
fn public_origin_is_normalised_as_browsers_send_origin_and_paths_are_refused() {
    let origin = |value| config_with(&[("PUBLIC_ORIGIN", value)]).map(|c| c.public_origin);
    let expected = Some("https://app.example".to_owned());
    assert_eq!(origin("HTTPS://App.Example:443").unwrap(), expected);
    let with_port = Some("http://app.example:8080".to_owned());
    assert_eq!(origin("http://app.example:8080/").unwrap(), with_port);
    for bad in [
        "app.example",
        "ftp://app.example",
        "https://app.example/login",
    ] {
        assert!(origin(bad).is_err(), "{bad}");
    }
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
fn previous_secrets_are_split_on_commas_and_short_ones_refused_unechoed() {
    let long = "0123456789abcdef0123456789abcdef";
    let two = format!("{long}, {long}x");
    let config = config_with(&[("JWT_PREVIOUS_SECRETS", &two)]).unwrap();
    assert_eq!(config.jwt_previous_secrets.len(), 2);
    let short = format!("{long},hunter2");
    let error = config_with(&[("JWT_PREVIOUS_SECRETS", &short)]).unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{config:?}").contains(long));
}

#[test]
fn demo_controls_can_be_switched_either_way_and_typos_are_refused() {
    let demo = |value: &'static str| {
        Config::demo_from_lookup(move |name| (name == "DEMO_CONTROLS").then(|| value.to_owned()))
    };
    assert!(!demo("off").unwrap().demo_controls);
    assert!(
        config_with(&[("DEMO_CONTROLS", "on")])
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

// --- The OpenID Connect provider's variables (issue #26) ---

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("tokenflight-config-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn signing_key_files_and_clients_file_are_read_and_checked_at_start_up() {
    let config = config_with(&[]).unwrap();
    assert!(config.signing_keys.is_none() && config.oauth_clients.is_empty());
    let not_a_key = temp_file(
        "not-a-key.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let path = not_a_key.display().to_string();
    let error = config_with(&[("SIGNING_KEY_FILE", &path)]).unwrap_err();
    assert!(error.to_string().contains("SIGNING_KEY_FILE"), "{error}");
    assert!(config_with(&[("SIGNING_KEY_FILE", "/no/such/file.pem")]).is_err());
    assert!(
        config_with(&[("SIGNING_KEY_NEXT_FILE", &path)]).is_err(),
        "a next key without a signing key"
    );
    let clients = temp_file(
        "clients.json",
        r#"[{"client_id": "x", "kind": "confidential", "redirect_uris": ["https://x.example/cb"]}]"#,
    );
    let error = config_with(&[("OAUTH_CLIENTS_FILE", &clients.display().to_string())]).unwrap_err();
    assert!(error.to_string().contains("client_secret"), "{error}");
    let secret = temp_file(
        "secret-clients.json",
        r#"[{"client_id": "x", "client_secret": "a-secret-of-16-chars!", "kind": "confidential", "redirect_uris": ["https://x.example/cb"]}]"#,
    );
    let config = config_with(&[("OAUTH_CLIENTS_FILE", &secret.display().to_string())]).unwrap();
    assert_eq!(config.oauth_clients.len(), 1);
    assert!(!format!("{config:?}").contains("a-secret-of-16-chars!"));
    for file in [not_a_key, clients, secret] {
        let _ = std::fs::remove_file(file);
    }
}

// --- USERS_FILE (issue #31) ---

#[test]
fn a_users_file_is_read_at_start_up_and_its_passwords_kept_only_as_hashes() {
    assert!(
        config_with(&[]).unwrap().users.is_empty(),
        "no file: built-in users"
    );
    assert!(config_with(&[("USERS_FILE", " ")])
        .unwrap()
        .users
        .is_empty());
    let file = temp_file(
        "users.json",
        r#"[{"username": "carol", "password": "carol-pass-123", "roles": ["user"],
             "claims": {"email": "carol@example.test", "department": "qa"}}]"#,
    );
    let config = config_with(&[("USERS_FILE", &file.display().to_string())]).unwrap();
    assert_eq!(config.users.len(), 1);
    assert_eq!(config.users[0].username, "carol");
    let printed = format!("{config:?}");
    assert!(printed.contains("carol"), "{printed}");
    for secret in ["carol-pass-123", "argon2", "$v=19$"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn an_unreadable_or_non_json_users_file_is_refused_with_its_path() {
    let error = config_with(&[("USERS_FILE", "/no/such/users.json")]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("USERS_FILE") && message.contains("/no/such/users.json"),
        "{message}"
    );
    assert!(message.contains("cannot read"), "{message}");
    let file = temp_file(
        "not-json.json",
        "[{\"username\": \"carol\", \"password\": \"hunter2\"",
    );
    let message = config_with(&[("USERS_FILE", &file.display().to_string())])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("not JSON") && !message.contains("hunter2"),
        "{message}"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_bad_users_file_entry_is_named_by_index_and_username_without_its_password() {
    let file = temp_file(
        "bad-users.json",
        r#"[{"username": "carol", "password": "carol-pass-123"},
            {"username": "dave", "password": "hunter2-dave", "password_hash": "$argon2id$v=19$x"}]"#,
    );
    let path = file.display().to_string();
    let message = config_with(&[("USERS_FILE", &path)])
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("invalid USERS_FILE="), "{message}");
    assert!(
        message.contains(&format!("{path}: entry 1 (dave)")),
        "{message}"
    );
    assert!(message.contains("not both"), "{message}");
    for secret in ["hunter2-dave", "carol-pass-123", "$argon2id$v=19$x"] {
        assert!(!message.contains(secret), "{secret} in {message}");
    }
    let reserved = temp_file(
        "reserved-claim.json",
        r#"[{"username": "carol", "password": "carol-pass-123", "claims": {"sub": "u-admin"}}]"#,
    );
    let message = config_with(&[("USERS_FILE", &reserved.display().to_string())])
        .unwrap_err()
        .to_string();
    assert!(message.contains("entry 0 (carol), claim sub"), "{message}");
    assert!(!message.contains("carol-pass-123"), "{message}");
    for file in [file, reserved] {
        let _ = std::fs::remove_file(file);
    }
}

#[test]
fn access_token_claims_are_a_list_of_user_claims_never_one_the_provider_sets() {
    let claims = |value| config_with(&[("ACCESS_TOKEN_CLAIMS", value)]);
    assert!(config_with(&[]).unwrap().access_token_claims.is_empty());
    assert_eq!(
        claims(" email, department ,").unwrap().access_token_claims,
        ["email", "department"]
    );
    let error = claims("email,sub").unwrap_err();
    assert_eq!(
        (error.name, error.value.as_str()),
        ("ACCESS_TOKEN_CLAIMS", "sub")
    );
}

#[test]
fn dpop_is_on_unless_switched_off() {
    assert!(config_with(&[]).unwrap().dpop);
    assert!(!config_with(&[("DPOP", "off")]).unwrap().dpop);
    assert_eq!(config_with(&[("DPOP", "maybe")]).unwrap_err().name, "DPOP");
}
