//! Admin revocation: one session, bulk (by ids or filter, with dry run), and
//! force sign-out of a user. Durable before the answer, effective on the next request.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::json;

use super::error::Checked::{Done, Refused};
use super::error::Problems;
use super::session_list::activity_in;
use super::sessions::{revoke_in, revoke_many_in};
use super::user_admin::{is_active_admin, other_active_admin};
use super::users::Acting;
use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::AuditAction;
pub use crate::domain::query::BulkFilter;
use crate::domain::user::ValidAfter;
use crate::domain::{RevokeReason, SessionId, UserId};
use crate::store::{Ns, StoreError};

/// Sessions revoked per write transaction (and audit entry) in a bulk
/// revocation: one transaction per request up to this size.
const BULK_CHUNK: usize = 50_000;
/// Most ids one request may name.
pub const MAX_IDS: usize = 10_000;
const NOTE_MAX: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRevoke {
    /// These sessions (not with `filter`).
    #[schema(min_items = 1, max_items = 10000)]
    pub session_ids: Option<Vec<SessionId>>,
    /// Sessions matching every criterion given (not with `session_ids`).
    pub filter: Option<BulkFilter>,
    #[serde(default)]
    /// Spare the caller's own session.
    pub except_current: bool,
    /// Free-text note, kept on the sessions and in the audit log.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    #[serde(default)]
    /// Only count: answers `{would_revoke}`.
    pub dry_run: bool,
}

/// Options of a force sign-out (every field optional: no body is `{}`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ForceSignOut)]
pub struct SignOut {
    /// Free-text note, kept on the sessions and in the audit entry.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Disable the account too (in the same transaction).
    #[serde(default)]
    pub disable: bool,
    /// Only count the active sessions: answers `{would_revoke}`.
    #[serde(default)]
    pub dry_run: bool,
}

pub enum SignOutOutcome {
    Revoked { revoked: usize, disabled: bool },
    WouldRevoke(usize),
}

pub enum BulkOutcome {
    Revoked(usize),
    WouldRevoke(usize),
}

pub(crate) fn check_note(p: &mut Problems, note: &Option<String>) {
    if let Some(n) = note {
        p.check(
            n.chars().count() <= NOTE_MAX,
            "reason",
            "must be at most 500 characters",
        );
        p.check(
            !n.chars().any(|c| c.is_control() && c != '\n'),
            "reason",
            "must not contain control characters",
        );
    }
}

impl BulkRevoke {
    fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        check_note(&mut p, &self.reason);
        match (&self.session_ids, &self.filter) {
            (Some(_), Some(_)) => p.add("body", "give session_ids or filter, not both"),
            (None, None) => p.add(
                "body",
                "give session_ids or filter: a bulk revocation must name what to revoke",
            ),
            (Some(ids), None) => {
                p.check(!ids.is_empty(), "session_ids", "must not be empty");
                p.check(
                    ids.len() <= MAX_IDS,
                    "session_ids",
                    "at most 10000 ids per request",
                );
            }
            (None, Some(f)) => {
                let named = f.user_ids.is_some()
                    || f.idle_for_secs.is_some()
                    || f.created_before.is_some()
                    || f.all == Some(true);
                p.check(named, "filter", "must name at least one criterion (user_ids, idle_for_secs, created_before, or all: true)");
                p.check(
                    f.all != Some(false),
                    "filter.all",
                    "must be true when given",
                );
                if let Some(u) = &f.user_ids {
                    p.check(!u.is_empty(), "filter.user_ids", "must not be empty");
                    p.check(u.len() <= MAX_IDS, "filter.user_ids", "at most 10000 ids");
                }
                if let Some(i) = f.idle_for_secs {
                    p.check(
                        (0..=10 * 365 * 86_400).contains(&i),
                        "filter.idle_for_secs",
                        "must be between 0 and 315360000",
                    );
                }
            }
        }
        p.finish()
    }
}

