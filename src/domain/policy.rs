//! Per-tenant session policy and its validation.

use serde::{Deserialize, Serialize};

/// A tenant's session policy. PUT replaces the whole policy; a field left
/// out takes its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    #[schema(minimum = 30, maximum = 86400, default = 300)]
    pub access_token_ttl_secs: i64,
    #[schema(minimum = 60, maximum = 7776000, default = 1800)]
    pub idle_timeout_secs: i64,
    /// Must not be shorter than idle_timeout_secs.
    #[schema(minimum = 300, maximum = 31536000, default = 36000)]
    pub absolute_timeout_secs: i64,
    #[schema(minimum = 0, maximum = 300, default = 0)]
    pub refresh_reuse_grace_secs: i64,
    #[schema(minimum = 60, maximum = 2592000, default = 28800)]
    pub max_support_grant_secs: i64,
    /// Shortest password for the tenant's users (admins need at least 12).
    #[schema(minimum = 8, maximum = 128, default = 8)]
    pub min_password_length: i64,
    /// Most active sessions a user may hold (support sessions do not
    /// count); 0 = unlimited. Checked at login, not at refresh.
    #[schema(minimum = 0, maximum = 1000, default = 0)]
    pub max_sessions_per_user: i64,
    /// What a login past the limit does.
    pub session_limit_action: SessionLimitAction,
}

/// What a login does when the user already holds `max_sessions_per_user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionLimitAction {
    /// The least recently active session ends (`session_limit`), in the
    /// login's transaction.
    #[default]
    EvictOldest,
    /// The login answers 409 `session_limit_reached`.
    Refuse,
}

/// NIST SP 800-63B's floor.
fn default_min_password_length() -> i64 {
    8
}

impl Default for Policy {
    /// Keycloak-like defaults: 5 min access tokens, 30 min idle, 10 h absolute.
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 300,
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 10 * 3600,
            refresh_reuse_grace_secs: 0,
            max_support_grant_secs: 8 * 3600,
            min_password_length: default_min_password_length(),
            max_sessions_per_user: 0,
            session_limit_action: SessionLimitAction::EvictOldest,
        }
    }
}

const DAY: i64 = 86_400;
/// The longest access-token lifetime a policy allows (signing keys outlive it).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = DAY;

impl Policy {
    /// Field name → problem, for every out-of-range field.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut bad = Vec::new();
        let mut range = |name: &'static str, v: i64, lo: i64, hi: i64| {
            if !(lo..=hi).contains(&v) {
                bad.push((name, format!("must be between {lo} and {hi}")));
            }
        };
        range(
            "access_token_ttl_secs",
            self.access_token_ttl_secs,
            30,
            MAX_ACCESS_TOKEN_TTL_SECS,
        );
        range("idle_timeout_secs", self.idle_timeout_secs, 60, 90 * DAY);
        range(
            "absolute_timeout_secs",
            self.absolute_timeout_secs,
            300,
            365 * DAY,
        );
        range(
            "refresh_reuse_grace_secs",
            self.refresh_reuse_grace_secs,
            0,
            300,
        );
        range(
            "max_support_grant_secs",
            self.max_support_grant_secs,
            60,
            30 * DAY,
        );
        range("min_password_length", self.min_password_length, 8, 128);
        range("max_sessions_per_user", self.max_sessions_per_user, 0, 1000);
        if bad.is_empty() && self.absolute_timeout_secs < self.idle_timeout_secs {
            bad.push((
                "absolute_timeout_secs",
                "must not be shorter than idle_timeout_secs".to_owned(),
            ));
        }
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Policy::default().validate().is_empty());
    }

    #[test]
    fn negative_absurd_and_inconsistent_values_are_named() {
        let p = Policy {
            access_token_ttl_secs: -1,
            refresh_reuse_grace_secs: 1 << 40,
            ..Policy::default()
        };
        let names: Vec<_> = p.validate().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["access_token_ttl_secs", "refresh_reuse_grace_secs"]);

        let p = Policy {
            idle_timeout_secs: 7200,
            absolute_timeout_secs: 3600,
            ..Policy::default()
        };
        assert_eq!(p.validate()[0].0, "absolute_timeout_secs");
    }
}
