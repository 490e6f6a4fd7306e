//! Three `sessiond` processes on one PostgreSQL (skipped without
//! `SESSIOND_TEST_DATABASE_URL`): revocation crosses nodes at once, racing
//! refreshes on different nodes have one winner, grants expire while the
//! leader is dead, and a node killed under load loses nothing acknowledged.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::engine::{PgSchemas, postgres_or_skip};
use crate::support::process::*;

const T: &str = "acme";
const ADMIN: &str = "admin@acme.test";

struct Cluster {
    nodes: Vec<Option<Server>>,
    dirs: Vec<tempfile::TempDir>,
    pg: PgSchemas,
}

impl Cluster {
    fn start(url: &str, n: usize) -> Self {
        let pg = PgSchemas::fresh(url);
        let mut c = Cluster {
            nodes: Vec::new(),
            dirs: Vec::new(),
            pg,
        };
        for _ in 0..n {
            let dir = tempfile::tempdir().expect("tempdir");
            let s = c.spawn(dir.path());
            c.nodes.push(Some(s));
            c.dirs.push(dir);
        }
        c
    }

    fn spawn(&self, dir: &Path) -> Server {
        Server::start_with(
            dir,
            &[
                ("SESSIOND_DATABASE_URL", self.pg.url.as_str()),
                ("SESSIOND_DATABASE_SCHEMA", self.pg.prefix.as_str()),
                ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
                ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
                ("SESSIOND_ACTIVITY_FLUSH_SECS", "1"),
            ],
        )
    }

    fn node(&self, i: usize) -> &Server {
        self.nodes[i].as_ref().expect("node is running")
    }

    fn kill9(&mut self, i: usize) {
        if let Some(s) = self.nodes[i].take() {
            s.kill9();
        }
    }

    /// Tenant `acme` with its org admin, made through node 0.
    fn with_tenant(&self) -> String {
        let s = self.node(0);
        let root = s.platform_login().access;
        s.post(
            "/v1/platform/tenants",
            Some(&root),
            json!({"slug": T, "name": "Acme",
                   "first_admin": {"email": ADMIN, "display_name": "Acme Admin",
                                   "password": USER_PASSWORD}}),
        )
        .assert_ok(201);
        self.node(1).login(T, ADMIN).access
    }
}

#[test]
fn a_revocation_on_one_node_is_refused_by_the_others_on_the_next_request() {
    let Some(url) = postgres_or_skip("multinode") else {
        return;
    };
    let c = Cluster::start(&url, 3);
    let admin = c.with_tenant();
    for round in 0..5 {
        let t = c.node(0).login(T, ADMIN);
        for i in 0..3 {
            c.node(i)
                .get("/v1/auth/verify", Some(&t.access))
                .assert_ok(200);
        }
        // Revoked through node 1 (admin) or node 2 (logout), by turns.
        if round % 2 == 0 {
            c.node(1)
                .post(
                    &format!("/v1/tenants/{T}/sessions/{}/revoke", t.session_id),
                    Some(&admin),
                    json!({"reason": "multinode"}),
                )
                .assert_ok(200);
        } else {
            let r = c.node(2).post_empty("/v1/auth/logout", Some(&t.access));
            assert_eq!(r.status, 204, "{}", r.text);
        }
        for i in 0..3 {
            c.node(i)
                .get("/v1/auth/verify", Some(&t.access))
                .assert_error(401, "session_revoked");
            c.node(i)
                .refresh(&t.refresh)
                .assert_error(401, "session_revoked");
        }
    }
}

fn race_refresh(c: &Cluster, token: &str) -> Vec<Resp> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..6)
            .map(|i| {
                let node = c.node(i % 3);
                sc.spawn(move || node.refresh(token))
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("racer")).collect()
    })
}

/// Without a grace window exactly one racer rotates and the others are
/// replays (the chain ends); with one, every racer gets the one successor.
#[test]
fn racing_refreshes_on_three_nodes_have_one_winner() {
    let Some(url) = postgres_or_skip("multinode") else {
        return;
    };
    let c = Cluster::start(&url, 3);
    let admin = c.with_tenant();
    for _ in 0..3 {
        let t = c.node(0).login(T, ADMIN);
        let answers = race_refresh(&c, &t.refresh);
        let won: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
        assert_eq!(won.len(), 1, "{answers:?}");
        for r in answers.iter().filter(|r| r.status != 200) {
            assert!(
                matches!(r.code(), "refresh_token_reused" | "session_revoked"),
                "{}",
                r.text
            );
        }
        let successor = won[0].body["refresh_token"].as_str().expect("token");
        c.node(1)
            .refresh(successor)
            .assert_revoked("refresh_token_reuse");
    }
    let r = send(
        &agent(),
        "PUT",
        &c.node(2).url(&format!("/v1/tenants/{T}/policy")),
        Some(&admin),
        Some(&json!({"refresh_reuse_grace_secs": 30})),
    );
    r.assert_ok(200);
    for _ in 0..3 {
        let t = c.node(0).login(T, ADMIN);
        let answers = race_refresh(&c, &t.refresh);
        let mut successors: Vec<&str> = answers
            .iter()
            .map(|r| r.assert_ok(200)["refresh_token"].as_str().expect("token"))
            .collect();
        successors.dedup();
        assert_eq!(successors.len(), 1, "two branches of one chain");
        c.node(1).refresh(successors[0]).assert_ok(200);
    }
}

