//! A corrupted database is never served: `check` names the problem, start-up
//! refuses the file with one line, and nothing panics with a stack trace.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::support::process::{cli, cli_create_tenant};

fn assert_one_line_failure(out: &crate::support::process::CliOut, what: &str) {
    assert!(
        !out.status.success(),
        "{what} succeeded on a corrupt file: {}",
        out.stdout
    );
    assert_eq!(out.status.code(), Some(1), "{what}: {:?}", out.status);
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    assert!(!out.stderr.contains("backtrace"), "{what}: {}", out.stderr);
    assert!(out.stderr.contains("corrupt"), "{what}: {}", out.stderr);
}

/// Random bytes over every 4 KiB page that holds `needle` (live pages among
/// them; copy-on-write leaves stale copies too, which are harmless).
fn corrupt(file: &Path, needle: &[u8]) {
    let bytes = std::fs::read(file).unwrap();
    let mut pages: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter_map(|(i, w)| (w == needle).then_some(i / 4096 * 4096))
        .collect();
    pages.dedup();
    assert!(!pages.is_empty(), "needle not in file");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    for page in pages {
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        f.seek(SeekFrom::Start(page as u64)).unwrap();
        f.write_all(&noise).unwrap();
    }
}

#[test]
fn a_corrupted_copy_is_refused_by_check_serve_and_audit_verify() {
    let dir = tempfile::tempdir().unwrap();
    cli_create_tenant(dir.path(), "acme");
    let seed = cli(
        dir.path(),
        &[
            "seed",
            "--tenant",
            "acme",
            "--users",
            "300",
            "--sessions",
            "3000",
        ],
        None,
    );
    assert!(seed.status.success(), "{}", seed.stderr);
    let ok = cli(dir.path(), &["check"], None);
    assert!(ok.status.success(), "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("every page checksum verified"),
        "{}",
        ok.stdout
    );

    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("sessiond.redb");
    std::fs::copy(dir.path().join("sessiond.redb"), &file).unwrap();
    corrupt(&file, b"@acme.test");

    assert_one_line_failure(&cli(copy.path(), &["check"], None), "check");
    assert_one_line_failure(
        &cli(copy.path(), &["audit", "verify"], None),
        "audit verify",
    );
    let serve = cli(copy.path(), &["serve", "--listen", "127.0.0.1:0"], None);
    assert_one_line_failure(&serve, "serve");
    assert!(serve.stderr.contains("restore"), "{}", serve.stderr);
    assert!(!serve.stderr.contains("listening on"), "{}", serve.stderr);
    // The original is untouched and still fine.
    assert!(cli(dir.path(), &["check"], None).status.success());
}

#[test]
fn check_on_a_missing_or_foreign_file_fails_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(dir.path(), &["check"], None);
    assert!(!out.status.success());
    assert!(out.stderr.contains("no database"), "{}", out.stderr);
    std::fs::write(dir.path().join("sessiond.redb"), b"not a database at all").unwrap();
    let out = cli(dir.path(), &["check"], None);
    assert!(!out.status.success());
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
}
