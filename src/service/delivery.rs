//! The delivery engine. The outbox is written with each revocation (in its
//! transaction); this fans it out to each endpoint's queue (one delivery row
//! per endpoint and event), then sends what is due: one request at a time
//! per endpoint, every endpoint on its own task, so a slow or dead receiver
//! delays only its own queue, never a revocation answer or another tenant.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::outgoing::{Verdict, judge};
use super::{Result, Service};
use crate::auth::TenantScope;
use crate::domain::{
    Actor, AuditAction, AuditEvent, DeliveryRecord, DeliveryStatus, DomainEvent, EndpointId,
    Timestamp,
};
use crate::events::Subscriber;
use crate::events::outbound::Outbound;
use crate::store::{Ns, StoreError};

/// One request may take this long (connect, TLS, answer).
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(10);
/// How long a wake-up waits for more commits before its round.
const GATHER: Duration = Duration::from_millis(50);
/// Due deliveries taken per tenant and round.
const ROUND: usize = 256;
/// The outbox keeps events this long (stream resumption, redelivery).
pub const OUTBOX_DAYS: i64 = 7;
/// Outbox events fanned out per endpoint and transaction.
const FAN_OUT: usize = 1024;

/// What the engine shares with the service and the store's subscriber.
pub struct Deliveries {
    pub(crate) outbound: Outbound,
    /// Wakes the engine (a permit is kept if it is busy).
    wakeup: tokio::sync::Notify,
    /// Wakes every live stream waiting for an event.
    committed: tokio::sync::Notify,
    /// Endpoints with a queue being sent now.
    in_flight: Mutex<HashSet<EndpointId>>,
}

impl Deliveries {
    pub fn new(outbound: Outbound) -> Arc<Self> {
        Arc::new(Self {
            outbound,
            wakeup: tokio::sync::Notify::new(),
            committed: tokio::sync::Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// Resolves after the next committed event of any tenant.
    pub fn committed(&self) -> tokio::sync::futures::Notified<'_> {
        self.committed.notified()
    }

    fn claim(&self, w: EndpointId) -> bool {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(w)
    }

    fn release(&self, w: EndpointId) {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&w);
    }
}

/// The store's after-commit seam wakes the engine and the streams.
pub struct Waker(pub Arc<Deliveries>);

impl Subscriber for Waker {
    fn on_commit(&self, events: &[DomainEvent]) {
        // Revocations and logins append to a tenant's outbox.
        let revoked = events.iter().any(|e| {
            matches!(
                e,
                DomainEvent::SessionRevoked {
                    tenant: Some(_),
                    ..
                } | DomainEvent::SessionCreated {
                    tenant: Some(_),
                    support: false,
                    ..
                }
            )
        });
        if revoked {
            self.0.wakeup.notify_one();
            self.0.committed.notify_waiters();
        }
    }
}

/// Releases an endpoint's queue when its task ends, however it ends.
struct Claim(Arc<Deliveries>, EndpointId);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.release(self.1);
    }
}

