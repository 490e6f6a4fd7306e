//! Audit entries and the hash chain (pure).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{GrantId, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    GlobalAdmin,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditActor)]
pub struct Actor {
    pub kind: ActorKind,
    #[schema(required = true)]
    pub id: Option<UserId>,
    #[schema(required = true)]
    pub email: Option<String>,
}

impl Actor {
    /// A signed-in person; global admins are told apart from tenant users.
    pub fn person(id: UserId, email: &str, role: super::Role) -> Self {
        let kind = if role == super::Role::GlobalAdmin {
            ActorKind::GlobalAdmin
        } else {
            ActorKind::User
        };
        Self {
            kind,
            id: Some(id),
            email: Some(email.to_owned()),
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            email: None,
        }
    }
}

/// Every action the audit logs record. Stored as its name (`as_str`), so
/// the hash chain never depends on this enum's layout.
/// Append-only: never rename or remove a variant; entries in the field carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Login,
    LoginFailed,
    Logout,
    RefreshReuseDetected,
    SessionRevoked,
    SessionsBulkRevoked,
    UserSessionsRevoked,
    UserCreated,
    UserUpdated,
    PasswordChanged,
    PolicyUpdated,
    TenantCreated,
    ClientCreated,
    ClientDeleted,
    GrantCreated,
    GrantApproved,
    GrantDenied,
    GrantRevoked,
    GrantExpired,
    AccessRequested,
    SupportSessionStarted,
    BackupTaken,
    SessionsPurged,
    SigningKeyRotated,
    GlobalAdminCreated,
    GlobalAdminDisabled,
    GlobalAdminEnabled,
    GlobalAdminPasswordReset,
    WebhookCreated,
    WebhookUpdated,
    WebhookDeleted,
    WebhookRedelivered,
    WebhookDeliveryFailed,
    StreamCreated,
    StreamUpdated,
    StreamDeleted,
    StreamStatusChanged,
    /// A user ended all their other sessions.
    OtherSessionsRevoked,
    /// A login refused by the session limit (`refuse`).
    LoginRefused,
}

impl AuditAction {
    pub const ALL: [AuditAction; 39] = [
        Self::Login,
        Self::LoginFailed,
        Self::Logout,
        Self::RefreshReuseDetected,
        Self::SessionRevoked,
        Self::SessionsBulkRevoked,
        Self::UserSessionsRevoked,
        Self::UserCreated,
        Self::UserUpdated,
        Self::PasswordChanged,
        Self::PolicyUpdated,
        Self::TenantCreated,
        Self::ClientCreated,
        Self::ClientDeleted,
        Self::GrantCreated,
        Self::GrantApproved,
        Self::GrantDenied,
        Self::GrantRevoked,
        Self::GrantExpired,
        Self::AccessRequested,
        Self::SupportSessionStarted,
        Self::BackupTaken,
        Self::SessionsPurged,
        Self::SigningKeyRotated,
        Self::GlobalAdminCreated,
        Self::GlobalAdminDisabled,
        Self::GlobalAdminEnabled,
        Self::GlobalAdminPasswordReset,
        Self::WebhookCreated,
        Self::WebhookUpdated,
        Self::WebhookDeleted,
        Self::WebhookRedelivered,
        Self::WebhookDeliveryFailed,
        Self::StreamCreated,
        Self::StreamUpdated,
        Self::StreamDeleted,
        Self::StreamStatusChanged,
        Self::OtherSessionsRevoked,
        Self::LoginRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::SessionRevoked => "session_revoked",
            Self::SessionsBulkRevoked => "sessions_bulk_revoked",
            Self::UserSessionsRevoked => "user_sessions_revoked",
            Self::UserCreated => "user_created",
            Self::UserUpdated => "user_updated",
            Self::PasswordChanged => "password_changed",
            Self::PolicyUpdated => "policy_updated",
            Self::TenantCreated => "tenant_created",
            Self::ClientCreated => "client_created",
            Self::ClientDeleted => "client_deleted",
            Self::GrantCreated => "grant_created",
            Self::GrantApproved => "grant_approved",
            Self::GrantDenied => "grant_denied",
            Self::GrantRevoked => "grant_revoked",
            Self::GrantExpired => "grant_expired",
            Self::AccessRequested => "access_requested",
            Self::SupportSessionStarted => "support_session_started",
            Self::BackupTaken => "backup_taken",
            Self::SessionsPurged => "sessions_purged",
            Self::SigningKeyRotated => "signing_key_rotated",
            Self::GlobalAdminCreated => "global_admin_created",
            Self::GlobalAdminDisabled => "global_admin_disabled",
            Self::GlobalAdminEnabled => "global_admin_enabled",
            Self::GlobalAdminPasswordReset => "global_admin_password_reset",
            Self::WebhookCreated => "webhook_created",
            Self::WebhookUpdated => "webhook_updated",
            Self::WebhookDeleted => "webhook_deleted",
            Self::WebhookRedelivered => "webhook_redelivered",
            Self::WebhookDeliveryFailed => "webhook_delivery_failed",
            Self::StreamCreated => "ssf_stream_created",
            Self::StreamUpdated => "ssf_stream_updated",
            Self::StreamDeleted => "ssf_stream_deleted",
            Self::StreamStatusChanged => "ssf_stream_status_changed",
            Self::OtherSessionsRevoked => "other_sessions_revoked",
            Self::LoginRefused => "login_refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a use case records; the store adds `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: AuditAction,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    /// Set when the actor works through a support session.
    pub grant_id: Option<GrantId>,
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(actor: Actor, action: AuditAction) -> Self {
        Self {
            actor,
            action,
            target: None,
            reason: None,
            ip: None,
            grant_id: None,
            details: serde_json::Value::Null,
        }
    }

    pub fn target(mut self, t: impl ToString) -> Self {
        self.target = Some(t.to_string());
        self
    }

    pub fn reason(mut self, r: Option<impl ToString>) -> Self {
        self.reason = r.map(|r| r.to_string());
        self
    }

    pub fn ip(mut self, ip: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self
    }

    pub fn grant(mut self, g: Option<GrantId>) -> Self {
        self.grant_id = g;
        self
    }

    pub fn details(mut self, d: serde_json::Value) -> Self {
        self.details = d;
        self
    }
}

pub type Hash = [u8; 32];
pub const GENESIS: Hash = [0; 32];

/// A stored entry. `hash` = SHA-256(postcard(body)), the body including `prev_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: Actor,
    pub action: String,
    pub target: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub grant_id: Option<GrantId>,
    /// JSON text (postcard cannot carry free-form values).
    pub details: String,
    pub prev_hash: Hash,
    pub hash: Hash,
}

