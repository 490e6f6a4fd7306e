//! Issue "End users' own sessions, and session limits per user": a user
//! lists and ends their own sessions (never anyone else's, never a support
//! session), and a tenant caps how many sessions one user holds.

use axum::http::Method;
use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::sessions::{ALICE, BOB, T, acme, assert_ok, assert_revoked, me};
use crate::support::{PASSWORD, ROOT_EMAIL, Resp, TestApp, Tokens};

async fn own(app: &TestApp, t: &Tokens, query: &str) -> Resp {
    app.get(&format!("/v1/auth/sessions?{query}"), Some(&t.access))
        .await
}

use crate::incident::sessions as ids;

/// A support session of the global admin in acme, granted by `admin`.
pub(crate) async fn support_session(app: &TestApp, admin: &Tokens) -> (Tokens, Tokens) {
    let root = app.platform_login().await;
    let r = app
        .post(
            &format!("/v1/tenants/{T}/support-grants"),
            Some(&admin.access),
            json!({"grantee_email": ROOT_EMAIL, "duration_secs": 3600, "reason": "ticket 4711"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = app
        .request(
            Method::POST,
            &format!("/v1/platform/tenants/{T}/support-sessions"),
            Some(&root.access),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    (root, Tokens::from_body(&r.body))
}

async fn end(app: &TestApp, t: &Tokens, sid: &str) -> Resp {
    app.request(
        Method::POST,
        &format!("/v1/auth/sessions/{sid}/revoke"),
        Some(&t.access),
        None,
    )
    .await
}

async fn set_limit(app: &TestApp, admin: &Tokens, max: i64, action: &str) {
    let r = app
        .put(
            &format!("/v1/tenants/{T}/policy"),
            Some(&admin.access),
            json!({"max_sessions_per_user": max, "session_limit_action": action}),
        )
        .await;
    assert_ok(&r);
    assert_eq!(r.body["max_sessions_per_user"], json!(max));
}

async fn login(app: &TestApp, email: &str) -> Resp {
    app.post(
        "/v1/auth/login",
        None,
        json!({"tenant": T, "email": email, "password": PASSWORD}),
    )
    .await
}

async fn audit(app: &TestApp, admin: &Tokens, action: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/tenants/{T}/audit?action={action}"),
            Some(&admin.access),
        )
        .await;
    assert_ok(&r);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_user_sees_and_ends_only_their_own_sessions() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let a1 = app.login(T, ALICE).await;
    app.clock.advance_secs(5);
    let a2 = app.login(T, ALICE).await;
    app.clock.advance_secs(5);
    let a3 = app.login(T, ALICE).await;
    let b = app.login(T, BOB).await;
    app.tenant("globex").await;
    app.user("globex", "gina@globex.test", Role::Member).await;
    let g = app.login("globex", "gina@globex.test").await;

    let r = own(&app, &a1, "").await;
    assert_ok(&r);
    let mut got = ids(&r);
    got.sort();
    let mut want = vec![
        a1.session_id.clone(),
        a2.session_id.clone(),
        a3.session_id.clone(),
    ];
    want.sort();
    assert_eq!(got, want, "only alice's: {}", r.text);
    assert_eq!(r.body["total"], json!(3));
    for s in r.body["items"].as_array().unwrap() {
        assert_eq!(s["current"], json!(s["id"] == json!(a1.session_id)), "{s}");
        assert_eq!(s["user"]["email"], json!(ALICE));
        assert!(s.get("device").is_some() && s.get("last_activity_at").is_some());
    }
    // Paged, most recently active first.
    let r = own(&app, &a1, "limit=2").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let c = r.body["next_cursor"].as_str().expect("more").to_owned();
    let r2 = own(&app, &a1, &format!("limit=2&cursor={c}")).await;
    assert_eq!(ids(&r2).len(), 1);
    own(&app, &a1, "status=gone")
        .await
        .assert_error(400, "validation_failed");
    own(&app, &a1, "cursor=nope")
        .await
        .assert_error(400, "validation_failed");

    // Nobody else's: not another user's, not another tenant's, not a made-up one.
    for sid in [
        b.session_id.as_str(),
        g.session_id.as_str(),
        "01890000-0000-7000-8000-000000000000",
    ] {
        end(&app, &a1, sid).await.assert_error(404, "not_found");
    }
    end(&app, &a1, "not-a-uuid")
        .await
        .assert_error(400, "validation_failed");
    assert_ok(&me(&app, &b.access).await);
    assert_ok(&me(&app, &g.access).await);

    // Another device: ended as user_revoked_other, audited with alice as actor.
    let r = end(&app, &a1, &a2.session_id).await;
    assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
    assert_revoked(&me(&app, &a2.access).await, "user_revoked_other");
    assert_ok(&me(&app, &a1.access).await);
    assert_eq!(
        end(&app, &a1, &a2.session_id).await.body,
        json!({"revoked": 0})
    );
    let e = audit(&app, &admin, "session_revoked").await;
    assert_eq!(e[0]["target"], json!(a2.session_id));
    assert_eq!(e[0]["actor"]["email"], json!(ALICE));
    assert_eq!(e[0]["reason"], json!("user_revoked_other"));

    // Every other device at once: the current one stays.
    let a4 = app.login(T, ALICE).await;
    let r = app
        .request(
            Method::POST,
            "/v1/auth/sessions/revoke-others",
            Some(&a4.access),
            None,
        )
        .await;
    assert_eq!(r.body, json!({"revoked": 2}), "{}", r.text);
    assert_revoked(&me(&app, &a1.access).await, "user_revoked_other");
    assert_revoked(&me(&app, &a3.access).await, "user_revoked_other");
    assert_ok(&me(&app, &a4.access).await);
    assert_ok(&me(&app, &b.access).await);
    let e = audit(&app, &admin, "other_sessions_revoked").await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["actor"]["email"], json!(ALICE));
    assert_eq!(e[0]["details"]["count"], json!(2));
    assert_eq!(e[0]["details"]["kept"], json!(a4.session_id));

    // Ending the current one is signing out.
    let r = end(&app, &a4, &a4.session_id).await;
    assert_eq!(r.body, json!({"revoked": 1}));
    assert_revoked(&me(&app, &a4.access).await, "user_logout");
    let r = own(&app, &a4, "").await;
    r.assert_error(401, "session_revoked");
}

#[tokio::test]
async fn support_sessions_are_neither_listed_nor_ended_by_the_user() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let (root, support) = support_session(&app, &admin).await;

    // The support session has no own list in the tenant …
    own(&app, &support, "").await.assert_error(403, "forbidden");
    // … and the global admin's own platform list does not show it.
    let r = own(&app, &root, "status=all").await;
    assert_ok(&r);
    assert_eq!(ids(&r), [root.session_id.as_str()], "{}", r.text);
    end(&app, &root, &support.session_id)
        .await
        .assert_error(404, "not_found");
    let r = app
        .request(
            Method::POST,
            "/v1/auth/sessions/revoke-others",
            Some(&root.access),
            None,
        )
        .await;
    assert_eq!(r.body, json!({"revoked": 0}));
    assert_ok(&me(&app, &support.access).await);
    // An org admin's own list is theirs only, support sessions aside.
    let r = own(&app, &admin, "").await;
    assert_eq!(ids(&r), [admin.session_id.as_str()]);
}

#[tokio::test]
async fn the_session_limit_evicts_the_least_recently_active() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    set_limit(&app, &admin, 2, "evict_oldest").await;
    let a1 = app.login(T, ALICE).await;
    app.clock.advance_secs(10);
    let a2 = app.login(T, ALICE).await;
    app.clock.advance_secs(10);
    // a1 is used again (a refresh is written at once): a2 is now the oldest.
    let r = app.refresh(&a1.refresh).await;
    assert_ok(&r);
    let a1 = Tokens::from_body(&r.body);
    // Refreshing never counts against the limit.
    let r = app.refresh(&a1.refresh).await;
    assert_ok(&r);
    let a1 = Tokens::from_body(&r.body);
    app.clock.advance_secs(10);
    let a3 = login(&app, ALICE).await;
    assert_ok(&a3);
    let a3 = Tokens::from_body(&a3.body);
    assert_revoked(&me(&app, &a2.access).await, "session_limit");
    assert_ok(&me(&app, &a1.access).await);
    assert_ok(&me(&app, &a3.access).await);
    let e = audit(&app, &admin, "session_revoked").await;
    assert_eq!(e[0]["target"], json!(a2.session_id));
    assert_eq!(e[0]["reason"], json!("session_limit"));
    let logins = audit(&app, &admin, "login").await;
    assert_eq!(logins[0]["details"]["evicted"], json!([a2.session_id]));
    // Other users are not touched; the admin is not either.
    let b = app.login(T, BOB).await;
    assert_ok(&me(&app, &b.access).await);
    assert_ok(&me(&app, &admin.access).await);

    // Lowering the limit leaves existing sessions alone until the next login.
    set_limit(&app, &admin, 1, "evict_oldest").await;
    assert_ok(&me(&app, &a1.access).await);
    let a4 = app.login(T, ALICE).await;
    assert_revoked(&me(&app, &a1.access).await, "session_limit");
    assert_revoked(&me(&app, &a3.access).await, "session_limit");
    assert_ok(&me(&app, &a4.access).await);
}

