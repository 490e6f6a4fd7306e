//! Backup files: written atomically with mode 0600 (never over an existing
//! file), optionally encrypted with a passphrase; and restored into an empty
//! data dir after a full check.
//!
//! Encrypted format: `SESSIOND-BACKUP` + version byte 1, argon2id parameters
//! (m KiB, t, p as u32 BE), 16-byte salt, 19-byte STREAM nonce prefix; then
//! XChaCha20-Poly1305 STREAM (BE32) chunks of 64 KiB plaintext, each
//! authenticated with the header as associated data; the last chunk (0 to
//! 64 KiB) is sealed as last, so truncation is detected.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::generic_array::GenericArray;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};

use crate::auth::Secret;
use crate::auth::secret::fill_random;

const MAGIC: &[u8; 16] = b"SESSIOND-BACKUP\x01";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const HEADER: usize = 16 + 12 + 16 + 19;
/// argon2id for the passphrase: 64 MiB, 3 passes.
const KDF: (u32, u32, u32) = (64 * 1024, 3, 1);
pub const MIN_PASSPHRASE: usize = 12;

/// Read a passphrase file (its first line; trailing newline dropped).
pub fn read_passphrase(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the passphrase file {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    if line.chars().count() < MIN_PASSPHRASE {
        return Err(format!(
            "the passphrase in {} is too short (at least {MIN_PASSPHRASE} characters)",
            path.display()
        ));
    }
    Ok(Secret::new(line))
}

fn derive(pass: &Secret, salt: &[u8], (m, t, p): (u32, u32, u32)) -> Result<[u8; 32], String> {
    let params = argon2::Params::new(m, t, p, Some(32)).map_err(|e| e.to_string())?;
    let kdf = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    kdf.hash_password_into(pass.expose().as_bytes(), salt, &mut key)
        .map_err(|e| format!("cannot derive the key: {e}"))?;
    Ok(key)
}

struct Sealing {
    enc: EncryptorBE32<XChaCha20Poly1305>,
    header: Vec<u8>,
    buf: Vec<u8>,
}

/// A backup being written: a hidden temp file beside `dest`, linked into
/// place by [`BackupWriter::finish`]; removed if dropped unfinished.
pub struct BackupWriter {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    seal: Option<Sealing>,
    plain_bytes: u64,
}

impl BackupWriter {
    pub fn create(dest: &Path, passphrase: Option<&Secret>) -> Result<Self, String> {
        if dest.exists() {
            return Err(format!(
                "{} already exists; choose a new file",
                dest.display()
            ));
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.partial-{}", uuid::Uuid::now_v7()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let seal = match passphrase {
            None => None,
            Some(pass) => {
                let mut salt = [0u8; 16];
                let mut prefix = [0u8; 19];
                fill_random(&mut salt);
                fill_random(&mut prefix);
                let mut header = MAGIC.to_vec();
                for v in [KDF.0, KDF.1, KDF.2] {
                    header.extend_from_slice(&v.to_be_bytes());
                }
                header.extend_from_slice(&salt);
                header.extend_from_slice(&prefix);
                let key = derive(pass, &salt, KDF)?;
                let aead = XChaCha20Poly1305::new(GenericArray::from_slice(&key));
                let enc = EncryptorBE32::from_aead(aead, GenericArray::from_slice(&prefix));
                file.write_all(&header)
                    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
                Some(Sealing {
                    enc,
                    header,
                    buf: Vec::with_capacity(CHUNK * 2),
                })
            }
        };
        Ok(Self {
            tmp,
            dest: dest.to_owned(),
            file: Some(file),
            seal,
            plain_bytes: 0,
        })
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("backup already finished"))
    }

    /// Seal what is left, fsync, and link into place (never over a file
    /// that appeared meanwhile). Returns the plaintext size.
    pub fn finish(mut self) -> Result<u64, String> {
        let shown = self.dest.display().to_string();
        let fail = |e: &dyn std::fmt::Display| format!("cannot write {shown}: {e}");
        if let Some(s) = self.seal.take() {
            let last = s
                .enc
                .encrypt_last(Payload {
                    msg: &s.buf,
                    aad: &s.header,
                })
                .map_err(|_| "encryption failed".to_owned())?;
            self.file()
                .and_then(|f| f.write_all(&last))
                .map_err(|e| fail(&e))?;
        }
        let file = self.file.take().ok_or("backup already finished")?;
        file.sync_all().map_err(|e| fail(&e))?;
        drop(file);
        std::fs::hard_link(&self.tmp, &self.dest).map_err(|e| fail(&e))?;
        let _ = std::fs::remove_file(&self.tmp);
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(self.plain_bytes)
    }
}

