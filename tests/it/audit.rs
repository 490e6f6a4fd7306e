//! Issue "Admin session management", audit part (SPEC §5): what is recorded,
//! query (filters, newest first, pagination), NDJSON export, chain verify.

use std::collections::HashSet;

use serde_json::{Value, json};
use sessiond::domain::Role;

use crate::sessions::{ALICE, BOB, CAROL, T, assert_ok, bulk, me, ms, revoke};
use crate::support::{PASSWORD, Resp, TestApp, Tokens};

const WRONG_PASSWORD: &str = "Tr0ub4dor&3-wrong";
const NEW_PASSWORD: &str = "another long passphrase 77";

pub async fn audit_get(app: &TestApp, tenant: &str, token: &str, query: &str) -> Resp {
    app.get(&format!("/v1/tenants/{tenant}/audit?{query}"), Some(token))
        .await
}

/// The whole log through the NDJSON export, oldest first.
pub async fn export(app: &TestApp, tenant: &str, token: &str) -> (Resp, Vec<Value>) {
    let r = app
        .get(&format!("/v1/tenants/{tenant}/audit/export"), Some(token))
        .await;
    assert_ok(&r);
    let lines = r
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (r, lines)
}

/// `GET .../audit/verify` body.
pub async fn verify(app: &TestApp, tenant: &str, token: &str) -> Value {
    let r = app
        .get(&format!("/v1/tenants/{tenant}/audit/verify"), Some(token))
        .await;
    assert_ok(&r);
    r.body
}

/// Every entry through the query API with `limit`, newest first.
async fn query_all(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        let mut q = format!("{query}&limit={limit}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let r = audit_get(app, T, token, &q).await;
        assert_ok(&r);
        let rows = r.body["items"].as_array().cloned().expect("items");
        assert!(rows.len() <= limit);
        out.extend(rows);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(r.body["next_cursor"].is_null(), "{}", r.text);
                return out;
            }
        }
    }
    panic!("audit pagination did not end");
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect()
}

fn seqs(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

fn find<'a>(entries: &'a [Value], action: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|e| e["action"] == json!(action))
        .collect()
}

struct World {
    app: TestApp,
    admin: Tokens,
    admin_id: String,
    alice: String,
    bob: String,
    revoked_sid: String,
}

