//! Issue "Admin session management" (SPEC §5): listing a tenant's sessions
//! (filters, sorts, cursor pagination that stays correct under concurrent
//! change), last activity, and revocation (one, a user's, bulk).

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use sessiond::domain::{Role, Timestamp};

use crate::support::{PASSWORD, Resp, T0, TestApp, Tokens};

pub const T: &str = "acme";
pub const ALICE: &str = "alice@acme.test";
pub const BOB: &str = "bob@acme.test";
pub const CAROL: &str = "carol@acme.test";

/// Milliseconds of an RFC 3339 JSON string.
#[track_caller]
pub fn ms(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a time string, got {v}"));
    Timestamp::parse_rfc3339(s)
        .unwrap_or_else(|| panic!("not RFC 3339: {s}"))
        .millis()
}

/// T0 + `secs`, as the API writes times.
pub fn iso(secs: i64) -> String {
    T0.plus_secs(secs).to_rfc3339()
}

pub async fn me(app: &TestApp, access: &str) -> Resp {
    app.get("/v1/auth/me", Some(access)).await
}

#[track_caller]
pub fn assert_ok(r: &Resp) {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[track_caller]
pub fn assert_revoked(r: &Resp, reason: &str) {
    r.assert_error(401, "session_revoked");
    assert_eq!(r.body["revoked_reason"], json!(reason), "{}", r.text);
}

/// `GET /v1/tenants/{tenant}/sessions?{query}`
pub async fn list_in(app: &TestApp, tenant: &str, token: &str, query: &str) -> Resp {
    app.get(
        &format!("/v1/tenants/{tenant}/sessions?{query}"),
        Some(token),
    )
    .await
}

/// One page of acme's sessions; asserts 200 and the page shape.
pub async fn page(app: &TestApp, admin: &Tokens, query: &str) -> Value {
    let r = list_in(app, T, &admin.access, query).await;
    assert_ok(&r);
    assert!(r.body["items"].is_array(), "{}", r.text);
    assert!(
        r.body.get("next_cursor").is_some(),
        "next_cursor missing: {}",
        r.text
    );
    r.body
}

/// The items of one page.
pub async fn items(app: &TestApp, admin: &Tokens, query: &str) -> Vec<Value> {
    page(app, admin, query).await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Follow `next_cursor` to the end; every page holds at most `limit` rows and
/// only the last page has `next_cursor: null`. Gives up (panics) after 200
/// pages so a cursor loop fails the test instead of hanging it.
pub async fn collect(app: &TestApp, admin: &Tokens, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..200 {
        let mut q = format!("{query}&limit={limit}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let body = page(app, admin, &q).await;
        let rows = body["items"].as_array().cloned().unwrap_or_default();
        assert!(
            rows.len() <= limit,
            "page of {} rows with limit {limit}",
            rows.len()
        );
        out.extend(rows.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(rows.len(), limit, "a non-final page must be full");
                cursor = Some(c.to_owned());
            }
            None => {
                assert!(body["next_cursor"].is_null(), "{body}");
                return out;
            }
        }
    }
    panic!(
        "pagination did not end after 200 pages (cursor loop?); first rows: {:?}",
        &ids(&out)[..out.len().min(12)]
    );
}

pub fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[track_caller]
pub fn assert_unique(ids: &[String]) {
    let mut seen = HashSet::new();
    let dups: Vec<&String> = ids.iter().filter(|i| !seen.insert(*i)).collect();
    assert!(dups.is_empty(), "duplicates across pages: {dups:?}");
}

pub fn row<'a>(rows: &'a [Value], sid: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["id"] == json!(sid))
}

pub async fn show(app: &TestApp, admin: &Tokens, sid: &str) -> Resp {
    app.get(
        &format!("/v1/tenants/{T}/sessions/{sid}"),
        Some(&admin.access),
    )
    .await
}

pub async fn revoke(app: &TestApp, admin: &Tokens, sid: &str, body: Value) -> Resp {
    app.post(
        &format!("/v1/tenants/{T}/sessions/{sid}/revoke"),
        Some(&admin.access),
        body,
    )
    .await
}

pub async fn bulk(app: &TestApp, admin: &Tokens, body: Value) -> Resp {
    app.post(
        &format!("/v1/tenants/{T}/sessions/revoke"),
        Some(&admin.access),
        body,
    )
    .await
}

/// Tenant acme with its admin signed in and three members; returns
/// (admin tokens, [alice, bob, carol] user ids).
pub async fn acme(app: &TestApp) -> (Tokens, [String; 3]) {
    let admin = app.tenant_admin(T).await;
    let a = app.user(T, ALICE, Role::Member).await;
    let b = app.user(T, BOB, Role::Member).await;
    let c = app.user(T, CAROL, Role::Member).await;
    (admin, [a, b, c])
}

async fn admin_user_id(app: &TestApp, admin: &Tokens) -> String {
    let r = me(app, &admin.access).await;
    assert_ok(&r);
    r.body["user"]["id"].as_str().expect("user id").to_owned()
}

// ---------------------------------------------------------------- listing

#[tokio::test]
async fn rows_have_the_documented_shape() {
    let app = TestApp::new().await;
    let (admin, [alice, ..]) = acme(&app).await;
    let admin_id = admin_user_id(&app, &admin).await;
    app.clock.advance_secs(5);
    // A login with a User-Agent: recorded on the session.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", "it-sessions/1.0")
        .body(Body::from(
            json!({"tenant": T, "email": ALICE, "password": PASSWORD}).to_string(),
        ))
        .expect("request");
    let r = app.call(req).await;
    assert_ok(&r);
    let a = Tokens::from_body(&r.body);
    app.clock.advance_secs(5);

    let rows = items(&app, &admin, "").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let ar = row(&rows, &a.session_id).expect("alice's session listed");
    for key in [
        "id",
        "user",
        "created_at",
        "last_activity_at",
        "expires_at",
        "ip",
        "user_agent",
        "status",
        "revoked_at",
        "revoked_by",
        "revoked_reason",
        "revoke_note",
        "support",
        "current",
    ] {
        assert!(ar.get(key).is_some(), "field {key} missing: {ar}");
    }
    assert_eq!(ar["user"]["id"], json!(alice));
    assert_eq!(ar["user"]["email"], json!(ALICE));
    assert_eq!(ar["user"]["display_name"], json!("alice"));
    assert_eq!(ar["status"], json!("active"));
    assert_eq!(ar["user_agent"], json!("it-sessions/1.0"));
    assert_eq!(ar["created_at"], json!(iso(5)));
    assert_eq!(ar["last_activity_at"], json!(iso(5)));
    // Default idle timeout 30 min: the session ends 30 min after last activity.
    assert_eq!(ar["expires_at"], json!(iso(5 + 1800)));
    for key in [
        "revoked_at",
        "revoked_by",
        "revoked_reason",
        "revoke_note",
        "support",
    ] {
        assert!(ar[key].is_null(), "{key} should be null: {ar}");
    }
    assert_eq!(ar["current"], json!(false));
    let own = row(&rows, &admin.session_id).expect("admin's session listed");
    assert_eq!(own["current"], json!(true));
    assert_eq!(own["user"]["id"], json!(admin_id));
    // The caller's session was just used: its activity is "now".
    assert_eq!(own["last_activity_at"], json!(iso(10)));

    // One session: the same row.
    let r = show(&app, &admin, &a.session_id).await;
    assert_ok(&r);
    assert_eq!(&r.body, ar);
    let r = show(&app, &admin, &admin.session_id).await;
    assert_eq!(r.body["current"], json!(true));

    // A second session of the admin is not "current" for the first one's caller.
    let second = app.login(T, "admin@acme.test").await;
    let rows = items(&app, &admin, "").await;
    assert_eq!(
        row(&rows, &second.session_id).expect("listed")["current"],
        json!(false)
    );
    let rows = items(&app, &second, "").await;
    assert_eq!(
        row(&rows, &second.session_id).expect("listed")["current"],
        json!(true)
    );
    assert_eq!(
        row(&rows, &admin.session_id).expect("listed")["current"],
        json!(false)
    );
}

