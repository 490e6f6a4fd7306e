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
use crate::store::{CheckReport, Closer, DB_FILE, Location, Store, check_file, check_offline};

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

struct Local<'a>(&'a mut (dyn Write + Send));

impl Output for Local<'_> {
    fn out(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }
}

pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    loc: &Location,
    req: Request,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    if let (Request::Check, Location::File { dir, .. }) = (&req, loc) {
        let r = check_offline(dir)?;
        return writeln!(out, "{}", summary(&r)).map_err(|e| e.to_string());
    }
    let store = Store::open_at(loc).map_err(|e| e.to_string())?;
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
/// after checking it in full. An existing database is replaced only if the
/// backup is at least as new (its last recorded change), or with `force`;
/// the replaced file is kept beside it. Answers the backup's report and the
/// replaced file, if any.
pub(super) fn restore(
    dir: &Path,
    from: &Path,
    pass: Option<&crate::auth::Secret>,
    force: bool,
) -> Result<(CheckReport, Option<std::path::PathBuf>), String> {
    let dest = dir.join(DB_FILE);
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
        if !dest.exists() {
            std::fs::hard_link(&tmp, &dest)
                .map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
            return Ok((report, None));
        }
        refuse_unless_forced(&dest, &report, force)?;
        let kept = dest.with_file_name(format!("{DB_FILE}.replaced-{}.bak", uuid::Uuid::now_v7()));
        std::fs::hard_link(&dest, &kept)
            .map_err(|e| format!("cannot keep the current file as {}: {e}", kept.display()))?;
        // rename(2) replaces atomically: a crash leaves the old file or the backup.
        std::fs::rename(&tmp, &dest)
            .map_err(|e| format!("cannot replace {}: {e}", dest.display()))?;
        Ok((report, Some(kept)))
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// The current database may be replaced: it is older than the backup, or `force`.
fn refuse_unless_forced(dest: &Path, backup: &CheckReport, force: bool) -> Result<(), String> {
    let shown = dest.display();
    let current = match check_file(dest) {
        Err(e) if e.contains("in use") => {
            return Err(format!("{e}: stop the server before restoring"));
        }
        other => other,
    };
    if force {
        return Ok(());
    }
    let at = |t: Option<crate::domain::Timestamp>| {
        t.map_or_else(|| "never".to_owned(), crate::domain::Timestamp::to_rfc3339)
    };
    match current {
        Ok(c) if c.last_change <= backup.last_change => Ok(()),
        Ok(c) => Err(format!(
            "{shown} is newer than the backup (last change {} vs {}); pass --force to replace it (it is kept beside as a .bak)",
            at(c.last_change),
            at(backup.last_change)
        )),
        Err(e) => Err(format!(
            "{shown} exists and cannot be compared ({e}); pass --force to replace it (it is kept beside as a .bak)"
        )),
    }
}
