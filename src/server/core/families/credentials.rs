//! The refresh credential: `<session id>.<generation>.<mac>`, where the MAC is an HMAC over the
//! first two parts. Nothing secret is stored: the server re-derives the credential of any
//! generation, so it can hand back the family's *current* one during a grace replay, and the
//! generation alone tells current, previous and older credentials apart.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{FamilyRegistry, RefreshRefusal};

type HmacSha256 = Hmac<Sha256>;

/// A refresh credential. Its `Debug` is redacted so it cannot leak into a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// The credential's text, for the one place it may go: the cookie or the token response.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

impl FamilyRegistry {
    /// The session id a credential names, if its MAC is genuine (used by logout, which must
    /// work even with an already rotated-away credential).
    pub fn session_of(&self, presented: &str) -> Option<String> {
        self.authenticate(presented)
            .ok()
            .map(|(session_id, _)| session_id)
    }

    pub(super) fn credential(&self, session_id: &str, generation: u64) -> RefreshToken {
        let payload = format!("{session_id}.{generation}");
        let mac = self.mac(self.keys.signing(), &payload);
        let mac = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        RefreshToken(format!("{payload}.{mac}"))
    }

    fn mac(&self, key: &[u8], payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size");
        mac.update(payload.as_bytes());
        mac
    }

    /// Checks the MAC (in constant time) and splits a credential into session id and generation.
    pub(super) fn authenticate(&self, presented: &str) -> Result<(String, u64), RefreshRefusal> {
        let (payload, mac) = presented
            .rsplit_once('.')
            .ok_or(RefreshRefusal::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| RefreshRefusal::Malformed)?;
        // Each comparison is constant-time; which key matched may show, the MAC never does.
        if !self
            .keys
            .verifying()
            .any(|key| self.mac(key, payload).verify_slice(&mac).is_ok())
        {
            return Err(RefreshRefusal::Malformed);
        }
        let (session_id, generation) = payload.split_once('.').ok_or(RefreshRefusal::Malformed)?;
        let generation = parse_generation(generation).ok_or(RefreshRefusal::Malformed)?;
        Ok((session_id.to_owned(), generation))
    }
}

/// A generation exactly as `FamilyRegistry::credential` writes it: decimal digits, no sign, no
/// leading zero. Whatever `u64::from_str` also takes (`+0`, `00`) would be a second spelling of
/// one credential — harmless only while the MAC holds — so nothing but the canonical one parses.
fn parse_generation(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}
