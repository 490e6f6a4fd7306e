//! SPEC §6 (support access) through `app()`: who may use the platform and the
//! tenant routes, the grant life cycle (request → approve/deny, direct grant,
//! revoke, expiry), support sessions, enforcement on every request with the
//! injected clock, and the audit trail in both logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sessiond::domain::{Role, UserId, UserRecord};
use sessiond::store::{Ns, StoreError};
use tower::ServiceExt;

use crate::support::{PASSWORD, ROOT_EMAIL, Resp, T0, TestApp, Tokens};

const ACME: &str = "acme";
const GLOBEX: &str = "globex";
const ALICE: &str = "alice@acme.test";
const BOB: &str = "bob@acme.test";
const SECOND_ROOT: &str = "second@platform.test";
const UNKNOWN_ID: &str = "01890000-0000-7000-8000-000000000000";

// ---------------------------------------------------------------------------
// helpers

#[track_caller]
fn assert_status(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
}

#[track_caller]
fn assert_revoked(r: &Resp, reason: &str) {
    r.assert_error(401, "session_revoked");
    assert_eq!(r.body["revoked_reason"], json!(reason), "{}", r.text);
}

#[track_caller]
fn assert_names_field(r: &Resp, field: &str) {
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"][field].is_string(),
        "details should name {field}: {}",
        r.text
    );
}

#[track_caller]
fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// T0 + `ms` milliseconds, as the API writes times.
fn iso_ms(ms: i64) -> String {
    sessiond::domain::Timestamp::from_millis(T0.millis() + ms).to_rfc3339()
}

/// The claims of a JWT (payload decoded, signature not checked).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

async fn me(app: &TestApp, token: &str) -> Resp {
    app.get("/v1/auth/me", Some(token)).await
}

/// `POST /v1/platform/tenants/{t}/access-requests`
async fn request_access(app: &TestApp, root: &str, t: &str, secs: i64) -> Resp {
    app.post(
        &format!("/v1/platform/tenants/{t}/access-requests"),
        Some(root),
        json!({"reason": "ticket 4711: login loop", "duration_secs": secs}),
    )
    .await
}

/// `POST /v1/tenants/{t}/support-grants` (grant directly).
async fn grant_direct(app: &TestApp, admin: &str, t: &str, grantee: &str, secs: i64) -> Resp {
    app.post(
        &format!("/v1/tenants/{t}/support-grants"),
        Some(admin),
        json!({"grantee_email": grantee, "duration_secs": secs, "reason": "please look at ticket 4711"}),
    )
    .await
}

/// `POST /v1/tenants/{t}/support-grants/{gid}/{what}` (approve, deny, revoke).
async fn decide(app: &TestApp, admin: &str, t: &str, gid: &str, what: &str) -> Resp {
    app.request(
        Method::POST,
        &format!("/v1/tenants/{t}/support-grants/{gid}/{what}"),
        Some(admin),
        None,
    )
    .await
}

/// `POST /v1/platform/tenants/{t}/support-sessions`
async fn support_session(app: &TestApp, root: &str, t: &str) -> Resp {
    app.request(
        Method::POST,
        &format!("/v1/platform/tenants/{t}/support-sessions"),
        Some(root),
        None,
    )
    .await
}

/// A support session that must start: its tokens.
async fn start_support(app: &TestApp, root: &str, t: &str) -> Tokens {
    let r = support_session(app, root, t).await;
    assert_status(&r, 201);
    Tokens::from_body(&r.body)
}

/// An active grant for root on `t`, given directly by `admin`: its id.
async fn active_grant(app: &TestApp, admin: &str, t: &str, secs: i64) -> String {
    let r = grant_direct(app, admin, t, ROOT_EMAIL, secs).await;
    assert_status(&r, 201);
    assert_eq!(r.body["status"], "active", "{}", r.text);
    str_of(&r.body, "id").to_owned()
}

/// The grants of a tenant as its org admin lists them.
async fn tenant_grants(app: &TestApp, admin: &str, t: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/tenants/{t}/support-grants"), Some(admin))
        .await;
    assert_status(&r, 200);
    assert!(r.body["next_cursor"].is_null(), "{}", r.text);
    r.body["items"]
        .as_array()
        .expect("a page of grants")
        .clone()
}

#[track_caller]
fn grant_in<'a>(grants: &'a [Value], gid: &str) -> &'a Value {
    grants
        .iter()
        .find(|g| g["id"] == gid)
        .unwrap_or_else(|| panic!("grant {gid} not listed: {grants:?}"))
}

async fn grant_status(app: &TestApp, admin: &str, t: &str, gid: &str) -> String {
    let grants = tenant_grants(app, admin, t).await;
    str_of(grant_in(&grants, gid), "status").to_owned()
}

/// Audit entries of one action, newest first; `path` is `/v1/tenants/{t}/audit`
/// or `/v1/platform/audit`.
async fn audit(app: &TestApp, path: &str, token: &str, action: &str) -> Vec<Value> {
    let r = app
        .get(&format!("{path}?action={action}&limit=200"), Some(token))
        .await;
    assert_status(&r, 200);
    r.body["items"].as_array().expect("items").clone()
}

async fn tenant_audit(app: &TestApp, t: &str, token: &str, action: &str) -> Vec<Value> {
    audit(app, &format!("/v1/tenants/{t}/audit"), token, action).await
}

async fn platform_audit(app: &TestApp, root: &str, action: &str) -> Vec<Value> {
    audit(app, "/v1/platform/audit", root, action).await
}

fn targeting<'a>(entries: &'a [Value], target: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["target"] == target).collect()
}

async fn policy_with_max(app: &TestApp, admin: &str, t: &str, max: i64) {
    let r = app
        .get(&format!("/v1/tenants/{t}/policy"), Some(admin))
        .await;
    assert_status(&r, 200);
    let mut p = r.body.clone();
    p["max_support_grant_secs"] = json!(max);
    let r = app
        .put(&format!("/v1/tenants/{t}/policy"), Some(admin), p)
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["max_support_grant_secs"], json!(max), "{}", r.text);
}

/// A second global admin, written through the store (the API has no route
/// for it): a copy of root's record (same password) under another id and email.
async fn second_global_admin(app: &TestApp) -> Tokens {
    app.svc
        .store()
        .write(|tx| {
            let root = tx
                .user_by_email(Ns::Platform, ROOT_EMAIL)?
                .ok_or(StoreError::NotFound)?;
            assert_eq!(root.role, Role::GlobalAdmin);
            let twin = UserRecord {
                id: UserId::new_v7(),
                email: SECOND_ROOT.to_owned(),
                display_name: "Second global admin".to_owned(),
                ..root
            };
            tx.put_user(Ns::Platform, &twin)
        })
        .await
        .expect("second global admin");
    let r = app
        .post(
            "/v1/platform/auth/login",
            None,
            json!({"email": SECOND_ROOT, "password": PASSWORD}),
        )
        .await;
    assert_status(&r, 200);
    Tokens::from_body(&r.body)
}

