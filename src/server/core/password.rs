//! Password checks that reuse argon2's working memory.
//!
//! argon2id with OWASP's parameters works in 19 MiB. `PasswordVerifier::verify_password`
//! allocates that afresh for every check, and glibc serves a block that size from the arena of
//! whichever blocking thread runs the check, then keeps it after the free: once such a block has
//! been freed, glibc raises its mmap threshold above it. 200 concurrent sign-ins left ~850 MiB
//! resident. Here every check borrows a spare buffer and gives it back. The pool keeps at most as
//! many buffers as its owner lets checks run at once (`UserStore`'s hashing slots); a check
//! beyond that still runs, with a buffer that is freed when it ends.

use std::{
    fmt,
    sync::{Mutex, MutexGuard, PoisonError},
};

use argon2::{password_hash::Output, Algorithm, Argon2, Block, Params, PasswordHash, Version};

/// Spare argon2 working memory: at most `keep` buffers, one per check that may run at once.
pub struct WorkingMemory {
    spare: Mutex<Vec<Vec<Block>>>,
    keep: usize,
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
    /// A pool that keeps at most `keep` buffers between checks.
    pub fn keeping(keep: usize) -> Self {
        Self {
            spare: Mutex::default(),
            keep,
        }
    }

    /// Whether `password` matches `phc_hash` (a PHC string such as `$argon2id$v=19$m=…`). A hash
    /// that does not parse, or names parameters argon2 refuses, matches nothing.
    pub fn verify(&self, password: &[u8], phc_hash: &str) -> bool {
        let mut blocks = self.take();
        let matches = verify_in(password, phc_hash, &mut blocks);
        self.give_back(blocks);
        matches
    }

    /// Buffers kept for reuse.
    pub fn buffers(&self) -> usize {
        self.lock().len()
    }

    /// A spare buffer, or an empty one that the check sizes.
    fn take(&self) -> Vec<Block> {
        self.lock().pop().unwrap_or_default()
    }

    /// Keeps `blocks` for the next check, or frees them when the pool already has its share.
    /// A buffer that never grew (the hash did not parse) is not worth a place.
    fn give_back(&self, blocks: Vec<Block>) {
        if blocks.capacity() == 0 {
            return;
        }
        let mut spare = self.lock();
        if spare.len() < self.keep {
            spare.push(blocks);
        }
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
        let memory = WorkingMemory::keeping(3);
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
        let memory = WorkingMemory::keeping(3);
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

        let untouched = WorkingMemory::keeping(3);
        assert!(!untouched.verify(b"wonderland", "not a hash"));
        assert_eq!(
            untouched.buffers(),
            0,
            "a check that never hashed keeps nothing"
        );
    }

    #[test]
    fn checks_one_after_another_share_one_buffer() {
        let memory = WorkingMemory::keeping(3);
        let hash = hash_of("wonderland", Algorithm::Argon2id, 64);
        for _ in 0..5 {
            assert!(memory.verify(b"wonderland", &hash));
        }
        assert_eq!(memory.buffers(), 1);
        assert_eq!(format!("{memory:?}"), "WorkingMemory { buffers: 1 }");
    }

    #[test]
    fn checks_at_the_same_time_keep_at_most_one_buffer_each() {
        let memory = WorkingMemory::keeping(3);
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

    #[test]
    fn keeps_no_more_buffers_than_it_was_told() {
        let memory = WorkingMemory::keeping(1);
        // Four checks holding a grown buffer each at the same moment, then giving them back.
        let held: Vec<_> = (0..4)
            .map(|_| {
                let mut blocks = memory.take();
                blocks.resize(8, Block::default());
                blocks
            })
            .collect();
        for blocks in held {
            memory.give_back(blocks);
        }
        assert_eq!(memory.buffers(), 1);

        let hash = hash_of("wonderland", Algorithm::Argon2id, 64);
        let keeping_none = WorkingMemory::keeping(0);
        assert!(keeping_none.verify(b"wonderland", &hash));
        assert_eq!(keeping_none.buffers(), 0);
    }
}
