//! A user's own sessions ("your devices"): list them, end one, end all but
//! the current one. Only the caller's own, never a support session: anyone
//! else's session id is simply not found.

use std::collections::HashMap;

use serde_json::json;

use super::auth::space_of_principal;
use super::session_list::render::Lister;
use super::session_list::{SessionPage, Total};
use super::sessions::revoke_many_in;
use super::{Error, Result, Service};
use crate::auth::Principal;
use crate::domain::query::{Activity, Cursor, Sort, StatusFilter};
use crate::domain::{AuditAction, RevokeReason, SessionId, SessionRecord, Timestamp};
use crate::store::{Ns, Reads, Space, StoreError};

/// A user holds few sessions (the policy may cap them): one page is cut
/// from all of them, sorted in memory.
impl Service {
    /// The space the caller's own sessions live in; a support session has none.
    fn own_space(p: &Principal) -> Result<Space> {
        if p.grant_id.is_some() {
            return Err(Error::Forbidden(
                "a support session has no sessions of its own here",
            ));
        }
        Ok(space_of_principal(p))
    }

    fn idle_of(&self, rx: &(impl Reads + ?Sized), space: &Space) -> Result<i64, StoreError> {
        Ok(match space {
            Space::Tenant(s) => rx.tenant(s.tenant())?.ok_or(StoreError::NotFound)?.policy,
            Space::Platform => self.config.platform_policy,
        }
        .idle_timeout_secs)
    }

    /// `GET /v1/auth/sessions`: the caller's sessions, most recently active first.
    pub async fn own_sessions(
        self: &std::sync::Arc<Self>,
        p: &Principal,
        status: StatusFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<SessionPage> {
        let space = Self::own_space(p)?;
        let tenant = match &space {
            Space::Tenant(s) => Some(s.tenant().clone()),
            Space::Platform => None,
        };
        let fresh: HashMap<SessionId, Timestamp> = self
            .activity
            .snapshot()
            .into_iter()
            .filter(|((t, _), _)| *t == tenant)
            .map(|((_, s), at)| (s, at))
            .collect();
        let (uid, current, now, svc) = (p.user_id, p.session_id, self.now(), self.clone());
        let geo = self.placer();
        self.store
            .read(move |rx| {
                let ns = space.ns();
                let at = Activity {
                    now,
                    idle_timeout_secs: svc.idle_of(rx, &space)?,
                    fresh: &fresh,
                };
                let mut mine: Vec<SessionRecord> = rx
                    .sessions_of_users(ns, &[uid])?
                    .into_iter()
                    .filter(|s| s.support.is_none() && at.wanted(s, status))
                    .collect();
                let total = mine.len() as u64;
                let key = |s: &SessionRecord| at.key(s, Sort::LastActivityDesc);
                mine.retain(|s| cursor.is_none_or(|c| key(s).tuple() < c.tuple()));
                mine.sort_by_key(|s| std::cmp::Reverse(key(s).tuple()));
                let more = mine.len() > limit;
                mine.truncate(limit);
                let next_cursor = if more {
                    mine.last().map(|s| key(s).encode())
                } else {
                    None
                };
                let mut l = Lister {
                    rx,
                    ns,
                    at,
                    users: HashMap::new(),
                    current: Some(current),
                };
                l.prefetch_users(&mine)?;
                let items = mine
                    .iter()
                    .map(|s| l.view(s).map(|v| geo.place(v)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(SessionPage::new(items, next_cursor, Total::Exact(total)))
            })
            .await
            .map_err(Error::from)
    }

    /// `POST /v1/auth/sessions/{sid}/revoke`: one of the caller's sessions
    /// (`user_logout` for the current one, `user_revoked_other` else).
    pub async fn revoke_own(
        &self,
        p: &Principal,
        sid: SessionId,
        ip: Option<String>,
    ) -> Result<usize> {
        let ids = Some(vec![sid]);
        self.end_own(p, ids, ip).await
    }

    /// `POST /v1/auth/sessions/revoke-others`: all but the current one.
    pub async fn revoke_others(&self, p: &Principal, ip: Option<String>) -> Result<usize> {
        self.end_own(p, None, ip).await
    }

    /// End `only` (or every other session) of the caller, audited with the
    /// caller as actor.
    async fn end_own(
        &self,
        p: &Principal,
        only: Option<Vec<SessionId>>,
        ip: Option<String>,
    ) -> Result<usize> {
        let space = Self::own_space(p)?;
        let (uid, current, actor, now) = (p.user_id, p.session_id, p.actor(), self.now());
        self.store
            .write(move |tx| {
                let ns: Ns<'_> = space.ns();
                let mine: Vec<SessionRecord> = tx
                    .sessions_of_users(ns, &[uid])?
                    .into_iter()
                    .filter(|s| s.support.is_none())
                    .collect();
                let targets: Vec<SessionId> = match &only {
                    Some(ids) => {
                        if !ids.iter().all(|i| mine.iter().any(|s| s.id == *i)) {
                            return Err(StoreError::NotFound);
                        }
                        ids.clone()
                    }
                    None => mine
                        .iter()
                        .map(|s| s.id)
                        .filter(|s| *s != current)
                        .collect(),
                };
                let ours = targets == [current];
                let reason = if ours {
                    RevokeReason::UserLogout
                } else {
                    RevokeReason::UserRevokedOther
                };
                let ended = revoke_many_in(tx, ns, &targets, now, Some(uid), reason, None)?.ids;
                if ended.is_empty() {
                    return Ok(0);
                }
                let ev = match (&only, ours) {
                    (_, true) => crate::domain::AuditEvent::new(actor.clone(), AuditAction::Logout)
                        .target(current)
                        .details(json!({ "user_id": uid, "via": "own_sessions" })),
                    (Some(_), false) => {
                        crate::domain::AuditEvent::new(actor.clone(), AuditAction::SessionRevoked)
                            .target(ended[0])
                            .reason(Some(reason.as_str()))
                            .details(json!({
                                "user_id": uid, "count": 1, "revoked_reason": reason,
                            }))
                    }
                    (None, false) => crate::domain::AuditEvent::new(
                        actor.clone(),
                        AuditAction::OtherSessionsRevoked,
                    )
                    .target(uid)
                    .reason(Some(reason.as_str()))
                    .details(json!({
                        "user_id": uid, "count": ended.len(), "session_ids": ended,
                        "kept": current,
                    })),
                };
                tx.append_audit(ns, now, ev.ip(ip.as_deref()))?;
                Ok(ended.len())
            })
            .await
            .map_err(Error::from)
    }
}
