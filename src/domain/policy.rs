//! Per-tenant session policy and its validation.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub access_token_ttl_secs: i64,
    pub idle_timeout_secs: i64,
    pub absolute_timeout_secs: i64,
    pub refresh_reuse_grace_secs: i64,
    pub max_support_grant_secs: i64,
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
        }
    }
}

const DAY: i64 = 86_400;

impl Policy {
    /// Field name → problem, for every out-of-range field.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut bad = Vec::new();
        let mut range = |name: &'static str, v: i64, lo: i64, hi: i64| {
            if !(lo..=hi).contains(&v) {
                bad.push((name, format!("must be between {lo} and {hi}")));
            }
        };
        range("access_token_ttl_secs", self.access_token_ttl_secs, 30, DAY);
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
