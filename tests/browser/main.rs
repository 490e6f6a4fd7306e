//! The admin UI in a real browser: Debian's chromium, headless, driven over
//! WebDriver (chromedriver) with plain HTTP+JSON. Each test starts the real
//! binary on its own data dir, creates its own organization through the
//! public API, and its own browser profile, so tests never share state.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (CI installs both). Without
//! them the tests fail, unless `SESSIOND_SKIP_BROWSER=1` is set.
//! `SESSIOND_SCREENSHOTS=1` makes `screens_render_and_screenshots` write
//! docs/screenshots/*.png.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod devices;
mod incident;
mod screens;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "root@platform.test";
const ADMIN_PASSWORD: &str = "platform-password-1";
const PASSWORD: &str = "browser-test-pw-1";
const CHROMIUM: &str = "/usr/bin/chromium";

// ---------------------------------------------------------------- plumbing

/// At most two browsers at once: CI machines are small.
static PERMITS: (Mutex<usize>, Condvar) = (Mutex::new(2), Condvar::new());

struct Permit;

impl Permit {
    fn take() -> Self {
        let (m, cv) = &PERMITS;
        let mut n = m.lock().unwrap_or_else(|e| e.into_inner());
        while *n == 0 {
            n = cv.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n -= 1;
        Permit
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (m, cv) = &PERMITS;
        *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        cv.notify_one();
    }
}

fn chromedriver_path() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("chromedriver"))
                    .find(|p| p.exists())
            })
        })
}

/// `None` (after a printed note) when the browser tests are skipped: on
/// request, or when Chromium is missing and CI did not demand it
/// (`SESSIOND_REQUIRE_BROWSER=1`, set by `.ci/run`).
fn browser_available() -> Option<PathBuf> {
    if std::env::var("SESSIOND_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("note: SESSIOND_SKIP_BROWSER=1: browser test skipped");
        return None;
    }
    let required = std::env::var("SESSIOND_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let missing = match chromedriver_path() {
        Some(d) if Path::new(CHROMIUM).exists() => return Some(d),
        Some(_) => CHROMIUM,
        None => "chromedriver",
    };
    let advice = "install Debian's `chromium` and `chromium-driver` \
                  (apt-get install -y chromium chromium-driver)";
    assert!(!required, "{missing} is missing: {advice}");
    eprintln!("note: {missing} is missing: browser test skipped; {advice}");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    )
}