/// 30 member sessions (plus the admin's), logged in one second apart.
async fn thirty_sessions(app: &TestApp) -> (Tokens, Vec<Tokens>) {
    let (admin, _) = acme(app).await;
    let mut sessions = Vec::new();
    for i in 0..30 {
        app.clock.advance_secs(1);
        sessions.push(app.login(T, [ALICE, BOB, CAROL][i % 3]).await);
    }
    (admin, sessions)
}

#[tokio::test]
async fn pagination_collects_every_session_exactly_once_in_both_sorts() {
    let app = TestApp::new().await;
    let (admin, sessions) = thirty_sessions(&app).await;
    // Some sessions used (in memory only), some flushed: both sources merge.
    for i in [2, 4, 6, 8] {
        app.clock.advance_secs(1);
        assert_ok(&me(&app, &sessions[i].access).await);
    }
    app.svc.flush_activity().await.expect("flush");
    for i in [1, 12, 27] {
        app.clock.advance_secs(1);
        assert_ok(&me(&app, &sessions[i].access).await);
    }
    app.clock.advance_secs(1);

    let mut expected: Vec<String> = sessions.iter().map(|t| t.session_id.clone()).collect();
    expected.push(admin.session_id.clone());
    expected.sort();

    for sort in ["last_activity_desc", "created_desc"] {
        for limit in [7, 1, 31, 200] {
            let rows = collect(&app, &admin, &format!("sort={sort}"), limit).await;
            let got = ids(&rows);
            assert_unique(&got);
            let mut sorted = got.clone();
            sorted.sort();
            assert_eq!(sorted, expected, "sort={sort} limit={limit}");
            // The order is the one asked for, across page boundaries.
            for w in rows.windows(2) {
                match sort {
                    "created_desc" => {
                        assert!(
                            ms(&w[0]["created_at"]) >= ms(&w[1]["created_at"]),
                            "{} before {}",
                            w[0],
                            w[1]
                        );
                        assert!(
                            w[0]["id"].as_str() > w[1]["id"].as_str(),
                            "{} before {}",
                            w[0],
                            w[1]
                        );
                    }
                    _ => assert!(
                        ms(&w[0]["last_activity_at"]) >= ms(&w[1]["last_activity_at"]),
                        "sort={sort} limit={limit}: {} before {}",
                        w[0],
                        w[1]
                    ),
                }
            }
        }
    }
    // Without a sort, the default is last_activity_desc; default limit 50.
    let body = page(&app, &admin, "").await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(31));
    assert!(body["next_cursor"].is_null());
    let by_activity = collect(&app, &admin, "sort=last_activity_desc", 7).await;
    assert_eq!(
        ids(body["items"].as_array().expect("items")),
        ids(&by_activity)
    );
}

#[tokio::test]
async fn revoked_by_creation_pages_through_exactly_the_revoked_sessions() {
    let app = TestApp::new().await;
    let (admin, sessions) = thirty_sessions(&app).await;
    let mut revoked: Vec<String> = Vec::new();
    for i in [3, 9, 10, 17, 22, 28, 29] {
        let sid = &sessions[i].session_id;
        let r = app
            .post(
                &format!("/v1/tenants/{T}/sessions/{sid}/revoke"),
                Some(&admin.access),
                json!({}),
            )
            .await;
        assert_ok(&r);
        revoked.push(sid.clone());
    }
    revoked.sort_by(|a, b| b.cmp(a));
    for limit in [1, 3, 7, 50] {
        let rows = collect(&app, &admin, "status=revoked&sort=created_desc", limit).await;
        assert_eq!(ids(&rows), revoked, "limit={limit}");
        assert!(rows.iter().all(|r| r["status"] == "revoked"));
    }
    // Combined with a user filter.
    let alice = sessions[3].session_id.clone();
    let uid = show(&app, &admin, &alice).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows = collect(
        &app,
        &admin,
        &format!("status=revoked&sort=created_desc&user_id={uid}"),
        2,
    )
    .await;
    assert!(rows.iter().all(|r| r["user"]["id"] == uid.as_str()));
    assert!(ids(&rows).contains(&alice));
}

