//! Extractors: JSON and form bodies in SPEC §3's error format, client
//! metadata, and the authenticated callers.

use crate::domain::query::List;
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
    let value = match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => value,
        Err(e) => {
            return retry_integral_floats(bytes)
                .unwrap_or_else(|| Err(json_problem(&e.path().to_string(), e.inner())));
        }
    };
    // Trailing bytes after the value are malformed input, not ignorable.
    de.end().map_err(|_| {
        Error::field(
            "body",
            "malformed JSON: trailing characters after the value",
        )
    })?;
    Ok(value)
}

/// JSON Schema counts `1554.0` as an integer; serde does not. When the body
/// holds such numbers they become integers and the body is read once more.
fn retry_integral_floats<T: DeserializeOwned>(bytes: &[u8]) -> Option<Result<T, Error>> {
    fn normalize(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    *v = serde_json::Value::from(f as i64);
                    true
                }
                _ => false,
            },
            serde_json::Value::Array(items) => {
                items.iter_mut().fold(false, |c, i| normalize(i) | c)
            }
            serde_json::Value::Object(map) => map.values_mut().fold(false, |c, i| normalize(i) | c),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if !normalize(&mut value) {
        return None;
    }
    Some(
        serde_path_to_error::deserialize(value)
            .map_err(|e| json_problem(&e.path().to_string(), e.inner())),
    )
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
        // serde reads a struct from an array too; the documented schema is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(Error::field("body", "must be a JSON object or null"));
        }
        // The documented schema is `T | null`: a JSON `null` is an absent body.
        parse_json::<Option<T>>(&bytes).map(|b| OptionalJson(b.unwrap_or_default()))
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

/// The client address the trusted proxy saw: the last `X-Forwarded-For`
/// entry. Earlier entries come from the client and may be forged; a proxy
/// that appends (nginx's `$proxy_add_x_forwarded_for`, Caddy, Traefik) puts
/// the real peer last, one that overwrites leaves only it.
fn forwarded_client(header: &str) -> Option<String> {
    let last = header.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let forwarded = state
            .svc
            .config()
            .trust_forwarded_for
            .then(|| forwarded_client(parts.headers.get("x-forwarded-for")?.to_str().ok()?))
            .flatten();
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
        // Whether the tenant exists, or could: the same 403 to anyone without rights.
        let denied = || Error::Forbidden("not an administrator of this tenant");
        let t = TenantId::parse(t).map_err(|_| denied())?;
        let scope = TenantScope::admin_of(&p, &t).map_err(|_| denied())?;
        Ok(TenantAdmin {
            principal: p,
            scope,
        })
    }
}

/// `limit` (1–200, default 50) and `cursor`, validated.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page (opaque); empty means the first page.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub cursor: Option<String>,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
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

    /// The cursor of `list`, parsed to the key it carries (the last item's).
    pub fn cursor<T, E>(
        &self,
        list: List,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Error> {
        self.cursor
            .as_deref()
            .map(|c| parse(&list.key(c)))
            .transpose()
            .map_err(|_| Error::field("cursor", "malformed cursor"))
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
    fn the_forwarded_client_is_the_entry_the_proxy_added() {
        assert_eq!(
            forwarded_client("203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        // A client-supplied entry before the proxy's is ignored.
        assert_eq!(
            forwarded_client("10.6.6.6, 203.0.113.7").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            forwarded_client(" 2001:db8::1 ").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(forwarded_client("203.0.113.7, not-an-ip"), None);
        assert_eq!(forwarded_client(""), None);
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

    #[test]
    fn an_integral_float_reads_as_an_integer_and_a_fraction_does_not() {
        let ok = parse_json::<Outer>(br#"{"name":"a","first_admin":{"email":"x"},"n":1554.0}"#);
        assert_eq!(ok.map(|o| o.n).ok(), Some(1554));
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x"},"n":1.5}"#),
            "n"
        );
        // The retry keeps naming the real problem.
        assert_eq!(
            field_of(r#"{"name":"a","first_admin":{"email":"x"},"n":2.0,"zz":0}"#),
            "zz"
        );
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        let q = |s: &str| {
            axum::extract::Query::<Paging>::try_from_uri(&s.parse().unwrap())
                .unwrap()
                .0
        };
        assert_eq!(q("/x?cursor=").cursor, None);
        assert_eq!(q("/x?cursor=abc").cursor.as_deref(), Some("abc"));
        assert_eq!(q("/x").cursor, None);
    }
}
