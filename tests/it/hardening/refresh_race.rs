//! A grace window must not fork a refresh chain (SPEC §4: one live branch).

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::support::process::{Resp, Server, Tokens, api_create_tenant, send};

/// `n` threads refresh the same token at once.
fn race(s: &Arc<Server>, refresh: &str, n: usize) -> Vec<Resp> {
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (s, b, rt) = (s.clone(), barrier.clone(), refresh.to_owned());
            std::thread::spawn(move || {
                b.wait();
                s.refresh(&rt)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn grace_tenant(s: &Server) -> Tokens {
    let root = s.platform_login();
    let admin_email = api_create_tenant(s, &root.access, "race");
    let admin = s.login("race", &admin_email);
    let r = send(
        &s.agent,
        "PUT",
        &s.url("/v1/tenants/race/policy"),
        Some(&admin.access),
        Some(
            &json!({"access_token_ttl_secs": 300, "idle_timeout_secs": 1800,
            "absolute_timeout_secs": 86400, "refresh_reuse_grace_secs": 10,
            "max_support_grant_secs": 3600}),
        ),
    );
    r.assert_ok(200);
    s.login("race", &admin_email)
}

#[test]
fn sixteen_racing_refreshes_in_the_grace_window_share_one_successor() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start(dir.path()));
    let t0 = grace_tenant(&s);
    let answers = race(&s, &t0.refresh, 16);
    let successors: HashSet<String> = answers.iter().map(|r| Tokens::from(r).refresh).collect();
    assert_eq!(successors.len(), 1, "every retry gets the same successor");
    let t1 = Tokens::from(&answers[0]);

    // Using the successor ends the window for its predecessor: a replay of
    // t0 now is reuse, and the whole chain (t1's child included) is revoked.
    let t2 = Tokens::from(&s.refresh(&t1.refresh));
    s.refresh(&t0.refresh)
        .assert_error(401, "refresh_token_reused");
    s.refresh(&t2.refresh).assert_revoked("refresh_token_reuse");
    s.get("/v1/auth/me", Some(&t2.access))
        .assert_revoked("refresh_token_reuse");
}

#[test]
fn grace_zero_keeps_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start(dir.path()));
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "zero");
    let t0 = s.login("zero", &email);
    let answers = race(&s, &t0.refresh, 8);
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1);
}
