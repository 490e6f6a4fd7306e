//! Last-activity tracking: hot and cheap to lose by a few seconds, so it lives
//! in memory, is merged into every read, and is flushed in batches.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::{SessionId, TenantId, Timestamp};

/// `None` tenant = the platform namespace.
pub type SessionKey = (Option<TenantId>, SessionId);

#[derive(Debug, Default)]
pub struct Activity {
    pending: Mutex<HashMap<SessionKey, Timestamp>>,
}

impl Activity {
    pub fn touch(&self, key: SessionKey, at: Timestamp) {
        if let Ok(mut m) = self.pending.lock() {
            let e = m.entry(key).or_insert(at);
            *e = (*e).max(at);
        }
    }

    /// The newest unflushed activity, if any.
    pub fn get(&self, key: &SessionKey) -> Option<Timestamp> {
        self.pending.lock().ok().and_then(|m| m.get(key).copied())
    }

    /// A copy of everything pending (the map is not cleared: see `forget`).
    pub fn snapshot(&self) -> Vec<(SessionKey, Timestamp)> {
        self.pending
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// After a flush committed: drop entries that did not move since the snapshot,
    /// so reads never miss activity that is neither in memory nor on disk.
    pub fn forget(&self, flushed: &[(SessionKey, Timestamp)]) {
        if let Ok(mut m) = self.pending.lock() {
            for (k, at) in flushed {
                if m.get(k).is_some_and(|cur| cur <= at) {
                    m.remove(k);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.pending.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_and_forgets_only_flushed_values() {
        let a = Activity::default();
        let k = (None, SessionId::new_v7());
        a.touch(k.clone(), Timestamp::from_millis(10));
        a.touch(k.clone(), Timestamp::from_millis(5));
        assert_eq!(a.get(&k), Some(Timestamp::from_millis(10)));
        let snap = a.snapshot();
        a.touch(k.clone(), Timestamp::from_millis(20)); // newer activity during the flush
        a.forget(&snap);
        assert_eq!(a.get(&k), Some(Timestamp::from_millis(20)));
        a.forget(&a.snapshot());
        assert!(a.is_empty());
    }
}
