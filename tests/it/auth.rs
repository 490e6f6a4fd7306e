//! SPEC §4 authentication flows through the real router, plus tenant
//! creation (§6), user creation and policy (§5).

use std::sync::Arc;

use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::support::{PASSWORD, ROOT_EMAIL, Resp, T0, TestApp, Tokens};
use crate::tokens::{jwt_claims, jwt_header};

const MEMBER: &str = "m@acme.test";

/// A policy body (PUT replaces the policy; left-out fields take defaults).
fn policy(idle: i64, grace: i64) -> Value {
    json!({
        "access_token_ttl_secs": 300,
        "idle_timeout_secs": idle,
        "absolute_timeout_secs": 36_000,
        "refresh_reuse_grace_secs": grace,
        "max_support_grant_secs": 28_800,
    })
}

/// Tenant `acme` with a member; returns the admin's tokens.
async fn acme(app: &TestApp) -> Tokens {
    let admin = app.tenant_admin("acme").await;
    app.user("acme", MEMBER, Role::Member).await;
    admin
}

async fn set_policy(app: &TestApp, slug: &str, admin: &Tokens, body: Value) {
    let r = app
        .put(
            &format!("/v1/tenants/{slug}/policy"),
            Some(&admin.access),
            body.clone(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // Every field sent is stored; one left out keeps its default.
    let mut want = body;
    for (field, default) in [
        ("min_password_length", json!(8)),
        ("max_sessions_per_user", json!(0)),
        ("session_limit_action", json!("evict_oldest")),
    ] {
        if want.get(field).is_none() {
            want[field] = default;
        }
    }
    assert_eq!(r.body, want);
}

async fn me(app: &TestApp, access: &str) -> Resp {
    app.get("/v1/auth/me", Some(access)).await
}

#[track_caller]
fn assert_ok(r: &Resp) {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[track_caller]
fn assert_revoked(r: &Resp, reason: &str) {
    r.assert_error(401, "session_revoked");
    assert_eq!(r.body["revoked_reason"], reason, "{}", r.text);
    assert_eq!(r.body["retryable"], json!(false));
    let www = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(www.contains(r#"error="invalid_token""#), "{www}");
    assert!(
        www.contains(r#"error_description="session_revoked""#),
        "{www}"
    );
}

fn login_body(tenant: &str, email: &str, password: &str) -> Value {
    json!({"tenant": tenant, "email": email, "password": password})
}

// ------------------------------------------------------------------ login

#[tokio::test]
async fn tenant_login_returns_a_bearer_pair() {
    let app = TestApp::new().await;
    acme(&app).await;
    let r = app
        .post("/v1/auth/login", None, login_body("acme", MEMBER, PASSWORD))
        .await;
    assert_ok(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], json!(300));
    let t = Tokens::from_body(&r.body);
    // UUIDv7, lower-case hyphenated.
    assert_eq!(t.session_id.len(), 36);
    assert_eq!(t.session_id.as_bytes()[14], b'7', "{}", t.session_id);
    assert_eq!(t.session_id, t.session_id.to_lowercase());
    let random = t
        .refresh
        .strip_prefix("rt1.acme.")
        .expect("refresh token names its tenant");
    assert!(random.len() >= 43, "≥ 256 bits: {random}");
    assert!(
        random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let h = jwt_header(&t.access);
    assert_eq!(
        (h["alg"].as_str(), h["typ"].as_str()),
        (Some("EdDSA"), Some("at+jwt"))
    );
    let c = jwt_claims(&t.access);
    assert_eq!(c["tid"], "acme");
    assert_eq!(c["role"], "member");
    assert_eq!(c["sid"], json!(t.session_id));
    assert_eq!(c["exp"].as_i64(), Some(T0.unix_secs() + 300));
    // Email matching ignores case.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            login_body("acme", "M@ACME.test", PASSWORD),
        )
        .await;
    assert_ok(&r);
    assert_ne!(
        r.body["session_id"],
        json!(t.session_id),
        "each login opens a new session"
    );
}

#[tokio::test]
async fn platform_login_issues_a_platform_token() {
    let app = TestApp::new().await;
    let r = app
        .post(
            "/v1/platform/auth/login",
            None,
            json!({"email": ROOT_EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_ok(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    let t = Tokens::from_body(&r.body);
    assert!(t.refresh.starts_with("rt1._platform."), "{}", t.refresh);
    let c = jwt_claims(&t.access);
    assert_eq!(c["tid"], "_platform");
    assert_eq!(c["role"], "global_admin");
    let me = me(&app, &t.access).await;
    assert_ok(&me);
    assert_eq!(me.body["user"]["email"], ROOT_EMAIL);
    assert_eq!(me.body["user"]["role"], "global_admin");
    assert_eq!(me.body["tenant"], Value::Null);
    let v = app.get("/v1/auth/verify", Some(&t.access)).await;
    assert_ok(&v);
    assert_eq!(v.header("x-session-tenant"), Some("_platform"));

    // A global admin is not a tenant user, and a tenant user is not a global admin.
    app.tenant("acme").await;
    let r = app
        .post(
            "/v1/auth/login",
            None,
            login_body("acme", ROOT_EMAIL, PASSWORD),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let r = app
        .post(
            "/v1/platform/auth/login",
            None,
            json!({"email": "admin@acme.test", "password": PASSWORD}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let r = app
        .post(
            "/v1/platform/auth/login",
            None,
            json!({"email": ROOT_EMAIL, "password": "wrong password!"}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
}

#[tokio::test]
async fn failed_logins_are_indistinguishable() {
    let app = TestApp::new().await;
    acme(&app).await;
    app.user("acme", "other@acme.test", Role::Member).await;
    let cases = [
        ("unknown tenant", login_body("nosuch", MEMBER, PASSWORD)),
        (
            "malformed tenant",
            login_body("Not A Slug!", MEMBER, PASSWORD),
        ),
        (
            "unknown user",
            login_body("acme", "nobody@acme.test", PASSWORD),
        ),
        (
            "wrong password",
            login_body("acme", "other@acme.test", "wrong password!"),
        ),
    ];
    let mut first: Option<Resp> = None;
    for (what, body) in cases {
        let r = app.post("/v1/auth/login", None, body).await;
        r.assert_error(401, "invalid_credentials");
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                r#"Bearer realm="sessiond", error="invalid_token", error_description="invalid_credentials""#
            ),
            "{what}"
        );
        if let Some(f) = &first {
            assert_eq!(r.body, f.body, "{what} answers differently");
        } else {
            first = Some(r);
        }
    }
}

#[tokio::test]
async fn me_returns_user_tenant_and_session() {
    let app = TestApp::new().await;
    acme(&app).await;
    let uid = app.user("acme", "dora@acme.test", Role::Member).await;
    let t = app.login("acme", "dora@acme.test").await;
    let r = me(&app, &t.access).await;
    assert_ok(&r);
    assert_eq!(
        r.body,
        json!({
            "user": {"id": uid, "email": "dora@acme.test", "display_name": "dora", "role": "member"},
            "tenant": "acme",
            "tenant_name": "Tenant acme",
            "session_id": t.session_id,
        })
    );
    // The console's own route answers the same.
    let b = app.get("/v1/browser/me", Some(&t.access)).await;
    assert_eq!(b.body, r.body);
    let root = app.platform_login().await;
    let p = me(&app, &root.access).await;
    assert_eq!(p.body["tenant"], Value::Null);
    assert_eq!(p.body["tenant_name"], Value::Null);
}

#[tokio::test]
async fn verify_is_forward_auth() {
    let app = TestApp::new().await;
    acme(&app).await;
    let uid = app.user("acme", "v@acme.test", Role::Member).await;
    let t = app.login("acme", "v@acme.test").await;
    let r = app.get("/v1/auth/verify", Some(&t.access)).await;
    assert_ok(&r);
    assert_eq!(r.header("x-session-user"), Some(uid.as_str()));
    assert_eq!(r.header("x-session-tenant"), Some("acme"));
    assert_eq!(r.header("x-session-id"), Some(t.session_id.as_str()));
    assert_eq!(r.header("x-session-role"), Some("member"));

    // The role is the stored one, not the token's claim: a promotion shows
    // on the very next check with the same token (and so would a demotion).
    let admin = app.login("acme", "admin@acme.test").await;
    let p = app
        .patch(
            &format!("/v1/tenants/acme/users/{uid}"),
            Some(&admin.access),
            json!({"role": "org_admin"}),
        )
        .await;
    assert_ok(&p);
    let r = app.get("/v1/auth/verify", Some(&t.access)).await;
    assert_eq!(r.header("x-session-role"), Some("org_admin"));
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&t.access)
        .expect("claims")
        .claims;
    assert_eq!(
        claims["role"], "member",
        "the token itself still says member"
    );

    let r = app.get("/v1/auth/verify", None).await;
    r.assert_error(401, "token_missing");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="sessiond""#)
    );
    assert!(r.header("x-session-user").is_none());

    let r = app.get("/v1/auth/verify", Some("garbage")).await;
    r.assert_error(401, "token_invalid");
    assert!(r.header("x-session-user").is_none());
}

// ----------------------------------------------------------------- logout

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    let other = app.login("acme", MEMBER).await;
    let r = app
        .post("/v1/auth/logout", Some(&t.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert_revoked(&me(&app, &t.access).await, "user_logout");
    assert_revoked(
        &app.get("/v1/auth/verify", Some(&t.access)).await,
        "user_logout",
    );
    assert_revoked(&app.refresh(&t.refresh).await, "user_logout");
    assert_revoked(
        &app.post("/v1/auth/logout", Some(&t.access), json!({}))
            .await,
        "user_logout",
    );
    // Only that session.
    assert_ok(&me(&app, &other.access).await);
    // Without a token.
    app.post("/v1/auth/logout", None, json!({}))
        .await
        .assert_error(401, "token_missing");
}

// ---------------------------------------------------------------- refresh

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t0 = app.login("acme", MEMBER).await;
    app.clock.advance_secs(10);
    let r = app.refresh(&t0.refresh).await;
    assert_ok(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], json!(300));
    let t1 = Tokens::from_body(&r.body);
    assert_ne!(t1.refresh, t0.refresh);
    assert_ne!(t1.access, t0.access);
    assert!(t1.refresh.starts_with("rt1.acme."));
    assert_eq!(t1.session_id, t0.session_id, "same session");
    assert_eq!(
        jwt_claims(&t1.access)["exp"].as_i64(),
        Some(T0.unix_secs() + 310)
    );
    assert_ok(&me(&app, &t0.access).await);
    assert_ok(&me(&app, &t1.access).await);
    // The new refresh token rotates again.
    let r = app.refresh(&t1.refresh).await;
    assert_ok(&r);
    assert_ok(&me(&app, &Tokens::from_body(&r.body).access).await);
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_the_chain() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t0 = app.login("acme", MEMBER).await;
    let bystander = app.login("acme", MEMBER).await;
    let t1 = Tokens::from_body(&app.refresh(&t0.refresh).await.body);
    let r = app.refresh(&t0.refresh).await;
    r.assert_error(401, "refresh_token_reused");
    assert_eq!(r.body["retryable"], json!(false));
    assert_revoked(&me(&app, &t1.access).await, "refresh_token_reuse");
    assert_revoked(&me(&app, &t0.access).await, "refresh_token_reuse");
    assert_revoked(&app.refresh(&t1.refresh).await, "refresh_token_reuse");
    // Another session of the same user is not affected.
    assert_ok(&me(&app, &bystander.access).await);
}

#[tokio::test]
async fn malformed_or_unknown_refresh_tokens_are_invalid() {
    let app = TestApp::new().await;
    acme(&app).await;
    app.tenant("globex").await;
    let t = app.login("acme", MEMBER).await;
    let random = t
        .refresh
        .strip_prefix("rt1.acme.")
        .expect("prefix")
        .to_owned();
    let cases = [
        "garbage".to_owned(),
        String::new(),
        "rt1.acme.short".to_owned(),
        format!("rt1.acme.{}", "A".repeat(43)),
        // The same secret presented under another tenant's name.
        format!("rt1.globex.{random}"),
        format!("rt1._platform.{random}"),
        format!("rt2.acme.{random}"),
        t.access.clone(),
    ];
    for bad in cases {
        let r = app.refresh(&bad).await;
        r.assert_error(401, "refresh_token_invalid");
        assert_eq!(
            r.header("www-authenticate"),
            Some(
                r#"Bearer realm="sessiond", error="invalid_token", error_description="refresh_token_invalid""#
            )
        );
    }
    // None of that disturbed the real chain.
    assert_ok(&app.refresh(&t.refresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_exactly_one_wins() {
    let app = Arc::new(TestApp::new().await);
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (app, barrier, token) = (app.clone(), barrier.clone(), t.refresh.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.refresh(&token).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let r = task.await.expect("task");
        match r.status.as_u16() {
            200 => ok += 1,
            401 => assert!(
                ["refresh_token_reused", "session_revoked"].contains(&r.code()),
                "loser answered {}",
                r.text
            ),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent refresh may succeed");
}

#[tokio::test]
async fn grace_window_answers_a_retry_with_the_same_successor() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    set_policy(&app, "acme", &admin, policy(1800, 10)).await;
    let t0 = app.login("acme", MEMBER).await;
    let r = app.refresh(&t0.refresh).await;
    assert_ok(&r);
    let t1 = Tokens::from_body(&r.body);
    app.clock.advance_secs(5);
    let r = app.refresh(&t0.refresh).await;
    assert_ok(&r);
    let dup = Tokens::from_body(&r.body);
    assert_eq!(dup.session_id, t0.session_id);
    assert_eq!(dup.refresh, t1.refresh, "a retry gets the same successor");
    assert_ok(&me(&app, &dup.access).await);
    // Past the window (measured from first use), a replay is reuse.
    app.clock.advance_secs(6);
    app.refresh(&t0.refresh)
        .await
        .assert_error(401, "refresh_token_reused");
    assert_revoked(&me(&app, &dup.access).await, "refresh_token_reuse");
    assert_revoked(&app.refresh(&t1.refresh).await, "refresh_token_reuse");
}

#[tokio::test]
async fn once_the_successor_is_used_its_predecessor_is_a_replay_even_in_the_window() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    set_policy(&app, "acme", &admin, policy(1800, 60)).await;
    let t0 = app.login("acme", MEMBER).await;
    let t1 = Tokens::from_body(&app.refresh(&t0.refresh).await.body);
    let t2 = app.refresh(&t1.refresh).await;
    assert_ok(&t2);
    let t2 = Tokens::from_body(&t2.body);
    app.refresh(&t0.refresh)
        .await
        .assert_error(401, "refresh_token_reused");
    assert_revoked(&me(&app, &t2.access).await, "refresh_token_reuse");
}

#[tokio::test]
async fn default_grace_is_zero() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t0 = app.login("acme", MEMBER).await;
    assert_ok(&app.refresh(&t0.refresh).await);
    // Same instant: still a replay.
    app.refresh(&t0.refresh)
        .await
        .assert_error(401, "refresh_token_reused");
}

// ----------------------------------------------------------------- expiry

#[tokio::test]
async fn expired_access_token_is_retryable_after_refresh() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    app.clock.advance_secs(299);
    assert_ok(&me(&app, &t.access).await);
    app.clock.advance_secs(2);
    let r = me(&app, &t.access).await;
    r.assert_error(401, "token_expired");
    assert_eq!(r.body["retryable"], json!(true));
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="sessiond", error="invalid_token", error_description="token_expired""#
        )
    );
    let r = app.refresh(&t.refresh).await;
    assert_ok(&r);
    let t1 = Tokens::from_body(&r.body);
    assert_ok(&me(&app, &t1.access).await);
}

#[tokio::test]
async fn idle_timeout_expires_the_session() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    set_policy(&app, "acme", &admin, policy(60, 0)).await;
    let t = app.login("acme", MEMBER).await;
    app.clock.advance_secs(61);
    // The access token itself (TTL 300) has not expired: the session has.
    let r = me(&app, &t.access).await;
    r.assert_error(401, "session_expired");
    assert_eq!(r.body["retryable"], json!(false));
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="sessiond", error="invalid_token", error_description="session_expired""#
        )
    );
    app.refresh(&t.refresh)
        .await
        .assert_error(401, "session_expired");
    app.get("/v1/auth/verify", Some(&t.access))
        .await
        .assert_error(401, "session_expired");
}

#[tokio::test]
async fn activity_keeps_the_session_alive() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    set_policy(&app, "acme", &admin, policy(60, 0)).await;
    let t = app.login("acme", MEMBER).await;
    app.clock.advance_secs(40);
    assert_ok(&me(&app, &t.access).await);
    app.clock.advance_secs(40);
    assert_ok(&me(&app, &t.access).await);
    app.clock.advance_secs(40);
    assert_ok(&me(&app, &t.access).await);
    // A refresh counts as activity too.
    app.clock.advance_secs(50);
    let r = app.refresh(&t.refresh).await;
    assert_ok(&r);
    let t1 = Tokens::from_body(&r.body);
    app.clock.advance_secs(50);
    assert_ok(&me(&app, &t1.access).await);
    // Idle is measured from the last use.
    app.clock.advance_secs(61);
    me(&app, &t1.access)
        .await
        .assert_error(401, "session_expired");
}

#[tokio::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let mut p = policy(60, 0);
    p["absolute_timeout_secs"] = json!(300);
    set_policy(&app, "acme", &admin, p).await;
    let t = app.login("acme", MEMBER).await;
    let mut refresh = t.refresh.clone();
    for _ in 0..5 {
        app.clock.advance_secs(55);
        let r = app.refresh(&refresh).await;
        assert_ok(&r);
        refresh = Tokens::from_body(&r.body).refresh;
    }
    // 275 s in; at 300 s the session ends however active it is.
    app.clock.advance_secs(25);
    app.refresh(&refresh)
        .await
        .assert_error(401, "session_expired");
}

// ------------------------------------------------------------- RFC 7009

#[tokio::test]
async fn oauth_revoke_with_an_access_token() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    let r = app
        .post_form("/v1/oauth/revoke", None, &format!("token={}", t.access))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_revoked(&me(&app, &t.access).await, "user_logout");
    assert_revoked(&app.refresh(&t.refresh).await, "user_logout");
    // Revoking again is still 200.
    let r = app
        .post_form("/v1/oauth/revoke", None, &format!("token={}", t.access))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[tokio::test]
async fn oauth_revoke_with_a_refresh_token() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    let r = app
        .post_form("/v1/oauth/revoke", None, &format!("token={}", t.refresh))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_revoked(&me(&app, &t.access).await, "user_logout");
    assert_revoked(&app.refresh(&t.refresh).await, "user_logout");
}

#[tokio::test]
async fn oauth_revoke_with_an_expired_access_token() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    app.clock.advance_secs(301);
    let r = app
        .post_form(
            "/v1/oauth/revoke",
            None,
            &format!("token={}&token_type_hint=access_token", t.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_revoked(&app.refresh(&t.refresh).await, "user_logout");
}

#[tokio::test]
async fn oauth_revoke_with_garbage_is_200_and_harmless() {
    let app = TestApp::new().await;
    acme(&app).await;
    let t = app.login("acme", MEMBER).await;
    let random = t
        .refresh
        .strip_prefix("rt1.acme.")
        .expect("prefix")
        .to_owned();
    for token in [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        format!("rt1.acme.{}", "B".repeat(43)),
        format!("rt1.acme.{random}x"),
    ] {
        let r = app
            .post_form("/v1/oauth/revoke", None, &format!("token={token}"))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{token}: {}", r.text);
    }
    assert_ok(&me(&app, &t.access).await);
}

// ---------------------------------------------------------- rate limiting

#[tokio::test]
async fn repeated_failures_delay_the_pair_exponentially() {
    let app = TestApp::new().await;
    acme(&app).await;
    app.user("acme", "bystander@acme.test", Role::Member).await;
    let wrong = || login_body("acme", MEMBER, "wrong password!");
    for i in 0..3 {
        let r = app.post("/v1/auth/login", None, wrong()).await;
        assert_eq!(r.code(), "invalid_credentials", "attempt {i}: {}", r.text);
    }
    let retry_after = |r: &Resp| -> u64 {
        r.assert_error(429, "rate_limited");
        assert_eq!(r.body["retryable"], json!(true));
        r.header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("delay-seconds")
    };
    // Three free failures, then 1 s, 2 s, 4 s … before each further try.
    let r = app
        .post("/v1/auth/login", None, login_body("acme", MEMBER, PASSWORD))
        .await;
    assert_eq!(retry_after(&r), 1);
    app.clock.advance_secs(1);
    app.post("/v1/auth/login", None, wrong())
        .await
        .assert_error(401, "invalid_credentials");
    // Case variants of the email are the same account.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            login_body("acme", "M@Acme.Test", PASSWORD),
        )
        .await;
    assert_eq!(retry_after(&r), 2);
    // Another account is not slowed down.
    app.login("acme", "bystander@acme.test").await;
    app.clock.advance_secs(2);
    app.login("acme", MEMBER).await;
}

// --------------------------------------------------------- platform tenants

/// SPEC §6's body, with the first admin's role spelled out.
fn new_tenant(slug: &str) -> Value {
    json!({
        "slug": slug,
        "name": "Globex Corp",
        "first_admin": {
            "email": "boss@globex.test",
            "display_name": "Boss",
            "password": "a long enough password",
            "role": "org_admin",
        },
    })
}

#[tokio::test]
async fn tenant_creation_accepts_the_spec_body_without_a_role() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let mut body = new_tenant("globex");
    body["first_admin"]
        .as_object_mut()
        .expect("object")
        .remove("role");
    let r = app
        .post("/v1/platform/tenants", Some(&root.access), body)
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let login = app
        .post(
            "/v1/auth/login",
            None,
            login_body("globex", "boss@globex.test", "a long enough password"),
        )
        .await;
    assert_ok(&login);
    assert_eq!(
        me(&app, &Tokens::from_body(&login.body).access).await.body["user"]["role"],
        "org_admin"
    );
}

#[tokio::test]
async fn global_admin_creates_and_lists_tenants() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let r = app
        .post(
            "/v1/platform/tenants",
            Some(&root.access),
            new_tenant("globex"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["slug"], "globex");
    assert_eq!(r.body["name"], "Globex Corp");
    assert!(
        !r.text.contains("a long enough password"),
        "password echoed: {}",
        r.text
    );

    let login = app
        .post(
            "/v1/auth/login",
            None,
            login_body("globex", "boss@globex.test", "a long enough password"),
        )
        .await;
    assert_ok(&login);
    let boss = Tokens::from_body(&login.body);
    assert_eq!(
        me(&app, &boss.access).await.body["user"]["role"],
        "org_admin"
    );

    app.post(
        "/v1/platform/tenants",
        Some(&root.access),
        new_tenant("globex"),
    )
    .await
    .assert_error(409, "conflict");

    let list = app.get("/v1/platform/tenants", Some(&root.access)).await;
    assert_ok(&list);
    let items = list.body.as_array().expect("array of tenants");
    let globex = items
        .iter()
        .find(|t| t["slug"] == "globex")
        .expect("globex listed");
    assert_eq!(globex["name"], "Globex Corp");
    assert!(
        globex["created_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    assert_eq!(globex["active_grant"], Value::Null);
    assert!(
        !list.text.contains("boss@globex.test"),
        "tenant data leaked to the platform list"
    );
}

#[tokio::test]
async fn tenant_slug_and_body_are_validated() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    for bad in [
        "Globex",
        "gl",
        "-globex",
        "globex-",
        "glo_bex",
        "g".repeat(33).as_str(),
        "",
    ] {
        let r = app
            .post("/v1/platform/tenants", Some(&root.access), new_tenant(bad))
            .await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"].get("slug").is_some(),
            "{bad:?}: {}",
            r.text
        );
    }
    let mut b = new_tenant("globex");
    b["first_admin"]["email"] = json!("not-an-email");
    let r = app
        .post("/v1/platform/tenants", Some(&root.access), b)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("first_admin.email").is_some(),
        "{}",
        r.text
    );
    // Nothing was created by the failures.
    let list = app.get("/v1/platform/tenants", Some(&root.access)).await;
    assert_eq!(list.body, json!([]));
}

