//! Tenants (with their policy) as stored.

use serde::{Deserialize, Serialize};

use crate::domain::policy::SessionLimitAction;
use crate::domain::{Policy, TenantId, TenantRecord, Timestamp};
use crate::store::StoreError;

/// Before session limits (schema 4 on).
#[derive(Serialize, Deserialize)]
pub(super) struct DbTenantV1 {
    slug: TenantId,
    name: String,
    created_at: Timestamp,
    policy: DbPolicyV1,
}

/// The policy as schema 4 wrote it (`min_password_length` appended then;
/// `migrate.rs` upgraded the older layout in place).
#[derive(Serialize, Deserialize)]
struct DbPolicyV1 {
    access_token_ttl_secs: i64,
    idle_timeout_secs: i64,
    absolute_timeout_secs: i64,
    refresh_reuse_grace_secs: i64,
    max_support_grant_secs: i64,
    min_password_length: i64,
}

/// With the session limit.
#[derive(Serialize, Deserialize)]
pub(super) struct DbTenantV2 {
    slug: TenantId,
    name: String,
    created_at: Timestamp,
    policy: DbPolicyV2,
}

#[derive(Serialize, Deserialize)]
struct DbPolicyV2 {
    access_token_ttl_secs: i64,
    idle_timeout_secs: i64,
    absolute_timeout_secs: i64,
    refresh_reuse_grace_secs: i64,
    max_support_grant_secs: i64,
    min_password_length: i64,
    max_sessions_per_user: i64,
    session_limit_action: DbLimitActionV1,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbLimitActionV1 {
    EvictOldest,
    Refuse,
}

impl super::Stored for TenantRecord {
    const VERSION: u8 = 2;
    fn encode_body(&self, out: Vec<u8>) -> Vec<u8> {
        super::body(&DbTenantV2::from(self), out)
    }
    fn decode_body(version: u8, body: &[u8]) -> Result<Self, StoreError> {
        match version {
            1 => super::parse::<DbTenantV1>(body).map(Into::into),
            2 => super::parse::<DbTenantV2>(body).map(Into::into),
            v => super::unknown(v),
        }
    }
}

impl From<&TenantRecord> for DbTenantV2 {
    fn from(t: &TenantRecord) -> Self {
        let p = &t.policy;
        Self {
            slug: t.slug.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
            policy: DbPolicyV2 {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                min_password_length: p.min_password_length,
                max_sessions_per_user: p.max_sessions_per_user,
                session_limit_action: match p.session_limit_action {
                    SessionLimitAction::EvictOldest => DbLimitActionV1::EvictOldest,
                    SessionLimitAction::Refuse => DbLimitActionV1::Refuse,
                },
            },
        }
    }
}

impl From<DbTenantV2> for TenantRecord {
    fn from(t: DbTenantV2) -> Self {
        let p = t.policy;
        Self {
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
            policy: Policy {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                min_password_length: p.min_password_length,
                max_sessions_per_user: p.max_sessions_per_user,
                session_limit_action: match p.session_limit_action {
                    DbLimitActionV1::EvictOldest => SessionLimitAction::EvictOldest,
                    DbLimitActionV1::Refuse => SessionLimitAction::Refuse,
                },
            },
        }
    }
}

/// A V1 tenant had no limit: unlimited.
impl From<DbTenantV1> for TenantRecord {
    fn from(t: DbTenantV1) -> Self {
        let p = t.policy;
        DbTenantV2 {
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
            policy: DbPolicyV2 {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                min_password_length: p.min_password_length,
                max_sessions_per_user: 0,
                session_limit_action: DbLimitActionV1::EvictOldest,
            },
        }
        .into()
    }
}

#[cfg(test)]
impl DbTenantV1 {
    /// A tenant as builds before session limits wrote it.
    pub(super) fn encode_v1(t: &TenantRecord) -> Vec<u8> {
        let DbTenantV2 {
            slug,
            name,
            created_at,
            policy: p,
        } = t.into();
        let v1 = DbTenantV1 {
            slug,
            name,
            created_at,
            policy: DbPolicyV1 {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                min_password_length: p.min_password_length,
            },
        };
        super::body(&v1, vec![1])
    }
}