struct World {
    app: TestApp,
    acme_admin: Tokens,
    globex_admin: Tokens,
    alice_id: String,
    alice: Tokens,
    bob: Tokens,
    client_id: String,
    root: Tokens,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let acme_admin = app.tenant_admin(ACME).await;
    let alice_id = app.user(ACME, ALICE, Role::Member).await;
    app.user(ACME, BOB, Role::Member).await;
    let alice = app.login(ACME, ALICE).await;
    let bob = app.login(ACME, BOB).await;
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/clients"),
            Some(&acme_admin.access),
            json!({"name": "api"}),
        )
        .await;
    assert_status(&r, 201);
    let client_id = str_of(&r.body, "client_id").to_owned();
    let globex_admin = app.tenant_admin(GLOBEX).await;
    let root = app.platform_login().await;
    World {
        app,
        acme_admin,
        globex_admin,
        alice_id,
        alice,
        bob,
        client_id,
        root,
    }
}

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn route(method: Method, path: String, body: Option<Value>) -> Route {
    Route { method, path, body }
}

/// Every tenant-scoped route (SPEC §5 and the tenant side of §6), aimed at
/// session `sid`, user `uid`, client `cid` and grant `gid` of tenant `t`.
fn tenant_routes(t: &str, sid: &str, uid: &str, cid: &str, gid: &str) -> Vec<Route> {
    let p = format!("/v1/tenants/{t}");
    vec![
        route(Method::GET, format!("{p}/sessions"), None),
        route(Method::GET, format!("{p}/sessions?status=all"), None),
        route(Method::GET, format!("{p}/sessions/{sid}"), None),
        route(
            Method::POST,
            format!("{p}/sessions/{sid}/revoke"),
            Some(json!({"reason": "support"})),
        ),
        route(
            Method::POST,
            format!("{p}/sessions/revoke"),
            Some(json!({"session_ids": [sid]})),
        ),
        route(
            Method::POST,
            format!("{p}/sessions/revoke"),
            Some(json!({"filter": {"all": true}})),
        ),
        route(Method::GET, format!("{p}/users"), None),
        route(
            Method::POST,
            format!("{p}/users"),
            Some(
                json!({"email": "mallory@acme.test", "display_name": "Mallory",
                        "role": "org_admin", "password": PASSWORD}),
            ),
        ),
        route(Method::GET, format!("{p}/users/{uid}"), None),
        route(
            Method::PATCH,
            format!("{p}/users/{uid}"),
            Some(json!({"display_name": "pwned", "disabled": true})),
        ),
        route(
            Method::POST,
            format!("{p}/users/{uid}/password"),
            Some(json!({"password": "chosen by the platform"})),
        ),
        route(
            Method::POST,
            format!("{p}/users/{uid}/revoke-sessions"),
            Some(json!({})),
        ),
        route(Method::GET, format!("{p}/clients"), None),
        route(
            Method::POST,
            format!("{p}/clients"),
            Some(json!({"name": "evil"})),
        ),
        route(Method::DELETE, format!("{p}/clients/{cid}"), None),
        route(Method::GET, format!("{p}/policy"), None),
        route(
            Method::PUT,
            format!("{p}/policy"),
            Some(json!({"access_token_ttl_secs": 60, "idle_timeout_secs": 60,
                        "absolute_timeout_secs": 300, "refresh_reuse_grace_secs": 0,
                        "max_support_grant_secs": 2_592_000})),
        ),
        route(Method::GET, format!("{p}/audit"), None),
        route(Method::GET, format!("{p}/audit/export"), None),
        route(Method::GET, format!("{p}/audit/verify"), None),
        route(Method::GET, format!("{p}/support-grants"), None),
        route(
            Method::POST,
            format!("{p}/support-grants"),
            Some(
                json!({"grantee_email": ROOT_EMAIL, "duration_secs": 60, "reason": "self-service"}),
            ),
        ),
        route(
            Method::POST,
            format!("{p}/support-grants/{gid}/approve"),
            None,
        ),
        route(Method::POST, format!("{p}/support-grants/{gid}/deny"), None),
        route(
            Method::POST,
            format!("{p}/support-grants/{gid}/revoke"),
            None,
        ),
    ]
}

/// Every platform route (SPEC §6).
fn platform_routes(t: &str) -> Vec<Route> {
    vec![
        route(Method::GET, "/v1/platform/tenants".into(), None),
        route(
            Method::POST,
            "/v1/platform/tenants".into(),
            Some(json!({"slug": "initech", "name": "Initech",
                        "first_admin": {"email": "admin@initech.test", "display_name": "Admin",
                                        "password": PASSWORD}})),
        ),
        route(
            Method::POST,
            format!("/v1/platform/tenants/{t}/access-requests"),
            Some(json!({"reason": "curious", "duration_secs": 60})),
        ),
        route(
            Method::POST,
            format!("/v1/platform/tenants/{t}/support-sessions"),
            None,
        ),
        route(Method::GET, "/v1/platform/grants".into(), None),
        route(Method::GET, "/v1/platform/audit".into(), None),
    ]
}

async fn call(app: &TestApp, r: &Route, token: &str) -> Resp {
    app.request(r.method.clone(), &r.path, Some(token), r.body.clone())
        .await
}

/// Every route of `routes` answers 403 `forbidden` to `token`.
async fn assert_all_forbidden(app: &TestApp, routes: &[Route], token: &str, who: &str) {
    for r in routes {
        let res = call(app, r, token).await;
        assert_eq!(
            (res.status.as_u16(), res.code()),
            (403, "forbidden"),
            "{who}: {} {} → {}",
            r.method,
            r.path,
            res.text
        );
    }
}

/// What the global admin must not reach while it has no active grant on acme.
async fn assert_no_access_to_acme(w: &World, gid: &str, state: &str) {
    let app = &w.app;
    let routes = tenant_routes(ACME, &w.alice.session_id, &w.alice_id, &w.client_id, gid);
    assert_all_forbidden(
        app,
        &routes,
        &w.root.access,
        &format!("global admin, grant {state}"),
    )
    .await;
    support_session(app, &w.root.access, ACME)
        .await
        .assert_error(403, "forbidden");
    // Nothing reached the tenant's data.
    assert_status(&me(app, &w.alice.access).await, 200);
    assert_status(&me(app, &w.bob.access).await, 200);
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": ACME, "email": ALICE, "password": PASSWORD}),
        )
        .await;
    assert_status(&r, 200);
    // No entry of acme's log was written by a global admin.
    let r = app
        .get(
            &format!("/v1/tenants/{ACME}/audit?limit=200"),
            Some(&w.acme_admin.access),
        )
        .await;
    assert_status(&r, 200);
    for e in r.body["items"].as_array().expect("items") {
        if e["actor"]["kind"] == "global_admin" {
            assert_eq!(e["action"], "access_requested", "grant {state}: {e}");
        }
        assert!(e["grant_id"].is_null(), "grant {state}: {e}");
    }
}

// ---------------------------------------------------------------------------
// who may call what

