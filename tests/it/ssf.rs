//! The Shared Signals Framework transmitter (SSF 1.0, CAEP 1.0
//! session-revoked) and OIDC back-channel logout, from the receiver's side.

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sessiond::config::Config;
use sessiond::domain::Role;

use crate::support::receiver::Receiver;
use crate::support::{Resp, TestApp, Tokens};

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const VERIFY: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const PUBLIC: &str = "https://sessiond.example.org";

pub(crate) fn config() -> Config {
    Config {
        webhook_allow_hosts: vec!["127.0.0.1".into()],
        public_url: Some(PUBLIC.into()),
        ..Config::default()
    }
}

pub(crate) struct Client {
    pub id: String,
    pub secret: String,
}

pub(crate) async fn client(app: &TestApp, t: &str, admin: &Tokens, body: Value) -> Client {
    let r = app
        .post(
            &format!("/v1/tenants/{t}/clients"),
            Some(&admin.access),
            body,
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    Client {
        id: r.body["client_id"].as_str().unwrap().to_owned(),
        secret: r.body["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// A request as the receiver `c`.
pub(crate) async fn call(
    app: &TestApp,
    c: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let cred = STANDARD.encode(format!("{}:{}", c.id, c.secret));
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Basic {cred}"))
        .header("content-type", "application/json");
    let body = body.map_or(Body::empty(), |v| Body::from(v.to_string()));
    app.call(b.body(body).unwrap()).await
}

/// Header and claims of a JWT whose EdDSA signature verifies with the JWKS.
pub(crate) async fn verified(app: &TestApp, jwt: &str) -> (Value, Value) {
    let jwks = app.get("/.well-known/jwks.json", None).await.body;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let part = |i: usize| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).unwrap()).unwrap()
    };
    let (header, claims) = (part(0), part(1));
    assert_eq!(header["alg"], "EdDSA");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key is published");
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let sig =
        ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
    vk.verify_strict(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signature verifies");
    (header, claims)
}

async fn revoke(app: &TestApp, admin: &Tokens, sid: &str) {
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{sid}/revoke"),
            Some(&admin.access),
            json!({"reason": "stolen laptop"}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
}

/// A new session of the member `m@acme.test`.
async fn member_session(app: &TestApp) -> Tokens {
    app.login("acme", "m@acme.test").await
}

#[tokio::test]
async fn discovery_names_the_tenant_issuer_and_endpoints() {
    let app = TestApp::with_config(config()).await;
    app.tenant("acme").await;
    let r = app
        .get("/.well-known/ssf-configuration/tenants/acme", None)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["issuer"], format!("{PUBLIC}/tenants/acme"));
    assert_eq!(r.body["spec_version"], "1_0");
    assert_eq!(
        r.body["jwks_uri"],
        format!("{PUBLIC}/.well-known/jwks.json")
    );
    assert_eq!(
        r.body["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );
    assert_eq!(
        r.body["configuration_endpoint"],
        format!("{PUBLIC}/v1/tenants/acme/ssf/stream")
    );
    let r = app
        .get("/.well-known/ssf-configuration/tenants/nobody", None)
        .await;
    r.assert_error(404, "not_found");
}

#[tokio::test]
async fn push_streams_carry_signed_caep_session_revoked_sets() {
    let app = TestApp::with_config(config()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let rs = client(&app, "acme", &admin, json!({"name": "rs"})).await;
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": rx.url,
                         "authorization_header": "Bearer receiver-secret"},
            "events_requested": [CAEP, "urn:example:unknown"],
            "description": "deny-list"
        })),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let stream = r.body["stream_id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["iss"], format!("{PUBLIC}/tenants/acme"));
    assert_eq!(r.body["aud"], rs.id.as_str());
    assert_eq!(r.body["events_delivered"], json!([CAEP]));
    assert!(
        r.body["delivery"].get("authorization_header").is_none(),
        "{}",
        r.text
    );

    let m = member_session(&app).await;
    revoke(&app, &admin, &m.session_id).await;
    app.svc.deliver_now().await.unwrap();
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("content-type"), "application/secevent+jwt");
    assert_eq!(got[0].header("authorization"), "Bearer receiver-secret");
    let jwt = std::str::from_utf8(&got[0].body).unwrap();
    let (header, c) = verified(&app, jwt).await;
    assert_eq!(header["typ"], "secevent+jwt");
    assert_eq!(c["iss"], format!("{PUBLIC}/tenants/acme"));
    assert_eq!(c["aud"], rs.id.as_str());
    assert!(c["jti"].is_string() && c["txn"].is_string() && c["iat"].is_i64());
    assert!(c.get("sub").is_none() && c.get("exp").is_none(), "{c}");
    assert_eq!(c["sub_id"]["format"], "complex");
    assert_eq!(c["sub_id"]["session"]["id"], m.session_id.as_str());
    assert_eq!(c["sub_id"]["user"]["format"], "iss_sub");
    let ev = &c["events"][CAEP];
    assert_eq!(ev["initiating_entity"], "admin");
    assert_eq!(ev["reason_admin"]["en"], "admin_revoked");
    assert!(ev["event_timestamp"].is_i64());

    // A 400 without an `err` code is retried like any failure...
    rx.script(&[400]);
    let m2 = member_session(&app).await;
    revoke(&app, &admin, &m2.session_id).await;
    app.svc.deliver_now().await.unwrap();
    app.clock.advance_secs(60);
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx.got().len(), 3);
    // ...but a receiver refusing a SET for good (RFC 8935 `err`) is not asked again.
    rx.script_json(
        400,
        json!({"err": "invalid_key", "description": "unknown kid"}),
    );
    let admin = app.login("acme", "admin@acme.test").await;
    let m3 = member_session(&app).await;
    revoke(&app, &admin, &m3.session_id).await;
    app.svc.deliver_now().await.unwrap();
    app.clock.advance_secs(3600);
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx.got().len(), 4);
    let id = sessiond::domain::EndpointId::parse(&stream).unwrap();
    let ds = app
        .svc
        .store()
        .read_blocking(move |rx| {
            rx.deliveries(
                sessiond::store::Ns::from(&crate::store_api::acme()),
                id,
                None,
                1,
            )
        })
        .unwrap();
    assert_eq!(ds[0].status, sessiond::domain::DeliveryStatus::Failed);
    assert!(
        ds[0].last_error.as_deref().unwrap().contains("invalid_key"),
        "{ds:?}"
    );
    let admin = app.login("acme", "admin@acme.test").await;

    // Another client of the tenant cannot see or delete the stream.
    let other = client(&app, "acme", &admin, json!({"name": "other"})).await;
    let path = format!("/v1/tenants/acme/ssf/stream?stream_id={stream}");
    call(&app, &other, Method::GET, &path, None)
        .await
        .assert_error(404, "not_found");
    let r = call(&app, &other, Method::DELETE, &path, None).await;
    r.assert_error(404, "not_found");
    let r = call(
        &app,
        &other,
        Method::GET,
        "/v1/tenants/acme/ssf/stream",
        None,
    )
    .await;
    assert_eq!(r.body, json!([]));
    let r = call(&app, &rs, Method::GET, &path, None).await;
    assert_eq!(r.body["stream_id"], stream.as_str());
}

