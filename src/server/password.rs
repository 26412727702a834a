//! Password checks that reuse argon2's working memory.
//!
//! argon2id with OWASP's parameters works in 19 MiB. `PasswordVerifier::verify_password`
//! allocates that afresh for every check, and glibc serves a block that size from the arena of
//! whichever blocking thread runs the check, then keeps it after the free: once such a block has
//! been freed, glibc raises its mmap threshold above it. 200 concurrent sign-ins left ~850 MiB
//! resident. Here every check borrows a spare buffer and gives it back. Callers bound how many
//! checks run at once (`UserStore`'s hashing slots), so the process keeps at most that many
//! buffers, for its whole life.

use std::{
    fmt,
    sync::{Mutex, MutexGuard, PoisonError},
};

use argon2::{password_hash::Output, Algorithm, Argon2, Block, Params, PasswordHash, Version};

/// Spare argon2 working memory: as many buffers as checks ever ran at once.
#[derive(Default)]
pub struct WorkingMemory {
    spare: Mutex<Vec<Vec<Block>>>,
}

/// The number of buffers only: their contents are megabytes derived from passwords.
impl fmt::Debug for WorkingMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkingMemory")
            .field("buffers", &self.buffers())
            .finish()
    }
}

impl WorkingMemory {
    /// Whether `password` matches `phc_hash` (a PHC string such as `$argon2id$v=19$m=…`). A hash
    /// that does not parse, or names parameters argon2 refuses, matches nothing. Keeps one buffer
    /// per check running at once: callers bound that (a semaphore), and so the memory.
    pub fn verify(&self, password: &[u8], phc_hash: &str) -> bool {
        let mut blocks = self.lock().pop().unwrap_or_default();
        let matches = verify_in(password, phc_hash, &mut blocks);
        self.lock().push(blocks);
        matches
    }

    /// Buffers kept for reuse.
    pub fn buffers(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Vec<Block>>> {
        // A panic elsewhere while holding the lock leaves a plain list of buffers: still usable.
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `verify_password` does, with the caller's memory: the parameters, salt and expected
/// output come from the PHC string, and the comparison is `Output`'s constant-time one.
fn verify_in(password: &[u8], phc_hash: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc_hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let Ok(version) = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let mut salt_bytes = [0; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    // Same parameters every time here, so after the first check this allocates nothing.
    blocks.resize(params.block_count(), Block::default());
    let mut computed = [0; Output::MAX_LENGTH];
    let computed = &mut computed[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, computed, &mut blocks[..])
        .is_ok()
        && Output::new(computed).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use argon2::{
        password_hash::{PasswordHasher, PasswordVerifier, SaltString},
        ParamsBuilder,
    };

    use super::*;

    /// Small parameters keep the test fast; the code path is the same as with 19 MiB.
    fn hash_with(
        password: &str,
        algorithm: Algorithm,
        version: Version,
        m_cost: u32,
        output_len: usize,
    ) -> String {
        let params = ParamsBuilder::new()
            .m_cost(m_cost)
            .t_cost(2)
            .p_cost(1)
            .output_len(output_len)
            .build()
            .unwrap();
        let salt = SaltString::from_b64("6hdHoHN8ky3s67ZRkBS5Bw").unwrap();
        Argon2::new(algorithm, version, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn hash_of(password: &str, algorithm: Algorithm, m_cost: u32) -> String {
        hash_with(password, algorithm, Version::V0x13, m_cost, 32)
    }

    #[test]
    fn agrees_with_argon2s_own_verification() {
        let memory = WorkingMemory::default();
        let variants = [
            (Algorithm::Argon2id, Version::V0x13, 64, 32),
            (Algorithm::Argon2i, Version::V0x13, 128, 32),
            (Algorithm::Argon2d, Version::V0x10, 64, 16),
            (Algorithm::Argon2id, Version::V0x10, 96, 64),
        ];
        for (algorithm, version, m_cost, output_len) in variants {
            let hash = hash_with("wonderland", algorithm, version, m_cost, output_len);
            let parsed = PasswordHash::new(&hash).unwrap();
            for (password, expected) in [("wonderland", true), ("wonderlanD", false), ("", false)] {
                assert_eq!(
                    memory.verify(password.as_bytes(), &hash),
                    expected,
                    "{hash}"
                );
                let theirs = Argon2::default().verify_password(password.as_bytes(), &parsed);
                assert_eq!(theirs.is_ok(), expected);
            }
        }
    }

    #[test]
    fn a_broken_hash_matches_nothing() {
        let memory = WorkingMemory::default();
        let good = hash_of("wonderland", Algorithm::Argon2id, 64);
        let other_output = format!("{}AAAA", &good[..good.len() - 4]);
        assert!(
            PasswordHash::new(&other_output).is_ok(),
            "a well-formed hash, another output"
        );
        for hash in [
            "",
            "$argon2id$v=19$m=64,t=2,p=1",
            "not a hash",
            &other_output,
        ] {
            assert!(!memory.verify(b"wonderland", hash), "{hash}");
        }
    }

    #[test]
    fn checks_one_after_another_share_one_buffer() {
        let memory = WorkingMemory::default();
        let hash = hash_of("wonderland", Algorithm::Argon2id, 64);
        for _ in 0..5 {
            assert!(memory.verify(b"wonderland", &hash));
        }
        assert_eq!(memory.buffers(), 1);
        assert_eq!(format!("{memory:?}"), "WorkingMemory { buffers: 1 }");
    }

    #[test]
    fn checks_at_the_same_time_keep_at_most_one_buffer_each() {
        let memory = WorkingMemory::default();
        let hash = hash_of("wonderland", Algorithm::Argon2id, 256);
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    for _ in 0..4 {
                        assert!(memory.verify(b"wonderland", &hash));
                    }
                });
            }
        });
        assert!((1..=3).contains(&memory.buffers()), "{}", memory.buffers());
    }
}