/// SPEC §5/§6: a global admin without an active grant is refused (403) on
/// every tenant route and cannot start a support session — with no grant,
/// and with a pending, denied, revoked or expired one. Even with an active
/// grant, the platform token itself is no key to the tenant: only a support
/// session is.
#[tokio::test]
async fn global_admin_without_an_active_grant_is_forbidden_on_every_tenant_route() {
    let w = world().await;
    let (app, admin) = (&w.app, w.acme_admin.access.as_str());

    assert_no_access_to_acme(&w, UNKNOWN_ID, "absent").await;

    // pending
    let r = request_access(app, &w.root.access, ACME, 3600).await;
    assert_status(&r, 201);
    let pending = str_of(&r.body, "id").to_owned();
    assert_eq!(r.body["status"], "pending", "{}", r.text);
    assert_no_access_to_acme(&w, &pending, "pending").await;

    // denied
    assert_status(&decide(app, admin, ACME, &pending, "deny").await, 200);
    assert_eq!(grant_status(app, admin, ACME, &pending).await, "denied");
    assert_no_access_to_acme(&w, &pending, "denied").await;

    // active, then revoked
    let r = request_access(app, &w.root.access, ACME, 3600).await;
    assert_status(&r, 201);
    let approved = str_of(&r.body, "id").to_owned();
    assert_status(&decide(app, admin, ACME, &approved, "approve").await, 200);
    let routes = tenant_routes(
        ACME,
        &w.alice.session_id,
        &w.alice_id,
        &w.client_id,
        &approved,
    );
    assert_all_forbidden(
        app,
        &routes,
        &w.root.access,
        "platform token with an active grant",
    )
    .await;
    assert_status(&decide(app, admin, ACME, &approved, "revoke").await, 200);
    assert_eq!(grant_status(app, admin, ACME, &approved).await, "revoked");
    assert_no_access_to_acme(&w, &approved, "revoked").await;

    // expired: refused as soon as the clock passes expiry, before the
    // scheduler ran, and after it.
    let direct = active_grant(app, admin, ACME, 60).await;
    app.clock.advance_secs(60);
    assert_eq!(grant_status(app, admin, ACME, &direct).await, "expired");
    assert_no_access_to_acme(&w, &direct, "expired (scheduler not run)").await;
    app.svc.expire_grants().await.expect("expire grants");
    assert_eq!(grant_status(app, admin, ACME, &direct).await, "expired");
    assert_no_access_to_acme(&w, &direct, "expired").await;
}

/// SPEC §6: org admins, members and support sessions are refused (403) on
/// every platform route, and nothing is created.
#[tokio::test]
async fn tenant_users_and_support_sessions_are_forbidden_on_every_platform_route() {
    let w = world().await;
    let app = &w.app;
    active_grant(app, &w.acme_admin.access, ACME, 3600).await;
    let support = start_support(app, &w.root.access, ACME).await;
    let grants_before = tenant_grants(app, &w.acme_admin.access, ACME).await.len();

    for t in [ACME, GLOBEX] {
        let routes = platform_routes(t);
        assert_all_forbidden(app, &routes, &w.acme_admin.access, "org admin").await;
        assert_all_forbidden(app, &routes, &w.globex_admin.access, "other org admin").await;
        assert_all_forbidden(app, &routes, &w.alice.access, "member").await;
        assert_all_forbidden(app, &routes, &support.access, "support session").await;
    }

    // No tenant, grant or support session came out of it.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "initech", "email": "admin@initech.test", "password": PASSWORD}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let r = app.get("/v1/platform/tenants", Some(&w.root.access)).await;
    assert_status(&r, 200);
    let slugs: Vec<&str> = r
        .body
        .as_array()
        .expect("tenants")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert_eq!(slugs.len(), 2, "{slugs:?}");
    assert!(!slugs.contains(&"initech"), "{slugs:?}");
    assert_eq!(
        tenant_grants(app, &w.acme_admin.access, ACME).await.len(),
        grants_before
    );
    assert!(
        tenant_grants(app, &w.globex_admin.access, GLOBEX)
            .await
            .is_empty()
    );
    assert_eq!(
        tenant_audit(app, ACME, &w.acme_admin.access, "support_session_started")
            .await
            .len(),
        1
    );
    // The same routes work for the global admin.
    let r = app.get("/v1/platform/grants", Some(&w.root.access)).await;
    assert_status(&r, 200);
    let r = app.get("/v1/platform/audit", Some(&w.root.access)).await;
    assert_status(&r, 200);
}

// ---------------------------------------------------------------------------
// the life cycle

/// SPEC §6: access request (pending) → approval (active) → support session
/// with `tid` = tenant, `role` = `global_admin`, `gid` = grant; the platform
/// lists the caller's grants and shows the active one on the tenant.
#[tokio::test]
async fn access_request_approval_and_support_session() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());

    let r = request_access(app, root, ACME, 3600).await;
    assert_status(&r, 201);
    let g = &r.body;
    let gid = str_of(g, "id").to_owned();
    assert_eq!(g["status"], "pending", "{}", r.text);
    assert_eq!(g["tenant"], ACME);
    assert_eq!(g["grantee"]["email"], ROOT_EMAIL);
    assert_eq!(g["duration_secs"], 3600);
    assert_eq!(g["requested_by_grantee"], true);
    assert_eq!(g["reason"], "ticket 4711: login loop");
    assert!(g["expires_at"].is_null(), "{}", r.text);
    assert!(
        sessiond::domain::GrantId::parse(&gid).is_ok(),
        "grant id is a UUID: {gid}"
    );

    // Pending: no session yet, no active grant shown.
    support_session(app, root, ACME)
        .await
        .assert_error(403, "forbidden");
    let r = app.get("/v1/platform/tenants", Some(root)).await;
    assert_status(&r, 200);
    for t in r.body.as_array().expect("tenants") {
        assert!(t["active_grant"].is_null(), "{t}");
    }

    // The org admin sees the request; a later request is listed first.
    app.clock.advance_secs(1);
    let r = request_access(app, root, ACME, 60).await;
    assert_status(&r, 201);
    let later = str_of(&r.body, "id").to_owned();
    let grants = tenant_grants(app, admin, ACME).await;
    let ids: Vec<&str> = grants.iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(ids, [later.as_str(), gid.as_str()]);
    assert!(
        tenant_grants(app, &w.globex_admin.access, GLOBEX)
            .await
            .is_empty()
    );
    let r = app.get("/v1/platform/grants", Some(root)).await;
    assert_status(&r, 200);
    let mine: Vec<&str> = r.body["items"]
        .as_array()
        .expect("grants")
        .iter()
        .filter_map(|g| g["id"].as_str())
        .collect();
    assert_eq!(mine, [later.as_str(), gid.as_str()], "newest first");

    // Approve: active for its duration from now.
    app.clock.advance_secs(9);
    let r = decide(app, admin, ACME, &gid, "approve").await;
    assert_status(&r, 200);
    assert_eq!(r.body["status"], "active", "{}", r.text);
    assert_eq!(r.body["expires_at"], json!(iso_ms((10 + 3600) * 1000)));
    let r = app.get("/v1/platform/tenants", Some(root)).await;
    assert_status(&r, 200);
    let tenants = r.body.as_array().expect("tenants");
    let acme = tenants
        .iter()
        .find(|t| t["slug"] == ACME)
        .expect("acme listed");
    assert_eq!(
        acme["active_grant"],
        json!({"id": gid, "expires_at": iso_ms((10 + 3600) * 1000)}),
        "{}",
        r.text
    );
    let globex = tenants
        .iter()
        .find(|t| t["slug"] == GLOBEX)
        .expect("globex listed");
    assert!(globex["active_grant"].is_null(), "{globex}");

    // The grantee starts a support session.
    let r = support_session(app, root, ACME).await;
    assert_status(&r, 201);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let support = Tokens::from_body(&r.body);
    assert!(
        support.refresh.starts_with("rt1.acme."),
        "{}",
        support.refresh
    );
    let claims = jwt_claims(&support.access);
    assert_eq!(claims["tid"], ACME, "{claims}");
    assert_eq!(claims["role"], "global_admin", "{claims}");
    assert_eq!(claims["gid"], json!(gid), "{claims}");
    assert_eq!(claims["sid"], json!(support.session_id), "{claims}");
    let r = me(app, &w.root.access).await;
    assert_status(&r, 200);
    assert_eq!(claims["sub"], r.body["user"]["id"], "{claims}");
    let grants = tenant_grants(app, admin, ACME).await;
    assert_eq!(grant_in(&grants, &gid)["support_sessions"], 1);

    // The refresh token rotates inside the tenant, keeping the grant.
    let r = app.refresh(&support.refresh).await;
    assert_status(&r, 200);
    let next = Tokens::from_body(&r.body);
    let claims = jwt_claims(&next.access);
    assert_eq!(
        (&claims["tid"], &claims["role"], &claims["gid"]),
        (&json!(ACME), &json!("global_admin"), &json!(gid))
    );
    assert_status(&me(app, &next.access).await, 200);

    // No grant on globex: no session there.
    support_session(app, root, GLOBEX)
        .await
        .assert_error(403, "forbidden");
    // An unknown tenant is not found.
    support_session(app, root, "nosuch")
        .await
        .assert_error(404, "not_found");
    request_access(app, root, "nosuch", 60)
        .await
        .assert_error(404, "not_found");
}

