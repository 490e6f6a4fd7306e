//! The OpenID Shared Signals Framework 1.0 transmitter of each tenant:
//! metadata, stream management (a service client is the receiver), status,
//! verification, and RFC 8936 poll delivery. Push streams are sent by the
//! delivery engine like any endpoint.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Error, Result, Service};
use crate::auth::{Secret, TenantScope};
use crate::domain::outbox::{
    CAEP_SESSION_REVOKED, CAEP_SUPPORTED, EndpointKind, StreamConfig, StreamStatus,
    VERIFICATION_SEQ,
};
use crate::domain::{Actor, AuditAction, AuditEvent};
use crate::domain::{
    ClientId, DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, TenantId,
};
use crate::events::outbound::check_url;
use crate::events::tokens::seq_of_jti;
use crate::store::{Ns, StoreError};

pub const PUSH: &str = "urn:ietf:rfc:8935";
pub const POLL: &str = "urn:ietf:rfc:8936";
/// Streams one service client may hold.
pub const MAX_STREAMS: usize = 10;
/// Seconds between verification requests (SSF 1.0 `min_verification_interval`).
pub const MIN_VERIFICATION_SECS: i64 = 10;
/// SETs one poll answers at most.
const MAX_POLL: usize = 1000;

/// A service client acting as an SSF receiver of its tenant.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub scope: TenantScope,
    pub client: ClientId,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DeliveryInput {
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll, the default).
    pub method: Option<String>,
    /// Push: where SETs are POSTed.
    pub endpoint_url: Option<String>,
    /// Push: sent as `Authorization` with every SET.
    pub authorization_header: Option<String>,
}

/// The receiver-supplied properties of a stream, and the transmitter-supplied
/// ones a receiver may echo (which must then match).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StreamInput {
    pub stream_id: Option<String>,
    pub delivery: Option<DeliveryInput>,
    pub events_requested: Option<Vec<String>>,
    pub description: Option<String>,
    pub iss: Option<String>,
    pub aud: Option<Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusInput {
    pub stream_id: String,
    /// `enabled`, `paused` or `disabled`.
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VerifyInput {
    pub stream_id: String,
    pub state: Option<String>,
}

/// RFC 8936 §2.4 (names as the RFC spells them).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollInput {
    /// At most this many SETs (1000 at most; 100 when absent).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub max_events: Option<usize>,
    pub return_immediately: Option<bool>,
    #[serde(default)]
    pub ack: Vec<String>,
    #[serde(default)]
    pub set_errs: std::collections::BTreeMap<String, Value>,
}

fn stream_id(s: &str) -> Result<EndpointId> {
    EndpointId::parse(s).map_err(|_| Error::NotFound)
}

fn check_input(
    input: &StreamInput,
    old: Option<&EndpointRecord>,
) -> Result<(bool, String, Option<String>)> {
    let d = input.delivery.as_ref();
    let method = d.and_then(|d| d.method.as_deref());
    let poll = match (method, old) {
        (Some(PUSH), _) => false,
        (Some(POLL), _) => true,
        (Some(m), _) => {
            return Err(Error::field(
                "delivery.method",
                format!("unsupported: {m}; use {PUSH} or {POLL}"),
            ));
        }
        (None, Some(o)) if d.is_none() => o.polled(),
        (None, _) => d.is_none_or(|d| d.endpoint_url.is_none()),
    };
    let url = if poll {
        String::new()
    } else {
        let u = d
            .and_then(|d| d.endpoint_url.as_deref())
            .or(old.map(|o| o.url.as_str()))
            .unwrap_or("");
        check_url(u).map_err(|e| Error::field("delivery.endpoint_url", e))?;
        u.to_owned()
    };
    let auth = d.and_then(|d| d.authorization_header.clone()).or_else(|| {
        old.and_then(|o| o.stream())
            .and_then(|s| s.authorization.clone())
    });
    if auth
        .as_ref()
        .is_some_and(|a| a.len() > 4096 || a.contains(['\r', '\n']))
    {
        return Err(Error::field(
            "delivery.authorization_header",
            "at most 4096 characters, one line",
        ));
    }
    if let Some(desc) = &input.description
        && desc.chars().count() > 200
    {
        return Err(Error::field("description", "at most 200 characters"));
    }
    Ok((poll, url, auth))
}