#[tokio::test]
async fn poll_streams_ack_hold_and_verify() {
    let app = TestApp::with_config(config()).await;
    let admin = app.tenant_admin("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let rs = client(&app, "acme", &admin, json!({"name": "rs"})).await;
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["delivery"]["method"], "urn:ietf:rfc:8936");
    let stream = r.body["stream_id"].as_str().unwrap().to_owned();
    let poll_url = format!("/v1/tenants/acme/ssf/poll/{stream}");
    assert_eq!(
        r.body["delivery"]["endpoint_url"],
        format!("{PUBLIC}{poll_url}")
    );
    let poll = |body: Value| call(&app, &rs, Method::POST, &poll_url, Some(body));

    let (a, b) = (member_session(&app).await, member_session(&app).await);
    revoke(&app, &admin, &a.session_id).await;
    revoke(&app, &admin, &b.session_id).await;
    let r = poll(json!({"returnImmediately": true})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let sets = r.body["sets"].as_object().unwrap().clone();
    assert_eq!(sets.len(), 2, "{}", r.text);
    assert_eq!(r.body["moreAvailable"], false);
    let mut jtis: Vec<String> = Vec::new();
    for (jti, jwt) in &sets {
        let (_, c) = verified(&app, jwt.as_str().unwrap()).await;
        assert_eq!(&c["jti"], jti);
        jtis.push(jti.clone());
    }
    // Unacknowledged SETs come again; acknowledged and refused ones do not.
    let r = poll(json!({"returnImmediately": true, "maxEvents": 1})).await;
    assert_eq!(r.body["sets"].as_object().unwrap().len(), 1);
    assert_eq!(r.body["moreAvailable"], true);
    let r = poll(json!({"returnImmediately": true, "ack": [jtis[0]],
                        "setErrs": {jtis[1].clone(): {"err": "invalid_key", "description": "x"}}}))
    .await;
    assert_eq!(r.body["sets"], json!({}), "{}", r.text);

    // Paused: held; enabled: sent.
    let status = "/v1/tenants/acme/ssf/status";
    let r = call(
        &app,
        &rs,
        Method::POST,
        status,
        Some(json!({"stream_id": stream, "status": "paused", "reason": "maintenance"})),
    )
    .await;
    assert_eq!(r.body["status"], "paused", "{}", r.text);
    let c = member_session(&app).await;
    revoke(&app, &admin, &c.session_id).await;
    assert_eq!(
        poll(json!({"returnImmediately": true})).await.body["sets"],
        json!({})
    );
    let r = call(
        &app,
        &rs,
        Method::GET,
        &format!("{status}?stream_id={stream}"),
        None,
    )
    .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["reason"].as_str()),
        (Some("paused"), Some("maintenance"))
    );
    call(
        &app,
        &rs,
        Method::POST,
        status,
        Some(json!({"stream_id": stream, "status": "enabled"})),
    )
    .await;
    let r = poll(json!({"returnImmediately": true})).await;
    let held = r.body["sets"].as_object().unwrap();
    assert_eq!(held.len(), 1, "{}", r.text);
    let (_, claims) = verified(&app, held.values().next().unwrap().as_str().unwrap()).await;
    assert_eq!(claims["sub_id"]["session"]["id"], c.session_id.as_str());
    let ack: Vec<&String> = held.keys().collect();
    poll(json!({"returnImmediately": true, "ack": ack})).await;
    // Disabled: dropped, even once enabled again.
    call(
        &app,
        &rs,
        Method::POST,
        status,
        Some(json!({"stream_id": stream, "status": "disabled"})),
    )
    .await;
    let d = member_session(&app).await;
    revoke(&app, &admin, &d.session_id).await;
    call(
        &app,
        &rs,
        Method::POST,
        status,
        Some(json!({"stream_id": stream, "status": "enabled"})),
    )
    .await;
    assert_eq!(
        poll(json!({"returnImmediately": true})).await.body["sets"],
        json!({})
    );

    // Verification, at most once per min_verification_interval.
    let verify = "/v1/tenants/acme/ssf/verify";
    let r = call(
        &app,
        &rs,
        Method::POST,
        verify,
        Some(json!({"stream_id": stream, "state": "abc"})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let r = call(
        &app,
        &rs,
        Method::POST,
        verify,
        Some(json!({"stream_id": stream})),
    )
    .await;
    r.assert_error(429, "rate_limited");
    let r = poll(json!({"returnImmediately": true})).await;
    let sets = r.body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{}", r.text);
    let (_, v) = verified(&app, sets.values().next().unwrap().as_str().unwrap()).await;
    assert_eq!(v["events"][VERIFY]["state"], "abc");
    assert_eq!(v["sub_id"], json!({"format": "opaque", "id": stream}));
    let ack: Vec<&String> = sets.keys().collect();
    let r = poll(json!({"returnImmediately": true, "ack": ack})).await;
    assert_eq!(r.body["sets"], json!({}));

    // PATCH keeps what it does not name; iss and aud cannot change.
    let r = call(
        &app,
        &rs,
        Method::PATCH,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({"stream_id": stream, "description": "renamed"})),
    )
    .await;
    assert_eq!(r.body["description"], "renamed", "{}", r.text);
    assert_eq!(r.body["delivery"]["method"], "urn:ietf:rfc:8936");
    let r = call(
        &app,
        &rs,
        Method::PATCH,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({"stream_id": stream, "iss": "https://evil.example"})),
    )
    .await;
    r.assert_error(400, "validation_failed");
    for action in [
        "ssf_stream_created",
        "ssf_stream_updated",
        "ssf_stream_status_changed",
    ] {
        let r = app
            .get(
                &format!("/v1/tenants/acme/audit?action={action}"),
                Some(&admin.access),
            )
            .await;
        let items = r.body["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{action}: {}", r.text);
        assert_eq!(items[0]["details"]["client_id"], rs.id.as_str());
    }
}

