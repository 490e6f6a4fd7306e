//! Login throttling that slows an attacker without locking out the owner.
//!
//! Failures are counted per (account, client IP), per IP and per account,
//! each forgotten `window_secs` after its last failure. A pair gets
//! `free_failures` free tries, then must wait an exponentially growing delay
//! (from 1 s, doubling, capped at `max_delay_secs`) after each failure. Once
//! an IP or an account is over its limit, its pairs get no free tries. A pair
//! with no recent failure is never refused: the owner signing in from their
//! own network still gets in while their account is attacked from elsewhere,
//! and a NAT's other users are not blocked by one bad client behind it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub free_failures: u32,
    pub max_delay_secs: i64,
    pub per_ip: u32,
    pub per_account: u32,
    pub window_secs: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            free_failures: 3,
            max_delay_secs: 900,
            per_ip: 30,
            per_account: 100,
            window_secs: 900,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: Timestamp,
}

#[derive(Debug, Default)]
struct Counts {
    pairs: HashMap<(String, String), Count>,
    ips: HashMap<String, Count>,
    accounts: HashMap<String, Count>,
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    limits: Limits,
    counts: Mutex<Counts>,
}

/// Past this many tracked keys, expired ones are pruned on the next failure.
const PRUNE_AT: usize = 100_000;

impl LoginLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            counts: Mutex::default(),
        }
    }

    fn live(&self, c: Option<&Count>, now: Timestamp) -> u32 {
        c.filter(|c| now < c.last.plus_secs(self.limits.window_secs))
            .map_or(0, |c| c.failures)
    }

    /// Seconds this pair must still wait before its next try, if any.
    pub fn blocked(&self, account: &str, ip: &str, now: Timestamp) -> Option<u64> {
        let m = self.counts.lock().ok()?;
        let pair = m.pairs.get(&(account.to_owned(), ip.to_owned()))?;
        let failures = self.live(Some(pair), now);
        let hot = self.live(m.ips.get(ip), now) >= self.limits.per_ip
            || self.live(m.accounts.get(account), now) >= self.limits.per_account;
        let free = if hot { 0 } else { self.limits.free_failures };
        if failures == 0 || failures < free {
            return None;
        }
        let doublings = (failures - free).min(30);
        let delay = (1i64 << doublings).min(self.limits.max_delay_secs);
        let until = pair.last.plus_secs(delay);
        (now < until).then(|| ((until.millis() - now.millis() + 999) / 1000) as u64)
    }

    pub fn failed(&self, account: &str, ip: &str, now: Timestamp) {
        let Ok(mut m) = self.counts.lock() else {
            return;
        };
        let window = self.limits.window_secs;
        if m.pairs.len() + m.ips.len() + m.accounts.len() > PRUNE_AT {
            let fresh = |c: &mut Count| now < c.last.plus_secs(window);
            m.pairs.retain(|_, c| fresh(c));
            m.ips.retain(|_, c| fresh(c));
            m.accounts.retain(|_, c| fresh(c));
        }
        let bump = |c: &mut Count| {
            if now >= c.last.plus_secs(window) {
                c.failures = 0;
            }
            c.failures = c.failures.saturating_add(1);
            c.last = now;
            c.failures
        };
        let zero = Count {
            failures: 0,
            last: now,
        };
        bump(
            m.pairs
                .entry((account.to_owned(), ip.to_owned()))
                .or_insert(zero),
        );
        bump(m.ips.entry(ip.to_owned()).or_insert(zero));
        let n = bump(m.accounts.entry(account.to_owned()).or_insert(zero));
        if n == self.limits.per_account {
            metrics::counter!("sessiond_login_account_limit_reached_total").increment(1);
            tracing::warn!(
                %account,
                failures = n,
                window_secs = window,
                "many failed logins for one account: only clients without recent failures may try"
            );
        }
        if self.live(m.ips.get(ip), now) == self.limits.per_ip {
            metrics::counter!("sessiond_login_ip_limit_reached_total").increment(1);
        }
    }

    /// A success clears the pair, not the IP's or the account's count.
    pub fn succeeded(&self, account: &str, ip: &str) {
        if let Ok(mut m) = self.counts.lock() {
            m.pairs.remove(&(account.to_owned(), ip.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(Limits {
            free_failures: 3,
            max_delay_secs: 60,
            per_ip: 10,
            per_account: 20,
            window_secs: 900,
        })
    }

    #[test]
    fn delay_grows_exponentially_after_the_free_failures_and_is_capped() {
        let l = limiter();
        let mut waits = Vec::new();
        for _ in 0..9 {
            waits.push(l.blocked("a", "ip", T0));
            l.failed("a", "ip", T0);
        }
        assert_eq!(waits[..3], [None, None, None]);
        assert_eq!(l.blocked("a", "ip", T0), Some(60), "capped");
        l.failed("x", "ip2", T0);
        l.failed("x", "ip2", T0);
        l.failed("x", "ip2", T0);
        assert_eq!(l.blocked("x", "ip2", T0), Some(1));
        l.failed("x", "ip2", T0);
        assert_eq!(l.blocked("x", "ip2", T0), Some(2));
        assert_eq!(
            l.blocked("x", "ip2", T0.plus_secs(2)),
            None,
            "the delay passes"
        );
    }

    #[test]
    fn the_owner_from_a_clean_ip_is_never_refused() {
        let l = limiter();
        for _ in 0..50 {
            l.failed("victim", "attacker", T0);
        }
        assert!(l.blocked("victim", "attacker", T0).is_some());
        assert_eq!(l.blocked("victim", "home", T0), None);
    }

    #[test]
    fn a_hot_ip_loses_its_free_tries_but_clean_pairs_behind_it_pass() {
        let l = limiter();
        for i in 0..10 {
            l.failed(&format!("user{i}"), "nat", T0);
        }
        assert_eq!(l.blocked("someone-else", "nat", T0), None, "clean pair");
        l.failed("someone-else", "nat", T0);
        assert!(
            l.blocked("someone-else", "nat", T0).is_some(),
            "no free tries"
        );
    }

    #[test]
    fn success_clears_the_pair_and_counts_decay() {
        let l = limiter();
        for _ in 0..5 {
            l.failed("a", "ip", T0);
        }
        l.succeeded("a", "ip");
        assert_eq!(l.blocked("a", "ip", T0), None);
        for _ in 0..5 {
            l.failed("b", "ip", T0);
        }
        assert_eq!(l.blocked("b", "ip", T0.plus_secs(900)), None, "forgotten");
    }
}