#[tokio::test]
async fn only_global_admins_reach_the_platform_api() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let member = app.login("acme", MEMBER).await;
    for t in [&admin, &member] {
        app.post(
            "/v1/platform/tenants",
            Some(&t.access),
            new_tenant("globex"),
        )
        .await
        .assert_error(403, "forbidden");
        app.get("/v1/platform/tenants", Some(&t.access))
            .await
            .assert_error(403, "forbidden");
    }
    app.post("/v1/platform/tenants", None, new_tenant("globex"))
        .await
        .assert_error(401, "token_missing");
    app.get("/v1/platform/tenants", None)
        .await
        .assert_error(401, "token_missing");
}

// ------------------------------------------------------------------ users

fn new_user(email: &str) -> Value {
    json!({"email": email, "display_name": "New Person", "role": "member", "password": "another good password"})
}

#[tokio::test]
async fn org_admin_creates_users_who_can_log_in() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let r = app
        .post(
            "/v1/tenants/acme/users",
            Some(&admin.access),
            new_user("new@acme.test"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["email"], "new@acme.test");
    assert_eq!(r.body["role"], "member");
    assert!(r.body["id"].is_string());
    assert!(
        !r.text.contains("another good password") && !r.text.contains("argon2"),
        "{}",
        r.text
    );
    let login = app
        .post(
            "/v1/auth/login",
            None,
            login_body("acme", "new@acme.test", "another good password"),
        )
        .await;
    assert_ok(&login);
    let me = me(&app, &Tokens::from_body(&login.body).access).await;
    assert_eq!(me.body["user"]["id"], r.body["id"]);

    app.post(
        "/v1/tenants/acme/users",
        Some(&admin.access),
        new_user("new@acme.test"),
    )
    .await
    .assert_error(409, "conflict");
    app.post(
        "/v1/tenants/acme/users",
        Some(&admin.access),
        new_user("NEW@acme.test"),
    )
    .await
    .assert_error(409, "conflict");

    let mut weak = new_user("weak@acme.test");
    weak["password"] = json!("short");
    let r = app
        .post("/v1/tenants/acme/users", Some(&admin.access), weak)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("password").is_some(), "{}", r.text);

    let mut boss = new_user("boss@acme.test");
    boss["role"] = json!("global_admin");
    app.post("/v1/tenants/acme/users", Some(&admin.access), boss)
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn only_the_tenants_admins_create_users() {
    let app = TestApp::new().await;
    acme(&app).await;
    let member = app.login("acme", MEMBER).await;
    let other_admin = app.tenant_admin("globex").await;
    let root = app.platform_login().await;
    for (who, t) in [
        ("member", &member),
        ("other tenant's admin", &other_admin),
        ("global admin without grant", &root),
    ] {
        let r = app
            .post(
                "/v1/tenants/acme/users",
                Some(&t.access),
                new_user("x@acme.test"),
            )
            .await;
        assert_eq!(r.status.as_u16(), 403, "{who}: {}", r.text);
        assert_eq!(r.code(), "forbidden", "{who}");
    }
    // None of them created the user.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            login_body("acme", "x@acme.test", "another good password"),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
}

