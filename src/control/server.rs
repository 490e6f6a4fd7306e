//! The server end of the control socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;

use super::{MAX_REQUEST, Output, Request, SOCKET, commands, write_frame};
use crate::service::Service;

/// The listening socket; removed (and its accept loop stopped) on drop.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Bind `DATA_DIR/control.sock` (mode 0600) and serve it. The caller holds
/// the database lock, so a socket file left there is stale.
pub fn start(data_dir: &Path, svc: Arc<Service>) -> Result<ControlSocket, String> {
    let path = data_dir.join(SOCKET);
    let fail = |e: &dyn std::fmt::Display| format!("cannot create {}: {e}", path.display());
    let _ = std::fs::remove_file(&path);
    // Bind inside a private directory, then move into place: the socket is
    // never reachable by anyone else, not even between bind and chmod.
    let private = data_dir.join(format!(".control-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir(&private).map_err(|e| fail(&e))?;
    let bound = (|| {
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700))?;
        let tmp = private.join(SOCKET);
        let listener = std::os::unix::net::UnixListener::bind(&tmp)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, &path)?;
        listener.set_nonblocking(true)?;
        Ok::<_, std::io::Error>(listener)
    })();
    let _ = std::fs::remove_dir_all(&private);
    let listener = UnixListener::from_std(bound.map_err(|e| fail(&e))?).map_err(|e| fail(&e))?;
    let owner = std::fs::metadata(&path).map_err(|e| fail(&e))?.uid();
    let rt = tokio::runtime::Handle::current();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let uid = stream.peer_cred().map(|c| c.uid()).ok();
            if uid != Some(owner) && uid != Some(0) {
                tracing::warn!(
                    ?uid,
                    "control socket: refused a connection from another user"
                );
                continue;
            }
            let Ok(stream) = stream.into_std() else {
                continue;
            };
            let (svc, rt) = (svc.clone(), rt.clone());
            std::thread::spawn(move || serve_one(stream, &svc, &rt));
        }
    });
    Ok(ControlSocket { path, task })
}

struct Frames<W: Write>(W);

impl<W: Write + Send> Output for Frames<W> {
    fn out(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write_frame(&mut self.0, b'O', bytes)
    }
}

fn serve_one(stream: std::os::unix::net::UnixStream, svc: &Service, rt: &tokio::runtime::Handle) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut out = Frames(std::io::BufWriter::new(write_half));
    let mut line = String::new();
    let read = BufReader::new(&stream)
        .take(MAX_REQUEST as u64)
        .read_line(&mut line);
    let outcome = match read {
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                let what = command_name(&req);
                tracing::info!(command = what, "control socket command");
                commands::run(rt, svc, req, &mut out)
            }
            Err(e) => Err(format!("bad control request: {e}")),
        },
        Err(e) => Err(format!("cannot read the control request: {e}")),
    };
    let mut exit = vec![u8::from(outcome.is_err())];
    if let Err(msg) = outcome {
        exit.extend_from_slice(msg.as_bytes());
    }
    let _ = write_frame(&mut out.0, b'X', &exit);
    let _ = out.0.flush();
}

fn command_name(r: &Request) -> &'static str {
    match r {
        Request::TenantCreate { .. } => "tenant create",
        Request::UserCreate { .. } => "user create",
        Request::AuditVerify { .. } => "audit verify",
        Request::AuditExport { .. } => "audit export",
        Request::KeysList => "keys list",
        Request::KeysRotate { .. } => "keys rotate",
        Request::AdminList => "admin list",
        Request::AdminCreate { .. } => "admin create",
        Request::AdminSetDisabled { disabled: true, .. } => "admin disable",
        Request::AdminSetDisabled {
            disabled: false, ..
        } => "admin enable",
        Request::AdminResetPassword { .. } => "admin reset-password",
        Request::Backup => "backup",
        Request::Check => "check",
    }
}