#[tokio::test]
async fn receivers_are_service_clients_of_their_tenant_and_end_with_them() {
    let app = TestApp::with_config(config()).await;
    let admin = app.tenant_admin("acme").await;
    let globex = app.tenant_admin("globex").await;
    let rs = client(&app, "acme", &admin, json!({"name": "rs"})).await;
    let foreign = client(&app, "globex", &globex, json!({"name": "rs"})).await;
    let bad = Client {
        id: rs.id.clone(),
        secret: "wrong".into(),
    };
    for c in [&bad, &foreign] {
        call(
            &app,
            c,
            Method::POST,
            "/v1/tenants/acme/ssf/stream",
            Some(json!({})),
        )
        .await
        .assert_error(401, "invalid_client");
    }
    let r = app
        .post("/v1/tenants/acme/ssf/stream", None, json!({}))
        .await;
    r.assert_error(401, "invalid_client");
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({"delivery": {"method": "urn:example:carrier-pigeon"}})),
    )
    .await;
    r.assert_error(400, "validation_failed");
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "ftp://x"}})),
    )
    .await;
    r.assert_error(400, "validation_failed");
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({})),
    )
    .await;
    let stream = r.body["stream_id"].as_str().unwrap().to_owned();
    // Deleting the client ends its streams: access ends when authorization ends.
    let r = app
        .delete(
            &format!("/v1/tenants/acme/clients/{}", rs.id),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let left = app
        .svc
        .store()
        .read_blocking(|rx| rx.webhooks(sessiond::store::Ns::from(&crate::store_api::acme())))
        .unwrap();
    assert!(left.iter().all(|e| e.id.to_string() != stream), "{left:?}");
}

