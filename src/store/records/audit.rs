//! Audit entries and the signing key ring as stored.

use serde::{Deserialize, Serialize};

use super::stored;
use crate::auth::keyring::{KeyRing, RingKey};
use crate::auth::token::KeyMaterial;
use crate::domain::audit::{AuditEntry, Hash};
use crate::domain::{Actor, ActorKind, GrantId, Timestamp, UserId};

/// The hash covers the entry's fields, not these bytes (`AuditEntry::compute_hash`).
#[derive(Serialize, Deserialize)]
pub(super) struct DbAuditV1 {
    seq: u64,
    at: Timestamp,
    actor: DbActorV1,
    /// `AuditAction::as_str`, kept as text so entries outlive the enum.
    action: String,
    target: Option<String>,
    reason: Option<String>,
    ip: Option<String>,
    grant_id: Option<GrantId>,
    details: String,
    prev_hash: Hash,
    hash: Hash,
}

#[derive(Serialize, Deserialize)]
struct DbActorV1 {
    kind: DbActorKindV1,
    id: Option<UserId>,
    email: Option<String>,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbActorKindV1 {
    User,
    GlobalAdmin,
    System,
}

/// Secret: no `Debug`.
#[derive(Serialize, Deserialize)]
pub(super) struct DbKeyRingV1 {
    keys: Vec<DbRingKeyV1>,
}

#[derive(Serialize, Deserialize)]
struct DbRingKeyV1 {
    kid: String,
    seed: [u8; 32],
    created_at: Timestamp,
    activates_at: Timestamp,
}

stored!(AuditEntry => 1 DbAuditV1);
stored!(KeyRing => 1 DbKeyRingV1);

impl From<&AuditEntry> for DbAuditV1 {
    fn from(e: &AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: DbActorV1 {
                kind: match e.actor.kind {
                    ActorKind::User => DbActorKindV1::User,
                    ActorKind::GlobalAdmin => DbActorKindV1::GlobalAdmin,
                    ActorKind::System => DbActorKindV1::System,
                },
                id: e.actor.id,
                email: e.actor.email.clone(),
            },
            action: e.action.clone(),
            target: e.target.clone(),
            reason: e.reason.clone(),
            ip: e.ip.clone(),
            grant_id: e.grant_id,
            details: e.details.clone(),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

impl From<DbAuditV1> for AuditEntry {
    fn from(e: DbAuditV1) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: Actor {
                kind: match e.actor.kind {
                    DbActorKindV1::User => ActorKind::User,
                    DbActorKindV1::GlobalAdmin => ActorKind::GlobalAdmin,
                    DbActorKindV1::System => ActorKind::System,
                },
                id: e.actor.id,
                email: e.actor.email,
            },
            action: e.action,
            target: e.target,
            reason: e.reason,
            ip: e.ip,
            grant_id: e.grant_id,
            details: e.details,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

impl From<&KeyRing> for DbKeyRingV1 {
    fn from(r: &KeyRing) -> Self {
        Self {
            keys: r
                .keys
                .iter()
                .map(|k| DbRingKeyV1 {
                    kid: k.key.kid.clone(),
                    seed: k.key.seed,
                    created_at: k.key.created_at,
                    activates_at: k.activates_at,
                })
                .collect(),
        }
    }
}

impl From<DbKeyRingV1> for KeyRing {
    fn from(r: DbKeyRingV1) -> Self {
        Self {
            keys: r
                .keys
                .into_iter()
                .map(|k| RingKey {
                    key: KeyMaterial {
                        kid: k.kid,
                        seed: k.seed,
                        created_at: k.created_at,
                    },
                    activates_at: k.activates_at,
                })
                .collect(),
        }
    }
}
