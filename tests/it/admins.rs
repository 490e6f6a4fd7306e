//! Global admins: list (paginated), create, disable/enable, set a password;
//! the last enabled one cannot be disabled; every change is audited and
//! ends the affected admin's sessions — support sessions included.

use serde_json::{Value, json};

use crate::support::{PASSWORD, ROOT_EMAIL, Resp, TestApp, Tokens};

const SECOND: &str = "second@platform.test";
const SECOND_PW: &str = "a second admin's passphrase";

async fn create_second(app: &TestApp, root: &Tokens) -> String {
    let r = app
        .post(
            "/v1/platform/admins",
            Some(&root.access),
            json!({"email": SECOND, "display_name": "Second", "password": SECOND_PW}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["role"], "global_admin");
    assert!(r.body.get("password_hash").is_none() && !r.text.contains(SECOND_PW));
    r.body["id"].as_str().unwrap().to_owned()
}

async fn login_as(app: &TestApp, email: &str, password: &str) -> Resp {
    app.post(
        "/v1/platform/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

fn actions(audit: &Resp) -> Vec<String> {
    audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn root_id(app: &TestApp, token: &str) -> String {
    let me = app.get("/v1/auth/me", Some(token)).await;
    me.body["user"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn create_list_and_page_through_global_admins() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    create_second(&app, &root).await;
    let second = Tokens::from_body(&login_as(&app, SECOND, SECOND_PW).await.body);
    assert_eq!(root_id(&app, &second.access).await.len(), 36);

    let page = app
        .get("/v1/platform/admins?limit=1", Some(&root.access))
        .await;
    assert_eq!(
        page.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        page.text
    );
    assert_eq!(page.body["items"][0]["email"], ROOT_EMAIL);
    let cursor = page.body["next_cursor"].as_str().expect("a next page");
    let page = app
        .get(
            &format!("/v1/platform/admins?limit=1&cursor={cursor}"),
            Some(&root.access),
        )
        .await;
    assert_eq!(page.body["items"][0]["email"], SECOND);
    assert_eq!(page.body["next_cursor"], Value::Null);

    // Duplicates, weak and common passwords, bad emails are refused.
    let post = |body: Value| app.post("/v1/platform/admins", Some(&root.access), body);
    post(json!({"email": SECOND, "password": SECOND_PW}))
        .await
        .assert_error(409, "conflict");
    for (body, field) in [
        (
            json!({"email": "x@platform.test", "password": "eleven char"}),
            "password",
        ),
        (
            json!({"email": "x@platform.test", "password": "password1234"}),
            "password",
        ),
        (
            json!({"email": "not an email", "password": SECOND_PW}),
            "email",
        ),
        (
            json!({"email": "x@platform.test", "password": SECOND_PW, "role": "member"}),
            "role",
        ),
    ] {
        let r = post(body).await;
        r.assert_error(400, "validation_failed");
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let audit = app.get("/v1/platform/audit", Some(&root.access)).await;
    assert_eq!(
        actions(&audit)
            .iter()
            .filter(|a| *a == "global_admin_created")
            .count(),
        2,
        "bootstrap and the second: {}",
        audit.text
    );
}

#[tokio::test]
async fn tenant_users_cannot_touch_global_admins() {
    let app = TestApp::new().await;
    let org_admin = app.tenant_admin("acme").await;
    let root = app.platform_login().await;
    let id = root_id(&app, &root.access).await;
    for r in [
        app.get("/v1/platform/admins", Some(&org_admin.access))
            .await,
        app.post(
            "/v1/platform/admins",
            Some(&org_admin.access),
            json!({"email": "evil@x.test", "password": SECOND_PW}),
        )
        .await,
        app.post(
            &format!("/v1/platform/admins/{id}/disable"),
            Some(&org_admin.access),
            json!({}),
        )
        .await,
        app.post(
            &format!("/v1/platform/admins/{id}/password"),
            Some(&org_admin.access),
            json!({"password": SECOND_PW}),
        )
        .await,
    ] {
        r.assert_error(403, "forbidden");
    }
    assert_eq!(login_as(&app, ROOT_EMAIL, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_disabled_and_disabling_ends_every_session() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let rid = root_id(&app, &root.access).await;
    app.post(
        &format!("/v1/platform/admins/{rid}/disable"),
        Some(&root.access),
        json!({}),
    )
    .await
    .assert_error(409, "conflict");

    let sid = create_second(&app, &root).await;
    let second = Tokens::from_body(&login_as(&app, SECOND, SECOND_PW).await.body);
    // The second admin holds a support session in acme.
    let acme = app.tenant_admin("acme").await;
    let g = app
        .post(
            "/v1/tenants/acme/support-grants",
            Some(&acme.access),
            json!({"grantee_email": SECOND, "duration_secs": 3600, "reason": "ticket 1"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    let support = app
        .post(
            "/v1/platform/tenants/acme/support-sessions",
            Some(&second.access),
            json!({}),
        )
        .await;
    assert_eq!(support.status, 201, "{}", support.text);
    let support = Tokens::from_body(&support.body);
    assert_eq!(
        app.get("/v1/tenants/acme/sessions", Some(&support.access))
            .await
            .status,
        200
    );

    let r = app
        .post(
            &format!("/v1/platform/admins/{sid}/disable"),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["disabled"], true);
    let own = app.get("/v1/auth/me", Some(&second.access)).await;
    own.assert_error(401, "session_revoked");
    assert_eq!(own.body["revoked_reason"], "user_disabled");
    let sup = app
        .get("/v1/tenants/acme/sessions", Some(&support.access))
        .await;
    sup.assert_error(401, "session_revoked");
    assert_eq!(sup.body["revoked_reason"], "grant_revoked");
    login_as(&app, SECOND, SECOND_PW)
        .await
        .assert_error(401, "invalid_credentials");
    // The second admin is now disabled: root is the last enabled one.
    app.post(
        &format!("/v1/platform/admins/{rid}/disable"),
        Some(&root.access),
        json!({}),
    )
    .await
    .assert_error(409, "conflict");

    let r = app
        .post(
            &format!("/v1/platform/admins/{sid}/enable"),
            Some(&root.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["disabled"], false, "{}", r.text);
    assert_eq!(login_as(&app, SECOND, SECOND_PW).await.status, 200);

    let audit = app.get("/v1/platform/audit", Some(&root.access)).await;
    let a = actions(&audit);
    for want in [
        "global_admin_disabled",
        "global_admin_enabled",
        "grant_revoked",
    ] {
        assert!(a.iter().any(|x| x == want), "{want} missing: {a:?}");
    }
    // The tenant's own log records that its grant ended.
    let tenant_audit = app.get("/v1/tenants/acme/audit", Some(&acme.access)).await;
    assert!(actions(&tenant_audit).iter().any(|x| x == "grant_revoked"));
}

#[tokio::test]
async fn setting_an_admins_password_signs_them_out_everywhere() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let sid = create_second(&app, &root).await;
    let second = Tokens::from_body(&login_as(&app, SECOND, SECOND_PW).await.body);
    let path = format!("/v1/platform/admins/{sid}/password");
    app.post(&path, Some(&root.access), json!({"password": "short"}))
        .await
        .assert_error(400, "validation_failed");
    let r = app
        .post(
            &path,
            Some(&root.access),
            json!({"password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let me = app.get("/v1/auth/me", Some(&second.access)).await;
    me.assert_error(401, "session_revoked");
    assert_eq!(me.body["revoked_reason"], "password_changed");
    app.refresh(&second.refresh)
        .await
        .assert_error(401, "session_revoked");
    login_as(&app, SECOND, SECOND_PW)
        .await
        .assert_error(401, "invalid_credentials");
    assert_eq!(
        login_as(&app, SECOND, "a brand new passphrase")
            .await
            .status,
        200
    );
    // Root's own session is untouched.
    assert_eq!(app.get("/v1/auth/me", Some(&root.access)).await.status, 200);
    app.post(
        "/v1/platform/admins/not-a-uuid/password",
        Some(&root.access),
        json!({"password": "a brand new passphrase"}),
    )
    .await
    .assert_error(400, "validation_failed");
    app.post(
        "/v1/platform/admins/00000000-0000-7000-8000-000000000000/password",
        Some(&root.access),
        json!({"password": "a brand new passphrase"}),
    )
    .await
    .assert_error(404, "not_found");
    let audit = app.get("/v1/platform/audit", Some(&root.access)).await;
    assert!(
        actions(&audit)
            .iter()
            .any(|a| a == "global_admin_password_reset")
    );
}
