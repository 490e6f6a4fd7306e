//! A full disk: writes answer 503 `storage_unavailable`, `/readyz` says so,
//! nothing acknowledged is lost, and the writer recovers by itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::process::{Server, Tokens, api_create_tenant};

/// A small tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap().keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(Self(dir));
        }
        let _ = std::fs::remove_dir(&dir);
        assert!(
            std::env::var_os("SESSIOND_REQUIRE_TMPFS").is_none(),
            "SESSIOND_REQUIRE_TMPFS is set but mounting a tmpfs failed"
        );
        eprintln!(
            "skipping the full-disk test: cannot mount a tmpfs here (needs root); CI runs it"
        );
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let _ = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", filler.display()))
        .args(["bs=64k", "status=none"])
        .status();
    filler
}

fn refresh_raw(s: &Server, rt: &str) -> (u16, Option<String>, serde_json::Value) {
    let mut res = s
        .agent
        .post(s.url("/v1/auth/refresh"))
        .send_json(serde_json::json!({ "refresh_token": rt }))
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    (res.status().as_u16(), retry, body)
}

#[test]
fn a_full_disk_answers_503_then_recovers_without_losing_acknowledged_writes() {
    let Some(fs) = Tmpfs::mount("8m") else { return };
    let data = fs.0.join("data");
    let s = Server::start(&data);
    let root = s.platform_login();
    let email = api_create_tenant(&s, &root.access, "acme");
    let user = s.login("acme", &email);

    let filler = fill(&fs.0);
    let mut rt = user.refresh.clone();
    let mut acknowledged = 0;
    let (status, retry, body) = loop {
        let (status, retry, body) = refresh_raw(&s, &rt);
        if status != 200 {
            break (status, retry, body);
        }
        rt = body["refresh_token"].as_str().unwrap().to_owned();
        acknowledged += 1;
        assert!(acknowledged < 20_000, "the disk never filled");
    };
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "storage_unavailable");
    assert_eq!(body["retryable"], true);
    assert!(retry.is_some(), "Retry-After missing");
    s.get("/readyz", None).assert_error(503, "");
    s.get("/healthz", None).assert_ok(200);
    // Repeated failures neither crash the writer nor flood the log.
    for _ in 0..20 {
        assert_eq!(refresh_raw(&s, &rt).0, 503);
    }

    std::fs::remove_file(filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while s.get("/readyz", None).status != 200 {
        assert!(
            Instant::now() < deadline,
            "did not recover:\n{}",
            s.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The last acknowledged token is the live one: nothing was lost or forked.
    let next = Tokens::from(&s.post(
        "/v1/auth/refresh",
        None,
        serde_json::json!({ "refresh_token": rt }),
    ));
    s.get("/v1/auth/me", Some(&next.access)).assert_ok(200);
    let log = s.stderr();
    assert_eq!(log.matches("writes answer 503 until").count(), 1, "{log}");
    assert_eq!(log.matches("storage available again").count(), 1, "{log}");
    let metrics = s.get("/metrics", None).text;
    assert!(
        metrics.contains("sessiond_storage_failures_total 1"),
        "{metrics}"
    );

    // And it survives a crash: the acknowledged rotation is durable.
    s.kill9();
    let s = Server::start(&data);
    s.refresh(&next.refresh).assert_ok(200);
}
