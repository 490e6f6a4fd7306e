//! Sessions, their state, and the pure expiry and rotation rules.

use serde::{Deserialize, Serialize};

use super::{GrantId, SessionId, Timestamp, UserId};

/// Why a session ended. The wire names are SPEC §3's `revoked_reason` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    UserLogout,
    AdminRevoked,
    UserSessionsRevoked,
    RefreshTokenReuse,
    PasswordChanged,
    UserDisabled,
    GrantExpired,
    GrantRevoked,
    BulkRevoked,
    /// The user ended it from another of their sessions.
    UserRevokedOther,
    /// A new login went past the policy's `max_sessions_per_user`.
    SessionLimit,
}

impl RevokeReason {
    pub const ALL: [RevokeReason; 11] = [
        Self::UserLogout,
        Self::AdminRevoked,
        Self::UserSessionsRevoked,
        Self::RefreshTokenReuse,
        Self::PasswordChanged,
        Self::UserDisabled,
        Self::GrantExpired,
        Self::GrantRevoked,
        Self::BulkRevoked,
        Self::UserRevokedOther,
        Self::SessionLimit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserLogout => "user_logout",
            Self::AdminRevoked => "admin_revoked",
            Self::UserSessionsRevoked => "user_sessions_revoked",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::PasswordChanged => "password_changed",
            Self::UserDisabled => "user_disabled",
            Self::GrantExpired => "grant_expired",
            Self::GrantRevoked => "grant_revoked",
            Self::BulkRevoked => "bulk_revoked",
            Self::UserRevokedOther => "user_revoked_other",
            Self::SessionLimit => "session_limit",
        }
    }
}

/// Revocation is a state, not a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionState {
    Active,
    Revoked {
        at: Timestamp,
        /// The acting user, when a person (not the system) revoked it.
        by: Option<UserId>,
        reason: RevokeReason,
        /// Free text an admin gave.
        note: Option<String>,
    },
}

/// Marks a global admin's support session inside a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportMarker {
    pub grant_id: GrantId,
    pub admin_id: UserId,
    pub admin_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Durable last activity; the in-memory tracker may be newer.
    pub last_activity_at: Timestamp,
    /// Absolute expiry, fixed at login.
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub state: SessionState,
    pub support: Option<SupportMarker>,
}

/// Why a session may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionDenied {
    Revoked(RevokeReason),
    /// Idle or absolute timeout.
    Expired,
}

impl SessionRecord {
    pub fn is_active(&self) -> bool {
        matches!(self.state, SessionState::Active)
    }

    /// State, then absolute expiry, then idle expiry. `last_activity` is the
    /// freshest known activity (durable or in memory).
    pub fn check(
        &self,
        now: Timestamp,
        last_activity: Timestamp,
        idle_timeout_secs: i64,
    ) -> Result<(), SessionDenied> {
        if let SessionState::Revoked { reason, .. } = self.state {
            return Err(SessionDenied::Revoked(reason));
        }
        if now >= self.expires_at {
            return Err(SessionDenied::Expired);
        }
        let last = last_activity.max(self.last_activity_at);
        if now >= last.plus_secs(idle_timeout_secs) {
            return Err(SessionDenied::Expired);
        }
        Ok(())
    }

    /// `active`, `revoked` or `expired`, as listings show it.
    pub fn status(&self, now: Timestamp, last_activity: Timestamp, idle: i64) -> &'static str {
        match self.check(now, last_activity, idle) {
            Ok(()) => "active",
            Err(SessionDenied::Revoked(_)) => "revoked",
            Err(SessionDenied::Expired) => "expired",
        }
    }
}

/// One generation of a session's refresh-token chain, keyed by SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub session_id: SessionId,
    pub generation: u32,
    pub created_at: Timestamp,
    /// Set when this token was exchanged: it may not be used again.
    pub used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// First use: issue the successor.
    Rotate,
    /// A racing retry inside the grace window while the successor is still
    /// unused: answer that same successor again (no new branch).
    Retry,
    /// Replay of a used token: revoke the whole chain.
    Reuse,
}

