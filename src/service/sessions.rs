//! Session lifecycle inside a write transaction: open, revoke; and the
//! activity flush.

use serde::Serialize;

use super::{ClientMeta, Result, Service};
use crate::auth::TenantScope;
use crate::auth::secret::Secret;
use crate::auth::token::{AUDIENCE, Claims, PLATFORM_TID};
use crate::domain::session::{RefreshRecord, SessionDenied};
use crate::domain::{
    GrantRecord, Policy, RevokeReason, Role, SessionId, SessionRecord, SessionState, SupportMarker,
    TenantId, Timestamp, UserId, UserRecord,
};
use crate::store::{Ns, Reads, Space, StoreError, Tx};

/// What login, refresh and support-session start answer (SPEC §4).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// JWT (EdDSA, `typ` at+jwt).
    #[schema(value_type = String)]
    pub access_token: Secret,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$")]
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
    /// Opaque, single use: each refresh rotates it.
    #[schema(value_type = String)]
    pub refresh_token: Secret,
    pub session_id: SessionId,
}

/// `rt1.{tenant|_platform}.{256 random bits, base64url}`
pub(crate) fn new_refresh_token(space: &Space) -> Secret {
    let random = Secret::random(32);
    Secret::new(format!("rt1.{}.{}", space_tid(space), random.expose()))
}

/// Key of the successor derivation; lives in the store's meta table beside
/// the signing keys.
#[derive(Clone)]
pub(crate) struct SuccessorKey([u8; 32]);

impl std::fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorKey(<redacted>)")
    }
}

impl SuccessorKey {
    pub(crate) fn generate() -> Self {
        let mut k = [0u8; 32];
        crate::auth::secret::fill_random(&mut k);
        Self(k)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The one successor of `token`: HMAC-SHA256 under this key, so a racing
    /// retry gets the same answer and no one without the key can predict it.
    pub(crate) fn successor(&self, space: &Space, token: &Secret) -> Secret {
        use base64::Engine;
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(token.expose().as_bytes());
        let tag = mac.finalize().into_bytes();
        let random = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag);
        Secret::new(format!("rt1.{}.{}", space_tid(space), random))
    }
}