/// Acme with a history of every admin-relevant action.
async fn world() -> World {
    let app = TestApp::new().await;
    let admin = app.tenant_admin(T).await;
    let admin_id = me(&app, &admin.access).await.body["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let alice = app.user(T, ALICE, Role::Member).await;
    let bob = app.user(T, BOB, Role::Member).await;
    app.user(T, CAROL, Role::Member).await;

    // login, login_failed, logout
    app.clock.advance_secs(1);
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": T, "email": ALICE, "password": WRONG_PASSWORD}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    let a1 = app.login(T, ALICE).await;
    let r = app
        .post("/v1/auth/logout", Some(&a1.access), json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    // refresh_reuse_detected
    app.clock.advance_secs(1);
    let a2 = app.login(T, ALICE).await;
    assert_ok(&app.refresh(&a2.refresh).await);
    app.refresh(&a2.refresh)
        .await
        .assert_error(401, "refresh_token_reused");
    // session_revoked
    app.clock.advance_secs(1);
    let a3 = app.login(T, ALICE).await;
    assert_eq!(
        revoke(
            &app,
            &admin,
            &a3.session_id,
            json!({"reason": "stolen phone"})
        )
        .await
        .body,
        json!({"revoked": 1})
    );
    // sessions_bulk_revoked
    app.clock.advance_secs(1);
    app.login(T, CAROL).await;
    app.login(T, CAROL).await;
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "except_current": true, "reason": "incident"}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 2}), "{}", r.text);
    // user_sessions_revoked
    app.clock.advance_secs(1);
    app.login(T, BOB).await;
    app.login(T, BOB).await;
    app.login(T, BOB).await;
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users/{bob}/revoke-sessions"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.body, json!({"revoked": 3, "disabled": false}));
    // user_created, user_updated, password_changed, policy_updated
    app.clock.advance_secs(1);
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users"),
            Some(&admin.access),
            json!({"email": "dave@acme.test", "display_name": "Dave", "role": "member", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = app
        .patch(
            &format!("/v1/tenants/{T}/users/{alice}"),
            Some(&admin.access),
            json!({"display_name": "Alice A."}),
        )
        .await;
    assert_ok(&r);
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users/{bob}/password"),
            Some(&admin.access),
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    assert_ok(&r);
    let policy = json!({
        "access_token_ttl_secs": 300,
        "idle_timeout_secs": 900,
        "absolute_timeout_secs": 36_000,
        "refresh_reuse_grace_secs": 0,
        "max_support_grant_secs": 28_800,
    });
    assert_ok(
        &app.put(
            &format!("/v1/tenants/{T}/policy"),
            Some(&admin.access),
            policy,
        )
        .await,
    );
    app.clock.advance_secs(1);
    World {
        app,
        admin,
        admin_id,
        alice,
        bob,
        revoked_sid: a3.session_id,
    }
}

#[tokio::test]
async fn admin_actions_are_recorded_with_actor_target_reason_and_count() {
    let w = world().await;
    let (app, admin) = (&w.app, &w.admin);
    let entries = query_all(app, &admin.access, "", 200).await;
    let acts: HashSet<&str> = actions(&entries).into_iter().collect();
    for a in [
        "login",
        "login_failed",
        "logout",
        "refresh_reuse_detected",
        "session_revoked",
        "sessions_bulk_revoked",
        "user_sessions_revoked",
        "user_created",
        "user_updated",
        "password_changed",
        "policy_updated",
    ] {
        assert!(acts.contains(a), "action {a} not recorded; have {acts:?}");
    }
    for e in &entries {
        for key in [
            "seq",
            "at",
            "actor",
            "action",
            "target",
            "reason",
            "ip",
            "details",
            "hash",
            "prev_hash",
        ] {
            assert!(e.get(key).is_some(), "{key} missing: {e}");
        }
        assert!(
            ["user", "global_admin", "system"].contains(&e["actor"]["kind"].as_str().unwrap_or("")),
            "{e}"
        );
        assert_eq!(e["hash"].as_str().map(str::len), Some(64), "{e}");
    }
    let is_admin = |e: &Value| {
        e["actor"]["kind"] == json!("user")
            && e["actor"]["id"] == json!(w.admin_id)
            && e["actor"]["email"] == json!("admin@acme.test")
    };

    let rev = find(&entries, "session_revoked");
    assert_eq!(rev.len(), 1, "{rev:?}");
    assert!(is_admin(rev[0]), "{}", rev[0]);
    assert_eq!(rev[0]["target"], json!(w.revoked_sid));
    assert_eq!(rev[0]["reason"], json!("stolen phone"));
    assert_eq!(rev[0]["details"]["count"], json!(1), "{}", rev[0]);

    let b = find(&entries, "sessions_bulk_revoked");
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(is_admin(b[0]), "{}", b[0]);
    assert_eq!(b[0]["details"]["count"], json!(2), "{}", b[0]);
    assert_eq!(b[0]["reason"], json!("incident"));

    let u = find(&entries, "user_sessions_revoked");
    assert_eq!(u.len(), 1);
    assert!(is_admin(u[0]), "{}", u[0]);
    assert_eq!(u[0]["target"], json!(w.bob));
    assert_eq!(u[0]["details"]["count"], json!(3), "{}", u[0]);

    let up = find(&entries, "user_updated");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0]["target"], json!(w.alice));
    assert!(is_admin(up[0]));
    let pw = find(&entries, "password_changed");
    assert_eq!(pw.len(), 1);
    assert_eq!(pw[0]["target"], json!(w.bob));
    assert!(is_admin(pw[0]));
    let created = find(&entries, "user_created");
    assert!(
        created
            .iter()
            .any(|e| e["details"]["email"] == json!("dave@acme.test") && is_admin(e)),
        "{created:?}"
    );
    assert!(is_admin(find(&entries, "policy_updated")[0]));

    let failed = find(&entries, "login_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["actor"]["email"], json!(ALICE), "{}", failed[0]);
    let logins = find(&entries, "login");
    assert!(
        logins.iter().any(|e| e["actor"]["id"] == json!(w.alice)),
        "{logins:?}"
    );
    let logout = find(&entries, "logout");
    assert_eq!(logout[0]["actor"]["id"], json!(w.alice));

    // Secrets never reach the log, in any form.
    let (exp, _) = export(app, T, &admin.access).await;
    let query_text = serde_json::to_string(&entries).expect("json");
    for text in [&exp.text, &query_text] {
        for secret in [
            WRONG_PASSWORD,
            PASSWORD,
            NEW_PASSWORD,
            "Tr0ub4dor",
            "passphrase",
        ] {
            assert!(!text.contains(secret), "audit log contains {secret:?}");
        }
        assert!(!text.contains("rt1."), "audit log contains a refresh token");
        let signature = admin.access.rsplit('.').next().expect("jwt");
        assert!(
            !text.contains(signature),
            "audit log contains an access token"
        );
    }
}

