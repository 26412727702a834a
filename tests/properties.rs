#![cfg(feature = "ssr")]
//! Property tests: for *any* input of a kind, a security property holds. Each runs a few hundred
//! generated cases against the real router (or the real function) on one runtime.

mod common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::TestApp;
use proptest::{prelude::*, test_runner::TestRunner};
use tokenflight::{api::redirect::safe_next, auth::coordinator::challenge::parse_bearer_challenge};

/// `cases` generated inputs; failures are reported, not saved to a file (`TestRunner` has no
/// source file to save them beside).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Characters a cookie value may carry (so the request itself is well-formed) and then some.
const COOKIE_CHARS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~!";

#[derive(Clone, Debug)]
enum Mutation {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    Truncate(usize),
    Swap(usize, usize),
}

impl Mutation {
    fn apply(&self, credential: &str) -> String {
        let mut chars: Vec<char> = credential.chars().collect();
        let at = |i: usize| i % chars.len().max(1);
        match *self {
            Self::Replace(i, c) => {
                let i = at(i);
                chars[i] = c;
            }
            Self::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Self::Delete(i) => {
                let i = at(i);
                chars.remove(i);
            }
            Self::Truncate(i) => chars.truncate(at(i)),
            Self::Swap(i, j) => {
                let (i, j) = (at(i), at(j));
                chars.swap(i, j);
            }
        }
        chars.into_iter().collect()
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let char = proptest::sample::select(COOKIE_CHARS.chars().collect::<Vec<_>>());
    prop_oneof![
        (any::<usize>(), char.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<usize>(), char).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
    ]
}

/// RFC 9700 §4.14 (refresh tokens must not be forgeable): every change to a live credential —
/// a replaced, inserted or deleted character, a truncation, a swap — is refused, and the real
/// credential still works afterwards (a mutation is not mistaken for reuse).
#[test]
fn any_mutation_of_a_refresh_credential_is_refused() {
    let rt = runtime();
    let app = rt.block_on(TestApp::new());
    let credential =
        rt.block_on(async { app.signed_in("alice").await.0.refresh_cookie().unwrap() });
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&mutation(), |mutation| {
            let mutated = mutation.apply(&credential);
            prop_assume!(mutated != credential);
            let cookie = format!("tf_refresh={mutated}");
            let response = rt.block_on(app.post_with_cookies("/api/auth/refresh", &cookie));
            prop_assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", mutated);
            Ok(())
        })
        .unwrap();
    let cookie = format!("tf_refresh={credential}");
    let genuine = rt.block_on(app.post_with_cookies("/api/auth/refresh", &cookie));
    assert_eq!(genuine.status, StatusCode::OK);
}

/// What a browser makes of a `Location` path (WHATWG URL: leading C0 controls and spaces
/// trimmed, tabs and newlines removed anywhere, `\` read as `/` in http(s) URLs).
fn as_a_browser_reads_it(location: &str) -> String {
    location
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// OWASP Unvalidated Redirects cheat sheet: whatever `next` holds, the target stays on this
    /// site — a path, never `//host`, `scheme:` or a backslash/whitespace trick a browser would
    /// turn into one.
    #[test]
    fn safe_next_never_yields_an_off_site_target(
        next in prop_oneof![
            any::<String>(),
            "[/\\\\\t\n\r ]{0,3}[a-zA-Z.:/\\\\@%]{0,16}",
        ]
    ) {
        let target = safe_next(Some(&next));
        let seen = as_a_browser_reads_it(&target);
        prop_assert!(seen.starts_with('/'), "{:?} -> {:?}", next, target);
        prop_assert!(!seen.starts_with("//"), "{:?} -> {:?}", next, target);
    }
}

/// The JSON endpoints and the form endpoint, with what a request to each needs besides its body.
/// Every route that reads a body, and whether it wants the Bearer token: the JSON API, the
/// demo controls, the login form's server function and every data server function.
const ENDPOINTS: [(&str, bool); 15] = [
    ("/api/auth/login", false),
    ("/api/auth/refresh", false),
    ("/api/auth/logout", false),
    ("/api/items", true),
    ("/api/demo/faults", true),
    ("/rpc/login", false),
    ("/api/fn/profile", true),
    ("/api/fn/items", true),
    ("/api/fn/notifications", true),
    ("/api/fn/usage", true),
    ("/api/fn/admin_stats", true),
    // The OpenID Connect provider's form endpoints (issue #26).
    ("/oauth/token", false),
    ("/oauth/revoke", false),
    ("/oauth/introspect", false),
    ("/oauth/userinfo", true),
];

