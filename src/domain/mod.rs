//! Pure types and rules: no I/O, no clock reads (time is passed in).

pub mod audit;
pub mod client;
pub mod event;
pub mod grant;
pub mod ids;
pub mod outbox;
pub mod policy;
pub mod query;
pub mod session;
pub mod tenant;
pub mod text;
pub mod time;
pub mod user;

pub use audit::{Actor, ActorKind, AuditAction, AuditEntry, AuditEvent};
pub use client::ClientRecord;
pub use event::DomainEvent;
pub use grant::{GrantRecord, GrantStatus};
pub use ids::{ClientId, EndpointId, GrantId, IdError, SessionId, TenantId, UserId};
pub use outbox::{DeliveryRecord, DeliveryStatus, EndpointRecord, EventKind, OutboxEvent};
pub use policy::Policy;
pub use session::{RevokeReason, SessionDenied, SessionRecord, SessionState, SupportMarker};
pub use tenant::TenantRecord;
pub use time::Timestamp;
pub use user::{Role, UserRecord};
