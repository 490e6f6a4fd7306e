//! SPEC §4 RFC 7662 introspection by a tenant's service clients (§5).

use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::support::{Resp, TestApp, Tokens};
use crate::tokens::jwt_claims;

const MEMBER: &str = "m@acme.test";
fn inactive() -> Value {
    json!({"active": false})
}

struct Client {
    id: String,
    secret: String,
}

impl Client {
    fn basic(&self) -> Option<(&str, &str)> {
        Some((self.id.as_str(), self.secret.as_str()))
    }
}

async fn create_client(app: &TestApp, slug: &str, admin: &Tokens, name: &str) -> Client {
    let r = app
        .post(
            &format!("/v1/tenants/{slug}/clients"),
            Some(&admin.access),
            json!({"name": name}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["name"], name);
    Client {
        id: r.body["client_id"].as_str().expect("client_id").to_owned(),
        secret: r.body["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
    }
}

async fn introspect(app: &TestApp, client: &Client, token: &str) -> Resp {
    app.post_form(
        "/v1/oauth/introspect",
        client.basic(),
        &format!("token={token}"),
    )
    .await
}

/// Tenant `acme` with a member signed in and a service client; returns
/// (admin, member tokens, member id, client).
async fn setup(app: &TestApp) -> (Tokens, Tokens, String, Client) {
    let admin = app.tenant_admin("acme").await;
    let uid = app.user("acme", MEMBER, Role::Member).await;
    let member = app.login("acme", MEMBER).await;
    let client = create_client(app, "acme", &admin, "api").await;
    (admin, member, uid, client)
}

#[tokio::test]
async fn client_secret_is_shown_once_and_never_listed() {
    let app = TestApp::new().await;
    let (admin, _, _, client) = setup(&app).await;
    assert!(
        client.secret.len() >= 32,
        "secret too short: {}",
        client.secret.len()
    );
    let r = app
        .get("/v1/tenants/acme/clients", Some(&admin.access))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["client_id"], json!(client.id));
    assert_eq!(items[0]["name"], "api");
    assert!(items[0].get("client_secret").is_none());
    assert!(
        !r.text.contains(&client.secret),
        "secret listed: {}",
        r.text
    );
    assert_eq!(r.body["next_cursor"], Value::Null);

    // Two clients get different credentials.
    let other = create_client(&app, "acme", &admin, "worker").await;
    assert_ne!(other.id, client.id);
    assert_ne!(other.secret, client.secret);

    let r = app
        .post(
            "/v1/tenants/acme/clients",
            Some(&admin.access),
            json!({"name": ""}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("name").is_some(), "{}", r.text);
}

#[tokio::test]
async fn only_the_tenants_admins_manage_clients() {
    let app = TestApp::new().await;
    let (_, member, _, client) = setup(&app).await;
    let other_admin = app.tenant_admin("globex").await;
    let root = app.platform_login().await;
    for t in [&member, &other_admin, &root] {
        app.post(
            "/v1/tenants/acme/clients",
            Some(&t.access),
            json!({"name": "x"}),
        )
        .await
        .assert_error(403, "forbidden");
        app.get("/v1/tenants/acme/clients", Some(&t.access))
            .await
            .assert_error(403, "forbidden");
        app.delete(
            &format!("/v1/tenants/acme/clients/{}", client.id),
            Some(&t.access),
        )
        .await
        .assert_error(403, "forbidden");
    }
    // Another tenant's admin naming the client under its own tenant: not found.
    let r = app
        .delete(
            &format!("/v1/tenants/globex/clients/{}", client.id),
            Some(&other_admin.access),
        )
        .await;
    r.assert_error(404, "not_found");
    // The client survived all of it.
    assert_eq!(
        introspect(&app, &client, &member.access).await.body["active"],
        json!(true)
    );
}

#[tokio::test]
async fn active_access_token_is_described() {
    let app = TestApp::new().await;
    let (_, member, uid, client) = setup(&app).await;
    let r = introspect(&app, &client, &member.access).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let c = jwt_claims(&member.access);
    let b = &r.body;
    assert_eq!(b["active"], json!(true));
    assert_eq!(b["sub"], json!(uid));
    assert_eq!(b["tid"], "acme");
    assert_eq!(b["sid"], json!(member.session_id));
    assert_eq!(b["exp"], c["exp"]);
    assert_eq!(b["iat"], c["iat"]);
    assert_eq!(b["token_type"], "Bearer");
}

#[tokio::test]
async fn bad_client_credentials_are_invalid_client() {
    let app = TestApp::new().await;
    let (admin, member, _, client) = setup(&app).await;
    let token = format!("token={}", member.access);
    let wrong_secret = app
        .post_form(
            "/v1/oauth/introspect",
            Some((&client.id, "wrong-secret")),
            &token,
        )
        .await;
    let no_auth = app.post_form("/v1/oauth/introspect", None, &token).await;
    let unknown_id = app
        .post_form(
            "/v1/oauth/introspect",
            Some(("01900000-0000-7000-8000-000000000000", &client.secret)),
            &token,
        )
        .await;
    let junk_id = app
        .post_form(
            "/v1/oauth/introspect",
            Some(("not-an-id", &client.secret)),
            &token,
        )
        .await;
    let empty_secret = app
        .post_form("/v1/oauth/introspect", Some((&client.id, "")), &token)
        .await;
    // A user's own bearer token is not a client credential.
    let bearer = {
        use axum::body::Body;
        use axum::http::{Method, Request};
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/oauth/introspect")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Bearer {}", admin.access))
            .body(Body::from(token.clone()))
            .expect("request");
        app.call(req).await
    };
    for (what, r) in [
        ("wrong secret", wrong_secret),
        ("no auth", no_auth),
        ("unknown id", unknown_id),
        ("junk id", junk_id),
        ("empty secret", empty_secret),
        ("bearer", bearer),
    ] {
        assert_eq!(r.status.as_u16(), 401, "{what}: {}", r.text);
        assert_eq!(r.code(), "invalid_client", "{what}: {}", r.text);
        assert!(r.body.get("active").is_none(), "{what}: leaked token state");
        assert_eq!(
            r.header("www-authenticate"),
            Some(r#"Basic realm="sessiond", charset="UTF-8""#),
            "{what}"
        );
    }
}

#[tokio::test]
async fn another_tenants_token_is_exactly_inactive() {
    let app = TestApp::new().await;
    let (_, member, _, acme_client) = setup(&app).await;
    let globex_admin = app.tenant_admin("globex").await;
    let globex_client = create_client(&app, "globex", &globex_admin, "api").await;

    let r = introspect(&app, &globex_client, &member.access).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body, inactive());
    let r = introspect(&app, &globex_client, &member.refresh).await;
    assert_eq!(r.body, inactive());
    // A platform token is no tenant's.
    let root = app.platform_login().await;
    assert_eq!(
        introspect(&app, &acme_client, &root.access).await.body,
        inactive()
    );
    assert_eq!(
        introspect(&app, &acme_client, &root.refresh).await.body,
        inactive()
    );
    // And the other way round.
    assert_eq!(
        introspect(&app, &acme_client, &globex_admin.access)
            .await
            .body,
        inactive()
    );
    assert_eq!(
        introspect(&app, &acme_client, &member.access).await.body["active"],
        json!(true)
    );
}

