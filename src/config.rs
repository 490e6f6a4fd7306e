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
        }
    }
}
