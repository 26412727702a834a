//! Minting and verifying: lifetimes, tampering, algorithms per key, the HS256 upgrade window.

use super::*;
use crate::server::core::{clock::ManualClock, keys::KeyRing, signing::SigningKeys};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const ISSUER: &str = "http://127.0.0.1:3000";

fn issuer(clock: &ManualClock) -> TokenIssuer {
    TokenIssuer::new(
        SECRET.to_vec(),
        ISSUER,
        Duration::from_secs(60),
        Arc::new(clock.clone()),
    )
}

/// A header as ours, so a test changes only what it means to.
fn header() -> Header {
    Header {
        typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
        kid: Some(key_id(SECRET)),
        ..Header::new(Algorithm::HS256)
    }
}

#[test]
fn a_fresh_token_verifies_and_carries_its_session() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    clock.advance(Duration::from_millis(999 - clock.now_ms() % 1000));
    let issued_ms = clock.now_ms();
    let claims = issuer.verify(&issuer.issue("u1", "s1", 7)).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.sid.as_str(), claims.ver),
        ("u1", "s1", 7)
    );
    assert_eq!(claims.exp * 1000 - issued_ms, 60_001, "its TTL, rounded up");
}

#[test]
fn a_token_lives_at_least_its_expires_in_whatever_the_millisecond_it_is_issued() {
    let clock = ManualClock::new();
    let issuer = TokenIssuer::new(
        SECRET.to_vec(),
        ISSUER,
        Duration::from_secs(1),
        Arc::new(clock.clone()),
    );
    for _ in 0..40 {
        clock.advance(Duration::from_millis(37));
        let issued_ms = clock.now_ms();
        let (token, expires_in) = issuer.issue_within(
            "u1",
            "s1",
            0,
            Duration::from_secs(3600),
            IssuedTo::FIRST_PARTY,
        );
        let claims = issuer.verify(&token).unwrap();
        assert_eq!(expires_in, 1, "issued at {issued_ms} ms");
        let lives_ms = claims.exp * 1000 - issued_ms;
        assert!((1000..2000).contains(&lives_ms), "issued at {issued_ms} ms");
    }
}

#[test]
fn a_token_never_outlives_its_session() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    for left_ms in [0, 400, 1_000, 2_500, 59_999] {
        let session_ends_ms = clock.now_ms() + left_ms;
        let (token, expires_in) = issuer.issue_within(
            "u1",
            "s1",
            0,
            Duration::from_millis(left_ms),
            IssuedTo::FIRST_PARTY,
        );
        let claims = issuer.check_signature_and_claims(&token, true).unwrap();
        assert!(claims.exp * 1000 <= session_ends_ms, "{left_ms} ms left");
        assert!(expires_in * 1000 <= left_ms, "{left_ms} ms left");
    }
}

#[test]
fn a_token_is_refused_from_the_second_it_expires_with_no_leeway() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let token = issuer.issue("u1", "s1", 0);
    let exp = issuer.verify(&token).unwrap().exp;
    clock.advance(Duration::from_millis(exp * 1000 - clock.now_ms() - 1));
    assert!(
        issuer.verify(&token).is_ok(),
        "valid until the last millisecond"
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(issuer.verify(&token), Err(TokenError::Expired));
}

#[test]
fn a_remembered_token_does_not_vouch_for_one_that_differs_in_a_byte() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let token = issuer.issue("u1", "s1", 0);
    assert!(issuer.verify(&token).is_ok());
    assert!(issuer.verify(&token).is_ok(), "remembered");
    for position in [token.len() - 1, token.find('.').unwrap() + 3] {
        let mut tampered = token.clone().into_bytes();
        tampered[position] = if tampered[position] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(issuer.verify(&tampered).is_err(), "byte {position} changed");
    }
}

#[test]
fn a_token_signed_with_another_key_is_refused() {
    let clock = ManualClock::new();
    let other = TokenIssuer::new(
        vec![7; 32],
        ISSUER,
        Duration::from_secs(60),
        Arc::new(clock.clone()),
    );
    assert!(issuer(&clock).verify(&other.issue("u1", "s1", 0)).is_err());
}

#[test]
fn an_unsigned_alg_none_token_is_refused() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let signed = issuer.issue("u1", "s1", 0);
    let payload = signed.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}
    let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert!(issuer.verify(&forged).is_err());
}

#[test]
fn a_token_without_a_session_id_is_refused() {
    #[derive(Serialize)]
    struct NoSid<'a> {
        iss: &'a str,
        aud: &'a str,
        sub: &'a str,
        iat: u64,
        exp: u64,
        ver: u64,
    }
    let clock = ManualClock::new();
    let now = clock.now_secs();
    let claims = NoSid {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: "u1",
        iat: now,
        exp: now + 60,
        ver: 0,
    };
    let token = encode(&header(), &claims, &EncodingKey::from_secret(SECRET));
    assert!(issuer(&clock).verify(&token.unwrap()).is_err());
}

