//! Which engine the suite runs on. Default: redb in a temp dir. With
//! `SESSIOND_TEST_ENGINE=postgres` the in-process suite runs on PostgreSQL
//! at `SESSIOND_TEST_DATABASE_URL`, each app in schemas of its own.

use sessiond::store::{Location, Store};

pub const URL_VAR: &str = "SESSIOND_TEST_DATABASE_URL";

/// The test database, if configured.
pub fn database_url() -> Option<String> {
    std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

/// For PostgreSQL-only tests: the URL, or `None` after printing the one
/// line that says why the test is skipped (CI sets
/// `SESSIOND_REQUIRE_POSTGRES`: there a missing URL fails).
pub fn postgres_or_skip(test: &str) -> Option<String> {
    let url = database_url();
    if url.is_none() && std::env::var_os("SESSIOND_REQUIRE_POSTGRES").is_some() {
        panic!("{test}: SESSIOND_REQUIRE_POSTGRES is set but {URL_VAR} is not");
    }
    if url.is_none() {
        eprintln!(
            "skipped {test}: set {URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the PostgreSQL tests"
        );
    }
    url
}

pub fn suite_on_postgres() -> bool {
    std::env::var("SESSIOND_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// Schemas `{prefix}` and `{prefix}_t_*`, dropped when this is dropped.
#[derive(Debug)]
pub struct PgSchemas {
    pub url: String,
    pub prefix: String,
}

impl PgSchemas {
    pub fn fresh(url: &str) -> Self {
        // The tail of a UUIDv7 is random.
        let id = uuid::Uuid::now_v7().simple().to_string();
        let prefix = format!("t{}", &id[20..]);
        Self {
            url: url.to_owned(),
            prefix,
        }
    }

    pub fn location(&self, pool: usize) -> Location {
        Location::Postgres {
            url: sessiond::auth::Secret::new(self.url.clone()),
            schema: self.prefix.clone(),
            pool,
        }
    }

    pub fn open(&self) -> Store {
        Store::open_at(&self.location(4)).expect("connect to the test database")
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        // The client blocks on a runtime of its own: on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) else {
                return;
            };
            let like = format!("{prefix}%");
            let Ok(rows) = c.query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1",
                &[&like],
            ) else {
                return;
            };
            for r in rows {
                let name: String = r.get(0);
                let _ = c.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE"));
            }
        })
        .join();
    }
}
