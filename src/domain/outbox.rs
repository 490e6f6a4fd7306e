//! The revocation outbox and what reads it: webhook endpoints and their
//! deliveries. Pure types and rules (backoff, filters); the clock is passed in.

use std::fmt;

use super::{ClientId, EndpointId, RevokeReason, SessionId, Timestamp, UserId};

/// One committed change downstream services hear about. Written by the store
/// in the same transaction as the change; `seq` grows by one per event
/// within a tenant, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub seq: u64,
    pub at: Timestamp,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// An active session was revoked (at most once per session).
    SessionRevoked {
        session: SessionId,
        user: UserId,
        /// The person who revoked it; `None` for the system.
        by: Option<UserId>,
        reason: RevokeReason,
        /// A global admin's support session.
        support: bool,
    },
    /// A user signed in (support sessions are not announced): for "new
    /// sign-in from …" notices.
    SessionCreated {
        session: SessionId,
        user: UserId,
        ip: Option<String>,
        user_agent: Option<String>,
    },
}

impl EventKind {
    /// The event type named in webhook bodies, filters and the stream.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::SessionRevoked { .. } => SESSION_REVOKED,
            EventKind::SessionCreated { .. } => SESSION_CREATED,
        }
    }

    /// The session and user it is about.
    pub fn subject(&self) -> (SessionId, UserId) {
        match self {
            EventKind::SessionRevoked { session, user, .. }
            | EventKind::SessionCreated { session, user, .. } => (*session, *user),
        }
    }

    /// The CAEP event type an SSF stream carries it as.
    pub fn caep_type(&self) -> &'static str {
        match self {
            EventKind::SessionRevoked { .. } => CAEP_SESSION_REVOKED,
            EventKind::SessionCreated { .. } => CAEP_SESSION_ESTABLISHED,
        }
    }
}

pub const SESSION_REVOKED: &str = "session.revoked";
pub const SESSION_CREATED: &str = "session.created";
/// Every event type an endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 2] = [SESSION_REVOKED, SESSION_CREATED];
/// CAEP 1.0 §3.1.
pub const CAEP_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP 1.0 §3.7.
pub const CAEP_SESSION_ESTABLISHED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-established";
/// The CAEP event types a stream may request.
pub const CAEP_SUPPORTED: [&str; 2] = [CAEP_SESSION_REVOKED, CAEP_SESSION_ESTABLISHED];
/// SSF 1.0 §8.1.4.1.
pub const SSF_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The delivery seq of a stream's verification event (outbox seqs start at 1).
pub const VERIFICATION_SEQ: u64 = 0;

/// Who ended a session, as CAEP's `initiating_entity` names it.
pub fn initiating_entity(reason: RevokeReason, by: Option<UserId>) -> &'static str {
    use RevokeReason::*;
    match reason {
        UserLogout => "user",
        RefreshTokenReuse | GrantExpired => "policy",
        _ if by.is_some() => "admin",
        _ => "system",
    }
}

/// Where the delivery engine sends a tenant's events.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    pub id: EndpointId,
    pub kind: EndpointKind,
    /// The receiver (empty for an SSF poll stream: the receiver calls us).
    pub url: String,
    /// The HMAC key (Standard Webhooks: shown once as `whsec_` + base64).
    pub key: [u8; 32],
    pub enabled: bool,
    /// Event types delivered; `session.revoked` only when empty.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub created_at: Timestamp,
    /// The outbox is fanned out to this endpoint's queue up to this seq.
    pub cursor: u64,
}

#[derive(Clone, PartialEq, Eq)]
pub enum EndpointKind {
    /// A plain webhook (Standard Webhooks signatures with `key`).
    Webhook,
    /// An SSF stream of a service client (the receiver).
    Stream(StreamConfig),
    /// OIDC back-channel logout of a service client.
    Logout { client: ClientId },
}

/// The SSF stream configuration and status (SSF 1.0 §8.1.1, §8.1.2).
#[derive(Clone, PartialEq, Eq)]
pub struct StreamConfig {
    pub client: ClientId,
    /// RFC 8936 poll (else RFC 8935 push to the endpoint's `url`).
    pub poll: bool,
    /// Sent as `Authorization` with every push.
    pub authorization: Option<String>,
    pub events_requested: Vec<String>,
    pub status: StreamStatus,
    pub reason: Option<String>,
    /// The state of the pending verification event.
    pub verification_state: Option<String>,
    pub verified_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    Enabled,
    /// Events are held (in the outbox) until enabled again.
    Paused,
    /// Events are dropped.
    Disabled,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Enabled, Self::Paused, Self::Disabled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl StreamConfig {
    /// The event types delivered: those requested that we support.
    pub fn events_delivered(&self) -> Vec<&'static str> {
        CAEP_SUPPORTED
            .into_iter()
            .filter(|e| self.events_requested.iter().any(|r| r == e))
            .collect()
    }
}

