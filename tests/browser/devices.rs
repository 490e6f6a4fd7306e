//! Issue 16 in a real browser: a member signs in to the console and sees
//! only their own devices (never the organization's sessions), signs out
//! another device and all other devices with the keyboard, and this one;
//! the policy's session limit round-trips through the policy screen, and a
//! sign-in past a `refuse` limit says so in words.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// The binary trusting X-Forwarded-For, with the test GeoIP database
/// (fixtures/geoip-test.mmdb: 203.0.113.0/24 is Lisbon, Portugal).
fn start_with_geoip() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn,sessiond::server=info")
        .env("SESSIOND_TRUST_FORWARDED_FOR", "true")
        .env(
            "SESSIOND_GEOIP_DB",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/geoip-test.mmdb"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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
        _dir: dir,
    }
}

/// A login through the API from `ip` with `ua`: (session id, access token).
fn login_from(server: &Server, tenant: &str, email: &str, ua: &str, ip: &str) -> (String, String) {
    let mut res = agent()
        .post(&server.url("/v1/auth/login"))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip)
        .send_json(json!({"tenant": tenant, "email": email, "password": PASSWORD}))
        .unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    assert_eq!(res.status().as_u16(), 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    (
        v["session_id"].as_str().unwrap().to_owned(),
        v["access_token"].as_str().unwrap().to_owned(),
    )
}

/// GET `path` with `token`: (HTTP status, body), whatever the status.
fn get_status(server: &Server, path: &str, token: &str) -> (u16, Value) {
    let mut res = agent()
        .get(&server.url(path))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `SESSIOND_INCIDENT_SHOTS=DIR` saves a screenshot of each step there.
fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SESSIOND_INCIDENT_SHOTS") {
        std::thread::sleep(Duration::from_millis(300));
        b.screenshot(&Path::new(&dir).join(format!("{name}.png")));
    }
}

fn js_str(b: &Browser, script: &str) -> String {
    b.js(script).as_str().unwrap_or("").to_owned()
}

fn device_ids(b: &Browser) -> Vec<String> {
    b.js("return Array.from(document.querySelectorAll('#devices-body tr[data-session-id]')).map(r => r.dataset.sessionId)")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect()
}

fn wait_no_dialog(b: &Browser) {
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        10,
    );
}

/// Sign in with the keyboard: type into the fields, Enter submits.
fn sign_in_by_keyboard(b: &Browser, server: &Server, tenant: &str, email: &str) {
    b.goto(&server.url("/"));
    b.wait("#signin-tenant", 15);
    b.wait_js(
        "the organization field focused",
        "document.activeElement && document.activeElement.id === 'signin-tenant'",
        5,
    );
    b.keys(tenant);
    b.keys(TAB);
    b.keys(email);
    b.keys(TAB);
    b.keys(PASSWORD);
    b.keys(ENTER);
}

