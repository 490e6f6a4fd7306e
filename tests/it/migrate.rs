//! `sessiond migrate`: the embedded file copied into PostgreSQL (skipped
//! without `SESSIOND_TEST_DATABASE_URL`). A node on the copy honours the
//! tokens issued before it (same keys, same refresh chains, same
//! revocations) and its audit chains verify to the same heads.

use std::time::Duration;

use serde_json::Value;

use crate::support::engine::{PgSchemas, postgres_or_skip};
use crate::support::process::*;

fn audit_verify(s: &Server, token: &str) -> Value {
    s.get("/v1/tenants/acme/audit/verify", Some(token))
        .assert_ok(200)
        .clone()
}

#[test]
fn a_migrated_database_serves_the_same_sessions_on_postgresql() {
    let Some(url) = postgres_or_skip("migrate") else {
        return;
    };
    let file_dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(file_dir.path());
    let root = s.platform_login().access;
    let admin_email = api_create_tenant(&s, &root, "acme");
    let used = s.login("acme", &admin_email);
    let live = Tokens::from(&s.refresh(&used.refresh));
    let ended = s.login("acme", &admin_email);
    assert_eq!(
        s.post_empty("/v1/auth/logout", Some(&ended.access)).status,
        204
    );
    let before = audit_verify(&s, &live.access);
    let (st, _) = s.terminate(Duration::from_secs(20));
    assert!(st.success());

    // No database in the data dir: nothing to copy, said so.
    let pg = PgSchemas::fresh(&url);
    let empty = tempfile::tempdir().expect("tempdir");
    let none = cli(
        empty.path(),
        &["migrate", "--to", &url, "--database-schema", &pg.prefix],
        None,
    );
    assert!(!none.status.success());
    assert!(none.stderr.contains("no database"), "{}", none.stderr);

    let out = cli(
        file_dir.path(),
        &["migrate", "--to", &url, "--database-schema", &pg.prefix],
        None,
    );
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("copied 1 tenants"), "{}", out.stdout);
    // The URL is a secret: never echoed.
    assert!(!out.stdout.contains(&url) && !out.stderr.contains(&url));

    // Again into the same schema: refused, nothing touched.
    let again = cli(
        file_dir.path(),
        &["migrate", "--to", &url, "--database-schema", &pg.prefix],
        None,
    );
    assert!(!again.status.success());
    assert!(
        again.stderr.contains("already holds data"),
        "{}",
        again.stderr
    );

    let node_dir = tempfile::tempdir().expect("tempdir");
    let node = Server::start_with(
        node_dir.path(),
        &[
            ("SESSIOND_DATABASE_URL", pg.url.as_str()),
            ("SESSIOND_DATABASE_SCHEMA", pg.prefix.as_str()),
        ],
    );
    // The signing keys came along: the token issued by the file verifies.
    node.get("/v1/auth/verify", Some(&live.access))
        .assert_ok(200);
    node.get("/v1/auth/verify", Some(&ended.access))
        .assert_revoked("user_logout");
    let after = audit_verify(&node, &live.access);
    assert_eq!(after["head_hash"], before["head_hash"]);
    assert_eq!(after["entries"], before["entries"]);
    // The refresh chain came along: the live token rotates, the used one
    // is a replay that ends the session.
    let next = Tokens::from(&node.refresh(&live.refresh));
    node.get("/v1/auth/verify", Some(&next.access))
        .assert_ok(200);
    node.refresh(&used.refresh)
        .assert_error(401, "refresh_token_reused");
    node.get("/v1/auth/verify", Some(&next.access))
        .assert_revoked("refresh_token_reuse");
    // The platform's own namespace came along: the root admin signs in.
    node.platform_login();
}
