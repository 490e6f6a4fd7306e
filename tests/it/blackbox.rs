//! Black-box tests against the real `sessiond` binary: a child process on a
//! temp data dir, `--listen 127.0.0.1:0`, spoken to over real HTTP.
//!
//! These cover what only a process can show: durability across `kill -9`,
//! revocation under concurrent load, signal handling, the database lock seen
//! by the CLI, bootstrap output, file modes and what ends up in the logs.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::process::*;

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

/// SPEC §1: a CLI command that cannot reach the server holding the database
/// (no control socket; `seed` never uses it) fails with one line.
#[test]
fn cli_refuses_a_database_held_by_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let seed = cli(dir.path(), &["seed", "--tenant", "held"], None);
    assert!(
        !seed.status.success(),
        "seed on a held database: {}",
        seed.stdout
    );
    assert!(seed.stderr.contains("in use"), "{}", seed.stderr);
    std::fs::remove_file(dir.path().join("control.sock")).expect("unlink the socket");
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
        cli_create_user(dir.path(), "acme", email);
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
    // Which session ended, not only how many.
    assert_eq!(
        bulk_entry["details"]["session_ids"],
        serde_json::json!([m2.session_id])
    );
    assert_eq!(bulk_entry["actor"]["email"], admin_email.as_str());
}

/// Config file precedence on the real binary: flag > env > file > default.
#[test]
fn config_file_sits_under_env_and_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("sessiond.toml");
    std::fs::write(
        &conf,
        "listen = \"127.0.0.1:7001\"\nissuer = \"from-file\"\ncache_mib = 32\n",
    )
    .expect("write config");
    let out = sessiond(dir.path())
        .args(["config", "print", "--config"])
        .arg(&conf)
        .args(["--cache-mib", "16"])
        .env("SESSIOND_ISSUER", "from-env")
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "listen = \"127.0.0.1:7001\"   # config file",
        "issuer = \"from-env\"   # env SESSIOND_ISSUER",
        "cache_mib = 16   # flag",
        "activity_flush_secs = 5   # default",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    std::fs::write(&conf, "listen = \"127.0.0.1:7001\"\nlistn = 1\n").expect("write");
    let out = sessiond(dir.path())
        .arg("--config")
        .arg(&conf)
        .arg("serve")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("`listn`"), "{err}");
}

/// `--metrics-listen`: Prometheus text on its own port, none on the API port.
#[test]
fn metrics_listen_serves_metrics_on_a_separate_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start_with(dir.path(), &[("SESSIOND_METRICS_LISTEN", "127.0.0.1:0")]);
    let log = s.stderr();
    let addr = log
        .lines()
        .find_map(|l| l.split("metrics on http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no metrics address in:\n{log}"))
        .to_owned();
    s.get("/metrics", None).assert_error(404, "not_found");
    let body = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .expect("scrape")
        .into_body()
        .read_to_string()
        .expect("body");
    assert!(body.contains("sessiond_http_requests_total"), "{body}");
}
