//! Global admins: list, create, disable/enable, reset a password. They live
//! in the platform namespace; every change lands in the platform log. The
//! last enabled global admin cannot be disabled, and disabling or resetting
//! one ends their sessions and their support grants at once.

use crate::domain::query::List;
use serde::Deserialize;
use serde_json::json;

use super::grants::end_grant;
use super::sessions::revoke_user_in;
use super::users::{Acting, NewUser, Page, UserView, new_record};
use super::{Error, Result, Service};
use crate::auth::Secret;
use crate::domain::AuditAction;
use crate::domain::user::{ValidAfter, normalize_email};
use crate::domain::{GrantStatus, RevokeReason, Role, Timestamp, UserId, UserRecord};
use crate::store::{Ns, StoreError, Tx};

/// `POST /v1/platform/admins` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    #[schema(format = Email)]
    pub email: String,
    #[serde(default = "default_name")]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 256)]
    pub password: Secret,
}

fn default_name() -> String {
    "Global admin".to_owned()
}

/// Which admin a CLI command means: `--email`, or an id from the API.
#[derive(Debug, Clone)]
pub enum AdminRef {
    Id(UserId),
    Email(String),
}

fn find(tx: &Tx<'_>, who: &AdminRef) -> Result<UserRecord, StoreError> {
    let found = match who {
        AdminRef::Id(id) => tx.user(Ns::Platform, *id)?,
        // Accounts from before a rule tightened are still found.
        AdminRef::Email(e) => {
            let e =
                normalize_email(e).unwrap_or_else(|_| crate::domain::text::search_key(e.trim()));
            tx.user_by_email(Ns::Platform, &e)?
        }
    };
    found.ok_or(StoreError::NotFound)
}

/// Another enabled global admin exists besides `except`.
fn another_enabled(tx: &Tx<'_>, except: UserId) -> Result<bool, StoreError> {
    let mut after = None;
    loop {
        let batch = tx.users(Ns::Platform, after, 256)?;
        if batch.iter().any(|u| u.id != except && !u.disabled) {
            return Ok(true);
        }
        match batch.last() {
            Some(u) if batch.len() == 256 => after = Some(u.id),
            _ => return Ok(false),
        }
    }
}

/// End every session of `admin`: their own, and their support sessions
/// (by revoking the grants they hold). Answers (sessions, grants) ended.
fn end_access(
    tx: &mut Tx<'_>,
    admin: UserId,
    by: &Acting,
    now: Timestamp,
    reason: RevokeReason,
) -> Result<(usize, usize), StoreError> {
    let own = revoke_user_in(tx, Ns::Platform, admin, None, now, by.actor.id, reason)?;
    let mut grants = 0;
    let mut support = 0;
    for mut g in tx.all_grants()? {
        if g.grantee_id == admin && matches!(g.status, GrantStatus::Active | GrantStatus::Pending) {
            let status = if g.status == GrantStatus::Pending {
                GrantStatus::Denied
            } else {
                GrantStatus::Revoked
            };
            support += end_grant(tx, &mut g, status, by, now)?;
            grants += 1;
        }
    }
    Ok((own + support, grants))
}

impl Service {
    pub async fn list_admins(&self, after: Option<UserId>, limit: usize) -> Result<Page<UserView>> {
        let mut users = self
            .store
            .read(move |rx| rx.users(Ns::Platform, after, limit + 1))
            .await?;
        let more = users.len() > limit;
        users.truncate(limit);
        let next_cursor = more
            .then(|| users.last().map(|u| List::Admins.cursor(u.id)))
            .flatten();
        Ok(Page {
            items: users.iter().map(UserView::from).collect(),
            next_cursor,
        })
    }

    pub async fn create_admin(&self, by: Acting, new: NewAdmin) -> Result<UserView> {
        self.insert_admin(by, new, false)
            .await?
            .ok_or_else(|| Error::Internal("the admin was not created".into()))
    }

    /// On a database without a global admin, create one: the given email
    /// and password, else `admin@localhost` with a generated password.
    /// Answers the email, and the password when it was generated (to print once).
    pub async fn bootstrap_global_admin(
        &self,
        email: Option<String>,
        password: Option<Secret>,
    ) -> Result<Option<(String, Option<Secret>)>> {
        let exists = self
            .store
            .read(|rx| Ok(!rx.users(Ns::Platform, None, 1)?.is_empty()))
            .await?;
        if exists {
            return Ok(None);
        }
        let (email, password, generated) = match (email, password) {
            (Some(e), Some(p)) => (e, p, false),
            _ => ("admin@localhost".to_owned(), Secret::random(18), true),
        };
        let new = NewAdmin {
            email,
            display_name: default_name(),
            password: password.clone(),
        };
        let made = self
            .insert_admin(Acting::operator(), new, true)
            .await
            .map_err(|e| match e {
                Error::Validation(v) => Error::Validation(
                    v.into_iter()
                        .map(|(f, m)| (format!("SESSIOND_BOOTSTRAP_ADMIN_{}", f.to_uppercase()), m))
                        .collect(),
                ),
                e => e,
            })?;
        Ok(made.map(|u| (u.email, generated.then_some(password))))
    }

