//! Issue 15, the incident console in a real browser: the incident story with
//! the keyboard alone (find the session by IP, open the user, end all with a
//! reason and disable, the audit entry in words with every session listed,
//! the export of that filtered view), the sessions list (total, sortable
//! headers, "revoke matching" acting on exactly the search, a toolbar on one
//! line at 1366 px), and error, empty and invalid-filter states that look
//! different (the server stopped mid-session: a banner with Retry, never an
//! empty list).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = " ";

/// The binary on a given port and data dir (so it can be stopped and started
/// again), optionally trusting X-Forwarded-For so test logins carry IPs.
/// With `trust_forwarded_for`, also the test GeoIP database
/// (fixtures/geoip-test.mmdb: 203.0.113.0/24 is Lisbon, Portugal).
fn start_on(dir: &Path, port: u16, trust_forwarded_for: bool) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessiond"));
    cmd.arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn,sessiond::server=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if trust_forwarded_for {
        cmd.env("SESSIOND_TRUST_FORWARDED_FOR", "true").env(
            "SESSIOND_GEOIP_DB",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/geoip-test.mmdb"),
        );
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && line.contains("listening on http://") {
                let _ = tx.send(());
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the server did not log `listening on http://`");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        // The data dir belongs to the caller (it outlives restarts).
        _dir: tempfile::tempdir().unwrap(),
    }
}

/// Sign a member in from `ip` (the server trusts X-Forwarded-For): their session id.
fn login_from(server: &Server, tenant: &str, email: &str, ua: &str, ip: &str) -> String {
    let mut res = agent()
        .post(&server.url("/v1/auth/login"))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .send_json(json!({"tenant": tenant, "email": email, "password": PASSWORD}))
        .unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    assert_eq!(res.status().as_u16(), 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no session_id in {v}"))
        .to_owned()
}

/// `SESSIOND_INCIDENT_SHOTS=DIR` saves a screenshot of every step there;
/// `SESSIOND_SCREENSHOTS=1` saves the README's (`doc` names) to
/// docs/screenshots/, toasts hidden.
fn shot(b: &Browser, name: &str, doc: Option<&str>) {
    let dir = std::env::var_os("SESSIOND_INCIDENT_SHOTS");
    let docs = std::env::var("SESSIOND_SCREENSHOTS").is_ok_and(|v| v == "1");
    if dir.is_none() && !(docs && doc.is_some()) {
        return;
    }
    std::thread::sleep(Duration::from_millis(300));
    if let Some(dir) = dir {
        b.screenshot(&Path::new(&dir).join(format!("{name}.png")));
    }
    if let (true, Some(doc)) = (docs, doc) {
        b.js("const t = document.getElementById('toasts'); if (t) t.style.visibility = 'hidden';");
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/screenshots/{doc}.png"));
        b.screenshot(&out);
        b.js("const t = document.getElementById('toasts'); if (t) t.style.visibility = '';");
    }
}

fn js_str(b: &Browser, script: &str) -> String {
    b.js(script).as_str().unwrap_or("").to_owned()
}

/// Press Tab until `pred` (a JS expression over `e`, the focused element) holds.
fn tab_to(b: &Browser, what: &str, pred: &str, max: usize) {
    for _ in 0..max {
        b.keys(TAB);
        if b.js(&format!(
            "const e = document.activeElement; return !!(e && ({pred}));"
        )) == json!(true)
        {
            return;
        }
    }
    b.debug_dump();
    panic!("Tab never reached {what}; focus is on {}", b.focused());
}

fn user_id_of(server: &Server, org: &Org, email: &str) -> String {
    let users = server.call(
        "GET",
        &format!("/v1/tenants/{}/users?limit=200", org.slug),
        Some(&org.admin_token),
        None,
    );
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("no user {email}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn allow_downloads(b: &Browser, dir: &Path) {
    b.cmd(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Browser.setDownloadBehavior", "params": {
            "behavior": "allow", "downloadPath": dir.to_str().unwrap(),
        }})),
    );
}

