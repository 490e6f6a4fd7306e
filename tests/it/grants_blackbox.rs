//! SPEC §6 against the real `sessiond` binary: a grant that expires while
//! the server is down is ended (support session revoked, audited once) when
//! it comes back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sessiond");
const ROOT_EMAIL: &str = "root@grants-blackbox.test";
const ROOT_PASSWORD: &str = "grants blackbox root 1";
const ADMIN_EMAIL: &str = "admin@acme.test";
const ADMIN_PASSWORD: &str = "grants blackbox admin 1";
const T: &str = "acme";
const START_TIMEOUT: Duration = Duration::from_secs(20);

struct Resp {
    status: u16,
    body: Value,
    text: String,
}

impl Resp {
    #[track_caller]
    fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        &self.body
    }

    #[track_caller]
    fn assert_revoked(&self, reason: &str) {
        assert_eq!(self.status, 401, "body: {}", self.text);
        assert_eq!(self.body["error"], "session_revoked", "{}", self.text);
        assert_eq!(self.body["revoked_reason"], reason, "{}", self.text);
    }
}

/// A running `sessiond serve` on a data dir; SIGKILLed on drop.
struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let mut cmd = Command::new(BIN);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SESSIOND_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("NO_COLOR", "1")
            .env("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL)
            .env("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn sessiond serve");
        let pipe = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        // Keeps draining stderr for the life of the process.
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(Ok(addr));
                }
                log.push_str(&line);
                log.push('\n');
            }
            let _ = tx.send(Err(log));
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not report `listening on`: {other:?}");
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Server {
            child,
            base: format!("http://{addr}"),
            agent,
        }
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let url = format!("{}{path}", self.base);
        let mut b = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let res = match body {
            Some(v) => self.agent.run(
                b.header("content-type", "application/json")
                    .body(v.to_string())
                    .expect("request"),
            ),
            None => self.agent.run(b.body(()).expect("request")),
        };
        let mut res = res.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, body, text }
    }

    fn get(&self, path: &str, token: &str) -> Resp {
        self.send("GET", path, Some(token), None)
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send("POST", path, token, Some(body))
    }

    /// `kill -9`.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (access token, refresh token, session id) of a login answer.
#[track_caller]
fn tokens(r: &Resp) -> (String, String, String) {
    let b = r.ok(200);
    let s = |k: &str| b[k].as_str().expect(k).to_owned();
    (s("access_token"), s("refresh_token"), s("session_id"))
}

#[track_caller]
fn tokens_created(r: &Resp) -> (String, String, String) {
    let b = r.ok(201);
    let s = |k: &str| b[k].as_str().expect(k).to_owned();
    (s("access_token"), s("refresh_token"), s("session_id"))
}

fn grant_expired_entries(s: &Server, admin: &str) -> Vec<Value> {
    let r = s.get(
        &format!("/v1/tenants/{T}/audit?action=grant_expired"),
        admin,
    );
    r.ok(200)["items"].as_array().expect("items").clone()
}

/// SPEC §6 + §7: a 3 s grant expires while the server is killed; after the
/// restart its support session is refused as `grant_expired` and the
/// tenant's and the platform's logs record `grant_expired` exactly once,
/// also across a further restart.
#[test]
fn grant_expired_during_downtime_is_ended_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let (root, _, _) = tokens(&s.post(
        "/v1/platform/auth/login",
        None,
        json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}),
    ));
    s.post(
        "/v1/platform/tenants",
        Some(&root),
        json!({"slug": T, "name": "Acme",
               "first_admin": {"email": ADMIN_EMAIL, "display_name": "Acme Admin",
                               "password": ADMIN_PASSWORD}}),
    )
    .ok(201);
    let (admin, _, _) = tokens(&s.post(
        "/v1/auth/login",
        None,
        json!({"tenant": T, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    ));
    let asked = Instant::now();
    let r = s.post(
        &format!("/v1/tenants/{T}/support-grants"),
        Some(&admin),
        json!({"grantee_email": ROOT_EMAIL, "duration_secs": 3, "reason": "ticket 4711"}),
    );
    let gid = r.ok(201)["id"].as_str().expect("grant id").to_owned();
    assert_eq!(r.body["status"], "active", "{}", r.text);
    let (support, support_refresh, support_sid) = tokens_created(&s.post(
        &format!("/v1/platform/tenants/{T}/support-sessions"),
        Some(&root),
        json!({}),
    ));
    let me = s.get("/v1/auth/me", &support);
    assert_eq!(me.ok(200)["user"]["email"], ROOT_EMAIL, "{}", me.text);
    assert!(grant_expired_entries(&s, &admin).is_empty());

    s.kill();
    // The grant ends at most 3 s after it was asked for.
    let until = asked + Duration::from_millis(3500);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));

    let s = Server::start(dir.path());
    // Refused from the first request on, whether or not the scheduler ran.
    s.get("/v1/auth/me", &support)
        .assert_revoked("grant_expired");
    // The scheduler ends the grant shortly after the start.
    let deadline = Instant::now() + Duration::from_secs(3);
    let entries = loop {
        let e = grant_expired_entries(&s, &admin);
        if !e.is_empty() || Instant::now() > deadline {
            break e;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["target"], json!(gid), "{}", entries[0]);
    assert_eq!(entries[0]["reason"], "grant_expired", "{}", entries[0]);
    s.get("/v1/auth/me", &support)
        .assert_revoked("grant_expired");
    s.post(
        "/v1/auth/refresh",
        None,
        json!({"refresh_token": support_refresh}),
    )
    .assert_revoked("grant_expired");
    let row = s.get(&format!("/v1/tenants/{T}/sessions/{support_sid}"), &admin);
    assert_eq!(row.ok(200)["status"], "revoked", "{}", row.text);
    assert_eq!(row.body["revoked_reason"], "grant_expired", "{}", row.text);
    let grants = s.get(&format!("/v1/tenants/{T}/support-grants"), &admin);
    let g = grants
        .ok(200)
        .as_array()
        .expect("grants")
        .iter()
        .find(|g| g["id"] == json!(gid))
        .cloned()
        .expect("grant listed");
    assert_eq!(g["status"], "expired", "{g}");
    let platform = s.get("/v1/platform/audit?action=grant_expired", &root);
    let hits: Vec<&Value> = platform.ok(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["target"] == json!(gid))
        .collect();
    assert_eq!(hits.len(), 1, "{}", platform.text);

    // Another restart does not end it again.
    s.kill();
    let s = Server::start(dir.path());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(grant_expired_entries(&s, &admin).len(), 1);
    s.get("/v1/auth/me", &support)
        .assert_revoked("grant_expired");
    let verify = s.get(&format!("/v1/tenants/{T}/audit/verify"), &admin);
    assert_eq!(verify.ok(200)["ok"], true, "{}", verify.text);
}
