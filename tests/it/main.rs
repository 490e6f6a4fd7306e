#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One integration-test binary: through `app()` (no socket) and black-box
//! against the real binary.

mod admins;
mod audit;
mod auth;
mod blackbox;
mod client_lib;
mod day_two_cli;
mod errors;
mod fuzz;
mod grants;
mod grants_blackbox;
mod hardening;
mod incident;
mod introspect;
mod isolation;
mod keys;
mod migrate;
mod multinode;
mod openapi;
mod ops;
mod own_sessions;
mod packaging;
mod pg_tls;
mod retention;
mod sessions;
mod sign_in_events;
mod ssf;
mod store_api;
mod store_events;
mod store_queries;
mod support;
mod tokens;
mod users_admin;
mod webhooks;
mod webhooks_blackbox;