#[tokio::test]
async fn back_channel_logout_tokens_reach_registered_clients() {
    let app = TestApp::with_config(config()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let r = app
        .post(
            "/v1/tenants/acme/clients",
            Some(&admin.access),
            json!({"name": "web", "backchannel_logout_uri": "not a url"}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    let web = client(
        &app,
        "acme",
        &admin,
        json!({"name": "web", "backchannel_logout_uri": rx.url}),
    )
    .await;
    let r = app
        .get("/v1/tenants/acme/clients", Some(&admin.access))
        .await;
    assert_eq!(
        r.body["items"][0]["backchannel_logout_uri"],
        rx.url.as_str(),
        "{}",
        r.text
    );
    let m = member_session(&app).await;
    let r = app
        .post("/v1/auth/logout", Some(&m.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204);
    app.svc.deliver_now().await.unwrap();
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&got[0].body).unwrap();
    assert_eq!(form[0].0, "logout_token");
    let (header, c) = verified(&app, &form[0].1).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(c["aud"], web.id.as_str());
    assert_eq!(c["sid"], m.session_id.as_str());
    assert!(c["sub"].is_string() && c["jti"].is_string() && c["exp"].is_i64());
    assert_eq!(
        c["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert!(c.get("nonce").is_none());
    // A logout token is never an access token.
    let r = app.get("/v1/auth/me", Some(&form[0].1)).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
}
