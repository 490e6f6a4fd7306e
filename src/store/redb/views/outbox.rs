//! redb's outbox, webhook and delivery tables.

use redb::ReadableTable;

use super::{Source, WriteTx, get_rec};
use crate::domain::outbox::NEVER;
use crate::domain::{
    DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, EventKind, OutboxEvent, Timestamp,
};
use crate::store::StoreError;
use crate::store::events_api::{EventReads, EventWrites};
use crate::store::records::{decode, encode};
use crate::store::redb::tables::{Kind, Ns, table_name};

fn due_key(d: &DeliveryRecord) -> (i64, u128, u64) {
    (d.next_at.millis(), d.webhook.as_u128(), d.seq)
}

impl<S: Source> EventReads for S {
    fn event_head(&self, ns: Ns<'_>) -> Result<u64, StoreError> {
        let name = table_name(ns, Kind::Events);
        let Some(t) = self.open(def!(name: u64 => &[u8]))? else {
            return Ok(0);
        };
        Ok(t.last()?.map_or(0, |(k, _)| k.value()))
    }

    fn events_after(
        &self,
        ns: Ns<'_>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let name = table_name(ns, Kind::Events);
        let Some(t) = self.open(def!(name: u64 => &[u8]))? else {
            return Ok(Vec::new());
        };
        let Some(from) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        t.range(from..)?
            .take(limit)
            .map(|r| decode(r?.1.value()))
            .collect()
    }

