//! Black-box tests against the real `sessiond` binary: a child process on a
//! temp data dir, `--listen 127.0.0.1:0`, spoken to over real HTTP.
//!
//! These cover what only a process can show: durability across `kill -9`,
//! revocation under concurrent load, signal handling, the database lock seen
//! by the CLI, bootstrap output, file modes and what ends up in the logs.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_sessiond");
const ROOT_EMAIL: &str = "root@blackbox.test";
const ROOT_PASSWORD: &str = "blackbox root password 1";
const USER_PASSWORD: &str = "blackbox user password 1";
/// How long a server may take to log `listening on http://…`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// harness

/// A `sessiond` command with no `SESSIOND_*` inherited from the test's environment.
fn sessiond(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SESSIOND_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .arg("--data-dir")
        .arg(dir);
    cmd
}

/// Wait for `child` at most `limit`; kill it (and fail) if it does not exit.
fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct CliOut {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Run a CLI command on `dir`, feeding `stdin` (if any), with a 20 s limit.
fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> CliOut {
    let mut child = sessiond(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sessiond");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            // The command may exit before reading (e.g. database in use).
            let _ = input.write_all(s.as_bytes());
        }
    }
    let out_pipe = child.stdout.take().expect("stdout");
    let err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || std::io::read_to_string(out_pipe).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(err_pipe).unwrap_or_default());
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    CliOut {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// `sessiond tenant create SLUG` with org admin `admin@SLUG.test` / USER_PASSWORD.
fn cli_create_tenant(dir: &Path, slug: &str) -> String {
    let email = format!("admin@{slug}.test");
    let out = cli(
        dir,
        &[
            "tenant",
            "create",
            slug,
            "--name",
            &format!("Tenant {slug}"),
            "--admin-email",
            &email,
            "--admin-name",
            "Admin",
            "--admin-password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    assert!(
        out.status.success(),
        "tenant create failed: {}\n{}",
        out.stdout,
        out.stderr
    );
    email
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

#[derive(Debug)]
struct Resp {
    status: u16,
    body: Value,
    text: String,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    #[track_caller]
    fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        &self.body
    }

    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
    }
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let mut b = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let res = match body {
        Some(v) => agent.run(
            b.header("content-type", "application/json")
                .body(v.to_string())
                .expect("request"),
        ),
        None => agent.run(b.body(()).expect("request")),
    };
    let mut res = res.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, body, text }
}

#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: String,
    session_id: String,
}

impl Tokens {
    #[track_caller]
    fn from(r: &Resp) -> Self {
        let b = r.assert_ok(200);
        Self {
            access: b["access_token"].as_str().expect("access_token").to_owned(),
            refresh: b["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            session_id: b["session_id"].as_str().expect("session_id").to_owned(),
        }
    }
}

/// A running `sessiond serve`; killed (SIGKILL) on drop.
struct Server {
    child: Child,
    base: String,
    port: u16,
    agent: ureq::Agent,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `dir` with the bootstrap admin ROOT_EMAIL / ROOT_PASSWORD.
    fn start(dir: &Path) -> Self {
        Self::start_with(
            dir,
            &[
                ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
                ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
            ],
        )
    }

    fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = sessiond(dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn sessiond serve");
        let pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                        .collect();
                    let _ = tx.send(addr);
                }
                let mut s = sink.lock().expect("stderr buffer");
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => a,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                let log = stderr.lock().expect("stderr buffer").clone();
                panic!("server did not report `listening on` ({e}); stderr:\n{log}");
            }
        };
        let port: u16 = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {addr:?}"));
        Server {
            child,
            base: format!("http://{addr}"),
            port,
            agent: agent(),
            stderr,
            reader: Some(reader),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    fn get(&self, path: &str, token: Option<&str>) -> Resp {
        send(&self.agent, "GET", &self.url(path), token, None)
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        send(&self.agent, "POST", &self.url(path), token, Some(&body))
    }

    fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        send(&self.agent, "POST", &self.url(path), token, None)
    }

    fn platform_login(&self) -> Tokens {
        Tokens::from(&self.post(
            "/v1/platform/auth/login",
            None,
            json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}),
        ))
    }

    fn login(&self, tenant: &str, email: &str) -> Tokens {
        Tokens::from(&self.post(
            "/v1/auth/login",
            None,
            json!({"tenant": tenant, "email": email, "password": USER_PASSWORD}),
        ))
    }

    fn refresh(&self, refresh_token: &str) -> Resp {
        self.post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
    }

    /// `kill -9`: no chance to flush or clean up.
    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Send SIGTERM and wait (at most `limit`) for the exit; returns the
    /// status and the complete stderr.
    fn terminate(mut self, limit: Duration) -> (ExitStatus, String) {
        let st = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM failed");
        let status = wait_timeout(&mut self.child, limit);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        (status, self.stderr())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Create a tenant through the platform API; its org admin is `admin@SLUG.test` / USER_PASSWORD.
fn api_create_tenant(s: &Server, root: &str, slug: &str) -> String {
    let email = format!("admin@{slug}.test");
    let r = s.post(
        "/v1/platform/tenants",
        Some(root),
        json!({"slug": slug, "name": format!("Tenant {slug}"),
               "first_admin": {"email": email, "display_name": "Admin", "password": USER_PASSWORD}}),
    );
    r.assert_ok(201);
    email
}

// ---------------------------------------------------------------------------
// tests

/// SPEC §3: a revoked session's token is refused on the very next request
/// after the revoking call returned, also while other clients hammer it.
#[test]
fn revocation_is_immediate_under_concurrent_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let email = cli_create_tenant(dir.path(), "loadtest");
    let s = Server::start(dir.path());
    let t = s.login("loadtest", &email);
    s.get("/v1/auth/me", Some(&t.access)).assert_ok(200);

    let stop = Arc::new(AtomicBool::new(false));
    let ok_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = s.url("/v1/auth/me");
    let hammers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ok_count, url, token) = (
                stop.clone(),
                ok_count.clone(),
                url.clone(),
                t.access.clone(),
            );
            std::thread::spawn(move || {
                let agent = agent();
                let deadline = Instant::now() + Duration::from_secs(8);
                let mut seen = Vec::new();
                for _ in 0..20_000 {
                    if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                        break;
                    }
                    let started = Instant::now();
                    let r = send(&agent, "GET", &url, Some(&token), None);
                    if r.status == 200 {
                        ok_count.fetch_add(1, Ordering::SeqCst);
                    }
                    seen.push((started, r.status, r.code().to_owned()));
                }
                seen
            })
        })
        .collect();

    // Let the hammers get going before revoking.
    let warmup = Instant::now() + Duration::from_secs(3);
    while ok_count.load(Ordering::SeqCst) < 200 && Instant::now() < warmup {
        std::thread::sleep(Duration::from_millis(5));
    }
    let r = s.post_empty("/v1/auth/logout", Some(&t.access));
    let logout_returned = Instant::now();
    assert_eq!(r.status, 204, "logout: {}", r.text);

    s.get("/v1/auth/me", Some(&t.access))
        .assert_error(401, "session_revoked");
    // Keep hammering a little after the logout, then stop.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);

    let mut all = Vec::new();
    for h in hammers {
        all.extend(h.join().expect("hammer thread"));
    }
    let before = all
        .iter()
        .filter(|(started, status, _)| *started < logout_returned && *status == 200)
        .count();
    let after: Vec<_> = all
        .iter()
        .filter(|(started, _, _)| *started > logout_returned)
        .collect();
    assert!(before > 0, "no successful request before the logout");
    assert!(!after.is_empty(), "no request started after the logout");
    eprintln!(
        "{before} requests answered 200 before the logout; {} started after it; {} in all",
        after.len(),
        all.len()
    );
    let leaked: Vec<_> = after
        .iter()
        .filter(|(_, status, _)| *status != 401)
        .collect();
    assert!(
        leaked.is_empty(),
        "{} of {} requests started after logout were not refused: {leaked:?}",
        leaked.len(),
        after.len()
    );
    assert!(
        after.iter().all(|(_, _, code)| code == "session_revoked"),
        "wrong error code after logout: {after:?}"
    );
    for (_, status, code) in &all {
        assert!(
            *status == 200 || (*status == 401 && code == "session_revoked"),
            "unexpected answer {status} {code}"
        );
    }
}