/// SPEC §6: a tenant's org admin can deny a request; a denied request never
/// becomes a grant.
#[tokio::test]
async fn denied_request_stays_denied() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let r = request_access(app, root, ACME, 600).await;
    assert_status(&r, 201);
    let gid = str_of(&r.body, "id").to_owned();
    let r = decide(app, admin, ACME, &gid, "deny").await;
    assert_status(&r, 200);
    assert_eq!(r.body["status"], "denied", "{}", r.text);
    assert!(r.body["expires_at"].is_null(), "{}", r.text);
    decide(app, admin, ACME, &gid, "approve")
        .await
        .assert_error(409, "conflict");
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "denied");
    let r = app.get("/v1/platform/grants", Some(root)).await;
    assert_eq!(r.body["items"][0]["status"], "denied", "{}", r.text);
    support_session(app, root, ACME)
        .await
        .assert_error(403, "forbidden");
}

/// Approve/deny only a pending request, revoke only an active grant (409
/// otherwise); another tenant's grant is 404; a malformed id 400.
#[tokio::test]
async fn grant_decisions_check_state_and_tenant() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let globex = w.globex_admin.access.as_str();

    let r = request_access(app, root, ACME, 600).await;
    let pending = str_of(&r.body, "id").to_owned();
    decide(app, admin, ACME, &pending, "revoke")
        .await
        .assert_error(409, "conflict");

    // Another tenant's admin: 404 under its own tenant, 403 under acme.
    for what in ["approve", "deny", "revoke"] {
        decide(app, globex, GLOBEX, &pending, what)
            .await
            .assert_error(404, "not_found");
        decide(app, globex, ACME, &pending, what)
            .await
            .assert_error(403, "forbidden");
    }
    // Unknown and malformed ids.
    for what in ["approve", "deny", "revoke"] {
        decide(app, admin, ACME, UNKNOWN_ID, what)
            .await
            .assert_error(404, "not_found");
        let r = decide(app, admin, ACME, "not-a-uuid", what).await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"]
                .as_object()
                .is_some_and(|d| d.keys().any(|k| k.contains("grant"))),
            "details should name the grant id: {}",
            r.text
        );
    }
    assert_eq!(grant_status(app, admin, ACME, &pending).await, "pending");

    // Active.
    assert_status(&decide(app, admin, ACME, &pending, "approve").await, 200);
    decide(app, admin, ACME, &pending, "approve")
        .await
        .assert_error(409, "conflict");
    decide(app, admin, ACME, &pending, "deny")
        .await
        .assert_error(409, "conflict");
    decide(app, globex, GLOBEX, &pending, "revoke")
        .await
        .assert_error(404, "not_found");
    assert_eq!(grant_status(app, admin, ACME, &pending).await, "active");

    // Revoked.
    let r = decide(app, admin, ACME, &pending, "revoke").await;
    assert_status(&r, 200);
    assert_eq!(r.body["status"], "revoked", "{}", r.text);
    for what in ["approve", "deny", "revoke"] {
        decide(app, admin, ACME, &pending, what)
            .await
            .assert_error(409, "conflict");
    }

    // Expired (before and after the scheduler).
    let direct = active_grant(app, admin, ACME, 60).await;
    app.clock.advance_secs(60);
    for what in ["approve", "deny", "revoke"] {
        decide(app, admin, ACME, &direct, what)
            .await
            .assert_error(409, "conflict");
    }
    app.svc.expire_grants().await.expect("expire grants");
    for what in ["approve", "deny", "revoke"] {
        decide(app, admin, ACME, &direct, what)
            .await
            .assert_error(409, "conflict");
    }
    assert_eq!(grant_status(app, admin, ACME, &direct).await, "expired");
}

/// SPEC §6: a direct grant names an existing global admin; its fields are validated.
#[tokio::test]
async fn direct_grant_validates_grantee_and_reason() {
    let w = world().await;
    let (app, admin) = (&w.app, w.acme_admin.access.as_str());

    let r = grant_direct(app, admin, ACME, "nobody@platform.test", 600).await;
    assert_names_field(&r, "grantee_email");
    // A tenant's own org admin is no global admin.
    let r = grant_direct(app, admin, ACME, "admin@acme.test", 600).await;
    assert_names_field(&r, "grantee_email");
    let r = grant_direct(app, admin, ACME, "not an email", 600).await;
    assert_names_field(&r, "grantee_email");
    for reason in ["", "   "] {
        let r = app
            .post(
                &format!("/v1/tenants/{ACME}/support-grants"),
                Some(admin),
                json!({"grantee_email": ROOT_EMAIL, "duration_secs": 600, "reason": reason}),
            )
            .await;
        assert_names_field(&r, "reason");
    }
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/support-grants"),
            Some(admin),
            json!({"grantee_email": ROOT_EMAIL, "duration_secs": 600}),
        )
        .await;
    assert_names_field(&r, "reason");
    let r = request_access(app, &w.root.access, ACME, 0).await;
    assert_names_field(&r, "duration_secs");
    assert!(tenant_grants(app, admin, ACME).await.is_empty());

    // Case and surrounding blanks of the email do not matter.
    let r = grant_direct(app, admin, ACME, "  Root@Platform.TEST ", 600).await;
    assert_status(&r, 201);
    assert_eq!(r.body["grantee"]["email"], ROOT_EMAIL, "{}", r.text);
    assert_eq!(r.body["requested_by_grantee"], false);
    assert_eq!(r.body["expires_at"], json!(iso_ms(600_000)));
}

