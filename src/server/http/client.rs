//! Who is signing in, and how often they may try: the client's address (the peer, or the last
//! `X-Forwarded-For` hop when a trusted proxy sets it) and a per-address limit on sign-in
//! attempts, so a spray of made-up usernames meets a 429 however many names it invents. The
//! limit's state lives in the store, so instances sharing one count an address's attempts
//! together.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use crate::api::{auth::paths as auth_paths, login_form::LoginFailure};
use crate::server::{
    core::{
        clock::Clock,
        store::{
            entries::{self, Write},
            Store, StoreResult,
        },
    },
    http::{
        error::ApiError,
        guard::{back_to_the_form, is_cross_site_request, FORM_PREFIX},
        state::IdpState,
    },
};

tokio::task_local! {
    /// The address of the client whose sign-in is being handled. Set by [`limit_sign_ins`]
    /// around both login endpoints, so the throttle can key on it: the form login is a server
    /// function whose arguments are the form's fields, so the address cannot be passed in.
    static CLIENT: IpAddr;
}

/// The client of the sign-in in progress; the unspecified address if none was recorded, so a
/// caller outside [`limit_sign_ins`] shares one (strict) bucket rather than escaping the limit.
pub fn current_client() -> IpAddr {
    CLIENT
        .try_with(|client| *client)
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
}

/// The client's address: the TCP peer, or with `TRUST_FORWARDED_FOR` the last `X-Forwarded-For`
/// entry (the one our own proxy appended; earlier entries are whatever the client claimed).
/// IPv6 addresses are cut to their /64, the block one subscriber gets — after IPv4-mapped ones
/// (`::ffff:a.b.c.d`, how a dual-stack `[::]` listener sees every IPv4 peer) are turned back
/// into IPv4: otherwise all IPv4 clients share `::ffff:0:0/64`, one bucket, and one of them
/// can throttle or lock out all the others.
pub fn client_addr(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded: bool) -> IpAddr {
    let forwarded = trust_forwarded
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .next_back()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    match forwarded.or(peer).map(|addr| addr.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(Ipv6Addr::from(segments))
        }
        Some(v4) => v4,
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Sign-in attempts per client address (GCRA, so a burst up to the whole minute's quota, then
/// an even trickle), on the injected clock, kept in the store.
pub struct ClientLimiter {
    store: Arc<dyn Store>,
    rate: Gcra,
    clock: Arc<dyn Clock>,
}

impl ClientLimiter {
    /// `per_minute` attempts per address (`LOGIN_PER_CLIENT_PER_MINUTE`): the whole minute's
    /// quota at once, then one every `60 / per_minute` seconds.
    pub fn new(store: Arc<dyn Store>, per_minute: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            rate: Gcra::per_minute(per_minute),
            clock,
        }
    }

    /// `Ok(Err(seconds to wait))` when this address has used its quota; `Err` when the store
    /// failed (then nothing may be let through).
    pub async fn check(&self, client: IpAddr) -> StoreResult<Result<(), u64>> {
        let key = format!("client:{client}");
        entries::decide(self.store.as_ref(), &key, |arrival: Option<NextArrival>| {
            let now_us = self.clock.now_ms() * 1000;
            match self.rate.admit(arrival.map(|a| a.at_us), now_us) {
                Ok(at_us) => (
                    Ok(()),
                    // Past that time the address's quota is full again: nothing to remember.
                    Some(Write {
                        state: NextArrival { at_us },
                        expires_at_ms: at_us.div_ceil(1000),
                    }),
                ),
                Err(wait_us) => (Err(wait_us.div_ceil(1_000_000).max(1)), None),
            }
        })
        .await
    }
}

/// An address's whole state under GCRA: when its next attempt is due if it kept to the even
/// rate (the "theoretical arrival time"), in microseconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct NextArrival {
    at_us: u64,
}

/// The generic cell rate algorithm (as governor implements it): one attempt per `interval_us`,
/// and up to `tolerance_us` of them early, which is the burst.
#[derive(Clone, Copy, Debug)]
struct Gcra {
    interval_us: u64,
    tolerance_us: u64,
}

impl Gcra {
    /// `n` attempts a minute, all of them at once if need be.
    fn per_minute(n: NonZeroU32) -> Self {
        let interval_us = 60_000_000 / u64::from(n.get());
        Self {
            interval_us,
            tolerance_us: interval_us * u64::from(n.get() - 1),
        }
    }

    /// An attempt at `now_us` given the stored arrival time: the next arrival time to store, or
    /// `Err(microseconds until the attempt would be admitted)`.
    fn admit(&self, arrival_us: Option<u64>, now_us: u64) -> Result<u64, u64> {
        let arrival_us = arrival_us.unwrap_or(now_us);
        let earliest = arrival_us.saturating_sub(self.tolerance_us);
        if now_us < earliest {
            return Err(earliest - now_us);
        }
        Ok(arrival_us.max(now_us) + self.interval_us)
    }
}