/// SPEC §7 durability: every acknowledged login, refresh, revocation and
/// tenant creation survives `kill -9` right after the answer.
#[test]
fn acknowledged_changes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. create a tenant, then crash.
    let s = Server::start(dir.path());
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "durable");
    s.kill9();

    // 2. log in and rotate the refresh token, then crash.
    let s = Server::start(dir.path());
    let first = s.login("durable", &email);
    let rotated = Tokens::from(&s.refresh(&first.refresh));
    assert_eq!(rotated.session_id, first.session_id);
    s.kill9();

    // 3. a second session signs out, then crash.
    let s = Server::start(dir.path());
    let other = s.login("durable", &email);
    assert_ne!(other.session_id, first.session_id);
    let r = s.post_empty("/v1/auth/logout", Some(&other.access));
    assert_eq!(r.status, 204, "logout: {}", r.text);
    s.kill9();

    // 4. everything acknowledged is still there.
    let s = Server::start(dir.path());
    let root = s.platform_login();
    let tenants = s.get("/v1/platform/tenants", Some(&root.access));
    let list = tenants.assert_ok(200).as_array().expect("tenant list");
    assert!(
        list.iter().any(|t| t["slug"] == "durable"),
        "tenant lost: {}",
        tenants.text
    );

    s.get("/v1/auth/me", Some(&other.access))
        .assert_error(401, "session_revoked");
    s.get("/v1/auth/me", Some(&rotated.access)).assert_ok(200);
    // The newest refresh token works (checked before replaying the old one,
    // since a replay revokes the whole chain).
    let third = Tokens::from(&s.refresh(&rotated.refresh));
    assert_eq!(third.session_id, first.session_id);
    let replay = s.refresh(&first.refresh);
    assert_eq!(
        replay.status, 401,
        "rotated refresh token accepted: {}",
        replay.text
    );
    assert!(
        matches!(replay.code(), "refresh_token_reused" | "session_revoked"),
        "rotated refresh token: {}",
        replay.text
    );
    s.kill9();

    let out = cli(dir.path(), &["audit", "verify"], None);
    assert!(
        out.status.success(),
        "audit verify after kill -9: {}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("durable"),
        "audit verify did not check the tenant: {}",
        out.stdout
    );
}

/// SPEC §7 shutdown: SIGTERM stops the server cleanly with exit status 0.
#[test]
fn sigterm_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    s.get("/healthz", None).assert_ok(200);
    assert_eq!(s.get("/readyz", None).status, 200);
    let (status, log) = s.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}; stderr:\n{log}");
}

/// SPEC §1: a CLI command on a database a server holds fails with one line.
#[test]
fn cli_refuses_a_database_held_by_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let create = [
        "tenant",
        "create",
        "held",
        "--name",
        "Held",
        "--admin-email",
        "a@held.test",
        "--admin-name",
        "A",
        "--admin-password-stdin",
    ];
    for args in [&create[..], &["audit", "verify"][..]] {
        let out = cli(dir.path(), args, Some(&format!("{USER_PASSWORD}\n")));
        assert!(
            !out.status.success(),
            "{args:?} succeeded on a held database: {}",
            out.stdout
        );
        let err = out.stderr.trim_end();
        assert_eq!(
            err.lines().count(),
            1,
            "{args:?}: expected one line on stderr, got:\n{err}"
        );
        assert!(err.contains("in use"), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("stack backtrace"),
            "{args:?}: {err}"
        );
    }
    // The server is unaffected.
    s.get("/healthz", None).assert_ok(200);
    s.platform_login();
}