#[tokio::test]
async fn revoked_session_token_is_exactly_inactive() {
    let app = TestApp::new().await;
    let (_, member, _, client) = setup(&app).await;
    assert_eq!(
        introspect(&app, &client, &member.access).await.body["active"],
        json!(true)
    );
    let r = app
        .post("/v1/auth/logout", Some(&member.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let r = introspect(&app, &client, &member.access).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body, inactive());
    assert_eq!(
        introspect(&app, &client, &member.refresh).await.body,
        inactive()
    );
}

#[tokio::test]
async fn expired_token_is_exactly_inactive() {
    let app = TestApp::new().await;
    let (_, member, _, client) = setup(&app).await;
    app.clock.advance_secs(301);
    let r = introspect(&app, &client, &member.access).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body, inactive());
}

#[tokio::test]
async fn garbage_is_exactly_inactive() {
    let app = TestApp::new().await;
    let (_, member, _, client) = setup(&app).await;
    let random = member
        .refresh
        .strip_prefix("rt1.acme.")
        .expect("prefix")
        .to_owned();
    for token in [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        "rt1.acme.short".to_owned(),
        format!("rt1.acme.{}", "C".repeat(43)),
        format!("rt1.globex.{random}"),
        format!("{}x", member.access),
    ] {
        let r = introspect(&app, &client, &token).await;
        assert_eq!(r.status.as_u16(), 200, "{token}: {}", r.text);
        assert_eq!(r.body, inactive(), "{token}");
    }
}

#[tokio::test]
async fn refresh_tokens_of_the_own_tenant_are_described() {
    let app = TestApp::new().await;
    let (_, member, uid, client) = setup(&app).await;
    let r = introspect(&app, &client, &member.refresh).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["active"], json!(true));
    assert_eq!(r.body["sub"], json!(uid));
    assert_eq!(r.body["tid"], "acme");
    assert_eq!(r.body["sid"], json!(member.session_id));
    assert!(
        r.body["exp"].is_i64() && r.body["iat"].is_i64(),
        "{}",
        r.text
    );
    assert!(!r.text.contains(&member.refresh), "token echoed");
    // Once rotated, the old one is no longer active; the new one is.
    let next = Tokens::from_body(&app.refresh(&member.refresh).await.body);
    assert_eq!(
        introspect(&app, &client, &member.refresh).await.body,
        inactive()
    );
    assert_eq!(
        introspect(&app, &client, &next.refresh).await.body["active"],
        json!(true)
    );
    // Introspection is read-only: it did not count as a replay.
    assert_eq!(
        app.get("/v1/auth/me", Some(&next.access))
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn deleted_client_can_no_longer_introspect() {
    let app = TestApp::new().await;
    let (admin, member, _, client) = setup(&app).await;
    let keep = create_client(&app, "acme", &admin, "keep").await;
    let path = format!("/v1/tenants/acme/clients/{}", client.id);
    let r = app.delete(&path, Some(&admin.access)).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    introspect(&app, &client, &member.access)
        .await
        .assert_error(401, "invalid_client");
    app.delete(&path, Some(&admin.access))
        .await
        .assert_error(404, "not_found");
    let r = app
        .delete("/v1/tenants/acme/clients/not-an-id", Some(&admin.access))
        .await;
    assert!(
        matches!(r.code(), "not_found" | "validation_failed"),
        "{}",
        r.text
    );
    // The other client is untouched.
    assert_eq!(
        introspect(&app, &keep, &member.access).await.body["active"],
        json!(true)
    );
    let list = app
        .get("/v1/tenants/acme/clients", Some(&admin.access))
        .await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["client_id"].as_str())
        .collect();
    assert_eq!(ids, [keep.id.as_str()]);
}
