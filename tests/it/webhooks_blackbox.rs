//! Revocation events on the real binary: an event committed before a
//! `kill -9` is delivered after the restart, exactly once.

use std::time::Duration;

use serde_json::json;

use crate::support::process::*;
use crate::support::receiver::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_before_kill_9_is_delivered_after_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    // A port with nobody listening yet: the first attempts are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = [
        ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
        ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
        ("SESSIOND_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"),
    ];
    let s = Server::start_with(dir.path(), &env);
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "acme");
    let admin = s.login("acme", &email);
    let r = s.post(
        "/v1/tenants/acme/webhooks",
        Some(&admin.access),
        json!({"url": format!("http://127.0.0.1:{port}/hook")}),
    );
    let hook = r.assert_ok(201)["id"].as_str().unwrap().to_owned();
    let victim = s.login("acme", &email);
    let r = s.post(
        &format!("/v1/tenants/acme/sessions/{}/revoke", victim.session_id),
        Some(&admin.access),
        json!({"reason": "stolen laptop"}),
    );
    assert_eq!(r.assert_ok(200)["revoked"], 1);
    s.kill9();

    let rx = Receiver::start_on(port).await;
    let s = Server::start_with(dir.path(), &env);
    let got = rx.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["session_id"], victim.session_id.as_str());
    assert_eq!(body["reason"], "admin_revoked");
    // Recorded as delivered, and not sent again.
    let admin = s.login("acme", &email);
    let mut delivered = false;
    for _ in 0..100 {
        let r = s.get(
            &format!("/v1/tenants/acme/webhooks/{hook}/deliveries"),
            Some(&admin.access),
        );
        let items = r.assert_ok(200)["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{items:?}");
        if items[0]["status"] == "delivered" {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rx.got().len(), 1);
    s.kill9();
}
