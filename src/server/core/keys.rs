//! Signing keys and their rotation: one current secret signs, previous secrets only verify, so
//! rotating `JWT_SECRET` signs nobody out. Every purpose gets its own derived key.
//!
//! The surface is deliberately small — [`KeyRing::new`] and [`KeyRing::derive`] — so where the
//! master secret comes from (configuration, a generated key kept in a store) is the caller's
//! business.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The master secrets: `current` signs, `previous` (oldest last) still verify.
pub struct KeyRing {
    current: Vec<u8>,
    previous: Vec<Vec<u8>>,
}

impl KeyRing {
    /// `current` signs, `previous` (oldest last) only verify; the configuration insists on at
    /// least 32 bytes of each.
    pub fn new(current: Vec<u8>, previous: Vec<Vec<u8>>) -> Self {
        Self { current, previous }
    }

    /// The keys for one purpose. One secret, several keys: a leaked refresh MAC key must not
    /// mint access tokens, and vice versa.
    pub fn derive(&self, purpose: &str) -> DerivedKeys {
        DerivedKeys {
            signing: derive_key(&self.current, purpose),
            previous: self
                .previous
                .iter()
                .map(|secret| derive_key(secret, purpose))
                .collect(),
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing(<redacted>, {} previous)", self.previous.len())
    }
}

/// The keys of one purpose: [`DerivedKeys::signing`] signs; all of [`DerivedKeys::verifying`]
/// are accepted.
#[derive(Clone)]
pub struct DerivedKeys {
    signing: Vec<u8>,
    previous: Vec<Vec<u8>>,
}

impl DerivedKeys {
    /// The key that signs (derived from the current secret); never handed to a client.
    pub fn signing(&self) -> &[u8] {
        &self.signing
    }

    /// The signing key first, then the previous ones.
    pub fn verifying(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.signing.as_slice()).chain(self.previous.iter().map(Vec::as_slice))
    }
}

/// A single key that both signs and verifies (tests, or a store without rotation).
impl From<Vec<u8>> for DerivedKeys {
    fn from(signing: Vec<u8>) -> Self {
        Self {
            signing,
            previous: Vec::new(),
        }
    }
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DerivedKeys(<redacted>, {} previous)",
            self.previous.len()
        )
    }
}

/// A public name for a key (the JWT `kid`): a hash of it, which reveals nothing about the key.
pub fn key_id(key: &[u8]) -> String {
    let digest = Sha256::new_with_prefix(b"tokenflight/kid/")
        .chain_update(key)
        .finalize();
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Unchanged from the single-key days, so a deploy of rotation keeps existing credentials valid.
fn derive_key(master: &[u8], purpose: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(master).expect("HMAC takes keys of any size");
    mac.update(b"tokenflight/");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_different_keys_and_previous_secrets_follow_the_signing_one() {
        let ring = KeyRing::new(vec![1; 32], vec![vec![2; 32]]);
        let access = ring.derive("access-token");
        assert_ne!(
            access.signing(),
            ring.derive("refresh-credential").signing()
        );
        let old = KeyRing::new(vec![2; 32], vec![]).derive("access-token");
        let verifying: Vec<_> = access.verifying().collect();
        assert_eq!(verifying, [access.signing(), old.signing()]);
    }

    #[test]
    fn key_ids_are_stable_short_and_differ_per_key() {
        assert_eq!(key_id(&[1; 32]), key_id(&[1; 32]));
        assert_ne!(key_id(&[1; 32]), key_id(&[2; 32]));
        assert_eq!(key_id(&[1; 32]).len(), 16);
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let ring = KeyRing::new(b"super-secret-value-of-32-bytes!!".to_vec(), vec![]);
        assert!(!format!("{ring:?}").contains("super"));
    }
}