/// The real binary, serving on a random port with its own data dir.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(demo: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessiond"));
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn,sessiond::server=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if demo {
            cmd.arg("--demo");
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("listening on http://") {
                    let addr = line[i + "listening on http://".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not log `listening on http://`");
        Server {
            child,
            base: format!("http://{addr}"),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        self.call_ua(method, path, token, body, None)
    }

    fn call_ua(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        ua: Option<&str>,
    ) -> Value {
        let a = agent();
        let url = self.url(path);
        let mut res = match method {
            "GET" => {
                let mut r = a.get(&url);
                if let Some(t) = token {
                    r = r.header("authorization", &format!("Bearer {t}"));
                }
                r.call().unwrap()
            }
            _ => {
                let mut r = match method {
                    "PUT" => a.put(&url),
                    "PATCH" => a.patch(&url),
                    _ => a.post(&url),
                };
                if let Some(t) = token {
                    r = r.header("authorization", &format!("Bearer {t}"));
                }
                if let Some(ua) = ua {
                    r = r.header("user-agent", ua);
                }
                r.send_json(body.unwrap_or_else(|| json!({}))).unwrap()
            }
        };
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().unwrap_or_default();
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status}: {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn platform_token(&self) -> String {
        let v = self.call(
            "POST",
            "/v1/platform/auth/login",
            None,
            Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        );
        v["access_token"].as_str().unwrap().to_owned()
    }

    fn login(&self, tenant: &str, email: &str, ua: &str) -> Value {
        self.call_ua(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"tenant": tenant, "email": email, "password": PASSWORD})),
            Some(ua),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const UA_FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0";
const UA_SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const UA_EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0";

/// An organization of its own for one test: an org admin (`admin@{slug}.test`),
/// a second admin, three members, each member signed in from a known device.
struct Org {
    slug: String,
    admin_token: String,
}

fn org_admin(slug: &str) -> String {
    format!("admin@{slug}.test")
}

fn setup_org(server: &Server, slug: &str) -> Org {
    let platform = server.platform_token();
    server.call(
        "POST",
        "/v1/platform/tenants",
        Some(&platform),
        Some(json!({
            "slug": slug,
            "name": format!("Org {slug}"),
            "first_admin": {"email": org_admin(slug), "display_name": "Ada Admin", "role": "org_admin", "password": PASSWORD},
        })),
    );
    let admin = server.login(slug, &org_admin(slug), UA_EDGE_WINDOWS);
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    let users = [
        ("second@x.test", "Sam Second", "org_admin"),
        ("mia@x.test", "Mia Member", "member"),
        ("noah@x.test", "Noah Member", "member"),
        ("olga@x.test", "Olga Member", "member"),
    ];
    for (email, name, role) in users {
        server.call(
            "POST",
            &format!("/v1/tenants/{slug}/users"),
            Some(&admin_token),
            Some(json!({"email": email, "display_name": name, "role": role, "password": PASSWORD})),
        );
    }
    server.login(slug, "mia@x.test", UA_FIREFOX_LINUX);
    server.login(slug, "noah@x.test", UA_SAFARI_IPHONE);
    server.login(slug, "olga@x.test", UA_FIREFOX_LINUX);
    Org {
        slug: slug.to_owned(),
        admin_token,
    }
}

// ---------------------------------------------------------------- WebDriver

struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
    _permit: Permit,
}

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Clone)]
struct El(String);

impl Browser {
    fn start(driver_path: &Path) -> Self {
        let permit = Permit::take();
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut r) = agent().get(&format!("{base}/status")).call() {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                if v["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
            _permit: permit,
        };
        let v = b.raw("POST", "/session", Some(caps));
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_owned();
        b
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let a = agent();
        let mut res = match (method, body) {
            ("GET", _) => a.get(&url).call().unwrap(),
            ("DELETE", _) => a.delete(&url).call().unwrap(),
            (_, b) => a
                .post(&url)
                .send_json(b.unwrap_or_else(|| json!({})))
                .unwrap(),
        };
        let text = res
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if v.get("sessionId").is_some() && path == "/session" {
            return v;
        }
        v.get("value").cloned().unwrap_or(Value::Null)
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.raw(method, &format!("/session/{}{path}", self.session), body);
        if let Some(err) = v.get("error") {
            panic!("WebDriver {method} {path}: {err} {}", v["message"]);
        }
        v
    }

