//! Session fixation and cookie tossing: a refresh moves the browser session to a new id and
//! never into a session cookie someone else planted; two cookies of one name are refused.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

use crate::common::TestApp;

/// OWASP Session Management cheat sheet ("renew the session ID after any privilege level
/// change"): every refresh hands the browser a new session id, and the old one names nothing.
#[tokio::test]
async fn refresh_cycles_the_browser_session_id() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let before = browser.cookies["tf_session"].clone();
    let refreshed = browser.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let after = refreshed
        .cookie("tf_session")
        .expect("a new session cookie");
    assert_ne!(after, before);
    // The old id opens no page as alice any more (her dashboard's first paint holds her usage).
    let current = browser.get_page("/").await;
    assert!(
        current.body.contains("API requests served for you"),
        "{}",
        current.body
    );
    let mut stale = app.browser();
    stale.cookies.insert("tf_session".into(), before);
    let page = stale.get_page("/").await;
    assert!(
        !page.body.contains("API requests served for you"),
        "alice's dashboard"
    );
}

/// OWASP Session Management cheat sheet, "session fixation" (and cookie tossing from a sibling
/// subdomain or plain http): an attacker plants the `tf_session` of their own session in the
/// victim's browser. The victim's refresh must not move the victim into that id — else the
/// attacker's cookie shows the victim's pages and can sign the victim out.
#[tokio::test]
async fn planted_session_cookie_of_another_user_is_never_adopted_by_a_refresh() {
    let app = TestApp::new().await;
    let (attacker, _) = app.signed_in("admin").await;
    let planted = attacker.cookies["tf_session"].clone();
    let (mut victim, _) = app.signed_in("alice").await;
    victim.cookies.insert("tf_session".into(), planted.clone());

    let refreshed = victim.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.json()["user"]["username"], "alice");
    let given = refreshed.cookie("tf_session").expect("a session cookie");
    assert_ne!(given, planted, "the planted id was adopted");

    // The attacker's cookie neither shows alice's pages nor ends her session.
    let mut attacker_again = app.browser();
    attacker_again
        .cookies
        .insert("tf_session".into(), planted.clone());
    let page = attacker_again.get_page("/admin").await;
    assert!(
        !page.body.contains("Forbidden"),
        "alice's page: {}",
        page.body
    );
    let logout = app
        .post_with_cookies("/api/auth/logout", &format!("tf_session={planted}"))
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert_eq!(victim.refresh().await.status, StatusCode::OK);
}

fn with_cookies(path: &str, cookies: &str, https: bool) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::COOKIE, cookies)
        .header("sec-fetch-site", "same-origin");
    if https {
        request = request.header("x-forwarded-proto", "https");
    }
    request.body(Body::empty()).unwrap()
}

/// OWASP Session Management cheat sheet (cookie tossing) and RFC 6265 §5.4 (a browser sends
/// every matching cookie, in an order the server cannot rely on): with two cookies of one of our
/// names — one planted with another Domain or Path — the request is refused with a clear JSON
/// error rather than guessed, over http and over https (`__Secure-` does not stop a sibling
/// subdomain; only `__Host-` does).
#[tokio::test]
async fn two_cookies_of_one_name_are_refused_not_guessed() {
    let app = TestApp::new().await;
    let (browser, _) = app.signed_in("alice").await;
    let real = browser.refresh_cookie().unwrap();
    let cases = [
        (format!("tf_refresh=planted; tf_refresh={real}"), false),
        (format!("tf_refresh={real}; tf_refresh=planted"), false),
        (
            format!("__Secure-tf_refresh={real}; __Secure-tf_refresh=planted"),
            true,
        ),
        ("tf_session=a; tf_session=b".to_owned(), false),
    ];
    for (cookies, https) in cases {
        let response = app
            .send(with_cookies("/api/auth/refresh", &cookies, https))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{cookies}");
        assert_eq!(response.error_code(), "ambiguous_cookies", "{cookies}");
        assert!(!response.body.contains("planted"), "{}", response.body);
    }
    let page = app
        .send(
            Request::get("/")
                .header(header::COOKIE, "tf_session=a; tf_session=b")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // One of each is fine.
    let single = app
        .send(with_cookies(
            "/api/auth/refresh",
            &format!("tf_refresh={real}"),
            false,
        ))
        .await;
    assert_eq!(single.status, StatusCode::OK, "{}", single.body);
}
