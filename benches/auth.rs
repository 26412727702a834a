//! Micro-benchmarks of the server's per-request auth work: what a protected request pays
//! (verify an access token) and what a refresh pays (the rotation decision, then a new token).
//! Run by `scripts/bench.sh` with a bounded time; figures land in `docs/benchmarks.md`.

use std::{sync::Arc, time::Duration};

use divan::{black_box, Bencher};
use tokenflight::server::{
    clock::SystemClock,
    families::{FamilyRegistry, Lifetimes},
    tokens::TokenIssuer,
};

const SECRET: &[u8] = b"bench-only-secret-bench-only-secret";

fn main() {
    divan::main();
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(SECRET, Duration::from_secs(3600), Arc::new(SystemClock))
}

fn registry() -> FamilyRegistry {
    let lifetimes = Lifetimes {
        grace: Duration::from_secs(10),
        idle: Duration::from_secs(1800),
        absolute: Duration::from_secs(43200),
    };
    FamilyRegistry::new(SECRET.to_vec(), lifetimes, Arc::new(SystemClock))
}

#[divan::bench]
fn mint_access_token(bencher: Bencher) {
    let issuer = issuer();
    bencher.bench_local(|| issuer.issue(black_box("u-alice"), black_box("session"), 7));
}

#[divan::bench]
fn verify_access_token(bencher: Bencher) {
    let issuer = issuer();
    let token = issuer.issue("u-alice", "session", 7);
    bencher.bench_local(|| issuer.verify(black_box(&token)).expect("a fresh token"));
}

/// A refresh with the current credential: verify its MAC, rotate, sign the next one. Measured
/// among `families` other live families, since every refresh takes the registry's one lock.
#[divan::bench(args = [1, 10_000])]
fn rotate_refresh_credential(bencher: Bencher, families: usize) {
    let registry = registry();
    for _ in 1..families {
        registry.start("u-other");
    }
    let mut current = registry.start("u-alice").refresh_token.as_str().to_owned();
    bencher.bench_local(|| {
        let grant = registry
            .refresh(black_box(&current))
            .expect("the current credential");
        current = grant.refresh_token.as_str().to_owned();
    });
}

/// The previous credential inside the grace window: the decision that returns the current
/// credential and rotates nothing (two tabs refreshing at once).
#[divan::bench]
fn grace_replay_of_previous_credential(bencher: Bencher) {
    let registry = registry();
    let first = registry.start("u-alice").refresh_token.as_str().to_owned();
    registry.refresh(&first).expect("the current credential");
    bencher.bench_local(|| {
        registry
            .refresh(black_box(&first))
            .expect("inside the grace window")
    });
}