// ----------------------------------------------------------------- policy

#[tokio::test]
async fn policy_round_trips_and_takes_effect() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let r = app
        .get("/v1/tenants/acme/policy", Some(&admin.access))
        .await;
    assert_ok(&r);
    assert_eq!(
        r.body,
        json!({
            "access_token_ttl_secs": 300,
            "idle_timeout_secs": 1800,
            "absolute_timeout_secs": 36000,
            "refresh_reuse_grace_secs": 0,
            "max_support_grant_secs": 28800,
            "min_password_length": 8,
            "max_sessions_per_user": 0,
            "session_limit_action": "evict_oldest",
        })
    );
    let mut p = policy(900, 5);
    p["access_token_ttl_secs"] = json!(120);
    p["min_password_length"] = json!(16);
    p["max_sessions_per_user"] = json!(0);
    p["session_limit_action"] = json!("evict_oldest");
    set_policy(&app, "acme", &admin, p.clone()).await;
    assert_eq!(
        app.get("/v1/tenants/acme/policy", Some(&admin.access))
            .await
            .body,
        p
    );
    // The password policy applies to new passwords at once.
    let short = json!({"email": "p@acme.test", "display_name": "P", "role": "member", "password": "fifteen chars!!"});
    let r = app
        .post("/v1/tenants/acme/users", Some(&admin.access), short)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(r.text.contains("at least 16"), "{}", r.text);
    let ok = json!({"email": "p@acme.test", "display_name": "P", "role": "member", "password": "sixteen chars!!!"});
    let r = app
        .post("/v1/tenants/acme/users", Some(&admin.access), ok)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for bad in [7, 129] {
        let mut q = p.clone();
        q["min_password_length"] = json!(bad);
        app.put("/v1/tenants/acme/policy", Some(&admin.access), q)
            .await
            .assert_error(400, "validation_failed");
    }
    let r = app
        .post("/v1/auth/login", None, login_body("acme", MEMBER, PASSWORD))
        .await;
    assert_eq!(r.body["expires_in"], json!(120));
    let c = jwt_claims(r.body["access_token"].as_str().expect("access"));
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        120
    );
}