#[tokio::test]
async fn the_session_limit_can_refuse_and_racing_logins_never_exceed_it() {
    let app = TestApp::new().await;
    let (admin, [alice, ..]) = acme(&app).await;
    set_limit(&app, &admin, 3, "refuse").await;
    let first = app.login(T, ALICE).await;

    let tries = futures_util::future::join_all((0..8).map(|_| login(&app, ALICE))).await;
    let ok = tries.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(ok, 2, "3 in all, one was there");
    for r in tries.iter().filter(|r| r.status.as_u16() != 200) {
        r.assert_error(409, "session_limit_reached");
        assert_eq!(r.body["retryable"], json!(false));
        assert_eq!(r.body["limit"], json!(3));
    }
    let r = app
        .get(
            &format!("/v1/tenants/{T}/sessions?user_id={alice}"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.body["total"], json!(3), "{}", r.text);
    assert_ok(&me(&app, &first.access).await);
    let refused = audit(&app, &admin, "login_refused").await;
    assert_eq!(refused.len(), 6);
    assert_eq!(refused[0]["details"]["limit"], json!(3));
    assert_eq!(refused[0]["actor"]["email"], json!(ALICE));

    // Signing out of one makes room.
    let r = app
        .request(Method::POST, "/v1/auth/logout", Some(&first.access), None)
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert_ok(&login(&app, ALICE).await);

    // Racing logins with evict_oldest end with at most the limit active.
    set_limit(&app, &admin, 2, "evict_oldest").await;
    let tries = futures_util::future::join_all((0..6).map(|_| login(&app, ALICE))).await;
    assert!(tries.iter().all(|r| r.status.as_u16() == 200));
    let r = app
        .get(
            &format!("/v1/tenants/{T}/sessions?user_id={alice}"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.body["total"], json!(2), "{}", r.text);
}

#[tokio::test]
async fn the_limit_is_validated_and_unlimited_by_default() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let r = app
        .get(&format!("/v1/tenants/{T}/policy"), Some(&admin.access))
        .await;
    assert_eq!(r.body["max_sessions_per_user"], json!(0));
    assert_eq!(r.body["session_limit_action"], json!("evict_oldest"));
    for bad in [
        json!({"max_sessions_per_user": -1}),
        json!({"max_sessions_per_user": 1001}),
        json!({"session_limit_action": "kick"}),
    ] {
        let r = app
            .put(&format!("/v1/tenants/{T}/policy"), Some(&admin.access), bad)
            .await;
        r.assert_error(400, "validation_failed");
    }
    for _ in 0..12 {
        assert_ok(&login(&app, ALICE).await);
    }
}