/// Around the JSON login and the form login (every other path passes straight through):
/// applies the per-address limit (429 `too_many_attempts`, or the form's "throttled" page; 503
/// `temporarily_unavailable`, or the form's "unavailable" page, when the store cannot count the
/// attempt) and records the address for the throttle.
pub async fn limit_sign_ins(
    State(state): State<IdpState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_form = path.starts_with(FORM_PREFIX);
    if !(is_form || path == auth_paths::LOGIN) {
        return next.run(request).await;
    }
    // The guards inside refuse a cross-site attempt (403, or the form's "cross_site" page)
    // before any password is checked, so it must not spend the address's quota either:
    // otherwise any page the victim visits could post 60 of them and the real sign-in gets 429.
    if is_cross_site_request(&request, state.config.public_origin.as_deref()) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = client_addr(request.headers(), peer, state.config.trust_forwarded_for);
    let (failure, error) = match state.client_limiter.check(client).await {
        Ok(Ok(())) => return CLIENT.scope(client, next.run(request)).await,
        Ok(Err(retry_after_secs)) => {
            tracing::info!(%client, "sign-in refused: too many attempts from this address");
            (
                LoginFailure::Throttled,
                ApiError::TooManyAttempts { retry_after_secs },
            )
        }
        // Logged by the store wrapper. An attempt that was not counted is never let through.
        Err(error) => (LoginFailure::Unavailable, ApiError::from(error)),
    };
    if is_form {
        back_to_the_form(failure)
    } else {
        error.into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::{net::Ipv4Addr, time::Duration};

    use axum::http::HeaderValue;

    use super::*;
    use crate::server::core::{clock::ManualClock, store::memory::MemoryBackend};

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_unless_trusted_and_then_only_its_last_hop_counts() {
        let headers = forwarded("1.1.1.1, 192.0.2.7");
        assert_eq!(client_addr(&headers, Some(PEER), false), PEER);
        let expected: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_addr(&headers, Some(PEER), true), expected);
        let garbage = forwarded("not-an-address");
        assert_eq!(client_addr(&garbage, Some(PEER), true), PEER);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_bit_prefix() {
        let a = client_addr(&HeaderMap::new(), "2001:db8:1:2::1".parse().ok(), false);
        let b = client_addr(
            &HeaderMap::new(),
            "2001:db8:1:2:ffff::9".parse().ok(),
            false,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn ipv4_mapped_clients_are_told_apart_by_their_ipv4_address() {
        let mapped = |text: &str| client_addr(&HeaderMap::new(), text.parse().ok(), false);
        assert_eq!(
            mapped("::ffff:127.0.0.2"),
            "127.0.0.2".parse::<IpAddr>().unwrap()
        );
        assert_ne!(mapped("::ffff:127.0.0.2"), mapped("::ffff:127.0.0.3"));
    }

    #[tokio::test]
    async fn the_limiter_refuses_past_the_quota_and_recovers_with_time() {
        let clock = ManualClock::new();
        let store = Arc::new(MemoryBackend::default());
        let per_minute = NonZeroU32::new(60).unwrap();
        let limiter = &ClientLimiter::new(store, per_minute, Arc::new(clock.clone()));
        let check = |client| async move { limiter.check(client).await.unwrap() };
        for _ in 0..60 {
            assert_eq!(check(PEER).await, Ok(()));
        }
        assert_eq!(check(PEER).await, Err(1));
        assert_eq!(check(IpAddr::V4(Ipv4Addr::LOCALHOST)).await, Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(check(PEER).await, Ok(()));
    }

    #[test]
    fn gcra_admits_a_whole_minute_at_once_then_one_per_interval() {
        let rate = Gcra::per_minute(NonZeroU32::new(5).unwrap());
        let start = 1_000_000_000;
        let mut arrival = None;
        for _ in 0..5 {
            arrival = Some(rate.admit(arrival, start).unwrap());
        }
        assert_eq!(arrival, Some(start + 60_000_000));
        assert_eq!(rate.admit(arrival, start), Err(12_000_000), "60 s / 5");
        assert_eq!(rate.admit(arrival, start + 11_999_999), Err(1));
        let next = rate.admit(arrival, start + 12_000_000).unwrap();
        assert_eq!(rate.admit(Some(next), start + 12_000_000), Err(12_000_000));
        // A minute of silence fills the quota again: the stored time no longer matters.
        assert_eq!(
            rate.admit(Some(next), start + 72_000_000),
            Ok(start + 84_000_000)
        );
        assert_eq!(rate.admit(None, start + 72_000_000), Ok(start + 84_000_000));
    }
}
