//! Signing-key rotation (SPEC §2 JWKS): next key published before it signs,
//! retired key kept until every token it signed has expired, then gone.

use serde_json::{Value, json};
use sessiond::config::Config;

use crate::support::{Resp, T0, TestApp};

fn kids(jwks: &Resp) -> Vec<String> {
    jwks.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

fn states(list: &Resp) -> Vec<(String, String)> {
    list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A tenant whose access tokens live as long as any policy allows (a day).
async fn long_lived_tenant(app: &TestApp) -> String {
    let admin = app.tenant_admin("acme").await;
    let policy = json!({
        "access_token_ttl_secs": 86_400, "idle_timeout_secs": 7_776_000,
        "absolute_timeout_secs": 31_536_000, "refresh_reuse_grace_secs": 0,
        "max_support_grant_secs": 28_800,
    });
    let r = app
        .put("/v1/tenants/acme/policy", Some(&admin.access), policy)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.login("acme", "admin@acme.test").await.access
}

#[tokio::test]
async fn rotation_prepublishes_then_signs_and_the_old_token_lives_until_its_kid_is_removed() {
    let app = TestApp::new().await;
    let old_token = long_lived_tenant(&app).await;
    let old_kid = kid_of(&old_token);
    assert_eq!(
        kids(&app.get("/.well-known/jwks.json", None).await),
        std::slice::from_ref(&old_kid)
    );

    let root = app.platform_login().await;
    // No body at all: the configured pre-publication window.
    let r = app
        .request(
            axum::http::Method::POST,
            "/v1/platform/keys/rotate",
            Some(&root.access),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["state"], "next");
    let new_kid = r.body["kid"].as_str().unwrap().to_owned();
    let activates = T0.plus_secs(3600).to_rfc3339();
    assert_eq!(r.body["activates_at"], activates.as_str());

    // Published before it signs: offline verifiers learn it first.
    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(kids(&jwks), [old_kid.clone(), new_kid.clone()]);
    let fresh = app.login("acme", "admin@acme.test").await.access;
    assert_eq!(
        kid_of(&fresh),
        old_kid,
        "the next key signed before its time"
    );
    let list = app.get("/v1/platform/keys", Some(&root.access)).await;
    assert_eq!(
        states(&list),
        [
            (old_kid.clone(), "current".into()),
            (new_kid.clone(), "next".into())
        ]
    );
    assert_eq!(list.body["items"][0]["retires_at"], activates.as_str());
    assert_eq!(list.body["next_cursor"], Value::Null);

    // One pending rotation at a time.
    app.post("/v1/platform/keys/rotate", Some(&root.access), json!({}))
        .await
        .assert_error(409, "conflict");

    app.clock.advance_secs(3600);
    let root = app.platform_login().await;
    let newer = app.login("acme", "admin@acme.test").await.access;
    assert_eq!(kid_of(&newer), new_kid, "the new key did not take over");
    let list = app.get("/v1/platform/keys", Some(&root.access)).await;
    assert_eq!(
        states(&list),
        [
            (old_kid.clone(), "retired".into()),
            (new_kid.clone(), "current".into())
        ]
    );
    let removed_at = list.body["items"][0]["removed_at"]
        .as_str()
        .unwrap()
        .to_owned();

    // The token signed before the rotation verifies until its exp...
    app.clock.set(T0.plus_secs(86_399));
    let me = app.get("/v1/auth/me", Some(&old_token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    // ...and once its key is removed, the kid is gone and the token is invalid.
    let removed = sessiond::domain::Timestamp::parse_rfc3339(&removed_at).unwrap();
    app.clock.set(removed);
    assert_eq!(
        kids(&app.get("/.well-known/jwks.json", None).await),
        std::slice::from_ref(&new_kid)
    );
    app.get("/v1/auth/me", Some(&old_token))
        .await
        .assert_error(401, "token_invalid");
    let root = app.platform_login().await;
    let list = app.get("/v1/platform/keys", Some(&root.access)).await;
    assert_eq!(states(&list), [(new_kid, "current".into())]);

    // Audited in the platform log, with who did it.
    let audit = app.get("/v1/platform/audit", Some(&root.access)).await;
    let rotated: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "signing_key_rotated")
        .collect();
    assert_eq!(rotated.len(), 1, "{}", audit.text);
    assert_eq!(rotated[0]["actor"]["kind"], "global_admin");
}

#[tokio::test]
async fn only_global_admins_see_or_rotate_keys() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin("acme").await;
    app.get("/v1/platform/keys", Some(&admin.access))
        .await
        .assert_error(403, "forbidden");
    app.post("/v1/platform/keys/rotate", Some(&admin.access), json!({}))
        .await
        .assert_error(403, "forbidden");
    app.post("/v1/platform/keys/rotate", None, json!({}))
        .await
        .assert_error(401, "token_missing");
    let root = app.platform_login().await;
    for bad in [
        json!({"activate_in_secs": -1}),
        json!({"activate_in_secs": "soon"}),
        json!({"x": 1}),
    ] {
        app.post("/v1/platform/keys/rotate", Some(&root.access), bad)
            .await
            .assert_error(400, "validation_failed");
    }
    // Nothing was rotated by the refused calls.
    let list = app.get("/v1/platform/keys", Some(&root.access)).await;
    assert_eq!(states(&list).len(), 1, "{}", list.text);
}

#[tokio::test]
async fn an_immediate_rotation_signs_at_once_and_old_tokens_still_verify() {
    let app = TestApp::new().await;
    let before = app.tenant_admin("acme").await.access;
    let root = app.platform_login().await;
    let r = app
        .post(
            "/v1/platform/keys/rotate",
            Some(&root.access),
            json!({"activate_in_secs": 0}),
        )
        .await;
    assert_eq!(r.body["state"], "current", "{}", r.text);
    let after = app.login("acme", "admin@acme.test").await.access;
    assert_eq!(kid_of(&after), r.body["kid"].as_str().unwrap());
    assert_eq!(app.get("/v1/auth/me", Some(&before)).await.status, 200);
}

#[tokio::test]
async fn automatic_rotation_schedules_the_successor_one_window_ahead() {
    let config = Config {
        key_rotation_days: Some(7),
        key_prepublish_secs: 600,
        ..Config::default()
    };
    let app = TestApp::with_config(config).await;
    assert!(!app.svc.rotate_keys_if_due().await.unwrap());
    app.clock.advance_secs(7 * 86_400 - 601);
    assert!(!app.svc.rotate_keys_if_due().await.unwrap());
    app.clock.advance_secs(1);
    assert!(app.svc.rotate_keys_if_due().await.unwrap());
    // Pending: not again.
    assert!(!app.svc.rotate_keys_if_due().await.unwrap());
    let keys = app.svc.list_keys().await.unwrap().items;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].activates_at, T0.plus_secs(7 * 86_400));

    let root = app.platform_login().await;
    let audit = app.get("/v1/platform/audit", Some(&root.access)).await;
    let e = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "signing_key_rotated")
        .expect("audited");
    assert_eq!(e["actor"]["kind"], "system");
}

#[tokio::test]
async fn a_rotation_survives_a_restart() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let r = app
        .post("/v1/platform/keys/rotate", Some(&root.access), json!({}))
        .await;
    let kid = r.body["kid"].as_str().unwrap().to_owned();
    let ring = app.svc.list_keys().await.unwrap().items;
    assert_eq!(ring.len(), 2);
    // A second service over the same store reads the same ring.
    let again = sessiond::service::Service::start(
        app.svc.store().clone(),
        std::sync::Arc::new(app.clock.clone()),
        Config::default(),
    )
    .await
    .unwrap();
    let keys = again.list_keys().await.unwrap().items;
    assert_eq!(keys[1].kid, kid);
    assert_eq!(again.keys().jwks(T0)["keys"].as_array().unwrap().len(), 2);
}
