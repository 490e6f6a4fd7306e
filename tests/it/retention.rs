//! Retention: sessions that ended more than the retention period ago are
//! deleted with their refresh chains; recent ones stay; history stays in the audit log.

use serde_json::json;
use sessiond::domain::Role;

use crate::support::TestApp;

const DAY: i64 = 86_400;

#[tokio::test]
async fn sessions_past_retention_are_purged_with_their_refresh_chains() {
    let app = TestApp::new().await;
    let admin_email = app.tenant("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let admin = app.login("acme", &admin_email).await;

    // An old session with a refresh chain of three generations, revoked.
    let old = app.login("acme", "m@acme.test").await;
    let mut refresh = old.refresh.clone();
    for _ in 0..2 {
        let r = app.refresh(&refresh).await;
        assert_eq!(r.status, 200, "{}", r.text);
        refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    }
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{}/revoke", old.session_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1);
    // An old session never revoked: it idles out.
    let idle = app.login("acme", "m@acme.test").await;

    // Two days later: a session revoked then is still within retention at day 31.
    app.clock.advance_secs(2 * DAY);
    let recent = app.login("acme", "m@acme.test").await;
    let admin2 = app.login("acme", &admin_email).await;
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{}/revoke", recent.session_id),
            Some(&admin2.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1);

    app.clock.advance_secs(29 * DAY);
    let purged = app.svc.purge_ended_sessions().await.unwrap();
    // `old`, `idle` and the first admin session ended 31 days ago; the admin's second
    // session idled out 29 days ago and stays, as does `recent`.
    assert_eq!(purged, 3);
    assert_eq!(
        app.svc.purge_ended_sessions().await.unwrap(),
        0,
        "idempotent"
    );

    let admin3 = app.login("acme", &admin_email).await;
    for gone in [&old.session_id, &idle.session_id, &admin.session_id] {
        app.get(
            &format!("/v1/tenants/acme/sessions/{gone}"),
            Some(&admin3.access),
        )
        .await
        .assert_error(404, "not_found");
    }
    let kept = app
        .get(
            &format!("/v1/tenants/acme/sessions/{}", recent.session_id),
            Some(&admin3.access),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.body["status"], "revoked");

    // The whole chain is gone: the newest and a used refresh token are unknown now.
    app.refresh(&refresh)
        .await
        .assert_error(401, "refresh_token_invalid");
    app.refresh(&old.refresh)
        .await
        .assert_error(401, "refresh_token_invalid");

    let all = app
        .get(
            "/v1/tenants/acme/sessions?status=all&limit=200",
            Some(&admin3.access),
        )
        .await;
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(!ids.contains(&old.session_id.as_str()));
    assert!(ids.contains(&recent.session_id.as_str()));
    assert!(ids.contains(&admin2.session_id.as_str()));

    // History survives in the audit log, and the chain still verifies.
    let audit = app
        .get(
            "/v1/tenants/acme/audit?action=sessions_purged",
            Some(&admin3.access),
        )
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["details"]["count"], 3);
    assert_eq!(entries[0]["actor"]["kind"], "system");
    let v = app
        .get("/v1/tenants/acme/audit/verify", Some(&admin3.access))
        .await;
    assert_eq!(v.body["ok"], true, "{}", v.text);
    let logins = app
        .get(
            "/v1/tenants/acme/audit?action=session_revoked",
            Some(&admin3.access),
        )
        .await;
    assert!(
        logins.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"] == old.session_id.as_str())
    );
}
