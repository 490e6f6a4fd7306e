//! Offline verification of sessiond access tokens: the signature against
//! the tenant-visible JWKS (fetched again when an unknown `kid` appears, so
//! key rotation needs no restart), the claims, and a deny-list of revoked
//! sessions kept current by the tenant's revocation stream (Server-Sent
//! Events, resumed with `Last-Event-ID` after a reconnect).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, VerifyingKey};
use http_body_util::BodyExt;
use hyper::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::http::Http;

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Malformed, unknown key, bad signature, or not for this tenant.
    #[error("the access token is not valid here")]
    Invalid,
    /// Refresh it and retry (sessiond's `token_expired`).
    #[error("the access token has expired")]
    Expired,
    /// The session ended: sign in again (sessiond's `session_revoked`).
    #[error("the session was revoked ({reason})")]
    Revoked { reason: String },
    /// The revocation stream has been silent too long to trust the deny-list.
    #[error("revocations cannot be checked right now")]
    Unavailable,
}

/// The claims of a sessiond access token.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub tid: String,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub jti: Option<String>,
}

/// How to reach sessiond and what to accept.
#[derive(Clone)]
pub struct VerifierConfig {
    /// `https://sessiond.example.org`
    pub base_url: String,
    pub tenant: String,
    /// A service client of the tenant (it reads the revocation stream).
    pub client_id: String,
    pub client_secret: String,
    /// The `iss` of access tokens (sessiond's `--issuer`).
    pub issuer: String,
    /// Revoked sessions are remembered this long (longer than any access
    /// token lives: sessiond's `access_token_ttl_secs`).
    pub remember: Duration,
    /// Refuse every token (`Unavailable`) once the stream has been silent
    /// this long; it sends a keep-alive every 15 s.
    pub fail_closed_after: Duration,
}

impl std::fmt::Debug for VerifierConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierConfig")
            .field("base_url", &self.base_url)
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl VerifierConfig {
    pub fn new(base_url: &str, tenant: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            issuer: "sessiond".to_owned(),
            remember: Duration::from_secs(3600),
            fail_closed_after: Duration::from_secs(60),
        }
    }
}

struct Inner {
    cfg: VerifierConfig,
    http: Http,
    keys: RwLock<HashMap<String, VerifyingKey>>,
    fetched: Mutex<Option<Instant>>,
    /// Revoked session id → (reason, when it may be forgotten).
    denied: Mutex<HashMap<String, (String, Instant)>>,
    /// The last sign of life of the stream (an event or a keep-alive).
    heard: Mutex<Option<Instant>>,
    last_event: Mutex<Option<u64>>,
}

/// Cheap to clone; the stream task stops when the last clone is dropped.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Fetch the keys and connect the stream (waiting up to 10 s for it).
    pub async fn start(cfg: VerifierConfig) -> Result<Self, Error> {
        let http = Http::new(&cfg.base_url)?;
        let inner = Arc::new(Inner {
            cfg,
            http,
            keys: RwLock::new(HashMap::new()),
            fetched: Mutex::new(None),
            denied: Mutex::new(HashMap::new()),
            heard: Mutex::new(None),
            last_event: Mutex::new(None),
        });
        inner.fetch_keys().await?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(follow(inner.clone(), ready_tx));
        let v = Self {
            inner,
            _task: Arc::new(AbortOnDrop(task)),
        };
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(Ok(()))) => Ok(v),
            Ok(Ok(Err(e))) => Err(e),
            _ => Err(Error::Http(
                "the revocation stream did not connect within 10 s".into(),
            )),
        }
    }

    /// Check `token` offline: signature, claims, then the deny-list.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let claims = self.check_signed(token).await?;
        let i = &self.inner;
        let now = unix_now();
        if claims.exp <= now {
            return Err(VerifyError::Expired);
        }
        if claims.iss != i.cfg.issuer || claims.tid != i.cfg.tenant {
            return Err(VerifyError::Invalid);
        }
        let stale = lock(&i.heard).is_none_or(|t| t.elapsed() > i.cfg.fail_closed_after);
        if stale {
            return Err(VerifyError::Unavailable);
        }
        if let Some((reason, _)) = lock(&i.denied).get(&claims.sid) {
            return Err(VerifyError::Revoked {
                reason: reason.clone(),
            });
        }
        Ok(claims)
    }

    /// Whether the session is on the deny-list.
    pub fn is_revoked(&self, sid: &str) -> bool {
        lock(&self.inner.denied).contains_key(sid)
    }

    async fn check_signed(&self, token: &str) -> Result<Claims, VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Invalid);
        };
        let header: Value = decode_part(h)?;
        if header["alg"] != "EdDSA" || header["typ"] != "at+jwt" {
            return Err(VerifyError::Invalid);
        }
        let kid = header["kid"].as_str().ok_or(VerifyError::Invalid)?;
        let key = match self.key(kid) {
            Some(k) => k,
            // Perhaps a new key (rotation): fetch the JWKS again, at most once a second.
            None => {
                self.inner.refresh_keys().await;
                self.key(kid).ok_or(VerifyError::Invalid)?
            }
        };
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or(VerifyError::Invalid)?;
        key.verify_strict(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| VerifyError::Invalid)?;
        let claims: Value = decode_part(p)?;
        let aud_ok = match &claims["aud"] {
            Value::String(a) => a == "sessiond",
            Value::Array(a) => a.iter().any(|v| v == "sessiond"),
            _ => false,
        };
        if !aud_ok {
            return Err(VerifyError::Invalid);
        }
        serde_json::from_value(claims).map_err(|_| VerifyError::Invalid)
    }

    fn key(&self, kid: &str) -> Option<VerifyingKey> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .copied()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Invalid)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Invalid)
}

