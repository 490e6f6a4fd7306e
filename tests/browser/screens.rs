//! Issue 15 screens in a real browser: the pending support-request badge and
//! grant outcomes in words, service clients (the secret shown once),
//! organizations for global admins with email validation, policy in human
//! units with the unsaved-changes guard, the phone layout, and the
//! unreachable-server banner.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn sign_in_platform(b: &Browser, server: &Server) {
    b.goto(&server.url("/"));
    b.click_css("#signin-switch");
    b.fill("#signin-email", ADMIN_EMAIL);
    b.fill("#signin-password", ADMIN_PASSWORD);
    b.click_css("#signin-submit");
    b.wait("#tenants-body tr[data-tenant]", 15);
}

fn js_str(b: &Browser, script: &str) -> String {
    b.js(script).as_str().unwrap_or("").to_owned()
}

fn path(b: &Browser) -> String {
    js_str(b, "return location.pathname")
}

fn wait_no_dialog(b: &Browser) {
    b.wait_js(
        "the dialog to close",
        "!document.querySelector('dialog[open]')",
        10,
    );
}

/// POST /v1/oauth/introspect as a service client: (HTTP status, body).
fn introspect(server: &Server, client_id: &str, secret: &str, token: &str) -> (u16, Value) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let mut res = agent()
        .post(&server.url("/v1/oauth/introspect"))
        .header("authorization", &format!("Basic {basic}"))
        .send_form([("token", token)])
        .unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn the_pending_request_badge_follows_requests_and_outcomes_read_in_words() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "badge-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    // Nothing pending: no badge, no notice.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        b.find_now("#nav-pending-badge").is_none(),
        "badge before any request"
    );
    assert!(b.find_now("#pending-notice").is_none());

    // A global admin asks for access: the badge appears without a reload.
    let platform = server.platform_token();
    server.call(
        "POST",
        &format!("/v1/platform/tenants/{}/access-requests", org.slug),
        Some(&platform),
        Some(json!({"reason": "ticket 99: SSO broken", "duration_secs": 1800})),
    );
    b.wait_js(
        "the pending badge with count 1",
        "(document.getElementById('nav-pending-badge') || {dataset: {}}).dataset.count === '1'",
        15,
    );
    let badge_link = js_str(
        &b,
        "return document.getElementById('nav-pending-badge').closest('a').getAttribute('href')",
    );
    assert_eq!(badge_link, "/support");
    // ...and the sessions page says so above the table.
    let notice = b.text_of("#pending-notice");
    assert!(
        notice.contains("1 support-access request") && notice.contains("waiting for your decision"),
        "{notice}"
    );
    assert!(b.find_now("#sessions-body tr[data-session-id]").is_some());

    // Review → the Support access page; deny the request there.
    b.click_css("#pending-review");
    b.wait("#grants-pending tr[data-grant-id]", 10);
    assert_eq!(path(&b), "/support");
    // The notice is for the sessions page only.
    assert!(b.find_now("#pending-notice").is_none());
    b.click_css("#grants-pending tr[data-grant-id] button:not(.btn-primary)");
    b.wait("dialog[open]", 5);
    b.click_css("dialog[open] button[type='submit']");
    wait_no_dialog(&b);
    b.wait_js(
        "the badge to go",
        "document.getElementById('nav-pending-badge') === null",
        10,
    );
    // The outcome in words, with who and when.
    b.wait("#grants-history tr[data-status='denied']", 10);
    let row = b.text_of("#grants-history tr[data-status='denied']");
    assert!(
        row.contains(&format!("Denied by {}", org_admin(&org.slug))),
        "{row}"
    );
    assert!(
        b.find_now("#grants-history tr[data-status='denied'] time")
            .is_some(),
        "the denial says when"
    );

    // The platform side shows the same denial — never "None".
    b.click_css("#sign-out");
    b.wait("#signin-submit", 10);
    sign_in_platform(&b, &server);
    let access = b.text_of(&format!(
        "#tenants-body tr[data-tenant='{}'] .access-cell",
        org.slug
    ));
    assert!(
        access.contains(&format!("Denied by {}", org_admin(&org.slug))),
        "{access}"
    );
    assert!(!access.contains("None"), "{access}");
    let hist = b.text_of("#my-history tr[data-status='denied']");
    assert!(hist.contains("Denied by"), "{hist}");
    // A global admin has no pending-request badge of their own.
    assert!(b.find_now("#nav-pending-badge").is_none());
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn a_client_secret_is_shown_once_with_a_copy_button() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "clients-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css(".nav a[href='/clients']");
    // No clients yet: the empty picture (not the loading or error one).
    b.wait("#clients-state [data-state='empty']", 10);

    b.click_css("#client-new");
    b.wait("dialog[open]", 5);
    // A name is required.
    b.click_css("dialog[open] button[type='submit']");
    b.wait_js(
        "the name error",
        "document.querySelector('dialog[open] input[name=name]').getAttribute('aria-invalid') === 'true'",
        5,
    );
    b.fill("dialog[open] input[name='name']", "orders-api");
    b.click_css("dialog[open] button[type='submit']");
    wait_no_dialog(&b);
    let secret = b.text_of("#client-secret");
    let client_id = b.text_of("#client-secret-id");
    assert!(secret.len() >= 32, "{secret}");
    let panel = b.text_of("#client-secret-panel");
    assert!(
        panel.contains("You will not see this secret again"),
        "{panel}"
    );
    // A copy button for the secret; clicking it reports what happened.
    b.click_css("#client-secret-copy");
    b.wait_js(
        "the copy button's answer",
        "document.getElementById('client-secret-copy').dataset.copied !== undefined",
        5,
    );
    assert_eq!(
        b.js("return document.getElementById('client-secret-copy').dataset.copied"),
        json!("true"),
        "copying the secret failed"
    );
    // The row is listed (without the secret).
    b.wait(
        &format!("#clients-body tr[data-client-id='{client_id}']"),
        10,
    );
    let row = b.text_of(&format!("#clients-body tr[data-client-id='{client_id}']"));
    assert!(
        row.contains("orders-api") && !row.contains(&secret),
        "{row}"
    );

    // The secret works for introspection.
    let (status, v) = introspect(&server, &client_id, &secret, &org.admin_token);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["active"], json!(true), "{v}");

    // Gone after navigating away and back...
    b.click_css(".nav a[href='/sessions']");
    b.wait("#sessions-body", 10);
    b.click_css(".nav a[href='/clients']");
    b.wait(
        &format!("#clients-body tr[data-client-id='{client_id}']"),
        10,
    );
    assert!(b.find_now("#client-secret").is_none());
    let page = js_str(&b, "return document.body.innerText");
    assert!(!page.contains(&secret), "the secret is on screen again");
    // ...and after a reload.
    b.goto(&server.url("/clients"));
    b.wait(
        &format!("#clients-body tr[data-client-id='{client_id}']"),
        15,
    );
    assert!(b.find_now("#client-secret").is_none());
    assert!(!js_str(&b, "return document.documentElement.outerHTML").contains(&secret));

    // Delete asks first; cancel keeps it.
    let del =
        format!("#clients-body tr[data-client-id='{client_id}'] button[data-role='delete-client']");
    b.click_css(&del);
    b.wait("dialog[open]", 5);
    b.click_css("dialog[open] button[value='cancel']");
    wait_no_dialog(&b);
    assert!(b.find_now(&del).is_some());
    b.click_css(&del);
    b.wait("dialog[open]", 5);
    let dlg = b.text_of("dialog[open]");
    assert!(dlg.contains("orders-api"), "{dlg}");
    b.click_css("dialog[open] button.btn-danger");
    wait_no_dialog(&b);
    b.wait("#clients-state [data-state='empty']", 10);
    let (status, _) = introspect(&server, &client_id, &secret, &org.admin_token);
    assert_eq!(status, 401, "a deleted client's secret no longer works");
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn policy_is_entered_in_units_and_unsaved_changes_ask_before_leaving() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "policy-org");
    let policy_path = format!("/v1/tenants/{}/policy", org.slug);
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css(".nav a[href='/policy']");
    b.wait_js(
        "the policy",
        "document.getElementById('policy-idle_timeout_secs').value !== ''",
        10,
    );
    // Defaults in human units: idle 1800 s = 30 minutes, absolute 36000 s = 10 hours.
    assert_eq!(
        b.js("return document.getElementById('policy-idle_timeout_secs').value"),
        json!("30")
    );
    assert_eq!(
        b.js("return document.getElementById('policy-idle_timeout_secs-unit').value"),
        json!("minutes")
    );
    assert!(
        b.text_of("#policy-idle_timeout_secs-secs")
            .contains("1800 seconds")
    );
    assert_eq!(
        b.js("return document.getElementById('policy-absolute_timeout_secs-unit').value"),
        json!("hours")
    );
    // Nothing changed: leaving does not ask, and reload would not either.
    assert_eq!(
        b.js("const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented"),
        json!(false)
    );

    // 7 days for the absolute timeout; the seconds show next to it.
    b.fill("#policy-absolute_timeout_secs", "7");
    b.click_css("#policy-absolute_timeout_secs-unit option[value='days']");
    b.wait_js(
        "the seconds",
        "document.getElementById('policy-absolute_timeout_secs-secs').textContent.includes('604800 seconds')",
        5,
    );
    assert_eq!(
        b.js("const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented"),
        json!(true),
        "a reload with unsaved changes is asked about"
    );

    // Leaving in the app asks; "Stay" keeps the page and the entry.
    b.click_css(".nav a[href='/sessions']");
    b.wait("dialog[open]", 5);
    let dlg = b.text_of("dialog[open]");
    assert!(dlg.contains("Leave without saving?"), "{dlg}");
    assert!(dlg.contains("Absolute timeout"), "{dlg}");
    b.click_css("dialog[open] button[value='cancel']");
    wait_no_dialog(&b);
    assert_eq!(path(&b), "/policy");
    assert_eq!(
        b.js("return document.getElementById('policy-absolute_timeout_secs').value"),
        json!("7")
    );
    // The browser's Back button asks too.
    b.js("history.back()");
    b.wait("dialog[open]", 5);
    b.click_css("dialog[open] button[value='cancel']");
    wait_no_dialog(&b);
    assert_eq!(path(&b), "/policy");

    // Save: the API stores seconds.
    b.click_css("#policy-save");
    b.wait_js(
        "the save",
        "document.querySelector('form.policy-form').dataset.dirty === 'false'",
        10,
    );
    let p = server.call("GET", &policy_path, Some(&org.admin_token), None);
    assert_eq!(p["absolute_timeout_secs"], json!(604_800), "{p}");
    assert_eq!(p["idle_timeout_secs"], json!(1800), "{p}");
    // Shown back as 7 days.
    assert_eq!(
        b.js("return document.getElementById('policy-absolute_timeout_secs-unit').value"),
        json!("days")
    );
    // Saved: leaving does not ask.
    b.click_css(".nav a[href='/users']");
    b.wait_js("the users page", "location.pathname === '/users'", 10);
    assert!(b.find_now("dialog[open]").is_none());

    // An out-of-range entry is refused in words; "Discard" leaves without saving.
    b.click_css(".nav a[href='/policy']");
    b.wait_js(
        "the policy",
        "document.getElementById('policy-idle_timeout_secs').value !== ''",
        10,
    );
    b.fill("#policy-idle_timeout_secs", "0");
    b.wait_js(
        "the range error",
        "document.getElementById('policy-idle_timeout_secs-error').textContent.includes('between 1 min')",
        5,
    );
    assert_eq!(
        b.js("return document.getElementById('policy-save').disabled"),
        json!(true)
    );
    b.click_css(".nav a[href='/users']");
    b.wait("dialog[open]", 5);
    assert!(b.text_of("dialog[open]").contains("Idle timeout"));
    b.click_css("dialog[open] button.btn-danger");
    b.wait_js("the users page", "location.pathname === '/users'", 10);
    let p = server.call("GET", &policy_path, Some(&org.admin_token), None);
    assert_eq!(
        p["idle_timeout_secs"],
        json!(1800),
        "discarded, not saved: {p}"
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

/// `{top, bottom, left, right, width, height}` of the first match, in CSS pixels.
fn rect(b: &Browser, css: &str) -> Value {
    b.js(&format!(
        "const r = document.querySelector({css:?}).getBoundingClientRect(); \
         return {{top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}};"
    ))
}

#[test]
fn at_390_px_the_nav_folds_the_org_name_stays_and_the_banner_is_compact() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let org = setup_org(&server, "phone-org");
    let b = Browser::start(&driver);
    b.resize(390, 844);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    let width = b.js("return window.innerWidth").as_f64().unwrap();
    assert!(width <= 400.0, "viewport {width}");

    // The nav is folded behind the menu button.
    let nav = b.find_now("#main-nav").unwrap();
    assert!(!b.displayed(&nav), "the nav shows at 390 px");
    let toggle = b.wait("#nav-toggle", 5);
    assert_eq!(
        b.js("return document.getElementById('nav-toggle').getAttribute('aria-expanded')"),
        json!("false")
    );
    // The organization's name is on screen, inside the viewport.
    let name = b.wait("#scope-name", 5);
    assert_eq!(b.text(&name), format!("Org {}", org.slug));
    let r = rect(&b, "#scope-name");
    assert!(
        r["width"].as_f64().unwrap() > 40.0 && r["right"].as_f64().unwrap() <= width,
        "{r}"
    );
    // Not cut off either: the top bar leaves the name its room.
    assert_eq!(
        b.js("const e = document.getElementById('scope-label'); return e.scrollWidth <= e.clientWidth"),
        json!(true),
        "the organization's name is truncated"
    );
    // The top bar's controls fit.
    let r = rect(&b, "#nav-toggle");
    assert!(r["right"].as_f64().unwrap() <= width, "{r}");

    // The button opens the nav; every entry, Policy included, is whole on screen.
    b.click(&toggle);
    b.wait("#main-nav", 5);
    assert_eq!(
        b.js("return document.getElementById('nav-toggle').getAttribute('aria-expanded')"),
        json!("true")
    );
    let r = rect(&b, ".nav a[href='/policy']");
    assert!(
        r["right"].as_f64().unwrap() <= width
            && r["left"].as_f64().unwrap() >= 0.0
            && r["height"].as_f64().unwrap() > 0.0,
        "{r}"
    );
    b.click_css(".nav a[href='/policy']");
    b.wait_js("the policy page", "location.pathname === '/policy'", 10);
    // Choosing a page folds the nav again.
    b.wait_js(
        "the nav to fold",
        "document.getElementById('nav-toggle').getAttribute('aria-expanded') === 'false'",
        5,
    );
    assert!(!b.displayed(&b.find_now("#main-nav").unwrap()));
    // Escape folds it too.
    b.click_css("#nav-toggle");
    b.wait("#main-nav", 5);
    b.keys("\u{E00C}");
    b.wait_js(
        "Escape to fold the nav",
        "document.getElementById('nav-toggle').getAttribute('aria-expanded') === 'false'",
        5,
    );

    // Support mode at 390 px: the banner is one compact line.
    server.call(
        "POST",
        &format!("/v1/tenants/{}/support-grants", org.slug),
        Some(&org.admin_token),
        Some(json!({"grantee_email": ADMIN_EMAIL, "duration_secs": 1800, "reason": "ticket 8"})),
    );
    // On a phone, Sign out lives in the menu.
    assert!(!b.displayed(&b.find_now("#sign-out").unwrap()));
    b.click_css("#nav-toggle");
    b.click_css("#nav-sign-out");
    b.wait("#signin-submit", 10);
    sign_in_platform(&b, &server);
    b.click_css(&format!(
        "button[data-role='start-support'][data-tenant='{}']",
        org.slug
    ));
    b.wait("#support-banner", 15);
    b.wait("#sessions-body tr[data-session-id]", 15);
    let r = rect(&b, "#support-banner");
    assert!(r["height"].as_f64().unwrap() <= 48.0, "banner {r}");
    // Still says what matters: whose data, how long, and how to end it.
    for css in ["#support-tenant", "#support-left", "#end-support"] {
        let el = b.wait(css, 5);
        let r = rect(&b, css);
        assert!(
            r["right"].as_f64().unwrap() <= width + 0.5,
            "{css} cut off: {r}"
        );
        assert!(!b.text(&el).is_empty(), "{css} is empty");
    }
    assert_eq!(b.text_of("#scope-name"), format!("Org {}", org.slug));
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn a_global_admin_creates_an_organization_and_a_b_is_not_an_email() {
    let Some(driver) = browser_available() else {
        return;
    };
    let server = Server::start(false);
    let b = Browser::start(&driver);
    b.goto(&server.url("/"));
    b.click_css("#signin-switch");
    b.fill("#signin-email", ADMIN_EMAIL);
    b.fill("#signin-password", ADMIN_PASSWORD);
    b.click_css("#signin-submit");
    // A fresh server: the empty picture, and the nav names the screen.
    b.wait("#tenants-state [data-state='empty']", 15);
    assert!(
        b.text_of(".nav a[href='/platform']")
            .contains("Organizations")
    );

    b.click_css("#org-new");
    b.wait("dialog[open]", 5);
    b.fill("dialog[open] input[name='slug']", "Bad Slug");
    b.fill("dialog[open] input[name='name']", "Initech");
    b.fill("dialog[open] input[name='email']", "a@b");
    b.fill("dialog[open] input[name='display_name']", "Peter Gibbons");
    b.fill("dialog[open] input[name='password']", "short");
    b.click_css("dialog[open] button[type='submit']");
    b.wait_js(
        "the email error",
        "document.querySelector('dialog[open] input[name=email]').getAttribute('aria-invalid') === 'true'",
        5,
    );
    let email_error = js_str(
        &b,
        "const i = document.querySelector('dialog[open] input[name=email]'); return document.getElementById(i.id + '-error').textContent",
    );
    assert!(email_error.contains("domain with a dot"), "{email_error}");
    for field in ["slug", "password"] {
        assert_eq!(
            b.js(&format!("return document.querySelector('dialog[open] input[name={field}]').getAttribute('aria-invalid')")),
            json!("true"),
            "{field} passed"
        );
    }
    // Nothing was created.
    let platform = server.platform_token();
    let tenants = server.call("GET", "/v1/platform/tenants", Some(&platform), None);
    assert_eq!(tenants.as_array().unwrap().len(), 0);

    b.fill("dialog[open] input[name='slug']", "initech");
    b.fill("dialog[open] input[name='email']", "peter@initech.example");
    b.fill(
        "dialog[open] input[name='password']",
        "a-long-initial-pw-42",
    );
    b.click_css("dialog[open] button[type='submit']");
    wait_no_dialog(&b);
    b.wait("#tenants-body tr[data-tenant='initech']", 10);
    assert!(
        b.text_of("#org-created-notice")
            .contains("peter@initech.example")
    );
    let row = b.text_of("#tenants-body tr[data-tenant='initech']");
    assert!(
        row.contains("Initech") && row.contains("No access"),
        "{row}"
    );
    // The first admin can sign in.
    let v = server.call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"tenant": "initech", "email": "peter@initech.example", "password": "a-long-initial-pw-42"})),
    );
    assert!(v["access_token"].is_string());

    // Ask for access from this screen, the duration in hours.
    b.click_css("button[data-role='request-access'][data-tenant='initech']");
    b.wait("dialog[open]", 5);
    b.fill("dialog[open] textarea[name='reason']", "onboarding check");
    b.fill("dialog[open] input[name='length']", "2");
    b.click_css("dialog[open] select[name='length-unit'] option[value='hours']");
    let secs = b.text_of("dialog[open] output");
    assert_eq!(secs, "= 7200 seconds");
    b.click_css("dialog[open] button[type='submit']");
    wait_no_dialog(&b);
    // Pending (and later active) grants are listed on this screen.
    b.wait("#my-pending tr[data-tenant='initech']", 15);
    let access = b.text_of("#tenants-body tr[data-tenant='initech'] .access-cell");
    assert!(
        access.contains("You asked") && access.contains("waiting"),
        "{access}"
    );
    let mine = server.call("GET", "/v1/platform/grants", Some(&platform), None);
    assert_eq!(mine["items"][0]["duration_secs"], json!(7200), "{mine}");
    // The organization's first admin approves: it moves to the active grants.
    let peter = v["access_token"].as_str().unwrap().to_owned();
    let gid = mine["items"][0]["id"].as_str().unwrap().to_owned();
    server.call(
        "POST",
        &format!("/v1/tenants/initech/support-grants/{gid}/approve"),
        Some(&peter),
        None,
    );
    b.wait("#my-active tr[data-tenant='initech']", 15);
    let active = b.text_of("#my-active tr[data-tenant='initech']");
    assert!(
        active.contains("Approved by peter@initech.example"),
        "{active}"
    );
    assert!(
        b.find_now("#my-active tr[data-tenant='initech'] button[data-role='start-support']")
            .is_some()
    );
    assert_eq!(b.severe_logs(), Vec::<String>::new());
}