/// Page through with `status` and `sort`, creating two sessions and revoking one
/// already-listed and one not-yet-listed session between page fetches.
async fn paginate_under_churn(sort: &str, status: &str) {
    let app = TestApp::new().await;
    let (admin, sessions) = thirty_sessions(&app).await;
    for i in [3, 7, 11, 15, 19] {
        app.clock.advance_secs(1);
        assert_ok(&me(&app, &sessions[i].access).await);
    }
    app.svc.flush_activity().await.expect("flush");
    for i in [5, 9, 21, 25] {
        app.clock.advance_secs(1);
        assert_ok(&me(&app, &sessions[i].access).await);
    }
    app.clock.advance_secs(1);

    let mut start: Vec<String> = sessions.iter().map(|t| t.session_id.clone()).collect();
    start.push(admin.session_id.clone());
    start.sort();
    let start_set: HashSet<String> = start.iter().cloned().collect();

    let mut seen: Vec<String> = Vec::new();
    let mut rows_seen: Vec<Value> = Vec::new();
    let mut created: HashSet<String> = HashSet::new();
    let mut revoked: HashSet<String> = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        round += 1;
        assert!(round < 100, "pagination did not end (cursor loop?)");
        let mut q = format!("status={status}&sort={sort}&limit=7");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let body = page(&app, &admin, &q).await;
        let rows = body["items"].as_array().cloned().unwrap_or_default();
        assert!(rows.len() <= 7);
        seen.extend(ids(&rows));
        rows_seen.extend(rows);
        let Some(next) = body["next_cursor"].as_str() else {
            break;
        };
        cursor = Some(next.to_owned());

        // Churn between pages.
        app.clock.advance_secs(1);
        for _ in 0..2 {
            created.insert(app.login(T, CAROL).await.session_id);
        }
        let listed = seen
            .iter()
            .find(|s| **s != admin.session_id && !revoked.contains(*s) && start_set.contains(*s))
            .cloned();
        if let Some(sid) = listed {
            let r = revoke(&app, &admin, &sid, json!({"reason": "churn"})).await;
            assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
            revoked.insert(sid);
        }
        let unlisted = start
            .iter()
            .find(|s| **s != admin.session_id && !seen.contains(*s) && !revoked.contains(*s))
            .cloned();
        if let Some(sid) = unlisted {
            let r = if round % 2 == 0 {
                revoke(&app, &admin, &sid, json!({})).await
            } else {
                bulk(&app, &admin, json!({"session_ids": [sid]})).await
            };
            assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
            revoked.insert(sid);
        }
    }
    assert!(round >= 4, "expected several pages, got {round}");
    assert_unique(&seen);
    for sid in &seen {
        assert!(
            start_set.contains(sid) || created.contains(sid),
            "unknown id {sid}"
        );
    }
    let seen_set: HashSet<&String> = seen.iter().collect();
    let missing: Vec<&String> = start
        .iter()
        .filter(|s| !seen_set.contains(s))
        .filter(|s| status == "all" || !revoked.contains(*s))
        .collect();
    assert!(
        missing.is_empty(),
        "sort={sort} status={status}: gaps: {missing:?}"
    );
    if status == "active" {
        // Not-yet-listed sessions revoked before their page must not show up as active.
        for r in &rows_seen {
            assert_eq!(r["status"], json!("active"), "{r}");
        }
    }
    for w in rows_seen.windows(2) {
        if sort == "created_desc" {
            assert!(
                w[0]["id"].as_str() > w[1]["id"].as_str(),
                "{} before {}",
                w[0],
                w[1]
            );
        } else {
            assert!(
                ms(&w[0]["last_activity_at"]) >= ms(&w[1]["last_activity_at"]),
                "{} before {}",
                w[0],
                w[1]
            );
        }
    }
}

#[tokio::test]
async fn pagination_under_churn_by_activity_status_all_has_no_gaps_or_duplicates() {
    paginate_under_churn("last_activity_desc", "all").await;
}

#[tokio::test]
async fn pagination_under_churn_by_creation_status_all_has_no_gaps_or_duplicates() {
    paginate_under_churn("created_desc", "all").await;
}

#[tokio::test]
async fn pagination_under_churn_by_activity_active_only_has_no_duplicates() {
    paginate_under_churn("last_activity_desc", "active").await;
}

#[tokio::test]
async fn pagination_under_churn_by_creation_active_only_has_no_duplicates() {
    paginate_under_churn("created_desc", "active").await;
}

#[tokio::test]
async fn last_activity_from_token_use_shows_before_and_after_flush() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    let row_of = |rows: Vec<Value>| {
        row(&rows, &a.session_id)
            .cloned()
            .expect("alice's session listed")
    };

    let r = row_of(items(&app, &admin, "").await);
    assert_eq!(r["last_activity_at"], json!(iso(0)));

    app.clock.advance_secs(120);
    assert_ok(&me(&app, &a.access).await);
    app.clock.advance_secs(1);
    // Before any flush: the in-memory activity is merged into the listing.
    let r = row_of(items(&app, &admin, "").await);
    assert_eq!(r["last_activity_at"], json!(iso(120)), "{r}");
    assert_eq!(r["expires_at"], json!(iso(120 + 1800)), "{r}");
    let one = show(&app, &admin, &a.session_id).await;
    assert_eq!(
        one.body["last_activity_at"],
        json!(iso(120)),
        "{}",
        one.text
    );
    let filtered = row_of(
        items(
            &app,
            &admin,
            &format!("user_id={}", r["user"]["id"].as_str().expect("uid")),
        )
        .await,
    );
    assert_eq!(filtered["last_activity_at"], json!(iso(120)));

    app.svc.flush_activity().await.expect("flush");
    let r = row_of(items(&app, &admin, "").await);
    assert_eq!(r["last_activity_at"], json!(iso(120)), "after flush: {r}");
    let r = row_of(items(&app, &admin, "sort=created_desc").await);
    assert_eq!(r["last_activity_at"], json!(iso(120)), "after flush: {r}");

    // A refresh counts as activity too.
    app.clock.advance_secs(60);
    let rr = app.refresh(&a.refresh).await;
    assert_ok(&rr);
    app.clock.advance_secs(1);
    let r = row_of(items(&app, &admin, "").await);
    assert_eq!(r["last_activity_at"], json!(iso(181)), "after refresh: {r}");
}

#[tokio::test]
async fn sort_by_last_activity_follows_token_use() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    app.clock.advance_secs(1);
    let a = app.login(T, ALICE).await;
    app.clock.advance_secs(1);
    let b = app.login(T, BOB).await;
    app.clock.advance_secs(1);
    let c = app.login(T, CAROL).await;

    app.clock.advance_secs(10);
    assert_ok(&me(&app, &a.access).await); // a: +13, flushed
    app.svc.flush_activity().await.expect("flush");
    app.clock.advance_secs(10);
    assert_ok(&me(&app, &b.access).await); // b: +23, memory only
    app.clock.advance_secs(10);

    let order = |rows: &[Value]| -> Vec<String> {
        ids(rows)
            .into_iter()
            .filter(|i| [&a.session_id, &b.session_id, &c.session_id].contains(&i))
            .collect()
    };
    let rows = items(&app, &admin, "").await;
    assert_eq!(
        rows[0]["id"],
        json!(admin.session_id),
        "the caller's session was used last"
    );
    assert_eq!(
        order(&rows),
        [
            b.session_id.clone(),
            a.session_id.clone(),
            c.session_id.clone()
        ]
    );
    let rows = items(&app, &admin, "sort=last_activity_desc").await;
    assert_eq!(
        order(&rows),
        [
            b.session_id.clone(),
            a.session_id.clone(),
            c.session_id.clone()
        ]
    );
    let rows = items(&app, &admin, "sort=created_desc").await;
    assert_eq!(
        order(&rows),
        [
            c.session_id.clone(),
            b.session_id.clone(),
            a.session_id.clone()
        ]
    );
    assert_eq!(rows.last().expect("rows")["id"], json!(admin.session_id));

    // Using c moves it to the front of the activity order.
    app.clock.advance_secs(1);
    assert_ok(&me(&app, &c.access).await);
    app.clock.advance_secs(1);
    let rows = items(&app, &admin, "").await;
    assert_eq!(
        order(&rows),
        [
            c.session_id.clone(),
            b.session_id.clone(),
            a.session_id.clone()
        ]
    );
}

