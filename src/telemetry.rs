//! Logging: human-readable by default, JSON lines for machines. Logs go to
//! stderr; nothing secret is ever a field (secrets have redacting `Debug`).

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SESSIOND_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Run `f`, turning a panic into `Err(message)` without printing a stack
/// trace. For storage reads of a possibly corrupt file (CLI and start-up).
pub fn quietly<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    // One at a time: two overlapping swaps would restore the silent hook.
    static SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = SWAP.lock().unwrap_or_else(|p| p.into_inner());
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned())
    })
}

/// Panics are logged as one line (message and location), never a stack
/// trace on the operator's terminal. `quietly` silences them where a panic
/// is an expected way for the storage engine to report a corrupt file.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_owned();
        tracing::error!(%thread, %at, "panic: {}", msg.replace('\n', " "));
    }));
}