#[test]
fn an_unreachable_server_is_a_banner_with_retry_not_an_empty_list() {
    let Some(driver) = browser_available() else {
        return;
    };
    let mut server = Server::start(false);
    let org = setup_org(&server, "down-org");
    let b = Browser::start(&driver);
    b.sign_in_org(&server, &org.slug, &org_admin(&org.slug));
    b.wait("#sessions-body tr[data-session-id]", 15);
    b.click_css(".nav a[href='/clients']");
    b.wait("#clients-state [data-state='empty']", 10);

    // The server goes away.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    // In-app navigation to a screen that must load: an error, not "no clients".
    b.click_css(".nav a[href='/policy']");
    b.wait("#policy-state [data-state='error']", 15);
    b.click_css(".nav a[href='/clients']");
    b.wait("#clients-state [data-state='error']", 15);
    assert!(b.find_now("#clients-state [data-state='empty']").is_none());
    let err = b.text_of("#clients-state [data-state='error']");
    assert!(err.contains("could not be reached"), "{err}");
    // One banner for the whole console, with Retry.
    let banner = b.wait("#offline-banner", 10);
    assert!(b.text(&banner).contains("cannot be reached"));
    b.click_css("#offline-retry");
    b.wait_js(
        "the retry to finish",
        "!document.getElementById('offline-retry').disabled",
        10,
    );
    // Still down: the banner stays.
    assert!(b.displayed(&b.find_now("#offline-banner").unwrap()));
}
