//! Tenant isolation of the admin API (SPEC §5): every route refuses a member
//! (403), another tenant's admin (403), a global admin without a grant (403)
//! and no token (401); ids of another tenant are 404 under one's own tenant;
//! and none of these attempts changes anything.

use axum::http::Method;
use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::audit::verify;
use crate::sessions::{ALICE, BOB, assert_ok, me};
use crate::support::{PASSWORD, Resp, TestApp, Tokens};

const ACME: &str = "acme";
const GLOBEX: &str = "globex";
const UNKNOWN_ID: &str = "01890000-0000-7000-8000-000000000000";

struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn route(method: Method, path: String, body: Option<Value>) -> Route {
    Route { method, path, body }
}

fn policy_body() -> Value {
    json!({
        "access_token_ttl_secs": 60,
        "idle_timeout_secs": 60,
        "absolute_timeout_secs": 300,
        "refresh_reuse_grace_secs": 0,
        "max_support_grant_secs": 60,
    })
}

/// Every tenant-scoped admin route, aimed at session `sid`, user `uid` and
/// service client `cid`, under tenant `t`.
fn routes(t: &str, sid: &str, uid: &str, cid: &str) -> Vec<Route> {
    let p = format!("/v1/tenants/{t}");
    vec![
        route(Method::GET, format!("{p}/sessions"), None),
        route(
            Method::GET,
            format!("{p}/sessions?status=all&user_id={uid}&q=alice&sort=created_desc&limit=5"),
            None,
        ),
        route(Method::GET, format!("{p}/sessions/{sid}"), None),
        route(
            Method::POST,
            format!("{p}/sessions/{sid}/revoke"),
            Some(json!({"reason": "attack"})),
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
        route(
            Method::POST,
            format!("{p}/sessions/revoke"),
            Some(json!({"filter": {"user_ids": [uid]}, "dry_run": true})),
        ),
        route(
            Method::POST,
            format!("{p}/users/{uid}/revoke-sessions"),
            Some(json!({})),
        ),
        route(Method::GET, format!("{p}/users"), None),
        route(Method::GET, format!("{p}/users?q=alice&limit=5"), None),
        route(
            Method::POST,
            format!("{p}/users"),
            Some(
                json!({"email": "evil@evil.test", "display_name": "Evil", "role": "org_admin", "password": PASSWORD}),
            ),
        ),
        route(Method::GET, format!("{p}/users/{uid}"), None),
        route(
            Method::PATCH,
            format!("{p}/users/{uid}"),
            Some(json!({"disabled": true, "display_name": "pwned", "role": "org_admin"})),
        ),
        route(
            Method::POST,
            format!("{p}/users/{uid}/password"),
            Some(json!({"password": "attacker chosen password"})),
        ),
        route(Method::GET, format!("{p}/audit"), None),
        route(
            Method::GET,
            format!("{p}/audit?action=login&actor_id={uid}"),
            None,
        ),
        route(Method::GET, format!("{p}/audit/export"), None),
        route(Method::GET, format!("{p}/audit/verify"), None),
        route(Method::GET, format!("{p}/policy"), None),
        route(Method::PUT, format!("{p}/policy"), Some(policy_body())),
        route(Method::GET, format!("{p}/clients"), None),
        route(
            Method::POST,
            format!("{p}/clients"),
            Some(json!({"name": "evil"})),
        ),
        route(Method::DELETE, format!("{p}/clients/{cid}"), None),
    ]
}

async fn call(app: &TestApp, r: &Route, token: Option<&str>) -> Resp {
    app.request(r.method.clone(), &r.path, token, r.body.clone())
        .await
}

struct World {
    app: TestApp,
    acme_admin: Tokens,
    member: Tokens,
    alice_id: String,
    alice: Tokens,
    acme_client: String,
    globex_admin: Tokens,
    gina: Tokens,
    root: Tokens,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let acme_admin = app.tenant_admin(ACME).await;
    let alice_id = app.user(ACME, ALICE, Role::Member).await;
    app.user(ACME, BOB, Role::Member).await;
    let alice = app.login(ACME, ALICE).await;
    let member = app.login(ACME, BOB).await;
    let r = app
        .post(
            &format!("/v1/tenants/{ACME}/clients"),
            Some(&acme_admin.access),
            json!({"name": "api"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let acme_client = r.body["client_id"].as_str().expect("client_id").to_owned();

    let globex_admin = app.tenant_admin(GLOBEX).await;
    app.user(GLOBEX, "gina@globex.test", Role::Member).await;
    let gina = app.login(GLOBEX, "gina@globex.test").await;
    let r = app
        .post(
            &format!("/v1/tenants/{GLOBEX}/clients"),
            Some(&globex_admin.access),
            json!({"name": "api"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let root = app.platform_login().await;
    World {
        app,
        acme_admin,
        member,
        alice_id,
        alice,
        acme_client,
        globex_admin,
        gina,
        root,
    }
}

/// What an acme admin sees of acme, to compare before and after the attacks.
async fn acme_state(w: &World) -> Value {
    let app = &w.app;
    let tok = Some(w.acme_admin.access.as_str());
    let get = |path: String| async move {
        let r = app.get(&path, tok).await;
        assert_ok(&r);
        r.body
    };
    let mut sessions = get(format!(
        "/v1/tenants/{ACME}/sessions?status=all&sort=created_desc"
    ))
    .await;
    // Activity moves with every request of the admin; compare the rest.
    for s in sessions["items"].as_array_mut().expect("items") {
        s.as_object_mut().expect("row").remove("last_activity_at");
        s.as_object_mut().expect("row").remove("expires_at");
    }
    json!({
        "sessions": sessions,
        "users": get(format!("/v1/tenants/{ACME}/users?limit=200")).await,
        "policy": get(format!("/v1/tenants/{ACME}/policy")).await,
        "clients": get(format!("/v1/tenants/{ACME}/clients")).await,
        "audit": verify(app, ACME, &w.acme_admin.access).await,
    })
}

/// Nothing changed for acme (and for globex's log), and the target still works.
async fn assert_untouched(w: &World, acme_before: &Value, globex_audit_before: &Value) {
    let app = &w.app;
    assert_eq!(&acme_state(w).await, acme_before, "acme changed");
    assert_eq!(
        &verify(app, GLOBEX, &w.globex_admin.access).await,
        globex_audit_before,
        "globex's audit log changed"
    );
    for t in [&w.alice, &w.member, &w.acme_admin] {
        assert_ok(&me(app, &t.access).await);
    }
    assert_ok(&me(app, &w.gina.access).await);
    let alice = app
        .get(
            &format!("/v1/tenants/{ACME}/users/{}", w.alice_id),
            Some(&w.acme_admin.access),
        )
        .await;
    assert_eq!(alice.body["disabled"], json!(false), "{}", alice.text);
    assert_eq!(alice.body["role"], json!("member"));
    let s = app
        .get(
            &format!("/v1/tenants/{ACME}/sessions/{}", w.alice.session_id),
            Some(&w.acme_admin.access),
        )
        .await;
    assert_eq!(s.body["status"], json!("active"), "{}", s.text);
    // The target can still sign in with the original password (last: it writes to the log).
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": ACME, "email": ALICE, "password": PASSWORD}),
        )
        .await;
    assert_ok(&r);
    let rr = app.refresh(&w.alice.refresh).await;
    assert_ok(&rr);
}

async fn snapshot(w: &World) -> (Value, Value) {
    (
        acme_state(w).await,
        verify(&w.app, GLOBEX, &w.globex_admin.access).await,
    )
}

#[tokio::test]
async fn a_member_of_the_tenant_is_forbidden_everywhere() {
    let w = world().await;
    let (acme, globex) = snapshot(&w).await;
    for r in routes(ACME, &w.alice.session_id, &w.alice_id, &w.acme_client) {
        let res = call(&w.app, &r, Some(&w.member.access)).await;
        assert_eq!(
            res.status.as_u16(),
            403,
            "{} {}: {}",
            r.method,
            r.path,
            res.text
        );
        res.assert_error(403, "forbidden");
    }
    assert_untouched(&w, &acme, &globex).await;
}

#[tokio::test]
async fn another_tenants_admin_is_forbidden_on_this_tenants_paths() {
    let w = world().await;
    let (acme, globex) = snapshot(&w).await;
    for r in routes(ACME, &w.alice.session_id, &w.alice_id, &w.acme_client) {
        let res = call(&w.app, &r, Some(&w.globex_admin.access)).await;
        assert_eq!(
            res.status.as_u16(),
            403,
            "{} {}: {}",
            r.method,
            r.path,
            res.text
        );
        res.assert_error(403, "forbidden");
    }
    // Also with a well-formed unknown id: still 403, not 404 (no probing).
    for r in routes(ACME, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID) {
        let res = call(&w.app, &r, Some(&w.globex_admin.access)).await;
        assert_eq!(
            res.status.as_u16(),
            403,
            "{} {}: {}",
            r.method,
            r.path,
            res.text
        );
    }
    assert_untouched(&w, &acme, &globex).await;
}

#[tokio::test]
async fn a_global_admin_without_a_grant_is_forbidden() {
    let w = world().await;
    let (acme, globex) = snapshot(&w).await;
    for r in routes(ACME, &w.alice.session_id, &w.alice_id, &w.acme_client) {
        let res = call(&w.app, &r, Some(&w.root.access)).await;
        assert_eq!(
            res.status.as_u16(),
            403,
            "{} {}: {}",
            r.method,
            r.path,
            res.text
        );
        res.assert_error(403, "forbidden");
    }
    assert_untouched(&w, &acme, &globex).await;
}

#[tokio::test]
async fn no_token_is_401_token_missing_everywhere() {
    let w = world().await;
    let (acme, globex) = snapshot(&w).await;
    for r in routes(ACME, &w.alice.session_id, &w.alice_id, &w.acme_client) {
        let res = call(&w.app, &r, None).await;
        assert_eq!(
            res.status.as_u16(),
            401,
            "{} {}: {}",
            r.method,
            r.path,
            res.text
        );
        res.assert_error(401, "token_missing");
        assert_eq!(
            res.header("www-authenticate"),
            Some(r#"Bearer realm="sessiond""#),
            "{} {}",
            r.method,
            r.path
        );
    }
    assert_untouched(&w, &acme, &globex).await;
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_under_ones_own_tenant() {
    let w = world().await;
    let (acme, globex) = snapshot(&w).await;
    let app = &w.app;
    let tok = Some(w.globex_admin.access.as_str());
    let g = format!("/v1/tenants/{GLOBEX}");
    let (sid, uid, cid) = (&w.alice.session_id, &w.alice_id, &w.acme_client);
    // Ids in the path: 404, the same answer as for an id that exists nowhere.
    let by_path = |sid: &str, uid: &str, cid: &str| {
        vec![
            route(Method::GET, format!("{g}/sessions/{sid}"), None),
            route(
                Method::POST,
                format!("{g}/sessions/{sid}/revoke"),
                Some(json!({"reason": "attack"})),
            ),
            route(Method::POST, format!("{g}/sessions/{sid}/revoke"), None),
            route(
                Method::POST,
                format!("{g}/users/{uid}/revoke-sessions"),
                Some(json!({})),
            ),
            route(Method::GET, format!("{g}/users/{uid}"), None),
            route(
                Method::PATCH,
                format!("{g}/users/{uid}"),
                Some(json!({"disabled": true})),
            ),
            route(
                Method::PATCH,
                format!("{g}/users/{uid}"),
                Some(json!({"display_name": "pwned"})),
            ),
            route(
                Method::POST,
                format!("{g}/users/{uid}/password"),
                Some(json!({"password": "attacker chosen password"})),
            ),
            route(Method::DELETE, format!("{g}/clients/{cid}"), None),
        ]
    };
    for (foreign, unknown) in by_path(sid, uid, cid)
        .into_iter()
        .zip(by_path(UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID))
    {
        let res = call(app, &foreign, tok).await;
        assert_eq!(
            res.status.as_u16(),
            404,
            "{} {}: {}",
            foreign.method,
            foreign.path,
            res.text
        );
        res.assert_error(404, "not_found");
        let other = call(app, &unknown, tok).await;
        assert_eq!(
            (other.status, &other.body),
            (res.status, &res.body),
            "{} {}",
            foreign.method,
            foreign.path
        );
    }
    // Ids in a body or query: no effect, and the same answer as for unknown ids.
    let by_body = |sid: &str, uid: &str| {
        vec![
            route(
                Method::POST,
                format!("{g}/sessions/revoke"),
                Some(json!({"session_ids": [sid]})),
            ),
            route(
                Method::POST,
                format!("{g}/sessions/revoke"),
                Some(json!({"session_ids": [sid], "dry_run": true})),
            ),
            route(
                Method::POST,
                format!("{g}/sessions/revoke"),
                Some(json!({"filter": {"user_ids": [uid]}})),
            ),
            route(
                Method::POST,
                format!("{g}/sessions/revoke"),
                Some(json!({"filter": {"user_ids": [uid]}, "dry_run": true})),
            ),
            route(
                Method::GET,
                format!("{g}/sessions?status=all&user_id={uid}"),
                None,
            ),
            route(Method::GET, format!("{g}/audit?actor_id={uid}"), None),
        ]
    };
    for (foreign, unknown) in by_body(sid, uid)
        .into_iter()
        .zip(by_body(UNKNOWN_ID, UNKNOWN_ID))
    {
        let res = call(app, &foreign, tok).await;
        let other = call(app, &unknown, tok).await;
        assert_eq!(
            (other.status, &other.body),
            (res.status, &res.body),
            "{} {}",
            foreign.method,
            foreign.path
        );
        match res.status.as_u16() {
            404 => res.assert_error(404, "not_found"),
            200 => {
                let b = &res.body;
                let nothing = b["revoked"] == json!(0)
                    || b == &json!({"would_revoke": 0})
                    || b["items"] == json!([]);
                assert!(nothing, "{} {}: {}", foreign.method, foreign.path, res.text);
            }
            s => panic!(
                "{} {}: unexpected {s}: {}",
                foreign.method, foreign.path, res.text
            ),
        }
    }
    assert_untouched(&w, &acme, &globex).await;
}

/// Without rights, a tenant that exists, one that does not, and a name no
/// tenant could have all get the same answer: existence is not probeable.
#[tokio::test]
async fn existing_missing_and_malformed_tenants_answer_alike() {
    let w = world().await;
    for caller in [&w.globex_admin, &w.member, &w.root] {
        for t in [ACME, "no-such-tenant", "NOT_A_SLUG!"] {
            for r in routes(t, UNKNOWN_ID, UNKNOWN_ID, UNKNOWN_ID) {
                let res = call(&w.app, &r, Some(&caller.access)).await;
                assert_eq!(
                    (res.status.as_u16(), res.code()),
                    (403, "forbidden"),
                    "{} {}: {}",
                    r.method,
                    r.path,
                    res.text
                );
            }
        }
    }
}
