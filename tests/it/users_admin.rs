//! Issue "Admin session management", users part (SPEC §5): list, show,
//! create, patch (name, role, disabled), set password, and the revocations
//! they imply; the last active org admin is protected.

use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::sessions::{ALICE, BOB, T, assert_ok, assert_revoked, ids, items, me, show};
use crate::support::{PASSWORD, Resp, TestApp, Tokens};

const NEW_PASSWORD: &str = "a brand new passphrase";
const ADMIN: &str = "admin@acme.test";

fn users_path() -> String {
    format!("/v1/tenants/{T}/users")
}

fn user_path(uid: &str) -> String {
    format!("/v1/tenants/{T}/users/{uid}")
}

async fn login_with(app: &TestApp, email: &str, password: &str) -> Resp {
    app.post(
        "/v1/auth/login",
        None,
        json!({"tenant": T, "email": email, "password": password}),
    )
    .await
}

async fn patch(app: &TestApp, admin: &Tokens, uid: &str, body: Value) -> Resp {
    app.patch(&user_path(uid), Some(&admin.access), body).await
}

async fn set_password(app: &TestApp, admin: &Tokens, uid: &str, password: &str) -> Resp {
    app.post(
        &format!("{}/password", user_path(uid)),
        Some(&admin.access),
        json!({"password": password}),
    )
    .await
}

async fn create(app: &TestApp, admin: &Tokens, email: &str, name: &str, role: &str) -> Resp {
    app.post(
        &users_path(),
        Some(&admin.access),
        json!({"email": email, "display_name": name, "role": role, "password": PASSWORD}),
    )
    .await
}

async fn my_id(app: &TestApp, t: &Tokens) -> String {
    let r = me(app, &t.access).await;
    assert_ok(&r);
    r.body["user"]["id"].as_str().expect("id").to_owned()
}

/// Every user, following `next_cursor`.
async fn all_users(app: &TestApp, admin: &Tokens, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("{}?limit={limit}{query}", users_path());
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&path, Some(&admin.access)).await;
        assert_ok(&r);
        let rows = r.body["items"].as_array().cloned().expect("items");
        assert!(rows.len() <= limit);
        out.extend(rows.iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(rows.len(), limit, "non-final page must be full");
                cursor = Some(c.to_owned());
            }
            None => {
                assert!(r.body["next_cursor"].is_null(), "{}", r.text);
                return out;
            }
        }
    }
    panic!("user pagination did not end");
}

#[tokio::test]
async fn create_show_and_list_users_in_creation_order() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let admin_id = my_id(&app, &admin).await;
    let mut created = vec![admin_id.clone()];
    for i in 0..11 {
        let r = create(
            &app,
            &admin,
            &format!("User{i:02}@Acme.Test"),
            &format!("User Number {i}"),
            "member",
        )
        .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        let b = &r.body;
        assert_eq!(
            b["email"],
            json!(format!("user{i:02}@acme.test")),
            "emails are normalised"
        );
        assert_eq!(b["display_name"], json!(format!("User Number {i}")));
        assert_eq!(b["role"], json!("member"));
        assert_eq!(b["disabled"], json!(false));
        assert!(
            b.get("password").is_none() && b.get("password_hash").is_none(),
            "{}",
            r.text
        );
        assert!(!r.text.contains(PASSWORD));
        created.push(b["id"].as_str().expect("id").to_owned());
    }
    // Creation order across pages of 5: 12 users → 5, 5, 2.
    let rows = all_users(&app, &admin, "", 5).await;
    assert_eq!(ids(&rows), created);
    let rows = all_users(&app, &admin, "", 200).await;
    assert_eq!(ids(&rows), created);
    // Default limit 50.
    let r = app.get(&users_path(), Some(&admin.access)).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(12));
    assert!(r.body["next_cursor"].is_null());

    let r = app.get(&user_path(&created[3]), Some(&admin.access)).await;
    assert_ok(&r);
    assert_eq!(r.body, rows[3]);
    assert_eq!(r.body["email"], json!("user02@acme.test"));

    app.get(
        &user_path("01890000-0000-7000-8000-000000000000"),
        Some(&admin.access),
    )
    .await
    .assert_error(404, "not_found");
    app.get(&user_path("not-a-uuid"), Some(&admin.access))
        .await
        .assert_error(400, "validation_failed");

    // A created user can sign in.
    assert_ok(&login_with(&app, "user05@acme.test", PASSWORD).await);
}

