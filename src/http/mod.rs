//! The JSON API: router and layers. Handlers extract, call one service
//! function, and map the result.

pub mod audit;
pub mod auth;
pub mod browser;
pub mod conn;
pub mod error;
pub mod extract;
pub mod grants;
pub mod metrics;
pub mod ops;
pub mod platform;
pub mod sessions;
pub mod state;
pub mod users;
pub mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{delete, get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

pub use state::AppState;

/// Request bodies above this are refused with 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The bulk revocation body: 10,000 session ids fit.
pub const BULK_BODY_LIMIT: usize = 512 * 1024;

pub fn app(state: AppState) -> Router {
    metrics::init();
    let api = Router::new()
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/platform/auth/login", post(auth::platform_login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/me", get(auth::me))
        .route("/v1/auth/verify", get(auth::verify))
        .route("/v1/oauth/introspect", post(auth::introspect))
        .route("/v1/oauth/revoke", post(auth::oauth_revoke))
        .route(
            "/v1/platform/tenants",
            get(platform::list_tenants).post(platform::create_tenant),
        )
        .route("/v1/platform/audit", get(audit::platform_query))
        .route("/v1/platform/grants", get(grants::my_grants))
        .route(
            "/v1/platform/tenants/{t}/access-requests",
            post(grants::request_access),
        )
        .route(
            "/v1/platform/tenants/{t}/support-sessions",
            post(grants::start_support_session),
        )
        .route(
            "/v1/tenants/{t}/support-grants",
            get(grants::list).post(grants::grant),
        )
        .route(
            "/v1/tenants/{t}/support-grants/{gid}/approve",
            post(grants::approve),
        )
        .route(
            "/v1/tenants/{t}/support-grants/{gid}/deny",
            post(grants::deny),
        )
        .route(
            "/v1/tenants/{t}/support-grants/{gid}/revoke",
            post(grants::revoke),
        )
        .route("/v1/tenants/{t}/sessions", get(sessions::list))
        .route(
            "/v1/tenants/{t}/sessions/revoke",
            // Room for MAX_IDS session ids in one request.
            post(sessions::revoke_bulk).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route("/v1/tenants/{t}/sessions/{sid}", get(sessions::show))
        .route(
            "/v1/tenants/{t}/sessions/{sid}/revoke",
            post(sessions::revoke_one),
        )
        .route(
            "/v1/tenants/{t}/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/v1/tenants/{t}/users/{uid}",
            get(users::show_user).patch(users::patch_user),
        )
        .route(
            "/v1/tenants/{t}/users/{uid}/password",
            post(users::set_password),
        )
        .route(
            "/v1/tenants/{t}/users/{uid}/revoke-sessions",
            post(sessions::revoke_user),
        )
        .route("/v1/tenants/{t}/audit", get(audit::query))
        .route("/v1/tenants/{t}/audit/export", get(audit::export))
        .route("/v1/tenants/{t}/audit/verify", get(audit::verify))
        .route(
            "/v1/tenants/{t}/clients",
            get(users::list_clients).post(users::create_client),
        )
        .route("/v1/tenants/{t}/clients/{id}", delete(users::delete_client))
        .route(
            "/v1/tenants/{t}/policy",
            get(users::get_policy).put(users::put_policy),
        )
        .route("/.well-known/jwks.json", get(ops::jwks))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(ops::openapi));

    let routes = api
        .merge(browser::routes())
        .fallback(crate::ui::serve)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::request_timeout,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        // 5xx causes are logged where they arise (internal errors) or once per
        // state change (storage outages), not once per response.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state);
    // Outside the routes: their 405 gets its `Allow` header on the way out.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::map_response(ops::json_method_not_allowed))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}
