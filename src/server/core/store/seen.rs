//! The latest revision of each family this instance has read or written, so a refresh decision
//! needs no read first (the Redis and SQLite backends: a read is a round trip or a thread
//! hand-off, as costly as the commit). Never trusted on its own: the backend's commit checks
//! that the stored revision is still the one decided on — also for a decision that writes
//! nothing, so nothing is refused on a stale copy — and a stale copy costs one more attempt,
//! never a wrong answer.

use std::future::Future;

use quick_cache::sync::Cache;

use crate::server::core::store::{Decide, FamilyRecord, FamilyWrite, StoreResult, Versioned};

/// How many families are remembered (a few hundred bytes each); a forgotten one is read again.
const CAPACITY: usize = 100_000;

pub struct SeenFamilies(Cache<String, Versioned>);

impl Default for SeenFamilies {
    fn default() -> Self {
        Self(Cache::new(CAPACITY))
    }
}

impl SeenFamilies {
    /// A family decision (see [`Store::decide_family`]) taken on the copy seen, else on what
    /// `load` reads (a load remembers it), and handed to `commit` with the revision it was
    /// taken on; `commit` must check that revision, also when there is nothing to write.
    ///
    /// [`Store::decide_family`]: crate::server::core::store::Store::decide_family
    pub async fn decide(
        &self,
        id: &str,
        decide: &mut Decide<'_>,
        load: impl Future<Output = StoreResult<Option<Versioned>>>,
        commit: impl AsyncFnOnce(u64, Option<FamilyWrite>) -> StoreResult<bool>,
    ) -> StoreResult<bool> {
        let seen = match self.0.get(id) {
            Some(seen) => seen,
            None => match load.await? {
                Some(stored) => stored,
                None => {
                    decide(None);
                    return Ok(true);
                }
            },
        };
        let write = decide(Some(&seen.family));
        commit(seen.rev, write).await
    }

    /// A family just inserted, at revision 1.
    pub fn inserted(&self, id: &str, family: &FamilyRecord) {
        let stored = Versioned {
            family: family.clone(),
            rev: 1,
        };
        self.0.insert(id.to_owned(), stored);
    }

    /// What a load found (`None`: the family is gone).
    pub fn loaded(&self, id: &str, stored: Option<&Versioned>) {
        match stored {
            Some(stored) => self.0.insert(id.to_owned(), stored.clone()),
            None => {
                self.0.remove(id);
            }
        }
    }

    /// What a commit of a decision taken on revision `rev` teaches: a won write is now stored
    /// at `rev + 1`; a lost commit makes the copy unknown (the next attempt reads, unless the
    /// backend learned the stored family from the commit and remembers it with [`loaded`]).
    ///
    /// [`loaded`]: Self::loaded
    pub fn committed(&self, id: &str, rev: u64, write: Option<&FamilyWrite>, won: bool) {
        match (won, write) {
            (true, Some(write)) => {
                let stored = Versioned {
                    family: write.family.clone(),
                    rev: rev + 1,
                };
                self.0.insert(id.to_owned(), stored);
            }
            (true, None) => {}
            (false, _) => {
                self.0.remove(id);
            }
        }
    }

    pub fn forget(&self, id: &str) {
        self.0.remove(id);
    }
}