impl RefreshRecord {
    /// Each token has exactly one successor, so a chain has one live branch:
    /// once the successor is used, its predecessor is a replay.
    pub fn rotation(
        &self,
        now: Timestamp,
        grace_secs: i64,
        successor: Option<&RefreshRecord>,
    ) -> Rotation {
        match (self.used_at, successor) {
            (None, _) => Rotation::Rotate,
            (Some(used), Some(next))
                // `now` was read before the transaction, so it may precede
                // a racing commit's `used`: without a window that is a replay.
                if grace_secs > 0 && next.used_at.is_none() && now < used.plus_secs(grace_secs) =>
            {
                Rotation::Retry
            }
            _ => Rotation::Reuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn session() -> SessionRecord {
        SessionRecord {
            id: SessionId::new_v7(),
            user_id: UserId::new_v7(),
            created_at: T0,
            last_activity_at: T0,
            expires_at: T0.plus_secs(3600),
            ip: None,
            user_agent: None,
            state: SessionState::Active,
            support: None,
        }
    }

    #[test]
    fn idle_timeout_counts_from_freshest_activity() {
        let s = session();
        assert_eq!(s.check(T0.plus_secs(59), T0, 60), Ok(()));
        assert_eq!(
            s.check(T0.plus_secs(60), T0, 60),
            Err(SessionDenied::Expired)
        );
        // in-memory activity at +50 s keeps it alive until +110 s
        assert_eq!(s.check(T0.plus_secs(100), T0.plus_secs(50), 60), Ok(()));
        assert_eq!(
            s.check(T0.plus_secs(110), T0.plus_secs(50), 60),
            Err(SessionDenied::Expired)
        );
    }

    #[test]
    fn absolute_timeout_wins_over_activity() {
        let s = session();
        let now = T0.plus_secs(3600);
        assert_eq!(s.check(now, now, 600), Err(SessionDenied::Expired));
        assert_eq!(s.check(now.minus_secs(1), now.minus_secs(1), 600), Ok(()));
    }

    #[test]
    fn revoked_reports_its_reason_even_if_also_expired() {
        let mut s = session();
        s.state = SessionState::Revoked {
            at: T0,
            by: None,
            reason: RevokeReason::AdminRevoked,
            note: None,
        };
        assert_eq!(
            s.check(T0.plus_secs(7200), T0, 60),
            Err(SessionDenied::Revoked(RevokeReason::AdminRevoked))
        );
        assert_eq!(s.status(T0, T0, 60), "revoked");
    }

    #[test]
    fn rotation_first_use_then_reuse() {
        let mut r = RefreshRecord {
            session_id: SessionId::new_v7(),
            generation: 0,
            created_at: T0,
            used_at: None,
        };
        assert_eq!(r.rotation(T0, 0, None), Rotation::Rotate);
        let mut next = RefreshRecord {
            generation: 1,
            ..r.clone()
        };
        r.used_at = Some(T0);
        assert_eq!(r.rotation(T0, 0, Some(&next)), Rotation::Reuse);
        // A racer whose clock read precedes the winner's commit.
        assert_eq!(
            r.rotation(Timestamp::from_millis(T0.millis() - 3), 0, Some(&next)),
            Rotation::Reuse
        );
        assert_eq!(r.rotation(T0.plus_secs(1), 5, Some(&next)), Rotation::Retry);
        assert_eq!(r.rotation(T0.plus_secs(5), 5, Some(&next)), Rotation::Reuse);
        // once the successor is used, the predecessor is a replay even in the window
        next.used_at = Some(T0.plus_secs(1));
        assert_eq!(r.rotation(T0.plus_secs(2), 5, Some(&next)), Rotation::Reuse);
        // a successor that is gone (chain purged) never resurrects
        assert_eq!(r.rotation(T0.plus_secs(1), 5, None), Rotation::Reuse);
    }

    #[test]
    fn reason_names_match_the_spec() {
        for r in RevokeReason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
