//! Users and service clients as stored.

use serde::{Deserialize, Serialize};

use super::session::DbRevokeReasonV1;
use super::stored;
use crate::domain::user::{PasswordHash, ValidAfter};
use crate::domain::{ClientId, ClientRecord, Role, Timestamp, UserId, UserRecord};

#[derive(Serialize, Deserialize)]
pub(super) struct DbUserV1 {
    id: UserId,
    email: String,
    display_name: String,
    role: DbRoleV1,
    /// PHC string.
    password_hash: String,
    disabled: bool,
    sessions_valid_after: Option<DbValidAfterV1>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbRoleV1 {
    Member,
    OrgAdmin,
    GlobalAdmin,
}

#[derive(Serialize, Deserialize)]
struct DbValidAfterV1 {
    at: Timestamp,
    reason: DbRevokeReasonV1,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DbClientV1 {
    id: ClientId,
    name: String,
    /// SHA-256 of the secret.
    secret_hash: [u8; 32],
    created_at: Timestamp,
}

stored!(UserRecord => 1 DbUserV1);
stored!(ClientRecord => 1 DbClientV1);

impl From<&UserRecord> for DbUserV1 {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: match u.role {
                Role::Member => DbRoleV1::Member,
                Role::OrgAdmin => DbRoleV1::OrgAdmin,
                Role::GlobalAdmin => DbRoleV1::GlobalAdmin,
            },
            password_hash: u.password_hash.0.clone(),
            disabled: u.disabled,
            sessions_valid_after: u.sessions_valid_after.map(|v| DbValidAfterV1 {
                at: v.at,
                reason: v.reason.into(),
            }),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<DbUserV1> for UserRecord {
    fn from(u: DbUserV1) -> Self {
        Self {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: match u.role {
                DbRoleV1::Member => Role::Member,
                DbRoleV1::OrgAdmin => Role::OrgAdmin,
                DbRoleV1::GlobalAdmin => Role::GlobalAdmin,
            },
            password_hash: PasswordHash(u.password_hash),
            disabled: u.disabled,
            sessions_valid_after: u.sessions_valid_after.map(|v| ValidAfter {
                at: v.at,
                reason: v.reason.into(),
            }),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<&ClientRecord> for DbClientV1 {
    fn from(c: &ClientRecord) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            secret_hash: c.secret_hash,
            created_at: c.created_at,
        }
    }
}

impl From<DbClientV1> for ClientRecord {
    fn from(c: DbClientV1) -> Self {
        Self {
            id: c.id,
            name: c.name,
            secret_hash: c.secret_hash,
            created_at: c.created_at,
        }
    }
}