    fn webhook(&self, ns: Ns<'_>, id: EndpointId) -> Result<Option<EndpointRecord>, StoreError> {
        let name = table_name(ns, Kind::Webhooks);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, id.as_u128())
    }

    fn webhooks(&self, ns: Ns<'_>) -> Result<Vec<EndpointRecord>, StoreError> {
        let name = table_name(ns, Kind::Webhooks);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(Vec::new());
        };
        t.iter()?.map(|r| decode(r?.1.value())).collect()
    }

    fn delivery(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        seq: u64,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let name = table_name(ns, Kind::Deliveries);
        let Some(t) = self.open(def!(name: (u128, u64) => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, (webhook.as_u128(), seq))
    }

    fn deliveries(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let name = table_name(ns, Kind::Deliveries);
        let Some(t) = self.open(def!(name: (u128, u64) => &[u8]))? else {
            return Ok(Vec::new());
        };
        let w = webhook.as_u128();
        t.range((w, 0)..(w, before.unwrap_or(u64::MAX)))?
            .rev()
            .take(limit)
            .map(|r| decode(r?.1.value()))
            .collect()
    }

    fn polled_deliveries(
        &self,
        ns: Ns<'_>,
        endpoint: EndpointId,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let name = table_name(ns, Kind::DeliveriesDue);
        let Some(t) = self.open(def!(name: (i64, u128, u64) => ()))? else {
            return Ok(Vec::new());
        };
        let (never, w) = (NEVER.millis(), endpoint.as_u128());
        let mut out = Vec::new();
        for r in t.range((never, w, 0)..=(never, w, u64::MAX))?.take(limit) {
            let (_, _, seq) = r?.0.value();
            out.extend(self.delivery(ns, endpoint, seq)?);
        }
        Ok(out)
    }

    fn due_deliveries(
        &self,
        ns: Ns<'_>,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let name = table_name(ns, Kind::DeliveriesDue);
        let Some(t) = self.open(def!(name: (i64, u128, u64) => ()))? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for r in t.range((i64::MIN, 0, 0)..=(now.millis(), u128::MAX, u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            let (_, w, seq) = r?.0.value();
            out.extend(self.delivery(ns, EndpointId::from_u128(w), seq)?);
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Append these revocations' outbox events, in this transaction (the
    /// head is read once for the lot).
    pub(super) fn append_events(
        &mut self,
        ns: Ns<'_>,
        evs: Vec<(Timestamp, EventKind)>,
    ) -> Result<(), StoreError> {
        if evs.is_empty() {
            return Ok(());
        }
        let head = self.event_head(ns)?;
        let name = table_name(ns, Kind::Events);
        let mut t = self.table(def!(name: u64 => &[u8]))?;
        for (seq, (at, kind)) in (head + 1..).zip(evs) {
            t.insert(seq, encode(&OutboxEvent { seq, at, kind }).as_slice())?;
        }
        Ok(())
    }
}

impl EventWrites for WriteTx<'_> {
    fn append_event(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        self.append_events(ns, vec![(at, kind)])
    }

    fn put_webhook(&mut self, ns: Ns<'_>, w: &EndpointRecord) -> Result<(), StoreError> {
        let name = table_name(ns, Kind::Webhooks);
        self.table(def!(name: u128 => &[u8]))?
            .insert(w.id.as_u128(), encode(w).as_slice())?;
        Ok(())
    }

    fn remove_webhook(&mut self, ns: Ns<'_>, id: EndpointId) -> Result<bool, StoreError> {
        let name = table_name(ns, Kind::Webhooks);
        if self
            .table(def!(name: u128 => &[u8]))?
            .remove(id.as_u128())?
            .is_none()
        {
            return Ok(false);
        }
        let deliveries = table_name(ns, Kind::Deliveries);
        let due = table_name(ns, Kind::DeliveriesDue);
        let mut rows = self.table(def!(deliveries: (u128, u64) => &[u8]))?;
        let mut idx = self.table(def!(due: (i64, u128, u64) => ()))?;
        let w = id.as_u128();
        for d in rows.extract_from_if((w, 0)..=(w, u64::MAX), |_, _| true)? {
            let d: DeliveryRecord = decode(d?.1.value())?;
            if d.status == DeliveryStatus::Pending {
                idx.remove(due_key(&d))?;
            }
        }
        Ok(true)
    }

    fn put_delivery(&mut self, ns: Ns<'_>, d: &DeliveryRecord) -> Result<(), StoreError> {
        let old = self.delivery(ns, d.webhook, d.seq)?;
        let deliveries = table_name(ns, Kind::Deliveries);
        let due = table_name(ns, Kind::DeliveriesDue);
        let mut idx = self.table(def!(due: (i64, u128, u64) => ()))?;
        if let Some(old) = old.filter(|o| o.status == DeliveryStatus::Pending) {
            idx.remove(due_key(&old))?;
        }
        if d.status == DeliveryStatus::Pending {
            idx.insert(due_key(d), ())?;
        }
        self.table(def!(deliveries: (u128, u64) => &[u8]))?
            .insert((d.webhook.as_u128(), d.seq), encode(d).as_slice())?;
        Ok(())
    }

    fn prune_events(&mut self, ns: Ns<'_>, before: Timestamp) -> Result<u64, StoreError> {
        let head = self.event_head(ns)?;
        let name = table_name(ns, Kind::Events);
        let mut t = self.table(def!(name: u64 => &[u8]))?;
        let mut old = Vec::new();
        for r in t.range(..head)? {
            let (k, v) = r?;
            let e: OutboxEvent = decode(v.value())?;
            if e.at >= before {
                break;
            }
            old.push(k.value());
        }
        for k in &old {
            t.remove(*k)?;
        }
        drop(t);
        // Finished deliveries of events that are gone go with them.
        if let Some(&cut) = old.last() {
            let hooks: Vec<u128> = self.webhooks(ns)?.iter().map(|w| w.id.as_u128()).collect();
            let deliveries = table_name(ns, Kind::Deliveries);
            let mut rows = self.table(def!(deliveries: (u128, u64) => &[u8]))?;
            for w in hooks {
                let done = |_: (u128, u64), v: &[u8]| {
                    decode::<DeliveryRecord>(v).is_ok_and(|d| d.status != DeliveryStatus::Pending)
                };
                for r in rows.extract_from_if((w, 0)..=(w, cut), done)? {
                    r?;
                }
            }
        }
        Ok(old.len() as u64)
    }
}
