//! The sessiond under test: a child process on a temporary data dir (so
//! start-up and memory can be measured), or a server given by `--url`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::{Call, Conn};

pub struct Target {
    pub addr: SocketAddr,
    local: Option<Local>,
}

struct Local {
    exe: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    /// `SESSIOND_*` settings of the child (the PostgreSQL URL stays off its command line).
    env: Vec<(&'static str, String)>,
    child: Option<Child>,
}

impl Target {
    pub fn remote(addr: SocketAddr) -> Self {
        Self { addr, local: None }
    }

    /// A server on `data_dir` (already seeded); returns once `/readyz` answers 200.
    pub async fn spawn(data_dir: &Path, env: Vec<(&'static str, String)>) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find sessiond: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut me = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            local: Some(Local {
                exe,
                data_dir: data_dir.to_owned(),
                log: data_dir.with_extension("log"),
                env,
                child: None,
            }),
        };
        me.start().await?;
        Ok(me)
    }

    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// Start the process; the time until `/readyz` is 200.
    pub async fn start(&mut self) -> Result<Duration, String> {
        let addr = self.addr;
        let Some(l) = self.local.as_mut() else {
            return Err("not a local server".into());
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&l.log)
            .map_err(|e| format!("{}: {e}", l.log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let t = Instant::now();
        let child = Command::new(&l.exe)
            .arg("--data-dir")
            .arg(&l.data_dir)
            .args(["serve", "--listen", &addr.to_string()])
            .envs(l.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", l.exe.display()))?;
        l.child = Some(child);
        self.wait_ready(t).await
    }

    async fn wait_ready(&mut self, since: Instant) -> Result<Duration, String> {
        let ready = Call::get("/readyz", None);
        while since.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.exited() {
                return Err(format!("the server exited ({status}); see {}", self.log()));
            }
            if let Ok(mut c) = Conn::open(self.addr).await
                && let Ok((s, _)) = c.send(&ready).await
                && s.is_success()
            {
                return Ok(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("not ready after 60 s; see {}", self.log()))
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let c = self.local.as_mut()?.child.as_mut()?;
        c.try_wait().ok().flatten()
    }

    fn log(&self) -> String {
        self.local
            .as_ref()
            .map(|l| l.log.display().to_string())
            .unwrap_or_default()
    }

    fn pid(&self) -> Option<u32> {
        Some(self.local.as_ref()?.child.as_ref()?.id())
    }

    /// Resident memory now and at its peak, in MiB (Linux `/proc`).
    pub fn memory_mib(&self) -> Option<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> Result<(), String> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        self.reap()
    }

    /// SIGKILL: no chance to flush or close the file.
    pub fn kill9(&mut self) -> Result<(), String> {
        if let Some(c) = self.local.as_mut().and_then(|l| l.child.as_mut()) {
            c.kill().map_err(|e| format!("kill -9: {e}"))?;
        }
        self.reap()
    }

    fn reap(&mut self) -> Result<(), String> {
        if let Some(mut c) = self.local.as_mut().and_then(|l| l.child.take()) {
            c.wait().map_err(|e| format!("wait: {e}"))?;
        }
        Ok(())
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}
