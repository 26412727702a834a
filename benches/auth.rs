//! Micro-benchmarks of the per-request auth work: what a protected request pays (verify an
//! access token), what a refresh pays (the rotation decision on the in-memory store, then a new
//! token), and what the client pays to read a 401 (the `WWW-Authenticate` challenge).
//! Run by `scripts/bench.sh` with a bounded time; figures land in `docs/benchmarks.md`.

use std::{sync::Arc, time::Duration};

use divan::{black_box, Bencher};
use tokenflight::{
    auth::coordinator::challenge::parse_bearer_challenge,
    server::core::{
        clock::SystemClock,
        families::{FamilyRegistry, Lifetimes},
        keys::KeyRing,
        signing::SigningKeys,
        store::StoreUrl,
        tokens::{TokenIssuer, TokenKeys},
    },
};
use tokio::runtime::Runtime;

const SECRET: &[u8] = b"bench-only-secret-bench-only-secret";

fn main() {
    divan::main();
}

/// The signing algorithms compared: ES256 (what the server signs with since issue #26, its
/// public key in the JWKS) and HS256 (the shared secret it signed with before).
const ALGORITHMS: &[&str] = &["ES256", "HS256"];

fn issuer(algorithm: &str) -> TokenIssuer {
    let keys = match algorithm {
        "ES256" => TokenKeys::es256(&SigningKeys::derived(&KeyRing::new(
            SECRET.to_vec(),
            vec![],
        ))),
        _ => TokenKeys::hs256(SECRET.to_vec()),
    };
    TokenIssuer::new(
        keys,
        "http://127.0.0.1:3000",
        Duration::from_secs(3600),
        Arc::new(SystemClock),
    )
}

/// A registry on the in-memory store, and the runtime its async calls run on.
fn registry() -> (FamilyRegistry, Runtime) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let store = runtime
        .block_on(StoreUrl::Memory.open())
        .expect("the memory store");
    let lifetimes = Lifetimes {
        grace: Duration::from_secs(10),
        idle: Duration::from_secs(1800),
        absolute: Duration::from_secs(43200),
        access: Duration::from_secs(3600),
    };
    let registry = FamilyRegistry::new(
        store,
        SECRET.to_vec(),
        lifetimes,
        usize::MAX,
        Arc::new(SystemClock),
    );
    (registry, runtime)
}

#[divan::bench(args = ALGORITHMS)]
fn mint_access_token(bencher: Bencher, algorithm: &str) {
    let issuer = issuer(algorithm);
    bencher.bench_local(|| issuer.issue(black_box("u-alice"), black_box("session"), 7));
}

/// A token's first use: signature, header and claims are checked.
#[divan::bench(args = ALGORITHMS)]
fn verify_access_token_first_use(bencher: Bencher, algorithm: &str) {
    let issuer = issuer(algorithm);
    let mut ver = 0;
    bencher
        .with_inputs(|| {
            ver += 1;
            issuer.issue("u-alice", "session", ver)
        })
        .bench_local_refs(|token| issuer.verify(black_box(token)).expect("a fresh token"));
}

/// Every later use of the same token: a lookup by its text and the `exp` check.
#[divan::bench(args = ALGORITHMS)]
fn verify_access_token_again(bencher: Bencher, algorithm: &str) {
    let issuer = issuer(algorithm);
    let token = issuer.issue("u-alice", "session", 7);
    issuer.verify(&token).expect("a fresh token");
    bencher.bench_local(|| issuer.verify(black_box(&token)).expect("a fresh token"));
}

/// A refresh with the current credential: verify its MAC, rotate, sign the next one. Measured
/// among `families` other live families, since every refresh takes the registry's one lock.
#[divan::bench(args = [1, 10_000])]
fn rotate_refresh_credential(bencher: Bencher, families: usize) {
    let (registry, runtime) = registry();
    let start = |user| {
        runtime
            .block_on(registry.start(user, None))
            .expect("a session")
    };
    for _ in 1..families {
        start("u-other");
    }
    let mut current = start("u-alice").refresh_token.as_str().to_owned();
    bencher.bench_local(|| {
        let grant = runtime
            .block_on(registry.refresh(black_box(&current)))
            .expect("the current credential");
        current = grant.refresh_token.as_str().to_owned();
    });
}

/// The previous credential inside the grace window: the decision that returns the current
/// credential and rotates nothing (two tabs refreshing at once).
#[divan::bench]
fn grace_replay_of_previous_credential(bencher: Bencher) {
    let (registry, runtime) = registry();
    let grant = runtime
        .block_on(registry.start("u-alice", None))
        .expect("a session");
    let first = grant.refresh_token.as_str().to_owned();
    runtime
        .block_on(registry.refresh(&first))
        .expect("the current credential");
    bencher.bench_local(|| {
        runtime
            .block_on(registry.refresh(black_box(&first)))
            .expect("inside the grace window")
    });
}

/// The client reading a 401: finding the `Bearer` challenge and its `error` among others.
#[divan::bench]
fn parse_www_authenticate_challenge() -> Option<String> {
    let header = r#"Basic realm="x", Bearer realm="tokenflight", error="invalid_token", error_description="The access token expired""#;
    parse_bearer_challenge(black_box(header)).and_then(|challenge| challenge.error)
}