/// SPEC §1 bootstrap: without the env vars, `admin@localhost` gets a random
/// password printed once; `--listen 127.0.0.1:0` logs the real port.
#[test]
fn bootstrap_without_env_prints_a_working_admin_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start_with(dir.path(), &[]);
    assert_ne!(s.port, 0, "logged port 0");
    let log = s.stderr();
    assert!(log.contains("admin@localhost"), "no admin email in:\n{log}");
    let password = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no printed password in:\n{log}"));
    assert!(password.len() >= 12, "weak generated password {password:?}");

    let r = s.post(
        "/v1/platform/auth/login",
        None,
        json!({"email": "admin@localhost", "password": password}),
    );
    let t = Tokens::from(&r);
    let me = s.get("/v1/auth/me", Some(&t.access));
    assert_eq!(
        me.assert_ok(200)["user"]["email"],
        "admin@localhost",
        "{}",
        me.text
    );
    s.kill9();

    // Shown once: a restart neither creates another admin nor prints it again.
    let s = Server::start_with(dir.path(), &[]);
    let log = s.stderr();
    assert!(!log.contains(&password), "password printed again:\n{log}");
    let r = s.post(
        "/v1/platform/auth/login",
        None,
        json!({"email": "admin@localhost", "password": password}),
    );
    Tokens::from(&r);
}

/// SPEC §7 data: `sessiond.redb` is created (with its directory) mode 0600.
#[test]
fn data_file_is_created_with_mode_0600() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: PathBuf = dir.path().join("nested").join("data");
    let s = Server::start(&data);
    s.platform_login();
    let mode = std::fs::metadata(data.join("sessiond.redb"))
        .expect("data file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {:o}", mode & 0o777);
}

/// A file that is not a sessiond database is refused and left untouched.
#[test]
fn foreign_data_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sessiond.redb");
    std::fs::write(&file, b"not a database").expect("write");
    let mut child = sessiond(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL)
        .env("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pipe = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || std::io::read_to_string(pipe).unwrap_or_default());
    let status = wait_timeout(&mut child, Duration::from_secs(10));
    let err = err.join().expect("stderr reader");
    assert!(
        !status.success(),
        "serve accepted a foreign file; stderr:\n{err}"
    );
    let err = err.trim_end();
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    assert!(
        err.contains("sessiond.redb"),
        "message does not name the file: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("listening on"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).expect("read back"), b"not a database");
}

/// SPEC §7 logs: never a password or token, even at debug level.
#[test]
fn debug_logs_contain_no_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start_with(
        dir.path(),
        &[
            ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
            ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
            ("SESSIOND_LOG", "debug"),
        ],
    );
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "quiet");
    let wrong = "wrong password 9f8e7d";
    s.post(
        "/v1/auth/login",
        None,
        json!({"tenant": "quiet", "email": email, "password": wrong}),
    )
    .assert_error(401, "invalid_credentials");
    let t = s.login("quiet", &email);
    s.get("/v1/auth/me", Some(&t.access)).assert_ok(200);
    let t2 = Tokens::from(&s.refresh(&t.refresh));
    s.get("/v1/auth/verify", Some(&t2.access)).assert_ok(200);
    let (status, log) = s.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status:?}");
    assert!(
        log.contains("DEBUG"),
        "SESSIOND_LOG=debug produced no debug lines:\n{log}"
    );

    let jwt_sig = |at: &str| at.rsplit('.').next().unwrap_or_default().to_owned();
    let rt_secret = |rt: &str| rt.rsplit('.').next().unwrap_or_default().to_owned();
    let secrets = [
        ("root password", ROOT_PASSWORD.to_owned()),
        ("user password", USER_PASSWORD.to_owned()),
        ("wrong password", wrong.to_owned()),
        ("platform access token", root.access.clone()),
        ("platform access token signature", jwt_sig(&root.access)),
        ("platform refresh token", rt_secret(&root.refresh)),
        ("access token", t.access.clone()),
        ("access token signature", jwt_sig(&t.access)),
        ("refresh token", rt_secret(&t.refresh)),
        ("rotated access token", jwt_sig(&t2.access)),
        ("rotated refresh token", rt_secret(&t2.refresh)),
    ];
    for (what, secret) in secrets {
        assert!(
            secret.len() >= 16,
            "{what} too short to search for: {secret:?}"
        );
        assert!(
            !log.contains(&secret),
            "the log contains the {what}:\n{log}"
        );
    }
}

