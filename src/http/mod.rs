//! The JSON API: router and layers. Handlers extract, call one service
//! function, and map the result.

pub mod admins;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod conn;
pub mod error;
pub mod extract;
pub mod grants;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod own_sessions;
pub mod platform;
pub mod sessions;
pub mod ssf;
pub mod state;
pub mod users;
pub mod webhooks;
pub mod wire;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub use state::AppState;

/// Request bodies above this are refused with 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The bulk revocation body: 10,000 session ids fit.
pub const BULK_BODY_LIMIT: usize = 512 * 1024;

/// Every route of the API, each registered with its OpenAPI operation.
///
/// To add a route: annotate the handler with `#[utoipa::path(method, path =
/// "...", responses(...))]` (see `openapi` for the shared error responses)
/// and add `.routes(routes!(module::handler))` here; handlers of one path
/// share a `routes!`. Never add a route with `.route(...)`: it would be
/// missing from `/openapi.json` (and `tests/it/openapi.rs` refuses it).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::platform_login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::verify))
        .routes(routes!(own_sessions::list))
        .routes(routes!(own_sessions::revoke))
        .routes(routes!(own_sessions::revoke_others))
        .routes(routes!(auth::introspect))
        .routes(routes!(auth::oauth_revoke))
        .routes(routes!(platform::list_tenants, platform::create_tenant))
        .routes(routes!(audit::platform_query))
        .routes(routes!(admins::list_keys))
        .routes(routes!(admins::rotate_keys))
        .routes(routes!(admins::list_admins, admins::create_admin))
        .routes(routes!(admins::disable_admin))
        .routes(routes!(admins::enable_admin))
        .routes(routes!(admins::set_admin_password))
        .routes(routes!(grants::my_grants))
        .routes(routes!(grants::request_access))
        .routes(routes!(grants::start_support_session))
        .routes(routes!(grants::list, grants::grant))
        .routes(routes!(grants::approve))
        .routes(routes!(grants::deny))
        .routes(routes!(grants::revoke))
        .routes(routes!(sessions::list))
        // Room for MAX_IDS session ids in one request.
        .routes(routes!(sessions::revoke_bulk).layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)))
        .routes(routes!(sessions::show))
        .routes(routes!(sessions::revoke_one))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::show_user, users::patch_user))
        .routes(routes!(users::set_password))
        .routes(routes!(sessions::revoke_user))
        .routes(routes!(audit::query))
        .routes(routes!(audit::export))
        .routes(routes!(audit::verify))
        .routes(routes!(users::list_clients, users::create_client))
        .routes(routes!(users::delete_client))
        .routes(routes!(users::get_policy, users::put_policy))
        .routes(routes!(webhooks::list, webhooks::create))
        .routes(routes!(webhooks::show, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(webhooks::stream))
        .routes(routes!(ssf::configuration))
        .routes(routes!(
            ssf::create_stream,
            ssf::read_stream,
            ssf::update_stream,
            ssf::replace_stream,
            ssf::delete_stream
        ))
        .routes(routes!(ssf::read_status, ssf::update_status))
        .routes(routes!(ssf::verify))
        .routes(routes!(ssf::poll))
        .routes(routes!(ops::jwks))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(metrics::render_guarded))
        .routes(routes!(ops::openapi))
        .merge(browser::routes())
}

pub fn app(state: AppState) -> Router {
    metrics::init();
    let (api, _) = api().split_for_parts();
    let routes = api
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
