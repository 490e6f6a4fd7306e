//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the code.
//!
//! Each handler carries its `#[utoipa::path]` (method, path, parameters,
//! bodies, statuses) and is registered with `routes!(…)` in `http::api()`,
//! the one place that builds the API router: a route and its documentation
//! come from the same call. [`ApiDoc`] adds what is not per handler (info,
//! tags, security schemes, the shared error responses), and
//! [`CommonErrors`] the answers every operation may give (405, 500, 503).
//! The document is built and serialized once, on first use.

pub mod responses;
pub mod schemas;

use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use responses::{
    Conflict, Forbidden, Internal, MethodNotAllowed, NotFound, PayloadTooLarge, RateLimited,
    SessionLimit, Unauthorized, Unavailable, ValidationFailed,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sessiond",
        description = "Session management and revocation for multi-tenant applications: \
sign-in, rotating refresh tokens, immediate revocation, admin APIs per tenant, audited support \
access for platform admins, RFC 7662/7009 endpoints and forward-auth.\n\n\
Every error body is `{error, message, retryable}` plus `revoked_reason` / `details` where they \
apply (schema `Error`); every 401 carries `WWW-Authenticate`, 429 and 503 carry `Retry-After`, \
405 carries `Allow`. Answers that carry tokens send `Cache-Control: no-store`. Request bodies \
over 64 KiB are refused with 413. Times are RFC 3339 UTC with milliseconds; ids are UUIDv7; a \
tenant's id is its slug.\n\nThis document is generated from the server's code.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/")),
    tags(
        (name = "auth", description = "Sign-in, refresh, sign-out, identity (SPEC §4)."),
        (name = "oauth", description = "RFC 7662 introspection and RFC 7009 revocation."),
        (name = "sessions", description = "A tenant's sessions: list, show, revoke (SPEC §5)."),
        (name = "users", description = "A tenant's users (SPEC §5)."),
        (name = "clients", description = "Service clients of resource servers (SPEC §5)."),
        (name = "webhooks", description = "Revocation events: webhook endpoints, their deliveries, the live stream (README, Reacting to revocations)."),
        (name = "ssf", description = "OpenID Shared Signals Framework 1.0 transmitter (CAEP session-revoked SETs), for service clients."),
        (name = "policy", description = "A tenant's session policy (SPEC §5)."),
        (name = "audit", description = "Append-only, hash-chained audit logs."),
        (name = "support", description = "Support access: requests, grants, support sessions (SPEC §6)."),
        (name = "platform", description = "Global admins: tenants, platform audit (SPEC §6). \
Backup is an operator act on the host (`sessiond backup`), never an HTTP route."),
        (name = "ops", description = "Health, readiness, keys, metrics, this document (SPEC §7)."),
        (name = "browser", description = "Cookie-based endpoints for the embedded admin UI (CSRF-guarded)."),
    ),
    security(("bearerAuth" = [])),
    components(
        // Schemas only parameters name (`IntoParams` does not collect them).
        schemas(
            schemas::ErrorBody, schemas::ErrorCode, schemas::StatusFilter, schemas::SessionSort, schemas::AuditExportFormat,
            crate::domain::Timestamp, crate::domain::UserId, crate::domain::TenantId
        ),
        responses(
            ValidationFailed, Unauthorized, Forbidden, NotFound, Conflict, SessionLimit,
            PayloadTooLarge, RateLimited, Internal, Unavailable, MethodNotAllowed
        ),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// Bearer JWT for the API, HTTP Basic for introspection, the UI's cookies.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from login, refresh or a support session (EdDSA JWT, \
                         `typ` at+jwt).",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "clientBasic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "A tenant's service client: `client_id:client_secret` (introspection).",
                    ))
                    .build(),
            ),
        );
        for (name, cookie, what) in [
            (
                "refreshCookie",
                "__Host-sessiond_rt",
                "Admin UI: the signed-in admin's refresh token (HttpOnly).",
            ),
            (
                "supportRefreshCookie",
                "__Host-sessiond_support_rt",
                "Admin UI: a support session's refresh token (HttpOnly).",
            ),
        ] {
            c.add_security_scheme(
                name,
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(cookie, what))),
            );
        }
    }
}

