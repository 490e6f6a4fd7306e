//! SPEC §3: every error is `{error, message, retryable}` JSON with the right
//! status; every 401 carries `WWW-Authenticate`; bodies never echo secrets.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::support::{PASSWORD, Resp, TestApp, Tokens};

const MEMBER: &str = "m@acme.test";

async fn app_with_member() -> (TestApp, Tokens) {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    app.user("acme", MEMBER, Role::Member).await;
    let t = app.login("acme", MEMBER).await;
    (app, t)
}

async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Resp {
    let mut b = Request::builder().method(Method::POST).uri(path);
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    app.call(b.body(body.into()).expect("request")).await
}

#[track_caller]
fn assert_json_error_shape(r: &Resp) {
    assert!(
        r.status.is_client_error() || r.status.is_server_error(),
        "{}: {}",
        r.status,
        r.text
    );
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct:?}: {}",
        r.text
    );
    let obj = r.body.as_object().expect("JSON object body");
    assert!(
        obj["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.text
    );
    assert!(obj["message"].is_string(), "{}", r.text);
    assert!(obj["retryable"].is_boolean(), "{}", r.text);
}

fn detail_keys(r: &Resp) -> Vec<String> {
    r.body["details"]
        .as_object()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let app = TestApp::new().await;
    // Outside /v1 and /.well-known, paths without a dot are the UI's (index.html).
    for path in [
        "/v1/nope",
        "/.well-known/nothing",
        "/missing.js",
        "/v1/auth",
        "/v1/tenants/acme/nothing-here",
        "/v1/auth/login/extra",
    ] {
        let r = app.get(path, None).await;
        r.assert_error(404, "not_found");
        assert_json_error_shape(&r);
        assert_eq!(r.body["retryable"], json!(false));
    }
    // A known path with the wrong method is still a JSON error, never an empty body.
    let r = app.delete("/v1/auth/login", None).await;
    assert!(matches!(r.status.as_u16(), 404 | 405), "{}", r.status);
    assert_json_error_shape(&r);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let (app, _) = app_with_member().await;
    let big = json!({"tenant": "acme", "email": MEMBER, "password": "x".repeat(65 * 1024)});
    let r = app.post("/v1/auth/login", None, big).await;
    r.assert_error(413, "payload_too_large");
    assert_json_error_shape(&r);
    assert!(!r.text.contains("xxxxxxxx"), "body echoed");

    let r = app
        .post_form(
            "/v1/oauth/revoke",
            None,
            &format!("token={}", "a".repeat(65 * 1024)),
        )
        .await;
    r.assert_error(413, "payload_too_large");

    // No content-type does not bypass the limit.
    let r = raw_post(&app, "/v1/auth/refresh", None, "y".repeat(70 * 1024)).await;
    r.assert_error(413, "payload_too_large");

    // Just under the limit is read and judged on its content.
    let under = json!({"tenant": "nosuch", "email": "z".repeat(60 * 1024), "password": PASSWORD});
    let r = app.post("/v1/auth/login", None, under).await;
    assert_ne!(r.status.as_u16(), 413, "{}", r.text);
    assert_json_error_shape(&r);
}

#[tokio::test]
async fn malformed_json_names_the_body() {
    let (app, _) = app_with_member().await;
    for body in [
        r#"{"tenant": "acme", "#,
        "not json",
        "",
        r#"{"tenant": "acme", "email": }"#,
    ] {
        let r = raw_post(
            &app,
            "/v1/auth/login",
            Some("application/json"),
            body.to_owned(),
        )
        .await;
        r.assert_error(400, "validation_failed");
        assert_eq!(detail_keys(&r), ["body"], "{body:?}: {}", r.text);
    }
}

