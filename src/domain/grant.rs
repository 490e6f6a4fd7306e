//! Support-access grants: a tenant's explicit, time-bounded consent for one
//! global admin to act inside it.

use serde::{Deserialize, Serialize};

use super::session::SessionDenied;
use super::{GrantId, RevokeReason, SessionId, TenantId, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Pending,
    Active,
    Expired,
    Revoked,
    Denied,
}

/// Who acted on a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GrantActor {
    #[schema(required = true)]
    pub id: Option<UserId>,
    #[schema(required = true)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: GrantId,
    pub tenant: TenantId,
    pub grantee_id: UserId,
    pub grantee_email: String,
    pub reason: String,
    pub duration_secs: i64,
    /// Stored status; an `Active` grant past `expires_at` is expired (see `status_at`).
    pub status: GrantStatus,
    pub requested_at: Timestamp,
    /// `true` when the global admin asked; `false` when the tenant granted directly.
    pub requested_by_grantee: bool,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<GrantActor>,
    pub starts_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<GrantActor>,
    /// Support sessions started on this grant (ended with it).
    pub sessions: Vec<SessionId>,
}

impl GrantRecord {
    /// A pending request by (or, with `activate`, a direct grant to) a global admin.
    pub fn request(
        tenant: TenantId,
        grantee_id: UserId,
        grantee_email: String,
        reason: &str,
        duration_secs: i64,
        now: Timestamp,
    ) -> Self {
        Self {
            id: GrantId::new_v7(),
            tenant,
            grantee_id,
            grantee_email,
            reason: reason.trim().to_owned(),
            duration_secs,
            status: GrantStatus::Pending,
            requested_at: now,
            requested_by_grantee: true,
            decided_at: None,
            decided_by: None,
            starts_at: None,
            expires_at: None,
            ended_at: None,
            ended_by: None,
            sessions: Vec::new(),
        }
    }

    /// Approve: active from `now` for `duration_secs`.
    pub fn activate(&mut self, by: GrantActor, now: Timestamp) {
        self.status = GrantStatus::Active;
        self.decided_at = Some(now);
        self.decided_by = Some(by);
        self.starts_at = Some(now);
        self.expires_at = Some(now.plus_secs(self.duration_secs));
    }

    /// The status as of `now`: enforcement never waits for the scheduler.
    pub fn status_at(&self, now: Timestamp) -> GrantStatus {
        match (self.status, self.expires_at) {
            (GrantStatus::Active, Some(exp)) if now >= exp => GrantStatus::Expired,
            (s, _) => s,
        }
    }

    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.status_at(now) == GrantStatus::Active
    }
}

/// Why a support session is refused, given its grant as of `now`.
pub fn support_denied(grant: Option<&GrantRecord>, now: Timestamp) -> Option<SessionDenied> {
    match grant.map(|g| g.status_at(now)) {
        Some(GrantStatus::Active) => None,
        Some(GrantStatus::Expired) => Some(SessionDenied::Revoked(RevokeReason::GrantExpired)),
        _ => Some(SessionDenied::Revoked(RevokeReason::GrantRevoked)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_grant_expires_exactly_at_expires_at() {
        let t0 = Timestamp::from_millis(1_000_000);
        let g = GrantRecord {
            id: GrantId::new_v7(),
            tenant: TenantId::parse("acme").unwrap(),
            grantee_id: UserId::new_v7(),
            grantee_email: "root@x.y".into(),
            reason: "ticket".into(),
            duration_secs: 2,
            status: GrantStatus::Active,
            requested_at: t0,
            requested_by_grantee: true,
            decided_at: Some(t0),
            decided_by: None,
            starts_at: Some(t0),
            expires_at: Some(t0.plus_secs(2)),
            ended_at: None,
            ended_by: None,
            sessions: vec![],
        };
        assert!(g.is_active_at(Timestamp::from_millis(t0.millis() + 1900)));
        assert_eq!(g.status_at(t0.plus_secs(2)), GrantStatus::Expired);
        let mut pending = g.clone();
        pending.status = GrantStatus::Pending;
        assert!(!pending.is_active_at(t0));
    }
}
