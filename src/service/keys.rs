//! Signing-key rotation: by a global admin, the operator, or on a schedule.
//! A new key is published `key_prepublish_secs` before it signs, so a
//! verifier that caches the JWKS never meets an unknown `kid`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::users::{Acting, Page};
use super::{Error, Result, Service};
use crate::auth::keyring::{KeyInfo, KeyRing};
use crate::auth::token::Keys;
use crate::domain::AuditAction;
use crate::domain::{Actor, AuditEvent, Timestamp};
use crate::store::{KEYRING_META, Ns, Reads, StoreError, decode, encode};

/// `POST /v1/platform/keys/rotate` body (optional).
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Seconds until the new key signs; default `key_prepublish_secs`. 0
    /// signs at once: verifiers with a cached JWKS refuse its tokens until
    /// they refetch.
    #[schema(minimum = 0, maximum = 2_592_000)]
    pub activate_in_secs: Option<i64>,
}

/// Longest pre-publication a rotation may ask for.
const MAX_ACTIVATE_IN_SECS: i64 = 30 * 86_400;

impl Service {
    /// Every published key: next, current, retired.
    pub async fn list_keys(&self) -> Result<Page<KeyInfo>> {
        let now = self.now();
        let ring = self.store.read(|rx| load_ring(rx)).await?;
        Ok(Page {
            items: ring.describe(now),
            next_cursor: None,
        })
    }

    /// Schedule a new signing key; 409 while another is still pending.
    pub async fn rotate_keys(&self, by: Acting, req: RotateRequest) -> Result<KeyInfo> {
        let secs = req
            .activate_in_secs
            .unwrap_or(self.config.key_prepublish_secs);
        if !(0..=MAX_ACTIVATE_IN_SECS).contains(&secs) {
            return Err(Error::field(
                "activate_in_secs",
                format!("must be between 0 and {MAX_ACTIVATE_IN_SECS}"),
            ));
        }
        self.rotate(by.event(AuditAction::SigningKeyRotated), secs)
            .await
    }

    async fn rotate(&self, event: AuditEvent, activate_in_secs: i64) -> Result<KeyInfo> {
        let now = self.now();
        let ring = self
            .store
            .write(move |tx| {
                let mut ring = load_ring(tx)?;
                let new = ring
                    .rotate(now, now.plus_secs(activate_in_secs))
                    .map_err(|p| {
                        StoreError::Conflict(format!(
                            "key {} is already scheduled to sign from {}; rotate again after that",
                            p.kid,
                            p.activates_at.to_rfc3339()
                        ))
                    })?;
                let ev = event.clone().target(&new.key.kid).details(json!({
                    "activates_at": new.activates_at,
                }));
                tx.put_meta(KEYRING_META, &encode(&ring))?;
                tx.append_audit(Ns::Platform, now, ev)?;
                Ok(ring)
            })
            .await?;
        self.set_keys(Keys::new(&ring, &self.config.issuer));
        let info = ring.describe(now).pop();
        info.ok_or_else(|| Error::Internal("the rotated ring is empty".into()))
    }

    /// Automatic rotation (`key_rotation_days`): schedule the successor once
    /// the current key is old enough, and drop removed keys. `Ok(true)` if
    /// a rotation was scheduled.
    pub async fn rotate_keys_if_due(&self) -> Result<bool> {
        let Some(days) = self.config.key_rotation_days else {
            return Ok(false);
        };
        let now = self.now();
        let ring = self.store.read(|rx| load_ring(rx)).await?;
        if ring.pending(now).is_some() {
            return Ok(false);
        }
        let current = &ring.keys[ring.current_index(now)];
        let window = self.config.key_prepublish_secs;
        if now < next_rotation(current.activates_at, days, window) {
            return Ok(false);
        }
        let ev = AuditEvent::new(Actor::system(), AuditAction::SigningKeyRotated)
            .reason(Some(format!("automatic rotation every {days} days")));
        match self.rotate(ev, window).await {
            Ok(_) => Ok(true),
            // Another rotation won the race: nothing is due any more.
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Take the stored ring: another node of a shared store may have rotated.
    pub(super) async fn reload_keys(&self) -> Result<()> {
        let ring = self.store.read(|rx| load_ring(rx)).await?;
        self.set_keys(Keys::new(&ring, &self.config.issuer));
        Ok(())
    }

    /// Check for a due rotation every minute while the server runs.
    pub(super) async fn run_key_rotation(&self) {
        if self.config.key_rotation_days.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !self.store.leading().await {
                continue;
            }
            match self.rotate_keys_if_due().await {
                Ok(true) => tracing::info!("scheduled the next signing key"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "automatic key rotation failed; will retry"),
            }
        }
    }
}

fn load_ring(rx: &(impl Reads + ?Sized)) -> Result<KeyRing, StoreError> {
    let bytes = rx
        .meta(KEYRING_META)?
        .ok_or_else(|| StoreError::Corrupt("no signing keys".into()))?;
    decode(&bytes)
}

/// When the successor of a key that began signing at `activated` is
/// scheduled, so that it signs `days` after it.
fn next_rotation(activated: Timestamp, days: u32, window: i64) -> Timestamp {
    activated
        .plus_secs(i64::from(days) * 86_400)
        .minus_secs(window)
}
