#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Crash suite (SPEC §7 durability), run by `.ci/run`, not by `cargo test`:
//! `cargo test --test crash`. Twenty cycles of `kill -9` in the middle of
//! concurrent logins, refreshes, logouts, admin revocations and bulk
//! revocations. After each restart: every acknowledged login exists, every
//! acknowledged revocation holds, every superseded refresh token is
//! refused, and `sessiond check` passes on the stopped file.

#[path = "../it/support/process.rs"]
mod process;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use process::{Resp, Server, USER_PASSWORD, agent, api_create_tenant, cli, try_send};

const TENANT: &str = "crash";
const CYCLES: u64 = 20;
const WORKERS: u64 = 4;
const USERS: usize = 8;

/// What the server acknowledged, for checking after the restart.
#[derive(Default)]
struct Acked {
    /// Session id → access token of its last pair.
    logins: HashMap<String, String>,
    revoked: Vec<String>,
    /// Rotated-away refresh tokens, with their session.
    superseded: Vec<(String, String)>,
    refreshes: u64,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One worker's loop until the server dies or `stop` is set. Only answers
/// that arrived count; an operation cut off by the kill proves nothing.
fn work(base: String, admin: String, seed: u64, stop: Arc<AtomicBool>, acked: Arc<Mutex<Acked>>) {
    let a = agent();
    let mut rng = Rng(seed | 1);
    // (session id, access, refresh) of this worker's live sessions.
    let mut mine: Vec<(String, String, String)> = Vec::new();
    let call = |m: &str, path: &str, token: Option<&str>, body: Option<Value>| -> Option<Resp> {
        try_send(&a, m, &format!("{base}{path}"), token, body.as_ref()).ok()
    };
    while !stop.load(Ordering::Relaxed) {
        let op = if mine.is_empty() { 0 } else { rng.below(10) };
        match op {
            0..=2 => {
                let user = format!("u{}@crash.test", rng.below(USERS as u64));
                let body = json!({"tenant": TENANT, "email": user, "password": USER_PASSWORD});
                let Some(r) = call("POST", "/v1/auth/login", None, Some(body)) else {
                    return;
                };
                if r.status == 200 {
                    let sid = r.body["session_id"].as_str().unwrap().to_owned();
                    let at = r.body["access_token"].as_str().unwrap().to_owned();
                    let rt = r.body["refresh_token"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().logins.insert(sid.clone(), at.clone());
                    mine.push((sid, at, rt));
                }
            }
            3..=5 => {
                let i = rng.below(mine.len() as u64) as usize;
                let body = json!({"refresh_token": mine[i].2});
                let Some(r) = call("POST", "/v1/auth/refresh", None, Some(body)) else {
                    return;
                };
                if r.status == 200 {
                    let at = r.body["access_token"].as_str().unwrap().to_owned();
                    let rt = r.body["refresh_token"].as_str().unwrap().to_owned();
                    let old = std::mem::replace(&mut mine[i].2, rt);
                    mine[i].1 = at.clone();
                    let mut g = acked.lock().unwrap();
                    g.superseded.push((old, mine[i].0.clone()));
                    g.logins.insert(mine[i].0.clone(), at);
                    g.refreshes += 1;
                }
            }
            6 => {
                let (sid, at, _) = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                let Some(r) = call("POST", "/v1/auth/logout", Some(&at), None) else {
                    return;
                };
                if r.status == 204 {
                    acked.lock().unwrap().revoked.push(sid);
                }
            }
            7 | 8 => {
                let (sid, _, _) = mine.swap_remove(rng.below(mine.len() as u64) as usize);
                let path = format!("/v1/tenants/{TENANT}/sessions/{sid}/revoke");
                let body = json!({"reason": "crash suite"});
                let Some(r) = call("POST", &path, Some(&admin), Some(body)) else {
                    return;
                };
                if r.status == 200 {
                    acked.lock().unwrap().revoked.push(sid);
                }
            }
            _ => {
                let n = (1 + rng.below(3) as usize).min(mine.len());
                let ids: Vec<String> = mine.drain(..n).map(|m| m.0).collect();
                let path = format!("/v1/tenants/{TENANT}/sessions/revoke");
                let body = json!({"session_ids": ids, "reason": "crash suite bulk"});
                let Some(r) = call("POST", &path, Some(&admin), Some(body)) else {
                    return;
                };
                if r.status == 200 {
                    acked.lock().unwrap().revoked.extend(ids);
                }
            }
        }
    }
}

fn admin_token(s: &Server) -> String {
    let r = s.post(
        "/v1/auth/login",
        None,
        json!({"tenant": TENANT, "email": "admin@crash.test", "password": USER_PASSWORD}),
    );
    r.assert_ok(200)["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Everything acknowledged before the crash holds after it.
fn verify(s: &Server, admin: &str, acked: &Acked) -> u64 {
    let mut checked = 0;
    for sid in acked.logins.keys() {
        let r = s.get(&format!("/v1/tenants/{TENANT}/sessions/{sid}"), Some(admin));
        assert_eq!(r.status, 200, "acknowledged login {sid} lost: {}", r.text);
        checked += 1;
    }
    for sid in &acked.revoked {
        let r = s.get(&format!("/v1/tenants/{TENANT}/sessions/{sid}"), Some(admin));
        assert_eq!(
            r.body["status"], "revoked",
            "acknowledged revocation of {sid} lost: {}",
            r.text
        );
        let token = &acked.logins[sid];
        let me = s.get("/v1/auth/me", Some(token));
        assert_eq!(
            me.status, 401,
            "a revoked session's token works: {}",
            me.text
        );
        checked += 1;
    }
    for (rt, sid) in &acked.superseded {
        let r = s.refresh(rt);
        assert_eq!(
            r.status, 401,
            "superseded refresh token of {sid} accepted: {}",
            r.text
        );
        assert!(
            ["refresh_token_reused", "session_revoked"].contains(&r.code()),
            "{}",
            r.text
        );
        checked += 1;
    }
    checked
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let s = Server::start(dir.path());
    let root = s.platform_login();
    api_create_tenant(&s, &root.access, TENANT);
    let admin = admin_token(&s);
    for i in 0..USERS {
        let body = json!({"email": format!("u{i}@crash.test"), "display_name": format!("User {i}"),
                          "role": "member", "password": USER_PASSWORD});
        s.post(&format!("/v1/tenants/{TENANT}/users"), Some(&admin), body)
            .assert_ok(201);
    }
    let mut server = Some(s);
    let (mut logins, mut refreshes, mut revocations, mut checks) = (0, 0, 0, 0);
    let mut all = Acked::default();
    let mut rng = Rng(0x5e55_10d0);
    for cycle in 0..CYCLES {
        let s = server.take().unwrap_or_else(|| Server::start(dir.path()));
        let admin = admin_token(&s);
        let acked = Arc::new(Mutex::new(Acked::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (base, admin) = (s.url(""), admin.clone());
                let (stop, acked) = (stop.clone(), acked.clone());
                std::thread::spawn(move || work(base, admin, cycle * 31 + w + 7, stop, acked))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + rng.below(900)));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().expect("worker");
        }
        let out = cli(dir.path(), &["check"], None);
        assert!(
            out.status.success(),
            "cycle {cycle}: check failed: {}",
            out.stderr
        );

        let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
        let s = Server::start(dir.path());
        let admin = admin_token(&s);
        checks += verify(&s, &admin, &acked);
        logins += acked.logins.len();
        refreshes += acked.refreshes;
        revocations += acked.revoked.len();
        all.logins.extend(acked.logins);
        all.revoked.extend(acked.revoked);
        server = Some(s);
        println!(
            "cycle {:>2}: acknowledged so far: {logins} logins, {refreshes} refreshes, {revocations} revocations",
            cycle + 1
        );
    }
    // Revocations from every cycle still hold at the end.
    let s = server.take().expect("server");
    let admin = admin_token(&s);
    let tail = Acked {
        logins: all.logins,
        revoked: all.revoked,
        ..Acked::default()
    };
    checks += verify(&s, &admin, &tail);
    println!(
        "crash suite: {CYCLES} kill -9 cycles in {:.0} s; acknowledged {logins} logins, {refreshes} refreshes, {revocations} revocations; {checks} checks; lost: 0",
        started.elapsed().as_secs_f64()
    );
}
