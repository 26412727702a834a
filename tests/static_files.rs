#![cfg(feature = "ssr")]
//! The bundle under `/pkg`: precompressed siblings are sent as they are, and content-hashed
//! names are cached for good (but never a miss).

use std::{fs, path::PathBuf, sync::Arc};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use tokenflight::server::{
    config::Config,
    core::{clock::SystemClock, store::StoreUrl},
    router, IdpState,
};
use tower::ServiceExt;

/// A site root with `pkg/app.css` and its `.br` sibling, removed on drop.
struct Site(PathBuf);

impl Site {
    fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!("tokenflight-{name}-{}", std::process::id()));
        fs::create_dir_all(root.join("pkg")).unwrap();
        fs::write(root.join("pkg/app.css"), "body { color: red }").unwrap();
        fs::write(root.join("pkg/app.css.br"), "pretend-brotli").unwrap();
        Self(root)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

async fn get(
    site: &Site,
    hash_files: bool,
    path: &str,
) -> (StatusCode, Option<String>, Option<String>, String) {
    let options = LeptosOptions::builder()
        .output_name("tokenflight")
        .site_root(site.0.to_string_lossy().into_owned())
        .hash_files(hash_files)
        .build();
    let config = Config::from_lookup(|_| None).unwrap();
    let store = StoreUrl::Memory.open().await.expect("the memory store");
    let state = IdpState::with_store(config, store, Arc::new(SystemClock))
        .await
        .expect("the memory store answers");
    let app = router(state, options);
    let request = Request::get(path)
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|value: &header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let (status, cache, encoding) = (
        response.status(),
        header(header::CACHE_CONTROL),
        header(header::CONTENT_ENCODING),
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        cache,
        encoding,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn a_precompressed_sibling_is_sent_as_it_is() {
    let site = Site::new("precompressed");
    let (status, _, encoding, body) = get(&site, true, "/pkg/app.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(body, "pretend-brotli");
}

#[tokio::test]
async fn hashed_bundle_files_are_immutable_and_misses_are_not_cached() {
    let site = Site::new("immutable");
    let (_, cache, _, _) = get(&site, true, "/pkg/app.css").await;
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let (status, cache, _, _) = get(&site, true, "/pkg/app.0123abcd.css").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(cache, None);
}

#[tokio::test]
async fn unhashed_bundle_files_are_revalidated_on_every_load() {
    let site = Site::new("unhashed");
    let (_, cache, _, _) = get(&site, false, "/pkg/app.css").await;
    assert_eq!(cache.as_deref(), Some("no-cache"));
}