impl AuditEntry {
    pub fn seal(seq: u64, at: Timestamp, prev_hash: Hash, ev: AuditEvent) -> Self {
        let details = if ev.details.is_null() {
            String::new()
        } else {
            ev.details.to_string()
        };
        let mut e = Self {
            seq,
            at,
            actor: ev.actor,
            action: ev.action.as_str().to_owned(),
            target: ev.target,
            reason: ev.reason,
            ip: ev.ip,
            grant_id: ev.grant_id,
            details,
            prev_hash,
            hash: GENESIS,
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 over the canonical (postcard) bytes of every field but `hash`.
    pub fn compute_hash(&self) -> Hash {
        #[derive(Serialize)]
        struct Body<'a> {
            seq: u64,
            at: i64,
            actor: &'a Actor,
            action: &'a str,
            target: &'a Option<String>,
            reason: &'a Option<String>,
            ip: &'a Option<String>,
            grant_id: &'a Option<GrantId>,
            details: &'a str,
            prev_hash: &'a Hash,
        }
        let body = Body {
            seq: self.seq,
            at: self.at.millis(),
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            reason: &self.reason,
            ip: &self.ip,
            grant_id: &self.grant_id,
            details: &self.details,
            prev_hash: &self.prev_hash,
        };
        // Serialising plain structs into a Vec cannot fail.
        let bytes = postcard::to_stdvec(&body).unwrap_or_default();
        Sha256::digest(&bytes).into()
    }

    /// JSON shape of SPEC §5.
    pub fn to_json(&self) -> serde_json::Value {
        let details: serde_json::Value = if self.details.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&self.details).unwrap_or(serde_json::Value::Null)
        };
        serde_json::json!({
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "reason": self.reason,
            "ip": self.ip,
            "grant_id": self.grant_id,
            "details": details,
            "hash": hex::encode(self.hash),
            "prev_hash": hex::encode(self.prev_hash),
        })
    }
}

/// Why a chain failed verification: the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("entry {seq}: stored hash does not match its content")]
    HashMismatch { seq: u64 },
    #[error("entry {seq}: prev_hash does not match entry {prev}")]
    Broken { seq: u64, prev: u64 },
    #[error("entry {seq}: out of sequence")]
    Gap { seq: u64 },
    #[error("entry {seq}: unreadable")]
    Unreadable { seq: u64 },
}

/// Incremental verifier: feed entries oldest first.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    pub entries: u64,
    pub head: Option<(u64, Hash)>,
}

impl ChainVerifier {
    pub fn feed(&mut self, e: &AuditEntry) -> Result<(), ChainError> {
        let (expected_seq, prev) = match self.head {
            None => (1, GENESIS),
            Some((s, h)) => (s + 1, h),
        };
        if e.seq != expected_seq {
            return Err(ChainError::Gap { seq: e.seq });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainError::HashMismatch { seq: e.seq });
        }
        if e.prev_hash != prev {
            return Err(ChainError::Broken {
                seq: e.seq,
                prev: expected_seq - 1,
            });
        }
        self.entries += 1;
        self.head = Some((e.seq, e.hash));
        Ok(())
    }

    pub fn head_hash(&self) -> Hash {
        self.head.map(|(_, h)| h).unwrap_or(GENESIS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let ev =
                    AuditEvent::new(Actor::system(), AuditAction::Login).target(format!("u{seq}"));
                let e = AuditEntry::seal(seq, Timestamp::from_millis(seq as i64), prev, ev);
                prev = e.hash;
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let mut v = ChainVerifier::default();
        for e in chain(5) {
            v.feed(&e).unwrap();
        }
        assert_eq!(v.entries, 5);
    }

    #[test]
    fn edited_entry_is_named() {
        let mut c = chain(4);
        c[2].target = Some("someone else".into());
        let mut v = ChainVerifier::default();
        let err = c.iter().try_for_each(|e| v.feed(e)).unwrap_err();
        assert_eq!(err, ChainError::HashMismatch { seq: 3 });
    }

    #[test]
    fn rehashed_edit_breaks_the_link() {
        let mut c = chain(4);
        c[1].reason = Some("edited".into());
        c[1].hash = c[1].compute_hash();
        let mut v = ChainVerifier::default();
        let err = c.iter().try_for_each(|e| v.feed(e)).unwrap_err();
        assert_eq!(err, ChainError::Broken { seq: 3, prev: 2 });
    }

    #[test]
    fn deleted_entry_is_a_gap() {
        let mut c = chain(4);
        c.remove(1);
        let mut v = ChainVerifier::default();
        assert_eq!(
            c.iter().try_for_each(|e| v.feed(e)).unwrap_err(),
            ChainError::Gap { seq: 3 }
        );
    }
}
