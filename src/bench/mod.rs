//! `sessiond bench`: every performance figure of the project against a bare
//! reference measured in the same run on the same machine, as one table.

mod client;
mod load;
mod refs;
mod report;
mod scenarios;
mod target;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use report::Row;
use target::Target;

use crate::auth::Secret;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Small data and short runs (under a minute): a smoke test, not figures to quote.
    #[arg(long)]
    pub quick: bool,
    /// Print the result as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Measure a running server (`http://host:port`) instead of starting one;
    /// start-up and memory are then not measured. Needs --tenant and --email
    /// of an org admin, whose password is read from stdin's first line.
    #[arg(long, env = "SESSIOND_BENCH_URL")]
    pub url: Option<String>,
    #[arg(long, requires = "url")]
    pub tenant: Option<String>,
    #[arg(long, requires = "url")]
    pub email: Option<String>,
    /// Where the temporary data dir and the bare reference database go
    /// (default: the system temp dir). Put it on the disk you deploy on.
    #[arg(long, env = "SESSIOND_BENCH_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Users to seed (default 100,000; 5,000 with --quick).
    #[arg(long)]
    pub users: Option<usize>,
    /// Sessions to seed (default 1,000,000; 50,000 with --quick).
    #[arg(long)]
    pub sessions: Option<usize>,
}

/// How big and how long.
#[derive(Clone, Copy)]
pub struct Sizes {
    pub users: usize,
    pub sessions: usize,
    /// Rows to walk before timing a deep page.
    pub depth: usize,
    /// Length of each load run.
    pub dur: Duration,
    /// Repetitions whose median is reported.
    pub rounds: usize,
}

impl Sizes {
    fn of(a: &BenchArgs) -> Self {
        let mut s = if a.quick {
            Self {
                users: 5_000,
                sessions: 50_000,
                depth: 10_000,
                dur: Duration::from_millis(1500),
                rounds: 1,
            }
        } else {
            Self {
                users: 100_000,
                sessions: 1_000_000,
                depth: 100_000,
                dur: Duration::from_secs(5),
                rounds: 3,
            }
        };
        s.users = a.users.unwrap_or(s.users).max(4_000);
        s.sessions = a.sessions.unwrap_or(s.sessions).max(40_000);
        s.depth = s.depth.min(s.sessions / 4);
        s
    }
}

/// `database_url`: run the local server on PostgreSQL (throwaway schemas
/// `bench{pid}…`, dropped afterwards) instead of the embedded file.
pub fn run(
    rt: &tokio::runtime::Runtime,
    args: BenchArgs,
    database_url: Option<Secret>,
) -> Result<(), String> {
    let started = Instant::now();
    let sizes = Sizes::of(&args);
    let work = WorkDir::new(args.work_dir.clone())?;
    let pg = database_url.map(PgSchemas::new).transpose()?;
    let engine = if pg.is_some() { "postgres" } else { "redb" };
    let rows = rt.block_on(async {
        let (target, login) = match &args.url {
            Some(url) => remote(url, &args)?,
            None => scenarios::local(&work.0, &sizes, pg.as_ref(), started).await?,
        };
        scenarios::all(target, login, &work.0, pg.as_ref(), sizes, started).await
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    if args.json {
        let out = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "quick": args.quick,
            "engine": engine,
            "cores": cores(),
            "users": sizes.users,
            "sessions": sizes.sessions,
            "elapsed_secs": elapsed,
            "rows": rows,
        });
        println!("{out:#}");
    } else {
        println!(
            "sessiond {} bench{} on {} cores, {engine}: {} users, {} sessions, {elapsed:.0} s\n",
            env!("CARGO_PKG_VERSION"),
            if args.quick { " --quick" } else { "" },
            cores(),
            report::num(sizes.users as f64),
            report::num(sizes.sessions as f64),
        );
        print!("{}", report::table(&rows));
    }
    Ok(())
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Who logs in: a tenant's org admin.
pub struct Login {
    pub tenant: String,
    pub email: String,
    pub password: String,
}

fn remote(url: &str, a: &BenchArgs) -> Result<(Target, Login), String> {
    let (Some(tenant), Some(email)) = (a.tenant.clone(), a.email.clone()) else {
        return Err("--url needs --tenant and --email of an org admin".into());
    };
    let hostport = url
        .strip_prefix("http://")
        .ok_or("--url must start with http:// (put the bench next to the server, not behind TLS)")?
        .trim_end_matches('/');
    let addr: SocketAddr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("--url {url}: {e}"))?
        .next()
        .ok_or_else(|| format!("--url {url}: no address"))?;
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok((
        Target::remote(addr),
        Login {
            tenant,
            email,
            password,
        },
    ))
}

/// The bench's own PostgreSQL schemas, dropped afterwards.
pub struct PgSchemas {
    pub url: Secret,
    pub prefix: String,
}

impl PgSchemas {
    fn new(url: Secret) -> Result<Self, String> {
        let prefix = format!("bench{}", std::process::id());
        // Left over by a bench killed with this pid: not ours to keep.
        crate::store::postgres::bare::drop_schemas(url.expose(), &prefix)?;
        Ok(Self { url, prefix })
    }

    /// The child's settings (environment, not arguments: the URL may hold a password).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SESSIOND_DATABASE_URL", self.url.expose().to_owned()),
            ("SESSIOND_DATABASE_SCHEMA", self.prefix.clone()),
        ]
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        if let Err(e) = crate::store::postgres::bare::drop_schemas(self.url.expose(), &self.prefix)
        {
            eprintln!("could not drop the bench schemas {}*: {e}", self.prefix);
        }
    }
}

/// A fresh directory, removed afterwards.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(base: Option<PathBuf>) -> Result<Self, String> {
        let base = base.unwrap_or_else(std::env::temp_dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("sessiond-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn progress(started: Instant, what: &str) {
    eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    load::percentile(&v, 0.5)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rows are gathered in order; a failed scenario ends the run with its error.
type Rows = Vec<Row>;