impl EndpointRecord {
    /// Whether this endpoint gets a delivery of `kind`.
    pub fn wants(&self, kind: &EventKind) -> bool {
        match &self.kind {
            EndpointKind::Webhook => {
                // No filter: revocations, as before logins were announced.
                self.enabled
                    && if self.events.is_empty() {
                        matches!(kind, EventKind::SessionRevoked { .. })
                    } else {
                        self.events.iter().any(|e| e == kind.type_name())
                    }
            }
            EndpointKind::Stream(s) => {
                s.status == StreamStatus::Enabled
                    && s.events_delivered().contains(&kind.caep_type())
            }
            EndpointKind::Logout { .. } => {
                self.enabled && matches!(kind, EventKind::SessionRevoked { .. })
            }
        }
    }

    /// Events are held, not fanned out, while an SSF stream is paused.
    pub fn holds(&self) -> bool {
        matches!(&self.kind, EndpointKind::Stream(s) if s.status == StreamStatus::Paused)
    }

    /// Deliveries an SSF poll stream's receiver collects (never pushed).
    pub fn polled(&self) -> bool {
        matches!(&self.kind, EndpointKind::Stream(s) if s.poll)
    }

    pub fn stream(&self) -> Option<&StreamConfig> {
        match &self.kind {
            EndpointKind::Stream(s) => Some(s),
            _ => None,
        }
    }

    /// The service client this endpoint belongs to, if any.
    pub fn client(&self) -> Option<ClientId> {
        match &self.kind {
            EndpointKind::Webhook => None,
            EndpointKind::Stream(s) => Some(s.client),
            EndpointKind::Logout { client } => Some(*client),
        }
    }
}

impl fmt::Debug for EndpointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook => f.write_str("Webhook"),
            Self::Logout { client } => f.debug_struct("Logout").field("client", client).finish(),
            // `authorization` is a credential of the receiver's: never printed.
            Self::Stream(s) => f
                .debug_struct("Stream")
                .field("client", &s.client)
                .field("poll", &s.poll)
                .field("status", &s.status)
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Debug for EndpointRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointRecord")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("kind", &self.kind)
            .field("enabled", &self.enabled)
            .field("events", &self.events)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt at `next_at`.
    Pending,
    Delivered,
    /// Given up after [`RETRY_FOR_SECS`].
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One outbox event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub webhook: EndpointId,
    pub seq: u64,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: Timestamp,
    /// When a pending delivery is next tried.
    pub next_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's HTTP status of the last attempt, if it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// The due time of a delivery nobody pushes.
pub const NEVER: Timestamp = Timestamp::from_millis(i64::MAX);

/// Deliveries are retried for a day, then marked failed.
pub const RETRY_FOR_SECS: i64 = 24 * 3600;

impl DeliveryRecord {
    /// Pending, due now.
    pub fn new(webhook: EndpointId, seq: u64, now: Timestamp) -> Self {
        Self::pending(webhook, seq, now, now)
    }

    /// Pending for `e`: due now, or never for a poll stream (its receiver collects it).
    pub fn for_endpoint(e: &EndpointRecord, seq: u64, now: Timestamp) -> Self {
        let due = if e.polled() { NEVER } else { now };
        Self::pending(e.id, seq, now, due)
    }

    fn pending(webhook: EndpointId, seq: u64, now: Timestamp, due: Timestamp) -> Self {
        Self {
            webhook,
            seq,
            status: DeliveryStatus::Pending,
            attempts: 0,
            created_at: now,
            next_at: due,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
        }
    }