    /// Validate, hash and store a global admin (`only_first`: unless one exists).
    async fn insert_admin(
        &self,
        by: Acting,
        new: NewAdmin,
        only_first: bool,
    ) -> Result<Option<UserView>> {
        let new = NewUser {
            email: new.email,
            display_name: new.display_name,
            role: Role::GlobalAdmin,
            password: new.password,
        };
        let min = self.config.platform_policy.min_password_length;
        let email = new.validate("", &[Role::GlobalAdmin], min)?;
        let hash = self.hash_password(&new.password).await?;
        let rec = new_record(&new, email, hash, self.now());
        let made = self
            .store
            .write(move |tx| {
                if only_first && !tx.users(Ns::Platform, None, 1)?.is_empty() {
                    return Ok(None);
                }
                if tx.user_by_email(Ns::Platform, &rec.email)?.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "a global admin with email {} exists",
                        rec.email
                    )));
                }
                tx.put_user(Ns::Platform, &rec)?;
                let ev = by
                    .event(AuditAction::GlobalAdminCreated)
                    .target(rec.id)
                    .details(json!({ "email": rec.email }));
                tx.append_audit(Ns::Platform, rec.created_at, ev)?;
                Ok(Some(UserView::from(&rec)))
            })
            .await?;
        Ok(made)
    }

    /// Disable (ending their sessions and grants) or enable a global admin.
    pub async fn set_admin_disabled(
        &self,
        by: Acting,
        who: AdminRef,
        disabled: bool,
    ) -> Result<UserView> {
        let now = self.now();
        let u = self
            .store
            .write(move |tx| {
                let mut u = find(tx, &who)?;
                if u.disabled == disabled {
                    return Ok(u);
                }
                if disabled && !another_enabled(tx, u.id)? {
                    return Err(StoreError::Conflict(
                        "this is the last enabled global admin: create or enable another first"
                            .into(),
                    ));
                }
                u.disabled = disabled;
                u.updated_at = now;
                tx.put_user(Ns::Platform, &u)?;
                let (action, ended) = if disabled {
                    let ended = end_access(tx, u.id, &by, now, RevokeReason::UserDisabled)?;
                    (AuditAction::GlobalAdminDisabled, ended)
                } else {
                    (AuditAction::GlobalAdminEnabled, (0, 0))
                };
                let ev = by.event(action).target(u.id).details(json!({
                    "email": u.email, "sessions_revoked": ended.0, "grants_ended": ended.1,
                }));
                tx.append_audit(Ns::Platform, now, ev)?;
                Ok(u)
            })
            .await?;
        Ok(UserView::from(&u))
    }

    /// Set a global admin's password (a new one is generated when `None`,
    /// and answered to show once). Ends every session of theirs and the
    /// grants they hold: whoever knew the old password is out.
    pub async fn reset_admin_password(
        &self,
        by: Acting,
        who: AdminRef,
        password: Option<Secret>,
    ) -> Result<(UserView, Option<Secret>)> {
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => (Secret::random(18), true),
        };
        let min = self.config.platform_policy.min_password_length;
        crate::auth::password::check_strength(&password, Role::GlobalAdmin, min)
            .map_err(|e| Error::field("password", e))?;
        let hash = self.hash_password(&password).await?;
        let now = self.now();
        let u = self
            .store
            .write(move |tx| {
                let mut u = find(tx, &who)?;
                u.password_hash = hash.clone();
                u.updated_at = now;
                u.sessions_valid_after = Some(ValidAfter {
                    at: now,
                    reason: RevokeReason::PasswordChanged,
                });
                tx.put_user(Ns::Platform, &u)?;
                let ended = end_access(tx, u.id, &by, now, RevokeReason::PasswordChanged)?;
                let ev = by
                    .event(AuditAction::GlobalAdminPasswordReset)
                    .target(u.id)
                    .details(json!({
                        "email": u.email, "sessions_revoked": ended.0, "grants_ended": ended.1,
                    }));
                tx.append_audit(Ns::Platform, now, ev)?;
                Ok(u)
            })
            .await?;
        Ok((UserView::from(&u), generated.then_some(password)))
    }
}
