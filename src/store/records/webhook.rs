//! The revocation outbox, webhook endpoints and their deliveries as stored.

use serde::{Deserialize, Serialize};

use super::session::DbRevokeReasonV1;
use super::stored;
use crate::domain::{
    DeliveryRecord, DeliveryStatus, EventKind, OutboxEvent, SessionId, Timestamp, UserId,
    WebhookId, WebhookRecord,
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
        };
        Self {
            seq: e.seq,
            at: e.at,
            kind,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct DbWebhookV1 {
    id: WebhookId,
    url: String,
    key: [u8; 32],
    enabled: bool,
    events: Vec<String>,
    description: Option<String>,
    created_at: Timestamp,
    cursor: u64,
}

stored!(WebhookRecord => 1 DbWebhookV1);

impl From<&WebhookRecord> for DbWebhookV1 {
    fn from(w: &WebhookRecord) -> Self {
        Self {
            id: w.id,
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

impl From<DbWebhookV1> for WebhookRecord {
    fn from(w: DbWebhookV1) -> Self {
        Self {
            id: w.id,
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
    webhook: WebhookId,
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
