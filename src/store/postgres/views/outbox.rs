//! PostgreSQL's outbox, webhook and delivery tables. Event seqs come from
//! a row-locked head, so they follow commit order across nodes (a reader
//! that saw seq n never later meets a smaller one committing).

use super::{PgTx, all, limit, one, uid};
use crate::domain::outbox::NEVER;
use crate::domain::{
    DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, EventKind, OutboxEvent, Timestamp,
};
use crate::store::events_api::{EventReads, EventWrites};
use crate::store::records::encode;
use crate::store::{Ns, StoreError};

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl PgTx<'_> {
    /// Append these events to the outbox, in this transaction.
    pub(super) fn append_events(
        &mut self,
        ns: Ns<'_>,
        evs: Vec<(Timestamp, EventKind)>,
    ) -> Result<(), StoreError> {
        if evs.is_empty() {
            return Ok(());
        }
        let sc = self.schema_w(ns)?;
        let head: i64 = self
            .query(&format!("SELECT seq FROM {sc}.events_head FOR UPDATE"), &[])?
            .first()
            .map_or(0, |r| r.get(0));
        let (mut seqs, mut ats, mut recs) = (vec![], vec![], vec![]);
        for (i, (at, kind)) in evs.into_iter().enumerate() {
            let seq = head as u64 + 1 + i as u64;
            seqs.push(seq_param(seq));
            ats.push(at.millis());
            recs.push(encode(&OutboxEvent { seq, at, kind }));
        }
        let last = seqs.last().copied().unwrap_or(head);
        self.query(
            &format!(
                "INSERT INTO {sc}.events (seq, at, rec)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])"
            ),
            &[&seqs, &ats, &recs],
        )?;
        self.query(&format!("UPDATE {sc}.events_head SET seq = $1"), &[&last])?;
        Ok(())
    }
}

impl EventReads for PgTx<'_> {
    fn event_head(&self, ns: Ns<'_>) -> Result<u64, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(0);
        };
        let rows = self.query(&format!("SELECT seq FROM {sc}.events_head"), &[])?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    fn events_after(
        &self,
        ns: Ns<'_>,
        after: u64,
        n: usize,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(
            &format!("SELECT rec FROM {sc}.events WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&seq_param(after), &limit(n)],
        )?)
    }

    fn webhook(&self, ns: Ns<'_>, id: EndpointId) -> Result<Option<EndpointRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.webhooks WHERE id = $1"),
            &[&uid(id.as_u128())],
        )?)
    }

    fn webhooks(&self, ns: Ns<'_>) -> Result<Vec<EndpointRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(&format!("SELECT rec FROM {sc}.webhooks ORDER BY id"), &[])?)
    }

    fn delivery(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        seq: u64,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.deliveries WHERE webhook = $1 AND seq = $2"),
            &[&uid(webhook.as_u128()), &seq_param(seq)],
        )?)
    }

    fn deliveries(
        &self,
        ns: Ns<'_>,
        webhook: EndpointId,
        before: Option<u64>,
        n: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(
            &format!(
                "SELECT rec FROM {sc}.deliveries WHERE webhook = $1 AND seq < $2
                 ORDER BY seq DESC LIMIT $3"
            ),
            &[
                &uid(webhook.as_u128()),
                &seq_param(before.unwrap_or(u64::MAX)),
                &limit(n),
            ],
        )?)
    }

    fn polled_deliveries(
        &self,
        ns: Ns<'_>,
        endpoint: EndpointId,
        n: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(
            &format!(
                "SELECT rec FROM {sc}.deliveries WHERE webhook = $1 AND due = $2
                 ORDER BY seq LIMIT $3"
            ),
            &[&uid(endpoint.as_u128()), &NEVER.millis(), &limit(n)],
        )?)
    }

    fn due_deliveries(
        &self,
        ns: Ns<'_>,
        now: Timestamp,
        n: usize,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(
            &format!(
                "SELECT rec FROM {sc}.deliveries WHERE due IS NOT NULL AND due <= $1
                 ORDER BY due, webhook, seq LIMIT $2"
            ),
            &[&now.millis(), &limit(n)],
        )?)
    }
}

impl EventWrites for PgTx<'_> {
    fn append_event(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        self.append_events(ns, vec![(at, kind)])
    }

    fn put_webhook(&mut self, ns: Ns<'_>, w: &EndpointRecord) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        self.query(
            &format!(
                "INSERT INTO {sc}.webhooks (id, rec) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET rec = EXCLUDED.rec"
            ),
            &[&uid(w.id.as_u128()), &encode(w)],
        )?;
        Ok(())
    }

    fn remove_webhook(&mut self, ns: Ns<'_>, id: EndpointId) -> Result<bool, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(false);
        };
        let id = uid(id.as_u128());
        let n = self.exec(&format!("DELETE FROM {sc}.webhooks WHERE id = $1"), &[&id])?;
        if n > 0 {
            self.exec(
                &format!("DELETE FROM {sc}.deliveries WHERE webhook = $1"),
                &[&id],
            )?;
        }
        Ok(n > 0)
    }

    fn put_delivery(&mut self, ns: Ns<'_>, d: &DeliveryRecord) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        let due = (d.status == DeliveryStatus::Pending).then(|| d.next_at.millis());
        self.query(
            &format!(
                "INSERT INTO {sc}.deliveries (webhook, seq, due, rec) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (webhook, seq) DO UPDATE SET due = EXCLUDED.due, rec = EXCLUDED.rec"
            ),
            &[
                &uid(d.webhook.as_u128()),
                &seq_param(d.seq),
                &due,
                &encode(d),
            ],
        )?;
        Ok(())
    }

    fn prune_events(&mut self, ns: Ns<'_>, before: Timestamp) -> Result<u64, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(0);
        };
        let rows = self.query(
            &format!(
                "WITH gone AS (DELETE FROM {sc}.events WHERE at < $1
                     AND seq < (SELECT seq FROM {sc}.events_head) RETURNING seq)
                 SELECT count(*), max(seq) FROM gone"
            ),
            &[&before.millis()],
        )?;
        let (n, cut): (i64, Option<i64>) = rows.first().map_or((0, None), |r| (r.get(0), r.get(1)));
        if let Some(cut) = cut {
            // Finished deliveries of events that are gone go with them.
            self.exec(
                &format!("DELETE FROM {sc}.deliveries WHERE seq <= $1 AND due IS NULL"),
                &[&cut],
            )?;
        }
        Ok(n as u64)
    }
}
