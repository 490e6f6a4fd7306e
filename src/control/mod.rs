//! The local control socket (`DATA_DIR/control.sock`, mode 0600): the CLI's
//! commands reach a running server through it, the way kanidm's
//! `recover-account` does. Only the service's own user (or root) may connect.
//!
//! Wire format: the client sends one JSON [`Request`] line; the server
//! answers with frames `[kind: u8][len: u32 BE][payload]`: `O` stdout bytes,
//! then one final `X` (payload: exit code byte, then the one-line error
//! message if the code is not 0).

pub mod backup_file;
pub mod client;
pub mod commands;
pub mod server;

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::auth::Secret;

pub const SOCKET: &str = "control.sock";
/// Largest request line and largest frame accepted.
const MAX_REQUEST: usize = 64 * 1024;
const MAX_FRAME: usize = 1 << 20;

/// One CLI command, as the socket carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    TenantCreate {
        slug: String,
        name: String,
        admin_email: String,
        admin_name: String,
        /// `None`: generate one and print it once.
        admin_password: Option<Secret>,
    },
    UserCreate {
        tenant: String,
        email: String,
        name: String,
        role: String,
        password: Option<Secret>,
    },
    AuditVerify {
        tenant: Option<String>,
    },
    AuditExport {
        tenant: String,
        since: Option<String>,
    },
    KeysList,
    KeysRotate {
        activate_in_secs: Option<i64>,
    },
    AdminList,
    AdminCreate {
        email: String,
        name: Option<String>,
        /// `None`: generate one and print it once.
        password: Option<Secret>,
    },
    AdminSetDisabled {
        email: String,
        disabled: bool,
    },
    /// A new password, printed once; every session of that admin ends.
    AdminResetPassword {
        email: String,
    },
    /// The bytes of a consistent copy of the database, on stdout.
    Backup,
    Check,
}

/// Where a command's output goes: stdout, or a backup file.
pub trait Output: Send {
    fn out(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// Stdout as a `Write`, for code that streams (audit export, backup).
pub struct Stdout<'a>(pub &'a mut dyn Output);

impl Write for Stdout<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.out(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    for chunk in payload
        .chunks(MAX_FRAME)
        .chain(payload.is_empty().then_some(&[][..]))
    {
        let len = u32::try_from(chunk.len()).map_err(io::Error::other)?;
        w.write_all(&[kind])?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(chunk)?;
    }
    Ok(())
}

/// The next frame, or `None` at a clean end of stream.
pub(crate) fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match r.read_exact(&mut head[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..])?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_large_payloads_are_split() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b'O', &vec![7u8; MAX_FRAME + 10]).unwrap();
        write_frame(&mut buf, b'X', &[0]).unwrap();
        let mut r = buf.as_slice();
        let (k, a) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!((k, a.len()), (b'O', MAX_FRAME));
        let (_, b) = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(b.len(), 10);
        assert_eq!(read_frame(&mut r).unwrap(), Some((b'X', vec![0])));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn an_oversized_frame_is_refused_not_allocated() {
        let mut buf = vec![b'O'];
        buf.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_frame(&mut buf.as_slice()).is_err());
    }

    #[test]
    fn requests_carry_passwords_without_printing_them() {
        let r = Request::UserCreate {
            tenant: "acme".into(),
            email: "a@acme.test".into(),
            name: "A".into(),
            role: "member".into(),
            password: Some(Secret::new("hunter22 hunter22")),
        };
        assert!(!format!("{r:?}").contains("hunter22"));
        let line = serde_json::to_string(&r).unwrap();
        let back: Request = serde_json::from_str(&line).unwrap();
        assert!(matches!(back, Request::UserCreate { .. }));
    }
}
