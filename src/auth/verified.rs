//! A bounded cache of access tokens whose signature and claims have
//! verified, so the Ed25519 check runs once per token, not once per request.
//!
//! Invariants: an entry exists only for a token that passed the full
//! verification; it is keyed by SHA-256 of the token (no token bytes are
//! kept); its expiry is checked again on every hit. The cache answers only
//! "is this a token we signed"; whether its session may still act (revoked,
//! expired, user disabled, valid-after mark, grant ended) is decided on every
//! request from the store, so revocation stays immediate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::token::Claims;

const SHARDS: usize = 16;

pub struct VerifiedTokens {
    shards: Vec<Mutex<HashMap<[u8; 32], Arc<Claims>>>>,
    per_shard: usize,
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

/// The cache key of a token.
pub fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// At most `capacity` entries (0 turns the cache off).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], Arc<Claims>>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    /// The verified claims of this token, if cached (expired or not: the caller checks).
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Claims>> {
        self.shard(key).lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: [u8; 32], claims: Arc<Claims>, now_secs: i64) {
        if self.per_shard == 0 {
            return;
        }
        let Ok(mut m) = self.shard(&key).lock() else {
            return;
        };
        if m.len() >= self.per_shard {
            m.retain(|_, c| c.exp > now_secs);
        }
        if m.len() >= self.per_shard {
            // Still full of live tokens: drop an arbitrary eighth (hash order).
            let drop: Vec<[u8; 32]> = m.keys().take(self.per_shard / 8 + 1).copied().collect();
            for k in drop {
                m.remove(&k);
            }
        }
        m.insert(key, claims);
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok())
            .map(|m| m.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "i".into(),
            aud: "sessiond".into(),
            sub: "u".into(),
            tid: "t".into(),
            sid: "s".into(),
            role: Role::Member,
            iat: 0,
            exp,
            jti: "j".into(),
            gid: None,
        })
    }

    #[test]
    fn bounded_and_prefers_dropping_expired_entries() {
        let c = VerifiedTokens::new(160);
        for i in 0..10_000 {
            c.insert(token_key(&format!("t{i}")), claims(100), 0);
        }
        assert!(c.len() <= 160, "{}", c.len());
        // Expired entries go first when a shard fills up.
        let c = VerifiedTokens::new(16);
        c.insert(token_key("old"), claims(10), 0);
        let old = token_key("old");
        let mut same_shard = (0..)
            .map(|i| format!("n{i}"))
            .filter(|t| token_key(t)[0] % 16 == old[0] % 16);
        let next = token_key(&same_shard.next().unwrap());
        c.insert(next, claims(1000), 50);
        assert!(c.get(&old).is_none(), "the expired entry was evicted");
        assert!(c.get(&next).is_some());
    }

    #[test]
    fn zero_capacity_caches_nothing_and_keys_are_digests() {
        let c = VerifiedTokens::new(0);
        c.insert(token_key("a"), claims(100), 0);
        assert!(c.is_empty());
        assert_ne!(token_key("a"), token_key("b"));
        assert_eq!(token_key("a").len(), 32);
    }
}
