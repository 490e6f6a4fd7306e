//! Tenants (with their policy) as stored.

use serde::{Deserialize, Serialize};

use super::stored;
use crate::domain::{Policy, TenantId, TenantRecord, Timestamp};

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

stored!(TenantRecord => 1 DbTenantV1);

impl From<&TenantRecord> for DbTenantV1 {
    fn from(t: &TenantRecord) -> Self {
        let p = &t.policy;
        Self {
            slug: t.slug.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
            policy: DbPolicyV1 {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                min_password_length: p.min_password_length,
            },
        }
    }
}

impl From<DbTenantV1> for TenantRecord {
    fn from(t: DbTenantV1) -> Self {
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
            },
        }
    }
}