impl Inner {
    async fn fetch_keys(&self) -> Result<(), Error> {
        *lock(&self.fetched) = Some(Instant::now());
        let (status, jwks) = self
            .http
            .json(Method::GET, "/.well-known/jwks.json", &[], None)
            .await?;
        if status != 200 {
            return Err(Error::Http(format!("the JWKS answered {status}")));
        }
        let mut keys = HashMap::new();
        for k in jwks["keys"].as_array().into_iter().flatten() {
            let x = k["x"].as_str().and_then(|x| URL_SAFE_NO_PAD.decode(x).ok());
            let key = x
                .and_then(|x| <[u8; 32]>::try_from(x.as_slice()).ok())
                .and_then(|x| VerifyingKey::from_bytes(&x).ok());
            if let (Some(kid), Some(key), "Ed25519") =
                (k["kid"].as_str(), key, k["crv"].as_str().unwrap_or(""))
            {
                keys.insert(kid.to_owned(), key);
            }
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    async fn refresh_keys(&self) {
        let recent = lock(&self.fetched).is_some_and(|t| t.elapsed() < Duration::from_secs(1));
        if !recent {
            let _ = self.fetch_keys().await;
        }
    }

    fn deny(&self, data: &str) {
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        if let Some(sid) = v["session_id"].as_str() {
            let reason = v["reason"].as_str().unwrap_or("revoked").to_owned();
            let forget = Instant::now() + self.cfg.remember;
            let mut d = lock(&self.denied);
            d.insert(sid.to_owned(), (reason, forget));
            // Forget old entries now and then (each 1024th insert).
            if d.len().is_multiple_of(1024) {
                let now = Instant::now();
                d.retain(|_, (_, until)| *until > now);
            }
        }
    }
}

/// Keep the deny-list current: connect, read events, reconnect with
/// `Last-Event-ID` (backing off to 30 s) whenever the stream breaks.
async fn follow(i: Arc<Inner>, ready: tokio::sync::oneshot::Sender<Result<(), Error>>) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_secs(1);
    loop {
        match read_stream(&i, &mut ready).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Err(e));
                    return;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

async fn read_stream(
    i: &Inner,
    ready: &mut Option<tokio::sync::oneshot::Sender<Result<(), Error>>>,
) -> Result<(), Error> {
    let cred = STANDARD.encode(format!("{}:{}", i.cfg.client_id, i.cfg.client_secret));
    let mut headers = vec![
        ("authorization", format!("Basic {cred}")),
        ("accept", "text/event-stream".to_owned()),
    ];
    // First connection: what the outbox still holds (revocations of tokens
    // that may still be alive); afterwards: resume where we were.
    let last = *lock(&i.last_event);
    if let Some(id) = last {
        headers.push(("last-event-id", id.to_string()));
    }
    let path = format!(
        "/v1/tenants/{}/revocations/stream{}",
        i.cfg.tenant,
        if last.is_none() { "?after=0" } else { "" }
    );
    let res = i.http.send(Method::GET, &path, &headers, None).await?;
    if res.status() != 200 {
        return Err(Error::Http(format!(
            "the revocation stream answered {}",
            res.status()
        )));
    }
    *lock(&i.heard) = Some(Instant::now());
    if let Some(r) = ready.take() {
        let _ = r.send(Ok(()));
    }
    let mut body = res.into_body();
    let mut buf = String::new();
    loop {
        // Keep-alives come every 15 s: silence means a dead connection.
        let frame = match tokio::time::timeout(Duration::from_secs(45), body.frame()).await {
            Ok(Some(Ok(f))) => f,
            _ => return Ok(()),
        };
        let Some(data) = frame.data_ref() else {
            continue;
        };
        *lock(&i.heard) = Some(Instant::now());
        buf.push_str(&String::from_utf8_lossy(data));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut payload) = (None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse::<u64>().ok();
                } else if let Some(v) = line.strip_prefix("data:") {
                    payload.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if !payload.is_empty() {
                i.deny(&payload);
            }
            if let Some(id) = id {
                *lock(&i.last_event) = Some(id);
            }
        }
    }
}