fn jitter() -> f64 {
    let mut b = [0u8; 8];
    crate::auth::secret::fill_random(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

impl Service {
    pub fn wake_deliveries(&self) {
        self.deliveries.wakeup.notify_one();
    }

    pub fn deliveries(&self) -> &Arc<Deliveries> {
        &self.deliveries
    }

    /// Run rounds on wake-up (a commit with events, a redelivery) and every
    /// second (retries; commits of other nodes), on the leading node only.
    pub(crate) async fn run_deliveries(self: Arc<Self>) {
        let mut failing = false;
        loop {
            tokio::select! {
                _ = self.deliveries.wakeup.notified() => {
                    // Let a burst of revocations share one fan-out commit.
                    tokio::time::sleep(GATHER).await;
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if !self.store.leading().await {
                continue;
            }
            match self.deliver_round().await {
                Ok(_) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "webhook delivery round failed; will retry");
                }
                Err(_) => {}
            }
        }
    }

    /// One round, waiting for every attempt it starts (tests, `deliver` tools).
    pub async fn deliver_now(self: &Arc<Self>) -> Result<usize> {
        let tasks = self.deliver_round().await?;
        let n = tasks.len();
        for t in tasks {
            let _ = t.await;
        }
        Ok(n)
    }

    /// Fan out new events, then start each endpoint's due queue that is
    /// not already being sent. Answers the started tasks.
    pub async fn deliver_round(self: &Arc<Self>) -> Result<Vec<tokio::task::JoinHandle<()>>> {
        let now = self.now();
        let tenants = self.store.read(|rx| rx.tenants()).await?;
        let (mut started, mut queued, mut oldest) = (Vec::new(), 0usize, None::<Timestamp>);
        for t in tenants {
            let scope = TenantScope::system(t.slug.clone());
            let s = scope.clone();
            let (behind, due) = self
                .store
                .read(move |rx| {
                    let ns = Ns::from(&s);
                    let hooks = rx.webhooks(ns)?;
                    if hooks.is_empty() {
                        return Ok((false, Vec::new()));
                    }
                    let head = rx.event_head(ns)?;
                    let behind = hooks.iter().any(|w| w.cursor < head && !w.holds());
                    Ok((behind, rx.due_deliveries(ns, now, ROUND)?))
                })
                .await?;
            let due = if behind {
                self.fan_out(&scope, now).await?;
                let s = scope.clone();
                self.store
                    .read(move |rx| rx.due_deliveries(Ns::from(&s), now, ROUND))
                    .await?
            } else {
                due
            };
            queued += due.len();
            oldest = due.iter().map(|d| d.created_at).chain(oldest).min();
            let mut queues: BTreeMap<EndpointId, Vec<DeliveryRecord>> = BTreeMap::new();
            for d in due {
                queues.entry(d.webhook).or_default().push(d);
            }
            for (w, mut queue) in queues {
                if !self.deliveries.claim(w) {
                    continue;
                }
                queue.sort_by_key(|d| d.seq);
                let claim = Claim(self.deliveries.clone(), w);
                let (svc, scope) = (self.clone(), scope.clone());
                started.push(tokio::spawn(async move {
                    let _claim = claim;
                    svc.send_queue(&scope, w, queue).await;
                }));
            }
        }
        metrics::gauge!("sessiond_webhook_deliveries_queued").set(queued as f64);
        let lag = oldest.map_or(0, |o| now.millis().saturating_sub(o.millis()));
        metrics::gauge!("sessiond_webhook_lag_seconds").set(lag as f64 / 1000.0);
        Ok(started)
    }

    /// [`Service::fan_out`] now, for a poll that should not wait for a
    /// round; most polls find nothing behind, so no write (and no commit).
    pub(crate) async fn fan_out_now(&self, scope: &TenantScope) -> Result<()> {
        let s = scope.clone();
        let behind = self
            .store
            .read(move |rx| {
                let ns = Ns::from(&s);
                let head = rx.event_head(ns)?;
                Ok(rx
                    .webhooks(ns)?
                    .iter()
                    .any(|w| w.cursor < head && !w.holds()))
            })
            .await?;
        if behind {
            self.fan_out(scope, self.now()).await?;
        }
        Ok(())
    }

    /// Give every endpoint behind the outbox head a delivery per event it
    /// wants, and move its cursor, in one transaction (callers check first
    /// that one is behind).
    async fn fan_out(&self, scope: &TenantScope, now: Timestamp) -> Result<()> {
        let s = scope.clone();
        let made = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&s);
                let head = tx.event_head(ns)?;
                let mut made = 0u64;
                for mut w in tx.webhooks(ns)? {
                    // A paused stream's events wait in the outbox.
                    if w.cursor >= head || w.holds() {
                        continue;
                    }
                    let events = tx.events_after(ns, w.cursor, FAN_OUT)?;
                    for e in &events {
                        if w.wants(&e.kind) {
                            tx.put_delivery(ns, &DeliveryRecord::for_endpoint(&w, e.seq, now))?;
                            made += 1;
                        }
                    }
                    w.cursor = events.last().map_or(head, |e| e.seq);
                    tx.put_webhook(ns, &w)?;
                }
                Ok(made)
            })
            .await?;
        metrics::counter!("sessiond_webhook_deliveries_created_total").increment(made);
        Ok(())
    }

    /// Send one endpoint's due deliveries in order; stop at the first that
    /// fails (the receiver is in trouble: the rest wait for a later round).
    async fn send_queue(&self, scope: &TenantScope, w: EndpointId, queue: Vec<DeliveryRecord>) {
        for d in queue {
            match self.attempt(scope, w, d).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, webhook = %w, "recording a delivery failed");
                    return;
                }
            }
        }
    }

    /// One attempt; `true` if it was delivered.
    async fn attempt(&self, scope: &TenantScope, w: EndpointId, d: DeliveryRecord) -> Result<bool> {
        let s = scope.clone();
        let seq = d.seq;
        let (hook, event) = self
            .store
            .read(move |rx| {
                let ns = Ns::from(&s);
                let ev = rx
                    .events_after(ns, seq.saturating_sub(1), 1)?
                    .into_iter()
                    .find(|e| e.seq == seq);
                Ok((rx.webhook(ns, w)?, ev))
            })
            .await?;
        let Some(hook) = hook else { return Ok(false) };
        let tenant = scope.tenant();
        let now = self.now();
        let verdict = if !hook.enabled {
            Verdict::Permanent(None, "the endpoint is disabled".into())
        } else {
            match self.outgoing(tenant, &hook, seq, event.as_ref(), now) {
                Err(why) => Verdict::Permanent(None, why),
                Ok(out) => {
                    let headers: Vec<(&str, String)> = out.headers;
                    let answer = self
                        .deliveries
                        .outbound
                        .post(
                            &hook.url,
                            out.content_type,
                            &headers,
                            out.body,
                            ATTEMPT_DEADLINE,
                        )
                        .await;
                    judge(&hook.kind, answer)
                }
            }
        };
        let outcome = match verdict {
            Verdict::Delivered(status) => Ok(status),
            Verdict::Retry(status, why) => Err((status, why, false)),
            Verdict::Permanent(status, why) => Err((status, why, true)),
        };
        let after = self.now();
        let next = d.after_attempt(after, outcome, jitter());
        let delivered = next.status == DeliveryStatus::Delivered;
        let result = match next.status {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Pending => "retry",
            DeliveryStatus::Failed => "failed",
        };
        metrics::counter!("sessiond_webhook_deliveries_total", "result" => result).increment(1);
        if let (true, Some(e)) = (delivered, &event) {
            let lag = after.millis().saturating_sub(e.at.millis()) as f64 / 1000.0;
            metrics::histogram!("sessiond_webhook_delivery_lag_seconds").record(lag);
        }
        let s = scope.clone();
        let failed = next.status == DeliveryStatus::Failed;
        self.store
            .write(move |tx| {
                let ns = Ns::from(&s);
                // Deleted meanwhile: nothing to record.
                if tx.delivery(ns, w, seq)?.is_none() {
                    return Ok(());
                }
                tx.put_delivery(ns, &next)?;
                if failed {
                    let ev = AuditEvent::new(Actor::system(), AuditAction::WebhookDeliveryFailed)
                        .target(w)
                        .details(json!({
                            "seq": seq,
                            "attempts": next.attempts,
                            "last_status": next.last_status,
                            "last_error": next.last_error,
                        }));
                    tx.append_audit(ns, after, ev)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => super::Error::NotFound,
                e => e.into(),
            })?;
        Ok(delivered)
    }

    /// Drop outbox events older than [`OUTBOX_DAYS`] (and the finished
    /// deliveries of them) in every tenant; answers how many events went.
    pub async fn prune_outbox(&self) -> Result<u64> {
        let before = self.now().minus_secs(OUTBOX_DAYS * 86_400);
        let mut total = 0;
        for t in self.store.read(|rx| rx.tenants()).await? {
            let s = TenantScope::system(t.slug);
            total += self
                .store
                .write(move |tx| tx.prune_events(Ns::from(&s), before))
                .await?;
        }
        Ok(total)
    }

    /// The newest outbox seq of a tenant.
    pub async fn event_head(&self, scope: &TenantScope) -> Result<u64> {
        let s = scope.clone();
        Ok(self
            .store
            .read(move |rx| rx.event_head(Ns::from(&s)))
            .await?)
    }

    /// Outbox events of a tenant after `after` (the live stream).
    pub async fn outbox_after(
        &self,
        scope: &TenantScope,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::OutboxEvent>> {
        let s = scope.clone();
        Ok(self
            .store
            .read(move |rx| rx.events_after(Ns::from(&s), after, limit))
            .await?)
    }
}
