//! SPEC §7 through `app()`: health, readiness, metrics; no backup route.

use serde_json::json;

use sessiond::auth::Secret;
use sessiond::config::Config;

use crate::support::TestApp;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let h = app.get("/healthz", None).await;
    assert_eq!(
        (h.status.as_u16(), h.body.clone()),
        (200, json!({"status": "ok"}))
    );
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn metrics_count_requests_logins_refreshes_and_revocations() {
    let mut config = Config::default();
    config.metrics.tenant_labels = true;
    let app = TestApp::with_config(config).await;
    let email = app.tenant("metrics-co").await;
    let t = app.login("metrics-co", &email).await;
    let bad = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "metrics-co", "email": email, "password": "wrong password"}),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(app.refresh(&t.refresh).await.status, 200);
    let other = app.login("metrics-co", &email).await;
    let r = app
        .request(
            axum::http::Method::POST,
            "/v1/auth/logout",
            Some(&other.access),
            None,
        )
        .await;
    assert_eq!(r.status, 204);

    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    // The recorder is process-wide (other tests add to it): check presence, not totals.
    for want in [
        r#"sessiond_logins_total{result="ok"}"#,
        r#"sessiond_logins_total{result="failed"}"#,
        r#"sessiond_refreshes_total{result="ok"}"#,
        r#"sessiond_revocations_total{reason="user_logout"}"#,
        r#"sessiond_http_requests_total{route="/v1/auth/login",method="POST",status="200"}"#,
        r#"sessiond_http_requests_total{route="/v1/auth/login",method="POST",status="401"}"#,
        r#"sessiond_http_request_duration_seconds_bucket{route="/v1/auth/refresh""#,
        // One session left: `other` signed out.
        r#"sessiond_active_sessions{tenant="metrics-co"} 1"#,
    ] {
        assert!(m.text.contains(want), "missing {want} in:\n{}", m.text);
    }
}

#[tokio::test]
async fn no_http_route_hands_out_the_database() {
    let app = TestApp::new().await;
    let root = app.platform_login().await;
    for path in ["/v1/platform/backup", "/v1/backup"] {
        let r = app.get(path, Some(&root.access)).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn metrics_name_no_tenant_by_default() {
    let app = TestApp::new().await;
    let email = app.tenant("quiet-co").await;
    app.login("quiet-co", &email).await;
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    assert!(
        !m.text.contains("quiet-co"),
        "a tenant slug leaked:\n{}",
        m.text
    );
    assert!(
        m.text
            .lines()
            .any(|l| l.starts_with("sessiond_active_sessions ")),
        "no total gauge:\n{}",
        m.text
    );
}

#[tokio::test]
async fn metrics_behind_a_bearer_token() {
    let mut config = Config::default();
    config.metrics.token = Some(Secret::new("a-metrics-scrape-token"));
    let app = TestApp::with_config(config).await;
    app.get("/metrics", None)
        .await
        .assert_error(401, "token_missing");
    app.get("/metrics", Some("a-metrics-scrape-tokeX"))
        .await
        .assert_error(401, "token_invalid");
    // A user's access token is not the scrape token.
    let root = app.platform_login().await;
    app.get("/metrics", Some(&root.access))
        .await
        .assert_error(401, "token_invalid");
    let m = app.get("/metrics", Some("a-metrics-scrape-token")).await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert!(m.text.contains("sessiond_http_requests_total"));
}

#[tokio::test]
async fn metrics_on_their_own_listener_leave_the_api_port() {
    let mut config = Config::default();
    config.metrics.separate = true;
    let app = TestApp::with_config(config).await;
    app.get("/metrics", None)
        .await
        .assert_error(404, "not_found");
}
