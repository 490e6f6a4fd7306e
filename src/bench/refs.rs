//! The bare references, measured in the same run as the figures: what this
//! machine does with nothing of sessiond in the way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use crate::store::postgres::bare::BarePg;
pub use crate::store::redb::bare::{BareRedb, Commit};

/// An axum router with one handler answering "ok", on its own runtime with
/// as many workers as sessiond gets. Stops when dropped.
pub struct BareAxum {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BareAxum {
    pub fn start() -> Result<Self, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for BareAxum {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One password hash with sessiond's argon2 parameters.
pub fn argon2_hash() -> Result<Duration, String> {
    let pw = crate::auth::Secret::new("correct horse battery staple");
    let t = Instant::now();
    crate::auth::password::hash_blocking(&pw)?;
    Ok(t.elapsed())
}