#[tokio::test]
async fn user_search_matches_email_or_display_name_case_insensitively() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let zq = create(&app, &admin, "zq@acme.test", "Zoë Quartermaine", "member")
        .await
        .body["id"]
        .clone();
    let other = create(&app, &admin, "quartz@other.test", "Q", "member")
        .await
        .body["id"]
        .clone();
    create(&app, &admin, "plain@acme.test", "Plain", "member").await;
    let q = |query: &'static str| {
        let app = &app;
        let admin = &admin;
        async move { ids(&all_users(app, admin, &format!("&q={query}"), 50).await) }
    };
    assert_eq!(q("QUARTERMAINE").await, [zq.as_str().expect("id")]);
    assert_eq!(q("ZO%C3%8B").await, [zq.as_str().expect("id")]);
    assert_eq!(q("ZQ%40").await, [zq.as_str().expect("id")]);
    assert_eq!(
        q("QUART").await,
        [zq.as_str().expect("id"), other.as_str().expect("id")]
    );
    assert!(q("nobody").await.is_empty());
    assert_eq!(q("acme.test").await.len(), 3, "admin, zq, plain");
    // Search results paginate too.
    let rows = all_users(&app, &admin, "&q=acme.test", 1).await;
    assert_eq!(rows.len(), 3);
}