#[tokio::test]
async fn query_is_newest_first_filters_and_paginates() {
    let w = world().await;
    let (app, admin) = (&w.app, &w.admin);
    let all = query_all(app, &admin.access, "", 200).await;
    let s = seqs(&all);
    assert!(s.windows(2).all(|p| p[0] > p[1]), "not newest first: {s:?}");
    assert_eq!(s.last(), Some(&1));
    for w2 in all.windows(2) {
        assert!(ms(&w2[0]["at"]) >= ms(&w2[1]["at"]));
    }
    // Pages of 3 give the same entries, each once.
    for limit in [3, 1, 7] {
        let paged = query_all(app, &admin.access, "", limit).await;
        assert_eq!(paged, all, "limit={limit}");
    }
    // Default limit 50.
    let r = audit_get(app, T, &admin.access, "").await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(all.len().min(50))
    );

    // action=
    let logins = query_all(app, &admin.access, "action=login", 2).await;
    assert!(!logins.is_empty());
    assert!(logins.iter().all(|e| e["action"] == json!("login")));
    assert_eq!(logins.len(), find(&all, "login").len());
    assert!(
        query_all(app, &admin.access, "action=no_such_action", 5)
            .await
            .is_empty()
    );
    // actor_id=
    let by_admin = query_all(app, &admin.access, &format!("actor_id={}", w.admin_id), 4).await;
    assert!(!by_admin.is_empty());
    assert!(
        by_admin
            .iter()
            .all(|e| e["actor"]["id"] == json!(w.admin_id))
    );
    let expected: Vec<&Value> = all
        .iter()
        .filter(|e| e["actor"]["id"] == json!(w.admin_id))
        .collect();
    assert_eq!(by_admin.iter().collect::<Vec<_>>(), expected);
    // since= (inclusive) / until= (exclusive)
    let mid = all[all.len() / 2]["at"].as_str().expect("at").to_owned();
    let mid_ms = ms(&json!(mid));
    let since = query_all(app, &admin.access, &format!("since={mid}"), 5).await;
    assert_eq!(
        since.iter().collect::<Vec<_>>(),
        all.iter()
            .filter(|e| ms(&e["at"]) >= mid_ms)
            .collect::<Vec<_>>()
    );
    let until = query_all(app, &admin.access, &format!("until={mid}"), 5).await;
    assert_eq!(
        until.iter().collect::<Vec<_>>(),
        all.iter()
            .filter(|e| ms(&e["at"]) < mid_ms)
            .collect::<Vec<_>>()
    );
    assert_eq!(since.len() + until.len(), all.len());
    let both = query_all(app, &admin.access, &format!("action=login&since={mid}"), 5).await;
    assert!(
        both.iter()
            .all(|e| e["action"] == json!("login") && ms(&e["at"]) >= mid_ms)
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=0", "cursor"),
        ("actor_id=bad", "actor_id"),
        ("since=yesterday", "since"),
        ("until=2026-13-45", "until"),
    ] {
        let r = audit_get(app, T, &admin.access, query).await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"].get(field).is_some(),
            "{query}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn export_is_ndjson_oldest_first_and_matches_verify() {
    let w = world().await;
    let (app, admin) = (&w.app, &w.admin);
    let (r, lines) = export(app, T, &admin.access).await;
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("application/x-ndjson"), "{ct}");
    assert!(r.text.ends_with('\n'), "NDJSON lines end with a newline");
    assert!(
        r.text
            .lines()
            .all(|l| l.starts_with('{') && l.ends_with('}')),
        "one object per line"
    );
    let s = seqs(&lines);
    assert_eq!(
        s,
        (1..=lines.len() as u64).collect::<Vec<_>>(),
        "seq ascending without gaps"
    );
    assert_eq!(lines[0]["prev_hash"], json!("0".repeat(64)), "{}", lines[0]);
    for p in lines.windows(2) {
        assert_eq!(
            p[1]["prev_hash"], p[0]["hash"],
            "chain broken at {}",
            p[1]["seq"]
        );
    }
    // The same entries the query API shows, reversed.
    let mut queried = query_all(app, &admin.access, "", 200).await;
    queried.reverse();
    assert_eq!(queried, lines);

    let v = verify(app, T, &admin.access).await;
    assert_eq!(v["ok"], json!(true), "{v}");
    assert_eq!(v["entries"], json!(lines.len()));
    assert_eq!(v["head_hash"], lines.last().expect("entries")["hash"]);

    // New activity extends the chain.
    app.login(T, ALICE).await;
    let v2 = verify(app, T, &admin.access).await;
    assert_eq!(v2["entries"], json!(lines.len() + 1));
    assert_ne!(v2["head_hash"], v["head_hash"]);
    let (_, lines2) = export(app, T, &admin.access).await;
    assert_eq!(
        &lines2[..lines.len()],
        &lines[..],
        "append-only: older entries unchanged"
    );
    assert_eq!(lines2.last().expect("entry")["action"], json!("login"));
}

#[tokio::test]
async fn each_tenant_has_its_own_log() {
    let app = TestApp::new().await;
    let acme = app.tenant_admin(T).await;
    let before = verify(&app, T, &acme.access).await;
    let globex = app.tenant_admin("globex").await;
    app.user("globex", "g@globex.test", Role::Member).await;
    app.login("globex", "g@globex.test").await;
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": "globex", "email": "g@globex.test", "password": WRONG_PASSWORD}),
        )
        .await;
    r.assert_error(401, "invalid_credentials");
    assert_eq!(verify(&app, T, &acme.access).await, before);
    let (_, acme_lines) = export(&app, T, &acme.access).await;
    assert!(
        acme_lines.iter().all(|e| !e.to_string().contains("globex")),
        "{acme_lines:?}"
    );
    let (_, g_lines) = export(&app, "globex", &globex.access).await;
    assert!(
        g_lines.iter().all(|e| !e.to_string().contains("acme")),
        "{g_lines:?}"
    );
    assert_eq!(g_lines[0]["seq"], json!(1), "each chain starts at 1");
    assert_eq!(
        verify(&app, "globex", &globex.access).await["ok"],
        json!(true)
    );
}
