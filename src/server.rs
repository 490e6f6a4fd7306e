//! `sessiond serve`: open the store, start the service, serve until a signal.

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::Secret;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::http::conn::{self, ConnLimits};
use crate::http::{AppState, app};
use crate::service::Service;
use crate::store::{Location, Store};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub listen: String,
    /// Serve `/metrics` here instead of on `listen`.
    pub metrics_listen: Option<String>,
    pub demo: bool,
    /// Where the data lives (the file's page cache, or the PostgreSQL URL).
    pub location: Location,
    pub limits: ConnLimits,
    pub config: Config,
    pub bootstrap_email: Option<String>,
    pub bootstrap_password: Option<Secret>,
}

pub async fn serve(opts: ServeOptions) -> Result<(), String> {
    // Before anything is bound: a stop request that arrives right after
    // `listening on` must take the graceful path, not the default action.
    let shutdown = shutdown_signal()?;
    let store = Store::open_at(&opts.location).map_err(|e| e.to_string())?;
    let closer = store.closer();
    // Bind first so the messages below (and the default public URL) name the real address.
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut config = opts.config.clone();
    config
        .public_url
        .get_or_insert_with(|| format!("http://{addr}"));
    let svc = Service::start(store, Arc::new(SystemClock), config).await?;

    let ui = format!("http://{addr}/");

    let (email, password) = (
        opts.bootstrap_email.clone(),
        opts.bootstrap_password.clone(),
    );
    match svc.bootstrap_global_admin(email, password).await {
        Ok(Some((email, Some(password)))) => eprintln!(
            "\n  Created the global admin (shown once; store it now):\n    email:    {email}\n    password: {}\n  Sign in at {ui} (\"Platform administrator? Sign in here\"), or POST /v1/platform/auth/login\n",
            password.expose()
        ),
        Ok(Some((email, None))) => {
            tracing::info!(%email, "created the global admin from SESSIOND_BOOTSTRAP_ADMIN_*")
        }
        Ok(None) => {}
        Err(e) => return Err(format!("bootstrap failed: {e}")),
    }
    if opts.demo {
        crate::demo::load_if_empty(&svc, &ui).await?;
    }
    let metrics = match &opts.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("cannot listen on {at} (--metrics-listen): {e}"))?;
            let shown = l.local_addr().map_err(|e| e.to_string())?;
            tracing::info!("metrics on http://{shown}/metrics");
            let router = crate::http::metrics::router(AppState::new(svc.clone()));
            let limits = opts.limits;
            Some(tokio::spawn(async move {
                conn::serve(l, router, limits, std::future::pending()).await;
            }))
        }
        None => None,
    };
    tracing::info!("listening on http://{addr}");

    // CLI commands reach the running server here (the file is ours while we hold it).
    // On PostgreSQL the data dir holds only the control socket.
    let _ = std::fs::create_dir_all(&opts.data_dir);
    let control = match crate::control::server::start(&opts.data_dir, svc.clone()) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(error = %e, "no control socket: CLI commands cannot reach this server");
            None
        }
    };
    let background = svc.spawn_background();
    let router = app(AppState::new(svc.clone()));
    conn::serve(listener, router, opts.limits, shutdown).await;
    if let Some(m) = metrics {
        m.abort();
    }
    drop(control);
    background.abort();
    let _ = background.await;
    // In-flight requests are done; write the last activity before exiting.
    if let Err(e) = svc.flush_activity().await {
        tracing::warn!(error = %e, "final activity flush failed");
    }
    // Close the database cleanly: every handle is dropped, then the writer is joined.
    drop(svc);
    if let Some(c) = closer {
        let _ = tokio::task::spawn_blocking(move || c.wait()).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Install the SIGTERM and SIGINT handlers now; the future resolves on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind| signal(kind).map_err(|e| format!("cannot install signal handlers: {e}"));
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}
