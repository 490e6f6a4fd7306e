//! SPEC §7 through `app()`: health, readiness, metrics, and a backup that a
//! fresh service started on it serves the same data from.

use std::sync::Arc;

use http_body_util::BodyExt;
use serde_json::json;
use sessiond::clock::ManualClock;
use sessiond::config::Config;
use sessiond::http::{AppState, app};
use sessiond::service::Service;
use sessiond::store::Store;
use tower::ServiceExt;

use crate::support::{PASSWORD, T0, TestApp};

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
    let app = TestApp::new().await;
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
async fn backup_restores_into_a_working_service() {
    let app = TestApp::new().await;
    let email = app.tenant("acme").await;
    let admin = app.login("acme", &email).await;
    let root = app.platform_login().await;

    // Only global admins may take a backup.
    app.get("/v1/platform/backup", Some(&admin.access))
        .await
        .assert_error(403, "forbidden");
    app.get("/v1/platform/backup", None)
        .await
        .assert_error(401, "token_missing");

    let req = axum::http::Request::builder()
        .uri("/v1/platform/backup")
        .header("authorization", format!("Bearer {}", root.access))
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.len() > 4096, "{} bytes", bytes.len());

    // Changes after the backup are not in it.
    app.user("acme", "later@acme.test", sessiond::domain::Role::Member)
        .await;

    let restored = tempfile::tempdir().unwrap();
    std::fs::write(restored.path().join("sessiond.redb"), &bytes).unwrap();
    let store = Store::open(restored.path()).expect("the copy opens as a sessiond database");
    let svc = Service::start(store, Arc::new(ManualClock::new(T0)), Config::default())
        .await
        .unwrap();
    let router = app_for(svc);
    let login = |email: &str| {
        let body = json!({"tenant": "acme", "email": email, "password": PASSWORD}).to_string();
        axum::http::Request::builder()
            .method("POST")
            .uri("/v1/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let ok = router.clone().oneshot(login(&email)).await.unwrap();
    assert_eq!(ok.status(), 200, "the tenant and its admin came back");
    let later = router
        .clone()
        .oneshot(login("later@acme.test"))
        .await
        .unwrap();
    assert_eq!(
        later.status(),
        401,
        "a user created after the backup is not in it"
    );
    // Tokens from before the backup still verify: the signing keys were copied too.
    let me = axum::http::Request::builder()
        .uri("/v1/auth/me")
        .header("authorization", format!("Bearer {}", admin.access))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(router.oneshot(me).await.unwrap().status(), 200);
    // The temporary copy on the server side is gone.
    let leftovers: Vec<_> = std::fs::read_dir(app.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".backup-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn app_for(svc: Arc<Service>) -> axum::Router {
    app(AppState::new(svc))
}
