//! Look-alike accounts: NFKC folds them onto one, invisible characters are refused.

use serde_json::json;

use crate::support::process::{Server, USER_PASSWORD, api_create_tenant, cli};

fn create(s: &Server, admin: &str, email: &str, name: &str) -> crate::support::process::Resp {
    s.post(
        "/v1/tenants/acme/users",
        Some(admin),
        json!({"email": email, "display_name": name, "role": "member", "password": USER_PASSWORD}),
    )
}

#[test]
fn look_alike_emails_collide_and_invisible_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let root = s.platform_login();
    let admin_email = api_create_tenant(&s, &root.access, "acme");
    let admin = s.login("acme", &admin_email);
    create(&s, &admin.access, "bob@acme.test", "Bob").assert_ok(201);

    for look_alike in ["ｂｏｂ@acme.test", "bob@ａｃｍｅ.test", "BOB@acme.test"] {
        create(&s, &admin.access, look_alike, "Bob").assert_error(409, "conflict");
    }
    // The fullwidth spelling signs in to the same account.
    let t = s.post(
        "/v1/auth/login",
        None,
        json!({"tenant": "acme", "email": "ｂｏｂ@acme.test", "password": USER_PASSWORD}),
    );
    let me = s.get("/v1/auth/me", t.assert_ok(200)["access_token"].as_str());
    assert_eq!(me.assert_ok(200)["user"]["email"], "bob@acme.test");

    for hidden in [
        "b\u{200B}ob@acme.test",
        "bob\u{2060}@acme.test",
        "\u{FEFF}bob@acme.test",
        "bo\u{202E}b@acme.test",
    ] {
        let r = create(&s, &admin.access, hidden, "Bob");
        r.assert_error(400, "validation_failed");
        assert!(r.body["details"]["email"].is_string(), "{}", r.text);
    }
    for name in ["Bo\u{200B}b", "Bob\u{200D}", "\u{7}Bob"] {
        let r = create(&s, &admin.access, "robert@acme.test", name);
        r.assert_error(400, "validation_failed");
        assert!(r.body["details"]["display_name"].is_string(), "{}", r.text);
    }
    // Names are stored NFKC: the fullwidth name reads back as ASCII.
    let r = create(&s, &admin.access, "carol@acme.test", "Ｃａｒｏｌ");
    assert_eq!(r.assert_ok(201)["display_name"], "Carol");
    let uid = r.body["id"].as_str().unwrap().to_owned();
    let r = crate::support::process::send(
        &s.agent,
        "PATCH",
        &s.url(&format!("/v1/tenants/acme/users/{uid}")),
        Some(&admin.access),
        Some(&json!({"display_name": "Car\u{200B}ol"})),
    );
    r.assert_error(400, "validation_failed");
}

#[test]
fn the_cli_refuses_invisible_characters_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        dir.path(),
        &[
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "ad\u{200B}min@acme.test",
            "--admin-name",
            "Admin",
            "--admin-password-stdin",
        ],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    assert!(!out.status.success());
    assert!(out.stderr.contains("zero-width"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
}
