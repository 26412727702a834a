//! The latest revision of each family this instance has read or written, so a refresh decision
//! needs no read first (the Redis and SQLite backends: a read is a round trip or a thread
//! hand-off, as costly as the commit). Never trusted on its own: the backend's commit checks
//! that the stored revision is still the one decided on — also for a decision that writes
//! nothing, so nothing is refused on a stale copy — and a stale copy costs one more attempt,
//! never a wrong answer.

use std::future::Future;

use quick_cache::sync::Cache;

use super::{FamilyWrite, StoreResult, Versioned};

/// How many families are remembered (a few hundred bytes each); a forgotten one is read again.
const CAPACITY: usize = 100_000;

pub struct SeenFamilies(Cache<String, Versioned>);

impl Default for SeenFamilies {
    fn default() -> Self {
        Self(Cache::new(CAPACITY))
    }
}

impl SeenFamilies {
    /// The copy to decide on: the one seen, else what `load` reads (a load remembers it).
    pub async fn or_load(
        &self,
        id: &str,
        load: impl Future<Output = StoreResult<Option<Versioned>>>,
    ) -> StoreResult<Option<Versioned>> {
        match self.0.get(id) {
            Some(seen) => Ok(Some(seen)),
            None => load.await,
        }
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
