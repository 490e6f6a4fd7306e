//! SPEC §2 access tokens: EdDSA pinned, `typ` = `at+jwt`, `kid`, `aud`/`iss`;
//! every forgery is refused with 401 `token_invalid`. JWKS publishes the key.

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, Verifier};
use serde_json::{Value, json};
use sessiond::auth::keyring::KeyRing;
use sessiond::auth::token::{Claims, KeyMaterial, Keys};
use sessiond::domain::Role;

use crate::support::{Resp, T0, TestApp, Tokens};

// ---------------------------------------------------------------- helpers

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jwt_part(token: &str, idx: usize) -> Value {
    let part = token.split('.').nth(idx).expect("JWT part");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url JWT part");
    serde_json::from_slice(&bytes).expect("JSON JWT part")
}

/// The decoded JOSE header of a JWT (no verification).
pub fn jwt_header(token: &str) -> Value {
    jwt_part(token, 0)
}

/// The decoded claims of a JWT (no verification).
pub fn jwt_claims(token: &str) -> Value {
    jwt_part(token, 1)
}

/// `header.payload` with an Ed25519 signature by `seed`.
fn sign_raw(seed: &[u8; 32], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(sig.to_bytes()))
}

/// The server's current signing key, read from the database file as an
/// attacker holding a copy of it could. Lets the tests below sign tokens
/// that differ from a real one in exactly one property.
async fn server_key(app: &TestApp) -> KeyMaterial {
    let bytes = app
        .svc
        .store()
        .read(|rx| rx.meta(sessiond::store::KEYRING_META))
        .await
        .expect("read meta")
        .expect("signing keys stored");
    let ring = sessiond::store::decode::<KeyRing>(&bytes).expect("decode keys");
    ring.keys[ring.current_index(app.svc.now())].key.clone()
}

/// GET /v1/auth/me with a raw Authorization header value.
async fn me_with_authorization(app: &TestApp, value: &str) -> Resp {
    let req = Request::builder()
        .method(Method::GET)
        .uri("/v1/auth/me")
        .header("authorization", value)
        .body(Body::empty())
        .expect("request");
    app.call(req).await
}

#[track_caller]
fn assert_token_invalid(r: &Resp, what: &str) {
    assert_eq!(r.status.as_u16(), 401, "{what}: {}", r.text);
    assert_eq!(r.code(), "token_invalid", "{what}: {}", r.text);
    assert_eq!(r.body["retryable"], json!(false), "{what}");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="sessiond", error="invalid_token", error_description="token_invalid""#
        ),
        "{what}"
    );
}

/// A tenant `acme` with a member signed in.
async fn member_app() -> (TestApp, Tokens) {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    app.user("acme", "m@acme.test", Role::Member).await;
    let t = app.login("acme", "m@acme.test").await;
    (app, t)
}

// ------------------------------------------------------------------ JWKS

#[tokio::test]
async fn jwks_publishes_the_key_that_signs_access_tokens() {
    let (app, t) = member_app().await;
    let r = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let keys = r.body["keys"].as_array().expect("keys array");
    assert!(!keys.is_empty());
    let k = &keys[0];
    assert_eq!(k["kty"], "OKP");
    assert_eq!(k["crv"], "Ed25519");
    assert_eq!(k["alg"], "EdDSA");
    let header = jwt_header(&t.access);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(
        k["kid"], header["kid"],
        "JWKS kid must match the token's kid"
    );
    for key in keys {
        assert!(
            key.get("d").is_none(),
            "private key material published: {key}"
        );
    }

    // A resource server can verify the token with nothing but the JWKS.
    let x = URL_SAFE_NO_PAD
        .decode(k["x"].as_str().expect("x"))
        .expect("x is base64url");
    let x: [u8; 32] = x.try_into().expect("32-byte Ed25519 public key");
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&x).expect("valid public key");
    let (input, sig) = t.access.rsplit_once('.').expect("JWT");
    let sig = ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).expect("sig"))
        .expect("sig bytes");
    vk.verify(input.as_bytes(), &sig)
        .expect("access token verifies against the published key");
}

#[tokio::test]
async fn access_token_claims_follow_the_contract() {
    let (app, t) = member_app().await;
    let c = jwt_claims(&t.access);
    let me = app.get("/v1/auth/me", Some(&t.access)).await;
    assert_eq!(c["aud"], "sessiond");
    assert!(c["iss"].is_string());
    assert_eq!(c["sub"], me.body["user"]["id"]);
    assert_eq!(c["tid"], "acme");
    assert_eq!(c["sid"], json!(t.session_id));
    assert_eq!(c["role"], "member");
    assert_eq!(c["iat"], json!(T0.unix_secs()));
    assert_eq!(c["exp"], json!(T0.unix_secs() + 300));
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(c.get("gid").is_none(), "gid only on support sessions");
}

