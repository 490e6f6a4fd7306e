//! Support-access grants as stored.

use serde::{Deserialize, Serialize};

use super::stored;
use crate::domain::grant::GrantActor;
use crate::domain::{GrantId, GrantRecord, GrantStatus, SessionId, TenantId, Timestamp, UserId};

#[derive(Serialize, Deserialize)]
pub(super) struct DbGrantV1 {
    id: GrantId,
    tenant: TenantId,
    grantee_id: UserId,
    grantee_email: String,
    reason: String,
    duration_secs: i64,
    status: DbGrantStatusV1,
    requested_at: Timestamp,
    requested_by_grantee: bool,
    decided_at: Option<Timestamp>,
    decided_by: Option<DbGrantActorV1>,
    starts_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    ended_by: Option<DbGrantActorV1>,
    sessions: Vec<SessionId>,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbGrantStatusV1 {
    Pending,
    Active,
    Expired,
    Revoked,
    Denied,
}

#[derive(Serialize, Deserialize)]
struct DbGrantActorV1 {
    id: Option<UserId>,
    email: Option<String>,
}

stored!(GrantRecord => 1 DbGrantV1);

fn actor_to_db(a: &GrantActor) -> DbGrantActorV1 {
    DbGrantActorV1 {
        id: a.id,
        email: a.email.clone(),
    }
}

fn actor_from_db(a: DbGrantActorV1) -> GrantActor {
    GrantActor {
        id: a.id,
        email: a.email,
    }
}

impl From<&GrantRecord> for DbGrantV1 {
    fn from(g: &GrantRecord) -> Self {
        Self {
            id: g.id,
            tenant: g.tenant.clone(),
            grantee_id: g.grantee_id,
            grantee_email: g.grantee_email.clone(),
            reason: g.reason.clone(),
            duration_secs: g.duration_secs,
            status: match g.status {
                GrantStatus::Pending => DbGrantStatusV1::Pending,
                GrantStatus::Active => DbGrantStatusV1::Active,
                GrantStatus::Expired => DbGrantStatusV1::Expired,
                GrantStatus::Revoked => DbGrantStatusV1::Revoked,
                GrantStatus::Denied => DbGrantStatusV1::Denied,
            },
            requested_at: g.requested_at,
            requested_by_grantee: g.requested_by_grantee,
            decided_at: g.decided_at,
            decided_by: g.decided_by.as_ref().map(actor_to_db),
            starts_at: g.starts_at,
            expires_at: g.expires_at,
            ended_at: g.ended_at,
            ended_by: g.ended_by.as_ref().map(actor_to_db),
            sessions: g.sessions.clone(),
        }
    }
}

impl From<DbGrantV1> for GrantRecord {
    fn from(g: DbGrantV1) -> Self {
        Self {
            id: g.id,
            tenant: g.tenant,
            grantee_id: g.grantee_id,
            grantee_email: g.grantee_email,
            reason: g.reason,
            duration_secs: g.duration_secs,
            status: match g.status {
                DbGrantStatusV1::Pending => GrantStatus::Pending,
                DbGrantStatusV1::Active => GrantStatus::Active,
                DbGrantStatusV1::Expired => GrantStatus::Expired,
                DbGrantStatusV1::Revoked => GrantStatus::Revoked,
                DbGrantStatusV1::Denied => GrantStatus::Denied,
            },
            requested_at: g.requested_at,
            requested_by_grantee: g.requested_by_grantee,
            decided_at: g.decided_at,
            decided_by: g.decided_by.map(actor_from_db),
            starts_at: g.starts_at,
            expires_at: g.expires_at,
            ended_at: g.ended_at,
            ended_by: g.ended_by.map(actor_from_db),
            sessions: g.sessions,
        }
    }
}