#[tokio::test]
async fn refresh_after_token_use_sorts_by_the_refresh_time() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    app.clock.advance_secs(1);
    let a = app.login(T, ALICE).await;
    app.clock.advance_secs(1);
    let b = app.login(T, BOB).await;
    app.clock.advance_secs(8);
    assert_ok(&me(&app, &a.access).await); // a used at +10 (memory)
    app.clock.advance_secs(10);
    assert_ok(&me(&app, &b.access).await); // b used at +20 (memory)
    app.clock.advance_secs(10);
    assert_ok(&app.refresh(&a.refresh).await); // a refreshed at +30
    app.clock.advance_secs(10);

    let rows = items(&app, &admin, "").await;
    let ar = row(&rows, &a.session_id).expect("listed");
    assert_eq!(ar["last_activity_at"], json!(iso(30)));
    let want = [
        admin.session_id.clone(),
        a.session_id.clone(),
        b.session_id.clone(),
    ];
    assert_eq!(
        ids(&rows),
        want,
        "listed order (id, last_activity_at): {:?}",
        summary(&rows)
    );
    let paged = collect(&app, &admin, "", 1).await;
    assert_eq!(
        ids(&paged),
        want,
        "paged with limit=1: {:?}",
        summary(&paged)
    );
}

/// Same set-up as above, through the cursor only: every session exactly once.
#[tokio::test]
async fn refresh_after_token_use_paginates_without_duplicates() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    app.clock.advance_secs(1);
    let a = app.login(T, ALICE).await;
    app.clock.advance_secs(1);
    let b = app.login(T, BOB).await;
    app.clock.advance_secs(1);
    let _c = app.login(T, CAROL).await; // +3, never used
    app.clock.advance_secs(7);
    assert_ok(&me(&app, &a.access).await);
    app.clock.advance_secs(10);
    assert_ok(&me(&app, &b.access).await);
    app.clock.advance_secs(10);
    assert_ok(&app.refresh(&a.refresh).await);
    app.clock.advance_secs(10);
    let paged = collect(&app, &admin, "", 1).await;
    let got = ids(&paged);
    assert_unique(&got);
    assert_eq!(got.len(), 4, "{:?}", summary(&paged));
}

/// (id, last_activity_at) of each row, for messages.
pub fn summary(rows: &[Value]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or("").to_owned(),
                r["last_activity_at"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn q_matches_email_or_display_name_case_insensitively() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, _]) = acme(&app).await;
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users"),
            Some(&admin.access),
            json!({"email": "zq@acme.test", "display_name": "Zoë Quartermaine", "role": "member", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let zq = app.login(T, "zq@acme.test").await;
    let a = app.login(T, ALICE).await;
    let b = app.login(T, BOB).await;

    let q = |query: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let mut v = ids(&items(app, admin, &format!("status=all&q={query}")).await);
            v.sort();
            v
        }
    };
    // Display name only, any case (including non-ASCII).
    assert_eq!(q("QUARTERMAINE").await, [zq.session_id.as_str()]);
    assert_eq!(q("quarter").await, [zq.session_id.as_str()]);
    assert_eq!(q("ZO%C3%8B").await, [zq.session_id.as_str()]);
    // Email, any case.
    assert_eq!(q("ZQ%40ACME").await, [zq.session_id.as_str()]);
    assert_eq!(q("Alice%40").await, [a.session_id.as_str()]);
    assert!(q("nobody-matches-this").await.is_empty());
    // A substring several users share.
    let mut both = vec![a.session_id.clone(), b.session_id.clone()];
    both.sort();
    let shared = q("acme.test").await;
    assert!(shared.len() >= 4, "{shared:?}");
    // q and user_id together: the intersection.
    let r = items(&app, &admin, &format!("q=acme.test&user_id={alice}")).await;
    assert_eq!(ids(&r), [a.session_id.as_str()]);
    let r = items(&app, &admin, &format!("q=QUARTER&user_id={bob}")).await;
    assert!(r.is_empty(), "{r:?}");
    // Empty q: no filter.
    let r = items(&app, &admin, "q=").await;
    assert_eq!(r.len(), 4);
    let _ = both;
}

