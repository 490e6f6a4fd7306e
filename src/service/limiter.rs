//! Login throttling: failures counted per account and per client IP in fixed windows.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_ip: 50,
            window_secs: 300,
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: Limits,
    windows: Mutex<HashMap<String, (Timestamp, u32)>>,
}

const PRUNE_AT: usize = 100_000;

impl LoginLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Mutex::default(),
        }
    }

    /// Seconds to wait, if either key is over its limit.
    pub fn blocked(&self, account: &str, ip: &str, now: Timestamp) -> Option<u64> {
        let m = self.windows.lock().ok()?;
        let check = |key: String, limit: u32| {
            let (start, n) = m.get(&key)?;
            let end = start.plus_secs(self.limits.window_secs);
            (*n >= limit && now < end).then(|| ((end.millis() - now.millis() + 999) / 1000) as u64)
        };
        let a = check(format!("a:{account}"), self.limits.per_account);
        let i = check(format!("i:{ip}"), self.limits.per_ip);
        a.max(i)
    }

    pub fn failed(&self, account: &str, ip: &str, now: Timestamp) {
        let Ok(mut m) = self.windows.lock() else {
            return;
        };
        if m.len() > PRUNE_AT {
            let w = self.limits.window_secs;
            m.retain(|_, (start, _)| now < start.plus_secs(w));
        }
        for key in [format!("a:{account}"), format!("i:{ip}")] {
            let e = m.entry(key).or_insert((now, 0));
            if now >= e.0.plus_secs(self.limits.window_secs) {
                *e = (now, 0);
            }
            e.1 += 1;
        }
    }

    /// A success clears the account's count (not the IP's).
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut m) = self.windows.lock() {
            m.remove(&format!("a:{account}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_until_window_ends() {
        let l = LoginLimiter::new(Limits {
            per_account: 3,
            per_ip: 100,
            window_secs: 60,
        });
        let t0 = Timestamp::from_millis(1_000_000);
        for _ in 0..3 {
            assert_eq!(l.blocked("acme/a@b.c", "1.2.3.4", t0), None);
            l.failed("acme/a@b.c", "1.2.3.4", t0);
        }
        assert_eq!(
            l.blocked("acme/a@b.c", "9.9.9.9", t0.plus_secs(10)),
            Some(50)
        );
        assert_eq!(l.blocked("acme/other@b.c", "1.2.3.4", t0), None);
        assert_eq!(l.blocked("acme/a@b.c", "1.2.3.4", t0.plus_secs(60)), None);
    }

    #[test]
    fn ip_limit_spans_accounts_and_success_resets_account() {
        let l = LoginLimiter::new(Limits {
            per_account: 2,
            per_ip: 3,
            window_secs: 60,
        });
        let t0 = Timestamp::from_millis(0);
        l.failed("a", "ip", t0);
        l.failed("b", "ip", t0);
        l.failed("c", "ip", t0);
        assert!(l.blocked("d", "ip", t0).is_some());
        l.failed("a", "other", t0);
        assert!(l.blocked("a", "x", t0).is_some());
        l.succeeded("a");
        assert_eq!(l.blocked("a", "x", t0), None);
    }
}