    /// Like cmd, but a WebDriver error is `None`.
    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let v = self.raw(method, &format!("/session/{}{path}", self.session), body);
        if v.get("error").is_some() {
            None
        } else {
            Some(v)
        }
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn find_now(&self, css: &str) -> Option<El> {
        self.try_cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )
        .and_then(|v| v[ELEMENT_KEY].as_str().map(|s| El(s.to_owned())))
    }

    #[allow(dead_code)]
    fn find_all(&self, css: &str) -> Vec<El> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v[ELEMENT_KEY].as_str().map(|s| El(s.to_owned())))
        .collect()
    }

    /// Wait (up to `secs`) until `css` matches a displayed element.
    fn wait(&self, css: &str, secs: u64) -> El {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(el) = self.find_now(css)
                && self.displayed(&el)
            {
                return el;
            }
            if Instant::now() > deadline {
                self.debug_dump();
                panic!("timed out waiting for `{css}`");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until the JS expression is truthy.
    fn wait_js(&self, what: &str, expr: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.js(&format!("return !!({expr});")) == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                self.debug_dump();
                panic!("timed out waiting for {what} (`{expr}`)");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn debug_dump(&self) {
        let body = self.js("return document.body ? document.body.innerText : ''");
        eprintln!(
            "--- page text at failure ---\n{}\n---",
            body.as_str().unwrap_or("")
        );
        eprintln!("url: {}", self.js("return location.href"));
    }

    fn displayed(&self, el: &El) -> bool {
        self.try_cmd("GET", &format!("/element/{}/displayed", el.0), None) == Some(json!(true))
    }

    fn click(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/click", el.0), Some(json!({})));
    }

    fn click_css(&self, css: &str) {
        let el = self.wait(css, 10);
        self.click(&el);
    }

    fn clear(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/clear", el.0), Some(json!({})));
    }

    fn type_into(&self, el: &El, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({"text": text})),
        );
    }

    fn fill(&self, css: &str, text: &str) {
        let el = self.wait(css, 10);
        self.clear(&el);
        self.type_into(&el, text);
    }

    fn text(&self, el: &El) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn text_of(&self, css: &str) -> String {
        let el = self.wait(css, 10);
        self.text(&el)
    }

    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Keys to whatever has focus (as a keyboard-only user would).
    fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Describe the focused element: `tag#id[data-role]` plus its row's session id.
    fn focused(&self) -> Value {
        self.js(
            "const e = document.activeElement; const tr = e && e.closest('tr'); \
             return {tag: e.tagName, id: e.id, role: e.dataset.role || null, type: e.type || null, \
                     text: (e.innerText || '').trim(), checked: !!e.checked, \
                     row: tr ? tr.dataset.sessionId || null : null};",
        )
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    fn resize(&self, w: u32, h: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": w, "height": h})),
        );
    }

    /// Severe browser console entries (CSP violations, script errors).
    fn severe_logs(&self) -> Vec<String> {
        self.try_cmd("POST", "/se/log", Some(json!({"type": "browser"})))
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            // A 401 the UI handles by design is logged by Chrome as a failed load.
            .filter(|m| !m.contains("status of 401") && !m.contains("status of 403"))
            .collect()
    }

    fn sign_in_org(&self, server: &Server, tenant: &str, email: &str) {
        self.goto(&server.url("/"));
        self.fill("#signin-tenant", tenant);
        self.fill("#signin-email", email);
        self.fill("#signin-password", PASSWORD);
        self.click_css("#signin-submit");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_cmd("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn rows_text(b: &Browser) -> String {
    b.js("return document.getElementById('sessions-body').innerText")
        .as_str()
        .unwrap_or("")
        .to_owned()
}

// ---------------------------------------------------------------- tests

#[test]
fn sign_in_rejects_wrong_credentials_then_lists_seeded_sessions() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "signin-org");
    let b = Browser::start(&driver);

    b.goto(&server.url("/"));
    b.fill("#signin-tenant", &org.slug);
    b.fill("#signin-email", &org_admin(&org.slug));
    b.fill("#signin-password", "not-the-password");
    b.click_css("#signin-submit");
    b.wait_js(
        "the wrong-credentials message",
        "document.getElementById('signin-error').textContent.includes('Wrong organization, email or password')",
        10,
    );

    b.fill("#signin-password", PASSWORD);
    b.click_css("#signin-submit");
    b.wait("#sessions-body tr[data-session-id]", 15);
    // The organization's display name, not its slug.
    assert_eq!(
        b.text_of("#scope-label"),
        format!("Organization · Org {}", org.slug)
    );
    b.wait_js(
        "all seeded sessions",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length >= 5",
        10,
    );
    let text = rows_text(&b);
    for want in [
        "Mia Member",
        "mia@x.test",
        "Noah Member",
        "Olga Member",
        "Ada Admin",
        "Firefox 127",
        "Linux",
        "Safari 17.5",
        "iPhone (iOS 17.5)",
        "Edge 126",
        "Windows 10/11",
        "127.0.0.1",
        "Active",
    ] {
        assert!(
            text.contains(want),
            "sessions table lacks {want:?}:\n{text}"
        );
    }
    // The browser's own session is marked, and relative times carry the exact time.
    let current = b.text_of("tr.row-current");
    assert!(current.to_lowercase().contains("you"), "{current}");
    let title = b.js("return document.querySelector('#sessions-body time').title");
    assert!(title.as_str().unwrap_or("").contains('Z'), "{title}");
    // The refresh token never reached JavaScript.
    assert_eq!(b.js("return document.cookie"), json!(""));
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn revoking_one_row_marks_it_revoked() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "revoke-one");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);

    let sid = b
        .js("const r = Array.from(document.querySelectorAll('#sessions-body tr')).find(r => r.innerText.includes('Noah Member')); return r.dataset.sessionId;")
        .as_str()
        .unwrap()
        .to_owned();
    b.click_css(&format!(
        "tr[data-session-id='{sid}'] button[data-role='revoke']"
    ));
    b.wait("dialog[open]", 5);
    let dlg = b.text_of("dialog[open]");
    assert!(dlg.contains("Noah Member"), "{dlg}");
    b.fill("dialog[open] textarea", "lost phone");
    b.click_css("dialog[open] button.btn-danger");
    b.wait_js(
        "the row to show revoked",
        &format!("(document.querySelector(\"tr[data-session-id='{sid}']\")||{{}}).dataset?.status === 'revoked'"),
        10,
    );
    let row = b.text_of(&format!("tr[data-session-id='{sid}']"));
    assert!(row.contains("Revoked"), "{row}");
    assert!(row.contains("revoked by an admin"), "{row}");
    assert!(
        b.find_now(&format!(
            "tr[data-session-id='{sid}'] button[data-role='revoke']"
        ))
        .is_none(),
        "a revoked row offers no revoke button"
    );
    // And the server agrees.
    let s = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions/{sid}", org.slug),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(s["status"], "revoked");
    assert_eq!(s["revoked_reason"], "admin_revoked");
}

