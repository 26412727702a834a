//! The refresh decision: rotation, the grace window for the immediately previous credential,
//! reuse detection (RFC 9700 §4.14.2), committed to the store in one step with a
//! compare-and-swap, so parallel refreshes on any number of instances never fork a family.

use std::sync::atomic::Ordering;

use super::{mint_access_ver, BrowserRecord, FamilyRegistry, Grant, RefreshRefusal, MAX_RACES};
use crate::server::core::store::{FamilyRecord, FamilyWrite, FIRST_PARTY_CLIENT};

/// What a refresh came to, once its write (if any) is committed.
enum Outcome {
    Missing,
    WrongClient,
    WrongKey,
    Expired,
    /// The family as it was when reuse was detected.
    Reused(FamilyRecord),
    /// A demo fault consumed one of its failures.
    Failed,
    Granted {
        rotated: bool,
        family: FamilyRecord,
        access_ver: u64,
        /// The browser's previous record, when the write did not drop it: another refresh of
        /// the family (a tab sharing the cookies) replaced it first.
        left_over: Option<i128>,
    },
}

/// What a presented credential means for its family right now.
enum Decision {
    Rotate,
    Replay,
    Reused,
    Expired,
    Failing,
}

impl FamilyRegistry {
    /// Exchanges a refresh credential, atomically:
    /// - the current credential rotates to a new one;
    /// - the immediately previous one, inside the grace window, gets the current one back and
    ///   rotates nothing (concurrent tabs, a lost response);
    /// - anything older, or the previous one after the window, is reuse: the family is revoked.
    pub async fn refresh(&self, presented: &str) -> Result<Grant, RefreshRefusal> {
        self.refresh_attaching(presented, None).await
    }

    /// [`refresh`](Self::refresh) for an OAuth client's refresh token (the token endpoint): the
    /// same decision, refused without a write when the family was issued to another client,
    /// or is bound to a DPoP key other than `dpop_jkt` (the key the request proved, if any).
    pub async fn refresh_for_client(
        &self,
        presented: &str,
        client_id: &str,
        dpop_jkt: Option<&str>,
    ) -> Result<Grant, RefreshRefusal> {
        self.decide_and_commit(presented, None, client_id, dpop_jkt)
            .await
    }

    /// [`refresh`](Self::refresh), and when `record` is given, the family is pointed at that
    /// browser-session record in the same write (the one it replaces is deleted with it, and a
    /// record the refresh made is created with it): a browser that lost its session cookie
    /// gets a new one without a second write.
    ///
    /// The decision is taken by the store on the family as stored and committed in one step
    /// ([`Store::decide_family`]); if a concurrent refresh wrote first, it is taken again on
    /// what that one wrote.
    ///
    /// [`Store::decide_family`]: crate::server::core::store::Store::decide_family
    pub async fn refresh_attaching(
        &self,
        presented: &str,
        record: Option<&BrowserRecord>,
    ) -> Result<Grant, RefreshRefusal> {
        // The cookie endpoint refreshes the first-party SPA's families only.
        self.decide_and_commit(presented, record, FIRST_PARTY_CLIENT, None)
            .await
    }

