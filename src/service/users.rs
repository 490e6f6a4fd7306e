//! Users of a tenant: create and list.

use crate::domain::query::List;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::Problems;
use super::{ClientMeta, Error, Result, Service};
use crate::auth::password::check_strength;
use crate::auth::{Principal, Secret, TenantScope};
use crate::domain::AuditAction;
use crate::domain::user::{PasswordHash, normalize_email};
use crate::domain::{Actor, AuditEvent, GrantId, Role, Timestamp, UserId, UserRecord};
use crate::store::Ns;

/// A user as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// `POST /v1/tenants/{t}/users` body (and a tenant's first admin).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(format = Email)]
    pub email: String,
    /// 1–200 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    #[serde(default = "member")]
    /// `member` (default) or `org_admin`.
    #[schema(value_type = crate::http::openapi::schemas::TenantRole, default = "member")]
    pub role: Role,
    /// At least 8 characters, at most 256 bytes.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256)]
    pub password: Secret,
}

fn member() -> Role {
    Role::Member
}

/// Who performs an action, for the audit log.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    pub grant_id: Option<GrantId>,
    pub meta: ClientMeta,
}

impl Acting {
    pub fn principal(p: &Principal, meta: ClientMeta) -> Self {
        Self {
            actor: p.actor(),
            grant_id: p.grant_id,
            meta,
        }
    }

    /// The operator at the command line.
    pub fn operator() -> Self {
        Self {
            actor: Actor::system(),
            grant_id: None,
            meta: ClientMeta::default(),
        }
    }

    pub fn event(&self, action: AuditAction) -> AuditEvent {
        AuditEvent::new(self.actor.clone(), action)
            .ip(self.meta.ip.as_deref())
            .grant(self.grant_id)
    }
}

/// Check a display name, naming `field` if it is bad; answers it as stored (NFKC, trimmed).
pub(crate) fn check_display_name(p: &mut Problems, field: &str, name: &str) -> String {
    crate::domain::text::normalize_name(name).unwrap_or_else(|e| {
        p.add(field, e);
        String::new()
    })
}

impl NewUser {
    /// Validate, naming every bad field under `prefix` (e.g. `first_admin.`).
    /// Validate under a password policy of `min_password` characters.
    pub(crate) fn validate(
        &self,
        prefix: &str,
        allowed: &[Role],
        min_password: i64,
    ) -> Result<String> {
        let mut p = Problems::default();
        let email = normalize_email(&self.email)
            .map_err(|e| p.add(&format!("{prefix}email"), e))
            .ok();
        check_display_name(&mut p, &format!("{prefix}display_name"), &self.display_name);
        if !allowed.contains(&self.role) {
            let names: Vec<_> = allowed.iter().map(|r| r.as_str()).collect();
            p.add(
                &format!("{prefix}role"),
                format!("must be one of {}", names.join(", ")),
            );
        }
        if let Err(e) = check_strength(&self.password, self.role, min_password) {
            p.add(&format!("{prefix}password"), e);
        }
        p.finish()?;
        email.ok_or_else(|| Error::field("email", "must be an email address"))
    }
}

pub(crate) fn new_record(
    u: &NewUser,
    email: String,
    hash: PasswordHash,
    now: Timestamp,
) -> UserRecord {
    UserRecord {
        id: UserId::new_v7(),
        email,
        display_name: crate::domain::text::nfkc(u.display_name.trim()),
        role: u.role,
        password_hash: hash,
        disabled: false,
        sessions_valid_after: None,
        created_at: now,
        updated_at: now,
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null at the end.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// One page of `items`, which are in list order (by `key`, ascending or
    /// `descending`): those after the cursor `after`, at most `limit`. A
    /// cursor whose item is gone still finds its place.
    pub fn window<K: Ord + std::fmt::Display>(
        list: List,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> K,
        descending: bool,
        after: Option<K>,
        limit: usize,
    ) -> Self {
        let mut rest = items.into_iter().filter(|t| match &after {
            None => true,
            Some(a) if descending => key(t) < *a,
            Some(a) => key(t) > *a,
        });
        let items: Vec<T> = rest.by_ref().take(limit).collect();
        let next_cursor = match rest.next() {
            Some(_) => items.last().map(|t| list.cursor(key(t))),
            None => None,
        };
        Self { items, next_cursor }
    }
}

pub(crate) fn user_created_event(by: &Acting, u: &UserRecord) -> AuditEvent {
    by.event(AuditAction::UserCreated)
        .target(u.id)
        .details(json!({ "email": u.email, "role": u.role, "display_name": u.display_name }))
}

impl Service {
    /// argon2id on the password threads.
    pub(crate) async fn hash_password(&self, pw: &Secret) -> Result<PasswordHash> {
        self.passwords
            .hash(pw.clone())
            .await
            .map_err(Error::Internal)
    }

    pub async fn create_user(
        &self,
        scope: &TenantScope,
        by: Acting,
        new: NewUser,
    ) -> Result<UserView> {
        let policy = self.get_policy(scope).await?;
        let email = new.validate(
            "",
            &[Role::Member, Role::OrgAdmin],
            policy.min_password_length,
        )?;
        let hash = self.hash_password(&new.password).await?;
        let now = self.now();
        let user = new_record(&new, email, hash, now);
        let scope = scope.clone();
        let rec = user.clone();
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                if tx.tenant(scope.tenant())?.is_none() {
                    return Err(crate::store::StoreError::NotFound);
                }
                if tx.user_by_email(ns, &rec.email)?.is_some() {
                    return Err(crate::store::StoreError::Conflict(format!(
                        "a user with email {} exists",
                        rec.email
                    )));
                }
                tx.put_user(ns, &rec)?;
                tx.append_audit(ns, now, user_created_event(&by, &rec))?;
                Ok(())
            })
            .await?;
        Ok(UserView::from(&user))
    }

    /// Users in creation order; `q` matches email or display name (case-insensitive).
    pub async fn list_users(
        &self,
        scope: &TenantScope,
        q: Option<String>,
        cursor: Option<UserId>,
        limit: usize,
    ) -> Result<Page<UserView>> {
        let scope = scope.clone();
        let q = q
            .map(|q| crate::domain::text::search_key(&q))
            .filter(|q| !q.is_empty());
        let (items, more) = self
            .store
            .read(move |rx| {
                let ns = Ns::from(&scope);
                let mut users = match &q {
                    Some(q) => rx.users_matching(ns, q, cursor, limit + 1)?,
                    None => rx.users(ns, cursor, limit + 1)?,
                };
                let more = users.len() > limit;
                users.truncate(limit);
                Ok((users.iter().map(UserView::from).collect::<Vec<_>>(), more))
            })
            .await?;
        let next_cursor = if more {
            items.last().map(|u: &UserView| List::Users.cursor(u.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}
