//! Operator commands on a stopped server's file: the CLI opens it itself.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::backup_file::open_backup;
use crate::control::commands::{self, summary};
use crate::control::{Output, Request};
use crate::service::Service;
use crate::store::{CheckReport, Closer, DB_FILE, Store, check_file, check_offline};

/// A service over the database for one CLI command. Dropping it closes the
/// database cleanly (the writer thread is joined).
struct CliService {
    svc: Option<Arc<Service>>,
    closer: Option<Closer>,
}

impl Drop for CliService {
    fn drop(&mut self) {
        self.svc.take();
        if let Some(c) = self.closer.take() {
            c.wait();
        }
    }
}

struct Local<'a>(&'a mut dyn Write);

impl Output for Local<'_> {
    fn out(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }
}

pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    req: Request,
    out: &mut dyn Write,
) -> Result<(), String> {
    if let Request::Check = req {
        let r = check_offline(dir)?;
        return writeln!(out, "{}", summary(&r)).map_err(|e| e.to_string());
    }
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let closer = store.closer();
    let svc = rt.block_on(Service::start(
        store,
        Arc::new(SystemClock),
        Config::default(),
    ))?;
    let svc = CliService {
        svc: Some(svc),
        closer,
    };
    let Some(s) = svc.svc.as_deref() else {
        return Err("the service did not start".into());
    };
    let r = commands::run(rt.handle(), s, req, &mut Local(out));
    drop(svc);
    r
}

/// Put a backup (decrypted if need be) in place as `dir/sessiond.redb`,
/// after checking it in full. Refuses a data dir that already holds a database.
pub(super) fn restore(
    dir: &Path,
    from: &Path,
    pass: Option<&crate::auth::Secret>,
) -> Result<CheckReport, String> {
    let dest = dir.join(DB_FILE);
    if dest.exists() {
        return Err(format!(
            "{} already exists; restore into an empty data dir (move the old file away first)",
            dest.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".restore-{}.redb", uuid::Uuid::now_v7()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        open_backup(from, pass, &mut f)?;
        f.sync_all().map_err(|e| e.to_string())?;
        drop(f);
        let report = check_file(&tmp).map_err(|e| format!("the backup does not check out: {e}"))?;
        std::fs::hard_link(&tmp, &dest)
            .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
        Ok(report)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}