#[test]
fn bulk_revoke_shows_the_dry_run_count_and_asks_for_a_reason() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "bulk-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.wait_js(
        "all seeded sessions",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length >= 5",
        10,
    );
    // Active: the API admin session, three members, and this browser's own.
    let active = b
        .js("return document.querySelectorAll(\"#sessions-body tr[data-status='active']\").length")
        .as_u64()
        .unwrap();
    assert_eq!(active, 5);

    // Selected rows: the dialog shows the server's dry-run count.
    for who in ["Mia Member", "Olga Member"] {
        b.js(&format!(
            "Array.from(document.querySelectorAll('#sessions-body tr')).find(r => r.innerText.includes('{who}')).querySelector('input[type=checkbox]').click()"
        ));
    }
    assert_eq!(b.text_of("#revoke-selected"), "Revoke selected (2)");
    b.click_css("#revoke-selected");
    b.wait("dialog[open]", 5);
    assert_eq!(
        b.text_of("#bulk-count"),
        "2 active sessions will be revoked."
    );
    // A reason is required before anything happens.
    b.click_css("dialog[open] button.btn-danger");
    b.wait_js(
        "the reason error",
        "document.querySelector('dialog[open] .field-error').textContent.length > 0",
        5,
    );
    b.click_css("dialog[open] button[value='cancel']");
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        5,
    );
    let still = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions", org.slug),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(
        still["items"].as_array().unwrap().len(),
        5,
        "cancel revoked nothing"
    );

    // Revoke all except mine: dry-run count 4, reason, confirm.
    b.click_css("#revoke-all-except-mine");
    b.wait("dialog[open]", 5);
    assert_eq!(
        b.text_of("#bulk-count"),
        "4 active sessions will be revoked."
    );
    b.fill("dialog[open] textarea", "INC-42 credential leak");
    let confirm = b.text_of("dialog[open] button.btn-danger");
    assert_eq!(confirm, "Revoke 4 sessions");
    b.click_css("dialog[open] button.btn-danger");
    b.wait_js(
        "four revoked rows",
        "document.querySelectorAll(\"#sessions-body tr[data-status='revoked']\").length === 4",
        10,
    );
    let left = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions?status=all&limit=200", org.slug),
        Some(&b_admin_token(&server, &org)),
        None,
    );
    let reasons: Vec<_> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "revoked")
        .map(|s| s["revoked_reason"].clone())
        .collect();
    assert_eq!(reasons.len(), 4, "{left}");
    assert!(reasons.iter().all(|r| r == "bulk_revoked"), "{reasons:?}");
    // The browser's own session survived.
    b.wait("tr.row-current[data-status='active']", 5);
}

