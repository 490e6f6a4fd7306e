//! The figures, in an order where each leaves the data the next one needs.

use std::path::Path;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use serde_json::{Value, json};

use super::client::{Call, Conn};
use super::load::{self, Repeat, Script};
use super::refs::{self, BareAxum, BareRedb, Commit};
use super::report::{Goal, Reference, Row};
use super::target::Target;
use super::{Login, Rows, Sizes, cores, median, ms, progress};

const TENANT: &str = "bench";

/// Seed a fresh data dir and start a server on it.
pub async fn local(work: &Path, s: &Sizes, started: Instant) -> Result<(Target, Login), String> {
    let data = work.join("data");
    progress(
        started,
        &format!("seeding {} users and {} sessions", s.users, s.sessions),
    );
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(exe)
        .arg("--data-dir")
        .arg(&data)
        .args(["seed", "--tenant", TENANT])
        .args(["--users", &s.users.to_string()])
        .args(["--sessions", &s.sessions.to_string()])
        .output()
        .map_err(|e| format!("cannot run seed: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "seed failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let password = stdout
        .lines()
        .find_map(|l| l.split_once("password (shown once): ").map(|(_, p)| p))
        .ok_or("seed printed no admin password")?
        .trim()
        .to_owned();
    progress(started, "starting the server");
    let target = Target::spawn(&data).await?;
    Ok((
        target,
        Login {
            tenant: TENANT.into(),
            email: format!("admin@{TENANT}.test"),
            password,
        },
    ))
}

struct Bench {
    target: Target,
    login: Login,
    admin: Conn,
    token: String,
    admin_id: String,
    sizes: Sizes,
    started: Instant,
    rows: Rows,
}

struct Refs {
    commit: f64,
    commit_sessiond: f64,
    delete: f64,
    delete_sessiond: f64,
    argon2: f64,
    rows: usize,
}

pub async fn all(
    target: Target,
    login: Login,
    work: &Path,
    sizes: Sizes,
    started: Instant,
) -> Result<Rows, String> {
    progress(
        started,
        &format!("bare redb references ({} rows)", sizes.sessions),
    );
    let refs = references(work, &sizes)?;
    let mut admin = Conn::open(target.addr).await?;
    let (token, _) = login_once(&mut admin, &login).await?;
    let me = admin.json(&Call::get("/v1/auth/me", Some(&token))).await?;
    let admin_id = me["user"]["id"].as_str().unwrap_or_default().to_owned();
    let mut b = Bench {
        target,
        login,
        admin,
        token,
        admin_id,
        sizes,
        started,
        rows: Vec::new(),
    };
    b.verify_throughput().await?;
    b.login_flood(&refs).await?;
    b.refresh().await?;
    b.pages().await?;
    b.revoke_one(&refs).await?;
    b.revoked_filter().await?;
    b.search().await?;
    b.serving_memory();
    b.bulk_by_users(&refs).await?;
    b.bulk_by_ids().await?;
    b.start_up().await?;
    Ok(b.rows)
}

fn references(work: &Path, s: &Sizes) -> Result<Refs, String> {
    let mut bare = BareRedb::build(&work.join("bare.redb"), s.sessions)?;
    let sample = |bare: &mut BareRedb, how| -> Result<f64, String> {
        let v = (0..21)
            .map(|_| bare.commit_one(how).map(ms))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(median(v))
    };
    let commit = sample(&mut bare, Commit::Default)?;
    let commit_sessiond = sample(&mut bare, Commit::AsSessiond)?;
    let mut deletes = |how| -> Result<f64, String> {
        let v = (0..s.rounds)
            .map(|_| bare.delete(10_000, how).map(ms))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(median(v))
    };
    let delete = deletes(Commit::Default)?;
    let delete_sessiond = deletes(Commit::AsSessiond)?;
    let argon2 = median(
        (0..3)
            .map(|_| refs::argon2_hash().map(ms))
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(Refs {
        commit,
        commit_sessiond,
        delete,
        delete_sessiond,
        argon2,
        rows: s.sessions,
    })
}

async fn login_once(c: &mut Conn, l: &Login) -> Result<(String, String), String> {
    let v = c.json(&login_call(l)).await?;
    let get = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("login answered no {k}"))
    };
    Ok((get("access_token")?, get("refresh_token")?))
}

fn login_call(l: &Login) -> Call {
    Call::post(
        "/v1/auth/login",
        None,
        &json!({"tenant": l.tenant, "email": l.email, "password": l.password}),
    )
}

fn repeat(call: &Call, n: usize) -> Vec<Repeat> {
    (0..n).map(|_| Repeat(call.clone())).collect()
}

/// A refresh chain: each answer's refresh token is the next request's.
struct Rotate(Call);

impl Script for Rotate {
    fn call(&self) -> &Call {
        &self.0
    }

    fn answered(&mut self, status: StatusCode, body: &[u8]) {
        if status.is_success()
            && let Ok(v) = serde_json::from_slice::<Value>(body)
            && let Some(t) = v["refresh_token"].as_str()
        {
            self.0 = Call::post("/v1/auth/refresh", None, &json!({ "refresh_token": t }));
        }
    }
}

fn no_errors(what: &str, o: &load::Outcome) -> Result<(), String> {
    if o.errors > 0 {
        return Err(format!(
            "{what}: {} of {} requests failed",
            o.errors, o.requests
        ));
    }
    Ok(())
}

/// `path?k=v&…`, url-encoded; empty values are left out.
fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}

