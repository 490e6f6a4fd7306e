//! The signing key ring. Each key has an activation time; whether it is
//! next (published, not yet signing), current (signing) or retired
//! (verifying the tokens it signed) follows from the clock, so a key
//! changes state without a write. A retired key leaves the JWKS once every
//! token it could have signed has expired.

use serde::{Deserialize, Serialize};

use super::token::KeyMaterial;
use crate::domain::Timestamp;
use crate::domain::policy::MAX_ACCESS_TOKEN_TTL_SECS;

/// Kept past the last possible expiry, for verifiers whose clocks run behind.
pub const CLOCK_LEEWAY_SECS: i64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RingKey {
    pub key: KeyMaterial,
    pub activates_at: Timestamp,
}

/// Stored in meta `signing_keyring`; keys in activation order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRing {
    pub keys: Vec<RingKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

/// A key as `keys list` and `GET /v1/platform/keys` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = SigningKey)]
pub struct KeyInfo {
    pub kid: String,
    pub state: KeyState,
    pub created_at: Timestamp,
    /// When it starts (or started) signing.
    pub activates_at: Timestamp,
    /// When it stops (or stopped) signing: its successor's activation.
    #[schema(required = true)]
    pub retires_at: Option<Timestamp>,
    /// When it leaves the JWKS and its tokens are refused.
    #[schema(required = true)]
    pub removed_at: Option<Timestamp>,
}

/// A rotation is already scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub kid: String,
    pub activates_at: Timestamp,
}

/// When a key that stops signing at `retires_at` is dropped.
pub fn removal_time(retires_at: Timestamp) -> Timestamp {
    retires_at.plus_secs(MAX_ACCESS_TOKEN_TTL_SECS + CLOCK_LEEWAY_SECS)
}

impl KeyRing {
    /// A new ring: one key, signing from `now`.
    pub fn fresh(now: Timestamp) -> Self {
        Self {
            keys: vec![RingKey {
                key: KeyMaterial::generate(now),
                activates_at: now,
            }],
        }
    }

    /// Index of the signing key at `now`: the last one activated (the first
    /// if the clock went back before every activation).
    pub fn current_index(&self, now: Timestamp) -> usize {
        self.keys
            .iter()
            .rposition(|k| k.activates_at <= now)
            .unwrap_or(0)
    }

    /// `(retires_at, removed_at)` of key `i`.
    pub fn schedule(&self, i: usize) -> (Option<Timestamp>, Option<Timestamp>) {
        let retires = self.keys.get(i + 1).map(|next| next.activates_at);
        (retires, retires.map(removal_time))
    }

    /// Every key still published at `now`, oldest first.
    pub fn describe(&self, now: Timestamp) -> Vec<KeyInfo> {
        let current = self.current_index(now);
        (0..self.keys.len())
            .filter_map(|i| {
                let k = &self.keys[i];
                let (retires_at, removed_at) = self.schedule(i);
                if removed_at.is_some_and(|r| r <= now) {
                    return None;
                }
                let state = match i.cmp(&current) {
                    std::cmp::Ordering::Less => KeyState::Retired,
                    std::cmp::Ordering::Equal => KeyState::Current,
                    std::cmp::Ordering::Greater => KeyState::Next,
                };
                Some(KeyInfo {
                    kid: k.key.kid.clone(),
                    state,
                    created_at: k.key.created_at,
                    activates_at: k.activates_at,
                    retires_at,
                    removed_at,
                })
            })
            .collect()
    }

    /// The scheduled successor of the current key, if any.
    pub fn pending(&self, now: Timestamp) -> Option<&RingKey> {
        self.keys.get(self.current_index(now) + 1)
    }

    /// Add a key that signs from `activates_at`; one pending rotation at a time.
    pub fn rotate(&mut self, now: Timestamp, activates_at: Timestamp) -> Result<&RingKey, Pending> {
        if let Some(p) = self.pending(now) {
            return Err(Pending {
                kid: p.key.kid.clone(),
                activates_at: p.activates_at,
            });
        }
        self.prune(now);
        self.keys.push(RingKey {
            key: KeyMaterial::generate(now),
            activates_at: activates_at.max(now),
        });
        Ok(&self.keys[self.keys.len() - 1])
    }

    /// Forget keys past their removal time; `true` if any went.
    pub fn prune(&mut self, now: Timestamp) -> bool {
        let gone = (0..self.keys.len())
            .take_while(|&i| self.schedule(i).1.is_some_and(|r| r <= now))
            .count();
        self.keys.drain(..gone);
        gone > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    fn states(r: &KeyRing, now: Timestamp) -> Vec<KeyState> {
        r.describe(now).iter().map(|k| k.state).collect()
    }

    #[test]
    fn a_rotation_moves_through_next_current_retired_gone() {
        let mut r = KeyRing::fresh(T0);
        let first = r.keys[0].key.kid.clone();
        let at = T0.plus_secs(3600);
        let new = r.rotate(T0, at).unwrap().key.kid.clone();
        assert_eq!(states(&r, T0), [KeyState::Current, KeyState::Next]);
        assert_eq!(r.keys[r.current_index(T0)].key.kid, first);
        let refused = r.rotate(T0, at).unwrap_err();
        assert_eq!(
            refused,
            Pending {
                kid: new.clone(),
                activates_at: at
            }
        );

        assert_eq!(states(&r, at), [KeyState::Retired, KeyState::Current]);
        assert_eq!(r.keys[r.current_index(at)].key.kid, new);
        let removed = r.describe(at)[0].removed_at.unwrap();
        assert_eq!(
            removed,
            at.plus_secs(MAX_ACCESS_TOKEN_TTL_SECS + CLOCK_LEEWAY_SECS)
        );

        assert_eq!(states(&r, removed), [KeyState::Current]);
        assert!(r.prune(removed));
        assert_eq!(r.keys.len(), 1);
        assert!(!r.prune(removed));
    }

    #[test]
    fn the_next_rotation_is_refused_until_the_pending_key_signs() {
        let mut r = KeyRing::fresh(T0);
        r.rotate(T0, T0.plus_secs(10)).unwrap();
        assert!(r.rotate(T0.plus_secs(9), T0.plus_secs(20)).is_err());
        assert!(r.rotate(T0.plus_secs(10), T0.plus_secs(20)).is_ok());
        assert_eq!(
            states(&r, T0.plus_secs(20)),
            [KeyState::Retired, KeyState::Retired, KeyState::Current]
        );
    }

    #[test]
    fn a_clock_that_went_back_still_signs_with_a_published_key() {
        let r = KeyRing::fresh(T0);
        assert_eq!(r.current_index(T0.minus_secs(100)), 0);
    }
}