/// SPEC §6: `POST /v1/platform/tenants` takes
/// `{slug, name, first_admin:{email, display_name, password}}` (no role: the
/// first admin is by definition an org admin).
#[test]
fn platform_create_tenant_accepts_the_spec_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let root = s.platform_login();
    let r = s.post(
        "/v1/platform/tenants",
        Some(&root.access),
        json!({"slug": "specbody", "name": "Spec Body",
               "first_admin": {"email": "admin@specbody.test", "display_name": "Admin", "password": USER_PASSWORD}}),
    );
    r.assert_ok(201);
    let t = s.login("specbody", "admin@specbody.test");
    let me = s.get("/v1/auth/me", Some(&t.access));
    assert_eq!(
        me.assert_ok(200)["user"]["role"],
        "org_admin",
        "{}",
        me.text
    );
}

/// Issue 3 on the real binary: users created with the CLI; an admin's dry run
/// changes nothing; force sign-out and bulk revocation are refused on the next
/// request; after SIGTERM the CLI verifies and exports the audit chain.
#[test]
fn admin_revocations_then_audit_cli_on_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin_email = cli_create_tenant(dir.path(), "acme");
    for email in ["m1@acme.test", "m2@acme.test"] {
        let out = cli(
            dir.path(),
            &[
                "user",
                "create",
                "--tenant",
                "acme",
                "--email",
                email,
                "--name",
                "Member",
                "--role",
                "member",
                "--password-stdin",
            ],
            Some(&format!("{USER_PASSWORD}\n")),
        );
        assert!(out.status.success(), "user create: {}", out.stderr);
    }
    let s = Server::start(dir.path());
    let admin = s.login("acme", &admin_email);
    let m1a = s.login("acme", "m1@acme.test");
    let m1b = s.login("acme", "m1@acme.test");
    let m2 = s.login("acme", "m2@acme.test");

    let all_but_me = json!({"filter": {"all": true}, "except_current": true, "dry_run": true});
    let dry = s.post(
        "/v1/tenants/acme/sessions/revoke",
        Some(&admin.access),
        all_but_me,
    );
    assert_eq!(dry.assert_ok(200)["would_revoke"], 3);
    s.get("/v1/auth/me", Some(&m2.access)).assert_ok(200);

    let me = s.get("/v1/auth/me", Some(&m1a.access));
    let m1 = me.assert_ok(200)["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = s.post_empty(
        &format!("/v1/tenants/acme/users/{m1}/revoke-sessions"),
        Some(&admin.access),
    );
    assert_eq!(r.assert_ok(200)["revoked"], 2);
    for t in [&m1a, &m1b] {
        let r = s.get("/v1/auth/me", Some(&t.access));
        r.assert_error(401, "session_revoked");
        assert_eq!(r.body["revoked_reason"], "user_sessions_revoked");
    }
    s.refresh(&m1b.refresh).assert_error(401, "session_revoked");

    let bulk = json!({"filter": {"all": true}, "except_current": true, "reason": "incident"});
    let r = s.post(
        "/v1/tenants/acme/sessions/revoke",
        Some(&admin.access),
        bulk,
    );
    assert_eq!(r.assert_ok(200)["revoked"], 1);
    let r = s.get("/v1/auth/me", Some(&m2.access));
    r.assert_error(401, "session_revoked");
    assert_eq!(r.body["revoked_reason"], "bulk_revoked");
    s.get("/v1/auth/me", Some(&admin.access)).assert_ok(200);

    let (status, _) = s.terminate(Duration::from_secs(10));
    assert!(status.success(), "serve exited with {status:?}");
    let v = cli(dir.path(), &["audit", "verify", "--tenant", "acme"], None);
    assert!(v.status.success(), "audit verify: {}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("acme: ok"), "{}", v.stdout);

    let e = cli(dir.path(), &["audit", "export", "--tenant", "acme"], None);
    assert!(e.status.success(), "audit export: {}", e.stderr);
    let entries: Vec<Value> = e
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let seqs: Vec<u64> = entries
        .iter()
        .map(|x| x["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "oldest first, no gaps"
    );
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|x| x["action"].as_str())
        .collect();
    for want in [
        "user_created",
        "login",
        "user_sessions_revoked",
        "sessions_bulk_revoked",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    let bulk_entry = entries
        .iter()
        .find(|x| x["action"] == "sessions_bulk_revoked")
        .expect("bulk entry");
    assert_eq!(bulk_entry["reason"], "incident");
    assert_eq!(bulk_entry["details"]["count"], 1);
    assert_eq!(bulk_entry["actor"]["email"], admin_email.as_str());
}