// --------------------------------------------------------- forged tokens

#[tokio::test]
async fn control_a_token_signed_with_the_server_key_is_accepted() {
    // Proves the forging helper produces valid tokens, so that each negative
    // test below fails only because of the one property it changes.
    let (app, t) = member_app().await;
    let key = server_key(&app).await;
    let token = sign_raw(&key.seed, &jwt_header(&t.access), &jwt_claims(&t.access));
    let r = app.get("/v1/auth/me", Some(&token)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["session_id"], json!(t.session_id));
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (app, t) = member_app().await;
    let kid = jwt_header(&t.access)["kid"].clone();
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        let payload = t.access.split('.').nth(1).expect("payload");
        for token in [
            format!("{}.{payload}.", b64(header.to_string())),
            format!("{}.{payload}", b64(header.to_string())),
        ] {
            let r = app.get("/v1/auth/me", Some(&token)).await;
            assert_token_invalid(&r, &format!("alg {alg}"));
        }
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let (app, t) = member_app().await;
    let jwks = app.get("/.well-known/jwks.json", None).await;
    let x_str = jwks.body["keys"][0]["x"].as_str().expect("x").to_owned();
    let x = URL_SAFE_NO_PAD.decode(&x_str).expect("x");
    let claims = jwt_claims(&t.access);
    let kid = jwt_header(&t.access)["kid"].as_str().map(str::to_owned);
    // Both the raw key bytes and the base64url text a confused verifier might use.
    for secret in [x.clone(), x_str.clone().into_bytes()] {
        for alg in ["HS256", "HS512"] {
            let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
            let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
            let sig = hmac_sign(alg, &secret, input.as_bytes());
            let token = format!("{input}.{}", b64(sig));
            let r = app.get("/v1/auth/me", Some(&token)).await;
            assert_token_invalid(&r, alg);
        }
    }
}

/// HMAC over `msg` (what an algorithm-confused verifier would accept).
fn hmac_sign(alg: &str, key: &[u8], msg: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    match alg {
        "HS256" => {
            let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = <hmac::Hmac<sha2::Sha512> as KeyInit>::new_from_slice(key).unwrap();
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
    }
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let (app, t) = member_app().await;
    let mut parts: Vec<String> = t.access.split('.').map(str::to_owned).collect();
    let mut claims = jwt_claims(&t.access);
    claims["role"] = json!("org_admin");
    parts[1] = b64(claims.to_string());
    let token = parts.join(".");
    let r = app.get("/v1/auth/me", Some(&token)).await;
    assert_token_invalid(&r, "role flipped");
    let r = app
        .post(
            "/v1/tenants/acme/users",
            Some(&token),
            json!({"email": "x@acme.test", "display_name": "X", "role": "member", "password": "long enough pw"}),
        )
        .await;
    assert_token_invalid(&r, "role flipped on admin route");

    // A flipped signature bit.
    let mut sig = URL_SAFE_NO_PAD
        .decode(t.access.rsplit('.').next().expect("sig"))
        .expect("sig");
    sig[0] ^= 1;
    let (input, _) = t.access.rsplit_once('.').expect("JWT");
    let r = app
        .get("/v1/auth/me", Some(&format!("{input}.{}", b64(sig))))
        .await;
    assert_token_invalid(&r, "signature bit flipped");
    // The real token still works.
    assert_eq!(
        app.get("/v1/auth/me", Some(&t.access))
            .await
            .status
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn another_key_is_refused_even_under_the_servers_kid() {
    let (app, t) = member_app().await;
    let kid = jwt_header(&t.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let c: Claims = serde_json::from_value(jwt_claims(&t.access)).expect("claims");

    let mut same_kid = KeyMaterial::generate(T0);
    same_kid.kid = kid;
    let token = Keys::single(&same_kid, &c.iss).sign(&c, T0).expect("sign");
    assert_eq!(jwt_header(&token)["kid"], jwt_header(&t.access)["kid"]);
    assert_token_invalid(
        &app.get("/v1/auth/me", Some(&token)).await,
        "other key, same kid",
    );

    let foreign = KeyMaterial::generate(T0);
    let token = Keys::single(&foreign, &c.iss).sign(&c, T0).expect("sign");
    assert_token_invalid(&app.get("/v1/auth/me", Some(&token)).await, "foreign kid");
}

#[tokio::test]
async fn wrong_header_is_refused_even_with_the_server_key() {
    let (app, t) = member_app().await;
    let key = server_key(&app).await;
    let claims = jwt_claims(&t.access);
    let kid = jwt_header(&t.access)["kid"].clone();
    let cases = [
        ("typ JWT", json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})),
        ("no typ", json!({"alg": "EdDSA", "kid": kid})),
        ("no kid", json!({"alg": "EdDSA", "typ": "at+jwt"})),
        (
            "unknown kid",
            json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}),
        ),
        (
            "alg ES256 over an EdDSA signature",
            json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}),
        ),
    ];
    for (what, header) in cases {
        let token = sign_raw(&key.seed, &header, &claims);
        assert_token_invalid(&app.get("/v1/auth/me", Some(&token)).await, what);
    }
}

