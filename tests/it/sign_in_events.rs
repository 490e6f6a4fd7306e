//! Issue "End users' own sessions …" §4: each login is announced as
//! `session.created` to the webhooks and SSF streams that ask for it
//! (CAEP `session-established`), never to back-channel logout or the
//! revocations stream, and never for a support session.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::ssf::{call, client, config, verified};
use crate::support::receiver::Receiver;
use crate::support::{PASSWORD, TestApp, Tokens};

const ESTABLISHED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-established";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn webhook(app: &TestApp, admin: &Tokens, url: &str, events: Value) -> String {
    let r = app
        .post(
            "/v1/tenants/acme/webhooks",
            Some(&admin.access),
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn login_with_agent(app: &TestApp, email: &str) -> Tokens {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", CHROME)
        .body(Body::from(
            json!({"tenant": "acme", "email": email, "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    let r = app.call(req).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    Tokens::from_body(&r.body)
}

fn types(rx: &Receiver) -> Vec<String> {
    rx.got()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn logins_reach_the_endpoints_that_ask_for_them() {
    let app = TestApp::with_config(config()).await;
    let admin = app.tenant_admin("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let (both, plain, ssf, logout) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    webhook(
        &app,
        &admin,
        &both.url,
        json!(["session.created", "session.revoked"]),
    )
    .await;
    webhook(&app, &admin, &plain.url, json!([])).await;
    let r = app
        .post(
            "/v1/tenants/acme/webhooks",
            Some(&admin.access),
            json!({"url": plain.url, "events": ["session.started"]}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    let rs = client(&app, "acme", &admin, json!({"name": "rs"})).await;
    let r = call(
        &app,
        &rs,
        Method::POST,
        "/v1/tenants/acme/ssf/stream",
        Some(json!({
            "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": ssf.url},
            "events_requested": [ESTABLISHED],
        })),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["events_delivered"], json!([ESTABLISHED]));
    client(
        &app,
        "acme",
        &admin,
        json!({"name": "web", "backchannel_logout_uri": logout.url}),
    )
    .await;

    let m = login_with_agent(&app, "m@acme.test").await;
    app.svc.deliver_now().await.unwrap();
    assert_eq!(types(&both), ["session.created"]);
    let body = both.got()[0].json();
    assert_eq!(body["session_id"], json!(m.session_id));
    assert_eq!(body["user_agent"], json!(CHROME));
    assert_eq!(body["device"]["browser"], json!("Chrome 120.0"));
    assert!(body["created_at"].is_string(), "{body}");
    assert!(plain.got().is_empty(), "no filter: revocations only");
    assert!(logout.got().is_empty(), "a login is no logout");
    let sets = ssf.got();
    assert_eq!(sets.len(), 1);
    let (_, c) = verified(&app, std::str::from_utf8(&sets[0].body).unwrap()).await;
    assert!(c["events"][ESTABLISHED]["event_timestamp"].is_i64(), "{c}");
    assert_eq!(c["sub_id"]["session"]["id"], json!(m.session_id));

    // The end of it reaches the revocation subscribers; this stream asked only for starts.
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{}/revoke", m.session_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1);
    app.svc.deliver_now().await.unwrap();
    assert_eq!(types(&both), ["session.created", "session.revoked"]);
    assert_eq!(types(&plain), ["session.revoked"]);
    assert_eq!(logout.got().len(), 1);
    assert_eq!(ssf.got().len(), 1);

    // A support session is no user's sign-in.
    crate::own_sessions::support_session(&app, &admin).await;
    app.svc.deliver_now().await.unwrap();
    assert_eq!(types(&both), ["session.created", "session.revoked"]);
    assert_eq!(ssf.got().len(), 1);
}
