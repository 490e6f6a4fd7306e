//! The revocation outbox, webhook endpoints and their deliveries as stored.

use serde::{Deserialize, Serialize};

use super::session::DbRevokeReasonV1;
use super::stored;
use crate::domain::outbox::{EndpointKind, StreamConfig, StreamStatus};
use crate::domain::{
    ClientId, DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, EventKind, OutboxEvent,
    SessionId, Timestamp, UserId,
};

#[derive(Serialize, Deserialize)]
pub(super) struct DbOutboxEventV1 {
    seq: u64,
    at: Timestamp,
    kind: DbEventKindV1,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbEventKindV1 {
    SessionRevoked {
        session: SessionId,
        user: UserId,
        by: Option<UserId>,
        reason: DbRevokeReasonV1,
        support: bool,
    },
    SessionCreated {
        session: SessionId,
        user: UserId,
        ip: Option<String>,
        user_agent: Option<String>,
    },
}

stored!(OutboxEvent => 1 DbOutboxEventV1);

impl From<&OutboxEvent> for DbOutboxEventV1 {
    fn from(e: &OutboxEvent) -> Self {
        let kind = match &e.kind {
            EventKind::SessionRevoked {
                session,
                user,
                by,
                reason,
                support,
            } => DbEventKindV1::SessionRevoked {
                session: *session,
                user: *user,
                by: *by,
                reason: (*reason).into(),
                support: *support,
            },
            EventKind::SessionCreated {
                session,
                user,
                ip,
                user_agent,
            } => DbEventKindV1::SessionCreated {
                session: *session,
                user: *user,
                ip: ip.clone(),
                user_agent: user_agent.clone(),
            },
        };
        Self {
            seq: e.seq,
            at: e.at,
            kind,
        }
    }
}

impl From<DbOutboxEventV1> for OutboxEvent {
    fn from(e: DbOutboxEventV1) -> Self {
        let kind = match e.kind {
            DbEventKindV1::SessionRevoked {
                session,
                user,
                by,
                reason,
                support,
            } => EventKind::SessionRevoked {
                session,
                user,
                by,
                reason: reason.into(),
                support,
            },
            DbEventKindV1::SessionCreated {
                session,
                user,
                ip,
                user_agent,
            } => EventKind::SessionCreated {
                session,
                user,
                ip,
                user_agent,
            },
        };
        Self {
            seq: e.seq,
            at: e.at,
            kind,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct DbEndpointV1 {
    id: EndpointId,
    kind: DbEndpointKindV1,
    url: String,
    key: [u8; 32],
    enabled: bool,
    events: Vec<String>,
    description: Option<String>,
    created_at: Timestamp,
    cursor: u64,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbEndpointKindV1 {
    Webhook,
    Stream(DbStreamV1),
    Logout { client: ClientId },
}

#[derive(Serialize, Deserialize)]
struct DbStreamV1 {
    client: ClientId,
    poll: bool,
    authorization: Option<String>,
    events_requested: Vec<String>,
    status: DbStreamStatusV1,
    reason: Option<String>,
    verification_state: Option<String>,
    verified_at: Option<Timestamp>,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbStreamStatusV1 {
    Enabled,
    Paused,
    Disabled,
}

stored!(EndpointRecord => 1 DbEndpointV1);

fn kind_to_db(k: &EndpointKind) -> DbEndpointKindV1 {
    match k {
        EndpointKind::Webhook => DbEndpointKindV1::Webhook,
        EndpointKind::Logout { client } => DbEndpointKindV1::Logout { client: *client },
        EndpointKind::Stream(s) => DbEndpointKindV1::Stream(DbStreamV1 {
            client: s.client,
            poll: s.poll,
            authorization: s.authorization.clone(),
            events_requested: s.events_requested.clone(),
            status: match s.status {
                StreamStatus::Enabled => DbStreamStatusV1::Enabled,
                StreamStatus::Paused => DbStreamStatusV1::Paused,
                StreamStatus::Disabled => DbStreamStatusV1::Disabled,
            },
            reason: s.reason.clone(),
            verification_state: s.verification_state.clone(),
            verified_at: s.verified_at,
        }),
    }
}

fn kind_from_db(k: DbEndpointKindV1) -> EndpointKind {
    match k {
        DbEndpointKindV1::Webhook => EndpointKind::Webhook,
        DbEndpointKindV1::Logout { client } => EndpointKind::Logout { client },
        DbEndpointKindV1::Stream(s) => EndpointKind::Stream(StreamConfig {
            client: s.client,
            poll: s.poll,
            authorization: s.authorization,
            events_requested: s.events_requested,
            status: match s.status {
                DbStreamStatusV1::Enabled => StreamStatus::Enabled,
                DbStreamStatusV1::Paused => StreamStatus::Paused,
                DbStreamStatusV1::Disabled => StreamStatus::Disabled,
            },
            reason: s.reason,
            verification_state: s.verification_state,
            verified_at: s.verified_at,
        }),
    }
}

impl From<&EndpointRecord> for DbEndpointV1 {
    fn from(w: &EndpointRecord) -> Self {
        Self {
            id: w.id,
            kind: kind_to_db(&w.kind),
            url: w.url.clone(),
            key: w.key,
            enabled: w.enabled,
            events: w.events.clone(),
            description: w.description.clone(),
            created_at: w.created_at,
            cursor: w.cursor,
        }
    }
}

impl From<DbEndpointV1> for EndpointRecord {
    fn from(w: DbEndpointV1) -> Self {
        Self {
            id: w.id,
            kind: kind_from_db(w.kind),
            url: w.url,
            key: w.key,
            enabled: w.enabled,
            events: w.events,
            description: w.description,
            created_at: w.created_at,
            cursor: w.cursor,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct DbDeliveryV1 {
    webhook: EndpointId,
    seq: u64,
    status: DbDeliveryStatusV1,
    attempts: u32,
    created_at: Timestamp,
    next_at: Timestamp,
    last_attempt_at: Option<Timestamp>,
    last_status: Option<u16>,
    last_error: Option<String>,
}

/// Append-only.
#[derive(Serialize, Deserialize)]
enum DbDeliveryStatusV1 {
    Pending,
    Delivered,
    Failed,
}

stored!(DeliveryRecord => 1 DbDeliveryV1);

impl From<&DeliveryRecord> for DbDeliveryV1 {
    fn from(d: &DeliveryRecord) -> Self {
        Self {
            webhook: d.webhook,
            seq: d.seq,
            status: match d.status {
                DeliveryStatus::Pending => DbDeliveryStatusV1::Pending,
                DeliveryStatus::Delivered => DbDeliveryStatusV1::Delivered,
                DeliveryStatus::Failed => DbDeliveryStatusV1::Failed,
            },
            attempts: d.attempts,
            created_at: d.created_at,
            next_at: d.next_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
        }
    }
}

impl From<DbDeliveryV1> for DeliveryRecord {
    fn from(d: DbDeliveryV1) -> Self {
        Self {
            webhook: d.webhook,
            seq: d.seq,
            status: match d.status {
                DbDeliveryStatusV1::Pending => DeliveryStatus::Pending,
                DbDeliveryStatusV1::Delivered => DeliveryStatus::Delivered,
                DbDeliveryStatusV1::Failed => DeliveryStatus::Failed,
            },
            attempts: d.attempts,
            created_at: d.created_at,
            next_at: d.next_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
        }
    }
}