#[test]
fn a_token_for_another_audience_is_refused() {
    let clock = ManualClock::new();
    let now = clock.now_secs();
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: "someone-else".into(),
        sub: "u1".into(),
        sid: "s1".into(),
        iat: now,
        exp: now + 60,
        ver: 0,
        client_id: None,
        scope: None,
        jti: None,
        auth_time: None,
        cnf: None,
    };
    let token = encode(&header(), &claims, &EncodingKey::from_secret(SECRET));
    assert!(issuer(&clock).verify(&token.unwrap()).is_err());
}

#[test]
fn tokens_carry_at_jwt_and_a_kid_and_other_types_are_refused() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let token = issuer.issue("u1", "s1", 0);
    let issued = decode_header(&token).unwrap();
    assert_eq!(issued.typ.as_deref(), Some("at+jwt"));
    assert_eq!(issued.kid, Some(key_id(SECRET)));
    let claims = issuer.verify(&token).unwrap();
    for typ in [Some("JWT"), None] {
        let header = Header {
            typ: typ.map(str::to_owned),
            ..header()
        };
        let other = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(issuer.verify(&other).is_err(), "typ {typ:?}");
    }
    let no_kid = Header {
        kid: None,
        ..header()
    };
    let token = encode(&no_kid, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
    assert!(issuer.verify(&token).is_err(), "no kid");
}

#[test]
fn a_previous_key_still_verifies_but_no_longer_signs() {
    let clock = ManualClock::new();
    let ttl = Duration::from_secs(60);
    let ring = KeyRing::new(vec![2; 32], vec![vec![1; 32]]);
    let rotated = TokenIssuer::new(ring.derive("t"), ISSUER, ttl, Arc::new(clock.clone()));
    let old_ring = KeyRing::new(vec![1; 32], vec![]);
    let old_only = TokenIssuer::new(old_ring.derive("t"), ISSUER, ttl, Arc::new(clock.clone()));
    assert!(rotated.verify(&old_only.issue("u1", "s1", 0)).is_ok());
    let fresh = rotated.issue("u1", "s1", 1);
    assert!(old_only.verify(&fresh).is_err(), "signed with the new key");
}

fn es256(clock: &ManualClock, seed: u8) -> (TokenIssuer, SigningKeys) {
    let keys = SigningKeys::derived(&KeyRing::new(vec![seed; 32], vec![]));
    let issuer = TokenIssuer::new(
        TokenKeys::es256(&keys),
        ISSUER,
        Duration::from_secs(60),
        Arc::new(clock.clone()),
    );
    (issuer, keys)
}

#[test]
fn es256_tokens_verify_and_name_the_published_key() {
    let clock = ManualClock::new();
    let (issuer, keys) = es256(&clock, 1);
    let token = issuer.issue("u1", "s1", 0);
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(
        header.kid.as_deref(),
        Some(keys.signing().public().kid.as_str())
    );
    assert!(issuer.verify(&token).is_ok());
    let (other, _) = es256(&clock, 2);
    assert!(other.verify(&token).is_err(), "another key pair");
}

#[test]
fn an_hs256_token_keyed_with_the_public_key_is_refused() {
    let clock = ManualClock::new();
    let (issuer, keys) = es256(&clock, 1);
    let claims = AccessClaims::clone(&issuer.verify(&issuer.issue("u1", "s1", 0)).unwrap());
    let jwk = keys.signing().public();
    let header = Header {
        typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
        kid: Some(jwk.kid.clone()),
        ..Header::new(Algorithm::HS256)
    };
    let public_as_secret = [jwk.x.as_bytes(), jwk.y.as_bytes()].concat();
    let forged = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&public_as_secret),
    );
    assert!(issuer.verify(&forged.unwrap()).is_err());
}

