//! Retention: sessions that ended more than `session_retention_secs` ago are
//! deleted with their index entries and refresh chains, so the file does not
//! grow without bound. The audit log keeps their history.

use serde_json::json;

use super::{Result, Service};
use crate::auth::TenantScope;
use crate::domain::AuditAction;
use crate::domain::{Actor, AuditEvent, Policy, SessionId, SessionRecord, SessionState, Timestamp};
use crate::store::{Ns, Reads, Space, StoreError};

/// Sessions deleted per write transaction.
const PURGE_CHUNK: usize = 2000;
const PAGE: usize = 1024;

/// When a session stopped being usable.
fn ended_at(s: &SessionRecord, idle_timeout_secs: i64) -> Timestamp {
    match s.state {
        SessionState::Revoked { at, .. } => at,
        SessionState::Active => s
            .expires_at
            .min(s.last_activity_at.plus_secs(idle_timeout_secs)),
    }
}

/// Up to `n` sessions that ended before `cutoff`, found through the activity
/// index: a revoked session's activity precedes its end; an unrevoked one
/// ended at most one idle timeout after its last activity.
fn ended_before(
    rx: &(impl Reads + ?Sized),
    ns: Ns<'_>,
    cutoff: Timestamp,
    policy: &Policy,
    n: usize,
) -> Result<Vec<SessionId>, StoreError> {
    let idle = policy.idle_timeout_secs;
    let mut out = Vec::new();
    for (state, bound) in [(1u8, cutoff), (0u8, cutoff.minus_secs(idle))] {
        let mut before = Some((bound.millis(), SessionId::from_u128(0)));
        loop {
            let page = rx.activity_page(ns, state, before, PAGE)?;
            for (_, sid) in &page {
                if let Some(s) = rx.session(ns, *sid)?
                    && ended_at(&s, idle) < cutoff
                {
                    out.push(*sid);
                    if out.len() == n {
                        return Ok(out);
                    }
                }
            }
            match page.last() {
                Some(k) if page.len() == PAGE => before = Some(*k),
                _ => break,
            }
        }
    }
    Ok(out)
}

impl Service {
    /// Delete every session that ended more than the retention period ago.
    /// Returns how many were deleted.
    pub async fn purge_ended_sessions(&self) -> Result<usize> {
        let now = self.now();
        let cutoff = now.minus_secs(self.config.session_retention_secs);
        let mut spaces: Vec<(Space, Policy)> = self
            .store
            .read(|rx| rx.tenants())
            .await?
            .into_iter()
            .map(|t| (Space::Tenant(TenantScope::system(t.slug)), t.policy))
            .collect();
        spaces.push((Space::Platform, self.config.platform_policy));
        let mut total = 0;
        for (space, policy) in spaces {
            loop {
                let sp = space.clone();
                let ids = self
                    .store
                    .read(move |rx| ended_before(rx, sp.ns(), cutoff, &policy, PURGE_CHUNK))
                    .await?;
                let found = ids.len();
                if found == 0 {
                    break;
                }
                let sp = space.clone();
                let purged = self
                    .store
                    .write(move |tx| {
                        let mut n = 0;
                        for &sid in &ids {
                            if tx.purge_session(sp.ns(), sid)? {
                                n += 1;
                            }
                        }
                        if n > 0 {
                            tx.note_purged(n as u64)?;
                            let ev = AuditEvent::new(Actor::system(), AuditAction::SessionsPurged)
                                .details(json!({ "count": n, "ended_before": cutoff }));
                            tx.append_audit(sp.ns(), now, ev)?;
                        }
                        Ok(n)
                    })
                    .await?;
                total += purged;
                if purged == 0 || found < PURGE_CHUNK {
                    break;
                }
            }
        }
        Ok(total)
    }

    /// Purge once an hour, starting a minute after start-up.
    pub(crate) async fn run_retention(&self) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if !self.store.leading().await {
                continue;
            }
            match self.purge_ended_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "purged sessions past retention"),
                Err(e) => tracing::warn!(error = %e, "session purge failed; will retry"),
            }
            match self.prune_outbox().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned outbox events past 7 days"),
                Err(e) => tracing::warn!(error = %e, "outbox pruning failed; will retry"),
            }
        }
    }
}