/// What any operation may answer, whatever its handler: 405 (a wrong
/// method on its path), 503 (`request_timeout` covers every route, storage
/// and load errors most) and, except for the `ops` probes, 500.
pub struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        fn reference<'r, R: ToResponse<'r>>() -> RefOr<utoipa::openapi::Response> {
            RefOr::Ref(Ref::from_response_name(R::response().0))
        }
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                let ops = op
                    .tags
                    .as_ref()
                    .is_some_and(|t| t.first().is_some_and(|t| t == "ops"));
                let r = &mut op.responses.responses;
                r.entry("405".into())
                    .or_insert_with(reference::<MethodNotAllowed>);
                if !ops {
                    r.entry("500".into()).or_insert_with(reference::<Internal>);
                }
                r.entry("503".into())
                    .or_insert_with(reference::<Unavailable>);
            }
        }
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The whole document: [`ApiDoc`] plus every operation registered in `http::api()`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = super::api().into_openapi();
    CommonErrors.modify(&mut doc);
    doc
}

static JSON: LazyLock<Vec<u8>> = LazyLock::new(|| match serde_json::to_vec(&document()) {
    Ok(bytes) => bytes,
    Err(e) => {
        tracing::error!(error = %e, "cannot serialize the OpenAPI document");
        b"{}".to_vec()
    }
});

/// The document as served (serialized once).
pub fn json() -> &'static [u8] {
    &JSON
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RevokeReason;
    use crate::service::Error;

    /// One of each error; the match makes a new variant a compile error here.
    fn every_error() -> Vec<Error> {
        let all = vec![
            Error::TokenMissing,
            Error::TokenInvalid,
            Error::TokenExpired,
            Error::SessionRevoked(RevokeReason::AdminRevoked),
            Error::SessionExpired,
            Error::RefreshTokenInvalid,
            Error::RefreshTokenReused,
            Error::InvalidCredentials,
            Error::InvalidClient,
            Error::Forbidden("x"),
            Error::NotFound,
            Error::Validation(vec![]),
            Error::Conflict("x".into()),
            Error::SessionLimitReached { limit: 3 },
            Error::PayloadTooLarge,
            Error::RateLimited {
                retry_after_secs: 1,
            },
            Error::StorageUnavailable,
            Error::Overloaded,
            Error::RequestTimeout,
            Error::MethodNotAllowed {
                allow: "GET".into(),
            },
            Error::Internal("x".into()),
        ];
        for e in &all {
            match e {
                Error::TokenMissing
                | Error::TokenInvalid
                | Error::TokenExpired
                | Error::SessionRevoked(_)
                | Error::SessionExpired
                | Error::RefreshTokenInvalid
                | Error::RefreshTokenReused
                | Error::InvalidCredentials
                | Error::InvalidClient
                | Error::Forbidden(_)
                | Error::NotFound
                | Error::Validation(_)
                | Error::Conflict(_)
                | Error::SessionLimitReached { .. }
                | Error::PayloadTooLarge
                | Error::RateLimited { .. }
                | Error::StorageUnavailable
                | Error::Overloaded
                | Error::RequestTimeout
                | Error::MethodNotAllowed { .. }
                | Error::Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn error_code_schema_lists_exactly_the_codes_answered() {
        let doc = serde_json::to_value(document()).unwrap();
        let listed: std::collections::BTreeSet<String> = doc["components"]["schemas"]["ErrorCode"]
            ["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let mut answered: std::collections::BTreeSet<String> =
            every_error().iter().map(|e| e.code().to_owned()).collect();
        answered.extend(super::super::wire::CODES.iter().map(|c| (*c).to_owned()));
        assert_eq!(listed, answered);
        let revoked = &doc["components"]["schemas"]["RevokeReason"]["enum"];
        assert_eq!(
            revoked.as_array().map(Vec::len),
            Some(RevokeReason::ALL.len())
        );
    }
}
