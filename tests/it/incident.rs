//! Issue "The incident console" (API part): force sign-out with a reason
//! and an optional disable in one audit entry, the audit log filtered by
//! what an entry is about and exported that way, and session lists that
//! count, search by IP and id prefix, and sort by every column.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use sessiond::config::Config;
use sessiond::domain::Role;

use crate::sessions::{ALICE, BOB, CAROL, T, acme, assert_ok, assert_revoked, me};
use crate::support::{PASSWORD, Resp, TestApp, Tokens};

/// A login from `ip` (the app trusts `X-Forwarded-For`) with `ua`.
async fn login_from(app: &TestApp, email: &str, ip: &str, ua: &str) -> Tokens {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .header("x-forwarded-for", ip)
        .header("user-agent", ua)
        .body(Body::from(
            json!({"tenant": T, "email": email, "password": PASSWORD}).to_string(),
        ))
        .expect("request");
    let r = app.call(req).await;
    assert_ok(&r);
    Tokens::from_body(&r.body)
}

async fn trusting_app() -> TestApp {
    TestApp::with_config(Config {
        trust_forwarded_for: true,
        ..Config::default()
    })
    .await
}

async fn audit(app: &TestApp, admin: &Tokens, query: &str) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/tenants/{T}/audit?{query}"),
            Some(&admin.access),
        )
        .await;
    assert_ok(&r);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect()
}