#[test]
fn a_member_sees_only_their_devices_and_signs_them_out() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = start_with_geoip();
    let org = setup_org(&server, "devices-org");
    // Mia (a member) holds one session from setup (Firefox on Linux, no
    // place); two more from known devices and places.
    let (phone, phone_token) = login_from(
        &server,
        &org.slug,
        "mia@x.test",
        UA_SAFARI_IPHONE,
        "203.0.113.7",
    );
    let (laptop, laptop_token) = login_from(
        &server,
        &org.slug,
        "mia@x.test",
        UA_EDGE_WINDOWS,
        "198.51.100.4",
    );

    let b = Browser::start(&driver);
    sign_in_by_keyboard(&b, &server, &org.slug, "mia@x.test");
    b.wait("#devices-body tr[data-session-id]", 15);
    assert_eq!(js_str(&b, "return location.pathname"), "/devices");
    b.wait_js(
        "all four of Mia's devices",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 4",
        10,
    );
    // The member's nav is this page alone; no admin screen is offered.
    let nav: Vec<String> = b
        .js("return Array.from(document.querySelectorAll('#nav-list a')).map(a => a.getAttribute('href'))")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(nav, ["/devices"]);
    assert_eq!(b.text_of("#nav-list a"), "Your devices");

    // Each device in words: browser, OS, IP, place; "This device" on this one.
    let table = b.text_of("#devices-body");
    for want in [
        "Safari 17.5",
        "iPhone",
        "Edge 126",
        "Windows 10/11",
        "Firefox 127",
        "Linux",
        "203.0.113.7",
        "Lisbon, Portugal",
        "198.51.100.4",
    ] {
        assert!(table.contains(want), "devices lack {want:?}:\n{table}");
    }
    let current: Vec<String> = b
        .js("return Array.from(document.querySelectorAll('#devices-body tr.row-current')).map(r => r.dataset.sessionId)")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(current.len(), 1, "exactly one current device");
    let here = current[0].clone();
    assert_ne!(here, phone);
    assert_ne!(here, laptop);
    assert!(
        b.text_of("tr.row-current")
            .to_lowercase()
            .contains("this device"),
        "the current row is marked"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#devices-this').length"),
        json!(1)
    );
    shot(&b, "devices-member");
    // Nobody else's session is on the page.
    let page = js_str(&b, "return document.body.innerText");
    for other in ["Noah", "noah@x.test", "Olga", "Ada Admin"] {
        assert!(!page.contains(other), "{other:?} on the member's page");
    }

    // The admin screens are not reachable: /sessions lands on the devices page.
    b.goto(&server.url("/sessions"));
    b.wait("#devices-body tr[data-session-id]", 15);
    assert_eq!(js_str(&b, "return location.pathname"), "/devices");
    assert!(b.find_now("#sessions-body").is_none());
    let page = js_str(&b, "return document.body.innerText");
    assert!(!page.contains("Noah"), "{page}");
    // In-app navigation too (a crafted link).
    b.js("history.pushState(null, '', '/users'); window.dispatchEvent(new PopStateEvent('popstate'));");
    b.wait_js(
        "back on the devices page",
        "location.pathname === '/devices' && document.getElementById('devices-body')",
        10,
    );
    assert!(b.find_now("#users-body").is_none());

    // Sign out the phone with the keyboard: Tab to its button, Enter, Tab to
    // the confirm button (Cancel has the focus first), Enter.
    b.wait_js(
        "four devices again",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 4",
        10,
    );
    b.js("document.getElementById('devices-refresh').focus()");
    let target = format!(
        "e.dataset.role === 'sign-out' && e.closest('tr') && e.closest('tr').dataset.sessionId === '{phone}'"
    );
    let mut reached = false;
    for _ in 0..30 {
        b.keys(TAB);
        if b.js(&format!(
            "const e = document.activeElement; return !!(e && ({target}));"
        )) == json!(true)
        {
            reached = true;
            break;
        }
    }
    assert!(
        reached,
        "Tab never reached the phone's Sign out; focus on {}",
        b.focused()
    );
    b.keys(ENTER);
    b.wait("dialog[open]", 5);
    let dlg = b.text_of("dialog[open]");
    shot(&b, "devices-sign-out-one");
    assert!(dlg.contains("Safari 17.5"), "{dlg}");
    assert!(dlg.contains("203.0.113.7"), "{dlg}");
    assert!(
        b.find_now("#devices-dialog-current").is_none(),
        "another device's dialog does not warn about signing out here"
    );
    assert_eq!(b.focused()["text"], json!("Cancel"));
    b.keys(TAB);
    assert_eq!(b.focused()["text"], json!("Sign out device"));
    b.keys(ENTER);
    wait_no_dialog(&b);
    b.wait_js(
        "the phone gone from the list",
        &format!(
            "!document.querySelector(\"#devices-body tr[data-session-id='{phone}']\") && document.querySelectorAll('#devices-body tr[data-session-id]').length === 3"
        ),
        10,
    );
    // Focus stays in the list, on a Sign out button.
    assert_eq!(b.focused()["role"], json!("sign-out"));
    // The phone's token is refused, and the session ended as "signed out from another device".
    let (status, body) = get_status(&server, "/v1/auth/sessions", &phone_token);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "session_revoked", "{body}");
    assert_eq!(body["revoked_reason"], "user_revoked_other", "{body}");
    let (status, _) = get_status(&server, "/v1/auth/sessions", &laptop_token);
    assert_eq!(status, 200, "the laptop is still signed in");

    // Sign out all other devices: the dialog counts the two that remain.
    b.click_css("#devices-sign-out-others");
    b.wait("dialog[open]", 5);
    shot(&b, "devices-sign-out-others");
    let count = b.text_of("#devices-others-count");
    assert!(
        count.starts_with("2 other devices"),
        "the count of other devices: {count}"
    );
    let listed = b.text_of("#devices-others-list");
    assert!(
        listed.contains("Edge 126") && listed.contains("Firefox 127"),
        "{listed}"
    );
    assert!(
        !listed.contains("Safari"),
        "the phone is already gone: {listed}"
    );
    assert_eq!(b.text_of("dialog[open] .btn-danger"), "Sign out 2 devices");
    b.click_css("dialog[open] .btn-danger");
    wait_no_dialog(&b);
    b.wait_js(
        "only this device left",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 1",
        10,
    );
    assert_eq!(device_ids(&b), vec![here.clone()]);
    assert_eq!(
        b.js("return document.getElementById('devices-sign-out-others').disabled"),
        json!(true),
        "nothing else to sign out"
    );
    assert!(b.text_of("#devices-note").contains("only device"));
    shot(&b, "devices-only-this");
    let (status, body) = get_status(&server, "/v1/auth/sessions", &laptop_token);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["revoked_reason"], "user_revoked_other", "{body}");
    // The browser's own session is still good (the list reloads from the server).
    b.click_css("#devices-refresh");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(device_ids(&b), vec![here.clone()]);

    // Signing out "This device" asks first, then ends the console session.
    b.click_css("tr.row-current button[data-role='sign-out']");
    b.wait("dialog[open]", 5);
    assert!(
        b.text_of("#devices-dialog-current")
            .contains("signed out of the console")
    );
    b.click_css("dialog[open] .btn-danger");
    b.wait("#signin-notice", 10);
    assert!(b.text_of("#signin-notice").contains("You signed out"));
    let s = server.call(
        "GET",
        &format!("/v1/tenants/{}/sessions/{here}", org.slug),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(s["status"], "revoked", "{s}");
    assert_eq!(s["revoked_reason"], "user_logout", "{s}");
    // The cookie went with it: a reload stays on the sign-in screen.
    b.goto(&server.url("/devices"));
    b.wait("#signin-tenant", 15);
    assert!(b.find_now("#devices-body").is_none());
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn an_org_admin_finds_their_devices_a_failed_load_offers_retry_and_phones_fit() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "admin-devices");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    // The admin screens and, last, their own devices.
    assert!(b.find_now(".nav a[href='/sessions']").is_some());
    b.click_css(".nav a[href='/devices']");
    b.wait("#devices-body tr[data-session-id]", 15);
    // Their own two sessions (setup's API login and this browser), nobody else's.
    b.wait_js(
        "the admin's two devices",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 2",
        10,
    );
    let table = b.text_of("#devices-body");
    assert!(table.contains("Edge 126"), "{table}");
    assert!(!table.contains("Firefox"), "a member's device: {table}");
    assert_eq!(
        b.js("return document.querySelector('.nav a[aria-current=page]').getAttribute('href')"),
        json!("/devices")
    );
    // A failed load is an error with Retry (the list kept, said to be
    // possibly out of date), not an empty list; Retry brings it back.
    b.js("window.__fetch = window.fetch; window.fetch = (u, o) => String(u).startsWith('/v1/auth/sessions') ? Promise.reject(new TypeError('offline')) : window.__fetch(u, o);");
    b.click_css("#devices-refresh");
    b.wait("#devices-state [data-state='error']", 10);
    let err = b.text_of("#devices-state");
    assert!(err.contains("could not be reached"), "{err}");
    assert!(err.contains("may be out of date"), "{err}");
    assert!(b.find_now("#devices-state [data-state='empty']").is_none());
    assert_eq!(
        b.js("return document.querySelectorAll('#devices-body tr[data-session-id]').length"),
        json!(2)
    );
    b.js("window.fetch = window.__fetch;");
    b.click_css("#devices-state button[data-role='retry']");
    b.wait_js(
        "the error gone",
        "!document.querySelector('#devices-state [data-state]')",
        10,
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#devices-body tr[data-session-id]').length"),
        json!(2)
    );

    // Phone width: each device is a card whose Sign out stays on screen.
    b.resize(390, 844);
    std::thread::sleep(Duration::from_millis(300));
    shot(&b, "devices-phone");
    let right = b.js(
        "return Math.max(...Array.from(document.querySelectorAll(\"#devices-body button[data-role='sign-out']\")).map(e => e.getBoundingClientRect().right))",
    );
    let width = b.js("return document.documentElement.clientWidth");
    assert!(
        right.as_f64().unwrap() <= width.as_f64().unwrap(),
        "Sign out off screen: {right} > {width}"
    );
}

