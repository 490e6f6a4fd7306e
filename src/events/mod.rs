//! The after-commit seam: the store publishes each committed write's domain
//! events here, after the commit returned and before the writer answers the
//! caller. A subscriber therefore sees a revocation before its revoker does,
//! and never sees a write that was rolled back or re-applied.

pub mod outbound;
pub mod sign;
pub mod tokens;

use std::sync::{Arc, RwLock};

use crate::domain::DomainEvent;

/// Runs on the writer's thread: must be quick and must not block on I/O
/// (hand work to a channel instead).
pub trait Subscriber: Send + Sync {
    fn on_commit(&self, events: &[DomainEvent]);
}

/// Every subscriber of one store.
#[derive(Default)]
pub struct Bus {
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.subscribers.read().map_or(0, |s| s.len());
        f.debug_struct("Bus").field("subscribers", &n).finish()
    }
}

impl Bus {
    /// A bus with the metrics subscriber, which every store has.
    pub fn new() -> Self {
        let bus = Self::default();
        bus.subscribe(Arc::new(Metrics));
        bus
    }

    pub fn subscribe(&self, s: Arc<dyn Subscriber>) {
        self.subscribers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(s);
    }

    /// Called by the store only, once per committed write.
    pub fn publish(&self, events: &[DomainEvent]) {
        if events.is_empty() {
            return;
        }
        let subs = self.subscribers.read().unwrap_or_else(|p| p.into_inner());
        for s in subs.iter() {
            s.on_commit(events);
        }
    }
}

/// Counters of what became durable.
struct Metrics;

impl Subscriber for Metrics {
    fn on_commit(&self, events: &[DomainEvent]) {
        for e in events {
            match e {
                DomainEvent::SessionCreated { support, .. } => {
                    let kind = if *support { "support" } else { "user" };
                    metrics::counter!("sessiond_sessions_created_total", "kind" => kind)
                        .increment(1);
                }
                DomainEvent::SessionRevoked { reason, .. } => {
                    metrics::counter!("sessiond_revocations_total", "reason" => reason.as_str())
                        .increment(1);
                }
                DomainEvent::AuditAppended { action, .. } => {
                    metrics::counter!("sessiond_audit_entries_total", "action" => action.as_str())
                        .increment(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Record(Mutex<Vec<DomainEvent>>);

    impl Subscriber for Record {
        fn on_commit(&self, events: &[DomainEvent]) {
            self.0.lock().unwrap().extend_from_slice(events);
        }
    }

    #[test]
    fn every_subscriber_sees_every_batch_in_order() {
        let bus = Bus::new();
        let a = Arc::new(Record::default());
        let b = Arc::new(Record::default());
        bus.subscribe(a.clone());
        bus.subscribe(b.clone());
        let ev = |seq| DomainEvent::AuditAppended {
            tenant: None,
            seq,
            action: crate::domain::AuditAction::Login,
        };
        bus.publish(&[ev(1), ev(2)]);
        bus.publish(&[]);
        bus.publish(&[ev(3)]);
        let want = vec![ev(1), ev(2), ev(3)];
        assert_eq!(*a.0.lock().unwrap(), want);
        assert_eq!(*b.0.lock().unwrap(), want);
    }
}
