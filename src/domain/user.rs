//! Users of a tenant, and global admins (same record, platform namespace).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::session::{RevokeReason, SessionDenied, SessionRecord};
use super::{Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    OrgAdmin,
    GlobalAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::OrgAdmin => "org_admin",
            Role::GlobalAdmin => "global_admin",
        }
    }
}

/// A password hash in PHC form. Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// "Sessions created before `at` are dead": set by force sign-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidAfter {
    pub at: Timestamp,
    pub reason: RevokeReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    /// NFKC and case-folded; unique within the namespace.
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: PasswordHash,
    pub disabled: bool,
    pub sessions_valid_after: Option<ValidAfter>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl UserRecord {
    /// The user-level part of SPEC §4's request check.
    pub fn admits(&self, session: &SessionRecord) -> Result<(), SessionDenied> {
        if self.disabled {
            return Err(SessionDenied::Revoked(RevokeReason::UserDisabled));
        }
        match self.sessions_valid_after {
            Some(mark) if session.created_at < mark.at => Err(SessionDenied::Revoked(mark.reason)),
            _ => Ok(()),
        }
    }

    /// The texts a `q` search looks in: the email and the lower-cased name.
    pub fn search_texts(&self) -> [String; 2] {
        [self.email.clone(), self.display_name.to_lowercase()]
    }

    /// `key` is a [`super::text::search_key`]; true if either text holds it.
    pub fn matches(&self, key: &str) -> bool {
        self.email.contains(key) || self.display_name.to_lowercase().contains(key)
    }
}

/// Normalise an email for lookup and uniqueness (NFKC, then case-folded, so
/// look-alikes collide); `Err` says what is wrong with it.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    if raw.chars().any(super::text::is_invisible) {
        return Err("must not contain control, format or zero-width characters");
    }
    let e = super::text::search_key(raw.trim());
    let (local, domain) = e.split_once('@').ok_or("must be an email address")?;
    // A domain with a dot (`localhost` aside: the default global admin's).
    let ok = !local.is_empty()
        && (domain.contains('.') || domain == "localhost")
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && e.len() <= 254
        && !e
            .chars()
            .any(|c| c.is_whitespace() || super::text::is_invisible(c))
        && !domain.contains('@');
    ok.then_some(e).ok_or("must be an email address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").as_deref(),
            Ok("ada@example.com")
        );
        assert_eq!(
            normalize_email("admin@localhost").as_deref(),
            Ok("admin@localhost")
        );
        for bad in [
            "", "ada", "@x", "ada@", "a b@x.io", "a@b@c", "a@.x", "a@b", "a@x.", "a@x..io",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn look_alike_emails_fold_to_one_or_are_refused() {
        for look_alike in ["ｂｏｂ@acme.test", "bob@ａｃｍｅ.test", "BOB@ACME.TEST"] {
            assert_eq!(normalize_email(look_alike).as_deref(), Ok("bob@acme.test"));
        }
        for hidden in [
            "b\u{200B}ob@acme.test",
            "bob\u{2060}@acme.test",
            "\u{FEFF}bob@acme.test",
        ] {
            assert!(normalize_email(hidden).unwrap_err().contains("zero-width"));
        }
    }
}