/// Parse a refresh token's namespace; `None` if it is not one of ours.
pub fn parse_refresh_token(token: &Secret) -> Option<Space> {
    let mut parts = token.expose().split('.');
    let (Some("rt1"), Some(tid), Some(random), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let well_formed = random.len() == 43
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    space_of_tid(tid)
}

pub(crate) fn space_of_tid(tid: &str) -> Option<Space> {
    if tid == PLATFORM_TID {
        return Some(Space::Platform);
    }
    TenantId::parse(tid)
        .ok()
        .map(|t| Space::Tenant(TenantScope::for_credential(t)))
}

pub fn space_tid(space: &Space) -> &str {
    match space {
        Space::Tenant(s) => s.tenant().as_str(),
        Space::Platform => PLATFORM_TID,
    }
}

pub(crate) fn space_key(space: &Space, sid: SessionId) -> super::activity::SessionKey {
    match space {
        Space::Tenant(s) => (Some(s.tenant().clone()), sid),
        Space::Platform => (None, sid),
    }
}

/// Create a session and the first generation of its refresh chain.
pub(crate) fn open_session(
    tx: &mut Tx<'_>,
    space: &Space,
    user: &UserRecord,
    meta: &ClientMeta,
    support: Option<(SupportMarker, Timestamp)>,
    policy: &Policy,
    now: Timestamp,
) -> std::result::Result<(SessionRecord, Secret), StoreError> {
    let absolute = now.plus_secs(policy.absolute_timeout_secs);
    // A support session ends no later than its grant.
    let (support, ends_by) = match support {
        Some((m, end)) => (Some(m), Some(end)),
        None => (None, None),
    };
    let session = SessionRecord {
        id: SessionId::new_v7(),
        user_id: user.id,
        created_at: now,
        last_activity_at: now,
        expires_at: ends_by.map_or(absolute, |e| e.min(absolute)),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.as_deref().map(|ua| truncate(ua, 512)),
        state: SessionState::Active,
        support,
    };
    let token = new_refresh_token(space);
    let rec = RefreshRecord {
        session_id: session.id,
        generation: 0,
        created_at: now,
        used_at: None,
    };
    tx.put_session(space.ns(), &session)?;
    tx.put_refresh(space.ns(), &token.sha256(), &rec)?;
    Ok((session, token))
}

/// The user behind a session and, for a support session, its grant. A
/// support session's user is the global admin, from the platform namespace.
pub(crate) fn subject_of(
    rx: &(impl Reads + ?Sized),
    ns: Ns<'_>,
    s: &SessionRecord,
) -> std::result::Result<(Option<UserRecord>, Option<GrantRecord>), StoreError> {
    match &s.support {
        Some(m) => {
            // A grant lives in its tenant's namespace: a support marker
            // anywhere else names no grant, and the session is refused.
            let grant = match ns {
                Ns::Tenant(t) => rx.grant(t, m.grant_id)?,
                Ns::Platform => None,
            };
            Ok((rx.user(Ns::Platform, m.admin_id)?, grant))
        }
        None => Ok((rx.user(ns, s.user_id)?, None)),
    }
}

/// SPEC §4's session-level check, in order: state and expiry, then the user,
/// then (support sessions) the grant. A support session that timed out
/// because its grant ended reports the grant's reason.
pub(crate) fn admit(
    s: &SessionRecord,
    last_activity: Timestamp,
    idle_timeout_secs: i64,
    user: &UserRecord,
    grant: Option<&GrantRecord>,
    now: Timestamp,
) -> std::result::Result<(), SessionDenied> {
    let support = s
        .support
        .as_ref()
        .and_then(|_| crate::domain::grant::support_denied(grant, now));
    match s.check(now, last_activity, idle_timeout_secs) {
        Err(SessionDenied::Expired) if support.is_some() => {
            return Err(support.unwrap_or(SessionDenied::Expired));
        }
        other => other?,
    }
    user.admits(s)?;
    support.map_or(Ok(()), Err)
}

/// Revoke one session if active; `true` if it was.
pub(crate) fn revoke_in(
    tx: &mut Tx<'_>,
    ns: Ns<'_>,
    sid: SessionId,
    now: Timestamp,
    by: Option<UserId>,
    reason: RevokeReason,
    note: Option<String>,
) -> std::result::Result<bool, StoreError> {
    Ok(!revoke_many_in(tx, ns, &[sid], now, by, reason, note)?
        .ids
        .is_empty())
}

/// The sessions a revocation ended, in the order asked, and their users.
pub(crate) struct Ended {
    pub ids: Vec<SessionId>,
    pub users: std::collections::BTreeSet<UserId>,
}

/// Revoke those of `ids` that are active, in one pass over the tables;
/// answers those that were.
pub(crate) fn revoke_many_in(
    tx: &mut Tx<'_>,
    ns: Ns<'_>,
    ids: &[SessionId],
    now: Timestamp,
    by: Option<UserId>,
    reason: RevokeReason,
    note: Option<String>,
) -> std::result::Result<Ended, StoreError> {
    let mut users = std::collections::BTreeSet::new();
    let ids = tx.update_sessions(ns, ids, &mut |old: &SessionRecord| {
        if old.is_active() {
            users.insert(old.user_id);
        }
        old.is_active().then(|| SessionRecord {
            state: SessionState::Revoked {
                at: now,
                by,
                reason,
                note: note.clone(),
            },
            ..old.clone()
        })
    })?;
    Ok(Ended { ids, users })
}

/// Revoke every active session of a user but `keep`; how many were revoked.
pub(crate) fn revoke_user_in(
    tx: &mut Tx<'_>,
    ns: Ns<'_>,
    uid: UserId,
    keep: Option<SessionId>,
    now: Timestamp,
    by: Option<UserId>,
    reason: RevokeReason,
) -> std::result::Result<usize, StoreError> {
    let mut ids = tx.session_ids_of_user(ns, uid)?;
    ids.retain(|&sid| Some(sid) != keep);
    Ok(revoke_many_in(tx, ns, &ids, now, by, reason, None)?
        .ids
        .len())
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Service {
    /// Sign an access token for a session.
    pub(crate) fn mint(
        &self,
        space: &Space,
        session: &SessionRecord,
        role: Role,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenPair> {
        let now = self.now();
        let claims = Claims {
            iss: self.config.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: session.user_id.to_string(),
            tid: space_tid(space).to_owned(),
            sid: session.id.to_string(),
            role,
            iat: now.unix_secs(),
            exp: now.unix_secs() + policy.access_token_ttl_secs,
            jti: uuid::Uuid::now_v7().to_string(),
            gid: session.support.as_ref().map(|s| s.grant_id.to_string()),
        };
        let access = self
            .keys()
            .sign(&claims, now)
            .map_err(super::Error::Internal)?;
        Ok(TokenPair {
            access_token: Secret::new(access),
            token_type: "Bearer",
            expires_in: policy.access_token_ttl_secs,
            refresh_token,
            session_id: session.id,
        })
    }

    /// The freshest known activity of a session (memory, else disk).
    pub(crate) fn last_activity(&self, space: &Space, s: &SessionRecord) -> Timestamp {
        self.activity
            .get(&space_key(space, s.id))
            .map_or(s.last_activity_at, |t| t.max(s.last_activity_at))
    }

    /// Write pending last-activity times in one transaction. Returns how many.
    pub async fn flush_activity(&self) -> Result<usize> {
        let pending = self.activity.snapshot();
        if pending.is_empty() {
            return Ok(0);
        }
        let batch = pending.clone();
        let n = self
            .store
            .write(move |tx| {
                let mut n = 0;
                for ((tenant, sid), at) in &batch {
                    let space = match tenant {
                        Some(t) => Space::Tenant(TenantScope::for_credential(t.clone())),
                        None => Space::Platform,
                    };
                    if let Some(mut s) = tx.session(space.ns(), *sid)?
                        && s.last_activity_at < *at
                    {
                        s.last_activity_at = *at;
                        tx.put_session(space.ns(), &s)?;
                        n += 1;
                    }
                }
                Ok(n)
            })
            .await?;
        self.activity.forget(&pending);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_name_their_namespace_and_parse_back() {
        let acme = Space::Tenant(TenantScope::operator(TenantId::parse("acme").unwrap()));
        let t = new_refresh_token(&acme);
        assert!(t.expose().starts_with("rt1.acme."));
        assert_eq!(parse_refresh_token(&t), Some(acme));
        let p = new_refresh_token(&Space::Platform);
        assert!(p.expose().starts_with("rt1._platform."));
        assert_eq!(parse_refresh_token(&p), Some(Space::Platform));
    }

    #[test]
    fn malformed_refresh_tokens_are_rejected() {
        let good = new_refresh_token(&Space::Platform);
        let random = good.expose().rsplit('.').next().unwrap().to_owned();
        for bad in [
            String::new(),
            "rt1".into(),
            format!("rt2.acme.{random}"),
            format!("rt1.ACME.{random}"),
            format!("rt1.acme.{random}.x"),
            "rt1.acme.short".into(),
            format!("rt1.acme.{}", random.replace(|_: char| true, "+")),
        ] {
            assert_eq!(
                parse_refresh_token(&Secret::new(bad.clone())),
                None,
                "{bad}"
            );
        }
    }
}
