//! The JWTs sessions' ends (and starts) are announced in: Security Event
//! Tokens (RFC 8417, SSF 1.0 with CAEP 1.0 `session-revoked` and
//! `session-established`) and OIDC Back-Channel Logout 1.0 logout tokens. Both are signed EdDSA with the published keys.

use serde_json::{Value, json};

use crate::auth::token::Keys;
use crate::domain::outbox::{SSF_VERIFICATION, initiating_entity};
use crate::domain::{EventKind, OutboxEvent, TenantId, Timestamp};

pub const SET_TYP: &str = "secevent+jwt";
pub const LOGOUT_TYP: &str = "logout+jwt";
pub const BACKCHANNEL_LOGOUT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// A logout token is good for this long (it is delivered at once, retried fresh).
const LOGOUT_TTL_SECS: i64 = 120;

/// What a SET names besides its event: the transmitter and the receiver.
pub struct SetContext<'a> {
    /// The stream's `iss`: `{public URL}/tenants/{t}`.
    pub iss: &'a str,
    /// The stream's `aud`.
    pub aud: &'a str,
    /// Access tokens' issuer: the `iss` of the user's `iss_sub` subject.
    pub token_issuer: &'a str,
    pub tenant: &'a TenantId,
    pub stream_id: &'a str,
}

/// The SET's `jti`: unique per stream and event, and naming the event.
pub fn set_jti(ctx: &SetContext<'_>, seq: u64) -> String {
    format!("{}:{seq}:{}", ctx.tenant, ctx.stream_id)
}

/// The outbox seq a `jti` of this stream names.
pub fn seq_of_jti(tenant: &TenantId, stream_id: &str, jti: &str) -> Option<u64> {
    let rest = jti.strip_prefix(tenant.as_str())?.strip_prefix(':')?;
    let (seq, stream) = rest.split_once(':')?;
    (stream == stream_id).then_some(())?;
    seq.parse().ok()
}

/// The claims of the SET announcing `e`: CAEP `session-revoked` or
/// `session-established`.
pub fn event_set(ctx: &SetContext<'_>, e: &OutboxEvent, now: Timestamp) -> Value {
    let (session, user) = e.kind.subject();
    let event = match &e.kind {
        EventKind::SessionRevoked { by, reason, .. } => json!({
            "event_timestamp": e.at.unix_secs(),
            "initiating_entity": initiating_entity(*reason, *by),
            "reason_admin": { "en": reason.as_str() },
        }),
        EventKind::SessionCreated { .. } => json!({ "event_timestamp": e.at.unix_secs() }),
    };
    json!({
        "iss": ctx.iss,
        "aud": ctx.aud,
        "iat": now.unix_secs(),
        "jti": set_jti(ctx, e.seq),
        // The same underlying event on every stream.
        "txn": format!("{}:{}", ctx.tenant, e.seq),
        "sub_id": {
            "format": "complex",
            "session": { "format": "opaque", "id": session },
            "user": { "format": "iss_sub", "iss": ctx.token_issuer, "sub": user },
            "tenant": { "format": "opaque", "id": ctx.tenant },
        },
        "events": { e.kind.caep_type(): event }
    })
}

/// The claims of a stream's verification SET (SSF 1.0 §8.1.4.1).
pub fn verification_set(ctx: &SetContext<'_>, state: Option<&str>, now: Timestamp) -> Value {
    let mut ev = json!({});
    if let Some(s) = state {
        ev["state"] = json!(s);
    }
    json!({
        "iss": ctx.iss,
        "aud": ctx.aud,
        "iat": now.unix_secs(),
        "jti": format!("{}:v{}:{}", ctx.tenant, now.millis(), ctx.stream_id),
        "sub_id": { "format": "opaque", "id": ctx.stream_id },
        "events": { SSF_VERIFICATION: ev },
    })
}

/// The claims of the logout token for `e`, to the client `aud`.
pub fn logout_token(issuer: &str, aud: &str, e: &OutboxEvent, now: Timestamp) -> Value {
    let (session, user) = e.kind.subject();
    json!({
        "iss": issuer,
        "aud": aud,
        "iat": now.unix_secs(),
        "exp": now.unix_secs() + LOGOUT_TTL_SECS,
        "jti": uuid::Uuid::now_v7().to_string(),
        "sub": user,
        "sid": session,
        "events": { BACKCHANNEL_LOGOUT: {} },
    })
}

pub fn sign_set(keys: &Keys, claims: &Value, now: Timestamp) -> Result<String, String> {
    keys.sign_typed(SET_TYP, claims, now)
}

pub fn sign_logout(keys: &Keys, claims: &Value, now: Timestamp) -> Result<String, String> {
    keys.sign_typed(LOGOUT_TYP, claims, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::KeyMaterial;
    use crate::domain::outbox::CAEP_SESSION_REVOKED;
    use crate::domain::{RevokeReason, SessionId, UserId};

    const T: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    fn event() -> OutboxEvent {
        OutboxEvent {
            seq: 42,
            at: T,
            kind: EventKind::SessionRevoked {
                session: SessionId::from_u128(1),
                user: UserId::from_u128(2),
                by: Some(UserId::from_u128(3)),
                reason: RevokeReason::AdminRevoked,
                support: false,
            },
        }
    }

    #[test]
    fn sets_follow_ssf_and_caep_and_are_never_access_tokens() {
        let keys = Keys::single(&KeyMaterial::generate(T), "sessiond");
        let acme = TenantId::parse("acme").unwrap();
        let ctx = SetContext {
            iss: "https://sd.example/tenants/acme",
            aud: "client-1",
            token_issuer: "sessiond",
            tenant: &acme,
            stream_id: "s1",
        };
        let c = event_set(&ctx, &event(), T);
        assert!(
            c.get("sub").is_none() && c.get("exp").is_none(),
            "SSF 1.0 §4.1"
        );
        assert_eq!(c["sub_id"]["format"], "complex");
        assert_eq!(
            c["sub_id"]["session"]["id"],
            SessionId::from_u128(1).to_string()
        );
        let ev = &c["events"][CAEP_SESSION_REVOKED];
        assert_eq!(ev["initiating_entity"], "admin");
        assert_eq!(ev["reason_admin"]["en"], "admin_revoked");
        assert_eq!(ev["event_timestamp"], T.unix_secs());
        assert_eq!(
            seq_of_jti(&acme, "s1", c["jti"].as_str().unwrap()),
            Some(42)
        );
        assert_eq!(seq_of_jti(&acme, "s2", c["jti"].as_str().unwrap()), None);
        let jwt = sign_set(&keys, &c, T).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.typ.as_deref(), Some(SET_TYP));
        assert!(
            keys.verify(&jwt, T).is_err(),
            "a SET is not an access token"
        );
        let lt = logout_token("sessiond", "client-1", &event(), T);
        assert_eq!(lt["events"][BACKCHANNEL_LOGOUT], json!({}));
        assert_eq!(lt["sid"], SessionId::from_u128(1).to_string());
        let jwt = sign_logout(&keys, &lt, T).unwrap();
        assert!(
            keys.verify(&jwt, T).is_err(),
            "a logout token is not an access token"
        );
        assert!(keys.sign_typed("at+jwt", &lt, T).is_err());
    }
}
