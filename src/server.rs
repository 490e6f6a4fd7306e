//! `sessiond serve`: open the store, start the service, serve until a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::Secret;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::http::{AppState, app};
use crate::service::Service;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub listen: String,
    pub demo: bool,
    pub config: Config,
    pub bootstrap_email: Option<String>,
    pub bootstrap_password: Option<Secret>,
}

pub async fn serve(opts: ServeOptions) -> Result<(), String> {
    let store = Store::open(&opts.data_dir).map_err(|e| e.to_string())?;
    let closer = store.closer();
    let svc = Service::start(store, Arc::new(SystemClock), opts.config.clone()).await?;

    // Bind first so the messages below can name the real address.
    let listener = tokio::net::TcpListener::bind(&opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
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
    tracing::info!("listening on http://{addr}");

    let background = svc.spawn_background();
    let router = app(AppState::new(svc.clone()));
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
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
    served.map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
