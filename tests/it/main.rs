#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! One integration-test binary: through `app()` (no socket) and black-box
//! against the real binary.

mod audit;
mod auth;
mod blackbox;
mod errors;
mod grants;
mod grants_blackbox;
mod hardening;
mod introspect;
mod isolation;
mod openapi;
mod ops;
mod retention;
mod sessions;
mod support;
mod tokens;
mod users_admin;
