//! Run-time settings the service needs (the CLI builds them from flags and env).

use std::time::Duration;

use crate::domain::Policy;
use crate::service::limiter::Limits;

#[derive(Debug, Clone)]
pub struct Config {
    /// `iss` of every access token.
    pub issuer: String,
    /// How often in-memory last-activity is written to disk.
    pub activity_flush: Duration,
    pub login_limits: Limits,
    /// Policy of global admins' own sessions.
    pub platform_policy: Policy,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Sessions that ended longer ago than this are deleted (the audit log keeps their history).
    pub session_retention_secs: i64,
    /// A request (body read included) that takes longer is answered 503 `request_timeout`.
    pub request_timeout: Duration,
    /// Verified access tokens remembered (about 0.5 KiB each); 0 = off.
    pub token_cache_entries: usize,
    /// Rotate the signing key automatically this often (`None`: only by hand).
    pub key_rotation_days: Option<u32>,
    /// A new signing key is published this long before it signs.
    pub key_prepublish_secs: i64,
    pub metrics: MetricsAccess,
    /// Where clients reach this server (`https://sessiond.example.org`): SSF
    /// issuers are `{public_url}/tenants/{t}`.
    /// `None`: the address the server listens on (`serve` fills it in).
    pub public_url: Option<String>,
    /// Webhook hosts whose private or loopback addresses may be called.
    pub webhook_allow_hosts: Vec<String>,
    /// A MaxMind-format city database: sessions show a location.
    pub geoip_db: Option<std::path::PathBuf>,
}

/// Who may read `/metrics`, and what it shows.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// Served on its own listener (`--metrics-listen`): the API port answers 404.
    pub separate: bool,
    /// On the API port, only with `Authorization: Bearer <token>`.
    pub token: Option<crate::auth::Secret>,
    /// Label the active-sessions gauge by tenant slug (off: one total).
    pub tenant_labels: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "sessiond".to_owned(),
            activity_flush: Duration::from_secs(5),
            login_limits: Limits::default(),
            platform_policy: Policy {
                idle_timeout_secs: 3600,
                absolute_timeout_secs: 12 * 3600,
                ..Policy::default()
            },
            trust_forwarded_for: false,
            session_retention_secs: 30 * 86_400,
            request_timeout: Duration::from_secs(30),
            token_cache_entries: 32_768,
            key_rotation_days: None,
            key_prepublish_secs: 3600,
            metrics: MetricsAccess::default(),
            public_url: None,
            webhook_allow_hosts: Vec::new(),
            geoip_db: None,
        }
    }
}
