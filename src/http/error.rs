//! SPEC §3: every error as `{error, message, retryable, …}` with the right
//! status and `WWW-Authenticate`. One exhaustive match, no wildcard.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::service::Error;

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::TokenMissing => "token_missing",
            Error::TokenInvalid => "token_invalid",
            Error::TokenExpired => "token_expired",
            Error::SessionRevoked(_) => "session_revoked",
            Error::SessionExpired => "session_expired",
            Error::RefreshTokenInvalid => "refresh_token_invalid",
            Error::RefreshTokenReused => "refresh_token_reused",
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidClient => "invalid_client",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound => "not_found",
            Error::Validation(_) => "validation_failed",
            Error::Conflict(_) => "conflict",
            Error::SessionLimitReached { .. } => "session_limit_reached",
            Error::PayloadTooLarge => "payload_too_large",
            Error::RateLimited { .. } => "rate_limited",
            Error::Internal(_) => "internal",
            Error::StorageUnavailable => "storage_unavailable",
            Error::Overloaded => "overloaded",
            Error::RequestTimeout => "request_timeout",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::TokenMissing
            | Error::TokenInvalid
            | Error::TokenExpired
            | Error::SessionRevoked(_)
            | Error::SessionExpired
            | Error::RefreshTokenInvalid
            | Error::RefreshTokenReused
            | Error::InvalidCredentials
            | Error::InvalidClient => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Validation(_) => StatusCode::BAD_REQUEST,
            Error::Conflict(_) | Error::SessionLimitReached { .. } => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::StorageUnavailable | Error::Overloaded | Error::RequestTimeout => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Error::TokenExpired
                | Error::RateLimited { .. }
                | Error::Internal(_)
                | Error::StorageUnavailable
                | Error::Overloaded
                | Error::RequestTimeout
        )
    }

    /// Seconds for `Retry-After`, on the answers that carry it.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } => Some((*retry_after_secs).max(1)),
            Error::StorageUnavailable => Some(5),
            Error::Overloaded | Error::RequestTimeout => Some(1),
            _ => None,
        }
    }
}

impl Error {
    /// SPEC §3's body: `{error, message, retryable}` plus `revoked_reason`
    /// or `details` where they apply.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.code()));
        body.insert("message".into(), json!(self.to_string()));
        body.insert("retryable".into(), json!(self.retryable()));
        if let Error::SessionLimitReached { limit } = self {
            body.insert("limit".into(), json!(limit));
        }
        if let Error::SessionRevoked(reason) = self {
            body.insert("revoked_reason".into(), json!(reason.as_str()));
        }
        if let Error::Validation(fields) = self {
            let d: Map<String, Value> = fields.iter().map(|(f, m)| (f.clone(), json!(m))).collect();
            body.insert("details".into(), Value::Object(d));
        }
        Value::Object(body)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            tracing::error!(cause = %cause, "internal error");
        }
        let (status, code) = (self.status(), self.code());
        let mut res = (status, axum::Json(self.body())).into_response();
        let headers = res.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let v = match self {
                Error::TokenMissing => r#"Bearer realm="sessiond""#.to_owned(),
                // A service client authenticates with HTTP Basic (RFC 6749 §5.2).
                Error::InvalidClient => r#"Basic realm="sessiond", charset="UTF-8""#.to_owned(),
                _ => format!(
                    r#"Bearer realm="sessiond", error="invalid_token", error_description="{code}""#
                ),
            };
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Error::MethodNotAllowed { allow } = &self
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            headers.insert(header::ALLOW, v);
        }
        res
    }
}