impl Bench {
    fn step(&self, what: &str) {
        match self.target.memory_mib() {
            Some((rss, _)) => progress(self.started, &format!("{what} (server RSS {rss:.0} MiB)")),
            None => progress(self.started, what),
        }
    }

    fn tenant_path(&self, rest: &str) -> String {
        format!("/v1/tenants/{}/{rest}", self.login.tenant)
    }

    fn get(&self, path: &str) -> Call {
        Call::get(path, Some(&self.token))
    }

    /// Median latency in ms of `n` sequential sends of `call`.
    async fn p50(&mut self, call: &Call, n: usize) -> Result<f64, String> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(ms(self.admin.timed(call).await?.0));
        }
        Ok(median(v))
    }

    async fn verify_throughput(&mut self) -> Result<(), String> {
        let addr = self.target.addr;
        let bare = BareAxum::start()?;
        let verify = self.get("/v1/auth/verify");
        let health = Call::get("/healthz", None);
        let (mut v, mut h, mut b, mut v99, mut h99) = (vec![], vec![], vec![], vec![], vec![]);
        for round in 1..=self.sizes.rounds {
            self.step(&format!(
                "verify, /healthz and a bare axum handler, 32 connections (round {round}/{})",
                self.sizes.rounds
            ));
            let d = self.sizes.dur;
            let ho = load::run(addr, repeat(&health, 32), d).await?;
            let vo = load::run(addr, repeat(&verify, 32), d).await?;
            let bo = load::run(bare.addr, repeat(&Call::get("/", None), 32), d).await?;
            no_errors("verify", &vo)?;
            v.push(vo.per_sec());
            h.push(ho.per_sec());
            b.push(bo.per_sec());
            v99.push(vo.ms(0.99));
            h99.push(ho.ms(0.99));
        }
        let (v, h, b) = (median(v), median(h), median(b));
        self.rows.push(Row::against(
            "verify req/s ÷ /healthz req/s",
            v,
            "/s",
            Reference::new("/healthz", h, "/s"),
            Goal::RatioAtLeast(0.6),
        ));
        self.rows.push(Row::against(
            "verify p99 (32 connections)",
            median(v99),
            "ms",
            Reference::new("/healthz p99", median(h99), "ms"),
            Goal::AtMost(2.0),
        ));
        self.rows.push(Row::against(
            "verify req/s ÷ bare axum handler",
            v,
            "/s",
            Reference::new("bare axum", b, "/s"),
            Goal::Report,
        ));
        Ok(())
    }

    async fn login_flood(&mut self, refs: &Refs) -> Result<(), String> {
        self.step("login latency, then verify p99 during a login flood");
        let login = login_call(&self.login);
        let one = self.p50(&login, 10).await?;
        self.rows.push(Row::against(
            "login p50 (idle)",
            one,
            "ms",
            Reference::new("one argon2 hash", refs.argon2, "ms"),
            Goal::Report,
        ));
        let addr = self.target.addr;
        let verify = self.get("/v1/auth/verify");
        let d = self.sizes.dur;
        let idle = load::run(addr, repeat(&verify, 4), d).await?;
        let flood = tokio::spawn(load::run(
            addr,
            repeat(&login, 16),
            d + Duration::from_millis(400),
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let under = load::run(addr, repeat(&verify, 4), d).await?;
        let flood = flood.await.map_err(|e| e.to_string())??;
        no_errors("verify during the flood", &under)?;
        self.rows.push(
            Row::against(
                "verify p99 during a login flood",
                under.ms(0.99),
                "ms",
                Reference::new("idle p99", idle.ms(0.99), "ms"),
                Goal::RatioAtMost(2.0),
            )
            .note(format!(
                "4 verify connections beside 16 logging in; {} of {} logins answered 503 overloaded",
                flood.errors, flood.requests
            )),
        );
        self.rows.push(
            Row::new(
                "password logins/s per core at full argon2 capacity",
                flood.per_sec() / cores() as f64,
                "/s",
                Goal::Report,
            )
            .note("Keycloak's sizing guide: ≈ 15 password logins/s per vCPU (published, other hardware)"),
        );
        Ok(())
    }

    async fn refresh(&mut self) -> Result<(), String> {
        self.step("refresh rotations: 1 chain, then 32 chains");
        let mut chains = Vec::new();
        for _ in 0..33 {
            let (_, rt) = login_once(&mut self.admin, &self.login).await?;
            chains.push(Rotate(Call::post(
                "/v1/auth/refresh",
                None,
                &json!({ "refresh_token": rt }),
            )));
        }
        let d = self.sizes.dur;
        let first = chains.split_off(32);
        let one = load::run(self.target.addr, first, d).await?;
        let many = load::run(self.target.addr, chains, d).await?;
        no_errors("refresh, 1 chain", &one)?;
        no_errors("refresh, 32 chains", &many)?;
        self.rows.push(
            Row::against(
                "refresh rotations/s, 32 chains ÷ 1 chain",
                many.per_sec(),
                "/s",
                Reference::new("1 chain", one.per_sec(), "/s"),
                Goal::RatioAtLeast(4.0),
            )
            .note(format!(
                "{:.0} rotations/s per core with 32 chains; Keycloak's sizing guide: ≈ 120 refreshes/s per vCPU (published, other hardware)",
                many.per_sec() / cores() as f64
            )),
        );
        Ok(())
    }

    async fn pages(&mut self) -> Result<(), String> {
        let depth = self.sizes.depth;
        let mut worst = (0.0, String::new());
        let mut each = Vec::new();
        for sort in ["last_activity_desc", "created_desc"] {
            self.step(&format!("50-row pages by {sort}: first and at row {depth}"));
            let path = self.tenant_path("sessions");
            let first = self.get(&query(&path, &[("limit", "50"), ("sort", sort)]));
            let p = self.p50(&first, 20).await?;
            each.push(format!("{sort} first {p:.2} ms"));
            if p > worst.0 {
                worst = (p, format!("{sort}, first page"));
            }
            let mut cursor = String::new();
            for _ in 0..depth / 200 {
                let page = self
                    .admin
                    .json(&self.get(&query(
                        &path,
                        &[("limit", "200"), ("sort", sort), ("cursor", &cursor)],
                    )))
                    .await?;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = c.to_owned(),
                    None => return Err(format!("fewer than {depth} sessions to page through")),
                }
            }
            let deep = self.get(&query(
                &path,
                &[("limit", "50"), ("sort", sort), ("cursor", &cursor)],
            ));
            let p = self.p50(&deep, 20).await?;
            each.push(format!("at row {depth} {p:.2} ms"));
            if p > worst.0 {
                worst = (p, format!("{sort}, row {depth}"));
            }
        }
        self.rows.push(
            Row::new(
                format!(
                    "50-row page p50 at {} sessions (worst)",
                    super::report::num(self.sizes.sessions as f64)
                ),
                worst.0,
                "ms",
                Goal::AtMost(5.0),
            )
            .note(format!("worst: {}; {}", worst.1, each.join(", "))),
        );
        Ok(())
    }

    /// Active sessions of other users than the admin, newest first.
    async fn active_ids(&mut self, n: usize) -> Result<Vec<String>, String> {
        let path = self.tenant_path("sessions");
        let mut ids = Vec::with_capacity(n);
        let mut cursor = String::new();
        while ids.len() < n {
            let page = self
                .admin
                .json(&self.get(&query(
                    &path,
                    &[
                        ("status", "active"),
                        ("sort", "created_desc"),
                        ("limit", "200"),
                        ("cursor", &cursor),
                    ],
                )))
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            ids.extend(
                items
                    .iter()
                    .filter(|s| s["user"]["id"].as_str() != Some(&self.admin_id))
                    .filter_map(|s| s["id"].as_str().map(str::to_owned)),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        ids.truncate(n);
        Ok(ids)
    }

    async fn revoke_one(&mut self, refs: &Refs) -> Result<(), String> {
        self.step("revoking sessions one at a time");
        let ids = self.active_ids(31).await?;
        let mut v = Vec::new();
        for id in &ids {
            let call = Call::post(
                self.tenant_path(&format!("sessions/{id}/revoke")),
                Some(&self.token),
                &json!({"reason": "bench"}),
            );
            let (d, body) = self.admin.timed(&call).await?;
            if body["revoked"] != 1 {
                return Err(format!("revoking {id} answered {body}"));
            }
            v.push(ms(d));
        }
        self.rows.push(
            Row::against(
                "revoke one session p50",
                median(v),
                "ms",
                Reference::new("bare durable redb commit", refs.commit, "ms"),
                Goal::RatioAtMost(1.3),
            )
            .note(format!(
                "sessiond commits with two-phase commit and quick repair (bounded start-up after a crash); a bare commit with those settings takes {:.2} ms",
                refs.commit_sessiond
            )),
        );
        Ok(())
    }

    async fn revoked_filter(&mut self) -> Result<(), String> {
        self.step("status=revoked&sort=created_desc with few revoked sessions");
        let call = self.get(&query(
            &self.tenant_path("sessions"),
            &[
                ("status", "revoked"),
                ("sort", "created_desc"),
                ("limit", "50"),
            ],
        ));
        let p = self.p50(&call, 20).await?;
        self.rows.push(Row::new(
            "status=revoked&sort=created_desc page p50",
            p,
            "ms",
            Goal::AtMost(5.0),
        ));
        Ok(())
    }

    async fn search(&mut self) -> Result<(), String> {
        self.step("q= on users and sessions");
        let terms = ["user1234", "ines müller", "kowalski", "user77"];
        for (what, list) in [("users", "users"), ("sessions", "sessions")] {
            let mut worst = (0.0, "");
            for t in terms {
                let call = self.get(&query(
                    &self.tenant_path(list),
                    &[("q", t), ("limit", "50")],
                ));
                let p = self.p50(&call, 10).await?;
                if p > worst.0 {
                    worst = (p, t);
                }
            }
            self.rows.push(
                Row::new(
                    format!(
                        "{what} page with q= p50 at {} users (worst)",
                        super::report::num(self.sizes.users as f64)
                    ),
                    worst.0,
                    "ms",
                    Goal::AtMost(5.0),
                )
                .note(format!(
                    "worst term {:?} of {}",
                    worst.1,
                    terms
                        .iter()
                        .map(|t| format!("{t:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
        Ok(())
    }

    fn serving_memory(&mut self) {
        if let Some((rss, _)) = self.target.memory_mib() {
            self.rows.push(Row::new(
                format!(
                    "RSS while serving {} sessions",
                    super::report::num(self.sizes.sessions as f64)
                ),
                rss,
                "MiB",
                Goal::AtMost(256.0),
            ));
        }
    }

    /// Member ids, in creation order, skipping the first `skip`.
    async fn members(&mut self, skip: usize, n: usize) -> Result<Vec<String>, String> {
        let path = self.tenant_path("users");
        let mut ids = Vec::new();
        let mut cursor = String::new();
        while ids.len() < skip + n {
            let page = self
                .admin
                .json(&self.get(&query(&path, &[("limit", "200"), ("cursor", &cursor)])))
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            ids.extend(
                items
                    .iter()
                    .filter(|u| u["role"] == "member")
                    .filter_map(|u| u["id"].as_str().map(str::to_owned)),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => break,
            }
        }
        if ids.len() < skip + n {
            return Err(format!("the tenant has fewer than {} members", skip + n));
        }
        Ok(ids.split_off(skip).into_iter().take(n).collect())
    }

    async fn bulk_by_users(&mut self, refs: &Refs) -> Result<(), String> {
        let (mut times, mut counts) = (Vec::new(), Vec::new());
        for round in 0..self.sizes.rounds {
            self.step(&format!(
                "bulk revoke by 1,000 users (round {}/{})",
                round + 1,
                self.sizes.rounds
            ));
            // A fresh set of members each round.
            let users = self.members(1000 * round, 1000).await?;
            let path = self.tenant_path("sessions/revoke");
            let body = json!({"filter": {"user_ids": users}, "reason": "bench", "dry_run": false});
            let (d, r) = self
                .admin
                .timed(&Call::post(path, Some(&self.token), &body))
                .await?;
            times.push(ms(d));
            counts.push(r["revoked"].as_f64().unwrap_or(0.0));
        }
        self.rows.push(
            Row::against(
                format!("bulk revoke of {} sessions (1,000 users)", super::report::num(median(counts))),
                median(times),
                "ms",
                Reference::new(
                    format!("bare redb delete of 10k of {}", super::report::num(refs.rows as f64)),
                    refs.delete,
                    "ms",
                ),
                Goal::RatioAtMost(1.5),
            )
            .note(format!(
                "one transaction with its audit entry; per session it rewrites the record and moves its activity-index entry (3 B-tree writes where the bare delete makes 1); the bare delete with sessiond's commit settings takes {:.0} ms",
                refs.delete_sessiond
            )),
        );
        Ok(())
    }

    async fn bulk_by_ids(&mut self) -> Result<(), String> {
        self.step("bulk revoke by 10,000 session_ids in one request");
        let ids = self.active_ids(10_000).await?;
        let n = ids.len();
        let body = json!({"session_ids": ids, "reason": "bench"});
        let bytes = body.to_string().len();
        let call = Call::post(
            self.tenant_path("sessions/revoke"),
            Some(&self.token),
            &body,
        );
        let (d, r) = self.admin.timed(&call).await?;
        let revoked = r["revoked"].as_u64().unwrap_or(0) as usize;
        self.rows.push(
            Row::new(
                format!(
                    "bulk revoke by {} session_ids, one request",
                    super::report::num(n as f64)
                ),
                ms(d),
                "ms",
                Goal::Holds(n == 10_000 && revoked == n),
            )
            .note(format!("{} KiB body, revoked {revoked}", bytes / 1024)),
        );
        Ok(())
    }

    async fn start_up(&mut self) -> Result<(), String> {
        if !self.target.is_local() {
            return Ok(());
        }
        let n = super::report::num(self.sizes.sessions as f64);
        for (how, crash) in [("clean stop", false), ("kill -9", true)] {
            let (mut times, mut peaks) = (Vec::new(), Vec::new());
            for round in 1..=self.sizes.rounds {
                self.step(&format!(
                    "start-up after {how} (round {round}/{})",
                    self.sizes.rounds
                ));
                // A write first, so the file is mid-use when it dies.
                login_once(&mut self.admin, &self.login).await?;
                if crash {
                    self.target.kill9()?;
                } else {
                    self.target.stop()?;
                }
                times.push(ms(self.target.start().await?));
                peaks.push(self.target.memory_mib().map_or(0.0, |m| m.1));
                self.admin = Conn::open(self.target.addr).await?;
            }
            self.rows.push(
                Row::new(
                    format!("start-up to /readyz after {how}, {n} sessions"),
                    median(times),
                    "ms",
                    Goal::AtMost(200.0),
                )
                .note(format!(
                    "peak RSS {:.0} MiB at ready",
                    median(peaks.clone())
                )),
            );
            if crash {
                self.rows.push(Row::new(
                    "peak RSS at start-up after kill -9",
                    median(peaks),
                    "MiB",
                    Goal::AtMost(256.0),
                ));
            }
        }
        Ok(())
    }
}
