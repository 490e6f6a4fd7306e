//! SPEC §6 + §7 on the real binary: a grant that expires while the server is
//! down is ended at start-up.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::process::*;

const ADMIN_EMAIL: &str = "admin@acme.test";
const T: &str = "acme";

fn grant_expired_entries(s: &Server, admin: &str) -> Vec<Value> {
    let r = s.get(
        &format!("/v1/tenants/{T}/audit?action=grant_expired"),
        Some(admin),
    );
    r.assert_ok(200)["items"].as_array().expect("items").clone()
}

/// SPEC §6 + §7: a 3 s grant expires while the server is killed; after the
/// restart its support session is refused as `grant_expired` and the
/// tenant's and the platform's logs record `grant_expired` exactly once,
/// also across a further restart.
#[test]
fn grant_expired_during_downtime_is_ended_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let root = s.platform_login().access;
    s.post(
        "/v1/platform/tenants",
        Some(&root),
        json!({"slug": T, "name": "Acme",
               "first_admin": {"email": ADMIN_EMAIL, "display_name": "Acme Admin",
                               "password": USER_PASSWORD}}),
    )
    .assert_ok(201);
    let admin = s.login(T, ADMIN_EMAIL).access;
    let asked = Instant::now();
    let r = s.post(
        &format!("/v1/tenants/{T}/support-grants"),
        Some(&admin),
        json!({"grantee_email": ROOT_EMAIL, "duration_secs": 3, "reason": "ticket 4711"}),
    );
    let gid = r.assert_ok(201)["id"]
        .as_str()
        .expect("grant id")
        .to_owned();
    assert_eq!(r.body["status"], "active", "{}", r.text);
    let started = s.post(
        &format!("/v1/platform/tenants/{T}/support-sessions"),
        Some(&root),
        json!({}),
    );
    started.assert_ok(201);
    let field = |k: &str| started.body[k].as_str().expect(k).to_owned();
    let (support, support_refresh, support_sid) = (
        field("access_token"),
        field("refresh_token"),
        field("session_id"),
    );
    let me = s.get("/v1/auth/me", Some(&support));
    assert_eq!(
        me.assert_ok(200)["user"]["email"],
        ROOT_EMAIL,
        "{}",
        me.text
    );
    assert!(grant_expired_entries(&s, &admin).is_empty());

    s.kill9();
    // The grant ends at most 3 s after it was asked for.
    let until = asked + Duration::from_millis(3500);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));

    let s = Server::start(dir.path());
    // Refused from the first request on, whether or not the scheduler ran.
    s.get("/v1/auth/me", Some(&support))
        .assert_revoked("grant_expired");
    // The scheduler ends the grant shortly after the start.
    let deadline = Instant::now() + Duration::from_secs(3);
    let entries = loop {
        let e = grant_expired_entries(&s, &admin);
        if !e.is_empty() || Instant::now() > deadline {
            break e;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["target"], json!(gid), "{}", entries[0]);
    assert_eq!(entries[0]["reason"], "grant_expired", "{}", entries[0]);
    s.get("/v1/auth/me", Some(&support))
        .assert_revoked("grant_expired");
    s.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": support_refresh}),
    )
    .assert_revoked("grant_expired");
    let row = s.get(
        &format!("/v1/tenants/{T}/sessions/{support_sid}"),
        Some(&admin),
    );
    assert_eq!(row.assert_ok(200)["status"], "revoked", "{}", row.text);
    assert_eq!(row.body["revoked_reason"], "grant_expired", "{}", row.text);
    let grants = s.get(&format!("/v1/tenants/{T}/support-grants"), Some(&admin));
    let g = grants.assert_ok(200)["items"]
        .as_array()
        .expect("grants")
        .iter()
        .find(|g| g["id"] == json!(gid))
        .cloned()
        .expect("grant listed");
    assert_eq!(g["status"], "expired", "{g}");
    let platform = s.get("/v1/platform/audit?action=grant_expired", Some(&root));
    let hits: Vec<&Value> = platform.assert_ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["target"] == json!(gid))
        .collect();
    assert_eq!(hits.len(), 1, "{}", platform.text);

    // Another restart does not end it again.
    s.kill9();
    let s = Server::start(dir.path());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(grant_expired_entries(&s, &admin).len(), 1);
    s.get("/v1/auth/me", Some(&support))
        .assert_revoked("grant_expired");
    let verify = s.get(&format!("/v1/tenants/{T}/audit/verify"), Some(&admin));
    assert_eq!(verify.assert_ok(200)["ok"], true, "{}", verify.text);
}