#[tokio::test]
async fn user_id_filter_lists_only_that_users_sessions() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, carol]) = acme(&app).await;
    let a1 = app.login(T, ALICE).await;
    app.clock.advance_secs(1);
    let a2 = app.login(T, ALICE).await;
    app.clock.advance_secs(1);
    let b1 = app.login(T, BOB).await;
    app.clock.advance_secs(1);

    let mut got = ids(&items(&app, &admin, &format!("user_id={alice}")).await);
    got.sort();
    let mut want = vec![a1.session_id.clone(), a2.session_id.clone()];
    want.sort();
    assert_eq!(got, want);
    // Newest activity first, and paginated.
    let rows = collect(&app, &admin, &format!("user_id={alice}"), 1).await;
    assert_eq!(ids(&rows), [a2.session_id.clone(), a1.session_id.clone()]);
    let rows = collect(
        &app,
        &admin,
        &format!("user_id={alice}&sort=created_desc"),
        1,
    )
    .await;
    assert_eq!(ids(&rows), [a2.session_id.clone(), a1.session_id.clone()]);
    assert_eq!(
        ids(&items(&app, &admin, &format!("user_id={bob}")).await),
        [b1.session_id.as_str()]
    );
    assert!(
        items(&app, &admin, &format!("user_id={carol}"))
            .await
            .is_empty()
    );
    // A well-formed unknown user id: an empty list.
    assert!(
        items(&app, &admin, "user_id=01890000-0000-7000-8000-000000000000")
            .await
            .is_empty()
    );
    // Combined with status.
    assert_eq!(
        revoke(&app, &admin, &a1.session_id, json!({})).await.body,
        json!({"revoked": 1})
    );
    assert_eq!(
        ids(&items(&app, &admin, &format!("user_id={alice}")).await),
        [a2.session_id.as_str()]
    );
    assert_eq!(
        ids(&items(&app, &admin, &format!("user_id={alice}&status=revoked")).await),
        [a1.session_id.as_str()]
    );
    assert_eq!(
        items(&app, &admin, &format!("user_id={alice}&status=all"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn expired_sessions_show_only_with_status_all() {
    let app = TestApp::new().await;
    let (admin0, [alice, ..]) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    app.clock.advance_secs(600);
    let b = app.login(T, BOB).await;
    // Past the 30-minute idle timeout for alice (and the first admin session), not for bob.
    app.clock.advance_secs(1201);
    app.refresh(&a.refresh)
        .await
        .assert_error(401, "session_expired");
    app.refresh(&admin0.refresh)
        .await
        .assert_error(401, "session_expired");
    let admin = app.login(T, "admin@acme.test").await;

    let active = ids(&items(&app, &admin, "").await);
    assert!(
        !active.contains(&a.session_id),
        "expired session listed as active: {active:?}"
    );
    assert!(active.contains(&b.session_id));
    assert!(active.contains(&admin.session_id));
    assert!(
        ids(&items(&app, &admin, "status=active&sort=created_desc").await)
            .iter()
            .all(|s| *s != a.session_id)
    );
    assert!(
        items(&app, &admin, &format!("user_id={alice}"))
            .await
            .is_empty()
    );
    // Expired is not revoked.
    assert!(!ids(&items(&app, &admin, "status=revoked").await).contains(&a.session_id));

    for q in [
        "status=all".to_owned(),
        "status=all&sort=created_desc".to_owned(),
        format!("status=all&user_id={alice}"),
    ] {
        let rows = items(&app, &admin, &q).await;
        let r = row(&rows, &a.session_id).unwrap_or_else(|| panic!("{q}: expired session missing"));
        assert_eq!(r["status"], json!("expired"), "{q}: {r}");
        assert!(r["revoked_at"].is_null());
        let r = row(&rows, &admin0.session_id);
        if !q.contains("user_id") {
            assert_eq!(r.expect("old admin session")["status"], json!("expired"));
        }
    }
    let one = show(&app, &admin, &a.session_id).await;
    assert_eq!(one.body["status"], json!("expired"), "{}", one.text);
}

// ------------------------------------------------------------- revocation

#[tokio::test]
async fn revoking_one_session_takes_effect_on_the_next_request() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let admin_id = admin_user_id(&app, &admin).await;
    let a = app.login(T, ALICE).await;
    let a2 = app.login(T, ALICE).await;
    assert_ok(&me(&app, &a.access).await);
    app.clock.advance_secs(3);

    let r = revoke(
        &app,
        &admin,
        &a.session_id,
        json!({"reason": "lost laptop"}),
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.body, json!({"revoked": 1}));
    assert_revoked(&me(&app, &a.access).await, "admin_revoked");
    let rr = app.refresh(&a.refresh).await;
    rr.assert_error(401, "session_revoked");
    assert_eq!(rr.body["revoked_reason"], json!("admin_revoked"));
    // Again: nothing left to revoke.
    assert_eq!(
        revoke(&app, &admin, &a.session_id, json!({})).await.body,
        json!({"revoked": 0})
    );
    // No body at all is fine too.
    let r = app
        .post(
            &format!("/v1/tenants/{T}/sessions/{}/revoke", a.session_id),
            Some(&admin.access),
            json!(null),
        )
        .await;
    assert!(
        r.status.as_u16() == 200 || r.status.as_u16() == 400,
        "{}",
        r.text
    );
    let r = app
        .request(
            Method::POST,
            &format!("/v1/tenants/{T}/sessions/{}/revoke", a.session_id),
            Some(&admin.access),
            None,
        )
        .await;
    assert_eq!(r.body, json!({"revoked": 0}), "{}", r.text);

    // The other session of the same user is untouched.
    assert_ok(&me(&app, &a2.access).await);

    let one = show(&app, &admin, &a.session_id).await;
    let b = &one.body;
    assert_eq!(b["status"], json!("revoked"), "{b}");
    assert_eq!(b["revoked_reason"], json!("admin_revoked"));
    assert_eq!(b["revoke_note"], json!("lost laptop"));
    assert_eq!(b["revoked_by"], json!(admin_id));
    assert_eq!(b["revoked_at"], json!(iso(3)));
    assert!(!ids(&items(&app, &admin, "").await).contains(&a.session_id));
    let revoked = items(&app, &admin, "status=revoked").await;
    assert_eq!(ids(&revoked), [a.session_id.as_str()]);
    assert_eq!(&revoked[0], b);

    // Unknown and malformed ids.
    revoke(
        &app,
        &admin,
        "01890000-0000-7000-8000-000000000000",
        json!({}),
    )
    .await
    .assert_error(404, "not_found");
    show(&app, &admin, "01890000-0000-7000-8000-000000000000")
        .await
        .assert_error(404, "not_found");
    revoke(&app, &admin, "not-a-uuid", json!({}))
        .await
        .assert_error(400, "validation_failed");
    show(&app, &admin, "not-a-uuid")
        .await
        .assert_error(400, "validation_failed");
    // A bad reason.
    revoke(
        &app,
        &admin,
        &a2.session_id,
        json!({"reason": "x".repeat(501)}),
    )
    .await
    .assert_error(400, "validation_failed");
    revoke(&app, &admin, &a2.session_id, json!({"reason": 5}))
        .await
        .assert_error(400, "validation_failed");
    assert_ok(&me(&app, &a2.access).await);
}

#[tokio::test]
async fn an_admin_may_revoke_their_own_session() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let r = revoke(&app, &admin, &admin.session_id, json!({})).await;
    assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
    assert_revoked(&me(&app, &admin.access).await, "admin_revoked");
    assert_revoked(&list_in(&app, T, &admin.access, "").await, "admin_revoked");
}

#[tokio::test]
async fn force_sign_out_revokes_every_session_and_allows_a_new_login() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, _]) = acme(&app).await;
    let sessions = [
        app.login(T, ALICE).await,
        app.login(T, ALICE).await,
        app.login(T, ALICE).await,
    ];
    let b = app.login(T, BOB).await;
    app.clock.advance_secs(2);

    let path = format!("/v1/tenants/{T}/users/{alice}/revoke-sessions");
    let r = app.post(&path, Some(&admin.access), json!({})).await;
    assert_ok(&r);
    assert_eq!(r.body, json!({"revoked": 3, "disabled": false}));
    for s in &sessions {
        assert_revoked(&me(&app, &s.access).await, "user_sessions_revoked");
        let rr = app.refresh(&s.refresh).await;
        rr.assert_error(401, "session_revoked");
        let row = show(&app, &admin, &s.session_id).await.body;
        assert_eq!(row["status"], json!("revoked"));
        assert_eq!(row["revoked_reason"], json!("user_sessions_revoked"));
    }
    assert_ok(&me(&app, &b.access).await);
    assert_ok(&me(&app, &admin.access).await);

    // Signing in again works at once, even within the same second.
    let again = app.login(T, ALICE).await;
    assert_ok(&me(&app, &again.access).await);
    let rr = app.refresh(&again.refresh).await;
    assert_ok(&rr);
    let again = Tokens::from_body(&rr.body);
    assert_ok(&me(&app, &again.access).await);
    assert_eq!(
        ids(&items(&app, &admin, &format!("user_id={alice}")).await),
        [again.session_id.as_str()]
    );

    // A second force sign-out only counts what is still active.
    let r = app.post(&path, Some(&admin.access), json!({})).await;
    assert_eq!(r.body, json!({"revoked": 1, "disabled": false}));
    assert_revoked(&me(&app, &again.access).await, "user_sessions_revoked");
    // No body is accepted too.
    let r = app
        .request(Method::POST, &path, Some(&admin.access), None)
        .await;
    assert_eq!(
        r.body,
        json!({"revoked": 0, "disabled": false}),
        "{}",
        r.text
    );
    let _ = bob;

    let r = app
        .post(
            &format!("/v1/tenants/{T}/users/01890000-0000-7000-8000-000000000000/revoke-sessions"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    r.assert_error(404, "not_found");
    let r = app
        .post(
            &format!("/v1/tenants/{T}/users/not-a-uuid/revoke-sessions"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    r.assert_error(400, "validation_failed");
}

#[tokio::test]
async fn bulk_revoke_by_ids() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    let b = app.login(T, BOB).await;
    let c = app.login(T, CAROL).await;
    let r = bulk(
        &app,
        &admin,
        json!({"session_ids": [a.session_id, b.session_id, a.session_id, "01890000-0000-7000-8000-000000000000"], "reason": "incident 42"}),
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.body, json!({"revoked": 2}));
    for t in [&a, &b] {
        assert_revoked(&me(&app, &t.access).await, "bulk_revoked");
        app.refresh(&t.refresh)
            .await
            .assert_error(401, "session_revoked");
        let row = show(&app, &admin, &t.session_id).await.body;
        assert_eq!(row["revoked_reason"], json!("bulk_revoked"));
        assert_eq!(row["revoke_note"], json!("incident 42"));
    }
    assert_ok(&me(&app, &c.access).await);
    let r = bulk(
        &app,
        &admin,
        json!({"session_ids": [a.session_id, b.session_id]}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 0}));
    // except_current applies to explicit ids too.
    let r = bulk(
        &app,
        &admin,
        json!({"session_ids": [admin.session_id, c.session_id], "except_current": true}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
    assert_ok(&me(&app, &admin.access).await);
    assert_revoked(&me(&app, &c.access).await, "bulk_revoked");
}

#[tokio::test]
async fn ten_thousand_session_ids_fit_in_one_bulk_request() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    let mut ids: Vec<String> = (0..9_999u64)
        .map(|i| format!("01890000-0000-7000-8000-{i:012}"))
        .collect();
    ids.push(a.session_id.clone());
    let r = bulk(
        &app,
        &admin,
        json!({"session_ids": ids, "reason": "incident"}),
    )
    .await;
    assert_ok(&r);
    assert_eq!(r.body, json!({"revoked": 1}));
    assert_revoked(&me(&app, &a.access).await, "bulk_revoked");
    // One more id is a validation error naming the field; a body past the
    // route's cap is 413.
    ids.push("01890000-0000-7000-8000-999999999999".into());
    let r = bulk(&app, &admin, json!({"session_ids": ids})).await;
    r.assert_error(400, "validation_failed");
    let huge = "x".repeat(600 * 1024);
    let r = bulk(&app, &admin, json!({"session_ids": [], "reason": huge})).await;
    r.assert_error(413, "payload_too_large");
    // Other routes keep the 64 KiB cap.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({"tenant": T, "email": "x", "password": "x".repeat(70 * 1024)}),
        )
        .await;
    r.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn bulk_revoke_never_means_everything_by_accident() {
    let app = TestApp::new().await;
    let (admin, [alice, ..]) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    let sid = a.session_id.clone();
    for body in [
        json!({}),
        json!({"filter": {}}),
        json!({"session_ids": []}),
        json!({"session_ids": [sid], "filter": {"all": true}}),
        json!({"filter": {"all": false}}),
        json!({"filter": {"user_ids": []}}),
        json!({"filter": {"idle_for_secs": -1}}),
        json!({"filter": {"created_before": "yesterday"}}),
        json!({"filter": {"user_ids": ["not-a-uuid"]}}),
        json!({"session_ids": ["not-a-uuid"]}),
        json!({"filter": {"everything": true}}),
        json!({"all": true}),
        json!({"except_current": true}),
        json!({"dry_run": true}),
        json!({"reason": "no criteria"}),
        json!({"filter": {"all": true}, "reason": "x".repeat(501)}),
        json!(null),
        json!([]),
    ] {
        let r = bulk(&app, &admin, body.clone()).await;
        r.assert_error(400, "validation_failed");
        assert!(r.body["details"].is_object(), "{body}: {}", r.text);
    }
    assert_ok(&me(&app, &a.access).await);
    assert_ok(&me(&app, &admin.access).await);
    assert_eq!(items(&app, &admin, "status=revoked").await.len(), 0);
    let _ = alice;
}

#[tokio::test]
async fn bulk_dry_run_counts_exactly_what_the_real_run_revokes() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, _]) = acme(&app).await;
    let mut all = Vec::new();
    for e in [ALICE, ALICE, BOB, CAROL] {
        all.push(app.login(T, e).await);
    }
    let admin2 = app.login(T, "admin@acme.test").await;

    for (filter, want) in [
        (json!({"all": true}), 5),
        (json!({"user_ids": [alice]}), 2),
        (json!({"user_ids": [alice, bob, alice]}), 3),
        (json!({"created_before": iso(1)}), 5),
        (json!({"idle_for_secs": 0}), 5),
    ] {
        let r = bulk(
            &app,
            &admin,
            json!({"filter": filter, "except_current": true, "dry_run": true}),
        )
        .await;
        assert_ok(&r);
        assert_eq!(r.body, json!({"would_revoke": want}), "{filter}");
    }
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "dry_run": true}),
    )
    .await;
    assert_eq!(
        r.body,
        json!({"would_revoke": 6}),
        "without except_current the caller's session counts"
    );
    // Nothing changed.
    for t in all.iter().chain([&admin, &admin2]) {
        assert_ok(&me(&app, &t.access).await);
    }
    assert!(items(&app, &admin, "status=revoked").await.is_empty());

    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "except_current": true, "reason": "rotate"}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 5}));
    for t in all.iter().chain([&admin2]) {
        assert_revoked(&me(&app, &t.access).await, "bulk_revoked");
    }
    assert_ok(&me(&app, &admin.access).await);
    let rows = items(&app, &admin, "status=all").await;
    assert_eq!(rows.len(), 6);
    for r in &rows {
        if r["id"] == json!(admin.session_id) {
            assert_eq!(r["status"], json!("active"));
        } else {
            assert_eq!(r["revoked_reason"], json!("bulk_revoked"), "{r}");
            assert_eq!(r["revoke_note"], json!("rotate"), "{r}");
        }
    }
    // Now nothing is left but the caller's own session.
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "except_current": true, "dry_run": true}),
    )
    .await;
    assert_eq!(r.body, json!({"would_revoke": 0}));
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "except_current": true}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 0}));
}

