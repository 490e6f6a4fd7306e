//! The figures, in an order where each leaves the data the next one needs.

mod admin;
mod auth;
mod events;
mod lifecycle;

use std::path::Path;
use std::time::Instant;

use hyper::StatusCode;
use serde_json::{Value, json};

use super::client::{Call, Conn};
use super::load::{self, Repeat, Script};
use super::refs::{self, BarePg, BareRedb, Commit};
use super::target::Target;
use super::{Login, PgSchemas, Rows, Sizes, median, ms, progress};

const TENANT: &str = "bench";

/// Seed a fresh data dir and start a server on it.
pub async fn local(
    work: &Path,
    s: &Sizes,
    pg: Option<&PgSchemas>,
    started: Instant,
) -> Result<(Target, Login), String> {
    let mut env = pg.map(PgSchemas::env).unwrap_or_default();
    // The events scenario's receivers listen on loopback.
    env.push(("SESSIOND_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned()));
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
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    let target = Target::spawn(&data, env).await?;
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
    /// The engine the bare references ran on.
    engine: &'static str,
    /// One durable single-row commit.
    commit: f64,
    /// Deleting 10k of `rows` rows in one transaction.
    delete: f64,
    redb: Option<RedbDetail>,
    argon2: f64,
    rows: usize,
}

/// redb's references with sessiond's commit settings.
struct RedbDetail {
    commit_sessiond: f64,
    delete_sessiond: f64,
    /// The same B-tree writes as a bulk revocation of 10k, bare.
    rewrite: f64,
    /// The writes of one admin revocation, bare, committed as sessiond does.
    revoke_like: f64,
}

pub async fn all(
    target: Target,
    login: Login,
    work: &Path,
    pg: Option<&PgSchemas>,
    sizes: Sizes,
    started: Instant,
) -> Result<Rows, String> {
    let engine = if pg.is_some() { "PostgreSQL" } else { "redb" };
    progress(
        started,
        &format!("bare {engine} references ({} rows)", sizes.sessions),
    );
    let refs = match pg {
        None => references(work, &sizes)?,
        Some(pg) => pg_references(pg, &sizes)?,
    };
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
    b.events().await?;
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
    let revoke_like = median(
        (0..21)
            .map(|_| bare.revoke_like(Commit::AsSessiond).map(ms))
            .collect::<Result<Vec<_>, _>>()?,
    );
    let rewrite = median(
        (0..s.rounds)
            .map(|_| bare.rewrite(10_000, Commit::AsSessiond).map(ms))
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(Refs {
        engine: "redb",
        commit,
        delete,
        redb: Some(RedbDetail {
            commit_sessiond,
            delete_sessiond,
            rewrite,
            revoke_like,
        }),
        argon2: argon2()?,
        rows: s.sessions,
    })
}

/// The same references on the bench's PostgreSQL (a table of its own),
/// on a thread of their own: the client blocks.
fn pg_references(pg: &PgSchemas, s: &Sizes) -> Result<Refs, String> {
    let (commit, delete) = std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut bare = BarePg::build(pg.url.expose(), &pg.prefix, s.sessions)?;
            let commit = median(
                (0..21)
                    .map(|_| bare.commit_one().map(ms))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            let delete = median(
                (0..s.rounds)
                    .map(|_| bare.delete(10_000).map(ms))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            Ok::<_, String>((commit, delete))
        })
        .join()
        .unwrap_or_else(|_| Err("the PostgreSQL reference panicked".into()))
    })?;
    Ok(Refs {
        engine: "PostgreSQL",
        commit,
        delete,
        redb: None,
        argon2: argon2()?,
        rows: s.sessions,
    })
}

fn argon2() -> Result<f64, String> {
    Ok(median(
        (0..3)
            .map(|_| refs::argon2_hash().map(ms))
            .collect::<Result<Vec<_>, _>>()?,
    ))
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
            "{what}: {} of {} requests failed, the first with {}",
            o.errors,
            o.requests,
            o.first_error.as_deref().unwrap_or("?")
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
}
