//! Where the suite runs: a temporary SQLite file, and a throw-away PostgreSQL schema.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use store::{KeyRing, Store};

/// The data keys of the tests: fixed, so a test can reopen a store it wrote.
pub fn keys() -> Arc<KeyRing> {
    Arc::new(
        KeyRing::parse(&format!("test {}", "42".repeat(32))).expect("the test key ring parses"),
    )
}

/// The PostgreSQL server the tests use; override with `ONEWINDOW_TEST_PG_URL`.
pub fn pg_base_url() -> String {
    std::env::var("ONEWINDOW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn services_required() -> bool {
    std::env::var("ONEWINDOW_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Whether PostgreSQL answers; says so loudly when it does not (and fails if CI requires it).
pub fn postgres_reachable() -> bool {
    let url = pg_base_url();
    match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(_) => true,
        Err(e) if services_required() => {
            panic!("PostgreSQL unreachable at {url} and ONEWINDOW_REQUIRE_SERVICES=1: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL unreachable at {url}: {e}");
            false
        }
    }
}

/// A fresh SQLite store in its own temporary directory (kept alive by the returned guard).
pub fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = store::open(dir.path().to_str().unwrap(), keys()).unwrap();
    assert_eq!(store.backend(), "sqlite");
    (dir, store)
}

/// Drops its schema when the test ends, even if it failed.
pub struct PgSchema {
    pub name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&pg_base_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

pub fn fresh_schema_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "store_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The URL of a store in schema `name`.
pub fn pg_url(name: &str) -> String {
    let base = pg_base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={name}")
}

/// A fresh PostgreSQL store in a new schema, or `None` (after saying so) when unreachable.
/// Drop the store before the guard.
pub fn postgres() -> Option<(PgSchema, Arc<dyn Store>)> {
    if !postgres_reachable() {
        return None;
    }
    let schema = PgSchema {
        name: fresh_schema_name(),
    };
    let store = store::open(&pg_url(&schema.name), keys()).unwrap();
    assert_eq!(store.backend(), "postgres");
    Some((schema, store))
}

/// Runs one behaviour against every backend.
pub fn on_every_backend(test: impl Fn(&dyn Store)) {
    {
        let (_dir, store) = sqlite();
        test(&*store);
    }
    if let Some((schema, store)) = postgres() {
        test(&*store);
        drop(store);
        drop(schema);
    }
}
