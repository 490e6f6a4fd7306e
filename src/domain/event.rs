//! Domain events: what a committed write changed, for subscribers that must
//! never see a write that did not become durable (metrics, caches, and the
//! revocation events to come).

use super::{AuditAction, RevokeReason, SessionId, TenantId, Timestamp, UserId};

/// Where an event happened: a tenant, or the platform (global admins).
pub type Where = Option<TenantId>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    SessionCreated {
        tenant: Where,
        session: SessionId,
        user: UserId,
        at: Timestamp,
        /// A global admin's support session.
        support: bool,
    },
    /// An active session became revoked (each session at most once).
    SessionRevoked {
        tenant: Where,
        session: SessionId,
        user: UserId,
        at: Timestamp,
        /// The person who revoked it; `None` for the system.
        by: Option<UserId>,
        reason: RevokeReason,
    },
    AuditAppended {
        tenant: Where,
        seq: u64,
        action: AuditAction,
    },
}