#[test]
fn a_grant_expires_on_time_while_the_leader_is_dead() {
    let Some(url) = postgres_or_skip("multinode") else {
        return;
    };
    let mut c = Cluster::start(&url, 3);
    let admin = c.with_tenant();
    let gid = c
        .node(1)
        .post(
            &format!("/v1/tenants/{T}/support-grants"),
            Some(&admin),
            json!({"grantee_email": ROOT_EMAIL, "duration_secs": 3, "reason": "ticket 1"}),
        )
        .assert_ok(201)["id"]
        .as_str()
        .expect("grant id")
        .to_owned();
    let asked = Instant::now();
    let root = c.node(2).platform_login().access;
    let started = c.node(2).post(
        &format!("/v1/platform/tenants/{T}/support-sessions"),
        Some(&root),
        json!({}),
    );
    let support = started.assert_ok(201)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    c.node(1).get("/v1/auth/me", Some(&support)).assert_ok(200);
    // Node 0 started first and leads the background work: kill it.
    c.kill9(0);
    std::thread::sleep(
        (asked + Duration::from_millis(3300)).saturating_duration_since(Instant::now()),
    );
    for i in 1..3 {
        c.node(i)
            .get("/v1/auth/me", Some(&support))
            .assert_revoked("grant_expired");
    }
    // A surviving node takes over and ends the grant, once.
    let deadline = Instant::now() + Duration::from_secs(10);
    let expired = loop {
        let r = c.node(2).get(
            &format!("/v1/tenants/{T}/audit?action=grant_expired"),
            Some(&admin),
        );
        let items = r.assert_ok(200)["items"].as_array().expect("items").clone();
        if !items.is_empty() || Instant::now() > deadline {
            break items;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0]["target"], json!(gid));
    let grants = c
        .node(1)
        .get(&format!("/v1/tenants/{T}/support-grants"), Some(&admin));
    let g: Vec<&Value> = grants.assert_ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|g| g["id"] == json!(gid))
        .collect();
    assert_eq!(g[0]["status"], "expired", "{}", g[0]);
}

#[test]
fn a_node_killed_under_load_loses_nothing_it_acknowledged() {
    let Some(url) = postgres_or_skip("multinode") else {
        return;
    };
    let mut c = Cluster::start(&url, 3);
    let admin = c.with_tenant();
    let victim_url = c.node(2).base.clone();
    // Logins and logouts against node 2 until it dies.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = done.clone();
    let load = std::thread::spawn(move || {
        let agent = agent();
        let (mut logged_in, mut logged_out) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let r = try_send(
                &agent,
                "POST",
                &format!("{victim_url}/v1/auth/login"),
                None,
                Some(&json!({"tenant": T, "email": ADMIN, "password": USER_PASSWORD})),
            );
            let r = match r {
                Ok(r) if r.status == 200 => r,
                // A busy machine: argon2's queue is full; the node is alive.
                Ok(r) if r.status == 503 => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                _ => break,
            };
            let t = Tokens::from(&r);
            if logged_in.len() % 2 == 1 {
                let out = try_send(
                    &agent,
                    "POST",
                    &format!("{victim_url}/v1/auth/logout"),
                    Some(&t.access),
                    None,
                );
                match out {
                    Ok(o) if o.status == 204 => logged_out.push(t.clone()),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            logged_in.push(t);
            counted.store(logged_in.len(), std::sync::atomic::Ordering::Relaxed);
        }
        (logged_in, logged_out)
    });
    // Killed mid-load, once the load is under way (however slow the machine).
    let started = Instant::now();
    while done.load(std::sync::atomic::Ordering::Relaxed) < 8
        && started.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    c.kill9(2);
    let (logged_in, logged_out) = load.join().expect("load");
    assert!(logged_in.len() > 5, "too little load: {}", logged_in.len());
    for t in &logged_in {
        let r = c.node(1).get(
            &format!("/v1/tenants/{T}/sessions/{}", t.session_id),
            Some(&admin),
        );
        r.assert_ok(200);
    }
    for t in &logged_out {
        c.node(0)
            .get("/v1/auth/verify", Some(&t.access))
            .assert_error(401, "session_revoked");
    }
    // The victim's audit appends are in the one linear chain.
    let v = c
        .node(0)
        .get(&format!("/v1/tenants/{T}/audit/verify"), Some(&admin));
    assert_eq!(v.assert_ok(200)["ok"], true, "{}", v.text);
}