const CONTENT_TYPES: [Option<&str>; 5] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    None,
];

/// OWASP REST Security cheat sheet (input validation, error handling): arbitrary bytes under
/// any content type to every endpoint that reads a body get a client error or success, never a
/// 500; the API's errors keep their JSON shape.
#[test]
fn arbitrary_bytes_to_every_route_that_reads_a_body_never_give_a_500() {
    let rt = runtime();
    let app = rt.block_on(TestApp::with_env(&[
        ("LOGIN_PER_CLIENT_PER_MINUTE", "1000000"),
        ("LOGIN_MAX_FAILURES", "1000000"),
    ]));
    let (_, token) = rt.block_on(app.signed_in("alice"));
    let strategy = (
        0..ENDPOINTS.len(),
        0..CONTENT_TYPES.len(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "\\{\"(username|password|title|failing_refreshes|latency_ms)\": ?(\"[^\"]{0,300}\"|-?[0-9]{1,25}|null|\\[\\]|true),? ?\\}"
                .prop_map(String::into_bytes),
            // Forms with repeated, empty and odd keys, for the server functions.
            "([a-z]{1,2}(\\[[a-z]?\\])?=[^&]{0,8}&){0,4}[a-z]{1,2}=?"
                .prop_map(String::into_bytes),
            // OAuth token-endpoint forms: real parameter names, odd and repeated values.
            "((grant_type|client_id|code|code_verifier|redirect_uri|refresh_token|token|scope)=(authorization_code|refresh_token|tokenflight-public|[^&]{0,40})&){0,5}grant_type=[a-z_%]{0,20}"
                .prop_map(String::into_bytes),
        ],
    );
    let mut runner = TestRunner::new(config(600));
    runner
        .run(&strategy, |(endpoint, content_type, body)| {
            let (path, bearer) = ENDPOINTS[endpoint];
            let mut request = Request::post(path).header("sec-fetch-site", "same-origin");
            if let Some(content_type) = CONTENT_TYPES[content_type] {
                request = request.header(header::CONTENT_TYPE, content_type);
            }
            if bearer {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let request = request.body(Body::from(body.clone())).unwrap();
            let response = rt.block_on(app.send(request));
            prop_assert!(
                !response.status.is_server_error(),
                "{} {} -> {} {}",
                path,
                String::from_utf8_lossy(&body),
                response.status,
                response.body
            );
            let json_api = path.starts_with("/api/") || path.starts_with("/oauth/");
            if json_api && !response.status.is_success() {
                prop_assert!(response.json()["error"].is_string(), "{}", response.body);
            }
            Ok(())
        })
        .unwrap();
}

/// RFC 6750 §3 / RFC 9110 §11.6.1: the client reads `WWW-Authenticate` from whatever a server or
/// proxy sends. Any string parses without a panic; and wherever the `Bearer` challenge sits
/// among others, with any quoted description, its `error` and `error_description` come back
/// exactly — the coordinator's refresh-or-not decision rests on that code.
#[test]
fn www_authenticate_parsing_never_panics_and_reads_the_bearer_error_exactly() {
    let mut runner = TestRunner::new(config(2000));
    runner
        .run(&any::<String>(), |header| {
            let _ = parse_bearer_challenge(&header);
            Ok(())
        })
        .unwrap();
    let challenge = (
        "[A-Za-z][A-Za-z0-9_-]{0,9}",
        "[a-z_]{1,20}",
        "[ -~]{0,40}",
        any::<bool>(),
    );
    runner
        .run(&challenge, |(other, code, description, bearer_first)| {
            prop_assume!(!other.eq_ignore_ascii_case("bearer"));
            let quoted = description.replace('\\', "\\\\").replace('"', "\\\"");
            let bearer = format!(
                r#"Bearer realm="tokenflight", error="{code}", error_description="{quoted}""#
            );
            let other = format!(r#"{other} realm="x, y""#);
            let header = if bearer_first {
                format!("{bearer}, {other}")
            } else {
                format!("{other}, {bearer}")
            };
            let parsed = parse_bearer_challenge(&header).expect("a Bearer challenge");
            prop_assert_eq!(parsed.error.as_deref(), Some(code.as_str()));
            prop_assert_eq!(parsed.description.as_deref(), Some(description.as_str()));
            Ok(())
        })
        .unwrap();
}
