//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer anyway), one
//! transaction per [`Batch`], with `synchronous=FULL` so a commit is on disk before `commit`
//! returns. Queries use a small pool of reader connections, which WAL lets read while the writer
//! writes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::audit::{AuditEntry, AuditQuery, AuditRecord};
use crate::digest::{Scan, StatFeed};
use crate::migrations::{self, Migration};
use crate::pool::Pool;
use crate::rows::{FromRow, bytes_at};
use crate::schema;
use crate::seal::{
    Context, KeyRing, Sealed, context_of, open_record, open_state, pair_columns, sealed_columns,
};
use crate::sql::{Dialect, Statements};
use crate::{Access, Audit, Clearance, Journal, Maintenance, Records, Statistics};
use crate::{
    Batch, CertificateChange, CertificateRow, CredentialRow, DeclarationRow, EnterpriseRow,
    JournalRecord, KeyUsage, Positions, QuotaRow, ReceiptRow, RecordQuery, RecordRow, ResealStep,
    RestorePoint, Result, RowKey, SealedTable, SessionRow, StatQuery, StatRow, StatTable, StateRow,
    StoreError, TaxBillRow, UserRow,
};

/// WAL pages (16 KiB each) after which a commit checkpoints: 128 MiB.
const WAL_CHECKPOINT_PAGES: i64 = 8_192;
/// Reader connections open at most (queries beyond that wait for one to be free).
const MAX_READERS: usize = 8;
/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 64;

/// The SQLite write path: one prepared statement per row kind, run once per row inside the batch's
/// transaction (prepared statements are cached per connection by their text). The shared
/// statements are in [`Statements`].
struct Writes {
    insert_journal: String,
    redact_journal: String,
    upsert_state: String,
    delete_state: String,
    upsert_declaration: String,
    upsert_quota: String,
    insert_receipt: String,
    upsert_tax_bill: String,
    upsert_enterprise: String,
    upsert_record: String,
    /// Per [`StatTable::ALL`]: the additive upsert.
    stat_upserts: [String; 4],
}

impl Writes {
    fn new() -> Self {
        use schema::*;
        Writes {
            insert_journal: insert("journal", JOURNAL),
            redact_journal: "UPDATE journal SET body = ?2 WHERE seq = ?1".into(),
            upsert_state: upsert("state", STATE, &["namespace", "key"]),
            delete_state: "DELETE FROM state WHERE namespace = ?1 AND key = ?2".into(),
            upsert_declaration: upsert("declarations", DECLARATIONS, &["id"]),
            upsert_quota: upsert("quotas", QUOTAS, &["buyer_key", "year"]),
            insert_receipt: insert("receipts", RECEIPTS),
            upsert_tax_bill: upsert("tax_bills", TAX_BILLS, &["invt_no"]),
            upsert_enterprise: upsert("enterprises", ENTERPRISES, &["code"]),
            upsert_record: upsert("records", RECORDS, &["kind", "key"]),
            stat_upserts: StatTable::ALL
                .map(|t| crate::stats::upsert(t, crate::stats::Dialect::Sqlite)),
        }
    }
}

/// The SQLite store. See the module documentation.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Pool<Connection>,
    sql: Statements,
    writes: Writes,
    keys: Arc<KeyRing>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub fn open(path: &Path, keys: Arc<KeyRing>) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        // Journal bodies, receipts and state rows are kilobytes each: with 16 KiB pages most of
        // them fit in the page instead of spilling into overflow chains. Only takes effect when
        // the file is created.
        writer.pragma_update(None, "page_size", 16_384)?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Other(format!(
                "sqlite: could not switch {} to WAL mode (got {mode})",
                path.display()
            )));
        }
        writer.pragma_update(None, "synchronous", "FULL")?;
        // Group commits write megabytes at a time: a larger page cache and fewer, larger
        // checkpoints keep the writer from re-reading and re-copying pages on every commit.
        // Smaller checkpoints measured worse (BENCHMARKS.md, tried and rejected), so the WAL
        // grows to 128 MiB (8,192 pages of 16 KiB) plus one group commit before its first
        // checkpoint: that is the disk headroom the store needs beyond the database file
        // (docs/architecture.md). After a checkpoint the WAL is cut back to that size, so one
        // long reader or one huge batch does not leave it larger for good.
        writer.pragma_update(None, "cache_size", -65_536)?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        writer.pragma_update(None, "journal_size_limit", WAL_CHECKPOINT_PAGES * 16_384)?;
        writer.pragma_update(None, "temp_store", "MEMORY")?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&mut writer, migrations::SQLITE)?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Pool::new(MAX_READERS, Connection::is_autocommit),
            sql: Statements::new(Dialect::Sqlite),
            writes: Writes::new(),
            keys,
        };
        // Fail at open, not at the first query, if readers cannot be opened.
        store.readers.with(|| store.open_reader(), |_| ())?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `f` on a pooled reader connection.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        Ok(self.readers.with(|| self.open_reader(), f)??)
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        Ok(f(&mut conn)?)
    }

    fn query_rows<T: FromRow>(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<T>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params, |r| T::from_row(r))?;
            rows.collect()
        })
    }

    fn query_opt<T: FromRow>(&self, sql: &str, params: impl rusqlite::Params) -> Result<Option<T>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql)?;
            stmt.query_row(params, |r| T::from_row(r)).optional()
        })
    }
}

