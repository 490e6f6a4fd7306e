//! The error answers of SPEC §3 as reusable response components: every one
//! carries the `Error` schema; 401 documents `WWW-Authenticate`, 429 and 503
//! `Retry-After`, 405 `Allow`. Handlers name them in `#[utoipa::path]`
//! (`(status = 404, response = NotFound)`); 405, 500 and 503 are added to
//! every operation by [`super::CommonErrors`].

use serde_json::json;
use utoipa::ToResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder};

fn error(description: &str, examples: &[(&str, serde_json::Value)]) -> ResponseBuilder {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Error")))
        .examples_from_iter(examples.iter().map(|(name, v)| {
            (
                (*name).to_owned(),
                ExampleBuilder::new().value(Some(v.clone())).build(),
            )
        }))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

fn header(description: &str, ty: Type) -> Header {
    let integer = ty == Type::Integer;
    let mut schema = ObjectBuilder::new().schema_type(ty);
    if integer {
        schema = schema.minimum(Some(1));
    }
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn retry_after() -> Header {
    header("Seconds to wait.", Type::Integer)
}

macro_rules! error_response {
    ($(#[$doc:meta])* $name:ident => $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), ($build).build().into())
            }
        }
    };
}

error_response!(
    /// 400
    ValidationFailed => error(
        "validation_failed: malformed or invalid input; `details` names the fields.",
        &[("fields", json!({"error": "validation_failed", "message": "validation failed",
            "retryable": false, "details": {"email": "must be an email address"}}))],
    )
);

error_response!(
    /// 401, with `WWW-Authenticate`.
    Unauthorized => error(
        "Not authenticated: token_missing, token_invalid, token_expired (retryable: refresh \
         once, then retry), session_revoked (with revoked_reason), session_expired, or for \
         login/refresh/introspection the codes listed in the operation.",
        &[
            ("missing", json!({"error": "token_missing", "message": "no bearer token",
                "retryable": false})),
            ("revoked", json!({"error": "session_revoked", "message": "session revoked",
                "retryable": false, "revoked_reason": "admin_revoked"})),
        ],
    )
    .header(
        "WWW-Authenticate",
        header(
            "RFC 6750: `Bearer realm=\"sessiond\", error=\"invalid_token\", \
             error_description=\"CODE\"`; without error attributes (`Bearer \
             realm=\"sessiond\"`) when no token was sent.",
            Type::String,
        ),
    )
);

error_response!(
    /// 403
    Forbidden => error(
        "forbidden: authenticated, not allowed (e.g. not an org admin of this tenant, or a \
         global admin without an active grant).",
        &[],
    )
);

error_response!(
    /// 404
    NotFound => error(
        "not_found: no such resource, or it belongs to another tenant.",
        &[],
    )
);

error_response!(
    /// 409
    Conflict => error(
        "conflict: duplicate slug/email, or a state that does not allow the change.",
        &[],
    )
);

error_response!(
    /// 409 at login
    SessionLimit => error(
        "session_limit_reached (not retryable): the user holds the policy's `max_sessions_per_user` \
         active sessions and its `session_limit_action` is `refuse`; the body names the `limit`.",
        &[(
            "limit",
            json!({"error": "session_limit_reached", "message": "this account already has 3 active sessions, the organization's limit: sign out of one of them (or ask an admin) first", "retryable": false, "limit": 3}),
        )],
    )
);

error_response!(
    /// 413
    PayloadTooLarge => error("payload_too_large: request body over 64 KiB.", &[])
);

error_response!(
    /// 429, with `Retry-After`.
    RateLimited => error(
        "rate_limited (retryable): too many failed attempts; wait Retry-After seconds.",
        &[],
    )
    .header("Retry-After", retry_after())
);

error_response!(
    /// 500
    Internal => error("internal (retryable): nothing else leaks.", &[])
);

error_response!(
    /// 503, with `Retry-After`.
    Unavailable => error(
        "storage_unavailable, overloaded (login queue full) or request_timeout — all \
         retryable: wait Retry-After seconds and retry.",
        &[],
    )
    .header("Retry-After", retry_after())
);

error_response!(
    /// 405, with `Allow`.
    MethodNotAllowed => error(
        "method_not_allowed: the path exists, the method does not; the Allow header lists \
         the methods.",
        &[],
    )
    .header("Allow", header("Methods this path serves.", Type::String))
);