#[tokio::test]
async fn creating_users_validates_and_refuses_duplicates() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    assert_eq!(
        create(&app, &admin, "dup@acme.test", "Dup", "member")
            .await
            .status
            .as_u16(),
        201
    );
    create(&app, &admin, "DUP@acme.test", "Dup again", "member")
        .await
        .assert_error(409, "conflict");
    create(&app, &admin, ADMIN, "Dup admin", "org_admin")
        .await
        .assert_error(409, "conflict");
    let r = create(&app, &admin, "boss@acme.test", "Boss", "global_admin").await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("role").is_some(), "{}", r.text);
    for (body, field) in [
        (
            json!({"email": "x@acme.test", "display_name": "X", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "not-an-email", "display_name": "X", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "x@acme.test", "display_name": "", "password": PASSWORD}),
            "display_name",
        ),
        (
            json!({"email": "x@acme.test", "password": PASSWORD}),
            "display_name",
        ),
    ] {
        let r = app
            .post(&users_path(), Some(&admin.access), body.clone())
            .await;
        r.assert_error(400, "validation_failed");
        assert!(r.body["details"].get(field).is_some(), "{body}: {}", r.text);
        assert!(!r.text.contains(PASSWORD), "password echoed: {}", r.text);
    }
    // Role defaults to member; an org_admin can be created.
    let r = app
        .post(
            &users_path(),
            Some(&admin.access),
            json!({"email": "m@acme.test", "display_name": "M", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["role"], json!("member"), "{}", r.text);
    let r = create(
        &app,
        &admin,
        "second-admin@acme.test",
        "Second",
        "org_admin",
    )
    .await;
    assert_eq!(r.body["role"], json!("org_admin"));
    let second = app.login(T, "second-admin@acme.test").await;
    assert_ok(&app.get(&users_path(), Some(&second.access)).await);
}

#[tokio::test]
async fn patch_changes_name_and_role_at_once() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let bob = app.user(T, BOB, Role::Member).await;
    let b = app.login(T, BOB).await;
    app.get(&users_path(), Some(&b.access))
        .await
        .assert_error(403, "forbidden");

    let r = patch(&app, &admin, &bob, json!({"display_name": "  Robert  "})).await;
    assert_ok(&r);
    assert_eq!(r.body["display_name"], json!("Robert"));
    assert_eq!(r.body["role"], json!("member"));
    // The session listing shows the new name.
    let rows = items(&app, &admin, &format!("user_id={bob}")).await;
    assert_eq!(rows[0]["user"]["display_name"], json!("Robert"));

    // Promotion takes effect on the existing session, so does demotion.
    let r = patch(&app, &admin, &bob, json!({"role": "org_admin"})).await;
    assert_eq!(r.body["role"], json!("org_admin"), "{}", r.text);
    assert_ok(&app.get(&users_path(), Some(&b.access)).await);
    let r = patch(&app, &admin, &bob, json!({"role": "member"})).await;
    assert_eq!(r.body["role"], json!("member"));
    app.get(&users_path(), Some(&b.access))
        .await
        .assert_error(403, "forbidden");
    // A role change does not sign anyone out.
    assert_ok(&me(&app, &b.access).await);
    assert_eq!(
        app.get(&user_path(&bob), Some(&admin.access)).await.body["display_name"],
        json!("Robert")
    );

    for (body, field) in [
        (json!({}), "body"),
        (json!({"role": "global_admin"}), "role"),
        (json!({"role": "emperor"}), "role"),
        (json!({"display_name": ""}), "display_name"),
        (json!({"display_name": "x".repeat(201)}), "display_name"),
        (json!({"disabled": "yes"}), "disabled"),
    ] {
        let r = patch(&app, &admin, &bob, body.clone()).await;
        r.assert_error(400, "validation_failed");
        assert!(r.body["details"].get(field).is_some(), "{body}: {}", r.text);
    }
    patch(
        &app,
        &admin,
        "01890000-0000-7000-8000-000000000000",
        json!({"display_name": "X"}),
    )
    .await
    .assert_error(404, "not_found");
    patch(&app, &admin, "not-a-uuid", json!({"display_name": "X"}))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn disabling_revokes_sessions_and_blocks_login_until_reenabled() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let alice = app.user(T, ALICE, Role::Member).await;
    let a1 = app.login(T, ALICE).await;
    let a2 = app.login(T, ALICE).await;
    let b = {
        app.user(T, BOB, Role::Member).await;
        app.login(T, BOB).await
    };

    let r = patch(&app, &admin, &alice, json!({"disabled": true})).await;
    assert_ok(&r);
    assert_eq!(r.body["disabled"], json!(true));
    for t in [&a1, &a2] {
        assert_revoked(&me(&app, &t.access).await, "user_disabled");
        let rr = app.refresh(&t.refresh).await;
        rr.assert_error(401, "session_revoked");
        let row = show(&app, &admin, &t.session_id).await.body;
        assert_eq!(row["status"], json!("revoked"));
        assert_eq!(row["revoked_reason"], json!("user_disabled"));
    }
    assert_ok(&me(&app, &b.access).await);
    login_with(&app, ALICE, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    // Same answer as a wrong password.
    let wrong = login_with(&app, ALICE, "definitely wrong").await;
    wrong.assert_error(401, "invalid_credentials");
    // Disabling again changes nothing.
    assert_eq!(
        patch(&app, &admin, &alice, json!({"disabled": true}))
            .await
            .body["disabled"],
        json!(true)
    );

    let r = patch(&app, &admin, &alice, json!({"disabled": false})).await;
    assert_eq!(r.body["disabled"], json!(false));
    let a3 = app.login(T, ALICE).await;
    assert_ok(&me(&app, &a3.access).await);
    // Old sessions stay revoked.
    assert_revoked(&me(&app, &a1.access).await, "user_disabled");
    app.refresh(&a2.refresh)
        .await
        .assert_error(401, "session_revoked");
}

#[tokio::test]
async fn password_change_revokes_the_users_other_sessions() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let bob = app.user(T, BOB, Role::Member).await;
    let b1 = app.login(T, BOB).await;
    let b2 = app.login(T, BOB).await;
    let a = {
        app.user(T, ALICE, Role::Member).await;
        app.login(T, ALICE).await
    };

    let r = set_password(&app, &admin, &bob, NEW_PASSWORD).await;
    assert_ok(&r);
    assert_eq!(r.body, json!({"sessions_revoked": 2}));
    assert!(!r.text.contains(NEW_PASSWORD));
    for t in [&b1, &b2] {
        assert_revoked(&me(&app, &t.access).await, "password_changed");
        app.refresh(&t.refresh)
            .await
            .assert_error(401, "session_revoked");
        assert_eq!(
            show(&app, &admin, &t.session_id).await.body["revoked_reason"],
            json!("password_changed")
        );
    }
    assert_ok(&me(&app, &a.access).await);
    login_with(&app, BOB, PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    let r = login_with(&app, BOB, NEW_PASSWORD).await;
    assert_ok(&r);
    let b3 = Tokens::from_body(&r.body);
    assert_ok(&me(&app, &b3.access).await);
    // Setting it again revokes the new session.
    assert_eq!(
        set_password(&app, &admin, &bob, PASSWORD).await.body,
        json!({"sessions_revoked": 1})
    );

    let r = set_password(&app, &admin, &bob, "short").await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("password").is_some(), "{}", r.text);
    let r = app
        .post(
            &format!("{}/password", user_path(&bob)),
            Some(&admin.access),
            json!({}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    set_password(
        &app,
        &admin,
        "01890000-0000-7000-8000-000000000000",
        NEW_PASSWORD,
    )
    .await
    .assert_error(404, "not_found");
    set_password(&app, &admin, "not-a-uuid", NEW_PASSWORD)
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn an_admin_changing_their_own_password_keeps_the_current_session() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let admin_id = my_id(&app, &admin).await;
    let other = app.login(T, ADMIN).await;
    let r = set_password(&app, &admin, &admin_id, NEW_PASSWORD).await;
    assert_eq!(r.body, json!({"sessions_revoked": 1}), "{}", r.text);
    assert_ok(&me(&app, &admin.access).await);
    assert_ok(&app.get(&users_path(), Some(&admin.access)).await);
    assert_revoked(&me(&app, &other.access).await, "password_changed");
    // The surviving session still refreshes.
    let rr = app.refresh(&admin.refresh).await;
    assert_ok(&rr);
    assert_ok(&me(&app, &Tokens::from_body(&rr.body).access).await);
    assert_ok(&login_with(&app, ADMIN, NEW_PASSWORD).await);
}

#[tokio::test]
async fn the_last_active_org_admin_cannot_be_demoted_or_disabled() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let admin_id = my_id(&app, &admin).await;
    patch(&app, &admin, &admin_id, json!({"role": "member"}))
        .await
        .assert_error(409, "conflict");
    patch(&app, &admin, &admin_id, json!({"disabled": true}))
        .await
        .assert_error(409, "conflict");
    patch(
        &app,
        &admin,
        &admin_id,
        json!({"role": "member", "display_name": "Still Admin"}),
    )
    .await
    .assert_error(409, "conflict");
    // Nothing changed, the admin's session is alive.
    let r = app.get(&user_path(&admin_id), Some(&admin.access)).await;
    assert_eq!(r.body["role"], json!("org_admin"));
    assert_eq!(r.body["disabled"], json!(false));
    assert_eq!(r.body["display_name"], json!("Admin of acme"));
    // Renaming alone is fine.
    assert_ok(&patch(&app, &admin, &admin_id, json!({"display_name": "Chief"})).await);

    // A disabled org admin does not count as another active admin.
    let carol = create(&app, &admin, "carol@acme.test", "Carol", "org_admin")
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_ok(&patch(&app, &admin, &carol, json!({"disabled": true})).await);
    patch(&app, &admin, &admin_id, json!({"role": "member"}))
        .await
        .assert_error(409, "conflict");

    // With a second active admin, the first can step down...
    let bob = create(&app, &admin, BOB, "Bob", "member").await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_ok(&patch(&app, &admin, &bob, json!({"role": "org_admin"})).await);
    let r = patch(&app, &admin, &admin_id, json!({"role": "member"})).await;
    assert_eq!(r.body["role"], json!("member"), "{}", r.text);
    app.get(&users_path(), Some(&admin.access))
        .await
        .assert_error(403, "forbidden");
    // ...and then bob is the last one.
    let b = app.login(T, BOB).await;
    patch(&app, &b, &bob, json!({"disabled": true}))
        .await
        .assert_error(409, "conflict");
    patch(&app, &b, &bob, json!({"role": "member"}))
        .await
        .assert_error(409, "conflict");
    assert_ok(&me(&app, &b.access).await);
}

#[tokio::test]
async fn malformed_user_list_parameters_are_400() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let r = app
            .get(&format!("{}?{query}", users_path()), Some(&admin.access))
            .await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"].get(field).is_some(),
            "{query}: {}",
            r.text
        );
    }
    let r = app
        .get(
            &format!("{}?q={}", users_path(), "x".repeat(201)),
            Some(&admin.access),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert_ok(
        &app.get(&format!("{}?limit=1", users_path()), Some(&admin.access))
            .await,
    );
    assert_ok(
        &app.get(&format!("{}?limit=200", users_path()), Some(&admin.access))
            .await,
    );
    // An empty cursor is the first page, as clients that template `cursor=` expect.
    let first = app.get(&users_path(), Some(&admin.access)).await;
    let empty = app
        .get(&format!("{}?cursor=", users_path()), Some(&admin.access))
        .await;
    assert_ok(&empty);
    assert_eq!(empty.body["items"], first.body["items"]);
}