    async fn decide_and_commit(
        &self,
        presented: &str,
        record: Option<&BrowserRecord>,
        client_id: &str,
        dpop_jkt: Option<&str>,
    ) -> Result<Grant, RefreshRefusal> {
        let (session_id, generation) = self.authenticate(presented)?;
        for _ in 0..MAX_RACES {
            let now = self.clock.now_ms();
            let mut outcome = Outcome::Missing;
            let committed = self
                .store
                .decide_family(&session_id, &mut |stored| {
                    let (decided, write) = match stored {
                        Some(family) if family.client_id != client_id => {
                            (Outcome::WrongClient, None)
                        }
                        // Before reuse detection: a credential without its key touches nothing.
                        Some(family)
                            if family.dpop_jkt.is_some()
                                && family.dpop_jkt.as_deref() != dpop_jkt =>
                        {
                            (Outcome::WrongKey, None)
                        }
                        _ => self.decide_refresh(&session_id, stored, generation, now, record),
                    };
                    outcome = decided;
                    write
                })
                .await?;
            if !committed {
                continue;
            }
            return match outcome {
                Outcome::Missing => Err(RefreshRefusal::UnknownSession),
                Outcome::WrongClient => Err(RefreshRefusal::WrongClient),
                Outcome::WrongKey => {
                    metrics::counter!("tokenflight_refreshes_total", "outcome" => "dpop_key_missing")
                        .increment(1);
                    tracing::warn!(%session_id, "bound refresh credential without its DPoP key; family untouched");
                    Err(RefreshRefusal::WrongKey)
                }
                Outcome::Expired => {
                    self.remove(&session_id).await?;
                    Err(RefreshRefusal::Expired)
                }
                Outcome::Reused(family) => {
                    self.revoke(&session_id).await?;
                    // Best effort: the revocation stands either way (a failure is logged by the
                    // store wrapper), and the client must hear `invalid_grant`, not a 503.
                    let _ = self.remember_reuse(&session_id, &family).await;
                    self.stats.reuse_detected.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("tokenflight_refreshes_total", "outcome" => "reuse_revoked")
                        .increment(1);
                    tracing::warn!(%session_id, "refresh credential reuse detected; session revoked");
                    Err(RefreshRefusal::Reused)
                }
                Outcome::Failed => {
                    self.faults.refresh_failed(&session_id);
                    Err(RefreshRefusal::Unavailable)
                }
                Outcome::Granted {
                    rotated,
                    family,
                    access_ver,
                    left_over,
                } => {
                    if let Some(record) = left_over {
                        // The refresh that replaced it dropped it already, unless that one
                        // was not in step; either way it must not name the family. Best
                        // effort: the rotation is committed and the client must get it (the
                        // store wrapper logs a failure; the record expires by itself).
                        let _ = self.store.delete_record(record).await;
                    }
                    self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
                    let outcome = if rotated { "rotated" } else { "grace_replay" };
                    metrics::counter!("tokenflight_refreshes_total", "outcome" => outcome)
                        .increment(1);
                    self.owners.remember(&session_id, &family.user_id);
                    Ok(Grant {
                        refresh_token: self.credential(&session_id, family.generation),
                        session_left: self.remaining_lifetime(&family, now),
                        started_secs: family.created_at_ms / 1000,
                        audience: family.audience.clone(),
                        dpop_jkt: family.dpop_jkt.clone(),
                        session_id,
                        user_id: family.user_id,
                        client_id: family.client_id,
                        scope: family.scope,
                        access_ver,
                    })
                }
            };
        }
        tracing::warn!(%session_id, "refresh lost {MAX_RACES} races in a row");
        Err(RefreshRefusal::StoreUnavailable)
    }

    /// The refresh decision on the stored family, and the write that commits it. Pure: the
    /// store may call it again after a lost race.
    fn decide_refresh(
        &self,
        session_id: &str,
        stored: Option<&FamilyRecord>,
        generation: u64,
        now: u64,
        record: Option<&BrowserRecord>,
    ) -> (Outcome, Option<FamilyWrite>) {
        let Some(stored) = stored else {
            return (Outcome::Missing, None);
        };
        let mut family = stored.clone();
        match self.decide(session_id, &family, generation, now) {
            // Both end the family, outside the decision: a refusal needs no race won.
            Decision::Expired => (Outcome::Expired, None),
            // Decided before any demo fault, so a replayed credential can never hide behind
            // a 503.
            Decision::Reused => (Outcome::Reused(family), None),
            // The family is untouched: the failure is the faults' to count.
            Decision::Failing => (Outcome::Failed, None),
            decision @ (Decision::Rotate | Decision::Replay) => {
                let rotated = matches!(decision, Decision::Rotate);
                if rotated {
                    family.generation += 1;
                    family.rotated_at_ms = now;
                } else {
                    family.grace_replays += 1;
                }
                // A grace replay rotates nothing: it gets the current credential back.
                family.last_refresh_ms = now;
                family.refreshes += 1;
                let access_ver = mint_access_ver(&mut family);
                let dropped = record.and_then(|record| {
                    let id = record.id;
                    family.browser_session.replace(id).filter(|old| *old != id)
                });
                let left_over = record
                    .and_then(|record| record.replaces)
                    .filter(|replaced| Some(*replaced) != dropped);
                let created = record.map(|made| (made.id, made.record.clone()));
                let write = self.write(family.clone(), dropped, created);
                let granted = Outcome::Granted {
                    rotated,
                    family,
                    access_ver,
                    left_over,
                };
                (granted, Some(write))
            }
        }
    }

    fn decide(
        &self,
        session_id: &str,
        family: &FamilyRecord,
        generation: u64,
        now: u64,
    ) -> Decision {
        if now >= self.expires_at(family) {
            return Decision::Expired;
        }
        let grace_ms = self.lifetimes.grace.as_millis() as u64;
        let rotate = generation == family.generation;
        // The demo can switch the grace window off for one session (`server::http::faults`).
        let replay = self.faults.grace_window(session_id)
            // Checked: `u64::MAX + 1` must not wrap into "the one before generation 0".
            && generation.checked_add(1) == Some(family.generation)
            && now < family.rotated_at_ms + grace_ms;
        if !rotate && !replay {
            Decision::Reused
        } else if self.faults.refresh_fails(session_id) {
            Decision::Failing
        } else if rotate {
            Decision::Rotate
        } else {
            Decision::Replay
        }
    }
}
