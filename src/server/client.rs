//! Who is signing in, and how often they may try: the client's address (the peer, or the last
//! `X-Forwarded-For` hop when a trusted proxy sets it) and a per-address limit on sign-in
//! attempts, so a spray of made-up usernames meets a 429 however many names it invents.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{clock::Clock as GovernorClock, middleware::NoOpMiddleware, Quota, RateLimiter};

use super::{
    clock::Clock,
    error::ApiError,
    guard::{back_to_the_form, FORM_PREFIX},
    state::AppState,
};
use crate::{api::auth::paths as auth_paths, form_login::LoginFailure};

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
/// IPv6 addresses are cut to their /64, the block one subscriber gets.
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
    match forwarded.or(peer) {
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
/// an even trickle), on the injected clock.
pub struct ClientLimiter {
    limiter: RateLimiter<
        IpAddr,
        governor::state::keyed::DefaultKeyedStateStore<IpAddr>,
        InjectedClock,
        NoOpMiddleware<Duration>,
    >,
    clock: InjectedClock,
}

impl ClientLimiter {
    pub fn new(per_minute: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let clock = InjectedClock(clock);
        Self {
            limiter: RateLimiter::hashmap_with_clock(Quota::per_minute(per_minute), clock.clone()),
            clock,
        }
    }

    /// `Err(seconds to wait)` when this address has used its quota.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_millis().div_ceil(1000).max(1) as u64
        })
    }

    /// Forgets addresses whose quota is full again.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// governor's clock, read from ours, so tests move the limiter's time like everything else's.
#[derive(Clone)]
struct InjectedClock(Arc<dyn Clock>);

impl GovernorClock for InjectedClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now_ms())
    }
}

/// Around the JSON login and the form login (every other path passes straight through): applies the per-address limit (429
/// `too_many_attempts`, or the form's "throttled" page) and records the address for the
/// throttle.
pub async fn limit_sign_ins(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_form = path.starts_with(FORM_PREFIX);
    if !(is_form || path == auth_paths::LOGIN) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let client = client_addr(request.headers(), peer, state.config.trust_forwarded_for);
    if let Err(retry_after_secs) = state.client_limiter.check(client) {
        tracing::info!(%client, "sign-in refused: too many attempts from this address");
        return if is_form {
            back_to_the_form(LoginFailure::Throttled)
        } else {
            ApiError::TooManyAttempts { retry_after_secs }.into_response()
        };
    }
    CLIENT.scope(client, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use axum::http::HeaderValue;

    use super::*;
    use crate::server::clock::ManualClock;

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
    fn the_limiter_refuses_past_the_quota_and_recovers_with_time() {
        let clock = ManualClock::new();
        let limiter = ClientLimiter::new(NonZeroU32::new(60).unwrap(), Arc::new(clock.clone()));
        for _ in 0..60 {
            assert_eq!(limiter.check(PEER), Ok(()));
        }
        assert_eq!(limiter.check(PEER), Err(1));
        assert_eq!(limiter.check(IpAddr::V4(Ipv4Addr::LOCALHOST)), Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(limiter.check(PEER), Ok(()));
    }
}