#[tokio::test]
async fn unknown_fields_are_named_in_details() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let bob = app.user(T, BOB, Role::Member).await;
    let body =
        json!({"email": "x@acme.test", "display_name": "X", "password": PASSWORD, "admin": true});
    let r = app.post(&users_path(), Some(&admin.access), body).await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("admin").is_some(), "{}", r.text);
    let r = patch(&app, &admin, &bob, json!({"email": "new@acme.test"})).await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("email").is_some(), "{}", r.text);
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::new().await;
    let first = app.tenant_admin(T).await;
    let first_id = my_id(&app, &first).await;
    let second_id = app.user(T, BOB, Role::OrgAdmin).await;
    let second = app.login(T, BOB).await;
    let (r1, r2) = tokio::join!(
        patch(&app, &first, &second_id, json!({"role": "member"})),
        patch(&app, &second, &first_id, json!({"disabled": true})),
    );
    let oks = [&r1, &r2]
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .count();
    assert_eq!(oks, 1, "exactly one may succeed: {} / {}", r1.text, r2.text);
    let loser = if r1.status.as_u16() == 200 { &r2 } else { &r1 };
    // The loser lost its admin rights first (403) or hit the last-admin rule (409).
    assert!(
        matches!(loser.status.as_u16(), 403 | 409 | 401),
        "{}",
        loser.text
    );
    let users = app
        .get(
            &users_path(),
            Some(if r1.status.as_u16() == 200 {
                &first.access
            } else {
                &second.access
            }),
        )
        .await;
    assert_ok(&users);
    let active_admins = users.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|u| u["role"] == json!("org_admin") && u["disabled"] == json!(false))
        .count();
    assert_eq!(active_admins, 1, "{}", users.text);
}
