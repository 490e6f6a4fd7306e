//! The day-two CLI on the real binary: global admins and signing keys,
//! through the control socket while the server runs and on the file offline.

use std::time::Duration;

use serde_json::json;

use crate::support::process::{CliOut, ROOT_EMAIL, ROOT_PASSWORD, Server, Tokens, cli};

fn printed_password(out: &CliOut) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap_or_else(|| panic!("no password in:\n{}{}", out.stdout, out.stderr))
        .to_owned()
}

fn platform_login(s: &Server, email: &str, password: &str) -> crate::support::process::Resp {
    s.post(
        "/v1/platform/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
}

fn kids(s: &Server) -> usize {
    s.get("/.well-known/jwks.json", None).assert_ok(200)["keys"]
        .as_array()
        .expect("keys")
        .len()
}

#[test]
fn admin_and_keys_commands_work_online_and_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path());
    let root = s.platform_login();

    // Online, through the control socket.
    let out = cli(
        dir.path(),
        &[
            "admin",
            "create",
            "--email",
            "ops@platform.test",
            "--password-stdin",
        ],
        Some("an operator's passphrase\n"),
    );
    assert!(out.status.success(), "{}", out.stderr);
    Tokens::from(&platform_login(
        &s,
        "ops@platform.test",
        "an operator's passphrase",
    ));
    let list = cli(dir.path(), &["admin", "list"], None);
    assert!(list.stdout.contains(ROOT_EMAIL) && list.stdout.contains("ops@platform.test"));

    let out = cli(
        dir.path(),
        &["admin", "reset-password", "--email", ROOT_EMAIL],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    let fresh = printed_password(&out);
    let me = s.get("/v1/auth/me", Some(&root.access));
    me.assert_error(401, "session_revoked");
    platform_login(&s, ROOT_EMAIL, ROOT_PASSWORD).assert_error(401, "invalid_credentials");
    Tokens::from(&platform_login(&s, ROOT_EMAIL, &fresh));

    let out = cli(
        dir.path(),
        &["admin", "disable", "--email", "nobody@platform.test"],
        None,
    );
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("no global admin with that email"),
        "{}",
        out.stderr
    );

    assert_eq!(kids(&s), 1);
    let out = cli(dir.path(), &["keys", "rotate"], None);
    assert!(out.status.success(), "{}", out.stderr);
    // The running server publishes it at once: the rotation went through it.
    assert_eq!(kids(&s), 2);
    let again = cli(dir.path(), &["keys", "rotate"], None);
    assert!(
        !again.status.success() && again.stderr.contains("already scheduled"),
        "{}",
        again.stderr
    );
    let list = cli(dir.path(), &["keys", "list"], None);
    assert!(
        list.stdout.contains("current") && list.stdout.contains("next"),
        "{}",
        list.stdout
    );

    let (status, log) = s.terminate(Duration::from_secs(10));
    assert!(status.success(), "{log}");

    // Offline: the locked-out operator on the host.
    let out = cli(
        dir.path(),
        &["admin", "reset-password", "--email", ROOT_EMAIL],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    let offline = printed_password(&out);
    let s = Server::start(dir.path());
    platform_login(&s, ROOT_EMAIL, &fresh).assert_error(401, "invalid_credentials");
    let root = Tokens::from(&platform_login(&s, ROOT_EMAIL, &offline));
    let audit = s
        .get("/v1/platform/audit", Some(&root.access))
        .assert_ok(200)["items"]
        .clone();
    let resets = audit
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "global_admin_password_reset")
        .count();
    assert_eq!(resets, 2);
    assert_eq!(kids(&s), 2, "the rotation survived the restart");
}
