//! Login throttling slows an attacker without locking out the owner
//! (`--trust-forwarded-for` lets one test speak from several client IPs).

use serde_json::{Value, json};

use crate::support::process::{
    ROOT_EMAIL, ROOT_PASSWORD, Resp, Server, USER_PASSWORD, api_create_tenant,
};

fn login_from(s: &Server, ip: &str, path: &str, body: Value) -> (Resp, Option<String>) {
    let mut res = s
        .agent
        .post(s.url(path))
        .header("x-forwarded-for", ip)
        .send_json(body)
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (Resp { status, body, text }, retry)
}

fn server(dir: &std::path::Path) -> Server {
    Server::start_with(
        dir,
        &[
            ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
            ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
            ("SESSIOND_TRUST_FORWARDED_FOR", "true"),
        ],
    )
}

#[test]
fn failures_from_one_ip_delay_that_ip_but_not_the_owner_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "acme");
    let wrong = json!({"tenant": "acme", "email": email, "password": "not the password"});
    let right = json!({"tenant": "acme", "email": email, "password": USER_PASSWORD});

    let mut refused = 0;
    for _ in 0..8 {
        let (r, retry) = login_from(&s, "203.0.113.9", "/v1/auth/login", wrong.clone());
        match r.status {
            401 => r.assert_error(401, "invalid_credentials"),
            429 => {
                r.assert_error(429, "rate_limited");
                assert!(retry.is_some(), "Retry-After missing");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(refused > 0, "the attacking pair is slowed down");
    // Even the right password waits out the delay from the attacking IP…
    let (r, retry) = login_from(&s, "203.0.113.9", "/v1/auth/login", right.clone());
    r.assert_error(429, "rate_limited");
    let secs: u64 = retry.unwrap().parse().unwrap();
    assert!((1..=900).contains(&secs), "Retry-After {secs}");
    // …while the owner, from their own IP, signs in at once.
    let (r, _) = login_from(&s, "198.51.100.7", "/v1/auth/login", right);
    r.assert_ok(200);
}

#[test]
fn the_global_admin_cannot_be_locked_out_from_another_ip() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let wrong = json!({"email": ROOT_EMAIL, "password": "not the password"});
    for _ in 0..10 {
        login_from(&s, "203.0.113.66", "/v1/platform/auth/login", wrong.clone());
    }
    let right = json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD});
    let (r, _) = login_from(&s, "192.0.2.1", "/v1/platform/auth/login", right);
    r.assert_ok(200);
}

#[test]
fn one_bad_client_behind_a_nat_does_not_block_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "acme");
    // 60 failures from the NAT's address, spread over many accounts.
    for i in 0..60 {
        let body = json!({"tenant": "acme", "email": format!("guess{}@acme.test", i % 20),
                          "password": "wrong wrong wrong"});
        let (r, _) = login_from(&s, "192.0.2.50", "/v1/auth/login", body);
        assert!([401, 429].contains(&r.status), "{}", r.text);
    }
    // A colleague behind the same NAT, with no failures of their own, gets in.
    let right = json!({"tenant": "acme", "email": email, "password": USER_PASSWORD});
    let (r, _) = login_from(&s, "192.0.2.50", "/v1/auth/login", right);
    r.assert_ok(200);
}