/// SPEC §6: `duration_secs` ≤ the tenant's `max_support_grant_secs` (default
/// 8 h) for access requests and direct grants; the policy moves the bound.
#[tokio::test]
async fn grant_duration_is_bounded_by_the_tenant_policy() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());

    for secs in [28_801, 0, -1, 86_400 * 365] {
        assert_names_field(
            &request_access(app, root, ACME, secs).await,
            "duration_secs",
        );
        assert_names_field(
            &grant_direct(app, admin, ACME, ROOT_EMAIL, secs).await,
            "duration_secs",
        );
    }
    assert!(tenant_grants(app, admin, ACME).await.is_empty());
    assert_status(&request_access(app, root, ACME, 28_800).await, 201);
    let g = active_grant(app, admin, ACME, 28_800).await;
    assert_status(&decide(app, admin, ACME, &g, "revoke").await, 200);

    policy_with_max(app, admin, ACME, 120).await;
    assert_names_field(&request_access(app, root, ACME, 121).await, "duration_secs");
    assert_names_field(
        &grant_direct(app, admin, ACME, ROOT_EMAIL, 121).await,
        "duration_secs",
    );
    assert_status(&request_access(app, root, ACME, 120).await, 201);
    assert_status(&grant_direct(app, admin, ACME, ROOT_EMAIL, 120).await, 201);

    // Another tenant keeps its own bound.
    assert_status(&request_access(app, root, GLOBEX, 28_800).await, 201);
    assert_status(
        &grant_direct(app, &w.globex_admin.access, GLOBEX, ROOT_EMAIL, 28_800).await,
        201,
    );

    // Raising it again raises the bound.
    policy_with_max(app, admin, ACME, 86_400).await;
    assert_status(&request_access(app, root, ACME, 86_400).await, 201);
    assert_status(
        &grant_direct(app, admin, ACME, ROOT_EMAIL, 86_400).await,
        201,
    );
}

/// A grant is personal: another global admin cannot use it, and the
/// platform shows each admin only its own grants.
#[tokio::test]
async fn grant_belongs_to_its_grantee() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let second = second_global_admin(app).await;

    let gid = active_grant(app, admin, ACME, 3600).await;
    support_session(app, &second.access, ACME)
        .await
        .assert_error(403, "forbidden");
    let r = app.get("/v1/platform/grants", Some(&second.access)).await;
    assert_status(&r, 200);
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
    let r = app.get("/v1/platform/tenants", Some(&second.access)).await;
    assert_status(&r, 200);
    for t in r.body.as_array().expect("tenants") {
        assert!(t["active_grant"].is_null(), "{t}");
    }

    // Root's request, approved, is still root's.
    let r = request_access(app, root, GLOBEX, 600).await;
    let requested = str_of(&r.body, "id").to_owned();
    // acme's admin cannot approve a request made to globex.
    decide(app, admin, ACME, &requested, "approve")
        .await
        .assert_error(404, "not_found");
    decide(app, admin, GLOBEX, &requested, "approve")
        .await
        .assert_error(403, "forbidden");
    assert_status(
        &decide(app, &w.globex_admin.access, GLOBEX, &requested, "approve").await,
        200,
    );
    support_session(app, &second.access, GLOBEX)
        .await
        .assert_error(403, "forbidden");

    // A grant of its own works for the second admin, on its own grant.
    let mine = grant_direct(app, admin, ACME, SECOND_ROOT, 600).await;
    assert_status(&mine, 201);
    let mine = str_of(&mine.body, "id").to_owned();
    let s = start_support(app, &second.access, ACME).await;
    assert_eq!(jwt_claims(&s.access)["gid"], json!(mine));
    let r = me(app, &s.access).await;
    assert_status(&r, 200);
    assert_eq!(r.body["user"]["email"], SECOND_ROOT, "{}", r.text);
    let r = start_support(app, root, ACME).await;
    assert_eq!(jwt_claims(&r.access)["gid"], json!(gid));

    // Revoking root's grant leaves the second admin's session alone.
    assert_status(&decide(app, admin, ACME, &gid, "revoke").await, 200);
    assert_revoked(&me(app, &r.access).await, "grant_revoked");
    assert_status(&me(app, &s.access).await, 200);
}

// ---------------------------------------------------------------------------
// support sessions

/// SPEC §5/§6: a support session is listed with `support`, acts on the
/// tenant's §5 routes (audited with the grant), and nowhere else.
#[tokio::test]
async fn support_session_acts_in_its_tenant_only() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let gid = active_grant(app, admin, ACME, 3600).await;
    let support = start_support(app, root, ACME).await;
    let tok = support.access.as_str();

    // /v1/auth/me names the global admin, inside the tenant.
    let r = me(app, tok).await;
    assert_status(&r, 200);
    assert_eq!(r.body["user"]["email"], ROOT_EMAIL, "{}", r.text);
    assert_eq!(r.body["user"]["role"], "global_admin", "{}", r.text);
    assert_eq!(r.body["tenant"], ACME, "{}", r.text);
    assert_eq!(r.body["session_id"], json!(support.session_id));

    // Listed in the tenant's sessions with `support`.
    let r = app
        .get(&format!("/v1/tenants/{ACME}/sessions"), Some(admin))
        .await;
    assert_status(&r, 200);
    let rows = r.body["items"].as_array().expect("items");
    let row = rows
        .iter()
        .find(|s| s["id"] == json!(support.session_id))
        .unwrap_or_else(|| panic!("support session not listed: {}", r.text));
    assert_eq!(
        row["support"],
        json!({"grant_id": gid, "admin_email": ROOT_EMAIL}),
        "{row}"
    );
    assert_eq!(row["status"], "active", "{row}");
    for s in rows.iter().filter(|s| s["id"] != json!(support.session_id)) {
        assert!(s["support"].is_null(), "{s}");
    }
    let r = app
        .get(
            &format!("/v1/tenants/{ACME}/sessions/{}", support.session_id),
            Some(admin),
        )
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["support"]["grant_id"], json!(gid), "{}", r.text);

    // It works on the tenant's §5 routes.
    let r = app
        .get(&format!("/v1/tenants/{ACME}/sessions"), Some(tok))
        .await;
    assert_status(&r, 200);
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/sessions/{}/revoke", w.alice.session_id),
            Some(tok),
            json!({"reason": "ticket 4711"}),
        )
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
    assert_revoked(&me(app, &w.alice.access).await, "admin_revoked");
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/users"),
            Some(tok),
            json!({"email": "carol@acme.test", "display_name": "Carol",
                   "role": "member", "password": PASSWORD}),
        )
        .await;
    assert_status(&r, 201);
    let carol = str_of(&r.body, "id").to_owned();
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/sessions/revoke"),
            Some(tok),
            json!({"session_ids": [w.bob.session_id]}),
        )
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
    for path in ["users", "policy", "clients", "audit", "audit/verify"] {
        let r = app
            .get(&format!("/v1/tenants/{ACME}/{path}"), Some(tok))
            .await;
        assert_status(&r, 200);
    }

    // The changes are in the tenant's audit, with the grant and the global admin.
    let revoked = tenant_audit(app, ACME, admin, "session_revoked").await;
    let e = targeting(&revoked, &w.alice.session_id);
    assert_eq!(e.len(), 1, "{revoked:?}");
    assert_eq!(e[0]["grant_id"], json!(gid), "{}", e[0]);
    assert_eq!(e[0]["actor"]["kind"], "global_admin", "{}", e[0]);
    assert_eq!(e[0]["actor"]["email"], ROOT_EMAIL, "{}", e[0]);
    let created = tenant_audit(app, ACME, admin, "user_created").await;
    let e = targeting(&created, &carol);
    assert_eq!(e.len(), 1, "{created:?}");
    assert_eq!(e[0]["grant_id"], json!(gid), "{}", e[0]);
    assert_eq!(e[0]["actor"]["kind"], "global_admin", "{}", e[0]);
    let bulk = tenant_audit(app, ACME, admin, "sessions_bulk_revoked").await;
    assert!(
        bulk.iter().any(|e| e["grant_id"] == json!(gid)),
        "bulk revocation audited with the grant: {bulk:?}"
    );
    let r = app
        .get(&format!("/v1/tenants/{ACME}/audit/verify"), Some(admin))
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);

    // Refused on another tenant's routes.
    let globex_routes = tenant_routes(GLOBEX, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID);
    assert_all_forbidden(app, &globex_routes, tok, "acme support session on globex").await;

    // It cannot manage support access, not even its own grant.
    let grant_routes: Vec<Route> = tenant_routes(ACME, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID, &gid)
        .into_iter()
        .filter(|r| r.path.contains("/support-grants"))
        .collect();
    assert_eq!(grant_routes.len(), 5);
    assert_all_forbidden(app, &grant_routes, tok, "support session on support-grants").await;
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "active");
    assert_eq!(tenant_grants(app, admin, ACME).await.len(), 1);
    assert_status(&me(app, tok).await, 200);
}

