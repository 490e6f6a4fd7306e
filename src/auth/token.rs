//! Access tokens: EdDSA (Ed25519) JWTs, `typ` = `at+jwt` (RFC 9068), algorithm pinned.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keyring::KeyRing;
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
        let mut der = super::jwt_crypto::PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        der
    }
}

struct Entry {
    kid: String,
    public: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
    activates_at: Timestamp,
    /// Gone from the JWKS, its tokens refused, from this time on.
    removed_at: Option<Timestamp>,
}

/// The key ring, ready to sign and verify. Which key signs follows the
/// clock ([`KeyRing`]); a removed key verifies nothing even before the
/// stored ring is pruned.
pub struct Keys {
    entries: Vec<Entry>,
    by_kid: HashMap<String, usize>,
    validation: Validation,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<_> = self.entries.iter().map(|e| &e.kid).collect();
        f.debug_struct("Keys")
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl Keys {
    pub fn new(ring: &KeyRing, issuer: &str) -> Self {
        super::jwt_crypto::install();
        let entries: Vec<Entry> = ring
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let public = k.key.public();
                Entry {
                    kid: k.key.kid.clone(),
                    public,
                    encoding: EncodingKey::from_ed_der(&k.key.pkcs8()),
                    decoding: DecodingKey::from_ed_der(&public),
                    activates_at: k.activates_at,
                    removed_at: ring.schedule(i).1,
                }
            })
            .collect();
        let by_kid = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.kid.clone(), i))
            .collect();
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
            entries,
            by_kid,
            validation,
        }
    }

    /// One key, signing from its creation (tests, benchmarks).
    pub fn single(key: &KeyMaterial, issuer: &str) -> Self {
        let ring = KeyRing {
            keys: vec![super::keyring::RingKey {
                key: key.clone(),
                activates_at: Timestamp::from_millis(i64::MIN),
            }],
        };
        Self::new(&ring, issuer)
    }

    fn published(&self, now: Timestamp) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| e.removed_at.is_none_or(|r| r > now))
    }

    /// `GET /.well-known/jwks.json` at `now`: next, current and retired keys.
    pub fn jwks(&self, now: Timestamp) -> serde_json::Value {
        let keys: Vec<_> = self
            .published(now)
            .map(|e| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                    "kid": e.kid, "x": URL_SAFE_NO_PAD.encode(e.public),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// `kid` of the key that signs at `now`.
    pub fn signing_kid(&self, now: Timestamp) -> Option<&str> {
        self.signer(now).map(|e| e.kid.as_str())
    }

    fn signer(&self, now: Timestamp) -> Option<&Entry> {
        let i = self
            .entries
            .iter()
            .rposition(|e| e.activates_at <= now)
            .unwrap_or(0);
        self.entries.get(i)
    }

    pub fn sign(&self, claims: &Claims, now: Timestamp) -> Result<String, String> {
        let key = self.signer(now).ok_or("the key ring is empty")?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TYP.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| e.to_string())
    }

    /// Another kind of JWT under the same keys (Security Event Tokens, logout
    /// tokens), explicitly typed so that no verifier takes it for an access
    /// token (which must be `at+jwt`, with our audience).
    pub fn sign_typed(
        &self,
        typ: &str,
        claims: &serde_json::Value,
        now: Timestamp,
    ) -> Result<String, String> {
        if typ == TYP {
            return Err("only access tokens are typed at+jwt".into());
        }
        let key = self.signer(now).ok_or("the key ring is empty")?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| e.to_string())
    }

    /// Signature, header and claims; then expiry against `now`.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claims, TokenError> {
        let claims = self.verify_ignoring_expiry(token, now)?;
        if claims.exp <= now.unix_secs() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Everything but expiry (RFC 7009 revocation accepts expired tokens).
    /// A removed key's tokens are `Invalid`.
    pub fn verify_ignoring_expiry(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TYP) {
            return Err(TokenError::Invalid);
        }
        // `kid` is only a lookup key; jku/x5u/jwk are never followed.
        let key = header
            .kid
            .as_deref()
            .and_then(|k| self.by_kid.get(k))
            .map(|&i| &self.entries[i])
            .filter(|e| e.removed_at.is_none_or(|r| r > now))
            .ok_or(TokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
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
        let t = self.sign(&claims, now)?;
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
        let keys = Keys::single(&k, "https://issuer");
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
        let t = keys.sign(&claims, NOW).unwrap();
        assert_eq!(keys.verify(&t, NOW.plus_secs(299)).unwrap(), claims);
        assert_eq!(
            keys.verify(&t, NOW.plus_secs(300)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn header_carries_kid_and_typ() {
        let (keys, claims) = keys();
        let t = keys.sign(&claims, NOW).unwrap();
        let h = jsonwebtoken::decode_header(&t).unwrap();
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert_eq!(h.alg, Algorithm::EdDSA);
        assert!(h.kid.is_some());
    }

    #[test]
    fn retired_keys_verify_until_removed_and_foreign_keys_never() {
        let (_, claims) = keys();
        let mut ring = KeyRing::fresh(NOW);
        let old = Keys::new(&ring, "https://issuer");
        let t_old = old.sign(&claims, NOW).unwrap();
        let at = NOW.plus_secs(600);
        ring.rotate(NOW, at).unwrap();
        let rotated = Keys::new(&ring, "https://issuer");
        // Before activation the old key still signs; the new one is published.
        assert_eq!(rotated.signing_kid(NOW), old.signing_kid(NOW));
        assert_eq!(rotated.jwks(NOW)["keys"].as_array().unwrap().len(), 2);
        assert_ne!(rotated.signing_kid(at), old.signing_kid(NOW));
        assert!(rotated.verify_ignoring_expiry(&t_old, at).is_ok());
        let removed = ring.describe(at)[0].removed_at.unwrap();
        assert!(
            rotated
                .verify_ignoring_expiry(&t_old, removed.minus_secs(1))
                .is_ok()
        );
        assert_eq!(
            rotated.verify_ignoring_expiry(&t_old, removed),
            Err(TokenError::Invalid)
        );
        assert_eq!(rotated.jwks(removed)["keys"].as_array().unwrap().len(), 1);

        let foreign = Keys::single(&KeyMaterial::generate(NOW), "https://issuer");
        assert_eq!(foreign.verify(&t_old, NOW), Err(TokenError::Invalid));
    }
}
