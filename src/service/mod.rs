//! Use cases: one function per thing a caller can do. Each change and its
//! audit entry commit in one write transaction.

pub mod activity;
pub mod admins;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clients;
pub mod delivery;
pub mod device;
pub mod error;
pub mod geo;
pub mod grants;
pub mod keys;
pub mod limiter;
pub mod oauth;
pub mod outgoing;
pub mod own_sessions;
pub mod retention;
pub mod revoke;
pub mod session_limit;
pub mod session_list;
pub mod sessions;
pub mod ssf;
pub mod tenants;
pub mod user_admin;
pub mod users;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::keyring::KeyRing;
use crate::auth::password::Passwords;
use crate::auth::token::Keys;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::Timestamp;
use crate::store::{KEYRING_META, SUCCESSOR_META, Store, StoreError, decode, encode};
use activity::Activity;
use limiter::LoginLimiter;
use sessions::SuccessorKey;

pub use error::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Active sessions per tenant slug.
pub type ActiveCounts = Vec<(String, u64)>;

/// Aborts a task when dropped (so aborting the parent stops the child).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where a request came from; recorded on sessions and audit entries.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub struct Service {
    store: Store,
    clock: SharedClock,
    /// Replaced whole when the ring changes (rotation).
    keys: std::sync::RwLock<Arc<Keys>>,
    verified: crate::auth::verified::VerifiedTokens,
    successor_key: SuccessorKey,
    passwords: Passwords,
    activity: Arc<Activity>,
    limiter: LoginLimiter,
    config: Config,
    /// Wakes the grant scheduler when a grant starts or ends.
    grant_wakeup: tokio::sync::Notify,
    active_count_cache: std::sync::Mutex<Option<(Timestamp, ActiveCounts)>>,
    /// `--geoip-db`, when given.
    geo: Option<Arc<geo::GeoDb>>,
    /// Per tenant: its session index counts, for list totals.
    session_keys_cache: std::sync::Mutex<HashMap<String, (Timestamp, session_list::Keys)>>,
    /// The webhook delivery engine's shared state.
    deliveries: Arc<delivery::Deliveries>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Load (or create) the signing keys, self-test them, and build the service.
    pub async fn start(
        store: Store,
        clock: SharedClock,
        config: Config,
    ) -> Result<Arc<Self>, String> {
        let now = clock.now();
        let (stored, successor_key) = store
            .write(move |tx| {
                let successor = match tx.meta(SUCCESSOR_META)? {
                    Some(b) => SuccessorKey::from_bytes(&b)
                        .ok_or_else(|| StoreError::Corrupt("refresh successor key".into()))?,
                    None => {
                        let k = SuccessorKey::generate();
                        tx.put_meta(SUCCESSOR_META, k.as_bytes())?;
                        k
                    }
                };
                if let Some(bytes) = tx.meta(KEYRING_META)? {
                    return Ok((decode::<KeyRing>(&bytes)?, successor));
                }
                let ring = KeyRing::fresh(now);
                tx.put_meta(KEYRING_META, &encode(&ring))?;
                Ok((ring, successor))
            })
            .await
            .map_err(|e| format!("cannot load signing keys: {e}"))?;
        let keys = Keys::new(&stored, &config.issuer);
        keys.self_test(&config.issuer, now)?;
        let passwords = tokio::task::spawn_blocking(Passwords::new)
            .await
            .map_err(|e| e.to_string())??;
        let geo = config
            .geoip_db
            .as_deref()
            .map(geo::GeoDb::open)
            .transpose()?
            .map(Arc::new);
        // The user agent patterns compile in the background, not on the first list.
        std::thread::spawn(|| device::device(Some("sessiond")));
        let outbound = crate::events::outbound::Outbound::new(&config.webhook_allow_hosts);
        let deliveries = delivery::Deliveries::new(outbound);
        store.subscribe(Arc::new(delivery::Waker(deliveries.clone())));
        Ok(Arc::new(Self {
            deliveries,
            store,
            clock,
            keys: std::sync::RwLock::new(Arc::new(keys)),
            verified: crate::auth::verified::VerifiedTokens::new(config.token_cache_entries),
            successor_key,
            passwords,
            activity: Arc::default(),
            limiter: LoginLimiter::new(config.login_limits),
            config,
            grant_wakeup: tokio::sync::Notify::new(),
            active_count_cache: std::sync::Mutex::new(None),
            session_keys_cache: std::sync::Mutex::new(HashMap::new()),
            geo,
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Names devices and places addresses in session views.
    pub(crate) fn placer(&self) -> geo::Placer {
        geo::Placer(self.geo.clone())
    }

    pub fn keys(&self) -> Arc<Keys> {
        // A poisoned lock still holds a whole ring: it is only ever replaced.
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_keys(&self, keys: Keys) {
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `Ok` once the database answers a read and commits succeed; else why not.
    pub async fn ready(&self) -> Result<(), &'static str> {
        if !self.store.writable() {
            return Err("storage_unavailable");
        }
        match self.store.read(|rx| rx.meta("schema_version")).await {
            Ok(_) => Ok(()),
            Err(_) => Err("storage_unavailable"),
        }
    }

    /// Run the activity flush, the grant-expiry scheduler, the retention
    /// purge, key rotation and webhook delivery until the returned handle is
    /// aborted.
    pub fn spawn_background(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        let grants = self.clone();
        tokio::spawn(async move {
            let scheduler = tokio::spawn(async move { grants.run_grant_scheduler().await });
            let _abort_scheduler = AbortOnDrop(scheduler);
            let purger = svc.clone();
            let retention = tokio::spawn(async move { purger.run_retention().await });
            let _abort_retention = AbortOnDrop(retention);
            let rotator = svc.clone();
            let rotation = tokio::spawn(async move { rotator.run_key_rotation().await });
            let _abort_rotation = AbortOnDrop(rotation);
            let sender = svc.clone();
            let delivery = tokio::spawn(async move { sender.run_deliveries().await });
            let _abort_delivery = AbortOnDrop(delivery);
            let mut tick = tokio::time::interval(svc.config.activity_flush);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // While storage is down the writer logs the outage once; so do we.
            let mut failing = false;
            loop {
                tick.tick().await;
                if svc.store.is_shared()
                    && let Err(e) = svc.reload_keys().await
                {
                    tracing::warn!(error = %e, "reloading the signing keys failed; will retry");
                }
                match svc.flush_activity().await {
                    Ok(_) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "activity flush failed; will retry");
                    }
                    Err(_) => {}
                }
            }
        })
    }
}
