//! What one delivery sends, per kind of endpoint, and how its answer is
//! judged: a plain webhook (JSON, Standard Webhooks signature), an SSF push
//! stream (RFC 8935: a SET, 202 expected, receiver `err` codes honoured), an
//! OIDC back-channel logout URI (a form with the `logout_token`).

use bytes::Bytes;

use super::Service;
use super::webhooks::{event_id, event_json};
use crate::domain::outbox::{EndpointKind, VERIFICATION_SEQ};
use crate::domain::{EndpointRecord, OutboxEvent, TenantId, Timestamp};
use crate::events::outbound::Reply;
use crate::events::sign::signature;
use crate::events::tokens::{
    SetContext, event_set, logout_token, sign_logout, sign_set, verification_set,
};

/// One request, ready to send.
pub struct Outgoing {
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// An attempt's result: delivered, worth retrying, or refused for good.
pub enum Verdict {
    Delivered(u16),
    Retry(Option<u16>, String),
    Permanent(Option<u16>, String),
}

impl Service {
    /// `{public URL}/tenants/{t}`: the SSF issuer of a tenant.
    pub fn ssf_issuer(&self, tenant: &TenantId) -> String {
        format!("{}/tenants/{tenant}", self.public_url())
    }

    pub fn public_url(&self) -> &str {
        self.config
            .public_url
            .as_deref()
            .unwrap_or("http://localhost:8080")
    }

    /// The request of delivery `seq` to `hook`; `Err` when there is nothing
    /// that can be sent (a pruned event, a signing failure).
    pub(super) fn outgoing(
        &self,
        tenant: &TenantId,
        hook: &EndpointRecord,
        seq: u64,
        event: Option<&OutboxEvent>,
        now: Timestamp,
    ) -> Result<Outgoing, String> {
        let keys = self.keys();
        match &hook.kind {
            EndpointKind::Webhook => {
                let e = event.ok_or("the event is no longer in the outbox")?;
                let body = Bytes::from(event_json(tenant, e).to_string());
                let id = event_id(tenant, seq);
                let ts = now.unix_secs();
                let sig = signature(&hook.key, &id, ts, &body);
                Ok(Outgoing {
                    content_type: "application/json",
                    headers: vec![
                        ("webhook-id", id),
                        ("webhook-timestamp", ts.to_string()),
                        ("webhook-signature", sig),
                    ],
                    body,
                })
            }
            EndpointKind::Stream(stream) => {
                let jwt = self.stream_set(tenant, hook, seq, event, now)?;
                let mut headers = vec![("accept", "application/json".to_owned())];
                if let Some(a) = &stream.authorization {
                    headers.push(("authorization", a.clone()));
                }
                Ok(Outgoing {
                    content_type: "application/secevent+jwt",
                    headers,
                    body: Bytes::from(jwt),
                })
            }
            EndpointKind::Logout { client } => {
                let e = event.ok_or("the event is no longer in the outbox")?;
                let claims = logout_token(&self.config.issuer, &client.to_string(), e, now);
                let jwt = sign_logout(&keys, &claims, now)?;
                let body = serde_urlencoded::to_string([("logout_token", jwt)])
                    .map_err(|e| e.to_string())?;
                Ok(Outgoing {
                    content_type: "application/x-www-form-urlencoded",
                    headers: Vec::new(),
                    body: Bytes::from(body),
                })
            }
        }
    }

    /// The signed SET of delivery `seq` on an SSF stream (seq 0: verification).
    pub(crate) fn stream_set(
        &self,
        tenant: &TenantId,
        hook: &EndpointRecord,
        seq: u64,
        event: Option<&OutboxEvent>,
        now: Timestamp,
    ) -> Result<String, String> {
        let stream = hook.stream().ok_or("not an SSF stream")?;
        let (iss, aud, sid) = (
            self.ssf_issuer(tenant),
            stream.client.to_string(),
            hook.id.to_string(),
        );
        let ctx = SetContext {
            iss: &iss,
            aud: &aud,
            token_issuer: &self.config.issuer,
            tenant,
            stream_id: &sid,
        };
        let claims = if seq == VERIFICATION_SEQ {
            verification_set(&ctx, stream.verification_state.as_deref(), now)
        } else {
            event_set(
                &ctx,
                event.ok_or("the event is no longer in the outbox")?,
                now,
            )
        };
        sign_set(&self.keys(), &claims, now)
    }
}

/// How `kind`'s receiver answered.
pub fn judge(kind: &EndpointKind, answer: Result<Reply, String>) -> Verdict {
    let r = match answer {
        Ok(r) => r,
        Err(e) => return Verdict::Retry(None, e),
    };
    if (200..300).contains(&r.status) {
        return Verdict::Delivered(r.status);
    }
    // RFC 8935 §2.3: a 400 with an `err` code refuses this SET for good.
    if matches!(kind, EndpointKind::Stream(_)) && r.status == 400 {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if let Some(err) = v["err"].as_str().filter(|e| is_code(e)) {
            return Verdict::Permanent(Some(400), format!("the receiver refused the SET: {err}"));
        }
    }
    Verdict::Retry(
        Some(r.status),
        format!("the receiver answered {}", r.status),
    )
}

/// A receiver's error code as we record it: a short token, nothing else.
fn is_code(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
