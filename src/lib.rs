//! sessiond: session management and revocation for multi-tenant applications.
//!
//! Layers (DESIGN.md §1): `http` → `service` → `store`, with `domain` (pure
//! types and rules) and `auth` (tokens, passwords, the `TenantScope`
//! capability) beside them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod domain;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod seed;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod ui;

pub use http::app;
