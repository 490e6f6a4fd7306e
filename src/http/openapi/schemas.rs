//! Schemas of the document that are not derived on a handler's own types:
//! identifiers and times (hand-written `ToSchema`, one component each), and
//! the shapes of answers a handler builds with `json!` (documentation only;
//! `tests/it/openapi.rs` checks real answers against them).

use std::borrow::Cow;
use std::collections::BTreeMap;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::domain::{ClientId, EndpointId, GrantId, Role, SessionId, TenantId, Timestamp, UserId};

const UUID_EXAMPLE: &str = "019ad0a4-5c1e-7b3a-9f10-2b7c4e8d9a01";

fn uuid_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .description(Some("UUIDv7, lower-case hyphenated."))
        .pattern(Some(
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        ))
        .examples([UUID_EXAMPLE])
        .into()
}

/// Every UUID id shares the one `Uuid` component.
macro_rules! uuid_schema {
    ($($t:ty),*) => {$(
        impl PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                uuid_schema()
            }
        }
        impl ToSchema for $t {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed("Uuid")
            }
        }
    )*};
}
uuid_schema!(UserId, SessionId, GrantId, ClientId, EndpointId);

impl PartialSchema for TenantId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$"))
            .min_length(Some(3))
            .max_length(Some(32))
            .description(Some("Tenant id = its slug; immutable."))
            .examples(["acme"])
            .into()
    }
}
impl ToSchema for TenantId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TenantSlug")
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 UTC with milliseconds."))
            .examples(["2026-11-30T02:21:12.345Z"])
            .into()
    }
}
impl ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

/// SPEC §3 error code.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ErrorCode {
    TokenMissing,
    TokenInvalid,
    TokenExpired,
    SessionRevoked,
    SessionExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    InvalidCredentials,
    InvalidClient,
    Forbidden,
    NotFound,
    ValidationFailed,
    Conflict,
    /// A login past the policy's `max_sessions_per_user` (`refuse`); the body names the `limit`.
    SessionLimitReached,
    PayloadTooLarge,
    RateLimited,
    Internal,
    StorageUnavailable,
    Overloaded,
    RequestTimeout,
    MethodNotAllowed,
    /// Answered for requests hyper cannot parse (see `http::wire`).
    BadRequest,
    UriTooLong,
    HeadersTooLarge,
    HttpVersionNotSupported,
}

/// Every error body (SPEC §3). `revoked_reason` is present with
/// session_revoked, `details` with validation_failed.
#[derive(ToSchema)]
#[schema(
    as = Error,
    examples(
        json!({"error": "validation_failed", "message": "validation failed", "retryable": false,
               "details": {"email": "must be an email address"}}),
        json!({"error": "session_revoked", "message": "session revoked", "retryable": false,
               "revoked_reason": "admin_revoked"})
    )
)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorCode,
    /// Human-readable; never contains secrets.
    message: String,
    /// true for token_expired, rate_limited, internal, storage_unavailable,
    /// overloaded and request_timeout.
    retryable: bool,
    #[schema(nullable = false)]
    revoked_reason: Option<crate::domain::RevokeReason>,
    /// validation_failed only: field name (dotted for nested fields, `body`
    /// or `query` for the whole input) → problem.
    #[schema(nullable = false)]
    details: Option<BTreeMap<String, String>>,
    /// session_limit_reached only: the policy's `max_sessions_per_user`.
    #[schema(nullable = false, minimum = 1)]
    limit: Option<i64>,
}

/// Roles a tenant user may hold.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TenantRole {
    Member,
    OrgAdmin,
}

/// A session's state as of now.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SessionStatus {
    Active,
    Revoked,
    Expired,
}

/// Which sessions a list shows.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum StatusFilter {
    Active,
    Revoked,
    All,
}

/// Order of a session list. `user_*` (by email), `ip_*` and `expires_*`
/// sort in memory: they answer 400 when more than 10,000 sessions match.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SessionSort {
    LastActivityDesc,
    LastActivityAsc,
    CreatedDesc,
    CreatedAsc,
    ExpiresAsc,
    ExpiresDesc,
    UserAsc,
    UserDesc,
    IpAsc,
    IpDesc,
}

/// An audit export's format.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AuditExportFormat {
    Ndjson,
    Csv,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RevokeCount {
    #[schema(minimum = 0)]
    revoked: u64,
}

/// Answer to a dry run: nothing was revoked.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WouldRevokeCount {
    #[schema(minimum = 0)]
    would_revoke: u64,
}

/// `{revoked: n}`, or `{would_revoke: n}` for a dry run.
pub struct BulkRevokeResult;

impl PartialSchema for BulkRevokeResult {
    fn schema() -> RefOr<Schema> {
        one_of::<RevokeCount, WouldRevokeCount>(
            "`{revoked: n}`, or `{would_revoke: n}` for a dry run.",
        )
    }
}
impl ToSchema for BulkRevokeResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<RevokeCount>(schemas);
        push::<WouldRevokeCount>(schemas);
    }
}

/// A force sign-out's answer.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignedOut {
    #[schema(minimum = 0)]
    revoked: u64,
    /// Whether the account is disabled now.
    disabled: bool,
}

