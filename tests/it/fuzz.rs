//! Untrusted input never panics and always gets a SPEC error (issue:
//! fuzzing). The same entry points (`sessiond::fuzzing`) back the
//! `cargo fuzz` targets in `fuzz/` for long runs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Value, json};
use sessiond::fuzzing;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT-shaped string: header JSON with a chosen `alg`/`typ`/`kid`, any
/// payload, any signature.
fn jwt_like() -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just(json!("EdDSA")),
        Just(json!("none")),
        Just(json!("HS256")),
        Just(json!("RS256")),
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
    ];
    let typ = prop_oneof![Just(json!("at+jwt")), Just(json!("JWT")), Just(json!(null))];
    let kid = prop_oneof![
        Just(json!(null)),
        "[a-zA-Z0-9_-]{0,24}".prop_map(|k| json!(k))
    ];
    (alg, typ, kid, any::<Vec<u8>>(), any::<Vec<u8>>()).prop_map(|(alg, typ, kid, payload, sig)| {
        let header = json!({"alg": alg, "typ": typ, "kid": kid});
        format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(&payload),
            b64(&sig)
        )
    })
}

fn is_spec_error(status: u16, body: &Value) -> bool {
    body["error"].is_string()
        && body["message"].is_string()
        && body["retryable"].is_boolean()
        && (400..600).contains(&status)
}

/// JSON documents of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("slug".to_owned()),
                    Just("name".to_owned()),
                    Just("first_admin".to_owned()),
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn access_tokens_of_any_text_are_refused_without_panic(s in ".*") {
        prop_assert!(fuzzing::access_token(&s).is_none());
    }

    #[test]
    fn jwt_shaped_forgeries_are_refused(t in jwt_like()) {
        prop_assert!(fuzzing::access_token(&t).is_none());
    }

    #[test]
    fn refresh_tokens_parse_only_in_their_exact_form(s in ".*") {
        if let Some(tid) = fuzzing::refresh_token(&s) {
            prop_assert!(s.starts_with(&format!("rt1.{tid}.")), "{s:?} → {tid}");
        }
    }

    #[test]
    fn well_formed_refresh_tokens_name_their_tenant(
        slug in "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]",
        secret in prop::array::uniform32(any::<u8>()),
    ) {
        let t = format!("rt1.{slug}.{}", b64(&secret));
        prop_assert_eq!(fuzzing::refresh_token(&t), Some(slug));
    }

    #[test]
    fn record_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::record(&bytes);
    }

    #[test]
    fn versioned_record_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut v = vec![1u8];
        v.extend(bytes);
        fuzzing::record(&v);
    }

    #[test]
    fn cursors_of_any_text_never_panic(s in ".*", raw in ".*") {
        fuzzing::cursor(&s);
        // Decodable base64 that is not one of ours is refused, not trusted.
        let [a, c] = fuzzing::cursor(&b64(raw.as_bytes()));
        if a {
            prop_assert!(raw.starts_with("a."));
        }
        if c {
            prop_assert!(raw.starts_with("c."));
        }
    }

    #[test]
    fn any_json_body_is_accepted_or_a_spec_400(v in json_value()) {
        if let Err((status, body)) = fuzzing::json_body(v.to_string().as_bytes()) {
            prop_assert_eq!(status, 400);
            prop_assert!(is_spec_error(status, &body), "{}", body);
            prop_assert_eq!(&body["error"], "validation_failed");
            prop_assert!(body["details"].as_object().is_some_and(|d| !d.is_empty()), "{}", body);
        }
    }

    #[test]
    fn any_bytes_as_a_body_are_a_spec_400(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err((status, body)) = fuzzing::json_body(&bytes) {
            prop_assert!(is_spec_error(status, &body), "{}", body);
        }
    }
}

#[test]
fn the_entry_points_accept_what_they_should() {
    // The properties above would pass vacuously if nothing were ever accepted.
    let ok = json!({"slug": "acme", "name": "Acme", "first_admin":
        {"email": "a@acme.test", "display_name": "A", "password": "a long passphrase"}});
    assert!(fuzzing::json_body(ok.to_string().as_bytes()).is_ok());
    let c = b64(b"c.01890000-0000-7000-8000-000000000000");
    assert_eq!(fuzzing::cursor(&c), [false, true]);
}