#[test]
fn tokens_of_the_hs256_version_are_accepted_only_until_the_deadline() {
    let clock = ManualClock::new();
    let legacy = KeyRing::new(vec![9; 32], vec![]).derive("access-token");
    let old_version = TokenIssuer::new(
        legacy.clone(),
        PREVIOUS_ISSUER,
        Duration::from_secs(60),
        Arc::new(clock.clone()),
    );
    let (es, keys) = es256(&clock, 1);
    drop(es);
    let until = clock.now_secs() + 61;
    let upgraded = TokenIssuer::new(
        TokenKeys::es256(&keys).accepting_hs256_until(&legacy, until),
        ISSUER,
        Duration::from_secs(600),
        Arc::new(clock.clone()),
    )
    .accepting_previous_format_until(Some(until));
    let before = old_version.issue("u1", "s1", 0);
    assert!(
        upgraded.verify(&before).is_ok(),
        "issued before the upgrade"
    );
    clock.advance(Duration::from_secs(61));
    let late = old_version.issue("u1", "s1", 1);
    assert!(upgraded.verify(&late).is_err(), "past the deadline");
    assert_eq!(
        decode_header(upgraded.issue("u1", "s1", 2)).unwrap().alg,
        Algorithm::ES256,
        "never signs HS256"
    );
}

/// RFC 9068 §2.2: an access token names the client it was issued to, the scope granted, and
/// an identifier of its own; a token of the previous format (none of the three) still verifies
/// for the rest of its short life.
#[test]
fn a_token_says_whom_it_was_issued_to() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let for_client = IssuedTo {
        client_id: "my-app",
        scope: Some("openid profile"),
        user_claims: None,
        auth_time: Some(1_700_000_000),
        audience: AUDIENCE,
        dpop_jkt: None,
    };
    let (token, _) = issuer.issue_within("u1", "s1", 0, Duration::from_secs(60), for_client);
    let claims = issuer.verify(&token).unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("my-app"));
    assert_eq!(claims.scope.as_deref(), Some("openid profile"));
    assert_eq!(claims.auth_time, Some(1_700_000_000));
    let first_party = issuer.verify(&issuer.issue("u1", "s1", 0)).unwrap();
    assert_eq!(first_party.client_id.as_deref(), Some("tokenflight"));
    assert_eq!(first_party.scope, None);
    assert_ne!(claims.jti, first_party.jti, "each token has its own jti");
    assert!(claims.jti.as_ref().is_some_and(|jti| jti.len() >= 22));

    let now = clock.now_secs();
    let previous_format = serde_json::json!({
        "iss": PREVIOUS_ISSUER, "aud": AUDIENCE, "sub": "u1", "sid": "s1",
        "iat": now, "exp": now + 60, "ver": 0,
    });
    let old = encode(
        &header(),
        &previous_format,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert!(issuer.verify(&old).is_err(), "no upgrade window: refused");
    let upgraded = self::issuer(&clock).accepting_previous_format_until(Some(now + 61));
    assert_eq!(upgraded.verify(&old).unwrap().client_id, None);
}

/// RFC 9068 §4 step 2: `iss` must be this issuer exactly; the previous format's only inside
/// the upgrade window, and only for tokens that die inside it.
#[test]
fn a_token_of_another_issuer_is_refused_and_the_previous_one_only_inside_the_window() {
    let clock = ManualClock::new();
    let now = clock.now_secs();
    let token = |iss: &str, exp: u64| {
        let claims = serde_json::json!({
            "iss": iss, "aud": AUDIENCE, "sub": "u1", "sid": "s1",
            "iat": now, "exp": exp, "ver": 0,
        });
        encode(&header(), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    };
    let upgraded = issuer(&clock).accepting_previous_format_until(Some(now + 61));
    assert!(upgraded.verify(&token(ISSUER, now + 60)).is_ok());
    assert!(upgraded
        .verify(&token("http://evil.test", now + 60))
        .is_err());
    assert!(upgraded.verify(&token(ISSUER, now + 60)).is_ok());
    assert!(
        upgraded
            .verify(&token(PREVIOUS_ISSUER, now + 3600))
            .is_err(),
        "a previous-format token outliving the window is forged"
    );
    let early = token(PREVIOUS_ISSUER, now + 60);
    assert!(upgraded.verify(&early).is_ok());
    clock.advance(Duration::from_secs(61));
    assert!(upgraded.verify(&early).is_err());
}

/// RFC 9068 §2.2.2: the user's claims the operator named ride beside ours, and a token with
/// them verifies like any other.
#[test]
fn a_token_carries_the_user_claims_it_was_given() {
    let clock = ManualClock::new();
    let issuer = issuer(&clock);
    let serde_json::Value::Object(claims) = serde_json::json!({"email": "carol@example.test"})
    else {
        unreachable!()
    };
    let with_claims = IssuedTo {
        user_claims: Some(&claims),
        ..IssuedTo::FIRST_PARTY
    };
    let (token, _) = issuer.issue_within("u1", "s1", 0, Duration::from_secs(60), with_claims);
    assert_eq!(issuer.verify(&token).unwrap().sub, "u1");
    let payload = token.split('.').nth(1).unwrap();
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(payload["email"], "carol@example.test");
    assert_eq!(payload["client_id"], "tokenflight");
}