#[tokio::test]
async fn wrong_claims_are_refused_even_with_the_server_key() {
    let (app, t) = member_app().await;
    app.tenant("globex").await;
    let key = server_key(&app).await;
    let header = jwt_header(&t.access);
    let good = jwt_claims(&t.access);
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().expect("object").remove(k);
        c
    };
    let cases = [
        ("wrong aud", with("aud", json!("someone-else"))),
        ("wrong iss", with("iss", json!("https://evil.example"))),
        ("no aud", without("aud")),
        ("no iss", without("iss")),
        ("no exp", without("exp")),
        ("no sub", without("sub")),
        ("no sid", without("sid")),
        // The session lives in acme: naming another tenant must not find it.
        ("tid of another tenant", with("tid", json!("globex"))),
        ("tid _platform", with("tid", json!("_platform"))),
        (
            "unknown session",
            with("sid", json!("01900000-0000-7000-8000-000000000000")),
        ),
        (
            "unknown user",
            with("sub", json!("01900000-0000-7000-8000-000000000000")),
        ),
    ];
    for (what, claims) in cases {
        let token = sign_raw(&key.seed, &header, &claims);
        assert_token_invalid(&app.get("/v1/auth/me", Some(&token)).await, what);
    }
}

#[tokio::test]
async fn role_is_taken_from_the_user_record_not_the_token() {
    let (app, t) = member_app().await;
    let key = server_key(&app).await;
    let mut claims = jwt_claims(&t.access);
    claims["role"] = json!("org_admin");
    let token = sign_raw(&key.seed, &jwt_header(&t.access), &claims);
    let me = app.get("/v1/auth/me", Some(&token)).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.text);
    assert_eq!(me.body["user"]["role"], "member");
    let r = app.get("/v1/tenants/acme/users", Some(&token)).await;
    r.assert_error(403, "forbidden");
}

#[tokio::test]
async fn expiry_and_revocation_are_checked_on_validly_signed_tokens() {
    let (app, t) = member_app().await;
    let key = server_key(&app).await;
    let header = jwt_header(&t.access);
    let mut claims = jwt_claims(&t.access);
    claims["exp"] = json!(T0.unix_secs());
    let expired = sign_raw(&key.seed, &header, &claims);
    let r = app.get("/v1/auth/me", Some(&expired)).await;
    r.assert_error(401, "token_expired");
    assert_eq!(r.body["retryable"], json!(true));

    // A far-future exp does not outlive a revocation.
    claims["exp"] = json!(T0.unix_secs() + 10 * 365 * 86_400);
    let long = sign_raw(&key.seed, &header, &claims);
    assert_eq!(
        app.get("/v1/auth/me", Some(&long)).await.status.as_u16(),
        200
    );
    let out = app
        .post("/v1/auth/logout", Some(&t.access), json!({}))
        .await;
    assert_eq!(out.status.as_u16(), 204, "{}", out.text);
    let r = app.get("/v1/auth/me", Some(&long)).await;
    r.assert_error(401, "session_revoked");
    assert_eq!(r.body["revoked_reason"], "user_logout");
}

#[tokio::test]
async fn non_jwts_and_other_schemes_are_refused() {
    let (app, t) = member_app().await;
    for junk in [
        "not-a-jwt",
        "a.b.c",
        "...",
        "eyJhbGciOiJFZERTQSJ9",
        t.refresh.as_str(),
    ] {
        assert_token_invalid(&app.get("/v1/auth/me", Some(junk)).await, junk);
    }
    for value in [
        "Basic xyz".to_owned(),
        format!("Basic {}", t.access),
        format!("Token {}", t.access),
        t.access.clone(),
        format!("Bearer{}", t.access),
    ] {
        assert_token_invalid(&me_with_authorization(&app, &value).await, &value);
    }
    // The scheme is case-insensitive (RFC 7235).
    let r = me_with_authorization(&app, &format!("bearer {}", t.access)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[tokio::test]
async fn a_token_of_one_app_is_refused_by_another() {
    let (a, t) = member_app().await;
    let (b, _) = member_app().await;
    assert_eq!(
        a.get("/v1/auth/me", Some(&t.access)).await.status.as_u16(),
        200
    );
    assert_token_invalid(
        &b.get("/v1/auth/me", Some(&t.access)).await,
        "other deployment",
    );
}