/// `{revoked: n, disabled}`, or `{would_revoke: n}` for a dry run.
pub struct SignOutResult;

impl PartialSchema for SignOutResult {
    fn schema() -> RefOr<Schema> {
        one_of::<SignedOut, WouldRevokeCount>(
            "`{revoked: n, disabled}`, or `{would_revoke: n}` for a dry run.",
        )
    }
}
impl ToSchema for SignOutResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<SignedOut>(schemas);
        push::<WouldRevokeCount>(schemas);
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasswordChanged {
    /// Other sessions of the user revoked (`password_changed`); the caller's
    /// own session is kept.
    #[schema(minimum = 0)]
    sessions_revoked: u64,
}

/// A live token of the client's tenant. Access tokens add role, iss, aud and
/// jti; for a refresh token `exp` is the session's expiry.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IntrospectionActive {
    /// Always true here.
    active: bool,
    sub: UserId,
    tid: String,
    sid: SessionId,
    #[schema(nullable = false)]
    role: Option<Role>,
    exp: i64,
    iat: i64,
    #[schema(nullable = false)]
    iss: Option<String>,
    #[schema(nullable = false)]
    aud: Option<String>,
    #[schema(nullable = false)]
    jti: Option<String>,
    /// `Bearer` or `refresh_token`.
    token_type: String,
}

/// Unknown, expired, revoked, or another tenant's token: exactly this.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct IntrospectionInactive {
    /// Always false here.
    active: bool,
}

/// RFC 7662 introspection answer.
pub struct Introspection;

impl PartialSchema for Introspection {
    fn schema() -> RefOr<Schema> {
        one_of::<IntrospectionActive, IntrospectionInactive>("RFC 7662 introspection answer.")
    }
}
impl ToSchema for Introspection {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        push::<IntrospectionActive>(schemas);
        push::<IntrospectionInactive>(schemas);
    }
}

/// One entry of an append-only, hash-chained audit log.
#[derive(ToSchema)]
#[schema(as = AuditEntry)]
#[allow(dead_code)]
pub struct AuditEntryJson {
    #[schema(minimum = 1)]
    seq: u64,
    at: Timestamp,
    actor: crate::domain::Actor,
    /// What was done; every value this build writes is listed.
    #[schema(value_type = crate::domain::AuditAction)]
    action: String,
    #[schema(required = true)]
    target: Option<String>,
    #[schema(required = true)]
    reason: Option<String>,
    #[schema(required = true)]
    ip: Option<String>,
    /// Set when the actor worked through a support session.
    #[schema(required = true)]
    grant_id: Option<GrantId>,
    /// Free-form JSON, or null.
    #[schema(required = true)]
    details: Option<serde_json::Value>,
    /// SHA-256 (hex) over the entry's canonical content and prev_hash.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    hash: String,
    /// hash of the previous entry; 64 zeros for the first.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    prev_hash: String,
}

/// One page of audit entries, newest first.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditPage {
    items: Vec<AuditEntryJson>,
    /// Pass as `cursor` for the next page; null at the end.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// `sig`.
    #[schema(rename = "use")]
    use_: String,
    /// `EdDSA`.
    alg: String,
    kid: String,
    /// Public key, base64url.
    x: String,
}

/// Public signing keys: the next (pre-published), the current and retired ones.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Health {
    /// `ok`.
    status: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Readiness {
    /// `ready`, or why not (e.g. `storage_unavailable`).
    #[schema(examples("ready", "storage_unavailable"))]
    status: String,
}

// ---------- parameters ----------

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct TenantPath {
    /// Tenant slug.
    t: TenantId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct SessionPath {
    /// Tenant slug.
    t: TenantId,
    /// Session id.
    sid: SessionId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct UserPath {
    /// Tenant slug.
    t: TenantId,
    /// User id.
    uid: UserId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ClientPath {
    /// Tenant slug.
    t: TenantId,
    /// Service client id.
    id: ClientId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct WebhookPath {
    /// Tenant slug.
    t: TenantId,
    /// Webhook endpoint id.
    id: EndpointId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct DeliveryPath {
    /// Tenant slug.
    t: TenantId,
    /// Webhook endpoint id.
    id: EndpointId,
    /// The event's `seq`.
    seq: u64,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct GrantPath {
    /// Tenant slug.
    t: TenantId,
    /// Grant id.
    gid: GrantId,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct AdminPath {
    /// Global admin id.
    id: UserId,
}

/// The CSRF guard of the admin UI's cookie endpoints.
#[derive(IntoParams)]
#[into_params(parameter_in = Header, names("X-Sessiond-Csrf"))]
#[allow(dead_code)]
pub struct CsrfHeader(
    /// Must be `1`. Cross-site (`Sec-Fetch-Site: cross-site`) and cross-origin
    /// (`Origin` ≠ `Host`) requests are refused with 403.
    #[param(pattern = "^1$")]
    String,
);

// ---------- helpers ----------

fn one_of<A: ToSchema, B: ToSchema>(description: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Ref::from_schema_name(A::name()))
        .item(Ref::from_schema_name(B::name()))
        .description(Some(description))
        .into()
}

fn push<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}