/// The one finished download in `dir` ending with `ext`.
fn downloaded(dir: &Path, ext: &str) -> (PathBuf, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        if let [one] = found.as_slice() {
            return (one.clone(), std::fs::read_to_string(one).unwrap());
        }
        assert!(found.len() < 2, "more than one .{ext} download: {found:?}");
        assert!(Instant::now() < deadline, "no .{ext} download in {dir:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_incident_story_end_to_end_with_the_keyboard_alone() {
    let Some(driver) = browser_available() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = start_on(data.path(), free_port(), true);
    let org = setup_org(&server, "incident-org");
    // Mia's laptop (the stolen one), her phone, her desktop; Noah nearby.
    let laptop = login_from(
        &server,
        &org.slug,
        "mia@x.test",
        UA_FIREFOX_LINUX,
        "203.0.113.7",
    );
    let phone = login_from(
        &server,
        &org.slug,
        "mia@x.test",
        UA_SAFARI_IPHONE,
        "198.51.100.23",
    );
    login_from(
        &server,
        &org.slug,
        "noah@x.test",
        UA_EDGE_WINDOWS,
        "203.0.113.99",
    );
    let mia = user_id_of(&server, &org, "mia@x.test");
    let mia_sessions: Vec<String> = server.call(
        "GET",
        &format!(
            "/v1/tenants/{}/sessions?user_id={mia}&status=active",
            org.slug
        ),
        Some(&org.admin_token),
        None,
    )["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(mia_sessions.len(), 3, "the seeded login plus two more");
    assert!(mia_sessions.contains(&laptop) && mia_sessions.contains(&phone));

    let b = Browser::start(&driver);
    b.resize(1366, 900);
    let downloads = tempfile::tempdir().unwrap();
    allow_downloads(&b, downloads.path());
    // Sign in with the keyboard: type, Enter.
    b.goto(&server.url("/"));
    b.fill("#signin-tenant", &org.slug);
    b.fill("#signin-email", &org_admin(&org.slug));
    b.fill("#signin-password", PASSWORD);
    b.keys(ENTER);
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.wait_js(
        "every seeded session",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 8",
        10,
    );
    // Keep the table still (test control, not part of the story: no focus moves).
    b.js("document.getElementById('sessions-auto').click()");
    // The count, exact for a small tenant.
    assert_eq!(b.text_of("#sessions-total"), "8 active sessions");
    // The toolbar stays on one line at 1366 px.
    let lines = b.js(
        "const t = document.getElementById('sessions-toolbar'); \
         return new Set(Array.from(t.children).map(c => Math.round(c.getBoundingClientRect().top))).size;",
    );
    assert_eq!(lines, json!(1), "the sessions toolbar wraps at 1366 px");
    assert_eq!(
        js_str(
            &b,
            "return document.getElementById('sessions-search').placeholder"
        ),
        "Name, email, IP or session id"
    );

    shot(&b, "1-sessions", None);
    // 1. Find the session by IP: Tab to the search, type the address.
    tab_to(&b, "the search box", "e.id === 'sessions-search'", 30);
    b.keys("203.0.113.7");
    b.wait_js(
        "the one session from that IP",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 1",
        10,
    );
    let row = b.text_of("#sessions-body tr[data-session-id]");
    assert!(row.contains("Mia Member"), "{row}");
    assert!(row.contains("203.0.113.7"), "{row}");
    assert!(row.contains("Lisbon, Portugal"), "the location: {row}");
    assert!(row.contains(&laptop[..8]), "the short session id: {row}");
    assert_eq!(
        js_str(
            &b,
            "return document.querySelector('#sessions-body tr[data-session-id]').dataset.sessionId"
        ),
        laptop
    );
    assert_eq!(b.text_of("#sessions-total"), "1 active session match");
    assert_eq!(b.text_of("#revoke-all-except-mine"), "Revoke matching");
    shot(&b, "2-search-ip", Some("incident-search-ip"));

    // 2. Open the user: Tab to the name in that row, Enter (click 1).
    tab_to(&b, "the user link", "e.dataset.role === 'user'", 25);
    assert_eq!(b.focused()["text"], "Mia Member");
    b.keys(ENTER);
    b.wait("#user-force-signout", 10);
    assert_eq!(
        js_str(&b, "return location.pathname"),
        format!("/users/{mia}")
    );
    b.wait_js(
        "Mia's sessions on her page",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 3",
        10,
    );
    let page = rows_text(&b);
    for want in [
        "203.0.113.7",
        "Lisbon, Portugal",
        "198.51.100.23",
        "127.0.0.1",
        &laptop[..8],
        &phone[..8],
    ] {
        assert!(page.contains(want), "the user page lacks {want:?}:\n{page}");
    }
    // The audit trail about her is on the page already (her sign-ins).
    b.wait("#user-audit-body tr[data-seq]", 10);
    let trail = js_str(
        &b,
        "return document.getElementById('user-audit-body').innerText",
    );
    assert!(trail.contains("Mia Member signed in"), "{trail}");
    assert!(!trail.contains("Noah"), "only entries about Mia: {trail}");
    shot(&b, "3-user", Some("incident-user"));

    // 3. End all sessions (click 2): the count first, a reason required.
    tab_to(&b, "End all sessions", "e.id === 'user-force-signout'", 10);
    b.keys(ENTER);
    b.wait("dialog[open]", 10);
    assert_eq!(b.text_of("#end-all-count"), "3 active sessions will end.");
    // Which devices, so the admin knows it is the right person.
    let devices = b.text_of("#end-all-devices");
    assert!(
        devices.contains("203.0.113.7 (Lisbon, Portugal)") && devices.contains("198.51.100.23"),
        "{devices}"
    );
    assert_eq!(b.focused()["id"], "end-all-reason");
    // Confirming without a reason does nothing but ask for one.
    tab_to(&b, "the confirm button", "e.id === 'end-all-confirm'", 4);
    assert_eq!(b.focused()["text"], "End 3 sessions");
    b.keys(ENTER);
    b.wait_js(
        "the reason error",
        "document.querySelector('dialog[open] .field-error').textContent.length > 0",
        5,
    );
    assert_eq!(b.focused()["id"], "end-all-reason");
    b.keys("stolen laptop (INC-7)");
    assert_eq!(
        b.js("return document.getElementById('end-all-reason-error').textContent"),
        json!(""),
        "the reason error goes once there is a reason"
    );
    tab_to(&b, "the disable checkbox", "e.id === 'end-all-disable'", 2);
    b.keys(SPACE);
    assert_eq!(b.focused()["checked"], json!(true));
    tab_to(&b, "the confirm button", "e.id === 'end-all-confirm'", 3);
    assert_eq!(b.focused()["text"], "End 3 sessions and disable");
    shot(&b, "4-end-all-dialog", Some("incident-end-all"));
    b.keys(ENTER); // click 3: done
    b.wait("#user-done", 10);
    assert_eq!(
        b.text_of("#user-done"),
        "Ended 3 sessions of Mia Member; the account is disabled. See it in the audit log"
    );
    b.wait_js(
        "the status to read Disabled",
        "document.getElementById('user-status').textContent === 'Disabled'",
        10,
    );
    // The server agrees: nothing of Mia is active, the account is disabled.
    let left = server.call(
        "GET",
        &format!(
            "/v1/tenants/{}/sessions?user_id={mia}&status=active",
            org.slug
        ),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(left["items"].as_array().unwrap().len(), 0, "{left}");
    let user = server.call(
        "GET",
        &format!("/v1/tenants/{}/users/{mia}", org.slug),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(user["disabled"], json!(true));
    // Noah's session from the neighbouring IP survived.
    let noah = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions?q=203.0.113.99", org.slug),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(noah["items"].as_array().unwrap().len(), 1, "{noah}");

    shot(&b, "5-user-done", None);
    // 4. The proof: focus is on the link to the audit (Enter), filtered by Mia.
    assert_eq!(b.focused()["id"], "user-done-audit");
    b.keys(ENTER);
    b.wait("#audit-body tr[data-action='user_sessions_revoked']", 10);
    assert_eq!(
        js_str(&b, "return location.pathname + location.search"),
        format!("/audit?target_user_id={mia}")
    );
    b.wait_js(
        "the About-user filter to show Mia",
        "document.getElementById('audit-target-user').selectedOptions[0].textContent.startsWith('Mia Member')",
        10,
    );
    let entry =
        b.text_of("#audit-body tr[data-action='user_sessions_revoked'] [data-role='entry-text']");
    assert_eq!(
        entry,
        "Ada Admin ended 3 sessions of Mia Member and disabled the account: stolen laptop (INC-7)"
    );
    // Not a global admin's support action: no SUPPORT badge.
    assert!(
        b.find_now("#audit-body tr[data-action='user_sessions_revoked'] .badge-support")
            .is_none()
    );
    // Only entries about Mia.
    let all = js_str(&b, "return document.getElementById('audit-body').innerText");
    assert!(!all.contains("Noah"), "{all}");
    b.wait_js(
        "the chain badge",
        "document.getElementById('chain-badge').textContent.startsWith('Chain verified')",
        10,
    );

    // 5. Export the filtered view (NDJSON, then CSV), next to the badge.
    tab_to(&b, "Export NDJSON", "e.id === 'audit-export'", 5);
    b.keys(ENTER);
    let (_, ndjson) = downloaded(downloads.path(), "ndjson");
    let lines: Vec<Value> = ndjson
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let revoked = lines
        .iter()
        .find(|e| e["action"] == "user_sessions_revoked")
        .unwrap_or_else(|| panic!("no user_sessions_revoked in the export:\n{ndjson}"));
    assert_eq!(revoked["reason"], "stolen laptop (INC-7)");
    assert_eq!(revoked["details"]["disabled"], json!(true));
    let mut want = mia_sessions.clone();
    want.sort();
    let mut exported: Vec<String> = revoked["details"]["session_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    exported.sort();
    assert_eq!(exported, want);
    // The filtered view only: no entry by or about Noah.
    assert!(!ndjson.contains("noah@x.test"), "{ndjson}");
    b.wait_js(
        "the export status",
        "document.getElementById('audit-export-status').textContent.startsWith('Exported')",
        10,
    );
    assert_eq!(
        js_str(
            &b,
            "return document.getElementById('audit-export-status').dataset.entries"
        ),
        lines.len().to_string()
    );
    tab_to(&b, "Export CSV", "e.id === 'audit-export-csv'", 2);
    b.keys(ENTER);
    let (_, csv) = downloaded(downloads.path(), "csv");
    assert_eq!(
        csv.lines().next().unwrap_or(""),
        "seq,at,actor_kind,actor_id,actor_email,action,target,reason,ip,grant_id,details,prev_hash,hash"
    );
    assert!(csv.contains("stolen laptop (INC-7)"), "{csv}");
    assert!(!csv.contains("noah@x.test"), "{csv}");

    // 6. Every ended session listed in the entry: open the list with the keyboard.
    tab_to(
        &b,
        "the session list",
        "e.tagName === 'SUMMARY' && e.closest(\"tr[data-action='user_sessions_revoked'] details[data-role='sessions']\")",
        60,
    );
    b.keys(ENTER);
    let mut listed: Vec<String> = b
        .js("return Array.from(document.querySelectorAll(\"tr[data-action='user_sessions_revoked'] details[data-role='sessions'][open] li code\")).map(c => c.textContent)")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, want, "every ended session, by full id");
    shot(&b, "6-audit", Some("incident-audit-proof"));
    if std::env::var_os("SESSIOND_INCIDENT_SHOTS").is_some() {
        b.resize(390, 844);
        shot(&b, "7-audit-phone", None);
        b.goto(&server.url(&format!("/users/{mia}")));
        b.wait("#user-audit-body tr[data-seq]", 10);
        shot(&b, "8-user-phone", None);
        b.resize(1366, 900);
    }
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn the_sessions_list_counts_sorts_and_revokes_exactly_the_search() {
    let Some(driver) = browser_available() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let server = start_on(data.path(), free_port(), true);
    let org = setup_org(&server, "matching-org");
    // Two more of Noah's, one of Olga's from the same network.
    let n1 = login_from(
        &server,
        &org.slug,
        "noah@x.test",
        UA_SAFARI_IPHONE,
        "192.0.2.10",
    );
    let n2 = login_from(
        &server,
        &org.slug,
        "noah@x.test",
        UA_FIREFOX_LINUX,
        "192.0.2.11",
    );
    let olga = login_from(
        &server,
        &org.slug,
        "olga@x.test",
        UA_FIREFOX_LINUX,
        "192.0.2.12",
    );
    let b = Browser::start(&driver);
    b.resize(1366, 900);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait_js(
        "every seeded session",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 8",
        15,
    );
    b.click_css("#sessions-auto");
    assert_eq!(b.text_of("#sessions-total"), "8 active sessions");

    // Sortable headers: buttons, with aria-sort on the sorted column.
    assert_eq!(
        js_str(
            &b,
            "return document.querySelector('th[aria-sort]').textContent.trim()"
        )
        .to_lowercase(),
        "last activity ▼"
    );
    let user_btn = "#sessions-table th button[data-sort='user']";
    b.click_css(user_btn);
    b.wait_js(
        "aria-sort on User",
        "document.querySelector(\"th[aria-sort='ascending'] button[data-sort='user']\") !== null",
        5,
    );
    let names_in_order = || -> Vec<String> {
        b.js("return Array.from(document.querySelectorAll('#sessions-body tr[data-session-id] .user-name')).map(a => a.textContent)")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    b.wait_js(
        "the rows sorted by user",
        "(() => { const n = Array.from(document.querySelectorAll('#sessions-body tr[data-session-id] .user-name')).map(a => a.textContent); return n.length === 8 && n.join('|') === [...n].sort((x, y) => x.localeCompare(y)).join('|') && n[0] !== n[7]; })()",
        10,
    );
    let asc = names_in_order();
    b.click_css(user_btn);
    b.wait_js(
        "descending",
        "document.querySelector(\"th[aria-sort='descending'] button[data-sort='user']\") !== null",
        5,
    );
    b.wait_js(
        "the rows reversed",
        &format!(
            "Array.from(document.querySelectorAll('#sessions-body tr[data-session-id] .user-name'))[0].textContent === {}",
            json!(asc.last().unwrap())
        ),
        10,
    );
    // Only one column is marked sorted.
    assert_eq!(
        b.js("return document.querySelectorAll('th[aria-sort]').length"),
        json!(1)
    );

    // A sort the server refuses (too many matches) says why and keeps the
    // table in the order it really has. (The refusal is staged in the page:
    // it needs more than 10,000 sessions.)
    b.js(
        "window.__fetch = window.fetch; window.fetch = (url, opts) => String(url).includes('sort=ip_') \
           ? Promise.resolve(new Response(JSON.stringify({error: 'validation_failed', message: 'the request is invalid', \
               retryable: false, details: {sort: 'more than 10000 sessions match: narrow the search to sort by IP address'}}), \
               {status: 400, headers: {'content-type': 'application/json'}})) \
           : window.__fetch(url, opts);",
    );
    b.click_css("#sessions-table th button[data-sort='ip']");
    b.wait("#sessions-error[data-state='invalid']", 10);
    let refusal = b.text_of("#sessions-error");
    assert!(
        refusal.starts_with("Cannot sort by IP address: "),
        "{refusal}"
    );
    assert!(
        refusal.contains("narrow the search to sort by IP address"),
        "{refusal}"
    );
    assert!(
        b.find_now("th[aria-sort] button[data-sort='user']")
            .is_some(),
        "aria-sort stays on the order the rows really have"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#sessions-body tr[data-session-id]').length"),
        json!(8)
    );
    // A huge tenant answers an estimate: "about".
    b.js(
        "window.fetch = async (url, opts) => { const r = await window.__fetch(url, opts); \
           if (!String(url).includes('/sessions?')) return r; const j = await r.json(); \
           delete j.total; j.total_estimate = 1234567; \
           return new Response(JSON.stringify(j), {status: 200, headers: {'content-type': 'application/json'}}); };",
    );
    b.click_css("#sessions-refresh");
    b.wait_js(
        "the estimate",
        "document.getElementById('sessions-total').textContent === 'about 1.2M active sessions'",
        10,
    );
    assert!(b.find_now("#sessions-error:not([hidden])").is_none());
    b.js("window.fetch = window.__fetch;");
    b.click_css("#sessions-refresh");
    b.wait_js(
        "the exact count again",
        "document.getElementById('sessions-total').textContent === '8 active sessions'",
        10,
    );

    // The short id's Copy button copies the whole id.
    for perm in ["clipboard-read", "clipboard-write"] {
        b.cmd(
            "POST",
            "/permissions",
            Some(json!({"descriptor": {"name": perm}, "state": "granted"})),
        );
    }
    let first = js_str(
        &b,
        "return document.querySelector('#sessions-body tr[data-session-id]').dataset.sessionId",
    );
    b.click_css("#sessions-body tr[data-session-id] .cell-sid button[data-role='copy']");
    b.wait_js(
        "Copied",
        "document.querySelector(\"#sessions-body tr[data-session-id] .cell-sid button[data-role='copy']\").textContent === 'Copied'",
        5,
    );
    assert_eq!(
        b.js("return navigator.clipboard.readText()"),
        json!(first),
        "the clipboard holds the full session id"
    );

    // Search by IP prefix: the three sessions from 192.0.2.*.
    b.fill("#sessions-search", "192.0.2.");
    b.wait_js(
        "the three from that network",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 3",
        10,
    );
    // Search by a session-id prefix: exactly that session. (UUIDv7: the
    // first 8 characters are the minute it began, shared by all of these.)
    b.fill("#sessions-search", &n1[..18]);
    b.wait_js(
        "the session by id prefix",
        &format!(
            "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 1 && document.querySelector('#sessions-body tr').dataset.sessionId === '{n1}'"
        ),
        10,
    );
    // By name: Noah's three; "Revoke matching" ends exactly those.
    b.fill("#sessions-search", "noah");
    b.wait_js(
        "Noah's sessions",
        "document.querySelectorAll('#sessions-body tr[data-session-id]').length === 3",
        10,
    );
    assert_eq!(b.text_of("#revoke-all-except-mine"), "Revoke matching");
    b.click_css("#revoke-all-except-mine");
    b.wait("dialog[open]", 10);
    assert_eq!(
        b.text_of("#bulk-count"),
        "3 active sessions will be revoked."
    );
    let dlg = b.text_of("dialog[open]");
    assert!(dlg.contains("“noah”"), "{dlg}");
    b.fill("dialog[open] textarea", "noah's devices (INC-8)");
    assert_eq!(
        b.text_of("dialog[open] button.btn-danger"),
        "Revoke 3 sessions"
    );
    b.click_css("dialog[open] button.btn-danger");
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        5,
    );
    b.wait_js(
        "three revoked rows",
        "document.querySelectorAll(\"#sessions-body tr[data-status='revoked']\").length === 3",
        10,
    );
    let all = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions?status=all&limit=200", org.slug),
        Some(&org.admin_token),
        None,
    );
    let items = all["items"].as_array().unwrap();
    let revoked: Vec<&str> = items
        .iter()
        .filter(|s| s["status"] == "revoked")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(revoked.len(), 3, "{all}");
    assert!(revoked.contains(&n1.as_str()) && revoked.contains(&n2.as_str()));
    assert!(
        items
            .iter()
            .filter(|s| s["status"] == "revoked")
            .all(|s| s["user"]["email"] == "noah@x.test"),
        "only Noah's: {all}"
    );
    assert!(
        items
            .iter()
            .any(|s| s["id"] == olga.as_str() && s["status"] == "active"),
        "Olga's session from the same network survived"
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn a_stopped_server_is_an_error_with_retry_never_an_empty_list() {
    let Some(driver) = browser_available() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start_on(data.path(), port, false);
    let org = setup_org(&server, "down-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css("#sessions-auto");

    // At 1280 px every column fits: no sideways scrolling to reach Revoke.
    shot(&b, "sessions-1280", None);
    assert_eq!(
        b.js("const w = document.getElementById('sessions-table').closest('.table-wrap'); return w.scrollWidth <= w.clientWidth;"),
        json!(true),
        "the sessions table scrolls sideways at 1280 px"
    );

    // Empty is its own picture: a search that matches nothing.
    b.fill("#sessions-search", "nobody-here");
    b.wait("#sessions-body tr[data-state='empty']", 10);
    assert_eq!(
        b.text_of("#sessions-body tr[data-state='empty'] .empty-title"),
        "No sessions match “nobody-here”."
    );
    assert!(b.find_now("#sessions-error:not([hidden])").is_none());
    b.fill("#sessions-search", "");
    b.wait("#sessions-body tr[data-session-id]", 10);

    // Stop the server mid-session.
    let _ = server.child.kill();
    let _ = server.child.wait();

    // A refresh: a banner with Retry; the old rows stay, marked as old.
    b.click_css("#sessions-refresh");
    b.wait("#sessions-error[data-state='error']", 10);
    let banner = b.text_of("#sessions-error");
    assert!(banner.contains("Could not load the sessions"), "{banner}");
    assert!(banner.contains("could not be reached"), "{banner}");
    assert!(banner.contains("may be out of date"), "{banner}");
    assert!(
        b.find_now("#sessions-error button[data-role='retry']")
            .is_some()
    );
    assert!(
        b.find_now("#sessions-body tr[data-state='empty']")
            .is_none()
    );

    shot(&b, "down-stale", None);

    // Other screens, reached without reloading: errors, not empty lists.
    b.click_css(".nav a[href='/users']");
    b.wait("#users-error[data-state='error']", 10);
    assert!(b.find_now("#users-body tr[data-state='empty']").is_none());
    assert_eq!(
        b.js("return document.getElementById('users-wrap').hidden"),
        json!(true),
        "no empty users table"
    );
    b.click_css(".nav a[href='/audit']");
    b.wait("#audit-error[data-state='error']", 10);
    assert!(b.find_now("#audit-body tr[data-state='empty']").is_none());

    // Loading is a third picture: neither empty nor an error. (The answer is
    // held back in the page while the server is down.)
    b.js(
        "window.__fetch = window.fetch; window.fetch = (url, opts) => String(url).includes('/users?') \
           ? new Promise(() => {}) : window.__fetch(url, opts);",
    );
    b.click_css(".nav a[href='/users']");
    b.wait("#users-body tr[data-state='loading']", 10);
    assert!(b.find_now("#users-body tr[data-state='empty']").is_none());
    assert!(b.find_now("#users-error:not([hidden])").is_none());
    b.js("window.fetch = window.__fetch;");

    // Back to Sessions: nothing loaded at all, so no table, only the banner.
    b.click_css(".nav a[href='/sessions']");
    b.wait("#sessions-error[data-state='error']", 10);
    let text = js_str(&b, "return document.getElementById('main').innerText");
    assert!(!text.contains("No active sessions"), "{text}");
    assert_eq!(
        b.js("return document.getElementById('sessions-table').closest('.table-wrap').hidden"),
        json!(true)
    );

    shot(&b, "down-fresh", None);
    // The server comes back; Retry shows the sessions again.
    server = start_on(data.path(), port, false);
    b.click_css("#sessions-error button[data-role='retry']");
    b.wait("#sessions-body tr[data-session-id]", 15);
    assert_eq!(
        b.js("return document.getElementById('sessions-error').hidden"),
        json!(true)
    );

    // An invalid filter says why: From after To on the audit log.
    b.click_css(".nav a[href='/audit']");
    b.wait("#audit-body tr[data-seq]", 10);
    b.js(
        "const s = document.getElementById('audit-since'); s.value = '2026-12-05T10:00'; \
          const u = document.getElementById('audit-until'); u.value = '2026-12-01T10:00';",
    );
    b.click_css("#audit-apply");
    b.wait_js(
        "the inline error",
        "document.getElementById('audit-until-error').textContent.length > 0",
        5,
    );
    assert!(
        b.text_of("#audit-until-error").contains("before “From”"),
        "{}",
        b.text_of("#audit-until-error")
    );
    assert!(b.find_now("#audit-body tr[data-state='empty']").is_none());
    assert_eq!(
        b.js("return document.getElementById('audit-body').closest('.table-wrap').hidden"),
        json!(true),
        "no empty list for an impossible range"
    );
    shot(&b, "audit-range", None);
    // Clearing the dates brings the entries back.
    b.js(
        "const s = document.getElementById('audit-since'); s.value = ''; \
          const u = document.getElementById('audit-until'); u.value = '';",
    );
    b.click_css("#audit-apply");
    b.wait("#audit-body tr[data-seq]", 10);
    // A filter only the server can refuse (an in-app link with the range
    // reversed): its message, on the field it names, and no list.
    b.js(
        "history.pushState(null, '', '/audit?since=2026-12-05T10:00:00.000Z&until=2026-12-01T10:00:00.000Z'); \
         window.dispatchEvent(new PopStateEvent('popstate'));",
    );
    b.wait("#audit-error[data-state='invalid']", 15);
    let refused = b.text_of("#audit-error");
    assert!(
        refused.starts_with("The server refused this filter: "),
        "{refused}"
    );
    assert!(refused.contains("until"), "{refused}");
    assert!(
        !b.text_of("#audit-until-error").is_empty(),
        "the field the server named"
    );
    assert!(b.find_now("#audit-body tr[data-state='empty']").is_none());
    assert_eq!(
        b.js("return document.getElementById('audit-body').closest('.table-wrap').hidden"),
        json!(true)
    );
    drop(server);
}

#[test]
fn audit_entries_read_in_words_and_only_support_actions_carry_the_badge() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "words-org");
    let t = &org.slug;
    let tok = Some(org.admin_token.as_str());
    let noah = user_id_of(&server, &org, "noah@x.test");
    let olga = user_id_of(&server, &org, "olga@x.test");
    let mia = user_id_of(&server, &org, "mia@x.test");
    // The org admin disables Noah, promotes Olga, ends one of Mia's sessions.
    server.call(
        "PATCH",
        &format!("/v1/tenants/{t}/users/{noah}"),
        tok,
        Some(json!({"disabled": true})),
    );
    server.call(
        "PATCH",
        &format!("/v1/tenants/{t}/users/{olga}"),
        tok,
        Some(json!({"role": "org_admin"})),
    );
    let mia_sid = server.call(
        "GET",
        &format!("/v1/tenants/{t}/sessions?user_id={mia}"),
        tok,
        None,
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.call(
        "POST",
        &format!("/v1/tenants/{t}/sessions/revoke"),
        tok,
        Some(json!({"session_ids": [mia_sid], "reason": "phishing (INC-9)"})),
    );
    // A global admin in a support session ends Sam's session.
    let sam = server.login(t, "second@x.test", UA_EDGE_WINDOWS);
    let sam_sid = sam["session_id"].as_str().unwrap().to_owned();
    server.call(
        "POST",
        &format!("/v1/tenants/{t}/support-grants"),
        tok,
        Some(json!({"grantee_email": ADMIN_EMAIL, "duration_secs": 1800, "reason": "ticket 9"})),
    );
    let platform = server.platform_token();
    let support = server.call(
        "POST",
        &format!("/v1/platform/tenants/{t}/support-sessions"),
        Some(&platform),
        None,
    );
    let support_tok = support["access_token"].as_str().unwrap().to_owned();
    server.call(
        "POST",
        &format!("/v1/tenants/{t}/sessions/{sam_sid}/revoke"),
        Some(&support_tok),
        Some(json!({"reason": "support cleanup"})),
    );

    let b = Browser::start(&driver);
    b.sign_in_org(&server, t, &org_admin(t));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css(".nav a[href='/audit']");
    b.wait("#audit-body tr[data-seq]", 10);
    let text_of_action = |action: &str| -> String {
        b.wait(
            &format!("#audit-body tr[data-action='{action}'] [data-role='entry-text']"),
            10,
        );
        b.text_of(&format!(
            "#audit-body tr[data-action='{action}'] [data-role='entry-text']"
        ))
    };
    b.wait_js(
        "names resolved",
        "!document.getElementById('audit-body').innerText.includes('user 0')",
        10,
    );
    let all = js_str(&b, "return document.getElementById('audit-body').innerText");
    for want in [
        "Ada Admin disabled Noah Member’s account, ending 1 session",
        "Ada Admin made Olga Member an org admin",
        "Ada Admin ended 1 session of Mia Member: phishing (INC-9)",
        "Mia Member signed in with Firefox 127 on Linux",
        "Ada Admin granted support access to root@platform.test",
    ] {
        assert!(all.contains(want), "the audit log lacks {want:?}:\n{all}");
    }
    // The support session's own revocation, in words, with the badge.
    let support_entry = b
        .js("return Array.from(document.querySelectorAll(\"#audit-body tr[data-action='session_revoked']\")).map(r => r.querySelector(\"[data-role='entry-text']\").innerText)")
        .to_string();
    assert!(
        support_entry.contains("root@platform.test ended a session of Sam Second: support cleanup"),
        "{support_entry}"
    );
    // The badge is on exactly the entries done with a support grant.
    let audit = server.call(
        "GET",
        &format!("/v1/tenants/{t}/audit?limit=200"),
        tok,
        None,
    );
    let mut with_grant: Vec<u64> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["grant_id"].is_null())
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    with_grant.sort_unstable();
    assert!(
        with_grant.len() >= 2,
        "support start and the revocation: {audit}"
    );
    let mut badged: Vec<u64> = b
        .js("return Array.from(document.querySelectorAll('#audit-body tr[data-seq]')).filter(r => r.querySelector('.badge-support')).map(r => Number(r.dataset.seq))")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    badged.sort_unstable();
    assert_eq!(badged, with_grant);
    assert!(
        b.find_now("#audit-body tr[data-action='user_updated'] .badge-support")
            .is_none(),
        "the org admin's own actions carry no SUPPORT badge"
    );
    assert!(
        text_of_action("support_session_started")
            .starts_with("root@platform.test started a support session")
    );

    // Filter by session id: the entries about Mia's ended session only.
    b.fill("#audit-session", &mia_sid);
    b.click_css("#audit-apply");
    b.wait_js(
        "the session filter",
        "location.search.includes('session_id=')",
        5,
    );
    b.wait_js(
        "only that session's entries",
        "(() => { const a = Array.from(document.querySelectorAll('#audit-body tr[data-seq]')).map(r => r.dataset.action).sort().join(','); return a === 'login,sessions_bulk_revoked'; })()",
        10,
    );
    // Done by (actor): what Mia did herself, not what was done to her.
    b.fill("#audit-session", "");
    b.js(&format!(
        "const a = document.getElementById('audit-actor'); a.value = '{mia}'; a.dispatchEvent(new Event('change'));"
    ));
    b.click_css("#audit-apply");
    b.wait_js(
        "only Mia's own actions",
        "(() => { const r = Array.from(document.querySelectorAll('#audit-body tr[data-seq]')); \
           return r.length > 0 && r.every(x => x.dataset.action === 'login' && x.innerText.includes('Mia Member signed in')); })()",
        10,
    );
    b.js("const a = document.getElementById('audit-actor'); a.value = '';");
    // A malformed session id is refused inline, before any request.
    b.fill("#audit-session", "not-a-session");
    b.click_css("#audit-apply");
    b.wait_js(
        "the inline error",
        "document.getElementById('audit-session-error').textContent.includes('36 characters')",
        5,
    );

    // Bulk parts sharing a bulk_id are one logical entry (the grouping, in
    // this page's own module).
    let grouped = b.js(
        "return import('/views/audit.js').then(m => { \
           const part = (seq, part, ids) => ({seq, at: '2026-12-01T10:00:00Z', action: 'sessions_bulk_revoked', \
             actor: {kind: 'user', id: null, email: 'ada@x.test'}, reason: 'credential leak', target: null, ip: null, grant_id: null, \
             details: {bulk_id: 'b1', part, parts: 3, count: ids.length, session_ids: ids, criteria: {filter: {all: true}, except_current: true}}}); \
           const other = {seq: 1, at: '2026-12-01T09:00:00Z', action: 'logout', actor: {kind: 'user', id: null, email: 'mia@x.test'}, details: null}; \
           const g = m.groupEntries([part(12, 3, ['c']), part(11, 2, ['b1', 'b2']), part(10, 1, ['a']), other]); \
           return {n: g.length, text: m.entryText(g[0], new m.Names('x')), ids: g[0].details.session_ids, parts: g[0].parts.length}; })",
    );
    assert_eq!(grouped["n"], json!(2), "{grouped}");
    assert_eq!(grouped["parts"], json!(3), "{grouped}");
    assert_eq!(grouped["ids"], json!(["a", "b1", "b2", "c"]), "{grouped}");
    assert_eq!(
        grouped["text"],
        json!(
            "ada@x.test ended 4 sessions across the organization (all but their own): credential leak"
        )
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}
