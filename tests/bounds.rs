#![cfg(feature = "ssr")]
//! The store stays bounded: per-user session limits, purging of what expired (throttle entries
//! too), and no record per refresh from a browser that lost its session cookie. On every backend.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;

for_each_backend! {
#[tokio::test]
async fn refreshing_without_the_session_cookie_leaves_the_store_flat() {
    let app = app().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let records = app.state.store.count_records().await.unwrap();
    for _ in 0..50 {
        browser.cookies.remove("tf_session");
        assert_eq!(browser.refresh().await.status, StatusCode::OK);
    }
    assert_eq!(app.state.store.count_records().await.unwrap(), records);
    assert_eq!(app.state.families.active_count().await.unwrap(), 1);
}

#[tokio::test]
async fn signing_in_beyond_the_per_user_limit_revokes_the_oldest_session() {
    let app = app_with(&[("MAX_SESSIONS_PER_USER", "2")]).await;
    let (mut oldest, oldest_token) = app.signed_in("alice").await;
    app.advance(Duration::from_millis(1));
    let (mut middle, _) = app.signed_in("alice").await;
    app.advance(Duration::from_millis(1));
    let (_newest, newest_token) = app.signed_in("alice").await;
    let (_admin, _) = app.signed_in("admin").await;

    assert_eq!(app.get("/api/me", Some(&oldest_token)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(oldest.refresh().await.error_code(), "invalid_grant");
    assert_eq!(middle.refresh().await.status, StatusCode::OK);
    assert_eq!(app.get("/api/me", Some(&newest_token)).await.status, StatusCode::OK);
    assert_eq!(app.state.families.active_count().await.unwrap(), 3);
}

#[tokio::test]
async fn expired_sessions_and_their_records_are_purged_by_the_sweep() {
    let app = app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "300")]).await;
    for _ in 0..5 {
        app.signed_in("alice").await;
    }
    assert_eq!(app.state.store.count_records().await.unwrap(), 5);
    app.advance(Duration::from_secs(300));
    tokenflight::server::sweep_expired(&app.state).await;
    assert_eq!(app.state.families.active_count().await.unwrap(), 0);
    assert_eq!(app.state.store.count_records().await.unwrap(), 0);
}
}

/// Bytes on disk of a SQLite database: (the file, its write-ahead log).
fn sqlite_bytes(path: &std::path::Path) -> (u64, u64) {
    let size = |suffix: &str| {
        std::fs::metadata(format!("{}{suffix}", path.display())).map_or(0, |meta| meta.len())
    };
    (size(""), size("-wal"))
}

/// Sign-ins of distinct users (each a family and a browser-session record, as `sign_in` makes
/// them, minus the password hash), all live at once, then all expired and swept: the SQLite file
/// and its log shrink back. 1,000 by default; the figures in docs/store-measurements.md come
/// from `STORE_SIZE_SIGN_INS=10000 cargo test --features ssr --test bounds sqlite_file -- --nocapture`.
#[tokio::test]
async fn the_sqlite_file_shrinks_back_after_sign_ins_expire() {
    let sign_ins: usize = std::env::var("STORE_SIZE_SIGN_INS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    use tower_sessions::{
        cookie::time::OffsetDateTime,
        session::{Id, Record},
        SessionStore,
    };

    let app = common::TestApp::start(common::Backend::Sqlite, &[]).await;
    let file = app.sqlite_file().unwrap().clone();
    let empty = sqlite_bytes(&file);
    for i in 0..sign_ins {
        let user = format!("u-{i}");
        let grant = app.state.families.start(&user, None).await.unwrap();
        let data = serde_json::json!({ "auth": {
            "user": { "id": user, "username": user, "roles": ["user"] },
            "session_id": grant.session_id,
        }});
        let mut record = Record {
            id: Id::default(),
            data: serde_json::from_value(data).unwrap(),
            expiry_date: OffsetDateTime::now_utc() + Duration::from_secs(1800),
        };
        app.state.session_store.create(&mut record).await.unwrap();
        app.state
            .families
            .attach_browser_session(&grant.session_id, record.id.0)
            .await
            .unwrap();
    }
    // The log is copied into the file beside the writer, within a second
    // (`store/sqlite/writer.rs`).
    let copied = Instant::now() + Duration::from_secs(10);
    while sqlite_bytes(&file).0 <= empty.0 * 4 && Instant::now() < copied {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let full = sqlite_bytes(&file);
    app.advance(Duration::from_secs(43_200));
    tokenflight::server::sweep_expired(&app.state).await;
    let swept = sqlite_bytes(&file);
    println!(
        "SQLite (file, WAL) bytes: empty {empty:?}, after {sign_ins} sign-ins {full:?}, \
         after their expiry and a sweep {swept:?}"
    );
    assert_eq!(app.state.families.active_count().await.unwrap(), 0);
    assert!(
        full.0 + full.1 > empty.0 + empty.1,
        "the sign-ins took room"
    );
    assert!(
        swept.0 * 4 < full.0,
        "the file gives its pages back: {swept:?} vs {full:?}"
    );
    assert_eq!(swept.1, 0, "the sweep empties the write-ahead log");
}

/// A spray of made-up usernames leaves one throttle entry per name (and one for the address)
/// only until their window passes: then the sweep deletes them. (Redis drops them by TTL.)
#[tokio::test]
async fn throttle_entries_of_a_username_spray_are_swept_once_their_window_passes() {
    let app = common::TestApp::start(common::Backend::Sqlite, &[]).await;
    for n in 0..10 {
        let guess = app
            .send(common::login_request(&format!("made-up-{n}"), "x"))
            .await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    let url = format!("sqlite://{}", app.sqlite_file().unwrap().display());
    let file = sqlx::SqlitePool::connect(&url).await.unwrap();
    let count = "SELECT COUNT(*) FROM throttle";
    let rows: i64 = sqlx::query_scalar(count).fetch_one(&file).await.unwrap();
    assert_eq!(
        rows,
        10 * 2 + 1,
        "a pair and an account per name, one address"
    );
    app.advance(Duration::from_secs(60));
    tokenflight::server::sweep_expired(&app.state).await;
    let rows: i64 = sqlx::query_scalar(count).fetch_one(&file).await.unwrap();
    assert_eq!(rows, 0);
}