    /// The record after one attempt: `Ok(status)` delivered, `Err((status,
    /// error, permanent))` retried later (or failed, after a day or when
    /// permanent). `jitter` in [0, 1) spreads the retries of many deliveries.
    pub fn after_attempt(
        &self,
        now: Timestamp,
        outcome: Result<u16, (Option<u16>, String, bool)>,
        jitter: f64,
    ) -> Self {
        let mut d = self.clone();
        d.attempts += 1;
        d.last_attempt_at = Some(now);
        match outcome {
            Ok(status) => {
                d.status = DeliveryStatus::Delivered;
                d.last_status = Some(status);
                d.last_error = None;
            }
            Err((status, error, permanent)) => {
                d.last_status = status;
                d.last_error = Some(error);
                let next = now.plus_millis(backoff_millis(d.attempts, jitter));
                let late = next.millis() >= self.created_at.plus_secs(RETRY_FOR_SECS).millis();
                if permanent || late {
                    d.status = DeliveryStatus::Failed;
                } else {
                    d.next_at = next;
                }
            }
        }
        d
    }

    /// A manual redelivery: pending again, due now, with a fresh retry window.
    pub fn redeliver(&self, now: Timestamp) -> Self {
        Self {
            status: DeliveryStatus::Pending,
            created_at: now,
            next_at: now,
            ..self.clone()
        }
    }
}

/// Exponential backoff from 5 s, capped at an hour, with up to half of it
/// added as jitter.
pub fn backoff_millis(attempts: u32, jitter: f64) -> i64 {
    let base = 5_000i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20));
    let base = base.min(3_600_000);
    base + (base as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(backoff_millis(1, 0.0), 5_000);
        assert_eq!(backoff_millis(2, 0.0), 10_000);
        assert_eq!(backoff_millis(5, 0.0), 80_000);
        assert_eq!(backoff_millis(40, 0.0), 3_600_000);
        assert!(backoff_millis(3, 0.99) > backoff_millis(3, 0.0));
        assert!(backoff_millis(3, 0.99) < backoff_millis(4, 0.0));
    }

    #[test]
    fn an_attempt_delivers_retries_or_gives_up_after_a_day() {
        let d = DeliveryRecord::new(EndpointId::new_v7(), 7, T);
        let ok = d.after_attempt(T, Ok(202), 0.0);
        assert_eq!((ok.status, ok.attempts), (DeliveryStatus::Delivered, 1));
        let again = d.after_attempt(T, Err((Some(500), "500".into(), false)), 0.0);
        assert_eq!(again.status, DeliveryStatus::Pending);
        assert_eq!(again.next_at, T.plus_millis(5_000));
        assert_eq!(again.last_status, Some(500));
        let late = d.after_attempt(
            T.plus_secs(RETRY_FOR_SECS - 1),
            Err((None, "refused".into(), false)),
            0.0,
        );
        assert_eq!(late.status, DeliveryStatus::Failed);
        assert_eq!(late.last_error.as_deref(), Some("refused"));
        let refused = d.after_attempt(T, Err((Some(400), "invalid_key".into(), true)), 0.0);
        assert_eq!(refused.status, DeliveryStatus::Failed);
        let back = late.redeliver(T.plus_secs(RETRY_FOR_SECS));
        assert_eq!(back.status, DeliveryStatus::Pending);
        assert_eq!(back.next_at, T.plus_secs(RETRY_FOR_SECS));
    }

    #[test]
    fn filters_and_initiators() {
        let kind = EventKind::SessionRevoked {
            session: SessionId::new_v7(),
            user: UserId::new_v7(),
            by: None,
            reason: RevokeReason::UserLogout,
            support: false,
        };
        let mut w = EndpointRecord {
            id: EndpointId::new_v7(),
            kind: EndpointKind::Webhook,
            url: "https://example.org/hook".into(),
            key: [0; 32],
            enabled: true,
            events: vec![],
            description: None,
            created_at: T,
            cursor: 0,
        };
        assert!(w.wants(&kind));
        w.events = vec!["session.created".into()];
        assert!(!w.wants(&kind));
        w.events = vec![SESSION_REVOKED.into()];
        w.enabled = false;
        assert!(!w.wants(&kind));
        let admin = Some(UserId::new_v7());
        assert_eq!(initiating_entity(RevokeReason::UserLogout, None), "user");
        assert_eq!(
            initiating_entity(RevokeReason::AdminRevoked, admin),
            "admin"
        );
        assert_eq!(
            initiating_entity(RevokeReason::UserDisabled, None),
            "system"
        );
        assert_eq!(
            initiating_entity(RevokeReason::RefreshTokenReuse, None),
            "policy"
        );
    }
}