#[tokio::test]
async fn bulk_by_users_revokes_only_what_is_still_active_and_audits_only_effects() {
    let app = TestApp::new().await;
    let (admin, [alice, bob, _]) = acme(&app).await;
    let a1 = app.login(T, ALICE).await;
    let a2 = app.login(T, ALICE).await;
    let b = app.login(T, BOB).await;
    assert_ok(
        &revoke(
            &app,
            &admin,
            &a1.session_id,
            json!({"reason": "lost laptop"}),
        )
        .await,
    );

    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"user_ids": [alice, bob]}, "reason": "offboard"}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 2}), "{}", r.text);
    // The earlier revocation keeps its own reason and note.
    let row = show(&app, &admin, &a1.session_id).await.body;
    assert_eq!(row["revoked_reason"], json!("admin_revoked"), "{row}");
    assert_eq!(row["revoke_note"], json!("lost laptop"), "{row}");
    for t in [&a2, &b] {
        assert_revoked(&me(&app, &t.access).await, "bulk_revoked");
    }
    // Again: nothing is active, nothing happens, nothing more is logged.
    let r = bulk(&app, &admin, json!({"filter": {"user_ids": [alice, bob]}})).await;
    assert_eq!(r.body, json!({"revoked": 0}));
    let (_, entries) = crate::audit::export(&app, T, &admin.access).await;
    let bulks: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "sessions_bulk_revoked")
        .collect();
    assert_eq!(bulks.len(), 1, "{bulks:?}");
    assert_eq!(bulks[0]["details"]["count"], json!(2));
    let mut ended: Vec<String> =
        serde_json::from_value(bulks[0]["details"]["session_ids"].clone()).unwrap();
    ended.sort();
    let mut want = vec![a2.session_id.clone(), b.session_id.clone()];
    want.sort();
    assert_eq!(ended, want);
    assert_ok(&me(&app, &admin.access).await);
}