/// The ids of a session page.
pub(crate) fn sessions(r: &Resp) -> Vec<String> {
    r.body["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["id"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn list(app: &TestApp, admin: &Tokens, query: &str) -> Resp {
    app.get(
        &format!("/v1/tenants/{T}/sessions?{query}"),
        Some(&admin.access),
    )
    .await
}

#[tokio::test]
async fn ending_all_of_a_users_sessions_counts_first_and_can_disable_in_one_entry() {
    let app = TestApp::new().await;
    let (admin, [alice, ..]) = acme(&app).await;
    let a = [app.login(T, ALICE).await, app.login(T, ALICE).await];
    let path = format!("/v1/tenants/{T}/users/{alice}/revoke-sessions");

    let r = app
        .post(&path, Some(&admin.access), json!({"dry_run": true}))
        .await;
    assert_eq!(r.body, json!({"would_revoke": 2}), "{}", r.text);
    assert_ok(&me(&app, &a[0].access).await);

    for bad in [
        json!({"reason": "x".repeat(501)}),
        json!({"reason": "ok", "disabel": true}),
        json!({"disable": "yes"}),
    ] {
        let r = app.post(&path, Some(&admin.access), bad.clone()).await;
        r.assert_error(400, "validation_failed");
    }
    assert_ok(&me(&app, &a[0].access).await);

    let r = app
        .post(
            &path,
            Some(&admin.access),
            json!({"reason": "stolen laptop", "disable": true}),
        )
        .await;
    assert_eq!(
        r.body,
        json!({"revoked": 2, "disabled": true}),
        "{}",
        r.text
    );
    for s in &a {
        assert_revoked(&me(&app, &s.access).await, "user_disabled");
        let row = app
            .get(
                &format!("/v1/tenants/{T}/sessions/{}", s.session_id),
                Some(&admin.access),
            )
            .await;
        assert_eq!(row.body["revoke_note"], json!("stolen laptop"));
    }
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": T, "email": ALICE, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status.as_u16(),
        401,
        "a disabled user signs in: {}",
        r.text
    );
    let u = app
        .get(
            &format!("/v1/tenants/{T}/users/{alice}"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(u.body["disabled"], json!(true), "{}", u.text);

    // One story in the log: one entry, the reason as typed, every session named.
    let about = audit(&app, &admin, &format!("target_user_id={alice}")).await;
    let ended: Vec<&Value> = about
        .iter()
        .filter(|e| e["action"] == json!("user_sessions_revoked"))
        .collect();
    assert_eq!(ended.len(), 1, "{about:?}");
    let e = ended[0];
    assert_eq!(e["reason"], json!("stolen laptop"));
    assert_eq!(e["details"]["disabled"], json!(true));
    assert_eq!(e["details"]["count"], json!(2));
    let mut listed: Vec<&str> = e["details"]["session_ids"]
        .as_array()
        .expect("session_ids")
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    listed.sort_unstable();
    let mut want = [a[0].session_id.as_str(), a[1].session_id.as_str()];
    want.sort_unstable();
    assert_eq!(listed, want);
    assert!(
        !actions(&about).contains(&"user_updated"),
        "disabling is part of the one entry: {about:?}"
    );

    // The tenant's last active org admin cannot be disabled this way either.
    let me_id = me(&app, &admin.access).await.body["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users/{me_id}/revoke-sessions"),
            Some(&admin.access),
            json!({"disable": true, "reason": "oops"}),
        )
        .await;
    r.assert_error(409, "conflict");
    assert_ok(&me(&app, &admin.access).await);
}

#[tokio::test]
async fn audit_answers_what_happened_to_a_user_and_to_a_session() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, _]) = acme(&app).await;
    let a1 = app.login(T, ALICE).await;
    let b1 = app.login(T, BOB).await;
    let b2 = app.login(T, BOB).await;
    app.clock.advance_secs(1);
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/{}/revoke", a1.session_id),
            Some(&admin.access),
            json!({"reason": "lost phone"}),
        )
        .await;
    assert_ok(&r);
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/revoke"),
            Some(&admin.access),
            json!({"filter": {"user_ids": [bob]}, "reason": "incident 7"}),
        )
        .await;
    assert_eq!(r.body, json!({"revoked": 2}), "{}", r.text);

    let about_alice = audit(&app, &admin, &format!("target_user_id={alice}")).await;
    assert_eq!(
        actions(&about_alice),
        ["session_revoked", "login", "user_created"],
        "{about_alice:?}"
    );
    assert_eq!(about_alice[0]["reason"], json!("lost phone"));

    let about_bob = audit(&app, &admin, &format!("target_user_id={bob}")).await;
    assert_eq!(
        actions(&about_bob),
        ["sessions_bulk_revoked", "login", "login", "user_created"],
        "{about_bob:?}"
    );
    let bulk = &about_bob[0];
    assert_eq!(bulk["reason"], json!("incident 7"));
    assert_eq!(bulk["details"]["user_ids"], json!([bob]));
    assert!(bulk["details"]["bulk_id"].is_string(), "{bulk}");
    assert_eq!(bulk["details"]["parts"], json!(1));

    let about_b1 = audit(&app, &admin, &format!("session_id={}", b1.session_id)).await;
    assert_eq!(
        actions(&about_b1),
        ["sessions_bulk_revoked", "login"],
        "{about_b1:?}"
    );
    assert_eq!(about_b1[1]["target"], json!(b1.session_id));
    let about_b2 = audit(&app, &admin, &format!("session_id={}", b2.session_id)).await;
    assert_eq!(about_b2[1]["target"], json!(b2.session_id));
    let both = audit(
        &app,
        &admin,
        &format!("target_user_id={alice}&session_id={}", b1.session_id),
    )
    .await;
    assert!(both.is_empty(), "filters combine: {both:?}");

    for (q, field) in [
        ("target_user_id=nope", "target_user_id"),
        ("session_id=123", "session_id"),
        (
            "since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let r = app
            .get(&format!("/v1/tenants/{T}/audit?{q}"), Some(&admin.access))
            .await;
        r.assert_error(400, "validation_failed");
        assert!(r.text.contains(field), "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn audit_export_follows_the_filters_as_ndjson_and_csv() {
    let app = TestApp::new().await;
    let (admin, [alice, ..]) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    app.login(T, BOB).await;
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/{}/revoke", a.session_id),
            Some(&admin.access),
            json!({"reason": "=HYPERLINK(\"x\"), then more"}),
        )
        .await;
    assert_ok(&r);
    let base = format!("/v1/tenants/{T}/audit/export");

    let r = app
        .get(
            &format!("{base}?target_user_id={alice}"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    let acts: Vec<&str> = lines
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        acts,
        ["user_created", "login", "session_revoked"],
        "oldest first, alice only"
    );

    let r = app
        .get(
            &format!("{base}?format=csv&target_user_id={alice}"),
            Some(&admin.access),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    assert!(
        r.header("content-disposition")
            .is_some_and(|c| c.contains(".csv")),
        "{:?}",
        r.headers
    );
    let rows: Vec<&str> = r.text.lines().collect();
    assert_eq!(rows.len(), 4, "{}", r.text);
    assert!(rows[0].starts_with("seq,at,actor_kind,actor_id,actor_email,action,target,reason"));
    assert!(rows[2].contains(",login,"), "{}", rows[2]);
    // Quoted (a comma, quotes) and defused (a leading `=`), never a formula.
    assert!(
        rows[3].contains("\"'=HYPERLINK(\"\"x\"\"), then more\""),
        "{}",
        rows[3]
    );

    let r = app
        .get(&format!("{base}?format=xml"), Some(&admin.access))
        .await;
    r.assert_error(400, "validation_failed");
    let r = app
        .get(&format!("{base}?actor_id=nope"), Some(&admin.access))
        .await;
    r.assert_error(400, "validation_failed");
}

const IPHONE_INSTAGRAM: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0.0.0 (iPhone14,2; iOS 17_1; en_US)";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

#[tokio::test]
async fn sessions_are_counted_and_found_by_ip_or_id_prefix() {
    let app = trusting_app().await;
    let (admin, _) = acme(&app).await;
    let a = login_from(&app, ALICE, "203.0.113.7", IPHONE_INSTAGRAM).await;
    let b = login_from(&app, BOB, "198.51.100.20", CHROME).await;
    let c = login_from(&app, CAROL, "203.0.113.9", CHROME).await;

    let r = list(&app, &admin, "").await;
    assert_ok(&r);
    assert_eq!(
        r.body["total"],
        json!(4),
        "the admin's own session too: {}",
        r.text
    );
    assert!(r.body.get("total_estimate").is_none());
    // Every page tells the same total.
    let r = list(&app, &admin, "limit=1").await;
    assert_eq!(r.body["total"], json!(4));
    let cursor = r.body["next_cursor"].as_str().expect("more").to_owned();
    let r = list(&app, &admin, &format!("limit=1&cursor={cursor}")).await;
    assert_eq!(r.body["total"], json!(4), "{}", r.text);

    let r = list(&app, &admin, "q=203.0.113.").await;
    let mut got = sessions(&r);
    got.sort();
    let mut want = vec![a.session_id.clone(), c.session_id.clone()];
    want.sort();
    assert_eq!(got, want, "{}", r.text);
    assert_eq!(r.body["total"], json!(2));
    let r = list(&app, &admin, "q=203.0.113.7").await;
    assert_eq!(sessions(&r), [a.session_id.as_str()]);
    let r = list(&app, &admin, "q=10.9.9.").await;
    assert_eq!(sessions(&r), Vec::<String>::new());
    assert_eq!(r.body["total"], json!(0));

    // A session id's start (long enough to be unique), with or without dashes.
    let prefix = &b.session_id[..28];
    let r = list(&app, &admin, &format!("q={prefix}")).await;
    assert_eq!(sessions(&r), [b.session_id.as_str()], "{}", r.text);
    let bare: String = prefix.chars().filter(|c| *c != '-').collect();
    let r = list(&app, &admin, &format!("q={bare}")).await;
    assert_eq!(sessions(&r), [b.session_id.as_str()]);
    // Revoked ones are found by id too, when asked for.
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/{}/revoke", b.session_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_ok(&r);
    assert!(sessions(&list(&app, &admin, &format!("q={prefix}")).await).is_empty());
    let r = list(&app, &admin, &format!("q={prefix}&status=revoked")).await;
    assert_eq!(sessions(&r), [b.session_id.as_str()]);

    // A name search counts the matched users' sessions, on every page.
    let more = [app.login(T, ALICE).await, app.login(T, ALICE).await];
    let r = list(&app, &admin, "q=alice&limit=1").await;
    assert_eq!(r.body["total"], json!(3), "{}", r.text);
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/{}/revoke", more[0].session_id),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_ok(&r);
    let r = list(&app, &admin, "q=alice&limit=1").await;
    assert_eq!(
        r.body["total"],
        json!(2),
        "revoked ones are not active: {}",
        r.text
    );
    let r = list(&app, &admin, "q=alice&limit=1&status=all").await;
    assert_eq!(r.body["total"], json!(3));

    // Names from the user agent; no location without a GeoIP database.
    let r = list(&app, &admin, "q=203.0.113.7").await;
    let row = &r.body["items"][0];
    assert_eq!(row["device"]["browser"], json!("Instagram 300.0"), "{row}");
    assert_eq!(row["device"]["os"], json!("iOS 17.1"));
    assert_eq!(row["location"], Value::Null);
}

#[tokio::test]
async fn every_column_sorts_and_pages_without_gaps() {
    let app = trusting_app().await;
    let (admin, _) = acme(&app).await;
    let mut made = Vec::new();
    for (i, (email, ip)) in [
        (CAROL, "10.0.0.10"),
        (ALICE, "10.0.0.9"),
        (BOB, "2001:db8::1"),
        (ALICE, "192.168.1.1"),
    ]
    .into_iter()
    .enumerate()
    {
        app.clock.advance_secs(10);
        let t = login_from(&app, email, ip, CHROME).await;
        made.push((i, email, ip, t.session_id));
    }
    // Older logins are used later: activity order differs from creation order.
    app.clock.advance_secs(10);
    let first = app.login(T, CAROL).await;
    let _ = first;

    let all = |sort: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let mut out: Vec<Value> = Vec::new();
            let mut cursor = String::new();
            for _ in 0..20 {
                let r = list(app, admin, &format!("sort={sort}&limit=2{cursor}")).await;
                assert_ok(&r);
                out.extend(r.body["items"].as_array().cloned().unwrap_or_default());
                match r.body["next_cursor"].as_str() {
                    Some(c) => cursor = format!("&cursor={c}"),
                    None => return out,
                }
            }
            panic!("{sort}: cursor loop");
        }
    };
    let field = |rows: &[Value], f: &dyn Fn(&Value) -> String| -> Vec<String> {
        rows.iter().map(f).collect()
    };
    let email = |s: &Value| s["user"]["email"].as_str().unwrap_or("").to_owned();
    let created = |s: &Value| s["created_at"].as_str().unwrap_or("").to_owned();
    let expires = |s: &Value| s["expires_at"].as_str().unwrap_or("").to_owned();
    let ip = |s: &Value| s["ip"].as_str().unwrap_or("").to_owned();

    let rows = all("user_asc").await;
    assert_eq!(rows.len(), 6, "{rows:?}");
    let got = field(&rows, &email);
    let mut want = got.clone();
    want.sort();
    assert_eq!(got, want);
    let rows = all("user_desc").await;
    let got = field(&rows, &email);
    want.reverse();
    assert_eq!(got, want);

    let rows = all("created_asc").await;
    let got = field(&rows, &created);
    let mut want = got.clone();
    want.sort();
    assert_eq!(got, want);
    let rows = all("expires_asc").await;
    let got = field(&rows, &expires);
    let mut want = got.clone();
    want.sort();
    assert_eq!(got, want);

    // Addresses sort as numbers, IPv4 before IPv6.
    let rows = all("ip_asc").await;
    let ips: Vec<String> = field(&rows, &ip)
        .into_iter()
        .filter(|i| !i.is_empty())
        .collect();
    assert_eq!(
        ips,
        ["10.0.0.9", "10.0.0.10", "192.168.1.1", "2001:db8::1"],
        "{rows:?}"
    );
    let rows = all("ip_desc").await;
    let ips: Vec<String> = field(&rows, &ip)
        .into_iter()
        .filter(|i| !i.is_empty())
        .collect();
    assert_eq!(ips, ["2001:db8::1", "192.168.1.1", "10.0.0.10", "10.0.0.9"]);

    // The indexed orders still page as before, and a cursor keeps to its sort.
    let rows = all("last_activity_asc").await;
    assert_eq!(rows.len(), 6);
    let r = list(&app, &admin, "sort=user_asc&limit=1").await;
    let c = r.body["next_cursor"].as_str().expect("cursor").to_owned();
    for other in ["user_desc", "last_activity_desc", "ip_asc"] {
        let r = list(&app, &admin, &format!("sort={other}&cursor={c}")).await;
        r.assert_error(400, "validation_failed");
    }
    let r = list(&app, &admin, "sort=size").await;
    r.assert_error(400, "validation_failed");
    assert!(r.text.contains("sort"), "{}", r.text);
    let _ = made;
    let _ = Role::Member;
}

#[tokio::test]
async fn a_geoip_database_places_sessions_and_a_bad_one_stops_start_up() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/geoip-test.mmdb");
    let app = TestApp::with_config(Config {
        trust_forwarded_for: true,
        geoip_db: Some(fixture),
        ..Config::default()
    })
    .await;
    let (admin, _) = acme(&app).await;
    let a = login_from(&app, ALICE, "203.0.113.7", CHROME).await;
    let b = login_from(&app, BOB, "2001:db8::5", CHROME).await;
    let c = login_from(&app, CAROL, "198.51.100.1", CHROME).await;
    let r = list(&app, &admin, "").await;
    let row = |sid: &str| {
        r.body["items"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == json!(sid)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        row(&a.session_id)["location"],
        json!({"city": "Lisbon", "country": "Portugal", "country_code": "PT"})
    );
    assert_eq!(
        row(&b.session_id)["location"],
        json!({"city": null, "country": "Germany", "country_code": "DE"})
    );
    assert_eq!(
        row(&c.session_id)["location"],
        Value::Null,
        "not in the database"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.mmdb");
    std::fs::write(&bad, b"not a database").unwrap();
    let store = sessiond::store::Store::open(dir.path()).unwrap();
    let clock = sessiond::clock::ManualClock::new(crate::support::T0);
    let started = sessiond::service::Service::start(
        store,
        std::sync::Arc::new(clock),
        Config {
            geoip_db: Some(bad),
            ..Config::default()
        },
    )
    .await;
    let Err(err) = started else {
        panic!("started with a bad GeoIP database")
    };
    assert!(err.contains("GeoIP database"), "{err}");
}

#[tokio::test]
async fn an_email_needs_a_domain_with_a_dot() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    for (email, ok) in [
        ("a@b", false),
        ("a@b.", false),
        ("a@b..c", false),
        ("a@b.c", true),
    ] {
        let r = app
            .post(
                &format!("/v1/tenants/{T}/users"),
                Some(&admin.access),
                json!({"email": email, "display_name": "A", "role": "member", "password": PASSWORD}),
            )
            .await;
        if ok {
            assert_eq!(r.status.as_u16(), 201, "{email}: {}", r.text);
        } else {
            r.assert_error(400, "validation_failed");
            assert!(r.text.contains("email"), "{email}: {}", r.text);
        }
    }
}