/// The audit entry of a receiver's change to its stream: the service
/// client acts (recorded in `details`; audit actors are people or the system).
fn stream_event(
    action: AuditAction,
    r_client: ClientId,
    stream: EndpointId,
    details: Value,
) -> AuditEvent {
    let mut d = json!({ "client_id": r_client });
    if let (Some(d), Value::Object(more)) = (d.as_object_mut(), details) {
        d.extend(more);
    }
    AuditEvent::new(Actor::system(), action)
        .target(stream)
        .details(d)
}

impl Service {
    /// Authenticate a service client as the receiver of tenant `tenant`.
    pub async fn receiver(
        &self,
        tenant: &str,
        client_id: &str,
        secret: Secret,
    ) -> Result<Receiver> {
        let owner = self.authenticate_client(client_id, secret).await?;
        if owner.as_str() != tenant {
            // Another tenant's client: as if the credentials were wrong.
            return Err(Error::InvalidClient);
        }
        let client = ClientId::parse(client_id).map_err(|_| Error::InvalidClient)?;
        Ok(Receiver {
            scope: TenantScope::for_credential(owner),
            client,
        })
    }

    /// `GET /.well-known/ssf-configuration/tenants/{t}` (SSF 1.0 §7.1).
    pub async fn ssf_configuration(&self, tenant: &str) -> Result<Value> {
        let t = TenantId::parse(tenant).map_err(|_| Error::NotFound)?;
        let q = t.clone();
        if self.store.read(move |rx| rx.tenant(&q)).await?.is_none() {
            return Err(Error::NotFound);
        }
        let base = format!("{}/v1/tenants/{t}/ssf", self.public_url());
        Ok(json!({
            "spec_version": "1_0",
            "issuer": self.ssf_issuer(&t),
            "jwks_uri": format!("{}/.well-known/jwks.json", self.public_url()),
            "delivery_methods_supported": [PUSH, POLL],
            "configuration_endpoint": format!("{base}/stream"),
            "status_endpoint": format!("{base}/status"),
            "verification_endpoint": format!("{base}/verify"),
            "authorization_schemes": [{ "spec_urn": "urn:ietf:rfc:7617" }],
            "default_subjects": "ALL",
        }))
    }

    /// A stream's configuration as SSF 1.0 §8.1.1 shows it.
    fn stream_view(&self, r: &Receiver, e: &EndpointRecord) -> Value {
        let Some(s) = e.stream() else {
            return Value::Null;
        };
        let t = r.scope.tenant();
        let delivery = if s.poll {
            json!({ "method": POLL, "endpoint_url": format!("{}/v1/tenants/{t}/ssf/poll/{}", self.public_url(), e.id) })
        } else {
            json!({ "method": PUSH, "endpoint_url": e.url })
        };
        let mut v = json!({
            "stream_id": e.id,
            "iss": self.ssf_issuer(t),
            "aud": s.client,
            "delivery": delivery,
            "events_supported": CAEP_SUPPORTED,
            "events_requested": s.events_requested,
            "events_delivered": s.events_delivered(),
            "min_verification_interval": MIN_VERIFICATION_SECS,
        });
        if let Some(d) = &e.description {
            v["description"] = json!(d);
        }
        v
    }