#[tokio::test]
async fn bulk_idle_for_secs_revokes_only_idle_sessions() {
    let app = TestApp::new().await;
    let (admin, [_, _, carol]) = acme(&app).await;
    let a = app.login(T, ALICE).await; // idle since T0
    let b = app.login(T, BOB).await;
    let c = app.login(T, CAROL).await;
    app.clock.advance_secs(100);
    assert_ok(&me(&app, &c.access).await); // c: +100, flushed
    app.svc.flush_activity().await.expect("flush");
    app.clock.advance_secs(100);
    assert_ok(&me(&app, &b.access).await); // b: +200, memory only
    let d = app.login(T, "admin@acme.test").await; // d: created +200, never used
    app.clock.advance_secs(1);

    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"idle_for_secs": 150}, "dry_run": true}),
    )
    .await;
    assert_eq!(r.body, json!({"would_revoke": 1}), "{}", r.text);
    let r = bulk(&app, &admin, json!({"filter": {"idle_for_secs": 150}})).await;
    assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
    assert_revoked(&me(&app, &a.access).await, "bulk_revoked");
    for t in [&b, &c, &d, &admin] {
        assert_ok(&me(&app, &t.access).await); // all used at +201
    }
    app.svc.flush_activity().await.expect("flush");

    // c is idle 101 s on disk after the first flush but was used since, in memory only.
    app.clock.advance_secs(20);
    assert_ok(&me(&app, &c.access).await); // c: +221 in memory, +201 on disk
    app.clock.advance_secs(40); // +261
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"idle_for_secs": 50}, "dry_run": true}),
    )
    .await;
    // b and d: idle 60 s; c: 40 s (memory) though 60 s on disk.
    assert_eq!(r.body, json!({"would_revoke": 2}), "{}", r.text);
    // Combined with user_ids: only the named user's idle sessions.
    app.clock.advance_secs(30); // +291: c idle 70
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"idle_for_secs": 50, "user_ids": [carol]}}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 1}), "{}", r.text);
    assert_revoked(&me(&app, &c.access).await, "bulk_revoked");
    assert_ok(&me(&app, &b.access).await);
    assert_ok(&me(&app, &d.access).await);
}

#[tokio::test]
async fn bulk_created_before_and_except_current() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await; // admin session created at T0
    let a1 = app.login(T, ALICE).await; // T0
    app.clock.advance_secs(100);
    let a2 = app.login(T, ALICE).await; // T0+100
    let b1 = app.login(T, BOB).await; // T0+100

    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"created_before": iso(50)}, "except_current": true, "dry_run": true}),
    )
    .await;
    assert_eq!(r.body, json!({"would_revoke": 1}));
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"created_before": iso(50)}, "except_current": true}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 1}));
    assert_revoked(&me(&app, &a1.access).await, "bulk_revoked");
    for t in [&a2, &b1, &admin] {
        assert_ok(&me(&app, &t.access).await);
    }
    // created_before is exclusive: sessions created exactly then stay.
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"created_before": iso(100)}, "except_current": true, "dry_run": true}),
    )
    .await;
    assert_eq!(r.body, json!({"would_revoke": 0}));
    // Without except_current, the caller's own session goes too.
    let r = bulk(&app, &admin, json!({"filter": {"created_before": iso(50)}})).await;
    assert_eq!(r.body, json!({"revoked": 1}));
    assert_revoked(&me(&app, &admin.access).await, "bulk_revoked");
    let admin = app.login(T, "admin@acme.test").await;
    for t in [&a2, &b1] {
        assert_ok(&me(&app, &t.access).await);
    }
    // except_current with all: true keeps only the caller's session.
    let r = bulk(
        &app,
        &admin,
        json!({"filter": {"all": true}, "except_current": true}),
    )
    .await;
    assert_eq!(r.body, json!({"revoked": 2}));
    assert_ok(&me(&app, &admin.access).await);
    assert_eq!(
        ids(&items(&app, &admin, "").await),
        [admin.session_id.as_str()]
    );
}

// ------------------------------------------------------------- validation

