//! Sessions and refresh tokens as stored.

use serde::{Deserialize, Serialize};

use super::stored;
use crate::domain::session::RefreshRecord;
use crate::domain::{
    GrantId, RevokeReason, SessionId, SessionRecord, SessionState, SupportMarker, Timestamp, UserId,
};

#[derive(Serialize, Deserialize)]
pub(super) struct DbSessionV1 {
    id: SessionId,
    user_id: UserId,
    created_at: Timestamp,
    last_activity_at: Timestamp,
    expires_at: Timestamp,
    ip: Option<String>,
    user_agent: Option<String>,
    state: DbSessionStateV1,
    support: Option<DbSupportV1>,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbSessionStateV1 {
    Active,
    Revoked {
        at: Timestamp,
        by: Option<UserId>,
        reason: DbRevokeReasonV1,
        note: Option<String>,
    },
}

/// Append-only (also stored in users' `sessions_valid_after`).
#[derive(Serialize, Deserialize, Clone, Copy)]
pub(super) enum DbRevokeReasonV1 {
    UserLogout,
    AdminRevoked,
    UserSessionsRevoked,
    RefreshTokenReuse,
    PasswordChanged,
    UserDisabled,
    GrantExpired,
    GrantRevoked,
    BulkRevoked,
    UserRevokedOther,
    SessionLimit,
}

#[derive(Serialize, Deserialize)]
struct DbSupportV1 {
    grant_id: GrantId,
    admin_id: UserId,
    admin_email: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DbRefreshV1 {
    session_id: SessionId,
    generation: u32,
    created_at: Timestamp,
    used_at: Option<Timestamp>,
}

stored!(SessionRecord => 1 DbSessionV1);
stored!(RefreshRecord => 1 DbRefreshV1);

impl From<RevokeReason> for DbRevokeReasonV1 {
    fn from(r: RevokeReason) -> Self {
        match r {
            RevokeReason::UserLogout => Self::UserLogout,
            RevokeReason::AdminRevoked => Self::AdminRevoked,
            RevokeReason::UserSessionsRevoked => Self::UserSessionsRevoked,
            RevokeReason::RefreshTokenReuse => Self::RefreshTokenReuse,
            RevokeReason::PasswordChanged => Self::PasswordChanged,
            RevokeReason::UserDisabled => Self::UserDisabled,
            RevokeReason::GrantExpired => Self::GrantExpired,
            RevokeReason::GrantRevoked => Self::GrantRevoked,
            RevokeReason::BulkRevoked => Self::BulkRevoked,
            RevokeReason::UserRevokedOther => Self::UserRevokedOther,
            RevokeReason::SessionLimit => Self::SessionLimit,
        }
    }
}

impl From<DbRevokeReasonV1> for RevokeReason {
    fn from(r: DbRevokeReasonV1) -> Self {
        match r {
            DbRevokeReasonV1::UserLogout => Self::UserLogout,
            DbRevokeReasonV1::AdminRevoked => Self::AdminRevoked,
            DbRevokeReasonV1::UserSessionsRevoked => Self::UserSessionsRevoked,
            DbRevokeReasonV1::RefreshTokenReuse => Self::RefreshTokenReuse,
            DbRevokeReasonV1::PasswordChanged => Self::PasswordChanged,
            DbRevokeReasonV1::UserDisabled => Self::UserDisabled,
            DbRevokeReasonV1::GrantExpired => Self::GrantExpired,
            DbRevokeReasonV1::GrantRevoked => Self::GrantRevoked,
            DbRevokeReasonV1::BulkRevoked => Self::BulkRevoked,
            DbRevokeReasonV1::UserRevokedOther => Self::UserRevokedOther,
            DbRevokeReasonV1::SessionLimit => Self::SessionLimit,
        }
    }
}

impl From<&SessionRecord> for DbSessionV1 {
    fn from(s: &SessionRecord) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            created_at: s.created_at,
            last_activity_at: s.last_activity_at,
            expires_at: s.expires_at,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            state: match &s.state {
                SessionState::Active => DbSessionStateV1::Active,
                SessionState::Revoked {
                    at,
                    by,
                    reason,
                    note,
                } => DbSessionStateV1::Revoked {
                    at: *at,
                    by: *by,
                    reason: (*reason).into(),
                    note: note.clone(),
                },
            },
            support: s.support.as_ref().map(|m| DbSupportV1 {
                grant_id: m.grant_id,
                admin_id: m.admin_id,
                admin_email: m.admin_email.clone(),
            }),
        }
    }
}

impl From<DbSessionV1> for SessionRecord {
    fn from(s: DbSessionV1) -> Self {
        Self {
            id: s.id,
            user_id: s.user_id,
            created_at: s.created_at,
            last_activity_at: s.last_activity_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
            state: match s.state {
                DbSessionStateV1::Active => SessionState::Active,
                DbSessionStateV1::Revoked {
                    at,
                    by,
                    reason,
                    note,
                } => SessionState::Revoked {
                    at,
                    by,
                    reason: reason.into(),
                    note,
                },
            },
            support: s.support.map(|m| SupportMarker {
                grant_id: m.grant_id,
                admin_id: m.admin_id,
                admin_email: m.admin_email,
            }),
        }
    }
}

impl From<&RefreshRecord> for DbRefreshV1 {
    fn from(r: &RefreshRecord) -> Self {
        Self {
            session_id: r.session_id,
            generation: r.generation,
            created_at: r.created_at,
            used_at: r.used_at,
        }
    }
}

impl From<DbRefreshV1> for RefreshRecord {
    fn from(r: DbRefreshV1) -> Self {
        Self {
            session_id: r.session_id,
            generation: r.generation,
            created_at: r.created_at,
            used_at: r.used_at,
        }
    }
}
