//! A client of sessiond's API that follows its 401 contract (SPEC §3):
//! `token_expired` → refresh once (never twice at once) and retry once;
//! `session_revoked` / `session_expired` (and a refused refresh) → sign in
//! again, never retried.

use bytes::Bytes;
use hyper::Method;
use serde_json::{Value, json};

use crate::Error;
use crate::http::Http;

/// What a call can end in, besides an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The session ended: go to sign-in, do not retry. `reason` is SPEC §3's
    /// `revoked_reason` (e.g. `admin_revoked`, `refresh_token_reuse`).
    #[error("signed out ({reason}); sign in again")]
    Revoked { reason: String },
    /// Idle or absolute timeout: sign in again.
    #[error("the session timed out; sign in again")]
    SessionExpired,
    /// No usable credentials (never signed in, or a refresh was refused).
    #[error("sign in required ({0})")]
    SignInRequired(String),
    /// Any other error answer, as SPEC §3 describes it.
    #[error("{status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
        retryable: bool,
    },
    #[error("{0}")]
    Transport(String),
}

impl ApiError {
    /// From an error answer's status and SPEC §3 body.
    pub fn from_answer(status: u16, body: &Value) -> Self {
        let code = body["error"].as_str().unwrap_or("").to_owned();
        match code.as_str() {
            "session_revoked" => Self::Revoked {
                reason: body["revoked_reason"]
                    .as_str()
                    .unwrap_or("revoked")
                    .to_owned(),
            },
            "refresh_token_reused" => Self::Revoked {
                reason: "refresh_token_reuse".into(),
            },
            "session_expired" => Self::SessionExpired,
            "token_missing" | "token_invalid" | "refresh_token_invalid" => {
                Self::SignInRequired(code)
            }
            _ => Self::Status {
                status,
                message: body["message"].as_str().unwrap_or("").to_owned(),
                retryable: body["retryable"].as_bool().unwrap_or(false),
                code,
            },
        }
    }

    /// The user must sign in again; retrying cannot help.
    pub fn sign_in_required(&self) -> bool {
        matches!(
            self,
            Self::Revoked { .. } | Self::SessionExpired | Self::SignInRequired(_)
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Transport(e.to_string())
    }
}

#[derive(Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

/// One signed-in user's client.
pub struct SessiondClient {
    http: Http,
    /// Held across a refresh, so concurrent calls never present one refresh
    /// token twice (sessiond would take that for theft and end the session).
    tokens: tokio::sync::Mutex<Option<Tokens>>,
}

impl std::fmt::Debug for SessiondClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessiondClient").finish_non_exhaustive()
    }
}

impl SessiondClient {
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Ok(Self {
            http: Http::new(base_url)?,
            tokens: tokio::sync::Mutex::new(None),
        })
    }

    /// `POST /v1/auth/login`; answers the session id.
    pub async fn login(
        &self,
        tenant: &str,
        email: &str,
        password: &str,
    ) -> Result<String, ApiError> {
        let body = json!({"tenant": tenant, "email": email, "password": password});
        let v = self.post_json("/v1/auth/login", None, &body).await?;
        self.keep(&v).await;
        Ok(v["session_id"].as_str().unwrap_or("").to_owned())
    }

    /// The current access token, if signed in.
    pub async fn access_token(&self) -> Option<String> {
        self.tokens.lock().await.as_ref().map(|t| t.access.clone())
    }

    /// Call the API as the signed-in user (`body` as JSON, if any).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let presented = self
            .access_token()
            .await
            .ok_or_else(|| ApiError::SignInRequired("not signed in".into()))?;
        match self.send(method.clone(), path, &presented, body).await {
            Err(ApiError::Status { code, .. }) if code == "token_expired" => {
                self.refresh(&presented).await?;
                let fresh = self
                    .access_token()
                    .await
                    .ok_or_else(|| ApiError::SignInRequired("not signed in".into()))?;
                self.send(method, path, &fresh, body).await
            }
            other => other,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        access: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let headers = [("authorization", format!("Bearer {access}"))];
        let payload = body.map(|b| ("application/json", Bytes::from(b.to_string())));
        let (status, v) = self.http.json(method, path, &headers, payload).await?;
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(ApiError::from_answer(status, &v))
        }
    }

    /// Refresh once for everyone who saw `stale` expire.
    async fn refresh(&self, stale: &str) -> Result<(), ApiError> {
        let mut guard = self.tokens.lock().await;
        let Some(t) = guard.clone() else {
            return Err(ApiError::SignInRequired("not signed in".into()));
        };
        if t.access != stale {
            return Ok(()); // another call refreshed meanwhile
        }
        let body = json!({"refresh_token": t.refresh});
        match self.post_json("/v1/auth/refresh", None, &body).await {
            Ok(v) => {
                *guard = tokens_of(&v);
                Ok(())
            }
            Err(e) => {
                *guard = None;
                Err(match e {
                    ApiError::Status { code, .. } => ApiError::SignInRequired(code),
                    e => e,
                })
            }
        }
    }

    async fn post_json(
        &self,
        path: &str,
        access: Option<&str>,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let headers: Vec<(&str, String)> = access
            .map(|a| ("authorization", format!("Bearer {a}")))
            .into_iter()
            .collect();
        let payload = Some(("application/json", Bytes::from(body.to_string())));
        let (status, v) = self
            .http
            .json(Method::POST, path, &headers, payload)
            .await?;
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(ApiError::from_answer(status, &v))
        }
    }

    async fn keep(&self, v: &Value) {
        *self.tokens.lock().await = tokens_of(v);
    }
}

fn tokens_of(v: &Value) -> Option<Tokens> {
    Some(Tokens {
        access: v["access_token"].as_str()?.to_owned(),
        refresh: v["refresh_token"].as_str()?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_401_contract_maps_to_typed_errors() {
        let e = ApiError::from_answer(
            401,
            &json!({"error": "session_revoked", "revoked_reason": "admin_revoked", "retryable": false}),
        );
        assert_eq!(
            e,
            ApiError::Revoked {
                reason: "admin_revoked".into()
            }
        );
        assert!(e.sign_in_required());
        let e = ApiError::from_answer(401, &json!({"error": "session_expired"}));
        assert!(e.sign_in_required());
        let e = ApiError::from_answer(401, &json!({"error": "token_expired", "retryable": true}));
        assert!(!e.sign_in_required());
        assert!(matches!(
            e,
            ApiError::Status {
                retryable: true,
                ..
            }
        ));
        let e = ApiError::from_answer(
            503,
            &json!({"error": "overloaded", "retryable": true, "message": "m"}),
        );
        assert!(matches!(
            e,
            ApiError::Status {
                status: 503,
                retryable: true,
                ..
            }
        ));
        let e = ApiError::from_answer(401, &json!({"error": "refresh_token_reused"}));
        assert_eq!(
            e,
            ApiError::Revoked {
                reason: "refresh_token_reuse".into()
            }
        );
    }
}
