//! Extractors: JSON and form bodies in SPEC §3's error format, client
//! metadata, and the authenticated callers.

use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::state::AppState;
use crate::auth::{Principal, TenantScope};
use crate::domain::{SessionId, TenantId, UserId};
use crate::service::{ClientMeta, Error};

fn body_error(r: BytesRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge
    } else {
        Error::field("body", "could not read the request body")
    }
}

/// Turn a serde error at `path` into a field name and a problem.
fn json_problem(path: &str, err: &serde_json::Error) -> Error {
    let msg = err.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    let named = |marker: &str| {
        let start = msg.find(marker)? + marker.len();
        let rest = &msg[start..];
        rest.find('`').map(|end| rest[..end].to_owned())
    };
    let join = |leaf: String| {
        if path.is_empty() || path == "." {
            leaf
        } else {
            format!("{path}.{leaf}")
        }
    };
    let at_root = path.is_empty() || path == ".";
    let field = match (named("missing field `"), named("unknown field `")) {
        (Some(f), _) => join(f),
        // serde_path_to_error's path already ends with the unknown field.
        (_, Some(f)) if at_root => f,
        (_, Some(_)) => path.to_owned(),
        _ if err.is_syntax() || err.is_eof() => "body".to_owned(),
        _ if path.is_empty() || path == "." => "body".to_owned(),
        _ => path.to_owned(),
    };
    let problem = if err.is_syntax() || err.is_eof() {
        "malformed JSON".to_owned()
    } else {
        msg
    };
    Error::field(&field, problem)
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_problem(&e.path().to_string(), e.inner()))?;
    // Trailing bytes after the value are malformed input, not ignorable.
    de.end().map_err(|_| {
        Error::field(
            "body",
            "malformed JSON: trailing characters after the value",
        )
    })?;
    Ok(value)
}

/// `Json` whose rejections are SPEC §3 errors naming the field.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let json_ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if !json_ct {
            return Err(Error::field(
                "body",
                "expected Content-Type: application/json",
            ));
        }
        parse_json(&bytes).map(AppJson)
    }
}

/// An optional JSON body: empty means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// `application/x-www-form-urlencoded` body (OAuth endpoints).
pub struct AppForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppForm<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        serde_urlencoded_from(&bytes).map(AppForm)
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| Error::field("body", e.to_string()))
}

/// Query string in SPEC §3's format.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| AppQuery(q.0))
            .map_err(|e| Error::field("query", e.body_text()))
    }
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let forwarded = state
            .svc
            .config()
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")?
                    .to_str()
                    .ok()?
                    .split(',')
                    .next()
                    .map(|s| s.trim().to_owned())
            })
            .flatten()
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| crate::service::sessions::truncate(s, 512));
        Ok(ClientMeta {
            ip: forwarded.or(peer),
            user_agent,
        })
    }
}

/// The raw bearer token, or `token_missing`.
pub fn bearer(parts: &Parts) -> Result<&str, Error> {
    let Some(v) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(Error::TokenMissing);
    };
    let v = v.to_str().map_err(|_| Error::TokenInvalid)?;
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Error::TokenInvalid),
    }
}

/// Any authenticated caller (SPEC §4's full check has passed).
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer(parts)?;
        state.svc.authenticate(token).await.map(Auth)
    }
}

/// A global admin on the platform (not a support session).
pub struct GlobalAdmin(pub Principal);

impl FromRequestParts<AppState> for GlobalAdmin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        if p.is_global_admin_on_platform() {
            Ok(GlobalAdmin(p))
        } else {
            Err(Error::Forbidden("global admins only"))
        }
    }
}

/// An admin of the tenant named by the `{t}` path segment, with the scope to act there.
pub struct TenantAdmin {
    pub principal: Principal,
    pub scope: TenantScope,
}

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::NotFound)?;
        let t = params
            .iter()
            .find(|(k, _)| *k == "t")
            .map(|(_, v)| v)
            .ok_or(Error::NotFound)?;
        let t = TenantId::parse(t).map_err(|_| Error::NotFound)?;
        let scope = TenantScope::admin_of(&p, &t)
            .map_err(|_| Error::Forbidden("not an administrator of this tenant"))?;
        Ok(TenantAdmin {
            principal: p,
            scope,
        })
    }
}

/// `limit` (1–200, default 50) and `cursor`, validated.
#[derive(Debug, Deserialize, Default)]
pub struct Paging {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl Paging {
    pub fn limit(&self) -> Result<usize, Error> {
        match self.limit.as_deref() {
            None => Ok(50),
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=200).contains(n))
                .ok_or_else(|| Error::field("limit", "must be an integer from 1 to 200")),
        }
    }
}

pub fn session_id(raw: &str) -> Result<SessionId, Error> {
    SessionId::parse(raw).map_err(|_| Error::field("session_id", "must be a UUID"))
}

pub fn user_id(raw: &str) -> Result<UserId, Error> {
    UserId::parse(raw).map_err(|_| Error::field("user_id", "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        first_admin: Inner,
        n: u32,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Outer>(body.as_bytes()) {
            Err(Error::Validation(v)) => v[0].0.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{},"n":1}"#),
            "first_admin.email"
        );
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x"},"n":"one"}"#),
            "n"
        );
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x"},"n":1,"zz":0}"#),
            "zz"
        );
        assert_eq!(field_of(r#"{"name":"a","#), "body");
        assert_eq!(field_of(r#"{"first_admin":{"email":"x"},"n":1}"#), "name");
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x","zz":1},"n":1}"#),
            "first_admin.zz"
        );
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x"},"n":1} trailing"#),
            "body"
        );
    }
}