/// A support session behaves like any session for forward auth,
/// introspection and logout — and the grant decides when it ends.
#[tokio::test]
async fn support_session_in_forward_auth_introspection_and_logout() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let gid = active_grant(app, admin, ACME, 3600).await;
    let support = start_support(app, root, ACME).await;

    let r = app.get("/v1/auth/verify", Some(&support.access)).await;
    assert_status(&r, 200);
    assert_eq!(r.header("x-session-tenant"), Some(ACME));
    assert_eq!(r.header("x-session-id"), Some(support.session_id.as_str()));

    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/clients"),
            Some(admin),
            json!({"name": "resource server"}),
        )
        .await;
    assert_status(&r, 201);
    let (cid, secret) = (
        str_of(&r.body, "client_id").to_owned(),
        str_of(&r.body, "client_secret").to_owned(),
    );
    let form = format!("token={}", support.access);
    let r = app
        .post_form("/v1/oauth/introspect", Some((&cid, &secret)), &form)
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["active"], true, "{}", r.text);
    assert_eq!(r.body["tid"], ACME, "{}", r.text);
    assert_eq!(r.body["sid"], json!(support.session_id), "{}", r.text);

    // Logout ends the support session, audited with the grant; the grant lives on.
    let r = app
        .request(Method::POST, "/v1/auth/logout", Some(&support.access), None)
        .await;
    assert_status(&r, 204);
    assert_revoked(&me(app, &support.access).await, "user_logout");
    let logouts = tenant_audit(app, ACME, admin, "logout").await;
    let e = targeting(&logouts, &support.session_id);
    assert_eq!(e.len(), 1, "{logouts:?}");
    assert_eq!(e[0]["grant_id"], json!(gid), "{}", e[0]);
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "active");

    // A new support session; revoking the grant turns introspection inactive.
    let again = start_support(app, root, ACME).await;
    assert_status(&decide(app, admin, ACME, &gid, "revoke").await, 200);
    let form = format!("token={}", again.access);
    let r = app
        .post_form("/v1/oauth/introspect", Some((&cid, &secret)), &form)
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body, json!({"active": false}), "{}", r.text);
    let form = format!("token={}", again.refresh);
    let r = app
        .post_form("/v1/oauth/introspect", Some((&cid, &secret)), &form)
        .await;
    assert_eq!(r.body, json!({"active": false}), "{}", r.text);
    let r = app.get("/v1/auth/verify", Some(&again.access)).await;
    assert_revoked(&r, "grant_revoked");
}

// ---------------------------------------------------------------------------
// expiry (injected clock)

/// SPEC §4/§6: the grant is checked on every request: a 2 s grant admits a
/// request at +1.9 s and refuses the next one at +2.0 s as revoked for
/// `grant_expired` — before the scheduler ran — and so the refresh token.
#[tokio::test]
async fn grant_expiry_is_enforced_on_the_next_request_as_grant_expired() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    active_grant(app, admin, ACME, 2).await;
    let support = start_support(app, root, ACME).await;

    app.clock.advance_ms(1900);
    assert_status(&me(app, &support.access).await, 200);
    app.clock.advance_ms(100);
    assert_revoked(&me(app, &support.access).await, "grant_expired");
    assert_revoked(&app.refresh(&support.refresh).await, "grant_expired");
}