#[test]
fn the_session_limit_round_trips_and_a_refused_sign_in_says_why() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "limit-org");
    let policy_path = format!("/v1/tenants/{}/policy", org.slug);
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css(".nav a[href='/policy']");
    b.wait_js(
        "the policy",
        "document.getElementById('policy-max_sessions_per_user').value !== ''",
        10,
    );
    // The default: 0, shown as unlimited; the action has no effect then.
    assert_eq!(
        b.js("return document.getElementById('policy-max_sessions_per_user').value"),
        json!("0")
    );
    assert!(
        b.text_of("#policy-max_sessions_per_user-meaning")
            .contains("unlimited")
    );
    assert_eq!(
        b.js("return document.getElementById('policy-session_limit_action').value"),
        json!("evict_oldest")
    );
    assert!(
        b.text_of("#policy-session_limit_action-note")
            .contains("No effect")
    );
    // Out of range is refused in words.
    b.fill("#policy-max_sessions_per_user", "1001");
    b.wait_js(
        "the range error",
        "document.getElementById('policy-max_sessions_per_user-error').textContent.includes('between 0 and 1000')",
        5,
    );
    assert_eq!(
        b.js("return document.getElementById('policy-save').disabled"),
        json!(true)
    );

    // 3 sessions, refuse: the action chosen with the keyboard (type-ahead).
    b.fill("#policy-max_sessions_per_user", "3");
    b.wait_js(
        "the meaning of 3",
        "document.getElementById('policy-max_sessions_per_user-meaning').textContent.includes('sessions at a time')",
        5,
    );
    b.js("document.getElementById('policy-session_limit_action').focus()");
    b.keys("R");
    b.wait_js(
        "refuse chosen",
        "document.getElementById('policy-session_limit_action').value === 'refuse'",
        5,
    );
    assert!(
        b.text_of("#policy-session_limit_action-note")
            .contains("the sign-in is refused")
    );
    shot(&b, "policy-limit");
    // Unsaved: leaving asks and names both changes; stay.
    b.click_css(".nav a[href='/sessions']");
    b.wait("dialog[open]", 5);
    let what = b.text_of("#leave-what");
    assert!(what.contains("Sessions per user"), "{what}");
    assert!(what.contains("When the limit is reached"), "{what}");
    b.click_css("dialog[open] button[value='cancel']");
    wait_no_dialog(&b);
    assert_eq!(js_str(&b, "return location.pathname"), "/policy");

    // Save: the API has 3 / refuse, and the rest of the policy is unchanged.
    b.click_css("#policy-save");
    b.wait_js(
        "the save",
        "document.querySelector('form.policy-form').dataset.dirty === 'false'",
        10,
    );
    let p = server.call("GET", &policy_path, Some(&org.admin_token), None);
    assert_eq!(p["max_sessions_per_user"], json!(3), "{p}");
    assert_eq!(p["session_limit_action"], json!("refuse"), "{p}");
    assert_eq!(p["idle_timeout_secs"], json!(1800), "{p}");
    // Shown back from the server after a reload.
    b.goto(&server.url("/policy"));
    b.wait_js(
        "the policy again",
        "document.getElementById('policy-max_sessions_per_user') && document.getElementById('policy-max_sessions_per_user').value !== ''",
        15,
    );
    assert_eq!(
        b.js("return document.getElementById('policy-max_sessions_per_user').value"),
        json!("3")
    );
    assert_eq!(
        b.js("return document.getElementById('policy-session_limit_action').value"),
        json!("refuse")
    );

    // Mia holds one session (setup); two more make three, the limit.
    server.login(&org.slug, "mia@x.test", UA_SAFARI_IPHONE);
    server.login(&org.slug, "mia@x.test", UA_EDGE_WINDOWS);
    b.click_css("#sign-out");
    b.wait("#signin-tenant", 10);
    b.fill("#signin-tenant", &org.slug);
    b.fill("#signin-email", "mia@x.test");
    b.fill("#signin-password", PASSWORD);
    b.click_css("#signin-submit");
    b.wait_js(
        "the limit message",
        "document.getElementById('signin-error').textContent.length > 0",
        10,
    );
    let msg = b.text_of("#signin-error");
    shot(&b, "signin-limit");
    assert!(
        msg.contains("You already have 3 active sessions"),
        "the limit in words: {msg}"
    );
    assert!(
        msg.contains("Sign out on one of your other devices"),
        "{msg}"
    );
    assert!(b.find_now("#devices-body").is_none(), "not signed in");
    // The server agrees: still three sessions, the fourth refused.
    let users = server.call(
        "GET",
        &format!(
            "/v1/tenants/{}/sessions?q=mia%40x.test&status=active",
            org.slug
        ),
        Some(&org.admin_token),
        None,
    );
    assert_eq!(users["items"].as_array().unwrap().len(), 3, "{users}");

    // Raise the limit through the API: the same sign-in now works.
    let mut p = server.call("GET", &policy_path, Some(&org.admin_token), None);
    p["max_sessions_per_user"] = json!(4);
    server.call("PUT", &policy_path, Some(&org.admin_token), Some(p));
    b.click_css("#signin-submit");
    b.wait("#devices-body tr[data-session-id]", 15);
    b.wait_js(
        "four devices",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 4",
        10,
    );
    // The refused sign-in's 409 is an answer the screen shows, not an error.
    let logs: Vec<String> = b
        .severe_logs()
        .into_iter()
        .filter(|m| !m.contains("status of 409"))
        .collect();
    assert_eq!(logs, Vec::<String>::new());
}