/// A poisoned lock only means another thread panicked while holding it; SQLite rolled back any
/// transaction it had open, so the connection is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn migrate(conn: &mut Connection, list: &[Migration]) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       INTEGER PRIMARY KEY,
             name          TEXT    NOT NULL,
             applied_at_ms INTEGER NOT NULL
         )",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Every version not yet recorded (not only those above the highest): versions are assigned
    // to branches that land in any order.
    let done: Vec<i64> = tx
        .prepare("SELECT version FROM schema_migrations")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for m in list.iter().filter(|m| !done.contains(&m.version)) {
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, migrations::now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The positions, read on `conn` (inside the caller's transaction, if it has one open).
fn positions_in(conn: &Connection, sql: &Statements) -> rusqlite::Result<Positions> {
    conn.prepare_cached(&sql.positions)?
        .query_row([], |r| Positions::from_row(r))
}

/// Appends audit entries after the chain head, inside the caller's transaction.
fn append_audit_tx(
    tx: &rusqlite::Transaction<'_>,
    sql: &Statements,
    entries: &[AuditEntry],
) -> rusqlite::Result<Vec<AuditRecord>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let head: Option<(i64, String)> = tx
        .prepare_cached(&sql.audit_head)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, hash) = head.unwrap_or((0, crate::audit::GENESIS.to_owned()));
    let records = crate::audit::link(seq, &hash, entries);
    let mut stmt = tx.prepare_cached(&sql.insert_audit)?;
    for a in &records {
        stmt.execute(params![
            a.seq,
            a.entry.at_ms,
            a.entry.actor,
            a.entry.action,
            a.entry.target,
            a.entry.outcome,
            a.entry.source,
            a.entry.detail,
            a.prev_hash,
            a.hash
        ])?;
    }
    Ok(records)
}

impl Scan for rusqlite::Transaction<'_> {
    type Error = rusqlite::Error;

    fn scan<T: FromRow>(&mut self, sql: &str, feed: &mut dyn FnMut(T)) -> rusqlite::Result<()> {
        let mut stmt = self.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| T::from_row(r))?;
        for row in rows {
            feed(row?);
        }
        Ok(())
    }

    fn scan_stats(
        &mut self,
        sql: &str,
        keys: usize,
        measures: usize,
        feed: &mut StatFeed<'_>,
    ) -> rusqlite::Result<()> {
        let mut stmt = self.prepare_cached(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let day: i64 = row.get(0)?;
            let k = (1..=keys)
                .map(|i| row.get::<_, String>(i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let v = (keys + 1..keys + 1 + measures)
                .map(|i| row.get::<_, i64>(i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            feed(day, &k, &v);
        }
        Ok(())
    }
}

// The trait implementations, one file per trait.
mod access;
mod audit;
mod clearance;
mod journal;
mod maintenance;
mod records;
mod statistics;

/// Certificate filings and revocations, in journal order (rare: one statement each).
fn write_certificates(
    tx: &rusqlite::Transaction<'_>,
    sql: &Statements,
    changes: &[CertificateChange],
) -> rusqlite::Result<()> {
    for change in changes {
        match change {
            CertificateChange::File(c) => {
                tx.prepare_cached(&sql.upsert_certificate)?
                    .execute(params![
                        c.enterprise,
                        c.fingerprint,
                        c.serial,
                        c.subject,
                        c.algorithm,
                        c.not_before_ms,
                        c.not_after_ms,
                        c.der,
                        c.filed_at_ms,
                        c.revoked_at_ms
                    ])?;
            }
            CertificateChange::Revoke {
                enterprise,
                fingerprint,
                at_ms,
            } => {
                tx.prepare_cached(&sql.revoke_certificate)?
                    .execute(params![enterprise, fingerprint, at_ms])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory from before the supervision records gains their table at the next start
    /// and keeps its journal.
    #[test]
    fn a_store_from_before_records_is_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let path = dir.path().join("old.db");
        {
            let mut old = Connection::open(&path).unwrap_or_else(|e| unreachable!("{e}"));
            migrate(&mut old, &migrations::SQLITE[..1]).unwrap_or_else(|e| unreachable!("{e}"));
            old.execute(
                "INSERT INTO journal VALUES (1, 0, 'admin', 'FILING', 'g', x'00')",
                [],
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        }
        let keys = std::sync::Arc::new(
            KeyRing::parse(&format!("t {}", "11".repeat(32)))
                .unwrap_or_else(|e| unreachable!("{e}")),
        );
        let store = SqliteStore::open(&path, keys).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(store.positions().map(|p| p.journal).ok(), Some(1));
        let row = RecordRow {
            kind: "listing".into(),
            key: "L1".into(),
            party: Some("3301960ENT".into()),
            status: "active".into(),
            updated_at_ms: 1,
            body: "{}".into(),
        };
        store
            .commit(&Batch {
                applied: 1,
                records: vec![row.clone()],
                ..Batch::default()
            })
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(store.record("listing", "L1").ok(), Some(Some(row)));
    }
}
