//! sessiond-client against a served app: offline verification with key
//! rotation, revocations from the stream, and the 401 contract.

use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::json;
use sessiond::domain::{Role, Timestamp};
use sessiond::service::keys::RotateRequest;
use sessiond::service::users::Acting;
use sessiond_client::{ApiError, SessiondClient, Verifier, VerifierConfig, VerifyError};

use crate::support::{PASSWORD, TestApp};

/// Serve the app on a port; the clock starts at the real time (the
/// verifier checks `exp` against it).
async fn served() -> (TestApp, String) {
    let app = TestApp::new().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    app.clock.set(Timestamp::from_millis(now));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(l, router).await.unwrap();
    });
    (app, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_refuses_a_revoked_session_while_verifying_offline() {
    let (app, url) = served().await;
    let admin = app.tenant_admin("acme").await;
    app.tenant_admin("globex").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let r = app
        .post(
            "/v1/tenants/acme/clients",
            Some(&admin.access),
            json!({"name": "api"}),
        )
        .await;
    let (id, secret) = (
        r.body["client_id"].as_str().unwrap().to_owned(),
        r.body["client_secret"].as_str().unwrap().to_owned(),
    );
    let v = Verifier::start(VerifierConfig::new(&url, "acme", &id, &secret))
        .await
        .unwrap();
    let wrong = VerifierConfig::new(&url, "acme", &id, "wrong secret");
    assert!(Verifier::start(wrong).await.is_err());

    let user = SessiondClient::new(&url).unwrap();
    let sid = user.login("acme", "m@acme.test", PASSWORD).await.unwrap();
    let token = user.access_token().await.unwrap();
    let claims = v.verify(&token).await.unwrap();
    assert_eq!(
        (claims.sid.as_str(), claims.tid.as_str()),
        (sid.as_str(), "acme")
    );
    // Tampered, or another tenant's: refused without asking sessiond.
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert_eq!(v.verify(&forged).await, Err(VerifyError::Invalid));
    let g = app.login("globex", "admin@globex.test").await;
    assert_eq!(v.verify(&g.access).await, Err(VerifyError::Invalid));

    // A new key signing at once: the verifier fetches the JWKS again.
    app.svc
        .rotate_keys(
            Acting::operator(),
            RotateRequest {
                activate_in_secs: Some(0),
            },
        )
        .await
        .unwrap();
    app.clock.advance_secs(1);
    // (The verifier refetches at most once a second.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = SessiondClient::new(&url).unwrap();
    rotated
        .login("acme", "m@acme.test", PASSWORD)
        .await
        .unwrap();
    assert!(
        v.verify(&rotated.access_token().await.unwrap())
            .await
            .is_ok()
    );

    // The revocation reaches the deny-list (a minute is the failure guard;
    // the benchmark measures the real delay).
    let r = app
        .post(
            &format!("/v1/tenants/acme/sessions/{sid}/revoke"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body["revoked"], 1, "{}", r.text);
    let answered = Instant::now();
    loop {
        match v.verify(&token).await {
            Err(VerifyError::Revoked { reason }) => {
                assert_eq!(reason, "admin_revoked");
                break;
            }
            Ok(_) if answered.elapsed() < Duration::from_secs(60) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => panic!("still {other:?} after {:?}", answered.elapsed()),
        }
    }
    eprintln!(
        "client library refused the revoked session {:?} after the revoke answer",
        answered.elapsed()
    );
    // The user's client maps the same revocation to "sign in again".
    let e = user
        .call(Method::GET, "/v1/auth/me", None)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ApiError::Revoked {
            reason: "admin_revoked".into()
        }
    );
    assert!(e.sign_in_required());

    // A verifier that has not heard from the stream in time fails closed.
    let mut strict = VerifierConfig::new(&url, "acme", &id, &secret);
    strict.fail_closed_after = Duration::ZERO;
    let strict = Verifier::start(strict).await.unwrap();
    let t = rotated.access_token().await.unwrap();
    assert_eq!(strict.verify(&t).await, Err(VerifyError::Unavailable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_client_refreshes_an_expired_token_once_and_retries() {
    let (app, url) = served().await;
    app.tenant("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let c = SessiondClient::new(&url).unwrap();
    let e = c.call(Method::GET, "/v1/auth/me", None).await.unwrap_err();
    assert!(e.sign_in_required(), "{e:?}");
    c.login("acme", "m@acme.test", PASSWORD).await.unwrap();
    let first = c.access_token().await.unwrap();
    let me = c.call(Method::GET, "/v1/auth/me", None).await.unwrap();
    assert_eq!(me["user"]["email"], "m@acme.test");
    // Past the access token's life (300 s), within the session's.
    app.clock.advance_secs(301);
    let (a, b) = tokio::join!(
        c.call(Method::GET, "/v1/auth/me", None),
        c.call(Method::GET, "/v1/auth/me", None)
    );
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    assert_ne!(c.access_token().await.unwrap(), first);
    // One refresh for both: no reuse was detected, the session lives on.
    assert!(c.call(Method::GET, "/v1/auth/me", None).await.is_ok());
    let wrong = SessiondClient::new(&url).unwrap();
    let e = wrong
        .login("acme", "m@acme.test", "nope")
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 401, .. }), "{e:?}");
}