#[tokio::test]
async fn invalid_policies_are_refused_and_name_the_field() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let before = app
        .get("/v1/tenants/acme/policy", Some(&admin.access))
        .await
        .body;

    let mut p = policy(1800, 0);
    p["access_token_ttl_secs"] = json!(-1);
    let r = app
        .put("/v1/tenants/acme/policy", Some(&admin.access), p)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("access_token_ttl_secs").is_some(),
        "{}",
        r.text
    );

    let mut p = policy(7200, 0);
    p["absolute_timeout_secs"] = json!(3600);
    let r = app
        .put("/v1/tenants/acme/policy", Some(&admin.access), p)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("absolute_timeout_secs").is_some(),
        "{}",
        r.text
    );

    // A field left out takes its default, and the whole is still checked:
    // the default idle timeout (1800 s) exceeds this absolute timeout.
    let r = app
        .put(
            "/v1/tenants/acme/policy",
            Some(&admin.access),
            json!({"absolute_timeout_secs": 900}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("absolute_timeout_secs").is_some(),
        "{}",
        r.text
    );
    app.put(
        "/v1/tenants/acme/policy",
        Some(&admin.access),
        json!({"idle_timeout_secs": 1800, "nope": 1}),
    )
    .await
    .assert_error(400, "validation_failed");

    assert_eq!(
        app.get("/v1/tenants/acme/policy", Some(&admin.access))
            .await
            .body,
        before,
        "nothing changed"
    );

    let r = app
        .put(
            "/v1/tenants/acme/policy",
            Some(&admin.access),
            json!({"idle_timeout_secs": 600}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["idle_timeout_secs"], json!(600));
    assert_eq!(r.body["access_token_ttl_secs"], json!(300), "the default");
    assert_eq!(r.body["min_password_length"], json!(8), "the default");

    let member = app.login("acme", MEMBER).await;
    app.get("/v1/tenants/acme/policy", Some(&member.access))
        .await
        .assert_error(403, "forbidden");
    app.put(
        "/v1/tenants/acme/policy",
        Some(&member.access),
        policy(60, 0),
    )
    .await
    .assert_error(403, "forbidden");
    let other = app.tenant_admin("globex").await;
    app.put(
        "/v1/tenants/acme/policy",
        Some(&other.access),
        policy(60, 0),
    )
    .await
    .assert_error(403, "forbidden");
}

#[tokio::test]
async fn platform_sessions_refresh_and_log_out_like_tenant_ones() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let r = app.refresh(&root.refresh).await;
    assert_ok(&r);
    let next = Tokens::from_body(&r.body);
    assert!(next.refresh.starts_with("rt1._platform."));
    assert_eq!(jwt_claims(&next.access)["tid"], "_platform");
    assert_ok(&app.get("/v1/platform/tenants", Some(&next.access)).await);
    app.refresh(&root.refresh)
        .await
        .assert_error(401, "refresh_token_reused");
    assert_revoked(&me(&app, &next.access).await, "refresh_token_reuse");

    let root = app.platform_login().await;
    let r = app
        .post("/v1/auth/logout", Some(&root.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert_revoked(
        &app.get("/v1/platform/tenants", Some(&root.access)).await,
        "user_logout",
    );
}

/// A failed login for a tenant that does not exist is recorded in the platform
/// log (so every failure costs the same write), bounded and without the password.
#[tokio::test]
async fn failed_login_for_an_unknown_tenant_is_in_the_platform_log() {
    let app = TestApp::new().await;
    let long = "x".repeat(5000);
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": format!("nope-{long}"), "email": "who@nope.test", "password": "secret-guess-1"}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let root = app.platform_login().await;
    let audit = app
        .get("/v1/platform/audit?action=login_failed", Some(&root.access))
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let items = audit.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", audit.text);
    let tenant = items[0]["details"]["unknown_tenant"].as_str().unwrap();
    assert!(
        tenant.starts_with("nope-") && tenant.len() <= 64,
        "{tenant}"
    );
    assert_eq!(items[0]["target"], "who@nope.test");
    assert!(!audit.text.contains("secret-guess-1"));
}

// ----------------------------------------------------- verified-token cache

/// A token whose signature check is cached is still refused the moment its
/// session, user or valid-after mark says so, and at its expiry.
#[tokio::test]
async fn the_verified_token_cache_never_outlives_authorization() {
    let app = TestApp::new().await;
    let admin = acme(&app).await;
    let uid = |t: &Tokens| t.session_id.clone();
    let verify = |t: String| {
        let app = &app;
        async move { app.get("/v1/auth/verify", Some(&t)).await }
    };

    // Admin revoke.
    let t = app.login("acme", MEMBER).await;
    assert_ok(&verify(t.access.clone()).await);
    assert_ok(&verify(t.access.clone()).await);
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{}/revoke", uid(&t)),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_ok(&r);
    assert_revoked(&verify(t.access.clone()).await, "admin_revoked");

    // Force sign-out (the valid-after mark) and disabling the user.
    let t = app.login("acme", MEMBER).await;
    assert_ok(&verify(t.access.clone()).await);
    let me = me(&app, &t.access).await;
    let member = me.body["user"]["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/v1/tenants/acme/users/{member}/revoke-sessions"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_ok(&r);
    assert_revoked(&verify(t.access.clone()).await, "user_sessions_revoked");
    app.clock.advance_secs(1);
    let t = app.login("acme", MEMBER).await;
    assert_ok(&verify(t.access.clone()).await);
    let r = app
        .patch(
            &format!("/v1/tenants/acme/users/{member}"),
            Some(&admin.access),
            json!({"disabled": true}),
        )
        .await;
    assert_ok(&r);
    assert_revoked(&verify(t.access.clone()).await, "user_disabled");

    // Expiry is checked on every hit, not only when the entry was made.
    let t = app.login("acme", "admin@acme.test").await;
    assert_ok(&verify(t.access.clone()).await);
    app.clock.advance_secs(301);
    verify(t.access.clone())
        .await
        .assert_error(401, "token_expired");
}
