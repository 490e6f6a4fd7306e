//! The store API of the revocation outbox and its readers: webhook endpoints
//! and their deliveries. Engines append outbox events themselves, inside the
//! transaction that revokes a session (`session_event`), so no revocation
//! path can commit without its event; logins append `session.created`.

use super::StoreError;
use super::ns::Ns;
use crate::domain::{DeliveryRecord, EndpointId, EndpointRecord, OutboxEvent, Timestamp};

pub trait EventReads {
    /// The newest outbox seq of the namespace; 0 before its first event.
    fn event_head(&self, ns: Ns<'_>) -> Result<u64, StoreError>;
    /// Events with seq above `after`, oldest first, at most `limit`.
    fn events_after(
        &self,
        ns: Ns<'_>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StoreError>;
    fn webhook(&self, ns: Ns<'_>, id: EndpointId) -> Result<Option<EndpointRecord>, StoreError>;
    /// Every endpoint of the namespace, oldest first (few per tenant).
    fn webhooks(&self, ns: Ns<'_>) -> Result<Vec<EndpointRecord>, StoreError>;
    fn delivery(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        seq: u64,
    ) -> Result<Option<DeliveryRecord>, StoreError>;
    /// One endpoint's deliveries, newest first, with seq strictly below `before`.
    fn deliveries(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// The pending deliveries of a poll stream (never due: its receiver
    /// collects them), oldest first, at most `limit`.
    fn polled_deliveries(
        &self,
        ns: Ns<'_>,
        endpoint: EndpointId,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Pending deliveries due at `now`, soonest first, at most `limit`.
    fn due_deliveries(
        &self,
        ns: Ns<'_>,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
}

pub trait EventWrites {
    /// Insert or update an endpoint.
    fn put_webhook(&mut self, ns: Ns<'_>, w: &EndpointRecord) -> Result<(), StoreError>;
    /// Remove an endpoint and its deliveries; `false` if it was not there.
    fn remove_webhook(&mut self, ns: Ns<'_>, id: EndpointId) -> Result<bool, StoreError>;
    /// Insert or update a delivery (and the due index of pending ones).
    fn put_delivery(&mut self, ns: Ns<'_>, d: &DeliveryRecord) -> Result<(), StoreError>;
    /// Drop events older than `before`, but never the newest (it carries
    /// the seq on); answers how many went.
    fn prune_events(&mut self, ns: Ns<'_>, before: Timestamp) -> Result<u64, StoreError>;
    /// Append one event that is not a revocation (a login's `session.created`).
    fn append_event(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        kind: crate::domain::EventKind,
    ) -> Result<(), StoreError>;
}

/// The outbox event a session write must append, if it revokes an active
/// session of a tenant (the platform's own sessions have no subscribers).
pub(crate) fn revocation(
    ns: Ns<'_>,
    old: Option<&crate::domain::SessionRecord>,
    new: &crate::domain::SessionRecord,
) -> Option<(Timestamp, crate::domain::EventKind)> {
    use crate::domain::{EventKind, SessionState};
    ns.tenant()?;
    match (old, &new.state) {
        (Some(old), SessionState::Revoked { at, by, reason, .. }) if old.is_active() => Some((
            *at,
            EventKind::SessionRevoked {
                session: new.id,
                user: new.user_id,
                by: *by,
                reason: *reason,
                support: new.support.is_some(),
            },
        )),
        _ => None,
    }
}