#[tokio::test]
async fn trailing_garbage_after_json_is_malformed() {
    let (app, _) = app_with_member().await;
    let body =
        format!(r#"{{"tenant": "acme", "email": "{MEMBER}", "password": "{PASSWORD}"}} trailing"#);
    let r = raw_post(&app, "/v1/auth/login", Some("application/json"), body).await;
    r.assert_error(400, "validation_failed");
    assert_eq!(detail_keys(&r), ["body"], "{}", r.text);
}

#[tokio::test]
async fn missing_wrong_type_and_unknown_fields_are_named() {
    let (app, _) = app_with_member().await;
    let cases = [
        (json!({"tenant": "acme", "email": MEMBER}), "password"),
        (json!({"tenant": "acme", "password": PASSWORD}), "email"),
        (json!({"email": MEMBER, "password": PASSWORD}), "tenant"),
        (
            json!({"tenant": "acme", "email": 5, "password": PASSWORD}),
            "email",
        ),
        (
            json!({"tenant": ["acme"], "email": MEMBER, "password": PASSWORD}),
            "tenant",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/v1/auth/login", None, body.clone()).await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"].get(field).is_some(),
            "{body} should name {field}: {}",
            r.text
        );
        assert_eq!(r.body["retryable"], json!(false));
    }
    // An unknown field is refused (the exact name is checked below).
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": MEMBER, "password": PASSWORD, "remember_me": true}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    // Not a JSON object at all.
    let r = app.post("/v1/auth/login", None, json!([1, 2, 3])).await;
    r.assert_error(400, "validation_failed");
    let r = app.post("/v1/auth/refresh", None, json!({})).await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("refresh_token").is_some(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn unknown_fields_are_named_exactly() {
    let (app, _) = app_with_member().await;
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": MEMBER, "password": PASSWORD, "remember_me": true}),
        )
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(detail_keys(&r), ["remember_me"], "{}", r.text);
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let body = json!({"slug": "globex", "name": "Globex", "first_admin": {"email": "b@globex.test", "display_name": "B", "password": PASSWORD, "role": "org_admin", "zz": 1}});
    let r = app
        .post("/v1/platform/tenants", Some(&root.access), body)
        .await;
    r.assert_error(400, "validation_failed");
    assert_eq!(detail_keys(&r), ["first_admin.zz"], "{}", r.text);
}

#[tokio::test]
async fn nested_fields_are_named_with_their_path() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    let body = json!({"slug": "globex", "name": "Globex", "first_admin": {"display_name": "B", "password": PASSWORD}});
    let r = app
        .post("/v1/platform/tenants", Some(&root.access), body)
        .await;
    r.assert_error(400, "validation_failed");
    assert!(
        r.body["details"].get("first_admin.email").is_some(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn json_endpoints_require_a_json_content_type() {
    let (app, _) = app_with_member().await;
    let body = json!({"tenant": "acme", "email": MEMBER, "password": PASSWORD}).to_string();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let r = raw_post(&app, "/v1/auth/login", ct, body.clone()).await;
        r.assert_error(400, "validation_failed");
        assert_json_error_shape(&r);
    }
    // With parameters, it is accepted.
    let r = raw_post(
        &app,
        "/v1/auth/login",
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[tokio::test]
async fn every_401_carries_www_authenticate_with_its_code() {
    let (app, t) = app_with_member().await;
    let mut seen: Vec<Resp> = Vec::new();

    seen.push(app.get("/v1/auth/me", Some("garbage")).await); // token_invalid
    seen.push(app.refresh("garbage").await); // refresh_token_invalid
    seen.push(
        app.post(
            "/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": MEMBER, "password": "wrong password!"}),
        )
        .await,
    );
    seen.push(app.post_form("/v1/oauth/introspect", None, "token=x").await); // invalid_client
    seen.push(
        app.post_form(
            "/v1/oauth/introspect",
            Some(("nobody", "nothing")),
            "token=x",
        )
        .await,
    );

    let t1 = Tokens::from_body(&app.refresh(&t.refresh).await.body);
    seen.push(app.refresh(&t.refresh).await); // refresh_token_reused
    seen.push(app.get("/v1/auth/me", Some(&t1.access)).await); // session_revoked

    let t2 = app.login("acme", MEMBER).await;
    app.clock.advance_secs(301);
    seen.push(app.get("/v1/auth/me", Some(&t2.access)).await); // token_expired
    app.clock.advance_secs(1800);
    seen.push(app.refresh(&t2.refresh).await); // session_expired

    let mut codes: Vec<String> = Vec::new();
    for r in &seen {
        assert_eq!(r.status.as_u16(), 401, "{}", r.text);
        assert_json_error_shape(r);
        let code = r.code();
        // A service client is told to authenticate with Basic (RFC 6749 §5.2).
        let expected = if code == "invalid_client" {
            r#"Basic realm="sessiond", charset="UTF-8""#.to_owned()
        } else {
            format!(r#"Bearer realm="sessiond", error="invalid_token", error_description="{code}""#)
        };
        assert_eq!(
            r.header("www-authenticate"),
            Some(expected.as_str()),
            "{}",
            r.text
        );
        assert_eq!(
            r.body["retryable"],
            json!(code == "token_expired"),
            "{}",
            r.text
        );
        codes.push(code.to_owned());
    }
    codes.sort();
    codes.dedup();
    assert_eq!(
        codes,
        [
            "invalid_client",
            "invalid_credentials",
            "refresh_token_invalid",
            "refresh_token_reused",
            "session_expired",
            "session_revoked",
            "token_expired",
            "token_invalid",
        ],
        "each code was exercised"
    );

    // No token at all: no error attribute.
    let r = app.get("/v1/auth/me", None).await;
    r.assert_error(401, "token_missing");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="sessiond""#)
    );
}

#[tokio::test]
async fn error_bodies_never_echo_credentials() {
    let (app, t) = app_with_member().await;
    let secret_pw = "hunter2-super-secret-password";
    let mut checks: Vec<(Resp, Vec<String>)> = Vec::new();

    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": MEMBER, "password": secret_pw}),
        )
        .await;
    checks.push((r, vec![secret_pw.to_owned()]));
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": MEMBER, "password": secret_pw, "x": 1}),
        )
        .await;
    checks.push((r, vec![secret_pw.to_owned()]));
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": 7, "email": MEMBER, "password": secret_pw}),
        )
        .await;
    checks.push((r, vec![secret_pw.to_owned()]));
    let r = raw_post(
        &app,
        "/v1/auth/login",
        Some("application/json"),
        format!(r#"{{"tenant":"acme","password":"{secret_pw}""#),
    )
    .await;
    checks.push((r, vec![secret_pw.to_owned()]));

    let mut tampered = t.access.clone();
    tampered.push('x');
    let r = app.get("/v1/auth/me", Some(&tampered)).await;
    checks.push((r, vec![t.access.clone()]));
    let r = app.refresh(&format!("{}x", t.refresh)).await;
    checks.push((r, vec![t.refresh.clone()]));
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": t.refresh, "extra": true}),
        )
        .await;
    checks.push((r, vec![t.refresh.clone()]));
    let r = app
        .post_form(
            "/v1/oauth/introspect",
            Some(("not-a-client", secret_pw)),
            &format!("token={}", t.access),
        )
        .await;
    checks.push((r, vec![t.access.clone(), secret_pw.to_owned()]));

    let t1 = Tokens::from_body(&app.refresh(&t.refresh).await.body);
    let r = app.refresh(&t.refresh).await;
    checks.push((r, vec![t.refresh.clone(), t1.refresh.clone()]));
    let r = app.get("/v1/auth/me", Some(&t1.access)).await;
    checks.push((r, vec![t1.access.clone()]));

    for (r, secrets) in &checks {
        assert!(!r.status.is_success(), "expected an error: {}", r.text);
        assert_json_error_shape(r);
        for s in secrets {
            assert!(
                !r.text.contains(s.as_str()),
                "error body echoes a credential: {}",
                r.text
            );
            for (name, value) in &r.headers {
                let v = value.to_str().unwrap_or("");
                assert!(!v.contains(s.as_str()), "header {name} echoes a credential");
            }
        }
        let bare: Value = r.body.clone();
        assert!(bare.get("access_token").is_none() && bare.get("refresh_token").is_none());
    }
}

#[tokio::test]
async fn form_endpoints_name_a_missing_token() {
    let app = TestApp::new().await;
    let r = app.post_form("/v1/oauth/revoke", None, "").await;
    r.assert_error(400, "validation_failed");
    assert!(r.body["details"].get("token").is_some(), "{}", r.text);
}