/// The seeded API admin session was revoked by the bulk action; sign in again.
fn b_admin_token(server: &Server, org: &Org) -> String {
    server.login(&org.slug, "second@x.test", UA_EDGE_WINDOWS)["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_expired_access_token_is_refreshed_transparently() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "ttl-org");
    let mut policy = server.call(
        "GET",
        &format!("/v1/tenants/{}/policy", org.slug),
        Some(&org.admin_token),
        None,
    );
    policy["access_token_ttl_secs"] = json!(30);
    server.call(
        "PUT",
        &format!("/v1/tenants/{}/policy", org.slug),
        Some(&org.admin_token),
        Some(policy),
    );
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    // No automatic calls while we wait: the first call after expiry is ours.
    b.click_css("#sessions-auto");
    assert_eq!(
        b.js("return document.documentElement.dataset.tokenRefreshes || '0'"),
        json!("0")
    );
    std::thread::sleep(Duration::from_secs(32));
    b.click_css("#sessions-refresh");
    b.wait_js(
        "a transparent refresh",
        "document.documentElement.dataset.tokenRefreshes === '1'",
        10,
    );
    b.wait_js(
        "the table to reload",
        "document.getElementById('sessions-summary').textContent.includes('updated')",
        10,
    );
    assert!(b.find_now("#signin-submit").is_none(), "still signed in");
    assert!(rows_text(&b).contains("Mia Member"));
    // Reloading the page resumes the session from the HttpOnly cookie.
    b.goto(&server.url("/users"));
    b.wait("a[href^='/users/']", 15);
    assert!(b.find_now("#signin-submit").is_none());
}

#[test]
fn a_user_whose_session_an_admin_revokes_is_sent_to_sign_in_with_the_reason() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "kicked-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, "second@x.test");
    b.wait("#sessions-body tr[data-session-id]", 15);
    let sid = b
        .js("return document.querySelector('#sessions-body tr.row-current').dataset.sessionId")
        .as_str()
        .unwrap()
        .to_owned();
    // Another admin revokes this browser's session through the API.
    server.call(
        "POST",
        &format!("/v1/tenants/{}/sessions/{sid}/revoke", org.slug),
        Some(&org.admin_token),
        Some(json!({"reason": "suspicious"})),
    );
    // The next call (here: the Refresh button) gets session_revoked.
    b.click_css("#sessions-refresh");
    b.wait("#signin-notice", 10);
    let notice = b.text_of("#signin-notice");
    assert_eq!(notice, "Your session was revoked by an administrator.");
    // No retry: the cookie was cleared, so a reload stays signed out.
    b.goto(&server.url("/sessions"));
    b.wait("#signin-submit", 10);
}

