//! The durable journal and the query projections of OneWindow.
//!
//! One contract ([`Store`], the sum of the narrow traits [`Journal`], [`Clearance`], [`Records`],
//! [`Statistics`], [`Access`], [`Audit`] and [`Maintenance`]), two backends: SQLite (the
//! embedded default, a file under the data directory) and PostgreSQL (chosen by a `postgres://`
//! URL). The backend is chosen once at start-up by [`open`]. Each query is written once
//! (`sql.rs`) and rendered per dialect; each row type is read by one mapper (`rows.rs`).
//!
//! The write path is a single writer: the ingest pipeline assigns journal and receipt sequence
//! numbers itself (it is the only writer) and hands one [`Batch`] per group commit to
//! [`Journal::commit`], which writes the journal entries, every projection row and the applied
//! position in **one transaction** and makes it durable before returning. A crash therefore never
//! leaves projections ahead of or behind the journal.
//!
//! Money is stored as `i64` minor units (fen) so that sums are exact in both engines.
//!
//! Both backends give the same answers to the same calls: text keys compare as bytes (SQLite's
//! default, `COLLATE "C"` on PostgreSQL), so paging cursors and [`Maintenance::projection_digest`]
//! agree. The digest covers the applied position and every projection and state row; the
//! journal and the credentials are left out. `credential_by_hash` also returns revoked
//! credentials (with `revoked_at_ms` set): refusing them is the caller's decision.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
pub mod audit;
mod clearance;
mod contract;
mod journal;
mod maintenance;
mod records;
pub mod seal;
mod statistics;

pub use access::Access;
pub use audit::Audit;
pub use clearance::Clearance;
pub use contract::*;
pub use journal::Journal;
pub use maintenance::Maintenance;
pub use records::Records;
pub use seal::KeyRing;
pub use statistics::Statistics;

mod digest;
mod migrations;
mod pool;
mod postgres;
mod rows;
mod schema;
mod sql;
mod sqlite;
mod stats;

pub use crate::postgres::PostgresStore;
pub use crate::sqlite::SqliteStore;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file name used when the target names a directory.
pub const SQLITE_FILE_NAME: &str = "onewindow.db";

/// Opens the store named by `target`, applying pending migrations.
///
/// `postgres://…` or `postgresql://…` selects PostgreSQL (an optional `schema=NAME` query
/// parameter puts every table in that schema, created if missing). `sqlite:PATH` or a plain path
/// selects SQLite; a path that is an existing directory or ends with `/` means `DIR/onewindow.db`.
/// The file and its directory are created on first start.
///
/// `keys` seal every value that can hold personal data (journal bodies, state values, record
/// bodies) before it is written and open it after it is read (see [`seal`]).
pub fn open(target: &str, keys: Arc<KeyRing>) -> Result<Arc<dyn Store>> {
    match Target::parse(target)? {
        Target::Postgres(url) => Ok(Arc::new(PostgresStore::open(&url, keys)?)),
        Target::Sqlite(path) => Ok(Arc::new(SqliteStore::open(&path, keys)?)),
    }
}

/// Whether `target` names an embedded (SQLite) store, which may create its own data key on
/// first start.
pub fn is_embedded(target: &str) -> bool {
    matches!(Target::parse(target), Ok(Target::Sqlite(_)))
}

/// What [`open`] decided a target string means; kept apart so it can be tested without I/O
/// beyond checking whether a directory exists.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Postgres(String),
    Sqlite(PathBuf),
}

impl Target {
    fn parse(target: &str) -> Result<Self> {
        let target = target.trim();
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            return Ok(Target::Postgres(target.to_owned()));
        }
        let path = target
            .strip_prefix("sqlite://")
            .or_else(|| target.strip_prefix("sqlite:"))
            .unwrap_or(target);
        if path.is_empty() {
            return Err(StoreError::Other("empty store path".into()));
        }
        if path == ":memory:" {
            // Readers would each see their own empty database.
            return Err(StoreError::Other(
                "an in-memory SQLite store is not supported; give a file path".into(),
            ));
        }
        let as_path = Path::new(path);
        if path.ends_with('/') || as_path.is_dir() {
            Ok(Target::Sqlite(as_path.join(SQLITE_FILE_NAME)))
        } else {
            Ok(Target::Sqlite(as_path.to_path_buf()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_postgres() {
        for url in ["postgres://u@h/db", "postgresql://u@h/db?schema=x"] {
            assert_eq!(
                Target::parse(url).ok(),
                Some(Target::Postgres(url.to_owned()))
            );
        }
    }

    #[test]
    fn paths_choose_sqlite() {
        assert_eq!(
            Target::parse("sqlite:data/x.db").ok(),
            Some(Target::Sqlite(PathBuf::from("data/x.db")))
        );
        assert_eq!(
            Target::parse("sqlite:///var/ow/x.db").ok(),
            Some(Target::Sqlite(PathBuf::from("/var/ow/x.db")))
        );
        assert_eq!(
            Target::parse("data/").ok(),
            Some(Target::Sqlite(PathBuf::from("data/onewindow.db")))
        );
        assert_eq!(
            Target::parse("/tmp").ok(),
            Some(Target::Sqlite(PathBuf::from("/tmp/onewindow.db")))
        );
        assert!(Target::parse("sqlite::memory:").is_err());
        assert!(Target::parse("").is_err());
    }
}
