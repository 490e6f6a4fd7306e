//! Access tokens: EdDSA (Ed25519) JWTs, `typ` = `at+jwt` (RFC 9068), algorithm pinned.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::secret::fill_random;
use crate::domain::{Role, Timestamp};

pub const AUDIENCE: &str = "sessiond";
pub const TYP: &str = "at+jwt";
/// `tid` of global admins' own (platform) sessions.
pub const PLATFORM_TID: &str = "_platform";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub tid: String,
    pub sid: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed, badly signed, or for another audience")]
    Invalid,
    #[error("token has expired")]
    Expired,
}

/// A stored Ed25519 key: the 32-byte seed. Never printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyMaterial {
    pub kid: String,
    pub seed: [u8; 32],
    pub created_at: Timestamp,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl KeyMaterial {
    pub fn generate(now: Timestamp) -> Self {
        let mut seed = [0u8; 32];
        fill_random(&mut seed);
        let mut kid = [0u8; 12];
        fill_random(&mut kid);
        Self {
            kid: URL_SAFE_NO_PAD.encode(kid),
            seed,
            created_at: now,
        }
    }

    fn public(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.seed)
            .verifying_key()
            .to_bytes()
    }

    /// PKCS#8 v1 DER for an Ed25519 seed (RFC 8410): fixed 16-byte prefix + seed.
    fn pkcs8(&self) -> Vec<u8> {
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        der
    }
}

/// The signing key set: current (signs) and previous (still verifies).
pub struct Keys {
    current_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
    validation: Validation,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("current_kid", &self.current_kid)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub fn new(current: &KeyMaterial, previous: Option<&KeyMaterial>, issuer: &str) -> Self {
        let mut decoding = HashMap::new();
        let mut jwks = Vec::new();
        for k in std::iter::once(current).chain(previous) {
            let public = k.public();
            decoding.insert(k.kid.clone(), DecodingKey::from_ed_der(&public));
            jwks.push(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                "kid": k.kid, "x": URL_SAFE_NO_PAD.encode(public),
            }));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the injected clock, below.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            current_kid: current.kid.clone(),
            encoding: EncodingKey::from_ed_der(&current.pkcs8()),
            decoding,
            jwks: serde_json::json!({ "keys": jwks }),
            validation,
        }
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.to_owned());
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Signature, header and claims; then expiry against `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claims, TokenError> {
        let claims = self.verify_ignoring_expiry(token)?;
        if claims.exp <= now.unix_secs() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Everything but expiry (RFC 7009 revocation accepts expired tokens).
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYP) {
            return Err(TokenError::Invalid);
        }
        // `kid` is only a lookup key; jku/x5u/jwk are never followed.
        let key = header
            .kid
            .as_deref()
            .and_then(|k| self.decoding.get(k))
            .ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        Ok(data.claims)
    }

    /// Sign and verify once: with a missing crypto backend the first sign would fail.
    pub fn self_test(&self, issuer: &str, now: Timestamp) -> Result<(), String> {
        let claims = Claims {
            iss: issuer.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: "self-test".into(),
            tid: PLATFORM_TID.into(),
            sid: "self-test".into(),
            role: Role::Member,
            iat: now.unix_secs(),
            exp: now.unix_secs() + 60,
            jti: "self-test".into(),
            gid: None,
        };
        let t = self.sign(&claims)?;
        match self.verify(&t, now) {
            Ok(c) if c == claims => Ok(()),
            other => Err(format!("token self-test failed: {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    fn keys() -> (Keys, Claims) {
        let k = KeyMaterial::generate(NOW);
        let keys = Keys::new(&k, None, "https://issuer");
        let claims = Claims {
            iss: "https://issuer".into(),
            aud: AUDIENCE.into(),
            sub: "u".into(),
            tid: "acme".into(),
            sid: "s".into(),
            role: Role::OrgAdmin,
            iat: NOW.unix_secs(),
            exp: NOW.unix_secs() + 300,
            jti: "j".into(),
            gid: None,
        };
        (keys, claims)
    }

    #[test]
    fn round_trip_and_expiry_boundary() {
        let (keys, claims) = keys();
        keys.self_test("https://issuer", NOW).unwrap();
        let t = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&t, NOW.plus_secs(299)).unwrap(), claims);
        assert_eq!(
            keys.verify(&t, NOW.plus_secs(300)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn header_carries_kid_and_typ() {
        let (keys, claims) = keys();
        let t = keys.sign(&claims).unwrap();
        let h = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert_eq!(h.alg, Algorithm::EdDSA);
        assert!(h.kid.is_some());
    }

    #[test]
    fn previous_key_still_verifies_foreign_key_does_not() {
        let old = KeyMaterial::generate(NOW);
        let new = KeyMaterial::generate(NOW);
        let (_, claims) = keys();
        let t_old = Keys::new(&old, None, "https://issuer")
            .sign(&claims)
            .unwrap();
        let rotated = Keys::new(&new, Some(&old), "https://issuer");
        assert!(rotated.verify(&t_old, NOW).is_ok());
        let only_new = Keys::new(&new, None, "https://issuer");
        assert_eq!(only_new.verify(&t_old, NOW), Err(TokenError::Invalid));
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