impl Write for BackupWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.plain_bytes += data.len() as u64;
        let Some(s) = self.seal.as_mut() else {
            return self.file()?.write_all(data).map(|()| data.len());
        };
        s.buf.extend_from_slice(data);
        // Keep the tail (≤ one chunk) for `finish`: the last chunk is sealed as last.
        let mut sealed = Vec::new();
        while s.buf.len() > CHUNK {
            let rest = s.buf.split_off(CHUNK);
            let chunk = std::mem::replace(&mut s.buf, rest);
            let ct = s
                .enc
                .encrypt_next(Payload {
                    msg: &chunk,
                    aad: &s.header,
                })
                .map_err(|_| io::Error::other("encryption failed"))?;
            sealed.extend_from_slice(&ct);
        }
        self.file()?.write_all(&sealed)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for BackupWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Copy a backup (decrypting it if it is encrypted) into `out`.
pub fn open_backup(
    from: &Path,
    passphrase: Option<&Secret>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let shown = from.display().to_string();
    let f = File::open(from).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let mut r = BufReader::with_capacity(CHUNK + TAG, f);
    let encrypted = r
        .fill_buf()
        .map_err(|e| e.to_string())?
        .starts_with(&MAGIC[..15]);
    let io = |e: io::Error| format!("cannot read {shown}: {e}");
    if !encrypted {
        if passphrase.is_some() {
            return Err(format!(
                "{shown} is not encrypted; leave out --passphrase-file"
            ));
        }
        io::copy(&mut r, out).map_err(io)?;
        return Ok(());
    }
    let pass = passphrase.ok_or_else(|| format!("{shown} is encrypted: give --passphrase-file"))?;
    let mut header = vec![0u8; HEADER];
    r.read_exact(&mut header)
        .map_err(|_| format!("{shown} is truncated"))?;
    if header[..16] != MAGIC[..] {
        return Err(format!("{shown} has an unknown backup format version"));
    }
    let word =
        |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let params = (word(16), word(20), word(24));
    if params.0 > 4 * 1024 * 1024 || params.1 > 64 || params.2 > 64 {
        return Err(format!(
            "{shown} asks for unreasonable key-derivation costs"
        ));
    }
    let key = derive(pass, &header[28..44], params)?;
    let aead = XChaCha20Poly1305::new(GenericArray::from_slice(&key));
    let mut dec = DecryptorBE32::from_aead(aead, GenericArray::from_slice(&header[44..63]));
    let bad = || format!("wrong passphrase, or {shown} is damaged or truncated");
    let mut chunk = vec![0u8; CHUNK + TAG];
    loop {
        let n = read_full(&mut r, &mut chunk).map_err(io)?;
        let at_end = n < chunk.len() || r.fill_buf().map_err(io)?.is_empty();
        let payload = Payload {
            msg: &chunk[..n],
            aad: &header,
        };
        if at_end {
            let plain = dec.decrypt_last(payload).map_err(|_| bad())?;
            out.write_all(&plain).map_err(|e| e.to_string())?;
            return Ok(());
        }
        let plain = dec.decrypt_next(payload).map_err(|_| bad())?;
        out.write_all(&plain).map_err(|e| e.to_string())?;
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(size: usize, pass: Option<&Secret>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b.bin");
        let data: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = BackupWriter::create(&dest, pass).unwrap();
        for part in data.chunks(10_000) {
            w.write_all(part).unwrap();
        }
        assert_eq!(w.finish().unwrap(), size as u64);
        let mut back = Vec::new();
        open_backup(&dest, pass, &mut back).unwrap();
        assert_eq!(back, data);
        std::fs::read(&dest).unwrap()
    }

    #[test]
    fn plain_and_encrypted_round_trip_at_chunk_edges() {
        let pass = Secret::new("correct horse battery");
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            assert_eq!(round_trip(size, None).len(), size);
            let sealed = round_trip(size, Some(&pass));
            assert!(sealed.starts_with(MAGIC));
        }
    }

    #[test]
    fn wrong_passphrase_and_truncation_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b.bin");
        let pass = Secret::new("correct horse battery");
        let mut w = BackupWriter::create(&dest, Some(&pass)).unwrap();
        w.write_all(&vec![1u8; 3 * CHUNK]).unwrap();
        w.finish().unwrap();
        let wrong = Secret::new("incorrect horse battery");
        assert!(
            open_backup(&dest, Some(&wrong), &mut Vec::new())
                .unwrap_err()
                .contains("wrong passphrase")
        );
        assert!(
            open_backup(&dest, None, &mut Vec::new())
                .unwrap_err()
                .contains("encrypted")
        );
        // Drop the last chunk: a prefix must not pass as a whole backup.
        let bytes = std::fs::read(&dest).unwrap();
        let cut = dir.path().join("cut.bin");
        std::fs::write(&cut, &bytes[..HEADER + 2 * (CHUNK + TAG)]).unwrap();
        assert!(open_backup(&cut, Some(&pass), &mut Vec::new()).is_err());
    }

    #[test]
    fn never_overwrites_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b.bin");
        std::fs::write(&dest, b"keep me").unwrap();
        assert!(BackupWriter::create(&dest, None).is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"keep me");
        let other = dir.path().join("c.bin");
        let mut w = BackupWriter::create(&other, None).unwrap();
        w.write_all(b"half").unwrap();
        drop(w);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "partial removed"
        );
    }
}
