//! Backup is an operator act on the host: no HTTP route; the control socket
//! serves `sessiond backup` (and the other CLI commands) while the server runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::process::{
    CliOut, Server, USER_PASSWORD, api_create_tenant, cli, cli_create_tenant, cli_create_user,
};

fn audit_actions(s: &Server, path: &str, token: &str) -> Vec<String> {
    let r = s.get(path, Some(token));
    r.assert_ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

/// `sessiond CMD FLAG FILE [--passphrase-file PASS]` on `dir`.
fn with_file(dir: &Path, cmd: &str, flag: &str, file: &Path, pass: Option<&Path>) -> CliOut {
    let mut args = vec![cmd, flag, file.to_str().unwrap()];
    if let Some(p) = pass {
        args.extend(["--passphrase-file", p.to_str().unwrap()]);
    }
    cli(dir, &args, None)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn backup_through_the_control_socket_while_serving_and_no_http_route() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "acme");
    let admin = s.login("acme", &email);

    // A bearer token never gets the database, however privileged.
    s.get("/v1/platform/backup", Some(&root.access))
        .assert_error(404, "not_found");

    let sock = dir.path().join("control.sock");
    assert_eq!(mode(&sock), 0o600, "control socket mode");

    // The other CLI commands work while serving, through the socket.
    cli_create_tenant(dir.path(), "globex");
    s.login("globex", "admin@globex.test");
    cli_create_user(dir.path(), "acme", "new@acme.test");
    s.login("acme", "new@acme.test");
    let v = cli(dir.path(), &["audit", "verify"], None);
    assert!(v.status.success(), "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("acme: ok") && v.stdout.contains("globex: ok"),
        "{}",
        v.stdout
    );
    let e = cli(dir.path(), &["audit", "export", "--tenant", "acme"], None);
    assert!(e.status.success(), "{}", e.stderr);
    assert!(
        e.stdout
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok())
    );
    let c = cli(dir.path(), &["check"], None);
    assert!(
        c.status.success() && c.stdout.contains("ok:"),
        "{}{}",
        c.stdout,
        c.stderr
    );

    let plain = out_dir.path().join("plain.redb");
    let b = with_file(dir.path(), "backup", "--out", &plain, None);
    assert!(b.status.success(), "{}{}", b.stdout, b.stderr);
    assert_eq!(mode(&plain), 0o600);
    let size = std::fs::metadata(&plain).unwrap().len();

    // Never over an existing file.
    let again = with_file(dir.path(), "backup", "--out", &plain, None);
    assert!(!again.status.success());
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(std::fs::metadata(&plain).unwrap().len(), size);

    // Recorded in the platform log and in every tenant's log.
    assert!(
        audit_actions(&s, "/v1/platform/audit", &root.access).contains(&"backup_taken".to_owned())
    );
    assert!(
        audit_actions(
            &s,
            "/v1/tenants/acme/audit?action=backup_taken",
            &admin.access
        )
        .contains(&"backup_taken".to_owned())
    );
    let globex = s.login("globex", "admin@globex.test");
    assert!(
        audit_actions(
            &s,
            "/v1/tenants/globex/audit?action=backup_taken",
            &globex.access
        )
        .contains(&"backup_taken".to_owned())
    );

    // An encrypted copy.
    let pass = out_dir.path().join("pass");
    std::fs::write(&pass, "a long backup passphrase\n").unwrap();
    let sealed = out_dir.path().join("sealed.bak");
    let b = with_file(dir.path(), "backup", "--out", &sealed, Some(&pass));
    assert!(b.status.success(), "{}", b.stderr);
    let bytes = std::fs::read(&sealed).unwrap();
    assert!(bytes.starts_with(b"SESSIOND-BACKUP"));
    assert!(
        !bytes.windows(9).any(|w| w == b"acme.test"),
        "the copy is not plaintext"
    );

    let (status, log) = s.terminate(Duration::from_secs(10));
    assert!(status.success(), "{log}");
    assert!(!sock.exists(), "the socket is removed at shutdown");

    // The plain copy, put in place as sessiond.redb, serves the same data.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&plain, restored.path().join("sessiond.redb")).unwrap();
    let s2 = Server::start(restored.path());
    s2.login("acme", "new@acme.test");
    drop(s2);

    // The encrypted one needs its passphrase, and restores in full.
    let target = tempfile::tempdir().unwrap();
    let r = with_file(target.path(), "restore", "--from", &sealed, None);
    assert!(
        !r.status.success() && r.stderr.contains("--passphrase-file"),
        "{}",
        r.stderr
    );
    let wrong = out_dir.path().join("wrong");
    std::fs::write(&wrong, "not the right passphrase").unwrap();
    let r = with_file(target.path(), "restore", "--from", &sealed, Some(&wrong));
    assert!(
        !r.status.success() && r.stderr.contains("wrong passphrase"),
        "{}",
        r.stderr
    );
    let r = with_file(target.path(), "restore", "--from", &sealed, Some(&pass));
    assert!(r.status.success(), "{}{}", r.stdout, r.stderr);
    assert_eq!(mode(&target.path().join("sessiond.redb")), 0o600);
    let s3 = Server::start(target.path());
    s3.login("globex", "admin@globex.test");
    let r = s3.post(
        "/v1/auth/login",
        None,
        json!({"tenant": "acme", "email": email, "password": USER_PASSWORD}),
    );
    r.assert_ok(200);
}

#[test]
fn restore_replaces_an_older_database_but_a_newer_one_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    cli_create_tenant(dir.path(), "acme");
    let out = tempfile::tempdir().unwrap();
    let (old, new) = (out.path().join("old.redb"), out.path().join("new.redb"));
    let b = with_file(dir.path(), "backup", "--out", &old, None);
    assert!(b.status.success(), "offline backup: {}", b.stderr);
    // A change after the first backup, then a second backup holding it.
    std::thread::sleep(Duration::from_millis(5));
    cli_create_user(dir.path(), "acme", "late@acme.test");
    let b = with_file(dir.path(), "backup", "--out", &new, None);
    assert!(b.status.success(), "offline backup: {}", b.stderr);

    let db = dir.path().join("sessiond.redb");
    let r = with_file(dir.path(), "restore", "--from", &old, None);
    assert!(!r.status.success());
    assert!(
        r.stderr.contains("newer than the backup") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .path()
            .to_string_lossy()
            .contains(".replaced-")),
        "refused, nothing replaced"
    );

    let r = cli(
        dir.path(),
        &["restore", "--from", old.to_str().unwrap(), "--force"],
        None,
    );
    assert!(r.status.success(), "{}{}", r.stdout, r.stderr);
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".replaced-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(r.stdout.contains(kept[0].to_str().unwrap()), "{}", r.stdout);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&kept[0]), 0o600);
    let c = cli(dir.path(), &["check"], None);
    assert!(c.status.success(), "{}", c.stderr);

    // What is there now is older than the second backup: no --force needed.
    let r = with_file(dir.path(), "restore", "--from", &new, None);
    assert!(r.status.success(), "{}{}", r.stdout, r.stderr);
    let s = Server::start(dir.path());
    s.login("acme", "late@acme.test");
    // A running server's database is never replaced.
    let r = cli(
        dir.path(),
        &["restore", "--from", old.to_str().unwrap(), "--force"],
        None,
    );
    assert!(
        !r.status.success() && r.stderr.contains("stop the server"),
        "{}",
        r.stderr
    );
    s.login("acme", "late@acme.test");
}
