//! Load generator for the figures in the issue notes. Against a running server:
//!
//! ```text
//! cargo run --release --example bench -- auth  URL TENANT EMAIL PASSWORD [N]
//! cargo run --release --example bench -- admin URL TENANT EMAIL PASSWORD [N]
//! ```
//! `auth`: login and refresh latency. `admin` (on a `sessiond seed` tenant):
//! first and deep 50-row pages, force sign-out of one user, a ~10,000-session
//! bulk revoke.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        Self {
            agent,
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.agent.post(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut res = req.send_json(body).expect("request");
        let status = res.status().as_u16();
        (status, res.body_mut().read_json().unwrap_or(Value::Null))
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let mut res = self
            .agent
            .get(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {token}"))
            .call()
            .expect("request");
        let status = res.status().as_u16();
        (status, res.body_mut().read_json().unwrap_or(Value::Null))
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

fn report(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let pct = |p: f64| d[((d.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{name:<32} n={:<5} p50={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        d.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
}

fn login(c: &Client, tenant: &str, email: &str, password: &str) -> Value {
    let (s, b) = c.post(
        "/v1/auth/login",
        None,
        &json!({"tenant": tenant, "email": email, "password": password}),
    );
    assert_eq!(s, 200, "login failed: {b}");
    b
}

fn auth(c: &Client, tenant: &str, email: &str, password: &str, n: usize) {
    let logins: Vec<Duration> = (0..n)
        .map(|_| {
            let (d, b) = timed(|| login(c, tenant, email, password));
            assert!(b["access_token"].is_string());
            d
        })
        .collect();
    report("login", logins);
    let mut rt = login(c, tenant, email, password)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshes: Vec<Duration> = (0..n)
        .map(|_| {
            let (d, (s, b)) =
                timed(|| c.post("/v1/auth/refresh", None, &json!({"refresh_token": rt})));
            assert_eq!(s, 200, "refresh failed: {b}");
            rt = b["refresh_token"].as_str().unwrap().to_owned();
            d
        })
        .collect();
    report("refresh", refreshes);
    let at = login(c, tenant, email, password)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    println!("ACCESS_TOKEN={at}");
}

fn admin(c: &Client, tenant: &str, email: &str, password: &str, n: usize) {
    let at = login(c, tenant, email, password)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/v1/tenants/{tenant}");
    for sort in ["last_activity_desc", "created_desc"] {
        let first: Vec<Duration> = (0..n)
            .map(|_| {
                let (d, (s, b)) =
                    timed(|| c.get(&format!("{base}/sessions?limit=50&sort={sort}"), &at));
                assert_eq!(s, 200, "{b}");
                assert_eq!(b["items"].as_array().unwrap().len(), 50);
                d
            })
            .collect();
        report(&format!("first page ({sort})"), first);
        // Walk 100,000 rows deep (500 pages of 200), then time the 50-row page there.
        let mut cursor = String::new();
        for _ in 0..500 {
            let q = if cursor.is_empty() {
                String::new()
            } else {
                format!("&cursor={cursor}")
            };
            let (_, b) = c.get(&format!("{base}/sessions?limit=200&sort={sort}{q}"), &at);
            cursor = b["next_cursor"].as_str().expect("deep enough").to_owned();
        }
        let deep: Vec<Duration> = (0..n)
            .map(|_| {
                let (d, (s, b)) = timed(|| {
                    c.get(
                        &format!("{base}/sessions?limit=50&sort={sort}&cursor={cursor}"),
                        &at,
                    )
                });
                assert_eq!(s, 200, "{b}");
                d
            })
            .collect();
        report(&format!("page at row 100k ({sort})"), deep);
    }
    // Users with sessions: take them from a page of sessions.
    let (_, page) = c.get(&format!("{base}/sessions?limit=200"), &at);
    let items = page["items"].as_array().unwrap();
    let me = items
        .iter()
        .find(|s| s["current"] == true)
        .map(|s| s["user"]["id"].clone());
    let victim = items
        .iter()
        .map(|s| s["user"]["id"].clone())
        .find(|u| Some(u) != me.as_ref())
        .unwrap();
    let (d, (s, b)) = timed(|| {
        c.post(
            &format!("{base}/users/{}/revoke-sessions", victim.as_str().unwrap()),
            Some(&at),
            &json!({}),
        )
    });
    assert_eq!(s, 200, "{b}");
    println!(
        "{:<32} {:>8.2} ms  (revoked {})",
        "force sign-out of one user",
        d.as_secs_f64() * 1000.0,
        b["revoked"]
    );

    // ~10,000 sessions: pick users from the user list until their sessions add up.
    let (_, users) = c.get(&format!("{base}/users?limit=200"), &at);
    let mut ids: Vec<Value> = Vec::new();
    let mut cursor = users["next_cursor"].clone();
    ids.extend(
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["role"] == "member")
            .map(|u| u["id"].clone()),
    );
    while ids.len() < 1000 {
        let (_, more) = c.get(
            &format!("{base}/users?limit=200&cursor={}", cursor.as_str().unwrap()),
            &at,
        );
        ids.extend(
            more["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].clone()),
        );
        cursor = more["next_cursor"].clone();
    }
    ids.truncate(1000);
    let filter = json!({"filter": {"user_ids": ids}, "reason": "bench", "dry_run": true});
    let (_, dry) = c.post(&format!("{base}/sessions/revoke"), Some(&at), &filter);
    let mut real = filter.clone();
    real["dry_run"] = json!(false);
    let (d, (s, b)) = timed(|| c.post(&format!("{base}/sessions/revoke"), Some(&at), &real));
    assert_eq!(s, 200, "{b}");
    println!(
        "{:<32} {:>8.2} ms  (dry run said {}, revoked {})",
        "bulk revoke (1000 users)",
        d.as_secs_f64() * 1000.0,
        dry["would_revoke"],
        b["revoked"]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, url, tenant, email, password, rest @ ..] = args.as_slice() else {
        eprintln!("usage: bench auth|admin URL TENANT EMAIL PASSWORD [N]");
        std::process::exit(2);
    };
    let n = rest.first().and_then(|s| s.parse().ok()).unwrap_or(100);
    let c = Client::new(url);
    match mode.as_str() {
        "auth" => auth(&c, tenant, email, password, n),
        "admin" => admin(&c, tenant, email, password, n),
        other => panic!("unknown mode {other}"),
    }
}