#[test]
fn support_banner_appears_and_ends_when_the_grant_is_revoked() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "support-org");
    let grant = server.call(
        "POST",
        &format!("/v1/tenants/{}/support-grants", org.slug),
        Some(&org.admin_token),
        Some(json!({"grantee_email": ADMIN_EMAIL, "duration_secs": 1800, "reason": "ticket 7"})),
    );
    let gid = grant["id"].as_str().unwrap().to_owned();

    let b = Browser::start(&driver);
    b.goto(&server.url("/"));
    b.click_css("#signin-switch");
    b.fill("#signin-email", ADMIN_EMAIL);
    b.fill("#signin-password", ADMIN_PASSWORD);
    b.click_css("#signin-submit");
    b.click_css(&format!(
        "button[data-role='start-support'][data-tenant='{}']",
        org.slug
    ));
    let banner = b.wait("#support-banner", 15);
    let text = b.text(&banner);
    assert!(text.contains("Support mode"), "{text}");
    assert!(text.contains(&format!("Org {}", org.slug)), "{text}");
    assert!(text.contains("Time left"), "{text}");
    let left = b.text_of("#support-left");
    assert!(left.contains("min"), "{left}");
    // Inside the tenant: its sessions, with this support session marked.
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.wait_js(
        "the support marker",
        "document.querySelector('tr.row-current .badge-support') !== null",
        10,
    );
    // No refresh token in reach of scripts, even in support mode.
    assert_eq!(b.js("return document.cookie"), json!(""));

    // The tenant revokes the grant: the banner goes away on its own.
    server.call(
        "POST",
        &format!("/v1/tenants/{}/support-grants/{gid}/revoke", org.slug),
        Some(&org.admin_token),
        None,
    );
    b.wait_js(
        "the banner to end",
        "document.getElementById('support-banner') === null || document.getElementById('support-banner').hidden",
        10,
    );
    let notice = b.text_of("#platform-notice");
    assert_eq!(notice, "Support access ended.");
    assert_eq!(b.js("return location.pathname"), json!("/platform"));
    // Still signed in on the platform.
    b.wait("#tenants-body tr", 10);
}

#[test]
fn the_sessions_table_works_with_the_keyboard_alone() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "keys-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.wait_js(
        "all seeded sessions",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length >= 5",
        10,
    );
    b.click_css("#sessions-auto"); // keep the table still
    b.js("document.getElementById('sessions-search').focus()");

    const TAB: &str = "\u{E004}";
    const SPACE: &str = " ";
    const ENTER: &str = "\u{E007}";
    const ESCAPE: &str = "\u{E00C}";
    const DOWN: &str = "\u{E015}";

    // Tab forward to the first selectable row checkbox.
    let mut reached = None;
    for _ in 0..20 {
        b.keys(TAB);
        let f = b.focused();
        if f["role"] == "select" {
            reached = Some(f);
            break;
        }
    }
    let first = reached.expect("Tab never reached a row checkbox");
    // Space selects it.
    b.keys(SPACE);
    assert_eq!(b.focused()["checked"], json!(true));
    assert_eq!(b.text_of("#revoke-selected"), "Revoke selected (1)");
    // Arrow down moves to the next row, same column.
    b.keys(DOWN);
    let second = b.focused();
    assert_eq!(second["role"], "select", "{second}");
    assert_ne!(second["row"], first["row"]);
    // Tab reaches that row's user link, then its Revoke button.
    let mut on_revoke = false;
    for _ in 0..4 {
        b.keys(TAB);
        let f = b.focused();
        if f["role"] == "revoke" {
            assert_eq!(f["row"], second["row"]);
            on_revoke = true;
            break;
        }
    }
    assert!(on_revoke, "Tab did not reach the row's Revoke button");
    // Enter opens the confirmation; focus moves into it; Escape cancels.
    b.keys(ENTER);
    b.wait("dialog[open]", 5);
    let f = b.focused();
    assert_eq!(f["tag"], "TEXTAREA", "{f}");
    b.keys(ESCAPE);
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        5,
    );
    // Nothing was revoked.
    let n = b
        .js("return document.querySelectorAll(\"#sessions-body tr[data-status='revoked']\").length")
        .as_u64()
        .unwrap();
    assert_eq!(n, 0);
    // And the bulk button, reached by keyboard, opens the dry-run dialog.
    b.js("document.getElementById('revoke-selected').focus()");
    b.keys(ENTER);
    b.wait("dialog[open]", 5);
    assert_eq!(
        b.text_of("#bulk-count"),
        "1 active session will be revoked."
    );
    b.keys(ESCAPE);
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        5,
    );
}

