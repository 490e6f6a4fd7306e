//! The policy's `max_sessions_per_user`, applied at login (not at refresh):
//! support sessions do not count; past the limit the least recently active
//! sessions end in the login's own transaction, or the login is refused.
//! Logins of one tenant serialise on its audit head, so racing logins never
//! exceed the limit.

use serde_json::json;

use super::sessions::revoke_many_in;
use crate::domain::audit::{Actor, AuditAction, AuditEvent};
use crate::domain::policy::SessionLimitAction;
use crate::domain::{Policy, RevokeReason, SessionId, SessionRecord, Timestamp, UserRecord};
use crate::store::{Ns, StoreError, Tx};

/// Room for one more session: the sessions evicted to make it, or
/// `Err(limit)` when the policy refuses the login.
pub(crate) fn make_room(
    tx: &mut Tx<'_>,
    ns: Ns<'_>,
    user: &UserRecord,
    policy: &Policy,
    now: Timestamp,
) -> Result<Result<Vec<SessionId>, i64>, StoreError> {
    let limit = policy.max_sessions_per_user;
    if limit <= 0 {
        return Ok(Ok(Vec::new()));
    }
    let mut live: Vec<SessionRecord> = tx
        .sessions_of_users(ns, &[user.id])?
        .into_iter()
        .filter(|s| {
            s.support.is_none()
                && s.status(now, s.last_activity_at, policy.idle_timeout_secs) == "active"
        })
        .collect();
    let over = (live.len() as i64 + 1 - limit).max(0) as usize;
    if over == 0 {
        return Ok(Ok(Vec::new()));
    }
    if policy.session_limit_action == SessionLimitAction::Refuse {
        return Ok(Err(limit));
    }
    live.sort_by_key(|s| (s.last_activity_at, s.id));
    let oldest: Vec<SessionId> = live.iter().take(over).map(|s| s.id).collect();
    let ended = revoke_many_in(tx, ns, &oldest, now, None, RevokeReason::SessionLimit, None)?.ids;
    for sid in &ended {
        let ev = AuditEvent::new(Actor::system(), AuditAction::SessionRevoked)
            .target(sid)
            .reason(Some(RevokeReason::SessionLimit.as_str()))
            .details(json!({
                "user_id": user.id, "count": 1, "revoked_reason": RevokeReason::SessionLimit,
                "limit": limit,
            }));
        tx.append_audit(ns, now, ev)?;
    }
    Ok(Ok(ended))
}
