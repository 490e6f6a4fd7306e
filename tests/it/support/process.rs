//! Harness for black-box tests: the real `sessiond` binary as a child
//! process on a temp data dir, `--listen 127.0.0.1:0`, spoken to over HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_sessiond");
pub(crate) const ROOT_EMAIL: &str = "root@blackbox.test";
pub(crate) const ROOT_PASSWORD: &str = "blackbox root password 1";
pub(crate) const USER_PASSWORD: &str = "blackbox user password 1";
/// How long a server may take to log `listening on http://…`.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// harness

/// A `sessiond` command with no `SESSIOND_*` inherited from the test's environment.
pub(crate) fn sessiond(dir: &Path) -> Command {
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
pub(crate) fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
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

pub(crate) struct CliOut {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run a CLI command on `dir`, feeding `stdin` (if any), with a 20 s limit.
pub(crate) fn cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> CliOut {
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
pub(crate) fn cli_create_tenant(dir: &Path, slug: &str) -> String {
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

/// `sessiond user create` of a member with USER_PASSWORD (through the control
/// socket when a server runs).
pub(crate) fn cli_create_user(dir: &Path, tenant: &str, email: &str) {
    let out = cli(
        dir,
        &[
            "user",
            "create",
            "--tenant",
            tenant,
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

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) text: String,
}

impl Resp {
    pub(crate) fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub(crate) fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        &self.body
    }

    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
    }

    #[track_caller]
    pub(crate) fn assert_revoked(&self, reason: &str) {
        self.assert_error(401, "session_revoked");
        assert_eq!(self.body["revoked_reason"], reason, "body: {}", self.text);
    }
}

pub(crate) fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    try_send(agent, method, url, token, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`send`], with a transport failure (server gone) as `Err`.
pub(crate) fn try_send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Resp, ureq::Error> {
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
    let mut res = res?;
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Resp { status, body, text })
}

#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
    pub(crate) session_id: String,
}

impl Tokens {
    #[track_caller]
    pub(crate) fn from(r: &Resp) -> Self {
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
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) port: u16,
    pub(crate) agent: ureq::Agent,
    pub(crate) stderr: Arc<Mutex<String>>,
    pub(crate) reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Serve `dir` with the bootstrap admin ROOT_EMAIL / ROOT_PASSWORD.
    pub(crate) fn start(dir: &Path) -> Self {
        Self::start_with(
            dir,
            &[
                ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
                ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
            ],
        )
    }

    pub(crate) fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> Resp {
        send(&self.agent, "GET", &self.url(path), token, None)
    }

    pub(crate) fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        send(&self.agent, "POST", &self.url(path), token, Some(&body))
    }

    pub(crate) fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        send(&self.agent, "POST", &self.url(path), token, None)
    }

    pub(crate) fn platform_login(&self) -> Tokens {
        Tokens::from(&self.post(
            "/v1/platform/auth/login",
            None,
            json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}),
        ))
    }

    pub(crate) fn login(&self, tenant: &str, email: &str) -> Tokens {
        Tokens::from(&self.post(
            "/v1/auth/login",
            None,
            json!({"tenant": tenant, "email": email, "password": USER_PASSWORD}),
        ))
    }

    pub(crate) fn refresh(&self, refresh_token: &str) -> Resp {
        self.post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
    }

    /// `kill -9`: no chance to flush or clean up.
    pub(crate) fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Send SIGTERM and wait (at most `limit`) for the exit; returns the
    /// status and the complete stderr.
    pub(crate) fn terminate(mut self, limit: Duration) -> (ExitStatus, String) {
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
pub(crate) fn api_create_tenant(s: &Server, root: &str, slug: &str) -> String {
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