impl Service {
    /// `POST /v1/tenants/{t}/sessions/{sid}/revoke` → how many were revoked (0 or 1).
    pub async fn revoke_session(
        &self,
        scope: &TenantScope,
        by: Acting,
        sid: SessionId,
        note: Option<String>,
    ) -> Result<usize> {
        let mut p = Problems::default();
        check_note(&mut p, &note);
        p.finish()?;
        let scope = scope.clone();
        let now = self.now();
        let by_id = by.actor.id;
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(s) = tx.session(ns, sid)? else { return Err(StoreError::NotFound) };
                if !revoke_in(tx, ns, sid, now, by_id, RevokeReason::AdminRevoked, note.clone())? {
                    return Ok(0);
                }
                let ev = by
                    .event(AuditAction::SessionRevoked)
                    .target(sid)
                    .reason(note.clone())
                    .details(json!({ "user_id": s.user_id, "count": 1, "revoked_reason": RevokeReason::AdminRevoked }));
                tx.append_audit(ns, now, ev)?;
                Ok(1)
            })
            .await
            .map_err(Error::from)
    }

    /// `POST /v1/tenants/{t}/sessions/revoke`
    pub async fn bulk_revoke(
        &self,
        scope: &TenantScope,
        by: Acting,
        current: Option<SessionId>,
        req: BulkRevoke,
    ) -> Result<BulkOutcome> {
        req.validate()?;
        let except = if req.except_current { current } else { None };
        let started = std::time::Instant::now();
        let targets = self.bulk_targets(scope, &req, except, !req.dry_run).await?;
        tracing::debug!(
            targets = targets.len(),
            ms = started.elapsed().as_millis() as u64,
            "bulk revoke: targets found"
        );
        if req.dry_run {
            return Ok(BulkOutcome::WouldRevoke(targets.len()));
        }
        let chunks: Vec<Vec<SessionId>> = targets
            .chunks(BULK_CHUNK)
            .map(<[SessionId]>::to_vec)
            .collect();
        let parts = chunks.len();
        // Ties the parts of one request together (one logical entry).
        let bulk_id = uuid::Uuid::now_v7().to_string();
        let mut revoked = 0;
        let criteria = json!({
            "session_ids": req.session_ids.as_ref().map(Vec::len),
            "filter": req.filter.as_ref().map(|f| json!({
                "user_ids": f.user_ids, "idle_for_secs": f.idle_for_secs, "created_before": f.created_before, "all": f.all,
            })),
            "except_current": req.except_current,
        });
        for (i, chunk) in chunks.into_iter().enumerate() {
            let scope = scope.clone();
            let by = by.clone();
            let note = req.reason.clone();
            let criteria = criteria.clone();
            let bulk_id = bulk_id.clone();
            let now = self.now();
            revoked += self
                .store
                .write(move |tx| {
                    let ns = Ns::from(&scope);
                    let ended = revoke_many_in(
                        tx,
                        ns,
                        &chunk,
                        now,
                        by.actor.id,
                        RevokeReason::BulkRevoked,
                        note.clone(),
                    )?;
                    if ended.ids.is_empty() {
                        return Ok(0); // nothing of this part was active: nothing happened
                    }
                    // Which sessions ended and whose, not only how many (the chain covers the lists).
                    let ev = by
                        .event(AuditAction::SessionsBulkRevoked)
                        .reason(note.clone())
                        .details(json!({
                            "count": ended.ids.len(), "part": i + 1, "parts": parts, "bulk_id": &bulk_id,
                            "criteria": criteria, "session_ids": ended.ids, "user_ids": ended.users,
                        }));
                    tx.append_audit(ns, now, ev)?;
                    Ok(ended.ids.len())
                })
                .await?;
        }
        tracing::debug!(
            revoked,
            ms = started.elapsed().as_millis() as u64,
            "bulk revoke: committed"
        );
        Ok(BulkOutcome::Revoked(revoked))
    }

    /// Active sessions a bulk request names (ids of other tenants simply do
    /// not exist here). With `superset`, a filter of only `user_ids` names
    /// every session of those users, from the by-user index: the write
    /// revokes just the active ones, so each record is read once, there.
    async fn bulk_targets(
        &self,
        scope: &TenantScope,
        req: &BulkRevoke,
        except: Option<SessionId>,
        superset: bool,
    ) -> Result<Vec<SessionId>> {
        let fresh = self.fresh_activity(scope);
        let scope = scope.clone();
        let now = self.now();
        let ids = req.session_ids.clone();
        let filter = req.filter.clone().unwrap_or_default();
        self.store
            .read(move |rx| {
                let ns = Ns::from(&scope);
                let Some(ids) = &ids else {
                    if let Some(users) = &filter.user_ids
                        && superset
                        && filter.idle_for_secs.is_none()
                        && filter.created_before.is_none()
                    {
                        let mut found = rx.session_ids_of_users(ns, users)?;
                        found.sort_unstable_by(|a, b| b.cmp(a));
                        found.dedup();
                        found.retain(|s| Some(*s) != except);
                        return Ok(found);
                    }
                    let at = activity_in(rx, &scope, now, &fresh)?;
                    return rx.bulk_targets(ns, &filter, except, &at);
                };
                let mut seen = HashSet::new();
                let ids: Vec<SessionId> = ids
                    .iter()
                    .copied()
                    .filter(|sid| Some(*sid) != except && seen.insert(*sid))
                    .collect();
                let active: HashSet<SessionId> = rx
                    .sessions_by_ids(ns, &ids)?
                    .into_iter()
                    .filter(|s| s.is_active())
                    .map(|s| s.id)
                    .collect();
                // In the order the request named them.
                Ok(ids.into_iter().filter(|s| active.contains(s)).collect())
            })
            .await
            .map_err(Error::from)
    }

    /// `POST /v1/tenants/{t}/users/{uid}/revoke-sessions` (force sign-out):
    /// every session of the user, and a "sessions valid after" mark so
    /// sessions minted concurrently die too; with `disable`, the account is
    /// disabled as well. One transaction, one audit entry.
    pub async fn force_sign_out(
        &self,
        scope: &TenantScope,
        by: Acting,
        uid: UserId,
        req: SignOut,
    ) -> Result<SignOutOutcome> {
        let mut p = Problems::default();
        check_note(&mut p, &req.reason);
        p.finish()?;
        let scope = scope.clone();
        let now = self.now();
        if req.dry_run {
            return self
                .store
                .read(move |rx| {
                    let ns = Ns::from(&scope);
                    rx.user(ns, uid)?.ok_or(StoreError::NotFound)?;
                    let live = rx.sessions_of_users(ns, &[uid])?;
                    Ok(SignOutOutcome::WouldRevoke(
                        live.iter().filter(|s| s.is_active()).count(),
                    ))
                })
                .await
                .map_err(Error::from);
        }
        let reason = if req.disable {
            RevokeReason::UserDisabled
        } else {
            RevokeReason::UserSessionsRevoked
        };
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(mut user) = tx.user(ns, uid)? else {
                    return Ok(Refused(Error::NotFound));
                };
                let disabling = req.disable && !user.disabled;
                if disabling && is_active_admin(&user) && !other_active_admin(tx, ns, uid)? {
                    return Ok(Refused(Error::Conflict(
                        "this is the tenant's last active org admin: promote another user first"
                            .into(),
                    )));
                }
                let ids = tx.session_ids_of_user(ns, uid)?;
                let ended =
                    revoke_many_in(tx, ns, &ids, now, by.actor.id, reason, req.reason.clone())?.ids;
                user.sessions_valid_after = Some(ValidAfter { at: now, reason });
                user.disabled |= req.disable;
                user.updated_at = now;
                tx.put_user(ns, &user)?;
                let ev = by
                    .event(AuditAction::UserSessionsRevoked)
                    .target(uid)
                    .reason(req.reason.as_ref())
                    .details(json!({
                        "count": ended.len(), "email": user.email, "user_id": uid,
                        "disabled": disabling, "revoked_reason": reason, "session_ids": ended,
                    }));
                tx.append_audit(ns, now, ev)?;
                Ok(Done(SignOutOutcome::Revoked {
                    revoked: ended.len(),
                    disabled: user.disabled,
                }))
            })
            .await?
            .into_result()
    }
}