/// Every main screen renders without console errors (CSP included);
/// with SESSIOND_SCREENSHOTS=1 they are saved to docs/screenshots/.
#[test]
fn screens_render_and_screenshots() {
    let Some(driver) = browser_available() else {
        return;
    };
    let save = std::env::var("SESSIOND_SCREENSHOTS").is_ok_and(|v| v == "1");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    let shot = |b: &Browser, name: &str| {
        std::thread::sleep(Duration::from_millis(300));
        if save {
            b.screenshot(&dir.join(format!("{name}.png")));
        }
    };
    let server = Server::start(true);
    // A pending request and an active grant, so those screens have content.
    let platform = server.platform_token();
    server.call(
        "POST",
        "/v1/platform/tenants/globex/access-requests",
        Some(&platform),
        Some(json!({"reason": "Ticket #4711: SSO users cannot sign in", "duration_secs": 3600})),
    );
    let alice = server.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"tenant": "acme", "email": "alice@acme.test", "password": "demo-password-1"})),
    );
    let alice = alice["access_token"].as_str().unwrap().to_owned();
    server.call(
        "POST",
        "/v1/tenants/acme/support-grants",
        Some(&alice),
        Some(json!({"grantee_email": ADMIN_EMAIL, "duration_secs": 7200, "reason": "Investigating refresh-token reuse alerts (INC-2291)"})),
    );
    server.call(
        "POST",
        "/v1/platform/tenants/acme/access-requests",
        Some(&platform),
        Some(json!({"reason": "Follow-up on INC-2291", "duration_secs": 1800})),
    );

    let b = Browser::start(&driver);
    b.goto(&server.url("/"));
    b.wait("#signin-tenant", 15);
    shot(&b, "signin");

    b.fill("#signin-tenant", "acme");
    b.fill("#signin-email", "alice@acme.test");
    b.fill("#signin-password", "demo-password-1");
    b.click_css("#signin-submit");
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.wait_js(
        "the demo sessions",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length >= 7",
        10,
    );
    b.js("const s = document.getElementById('sessions-status'); s.value = 'all'; s.dispatchEvent(new Event('change'));");
    b.wait_js(
        "revoked demo sessions",
        "document.querySelectorAll(\"#sessions-body tr[data-status='revoked']\").length >= 2",
        10,
    );
    b.js("Array.from(document.querySelectorAll('#sessions-body tr')).filter(r => /Bob Okafor/.test(r.innerText)).forEach(r => r.querySelector('input').click())");
    shot(&b, "sessions");

    b.click_css("#revoke-selected");
    b.wait("dialog[open]", 5);
    b.fill(
        "dialog[open] textarea",
        "Bob reported a stolen laptop (INC-2291)",
    );
    shot(&b, "bulk-revoke-dialog");
    b.click_css("dialog[open] button[value='cancel']");

    b.click_css(".nav a[href='/users']");
    b.wait("a[href^='/users/']", 10);
    shot(&b, "users");
    let bob = b
        .js("return Array.from(document.querySelectorAll('a[href^=\"/users/\"]')).find(a => a.textContent === 'Bob Okafor').getAttribute('href')")
        .as_str()
        .unwrap()
        .to_owned();
    b.click_css(&format!("a[href='{bob}']"));
    b.wait("#user-force-signout", 10);
    b.wait("#sessions-body tr[data-session-id]", 10);
    shot(&b, "user");

    b.click_css(".nav a[href='/audit']");
    b.wait("#audit-body tr[data-seq]", 10);
    b.wait_js(
        "the chain badge",
        "document.getElementById('chain-badge').textContent.startsWith('Chain verified')",
        10,
    );
    shot(&b, "audit");

    b.click_css(".nav a[href='/support']");
    b.wait("#grants-active tr[data-grant-id]", 10);
    b.wait("#grants-pending tr[data-grant-id]", 10);
    shot(&b, "support-access");

    b.click_css(".nav a[href='/policy']");
    b.wait_js(
        "the policy",
        "document.getElementById('policy-access_token_ttl_secs').value !== ''",
        10,
    );
    // Out of range in any unit: the message in words.
    b.fill("#policy-idle_timeout_secs", "0");
    b.wait_js(
        "a validation message",
        "document.getElementById('policy-idle_timeout_secs-error').textContent.length > 0",
        5,
    );
    shot(&b, "policy");
    // Leaving asks about the unsaved change: discard it.
    b.click_css(".nav a[href='/sessions']");
    b.wait("dialog[open]", 5);
    b.click_css("dialog[open] button.btn-danger");

    // Phone width: the nav folds behind its Menu button.
    b.resize(390, 844);
    b.click_css("#nav-toggle");
    b.click_css(".nav a[href='/sessions']");
    b.wait("#sessions-body tr[data-session-id]", 10);
    shot(&b, "sessions-phone");
    b.resize(1280, 900);

    b.click_css("#sign-out");
    b.wait("#signin-submit", 10);
    assert_eq!(b.text_of("#signin-notice"), "You signed out.");

    b.click_css("#signin-switch");
    b.fill("#signin-email", ADMIN_EMAIL);
    b.fill("#signin-password", ADMIN_PASSWORD);
    b.click_css("#signin-submit");
    b.wait("#tenants-body tr[data-tenant]", 15);
    shot(&b, "platform");
    b.click_css("button[data-role='start-support'][data-tenant='acme']");
    b.wait("#support-banner", 15);
    b.wait("#sessions-body tr[data-session-id]", 10);
    shot(&b, "support-mode");

    let logs = b.severe_logs();
    assert!(logs.is_empty(), "browser console errors: {logs:#?}");
}