#[tokio::test]
async fn malformed_list_parameters_are_400_naming_the_field() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let created_cursor = {
        for _ in 0..3 {
            app.login(T, ALICE).await;
        }
        let body = page(&app, &admin, "sort=created_desc&limit=1").await;
        body["next_cursor"].as_str().expect("cursor").to_owned()
    };
    let activity_cursor = page(&app, &admin, "limit=1").await["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    for (query, field) in [
        ("limit=0".to_owned(), "limit"),
        ("limit=201".to_owned(), "limit"),
        ("limit=abc".to_owned(), "limit"),
        ("limit=-1".to_owned(), "limit"),
        ("limit=".to_owned(), "limit"),
        ("cursor=garbage".to_owned(), "cursor"),
        ("cursor=%21%21".to_owned(), "cursor"),
        (format!("cursor={created_cursor}"), "cursor"),
        (
            format!("sort=created_desc&cursor={activity_cursor}"),
            "cursor",
        ),
        ("status=bogus".to_owned(), "status"),
        ("status=ACTIVE".to_owned(), "status"),
        ("sort=bogus".to_owned(), "sort"),
        ("user_id=bad".to_owned(), "user_id"),
        (format!("q={}", "x".repeat(201)), "q"),
    ] {
        let r = list_in(&app, T, &admin.access, &query).await;
        r.assert_error(400, "validation_failed");
        assert!(
            r.body["details"].get(field).is_some(),
            "{query}: details should name {field}: {}",
            r.text
        );
    }
    for ok in [
        "limit=1",
        "limit=200",
        "status=active",
        "status=revoked",
        "status=all",
        "sort=created_desc",
        "sort=last_activity_desc",
    ] {
        assert_ok(&list_in(&app, T, &admin.access, ok).await);
    }
    // A cursor made for created_desc works with created_desc.
    assert_ok(
        &list_in(
            &app,
            T,
            &admin.access,
            &format!("sort=created_desc&cursor={created_cursor}"),
        )
        .await,
    );
    assert_ok(&list_in(&app, T, &admin.access, &format!("cursor={activity_cursor}")).await);

    show(&app, &admin, "not-a-uuid")
        .await
        .assert_error(400, "validation_failed");
    revoke(&app, &admin, "not-a-uuid", json!({}))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn concurrent_revocations_count_each_session_once() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let mut targets = Vec::new();
    for e in [ALICE, BOB, CAROL, ALICE] {
        targets.push(app.login(T, e).await);
    }
    let sid = targets[0].session_id.clone();
    let one = |body: Value| {
        let (app, admin, sid) = (&app, &admin, sid.clone());
        async move { revoke(app, admin, &sid, body).await }
    };
    let all = || {
        let (app, admin) = (&app, &admin);
        async move {
            bulk(
                app,
                admin,
                json!({"filter": {"all": true}, "except_current": true}),
            )
            .await
        }
    };
    let (r1, r2, r3, r4, r5) =
        tokio::join!(one(json!({})), one(json!({})), all(), one(json!({})), all());
    let mut total = 0;
    for r in [&r1, &r2, &r3, &r4, &r5] {
        assert_ok(r);
        total += r.body["revoked"].as_u64().expect("revoked");
    }
    assert_eq!(
        total,
        4,
        "{:?}",
        [&r1.body, &r2.body, &r3.body, &r4.body, &r5.body]
    );
    for t in &targets {
        let r = me(&app, &t.access).await;
        r.assert_error(401, "session_revoked");
    }
    assert_ok(&me(&app, &admin.access).await);
}

#[tokio::test]
async fn a_shorter_idle_timeout_applies_to_the_listing_at_once() {
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let a = app.login(T, ALICE).await;
    let b = app.login(T, BOB).await;
    let policy = json!({
        "access_token_ttl_secs": 300,
        "idle_timeout_secs": 60,
        "absolute_timeout_secs": 3600,
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
    let c = app.login(T, CAROL).await;
    app.clock.advance_secs(50);
    assert_ok(&me(&app, &b.access).await); // b: +50 in memory; a: idle since T0
    assert_ok(&me(&app, &admin.access).await);
    assert_ok(&me(&app, &c.access).await);
    app.clock.advance_secs(30); // +80: a idle 80 > 60, b idle 30
    let active = ids(&items(&app, &admin, "").await);
    assert!(active.contains(&b.session_id), "{active:?}");
    assert!(!active.contains(&a.session_id), "{active:?}");
    let rows = items(&app, &admin, "status=all").await;
    assert_eq!(
        row(&rows, &a.session_id).expect("listed")["status"],
        json!("expired")
    );
    let br = row(&rows, &b.session_id).expect("listed");
    assert_eq!(br["status"], json!("active"));
    assert_eq!(br["expires_at"], json!(iso(110)));
    // The absolute timeout (1 h, for sessions created under the new policy)
    // caps expires_at: keep c alive by refreshing.
    let mut tok = c.clone();
    let mut now = 80;
    loop {
        let rr = app.refresh(&tok.refresh).await;
        assert_ok(&rr);
        tok = Tokens::from_body(&rr.body);
        if now >= 3560 {
            break;
        }
        app.clock.advance_secs(40);
        now += 40;
    }
    assert_eq!(now, 3560);
    let admin = app.login(T, "admin@acme.test").await;
    let one = show(&app, &admin, &c.session_id).await;
    assert_eq!(
        one.body["last_activity_at"],
        json!(iso(3560)),
        "{}",
        one.text
    );
    assert_eq!(one.body["expires_at"], json!(iso(3600)), "{}", one.text);
    app.clock.advance_secs(40);
    app.refresh(&tok.refresh)
        .await
        .assert_error(401, "session_expired");
    let admin = app.login(T, "admin@acme.test").await;
    let one = show(&app, &admin, &c.session_id).await;
    assert_eq!(one.body["status"], json!("expired"), "{}", one.text);
}

#[tokio::test]
async fn pagination_breaks_ties_between_equal_times() {
    // Every session created and used in the same millisecond.
    let app = TestApp::new().await;
    let (admin, _) = acme(&app).await;
    let mut want = vec![admin.session_id.clone()];
    for i in 0..20 {
        want.push(app.login(T, [ALICE, BOB, CAROL][i % 3]).await.session_id);
    }
    want.sort();
    for sort in ["last_activity_desc", "created_desc"] {
        for status in ["active", "all"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor: Option<String> = None;
            for round in 0.. {
                assert!(round < 50, "cursor loop");
                let mut q = format!("sort={sort}&status={status}&limit=3");
                if let Some(c) = &cursor {
                    q.push_str(&format!("&cursor={c}"));
                }
                let body = page(&app, &admin, &q).await;
                seen.extend(ids(body["items"].as_array().expect("items")));
                // New sessions in the same millisecond while paging.
                app.login(T, ALICE).await;
                match body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            assert_unique(&seen);
            let set: HashSet<&String> = seen.iter().collect();
            for sid in &want {
                assert!(
                    set.contains(sid),
                    "sort={sort} status={status}: {sid} missing"
                );
            }
        }
    }
}
