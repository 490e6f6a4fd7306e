//! The CLI end of the control socket.

use std::io::{BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::{Request, SOCKET, read_frame};

/// Send `req` to the server running on `data_dir`, streaming its stdout into
/// `out`. `None` if no server listens there.
pub fn call(data_dir: &Path, req: &Request, out: &mut dyn Write) -> Option<Result<(), String>> {
    let path = data_dir.join(SOCKET);
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return None;
        }
        Err(e) => {
            return Some(Err(format!(
                "cannot reach the server at {}: {e}",
                path.display()
            )));
        }
    };
    Some(exchange(stream, req, out))
}

fn exchange(stream: UnixStream, req: &Request, out: &mut dyn Write) -> Result<(), String> {
    let lost = |e: &dyn std::fmt::Display| format!("lost the connection to the server: {e}");
    let mut line = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    line.push(b'\n');
    let mut w = BufWriter::new(&stream);
    w.write_all(&line)
        .and_then(|()| w.flush())
        .map_err(|e| lost(&e))?;
    drop(w);
    let mut r = std::io::BufReader::new(&stream);
    loop {
        match read_frame(&mut r).map_err(|e| lost(&e))? {
            None => return Err(lost(&"it closed before answering")),
            Some((b'O', bytes)) => out
                .write_all(&bytes)
                .map_err(|e| format!("cannot write the output: {e}"))?,
            Some((b'X', exit)) => {
                out.flush()
                    .map_err(|e| format!("cannot write the output: {e}"))?;
                return match exit.split_first() {
                    Some((0, _)) => Ok(()),
                    Some((_, msg)) => Err(String::from_utf8_lossy(msg).into_owned()),
                    None => Err("the server sent an empty exit frame".into()),
                };
            }
            Some((kind, _)) => return Err(format!("unknown frame {kind} from the server")),
        }
    }
}