#[test]
fn a_device_signed_out_elsewhere_or_by_the_limit_is_told_why() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "told-why");
    let policy_path = format!("/v1/tenants/{}/policy", org.slug);
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, "mia@x.test");
    b.wait("#devices-body tr[data-session-id]", 15);

    // From her phone, Mia signs out every other device: this browser hears
    // it on its next request, in words.
    let phone = server.login(&org.slug, "mia@x.test", UA_SAFARI_IPHONE);
    let n = server.call(
        "POST",
        "/v1/auth/sessions/revoke-others",
        phone["access_token"].as_str(),
        None,
    );
    assert_eq!(n["revoked"], json!(2), "{n}");
    b.click_css("#devices-refresh");
    b.wait("#signin-notice", 10);
    let notice = b.text_of("#signin-notice");
    assert!(
        notice.contains("signed this device out from another of your devices"),
        "{notice}"
    );

    // One session per user, the least recently active ends: signing in
    // elsewhere ends this browser's session, and it says so.
    let mut p = server.call("GET", &policy_path, Some(&org.admin_token), None);
    p["max_sessions_per_user"] = json!(1);
    p["session_limit_action"] = json!("evict_oldest");
    server.call("PUT", &policy_path, Some(&org.admin_token), Some(p));
    b.fill("#signin-tenant", &org.slug);
    b.fill("#signin-email", "mia@x.test");
    b.fill("#signin-password", PASSWORD);
    b.click_css("#signin-submit");
    b.wait("#devices-body tr[data-session-id]", 15);
    // The phone's session made way for this one.
    assert_eq!(
        b.js("return document.querySelectorAll('#devices-body tr[data-session-id]').length"),
        json!(1)
    );
    server.login(&org.slug, "mia@x.test", UA_EDGE_WINDOWS);
    b.click_css("#devices-refresh");
    b.wait("#signin-notice", 10);
    let notice = b.text_of("#signin-notice");
    assert!(
        notice.contains("limits how many sessions one person may have"),
        "{notice}"
    );
}

#[test]
fn a_global_admin_sees_their_own_platform_devices() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    // Another platform sign-in from a known device.
    server.call_ua(
        "POST",
        "/v1/platform/auth/login",
        None,
        Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        Some(UA_FIREFOX_LINUX),
    );
    let b = Browser::start(&driver);
    b.goto(&server.url("/"));
    b.click_css("#signin-switch");
    b.fill("#signin-email", ADMIN_EMAIL);
    b.fill("#signin-password", ADMIN_PASSWORD);
    b.click_css("#signin-submit");
    b.wait_js(
        "the organizations screen",
        "location.pathname === '/platform'",
        15,
    );
    b.click_css(".nav a[href='/devices']");
    b.wait("#devices-body tr[data-session-id]", 15);
    b.wait_js(
        "both platform sessions",
        "document.querySelectorAll('#devices-body tr[data-session-id]').length === 2",
        10,
    );
    assert!(b.text_of("#devices-body").contains("Firefox 127"));
    assert_eq!(
        b.js("return document.querySelectorAll('#devices-body tr.row-current').length"),
        json!(1)
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}