    pub async fn create_stream(&self, r: &Receiver, input: StreamInput) -> Result<Value> {
        let (poll, url, authorization) = check_input(&input, None)?;
        let rec = EndpointRecord {
            id: EndpointId::new_v7(),
            kind: EndpointKind::Stream(StreamConfig {
                client: r.client,
                poll,
                authorization,
                events_requested: input
                    .events_requested
                    .clone()
                    .unwrap_or_else(|| vec![CAEP_SESSION_REVOKED.to_owned()]),
                status: StreamStatus::Enabled,
                reason: None,
                verification_state: None,
                verified_at: None,
            }),
            url,
            key: [0; 32],
            enabled: true,
            events: Vec::new(),
            description: input.description.clone(),
            created_at: self.now(),
            cursor: 0,
        };
        let (scope, client, stored, now) = (r.scope.clone(), r.client, rec.clone(), self.now());
        let rec = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let mine = tx
                    .webhooks(ns)?
                    .iter()
                    .filter(|e| e.stream().is_some_and(|s| s.client == client))
                    .count();
                if mine >= MAX_STREAMS {
                    return Err(StoreError::Conflict(format!(
                        "a service client has at most {MAX_STREAMS} streams"
                    )));
                }
                let rec = EndpointRecord {
                    cursor: tx.event_head(ns)?,
                    ..stored.clone()
                };
                tx.put_webhook(ns, &rec)?;
                let details = json!({ "poll": rec.polled(), "url": rec.url });
                let ev = stream_event(AuditAction::StreamCreated, client, rec.id, details);
                tx.append_audit(ns, now, ev)?;
                Ok(rec)
            })
            .await?;
        Ok(self.stream_view(r, &rec))
    }

    /// One stream of this receiver's, if it is theirs.
    async fn own_stream(&self, r: &Receiver, id: &str) -> Result<EndpointRecord> {
        let id = stream_id(id)?;
        let (scope, client) = (r.scope.clone(), r.client);
        self.store
            .read(move |rx| rx.webhook(Ns::from(&scope), id))
            .await?
            .filter(|e| e.stream().is_some_and(|s| s.client == client))
            .ok_or(Error::NotFound)
    }

    /// One stream (`Some(id)`) or all of this receiver's, as a list.
    pub async fn read_streams(&self, r: &Receiver, id: Option<&str>) -> Result<Value> {
        if let Some(id) = id {
            let e = self.own_stream(r, id).await?;
            return Ok(self.stream_view(r, &e));
        }
        let (scope, client) = (r.scope.clone(), r.client);
        let all = self
            .store
            .read(move |rx| rx.webhooks(Ns::from(&scope)))
            .await?;
        Ok(Value::Array(
            all.iter()
                .filter(|e| e.stream().is_some_and(|s| s.client == client))
                .map(|e| self.stream_view(r, e))
                .collect(),
        ))
    }

    /// PATCH (`replace` false: absent properties stay) or PUT (they reset).
    pub async fn update_stream(
        &self,
        r: &Receiver,
        input: StreamInput,
        replace: bool,
    ) -> Result<Value> {
        let id = input
            .stream_id
            .clone()
            .ok_or_else(|| Error::field("stream_id", "required"))?;
        let old = self.own_stream(r, &id).await?;
        if input
            .iss
            .as_ref()
            .is_some_and(|i| *i != self.ssf_issuer(r.scope.tenant()))
            || input
                .aud
                .as_ref()
                .is_some_and(|a| *a != json!(r.client.to_string()))
        {
            return Err(Error::field(
                "iss",
                "iss and aud are the transmitter's and cannot change",
            ));
        }
        let (poll, url, authorization) =
            check_input(&input, if replace { None } else { Some(&old) })?;
        let (scope, wid, client, now) = (r.scope.clone(), old.id, r.client, self.now());
        let events = input.events_requested.clone();
        let description = input.description.clone();
        let rec = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(mut e) = tx.webhook(ns, wid)? else {
                    return Err(StoreError::NotFound);
                };
                let EndpointKind::Stream(s) = &mut e.kind else {
                    return Err(StoreError::NotFound);
                };
                s.poll = poll;
                s.authorization = authorization.clone();
                match &events {
                    Some(ev) => s.events_requested = ev.clone(),
                    None if replace => s.events_requested = vec![CAEP_SESSION_REVOKED.to_owned()],
                    None => {}
                }
                e.url = url.clone();
                if description.is_some() || replace {
                    e.description = description.clone();
                }
                tx.put_webhook(ns, &e)?;
                let details = json!({ "poll": poll, "url": e.url, "replace": replace });
                tx.append_audit(
                    ns,
                    now,
                    stream_event(AuditAction::StreamUpdated, client, wid, details),
                )?;
                Ok(e)
            })
            .await?;
        Ok(self.stream_view(r, &rec))
    }

    pub async fn delete_stream(&self, r: &Receiver, id: &str) -> Result<()> {
        let e = self.own_stream(r, id).await?;
        let (scope, client, now) = (r.scope.clone(), r.client, self.now());
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                if tx.remove_webhook(ns, e.id)? {
                    let ev = stream_event(AuditAction::StreamDeleted, client, e.id, json!({}));
                    tx.append_audit(ns, now, ev)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    pub async fn stream_status(&self, r: &Receiver, id: &str) -> Result<Value> {
        let e = self.own_stream(r, id).await?;
        Ok(status_view(&e))
    }

    /// Pause (events held), disable (dropped) or enable a stream.
    pub async fn set_stream_status(&self, r: &Receiver, input: StatusInput) -> Result<Value> {
        let status = StreamStatus::parse(&input.status)
            .ok_or_else(|| Error::field("status", "enabled, paused or disabled"))?;
        let old = self.own_stream(r, &input.stream_id).await?;
        let (scope, wid, reason) = (r.scope.clone(), old.id, input.reason.clone());
        let (client, now) = (r.client, self.now());
        let e = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(mut e) = tx.webhook(ns, wid)? else {
                    return Err(StoreError::NotFound);
                };
                let head = tx.event_head(ns)?;
                let EndpointKind::Stream(s) = &mut e.kind else {
                    return Err(StoreError::NotFound);
                };
                // Leaving `disabled`: what happened meanwhile was dropped.
                if s.status == StreamStatus::Disabled && status != StreamStatus::Disabled {
                    e.cursor = head;
                }
                s.status = status;
                s.reason = reason.clone();
                tx.put_webhook(ns, &e)?;
                let details = json!({ "status": status.as_str(), "reason": reason });
                let ev = stream_event(AuditAction::StreamStatusChanged, client, wid, details);
                tx.append_audit(ns, now, ev)?;
                Ok(e)
            })
            .await?;
        self.wake_deliveries();
        Ok(status_view(&e))
    }

    /// Queue a verification event on the stream (SSF 1.0 §8.1.4.2).
    pub async fn verify_stream(&self, r: &Receiver, input: VerifyInput) -> Result<()> {
        let old = self.own_stream(r, &input.stream_id).await?;
        let now = self.now();
        if let Some(at) = old.stream().and_then(|s| s.verified_at) {
            let wait = at.plus_secs(MIN_VERIFICATION_SECS).millis() - now.millis();
            if wait > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: (wait as u64).div_ceil(1000),
                });
            }
        }
        if input.state.as_ref().is_some_and(|s| s.len() > 1024) {
            return Err(Error::field("state", "at most 1024 characters"));
        }
        let (scope, wid, state) = (r.scope.clone(), old.id, input.state.clone());
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(mut e) = tx.webhook(ns, wid)? else {
                    return Err(StoreError::NotFound);
                };
                let EndpointKind::Stream(s) = &mut e.kind else {
                    return Err(StoreError::NotFound);
                };
                s.verification_state = state.clone();
                s.verified_at = Some(now);
                tx.put_webhook(ns, &e)?;
                tx.put_delivery(ns, &DeliveryRecord::for_endpoint(&e, VERIFICATION_SEQ, now))
            })
            .await?;
        self.wake_deliveries();
        Ok(())
    }

    /// RFC 8936 poll: acknowledge, record errors, then answer what is pending
    /// (waiting up to `wait` for an event unless `returnImmediately`).
    pub async fn poll_stream(
        &self,
        r: &Receiver,
        id: &str,
        input: PollInput,
        wait: std::time::Duration,
    ) -> Result<Value> {
        let e = self.own_stream(r, id).await?;
        if !e.polled() {
            return Err(Error::Conflict("this stream is delivered by push".into()));
        }
        let tenant = r.scope.tenant().clone();
        let sid = e.id.to_string();
        let seq_of = |jti: &str| -> Option<u64> {
            if jti.starts_with(&format!("{tenant}:v")) && jti.ends_with(&sid) {
                return Some(VERIFICATION_SEQ);
            }
            seq_of_jti(&tenant, &sid, jti)
        };
        let acks: Vec<u64> = input.ack.iter().filter_map(|j| seq_of(j)).collect();
        let errs: Vec<(u64, String)> = input
            .set_errs
            .iter()
            .filter_map(|(j, v)| {
                let err = v["err"]
                    .as_str()
                    .unwrap_or("unspecified")
                    .chars()
                    .take(64)
                    .collect();
                seq_of(j).map(|s| (s, err))
            })
            .collect();
        let now = self.now();
        let (scope, wid) = (r.scope.clone(), e.id);
        if !acks.is_empty() || !errs.is_empty() {
            let scope = scope.clone();
            self.store
                .write(move |tx| {
                    let ns = Ns::from(&scope);
                    for &seq in &acks {
                        if let Some(d) = tx
                            .delivery(ns, wid, seq)?
                            .filter(|d| d.status == DeliveryStatus::Pending)
                        {
                            tx.put_delivery(ns, &d.after_attempt(now, Ok(202), 0.0))?;
                        }
                    }
                    for (seq, err) in &errs {
                        if let Some(d) = tx
                            .delivery(ns, wid, *seq)?
                            .filter(|d| d.status == DeliveryStatus::Pending)
                        {
                            let why = format!("the receiver refused the SET: {err}");
                            tx.put_delivery(
                                ns,
                                &d.after_attempt(now, Err((None, why, true)), 0.0),
                            )?;
                        }
                    }
                    Ok(())
                })
                .await?;
        }
        let max = input.max_events.unwrap_or(100).min(MAX_POLL);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let committed = self.deliveries().committed();
            tokio::pin!(committed);
            committed.as_mut().enable();
            self.fan_out_now(&scope).await?;
            let s = scope.clone();
            let (pending, more, events) = self
                .store
                .read(move |rx| {
                    let ns = Ns::from(&s);
                    let mut pending = rx.polled_deliveries(ns, wid, max + 1)?;
                    let more = pending.len() > max;
                    pending.truncate(max);
                    let mut events = Vec::new();
                    for d in &pending {
                        let seq = d.seq;
                        events.extend(
                            rx.events_after(ns, seq.saturating_sub(1), 1)?
                                .into_iter()
                                .find(|e| e.seq == seq),
                        );
                    }
                    Ok((pending, more, events))
                })
                .await?;
            let mut sets = serde_json::Map::new();
            for d in &pending {
                let ev = events.iter().find(|e| e.seq == d.seq);
                let Ok(jwt) = self.stream_set(&tenant, &e, d.seq, ev, now) else {
                    continue;
                };
                let jti = match d.seq {
                    VERIFICATION_SEQ => jti_of(&jwt).unwrap_or_default(),
                    seq => format!("{tenant}:{seq}:{sid}"),
                };
                sets.insert(jti, json!(jwt));
            }
            let immediate = input.return_immediately.unwrap_or(false);
            if !sets.is_empty() || immediate || tokio::time::Instant::now() >= deadline {
                return Ok(json!({ "sets": sets, "moreAvailable": more }));
            }
            let _ = tokio::time::timeout_at(deadline, committed).await;
        }
    }
}

fn status_view(e: &EndpointRecord) -> Value {
    let s = e.stream();
    let mut v = json!({ "stream_id": e.id, "status": s.map_or("disabled", |s| s.status.as_str()) });
    if let Some(r) = s.and_then(|s| s.reason.as_ref()) {
        v["reason"] = json!(r);
    }
    v
}

/// The `jti` of a signed SET (ours, so its payload is well formed).
fn jti_of(jwt: &str) -> Option<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["jti"].as_str().map(str::to_owned)
}