/// SPEC §6: expiry refuses the session's tokens at once (before the
/// scheduler); then `expire_grants()` ends the grant: the session row is
/// revoked for `grant_expired`, both audit logs record `grant_expired`
/// exactly once however often it runs, and the grant lists as expired.
#[tokio::test]
async fn expired_grant_ends_its_support_session_once() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let gid = active_grant(app, admin, ACME, 2).await;
    let support = start_support(app, root, ACME).await;
    // A long grant of root on globex is unaffected.
    let other = active_grant(app, &w.globex_admin.access, GLOBEX, 3600).await;
    let globex_support = start_support(app, root, GLOBEX).await;

    app.clock.advance_ms(1900);
    assert_status(&me(app, &support.access).await, 200);
    let r = app
        .get(
            &format!("/v1/tenants/{ACME}/sessions"),
            Some(&support.access),
        )
        .await;
    assert_status(&r, 200);
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "active");

    app.clock.advance_ms(100);
    // Refused at once, though the scheduler has not run yet.
    for r in [
        me(app, &support.access).await,
        app.get(
            &format!("/v1/tenants/{ACME}/sessions"),
            Some(&support.access),
        )
        .await,
        app.refresh(&support.refresh).await,
    ] {
        assert_revoked(&r, "grant_expired");
    }
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "expired");
    support_session(app, root, ACME)
        .await
        .assert_error(403, "forbidden");
    let r = app.get("/v1/platform/tenants", Some(root)).await;
    let acme = r
        .body
        .as_array()
        .expect("tenants")
        .iter()
        .find(|t| t["slug"] == ACME)
        .cloned()
        .expect("acme");
    assert!(acme["active_grant"].is_null(), "{acme}");
    assert!(
        tenant_audit(app, ACME, admin, "grant_expired")
            .await
            .is_empty()
    );

    // The scheduler's pass, twice.
    app.svc.expire_grants().await.expect("expire grants");
    app.svc.expire_grants().await.expect("expire grants again");
    app.clock.advance_secs(5);
    app.svc.expire_grants().await.expect("expire grants later");

    let tenant_log = tenant_audit(app, ACME, admin, "grant_expired").await;
    assert_eq!(tenant_log.len(), 1, "{tenant_log:?}");
    let e = &tenant_log[0];
    assert_eq!(e["target"], json!(gid), "{e}");
    assert_eq!(e["reason"], "grant_expired", "{e}");
    assert_eq!(e["actor"]["kind"], "system", "{e}");
    assert_eq!(e["at"], json!(iso_ms(2000)), "{e}");
    let platform_log = platform_audit(app, root, "grant_expired").await;
    assert_eq!(platform_log.len(), 1, "{platform_log:?}");
    assert_eq!(platform_log[0]["target"], json!(gid));
    assert!(
        tenant_audit(app, GLOBEX, &w.globex_admin.access, "grant_expired")
            .await
            .is_empty()
    );

    let r = app
        .get(
            &format!("/v1/tenants/{ACME}/sessions/{}", support.session_id),
            Some(admin),
        )
        .await;
    assert_status(&r, 200);
    assert_eq!(r.body["status"], "revoked", "{}", r.text);
    assert_eq!(r.body["revoked_reason"], "grant_expired", "{}", r.text);
    assert_revoked(&me(app, &support.access).await, "grant_expired");
    assert_revoked(&app.refresh(&support.refresh).await, "grant_expired");
    let grants = tenant_grants(app, admin, ACME).await;
    assert_eq!(grant_in(&grants, &gid)["status"], "expired");
    let r = app.get("/v1/platform/grants", Some(root)).await;
    let mine = r.body["items"].as_array().expect("grants");
    assert_eq!(grant_in(mine, &gid)["status"], "expired");
    assert_eq!(grant_in(mine, &other)["status"], "active");
    assert_status(&me(app, &globex_support.access).await, 200);
    let r = app
        .get(&format!("/v1/tenants/{ACME}/audit/verify"), Some(admin))
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
}

/// A support session started after its grant began lasts as long as the
/// grant (not a truncated whole number of seconds less).
#[tokio::test]
async fn support_session_lasts_until_its_grant_ends() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    active_grant(app, admin, ACME, 2).await;
    app.clock.advance_ms(500);
    let support = start_support(app, root, ACME).await;
    app.clock.advance_ms(1400);
    assert_status(&me(app, &support.access).await, 200);
}

// ---------------------------------------------------------------------------
// revocation

/// SPEC §6: revoking a grant revokes its support sessions at once
/// (`grant_revoked`), access and refresh token alike, and both logs say so.
#[tokio::test]
async fn revoking_a_grant_ends_its_support_sessions_at_once() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let gid = active_grant(app, admin, ACME, 3600).await;
    let one = start_support(app, root, ACME).await;
    let two = start_support(app, root, ACME).await;
    assert_status(&me(app, &one.access).await, 200);
    assert_status(&me(app, &two.access).await, 200);

    let r = decide(app, admin, ACME, &gid, "revoke").await;
    assert_status(&r, 200);
    assert_eq!(r.body["status"], "revoked", "{}", r.text);
    for s in [&one, &two] {
        assert_revoked(&me(app, &s.access).await, "grant_revoked");
        assert_revoked(
            &app.get(&format!("/v1/tenants/{ACME}/sessions"), Some(&s.access))
                .await,
            "grant_revoked",
        );
        assert_revoked(&app.refresh(&s.refresh).await, "grant_revoked");
        let r = app
            .get(
                &format!("/v1/tenants/{ACME}/sessions/{}", s.session_id),
                Some(admin),
            )
            .await;
        assert_eq!(r.body["status"], "revoked", "{}", r.text);
        assert_eq!(r.body["revoked_reason"], "grant_revoked", "{}", r.text);
    }
    // Other sessions are untouched.
    assert_status(&me(app, &w.alice.access).await, 200);
    assert_status(&me(app, admin).await, 200);
    assert_status(&me(app, root).await, 200);

    let tenant_log = tenant_audit(app, ACME, admin, "grant_revoked").await;
    assert_eq!(tenant_log.len(), 1, "{tenant_log:?}");
    assert_eq!(tenant_log[0]["target"], json!(gid));
    assert_eq!(tenant_log[0]["reason"], "grant_revoked");
    assert_eq!(tenant_log[0]["actor"]["email"], "admin@acme.test");
    assert_eq!(tenant_log[0]["details"]["sessions_revoked"], 2);
    let platform_log = platform_audit(app, root, "grant_revoked").await;
    assert_eq!(platform_log.len(), 1, "{platform_log:?}");
    assert_eq!(platform_log[0]["target"], json!(gid));

    // The scheduler has nothing more to do with it.
    app.clock.advance_secs(3600);
    app.svc.expire_grants().await.expect("expire grants");
    let admin_tokens = app.login(ACME, "admin@acme.test").await;
    let admin = admin_tokens.access.as_str();
    assert!(
        tenant_audit(app, ACME, admin, "grant_expired")
            .await
            .is_empty()
    );
    assert_eq!(grant_status(app, admin, ACME, &gid).await, "revoked");
    assert_revoked(&app.refresh(&one.refresh).await, "grant_revoked");
}

/// One `GET /v1/auth/me` on the router: (status, error code).
async fn me_raw(router: Router, token: &str) -> (u16, String) {
    let req = Request::builder()
        .method(Method::GET)
        .uri("/v1/auth/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let res = router.oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = format!(
        "{}/{}",
        body["error"].as_str().unwrap_or(""),
        body["revoked_reason"].as_str().unwrap_or("")
    );
    (status, code)
}

