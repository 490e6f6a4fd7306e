//! Revocation events: the outbox, webhooks and their delivery, the live stream.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{KeyInit, Mac};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sessiond::config::Config;
use sessiond::domain::Role;

use crate::support::receiver::{Received, Receiver};
use crate::support::{ROOT_EMAIL, TestApp, Tokens};

fn allow_loopback() -> Config {
    Config {
        webhook_allow_hosts: vec!["127.0.0.1".into()],
        ..Config::default()
    }
}

/// What a receiver does: HMAC-SHA256 over `id.timestamp.body` with the
/// base64 key after `whsec_`, compared with each `v1,` signature.
fn signed_by(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(r.header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(r.header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    let want = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.header("webhook-signature").split(' ').any(|s| s == want)
}

async fn create_webhook(app: &TestApp, t: &str, admin: &Tokens, url: &str) -> (String, String) {
    let r = app
        .post(
            &format!("/v1/tenants/{t}/webhooks"),
            Some(&admin.access),
            json!({"url": url, "description": "deny-list"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["url"], url);
    assert_eq!(r.body["enabled"], true);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (r.body["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, t: &str, admin: &Tokens, id: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/tenants/{t}/webhooks/{id}/deliveries"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

async fn revoke(app: &TestApp, t: &str, admin: &Tokens, sid: &str) {
    let r = app
        .post(
            &format!("/v1/tenants/{t}/sessions/{sid}/revoke"),
            Some(&admin.access),
            json!({"reason": "lost laptop"}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
}

#[tokio::test]
async fn every_revocation_path_yields_exactly_one_signed_delivery() {
    let app = TestApp::with_config(allow_loopback()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    let (hook, secret) = create_webhook(&app, "acme", &admin, &rx.url).await;
    // The same events reach an SSF push stream and a back-channel logout URI.
    let (sets, logouts) = (Receiver::start().await, Receiver::start().await);
    let rs = app
        .post(
            "/v1/tenants/acme/clients",
            Some(&admin.access),
            json!({"name": "rs", "backchannel_logout_uri": logouts.url}),
        )
        .await;
    let cred = STANDARD.encode(format!(
        "{}:{}",
        rs.body["client_id"].as_str().unwrap(),
        rs.body["client_secret"].as_str().unwrap()
    ));
    let stream = Request::builder()
        .method(Method::POST)
        .uri("/v1/tenants/acme/ssf/stream")
        .header("authorization", format!("Basic {cred}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": sets.url}})
                .to_string(),
        ))
        .unwrap();
    assert_eq!(app.call(stream).await.status.as_u16(), 201);
    let mut want: HashMap<String, &str> = HashMap::new();
    let user = |n: &str| format!("{n}@acme.test");
    let mut uids = HashMap::new();
    for n in [
        "logout", "byadmin", "bulk", "force", "disable", "password", "reuse", "rfc",
    ] {
        uids.insert(n, app.user("acme", &user(n), Role::Member).await);
    }
    let t = app.login("acme", &user("logout")).await;
    let r = app
        .post("/v1/auth/logout", Some(&t.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    want.insert(t.session_id, "user_logout");

    let t = app.login("acme", &user("byadmin")).await;
    revoke(&app, "acme", &admin, &t.session_id).await;
    // A second revoke changes nothing, so it adds no event.
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{}/revoke", t.session_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 0, "{}", r.text);
    want.insert(t.session_id, "admin_revoked");

    let (a, b) = (
        app.login("acme", &user("bulk")).await,
        app.login("acme", &user("bulk")).await,
    );
    let r = app
        .post(
            "/v1/tenants/acme/sessions/revoke",
            Some(&admin.access),
            json!({"session_ids": [a.session_id, b.session_id], "reason": "incident 7"}),
        )
        .await;
    assert_eq!(r.body["revoked"], 2, "{}", r.text);
    want.insert(a.session_id, "bulk_revoked");
    want.insert(b.session_id, "bulk_revoked");

    let (a, b) = (
        app.login("acme", &user("force")).await,
        app.login("acme", &user("force")).await,
    );
    let r = app
        .post(
            &format!("/v1/tenants/acme/users/{}/revoke-sessions", uids["force"]),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 2, "{}", r.text);
    want.insert(a.session_id, "user_sessions_revoked");
    want.insert(b.session_id, "user_sessions_revoked");

    let t = app.login("acme", &user("disable")).await;
    let r = app
        .patch(
            &format!("/v1/tenants/acme/users/{}", uids["disable"]),
            Some(&admin.access),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    want.insert(t.session_id, "user_disabled");

    let t = app.login("acme", &user("password")).await;
    let r = app
        .post(
            &format!("/v1/tenants/acme/users/{}/password", uids["password"]),
            Some(&admin.access),
            json!({"password": "a new long passphrase"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    want.insert(t.session_id, "password_changed");

    let t = app.login("acme", &user("reuse")).await;
    assert_eq!(app.refresh(&t.refresh).await.status.as_u16(), 200);
    assert_eq!(app.refresh(&t.refresh).await.code(), "refresh_token_reused");
    want.insert(t.session_id, "refresh_token_reuse");

    let t = app.login("acme", &user("rfc")).await;
    let r = app
        .post_form("/v1/oauth/revoke", None, &format!("token={}", t.refresh))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    want.insert(t.session_id, "user_logout");

    // Support sessions: the grant revoked, and another grant expiring.
    let root = app.platform_login().await;
    let grant = |secs: i64| json!({"grantee_email": ROOT_EMAIL, "duration_secs": secs, "reason": "please look at ticket 4711"});
    let g = app
        .post(
            "/v1/tenants/acme/support-grants",
            Some(&admin.access),
            grant(900),
        )
        .await;
    assert_eq!(g.status.as_u16(), 201, "{}", g.text);
    let start = || {
        app.request(
            Method::POST,
            "/v1/platform/tenants/acme/support-sessions",
            Some(&root.access),
            None,
        )
    };
    let s = start().await;
    assert_eq!(s.status.as_u16(), 201, "{}", s.text);
    let gid = g.body["id"].as_str().unwrap();
    let r = app
        .request(
            Method::POST,
            &format!("/v1/tenants/acme/support-grants/{gid}/revoke"),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    want.insert(Tokens::from_body(&s.body).session_id, "grant_revoked");
    let g = app
        .post(
            "/v1/tenants/acme/support-grants",
            Some(&admin.access),
            grant(60),
        )
        .await;
    assert_eq!(g.status.as_u16(), 201, "{}", g.text);
    let s = start().await;
    assert_eq!(s.status.as_u16(), 201, "{}", s.text);
    app.clock.advance_secs(61);
    app.svc.expire_grants().await.unwrap();
    want.insert(Tokens::from_body(&s.body).session_id, "grant_expired");

    app.svc.deliver_now().await.unwrap();
    let got = rx.got();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut seqs = Vec::new();
    for r in &got {
        assert!(
            signed_by(&secret, r),
            "bad signature on {}",
            r.header("webhook-id")
        );
        assert_eq!(r.header("content-type"), "application/json");
        let b = r.json();
        assert_eq!(b["type"], "session.revoked");
        assert_eq!(b["tenant"], "acme");
        assert_eq!(b["id"], r.header("webhook-id"));
        assert!(
            b["user_id"].is_string() && b["revoked_at"].is_string(),
            "{b}"
        );
        seqs.push(b["seq"].as_u64().unwrap());
        let prev = seen.insert(
            b["session_id"].as_str().unwrap().to_owned(),
            b["reason"].as_str().unwrap().to_owned(),
        );
        assert!(prev.is_none(), "two events for one session: {b}");
    }
    let want: HashMap<String, String> = want.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
    assert_eq!(seen, want);
    // Monotonic per tenant, delivered in order (the gaps are logins'
    // `session.created`, which this hook did not ask for).
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds.len(), got.len());
    assert!(
        ds.iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1),
        "{ds:?}"
    );
    // One SET and one logout token per ended session, too.
    let claims = |jwt: &[u8]| -> Value {
        let jwt = std::str::from_utf8(jwt).unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let caep = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    let mut by_set: Vec<String> = sets
        .got()
        .iter()
        .map(|r| {
            let c = claims(&r.body);
            assert!(c["events"][caep].is_object(), "{c}");
            c["sub_id"]["session"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let mut by_logout: Vec<String> = logouts
        .got()
        .iter()
        .map(|r| {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&r.body).unwrap();
            claims(form[0].1.as_bytes())["sid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut sids: Vec<String> = seen.keys().cloned().collect();
    sids.sort();
    by_set.sort();
    by_logout.sort();
    assert_eq!(by_set, sids);
    assert_eq!(by_logout, sids);
    // Nothing is sent twice.
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx.got().len(), got.len());
    assert_eq!(sets.got().len(), sids.len());
    assert_eq!(logouts.got().len(), sids.len());
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_retry_with_the_same_id() {
    let app = TestApp::with_config(allow_loopback()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    let (hook, secret) = create_webhook(&app, "acme", &admin, &rx.url).await;
    rx.script(&[500]);
    let email = "m@acme.test";
    app.user("acme", email, Role::Member).await;
    let t = app.login("acme", email).await;
    revoke(&app, "acme", &admin, &t.session_id).await;
    app.svc.deliver_now().await.unwrap();
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds[0]["status"], "pending", "{ds:?}");
    assert_eq!(ds[0]["attempts"], 1);
    assert_eq!(ds[0]["last_status"], 500);
    assert!(ds[0]["next_attempt_at"].is_string());
    // Not due yet: nothing is sent.
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx.got().len(), 1);
    app.clock.advance_secs(10);
    app.svc.deliver_now().await.unwrap();
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert!(signed_by(&secret, &got[1]));
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(
        (ds[0]["status"].as_str(), ds[0]["attempts"].as_u64()),
        (Some("delivered"), Some(2))
    );
}

#[tokio::test]
async fn deliveries_fail_after_a_day_and_a_redelivery_starts_over() {
    let app = TestApp::with_config(allow_loopback()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    let (hook, _) = create_webhook(&app, "acme", &admin, &rx.url).await;
    rx.script(&[503; 40]);
    app.user("acme", "m@acme.test", Role::Member).await;
    let t = app.login("acme", "m@acme.test").await;
    revoke(&app, "acme", &admin, &t.session_id).await;
    for _ in 0..30 {
        app.svc.deliver_now().await.unwrap();
        app.clock.advance_secs(3600);
    }
    // A day later: the admin signs in again.
    let admin = app.login("acme", "admin@acme.test").await;
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds[0]["status"], "failed", "{ds:?}");
    assert!(ds[0]["next_attempt_at"].is_null());
    let attempts = rx.got().len();
    assert!(attempts > 5, "{attempts}");
    let r = app
        .get(
            "/v1/tenants/acme/audit?action=webhook_delivery_failed",
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );

    let seq = ds[0]["seq"].as_u64().unwrap();
    // The receiver is fixed (a new URL); an admin sends the event again.
    let rx2 = Receiver::start().await;
    let r = app
        .patch(
            &format!("/v1/tenants/acme/webhooks/{hook}"),
            Some(&admin.access),
            json!({"url": rx2.url}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = app
        .post(
            &format!("/v1/tenants/acme/webhooks/{hook}/deliveries/{seq}/redeliver"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.text);
    assert_eq!(r.body["status"], "pending");
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx2.got().len(), 1);
    assert_eq!(rx2.got()[0].json()["session_id"], t.session_id.as_str());
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds[0]["status"], "delivered", "{ds:?}");
    let r = app
        .get(
            "/v1/tenants/acme/audit?action=webhook_redelivered",
            Some(&admin.access),
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_hanging_receiver_holds_up_only_its_own_queue() {
    let app = TestApp::with_config(allow_loopback()).await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.hang();
    let acme = app.tenant_admin("acme").await;
    let globex = app.tenant_admin("globex").await;
    create_webhook(&app, "acme", &acme, &slow.url).await;
    create_webhook(&app, "globex", &globex, &fast.url).await;
    app.user("acme", "a@acme.test", Role::Member).await;
    app.user("globex", "g@globex.test", Role::Member).await;
    let a = app.login("acme", "a@acme.test").await;
    revoke(&app, "acme", &acme, &a.session_id).await;
    let started = app.svc.deliver_round().await.unwrap();
    slow.wait_for(1).await;
    // acme's receiver is hanging now: globex's events still flow, and
    // revocations still answer.
    let g = app.login("globex", "g@globex.test").await;
    revoke(&app, "globex", &globex, &g.session_id).await;
    let b = app.login("acme", "a@acme.test").await;
    revoke(&app, "acme", &acme, &b.session_id).await;
    let more = app.svc.deliver_round().await.unwrap();
    let got = fast.wait_for(1).await;
    assert_eq!(got[0].json()["session_id"], g.session_id.as_str());
    // acme's queue is busy: its second event waits, not a second request.
    assert_eq!(slow.got().len(), 1);
    for t in started.into_iter().chain(more) {
        t.abort();
    }
}

#[tokio::test]
async fn private_targets_are_refused_at_send_time_and_urls_are_checked() {
    let app = TestApp::new().await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    for bad in [
        "ftp://example.org/x",
        "https://u:p@example.org/",
        "not a url",
    ] {
        let r = app
            .post(
                "/v1/tenants/acme/webhooks",
                Some(&admin.access),
                json!({"url": bad}),
            )
            .await;
        r.assert_error(400, "validation_failed");
    }
    let r = app
        .post(
            "/v1/tenants/acme/webhooks",
            Some(&admin.access),
            json!({"url": rx.url, "events": ["session.exploded"]}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    // Loopback is not allowed here (no --webhook-allow-hosts).
    let (hook, _) = create_webhook(&app, "acme", &admin, &rx.url).await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let t = app.login("acme", "m@acme.test").await;
    revoke(&app, "acme", &admin, &t.session_id).await;
    app.svc.deliver_now().await.unwrap();
    assert!(rx.got().is_empty());
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds[0]["status"], "pending");
    let err = ds[0]["last_error"].as_str().unwrap();
    assert!(err.contains("non-public address 127.0.0.1"), "{err}");
}

#[tokio::test]
async fn webhooks_are_the_org_admins_of_their_own_tenant() {
    let app = TestApp::with_config(allow_loopback()).await;
    let rx = Receiver::start().await;
    let acme = app.tenant_admin("acme").await;
    let globex = app.tenant_admin("globex").await;
    let (hook, _) = create_webhook(&app, "acme", &acme, &rx.url).await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let member = app.login("acme", "m@acme.test").await;
    let r = app
        .get("/v1/tenants/acme/webhooks", Some(&member.access))
        .await;
    r.assert_error(403, "forbidden");
    let r = app
        .get("/v1/tenants/acme/webhooks", Some(&globex.access))
        .await;
    assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.text);
    for path in [
        format!("/v1/tenants/globex/webhooks/{hook}"),
        format!("/v1/tenants/globex/webhooks/{hook}/deliveries"),
    ] {
        app.get(&path, Some(&globex.access))
            .await
            .assert_error(404, "not_found");
    }
    let r = app
        .delete(
            &format!("/v1/tenants/globex/webhooks/{hook}"),
            Some(&globex.access),
        )
        .await;
    r.assert_error(404, "not_found");
    // The list never shows the secret again.
    let r = app
        .get("/v1/tenants/acme/webhooks", Some(&acme.access))
        .await;
    assert_eq!(r.body["items"][0]["id"], hook.as_str());
    assert!(r.body["items"][0].get("secret").is_none(), "{}", r.text);
    // Disabled: nothing is sent; deleted: gone, with its deliveries.
    let r = app
        .patch(
            &format!("/v1/tenants/acme/webhooks/{hook}"),
            Some(&acme.access),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(r.body["enabled"], false, "{}", r.text);
    revoke(&app, "acme", &acme, &member.session_id).await;
    app.svc.deliver_now().await.unwrap();
    assert!(rx.got().is_empty());
    let r = app
        .delete(
            &format!("/v1/tenants/acme/webhooks/{hook}"),
            Some(&acme.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let r = app
        .get(
            &format!("/v1/tenants/acme/webhooks/{hook}"),
            Some(&acme.access),
        )
        .await;
    r.assert_error(404, "not_found");
    for action in ["webhook_created", "webhook_updated", "webhook_deleted"] {
        let r = app
            .get(
                &format!("/v1/tenants/acme/audit?action={action}"),
                Some(&acme.access),
            )
            .await;
        assert_eq!(
            r.body["items"].as_array().map(Vec::len),
            Some(1),
            "{action}: {}",
            r.text
        );
    }
}

struct Client {
    id: String,
    secret: String,
}

async fn service_client(app: &TestApp, t: &str, admin: &Tokens) -> Client {
    let r = app
        .post(
            &format!("/v1/tenants/{t}/clients"),
            Some(&admin.access),
            json!({"name": "rs"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    Client {
        id: r.body["client_id"].as_str().unwrap().to_owned(),
        secret: r.body["client_secret"].as_str().unwrap().to_owned(),
    }
}

fn stream_request(t: &str, c: &Client, last: Option<&str>) -> Request<Body> {
    let cred = STANDARD.encode(format!("{}:{}", c.id, c.secret));
    let mut b = Request::builder()
        .method(Method::GET)
        .uri(format!("/v1/tenants/{t}/revocations/stream"))
        .header("authorization", format!("Basic {cred}"));
    if let Some(l) = last {
        b = b.header("last-event-id", l);
    }
    b.body(Body::empty()).unwrap()
}

/// The SSE events read from `body` until `n` have come: (id, data).
async fn read_events(body: &mut Body, n: usize) -> Vec<(u64, Value)> {
    let mut text = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(30), body.frame())
            .await
            .expect("an event within 30 s")
            .expect("the stream is open")
            .unwrap();
        if let Some(d) = frame.data_ref() {
            text.push_str(std::str::from_utf8(d).unwrap());
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut id, mut data) = (None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ").or(line.strip_prefix("id:")) {
                    id = v.trim().parse().ok();
                }
                if let Some(v) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
                    data = serde_json::from_str(v).ok();
                }
            }
            if let (Some(id), Some(data)) = (id, data) {
                out.push((id, data));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_live_stream_sends_revocations_and_resumes_from_last_event_id() {
    use tower::ServiceExt;
    let app = TestApp::new().await;
    let acme = app.tenant_admin("acme").await;
    let globex = app.tenant_admin("globex").await;
    let client = service_client(&app, "acme", &acme).await;
    let other = service_client(&app, "globex", &globex).await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let (a, b) = (
        app.login("acme", "m@acme.test").await,
        app.login("acme", "m@acme.test").await,
    );
    // Wrong or foreign credentials: 401, never a stream.
    let bad = Client {
        id: client.id.clone(),
        secret: "nope".into(),
    };
    for (t, c) in [("acme", &bad), ("acme", &other), ("globex", &client)] {
        let r = app.call(stream_request(t, c, None)).await;
        r.assert_error(401, "invalid_client");
    }
    let res = app
        .router
        .clone()
        .oneshot(stream_request("acme", &client, None))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = res.into_body();
    revoke(&app, "acme", &acme, &a.session_id).await;
    let first = read_events(&mut body, 1).await;
    assert_eq!(first[0].1["session_id"], a.session_id.as_str());
    assert_eq!(first[0].1["reason"], "admin_revoked");
    assert_eq!(first[0].1["seq"], first[0].0);
    drop(body);
    // Missed while disconnected, then resumed without a gap.
    revoke(&app, "acme", &acme, &b.session_id).await;
    let g = app.login("globex", "admin@globex.test").await;
    revoke(&app, "globex", &globex, &g.session_id).await;
    let last = first[0].0.to_string();
    let res = app
        .router
        .clone()
        .oneshot(stream_request("acme", &client, Some(&last)))
        .await
        .unwrap();
    let mut body = res.into_body();
    let next = read_events(&mut body, 1).await;
    assert_eq!(next[0].0, first[0].0 + 1);
    assert_eq!(next[0].1["session_id"], b.session_id.as_str());
    // From the start of the outbox: both, in order.
    let res = app
        .router
        .clone()
        .oneshot(stream_request("acme", &client, Some("0")))
        .await
        .unwrap();
    let mut body = res.into_body();
    let all = read_events(&mut body, 2).await;
    assert_eq!(
        all.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![first[0].0, next[0].0]
    );
    let r = app.call(stream_request("acme", &client, Some("x"))).await;
    r.assert_error(400, "validation_failed");
}

#[tokio::test]
async fn the_outbox_keeps_a_week_and_takes_finished_deliveries_with_it() {
    let app = TestApp::with_config(allow_loopback()).await;
    let rx = Receiver::start().await;
    let admin = app.tenant_admin("acme").await;
    let (hook, _) = create_webhook(&app, "acme", &admin, &rx.url).await;
    app.user("acme", "m@acme.test", Role::Member).await;
    for _ in 0..2 {
        let t = app.login("acme", "m@acme.test").await;
        revoke(&app, "acme", &admin, &t.session_id).await;
    }
    app.svc.deliver_now().await.unwrap();
    assert_eq!(rx.got().len(), 2);
    assert_eq!(
        app.svc.prune_outbox().await.unwrap(),
        0,
        "nothing is a week old"
    );
    app.clock.advance_secs(8 * 86_400);
    // The newest event stays (it carries the seq on); the older ones go
    // (two logins' `session.created` too, and the admin's), with the
    // finished delivery.
    assert_eq!(app.svc.prune_outbox().await.unwrap(), 4);
    let admin = app.login("acme", "admin@acme.test").await;
    let ds = deliveries(&app, "acme", &admin, &hook).await;
    assert_eq!(ds.len(), 1, "{ds:?}");
    let t = app.login("acme", "m@acme.test").await;
    revoke(&app, "acme", &admin, &t.session_id).await;
    app.svc.deliver_now().await.unwrap();
    let seqs: Vec<u64> = rx
        .got()
        .iter()
        .map(|r| r.json()["seq"].as_u64().unwrap())
        .collect();
    // Two logins came in between: seqs go on, never restart.
    assert_eq!(
        seqs[2],
        seqs[1] + 3,
        "seqs continue after pruning: {seqs:?}"
    );
}