#[test]
fn api_reference_renders_the_generated_document_without_signing_in() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let b = Browser::start(&driver);

    // Linked from the sign-in page; no session needed.
    b.goto(&server.url("/"));
    b.click(&b.wait("#api-docs-link", 10));
    b.wait_js(
        "the API reference to render",
        "document.getElementById('main').dataset.ready === 'true'",
        15,
    );
    assert!(
        b.js("return location.pathname").as_str() == Some("/api-docs"),
        "{:?}",
        b.js("return location.href")
    );
    // One operation per documented (path, method), grouped by tag.
    let doc = server.call("GET", "/openapi.json", None, None);
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let rendered = b.js("return document.querySelectorAll('.api-tag details.api-op').length");
    assert_eq!(rendered.as_u64(), Some(documented as u64));
    assert!(b.find_now("#tag-sessions").is_some());

    // An operation opens to its parameters, body, responses and error codes.
    let op = b.wait("#op-bulkRevokeSessions > summary", 5);
    assert!(
        b.text(&op).contains("/v1/tenants/{t}/sessions/revoke"),
        "{}",
        b.text(&op)
    );
    b.click(&op);
    // (innerText follows CSS: headings are upper-cased.)
    let body = b
        .text_of("#op-bulkRevokeSessions .api-op-body")
        .to_lowercase();
    for want in [
        "parameters",
        "request body",
        "responses",
        "session_ids",
        "401",
        "413",
        "unauthorized",
        "bearerauth",
    ] {
        assert!(body.contains(want), "missing {want:?} in {body}");
    }
    // $refs resolve: the 401 shows the shared response and its Error schema fields.
    let unauthorized = b.text_of("#op-bulkRevokeSessions .api-response[data-status='401']");
    assert!(unauthorized.contains("retryable"), "{unauthorized}");

    // The filter narrows the list.
    b.fill("#api-filter", "introspect");
    b.wait_js(
        "the filter to apply",
        "[...document.querySelectorAll('.api-tag details.api-op')].filter(d => !d.hidden).length === 1",
        5,
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}