/// SPEC §3/§6: while other tasks hammer the support session, no request
/// that started after the revoking call returned is admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grant_revocation_is_immediate_under_concurrent_load() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());
    let gid = active_grant(app, admin, ACME, 3600).await;
    let support = start_support(app, root, ACME).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (router, token, stop) = (app.router.clone(), support.access.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let (status, code) = me_raw(router.clone(), &token).await;
                seen.push((started, status, code));
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = decide(app, admin, ACME, &gid, "revoke").await;
    let returned = Instant::now();
    assert_status(&r, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::SeqCst);

    let (mut before_ok, mut after, mut bad) = (0, 0, Vec::new());
    for wk in workers {
        for (started, status, code) in wk.await.expect("worker") {
            if started > returned {
                after += 1;
                if status != 401 || code != "session_revoked/grant_revoked" {
                    bad.push((status, code));
                }
            } else if status == 200 {
                before_ok += 1;
            }
        }
    }
    assert!(before_ok > 0, "no request was admitted before the revoke");
    assert!(after > 0, "no request started after the revoke returned");
    assert!(
        bad.is_empty(),
        "{} of {after} requests started after the revoke returned were not refused as grant_revoked: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert_revoked(&me(app, &support.access).await, "grant_revoked");
}

// ---------------------------------------------------------------------------
// audit

/// SPEC §5/§6: every grant event lands in the tenant's log and the
/// platform's log, naming the grant; both chains verify.
#[tokio::test]
async fn grant_events_are_audited_in_both_logs() {
    let w = world().await;
    let (app, root, admin) = (&w.app, w.root.access.as_str(), w.acme_admin.access.as_str());

    let r = request_access(app, root, ACME, 600).await;
    let denied = str_of(&r.body, "id").to_owned();
    assert_status(&decide(app, admin, ACME, &denied, "deny").await, 200);
    let r = request_access(app, root, ACME, 600).await;
    let approved = str_of(&r.body, "id").to_owned();
    assert_status(&decide(app, admin, ACME, &approved, "approve").await, 200);
    let support = start_support(app, root, ACME).await;
    assert_status(&decide(app, admin, ACME, &approved, "revoke").await, 200);
    app.clock.advance_secs(1);
    let created = active_grant(app, admin, ACME, 60).await;
    let expiring = start_support(app, root, ACME).await;
    app.clock.advance_secs(60);
    app.svc.expire_grants().await.expect("expire grants");

    let expected: [(&str, &str, &str); 7] = [
        ("access_requested", denied.as_str(), "global_admin"),
        ("grant_denied", denied.as_str(), "user"),
        ("access_requested", approved.as_str(), "global_admin"),
        ("grant_approved", approved.as_str(), "user"),
        ("grant_revoked", approved.as_str(), "user"),
        ("grant_created", created.as_str(), "user"),
        ("grant_expired", created.as_str(), "system"),
    ];
    for (action, gid, actor) in expected {
        for (log, entries) in [
            ("tenant", tenant_audit(app, ACME, admin, action).await),
            ("platform", platform_audit(app, root, action).await),
        ] {
            let hits = targeting(&entries, gid);
            assert_eq!(hits.len(), 1, "{log} log, {action} of {gid}: {entries:?}");
            assert_eq!(hits[0]["actor"]["kind"], actor, "{log}: {}", hits[0]);
        }
    }
    // support_session_started names the session and carries the grant.
    for (log, entries) in [
        (
            "tenant",
            tenant_audit(app, ACME, admin, "support_session_started").await,
        ),
        (
            "platform",
            platform_audit(app, root, "support_session_started").await,
        ),
    ] {
        assert_eq!(entries.len(), 2, "{log}: {entries:?}");
        for (s, gid) in [(&support, &approved), (&expiring, &created)] {
            let hits = targeting(&entries, &s.session_id);
            assert_eq!(hits.len(), 1, "{log}: {entries:?}");
            assert_eq!(hits[0]["grant_id"], json!(gid), "{log}: {}", hits[0]);
            assert_eq!(hits[0]["actor"]["email"], ROOT_EMAIL, "{log}: {}", hits[0]);
        }
    }
    // Nothing about acme in globex's log.
    for action in ["access_requested", "grant_created", "grant_expired"] {
        assert!(
            tenant_audit(app, GLOBEX, &w.globex_admin.access, action)
                .await
                .is_empty()
        );
    }
    // Newest first, and the chains hold.
    let r = app.get("/v1/platform/audit?limit=200", Some(root)).await;
    assert_status(&r, 200);
    let seqs: Vec<u64> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .collect();
    assert!(seqs.len() >= 10, "{seqs:?}");
    assert!(seqs.windows(2).all(|p| p[0] > p[1]), "{seqs:?}");
    let r = app
        .get(&format!("/v1/tenants/{ACME}/audit/verify"), Some(admin))
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
}

/// Every list is paged like sessions: `limit`, `cursor`, `{items, next_cursor}`;
/// the platform's tenant list (an array in SPEC §6) pages with a `Link` header.
#[tokio::test]
async fn clients_grants_and_tenants_are_paginated() {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(ACME).await;
    for n in 0..3 {
        let r = app
            .post(
                &format!("/v1/tenants/{ACME}/clients"),
                Some(&admin.access),
                json!({"name": format!("api-{n}")}),
            )
            .await;
        assert_status(&r, 201);
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let r = app
            .get(
                &format!("/v1/tenants/{ACME}/clients?limit=2{q}"),
                Some(&admin.access),
            )
            .await;
        assert_status(&r, 200);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|c| c["name"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["api-0", "api-1", "api-2"]);
    for bad in ["limit=0", "limit=201", "cursor=nope"] {
        app.get(
            &format!("/v1/tenants/{ACME}/clients?{bad}"),
            Some(&admin.access),
        )
        .await
        .assert_error(400, "validation_failed");
    }

    let mut made = Vec::new();
    for _ in 0..3 {
        let r = grant_direct(&app, &admin.access, ACME, ROOT_EMAIL, 600).await;
        assert_status(&r, 201);
        made.push(str_of(&r.body, "id").to_owned());
    }
    made.reverse();
    let first = app
        .get(
            &format!("/v1/tenants/{ACME}/support-grants?limit=2"),
            Some(&admin.access),
        )
        .await;
    let cursor = first.body["next_cursor"].as_str().expect("more").to_owned();
    let rest = app
        .get(
            &format!("/v1/tenants/{ACME}/support-grants?limit=2&cursor={cursor}"),
            Some(&admin.access),
        )
        .await;
    let ids: Vec<_> = [&first, &rest]
        .iter()
        .flat_map(|r| r.body["items"].as_array().unwrap().clone())
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, made, "newest first");
    assert!(rest.body["next_cursor"].is_null());

    app.tenant("globex").await;
    app.tenant("initech").await;
    let root = app.platform_login().await;
    let all = app.get("/v1/platform/tenants", Some(&root.access)).await;
    assert_eq!(
        all.body.as_array().unwrap().len(),
        3,
        "no limit: every tenant"
    );
    assert!(all.header("link").is_none());
    let page = app
        .get("/v1/platform/tenants?limit=2", Some(&root.access))
        .await;
    let slugs: Vec<_> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(slugs, [json!(ACME), json!("globex")]);
    let link = page.header("link").expect("a next link").to_owned();
    // An opaque cursor, in the one format every list uses.
    let target = link
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .expect("one next link");
    assert!(
        target.starts_with("/v1/platform/tenants?limit=2&cursor="),
        "{link}"
    );
    assert!(!target.contains("globex"), "{link}");
    let next = app.get(target, Some(&root.access)).await;
    assert_eq!(next.body[0]["slug"], "initech");
    assert!(next.header("link").is_none());
    // The bare slug of the earlier format still works; another list's cursor does not.
    let users_cursor = "dS5nbG9iZXg"; // base64url("u.globex")
    let wrong = app
        .get(
            &format!("/v1/platform/tenants?limit=2&cursor={users_cursor}"),
            Some(&root.access),
        )
        .await;
    assert_eq!(wrong.status, 400, "{:?}", wrong.body);
    let next = app
        .get(
            "/v1/platform/tenants?limit=2&cursor=globex",
            Some(&root.access),
        )
        .await;
    assert_eq!(next.body[0]["slug"], "initech");
    assert!(next.header("link").is_none());
}
