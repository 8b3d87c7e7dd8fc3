//! The PostgreSQL backend, for deployments where several nodes share one database.
//!
//! The sync `postgres` client runs its own small runtime, so these methods must be called from
//! plain threads or `spawn_blocking`, never directly inside an async task. Writes go through one
//! client behind a mutex, one transaction per [`Batch`], with synchronous commit on. Bulk writes
//! are one statement per table: binary `COPY` for the append-only journal and receipts, and
//! `INSERT … SELECT * FROM UNNEST(arrays…) ON CONFLICT … DO UPDATE` for upserts. Queries use a
//! small pool of reader clients, each caching its prepared statements.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};

use crate::audit::{AuditEntry, AuditQuery, AuditRecord};
use crate::digest::{Scan, StatFeed};
use crate::migrations::{self, Migration};
use crate::pool::Pool;
use crate::rows::FromRow;
use crate::schema::{self, Column};
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

/// Reader clients open at most (queries beyond that wait for one to be free).
const MAX_READERS: usize = 8;
/// Serialises migrations of nodes starting at the same time (`pg_advisory_xact_lock` key).
const MIGRATION_LOCK: i64 = 0x6f6e_6577_696e_646f; // "onewindo"
/// Serialises appends to the audit chain across nodes (`pg_advisory_xact_lock` key).
const AUDIT_LOCK: i64 = 0x6f77_6175_6469_7400; // "owaudit"
/// The writer lock: a session advisory lock `pg_advisory_lock(WRITER_LOCK_CLASS, key)` where
/// `key` is [`writer_lock_key`] of the schema the tables live in (advisory locks are per
/// database, so stores in two schemas of one database do not exclude each other). Visible in
/// `pg_locks` as `locktype = 'advisory', classid = 1870100338, objsubid = 2`.
const WRITER_LOCK_CLASS: i32 = 0x6f77_7772; // "owwr"
/// How long a starting writer waits for the lock: long enough for the session of a killed
/// predecessor to end (PostgreSQL ends it when it reads the closed socket), short enough that a
/// second writer is refused at once to a person.
const WRITER_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

type PgResult<T> = std::result::Result<T, postgres::Error>;
type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The PostgreSQL write path, kept apart for speed: binary `COPY` for the append-only journal and
/// receipts, one `UNNEST` upsert per table for the rest (a group commit is then one round trip
/// per table, not per row). Each client prepares a statement once and keeps it. The shared
/// statements are in [`Statements`].
struct Writes {
    copy_journal: String,
    copy_receipts: String,
    upsert_state: String,
    delete_state: String,
    upsert_declarations: String,
    upsert_quotas: String,
    upsert_tax_bills: String,
    upsert_enterprises: String,
    upsert_records: String,
    /// Per [`StatTable::ALL`]: the additive upsert (UNNEST).
    stat_upserts: [String; 4],
    redact_journal: String,
    applied_for_update: String,
}

impl Writes {
    fn new() -> Self {
        use schema::*;
        Writes {
            copy_journal: postgres_copy("journal", JOURNAL),
            copy_receipts: postgres_copy("receipts", RECEIPTS),
            upsert_state: postgres_upsert("state", STATE, &["namespace", "key"]),
            // The arrays carry the default collation; the columns use "C": say which applies.
            delete_state: "DELETE FROM state s USING UNNEST($1::text[], $2::text[]) AS d(ns, k) \
                           WHERE s.namespace = d.ns COLLATE \"C\" AND s.key = d.k COLLATE \"C\""
                .into(),
            upsert_declarations: postgres_upsert("declarations", DECLARATIONS, &["id"]),
            upsert_quotas: postgres_upsert("quotas", QUOTAS, &["buyer_key", "year"]),
            upsert_tax_bills: postgres_upsert("tax_bills", TAX_BILLS, &["invt_no"]),
            upsert_enterprises: postgres_upsert("enterprises", ENTERPRISES, &["code"]),
            upsert_records: postgres_upsert("records", RECORDS, &["kind", "key"]),
            stat_upserts: StatTable::ALL
                .map(|t| crate::stats::upsert(t, crate::stats::Dialect::Postgres)),
            redact_journal: "UPDATE journal SET body = d.b FROM UNNEST($1::int8[], $2::bytea[]) \
                             AS d(s, b) WHERE journal.seq = d.s"
                .into(),
            applied_for_update: "SELECT applied FROM store_position WHERE id = 1 FOR UPDATE".into(),
        }
    }
}

/// A client and the statements it has prepared (statements belong to one session).
struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl PgConn {
    fn statement(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

/// The PostgreSQL store. See the module documentation.
pub struct PostgresStore {
    config: Config,
    schema: Option<String>,
    writer: Mutex<Option<PgConn>>,
    /// The writer lock, once [`crate::Journal::claim_writer`] was called.
    writer_lock: Mutex<WriterLock>,
    readers: Pool<PgConn>,
    sql: Statements,
    writes: Writes,
    keys: Arc<KeyRing>,
}

impl Drop for PostgresStore {
    /// The sync client closes its connection with a blocking call, which panics when the last
    /// handle to the store is dropped on an async runtime thread (a server shutting down): close
    /// the connections on a plain thread instead.
    fn drop(&mut self) {
        let writer = lock(&self.writer).take();
        let writer_lock = lock(&self.writer_lock).session.take();
        let readers = self.readers.take_idle();
        let closer = std::thread::spawn(move || {
            drop(writer);
            drop(writer_lock);
            drop(readers);
        });
        let _ = closer.join();
    }
}

impl std::fmt::Debug for PostgresStore {
    // The config may hold a password: show only where we are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Splits the `schema=NAME` parameter (ours, unknown to libpq) off a connection URL.
fn split_schema(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => schema = Some(name.to_owned()),
            None => kept.push(pair),
        }
    }
    if let Some(name) = &schema {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(StoreError::Other(format!(
                "postgres: schema name {name:?} must be letters, digits and _ (at most 63)"
            )));
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, schema))
}

/// The session holding the writer lock (see [`WRITER_LOCK_CLASS`]).
#[derive(Default)]
struct WriterLock {
    /// Whether this store is the writer: from then on every commit needs the lock.
    claimed: bool,
    /// The connection whose session holds the lock; `None` or closed: not held.
    session: Option<Client>,
}

/// The second key of the writer lock: FNV-1a (32 bits, top bit cleared) of the schema name, so
/// that the key is the same for every process and every PostgreSQL version.
fn writer_lock_key(schema: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in schema.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    i32::try_from(hash & 0x7fff_ffff).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a thread panicked mid-use; any open transaction was rolled back
    // when it was dropped, so the client is still usable (and replaced if it is closed).
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`, optionally `?schema=NAME`), applies pending
    /// migrations and prepares the writer.
    pub fn open(url: &str, keys: Arc<KeyRing>) -> Result<Self> {
        let (url, schema) = split_schema(url)?;
        let config = Config::from_str(&url)?;
        let store = PostgresStore {
            config,
            schema,
            writer: Mutex::new(None),
            writer_lock: Mutex::new(WriterLock::default()),
            readers: Pool::new(MAX_READERS, |c| !c.client.is_closed()),
            sql: Statements::new(Dialect::Postgres),
            writes: Writes::new(),
            keys,
        };
        let mut writer = store.connect(true)?;
        migrate(&mut writer.client, migrations::POSTGRES)?;
        *lock(&store.writer) = Some(writer);
        Ok(store)
    }

    /// Drop the schema named by `url` (`…?schema=NAME`) with everything in it: scratch schemas of
    /// benchmarks and tests. A URL without a schema is refused (it would drop nothing we own).
    pub fn drop_schema(url: &str) -> Result<()> {
        let (url, schema) = split_schema(url)?;
        let Some(schema) = schema else {
            return Err(StoreError::Other(
                "postgres: drop_schema needs a URL with ?schema=NAME".into(),
            ));
        };
        let config = Config::from_str(&url)?;
        let mut client = config.connect(NoTls)?;
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))?;
        // Closing blocks: not on an async runtime thread (see `Drop for PostgresStore`).
        let _ = std::thread::spawn(move || drop(client)).join();
        Ok(())
    }

    /// The schema the tables live in, when one was named.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    fn connect(&self, writer: bool) -> Result<PgConn> {
        let mut client = self.config.connect(NoTls)?;
        let mut setup = String::new();
        if writer {
            // Durable before commit returns, whatever the server default is.
            setup.push_str("SET synchronous_commit = on;");
        }
        if let Some(schema) = &self.schema {
            if writer {
                setup.push_str(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\";"));
            }
            setup.push_str(&format!("SET search_path TO \"{schema}\";"));
        }
        if !setup.is_empty() {
            client.batch_execute(&setup)?;
        }
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }

    /// Holds the writer lock, taking it (again) if its session is gone: at the claim, and
    /// before every commit of a store that claimed it, so a writer never writes without it.
    fn hold_writer_lock(&self, state: &mut WriterLock) -> Result<()> {
        // An idle sync client does not notice that its session ended (a database restart, an
        // administrator's pg_terminate_backend): ask, one round trip per group commit.
        if let Some(session) = state.session.as_mut()
            && session.is_valid(WRITER_LOCK_WAIT).is_ok()
        {
            return Ok(());
        }
        if let Some(dead) = state.session.take() {
            // Closing a dead session may block until the network gives up: not on the writer.
            std::thread::spawn(move || drop(dead));
        }
        let mut client = self.connect(false)?.client;
        client.batch_execute(&format!(
            "SET application_name = 'onewindow writer'; SET lock_timeout = '{}ms'",
            WRITER_LOCK_WAIT.as_millis()
        ))?;
        let schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])?
            .try_get(0)?;
        let schema = schema.unwrap_or_default();
        let key = writer_lock_key(&schema);
        match client.execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&WRITER_LOCK_CLASS, &key],
        ) {
            Ok(_) => {
                client.batch_execute("RESET lock_timeout")?;
                state.session = Some(client);
                Ok(())
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                let holder = lock_holder(&mut client, key).unwrap_or_else(|_| "unknown".into());
                let _ = std::thread::spawn(move || drop(client)).join();
                Err(StoreError::WriterLocked(format!(
                    "another OneWindow writer holds this store (PostgreSQL database {}, schema \
                     {schema}; held by {holder}): only one `onewindow serve`, `rebuild` or \
                     `purge` may write a store at a time. Stop the other one; a session left by \
                     a process that died ends once PostgreSQL notices, or at once with \
                     `SELECT pg_terminate_backend(pid)`",
                    self.config.get_dbname().unwrap_or("?"),
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `f` with the writer client, reconnecting first if the connection was lost.
    fn write<T>(&self, f: impl FnOnce(&mut PgConn) -> PgResult<T>) -> Result<T> {
        let mut guard = lock(&self.writer);
        if guard.as_ref().is_none_or(|c| c.client.is_closed()) {
            *guard = None;
            *guard = Some(self.connect(true)?);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(StoreError::Other("postgres: no writer connection".into()));
        };
        let out = f(conn);
        if conn.client.is_closed() {
            *guard = None;
        }
        Ok(out?)
    }

    /// Runs `f` on a pooled reader client.
    fn read<T>(&self, f: impl FnOnce(&mut PgConn) -> PgResult<T>) -> Result<T> {
        Ok(self.readers.with(|| self.connect(false), f)??)
    }

    fn query_rows<T: FromRow>(&self, sql: &str, params: &Params<'_>) -> Result<Vec<T>> {
        self.read(|c| {
            let st = c.statement(sql)?;
            c.client
                .query(&st, params)?
                .iter()
                .map(T::from_row)
                .collect()
        })
    }

    fn query_opt<T: FromRow>(&self, sql: &str, params: &Params<'_>) -> Result<Option<T>> {
        self.read(|c| {
            let st = c.statement(sql)?;
            c.client
                .query_opt(&st, params)?
                .as_ref()
                .map(T::from_row)
                .transpose()
        })
    }
}

/// Who holds the writer lock `key`, in words, for the refusal of a second writer.
fn lock_holder(client: &mut Client, key: i32) -> PgResult<String> {
    let row = client.query_opt(
        "SELECT a.pid, COALESCE(host(a.client_addr), 'a local socket'), \
                COALESCE(a.application_name, ''), to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
           AND l.classid::int8 = $1 AND l.objid::int8 = $2",
        &[&i64::from(WRITER_LOCK_CLASS), &i64::from(key)],
    )?;
    Ok(match row {
        Some(r) => format!(
            "the session of PostgreSQL backend pid {} ({}, from {}, since {})",
            r.try_get::<_, i32>(0)?,
            r.try_get::<_, String>(2)?,
            r.try_get::<_, String>(1)?,
            r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
        ),
        None => "a session that has just ended".into(),
    })
}

fn migrate(client: &mut Client, list: &[Migration]) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       BIGINT PRIMARY KEY,
             name          TEXT   NOT NULL,
             applied_at_ms BIGINT NOT NULL
         )",
    )?;
    // Every version not yet recorded (not only those above the highest): versions are assigned
    // to branches that land in any order.
    let done: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<PgResult<_>>()?;
    for m in list.iter().filter(|m| !done.contains(&m.version)) {
        tx.batch_execute(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &crate::migrations::now_ms()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The last row of each key, in order: one UNNEST upsert may not touch a row twice, and within a
/// batch the last write wins (as it would row by row).
fn last_by_key<'a, T, K: Hash + Eq>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out: Vec<&T> = rows.iter().rev().filter(|r| seen.insert(key(r))).collect();
    out.reverse();
    out
}

/// Like [`last_by_key`], as indices into `rows` (to line rows up with their sealed values).
fn last_index_by_key<'a, T, K: Hash + Eq>(rows: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<usize> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut out: Vec<usize> = (0..rows.len())
        .rev()
        .filter(|&i| seen.insert(key(&rows[i])))
        .collect();
    out.reverse();
    out
}

fn column<'a, T, V>(rows: &[&'a T], f: impl Fn(&'a T) -> V) -> Vec<V> {
    rows.iter().map(|r| f(r)).collect()
}

fn types(columns: &[Column]) -> Vec<Type> {
    columns
        .iter()
        .map(|(_, ty)| match *ty {
            "int4" => Type::INT4,
            "int8" => Type::INT8,
            "bytea" => Type::BYTEA,
            "bool" => Type::BOOL,
            _ => Type::TEXT,
        })
        .collect()
}

/// The writer's statements, prepared once per session: a small group commit then costs one
/// round trip per table it touches, not two.
struct WriteStatements {
    copy_journal: Statement,
    copy_receipts: Statement,
    upsert_state: Statement,
    delete_state: Statement,
    upsert_declarations: Statement,
    upsert_quotas: Statement,
    upsert_tax_bills: Statement,
    upsert_enterprises: Statement,
    /// Prepared only by a batch that has records, so that a store which never writes any (and
    /// every commit without them) pays nothing for the table.
    upsert_records: Option<Statement>,
    /// The statistics upserts of the tables this batch adds to (none prepared otherwise).
    stat_upserts: Vec<(StatTable, Statement)>,
    /// Prepared only by a purge (the one writer of journal bodies after their append).
    redact_journal: Option<Statement>,
    insert_audit: Option<Statement>,
    set_applied: Statement,
}

impl WriteStatements {
    fn prepare(
        c: &mut PgConn,
        sql: &Writes,
        shared: &Statements,
        batch: &Batch,
        stats: &Stats<'_>,
    ) -> PgResult<Self> {
        let mut stat_upserts = Vec::new();
        for (i, t) in StatTable::ALL.iter().enumerate() {
            if stats.contains_key(t) {
                stat_upserts.push((*t, c.statement(&sql.stat_upserts[i])?));
            }
        }
        Ok(WriteStatements {
            stat_upserts,
            copy_journal: c.statement(&sql.copy_journal)?,
            copy_receipts: c.statement(&sql.copy_receipts)?,
            upsert_state: c.statement(&sql.upsert_state)?,
            delete_state: c.statement(&sql.delete_state)?,
            upsert_declarations: c.statement(&sql.upsert_declarations)?,
            upsert_quotas: c.statement(&sql.upsert_quotas)?,
            upsert_tax_bills: c.statement(&sql.upsert_tax_bills)?,
            upsert_enterprises: c.statement(&sql.upsert_enterprises)?,
            upsert_records: if batch.records.is_empty() {
                None
            } else {
                Some(c.statement(&sql.upsert_records)?)
            },
            redact_journal: if batch.redact.is_empty() {
                None
            } else {
                Some(c.statement(&sql.redact_journal)?)
            },
            insert_audit: if batch.audit.is_empty() {
                None
            } else {
                Some(c.statement(&shared.insert_audit)?)
            },
            set_applied: c.statement(&shared.set_applied)?,
        })
    }
}

use crate::stats::ByTable as Stats;

fn write_batch(
    tx: &mut Transaction<'_>,
    sql: &WriteStatements,
    shared: &Statements,
    batch: &Batch,
    stats: &Stats<'_>,
    sealed: &Sealed,
) -> PgResult<u64> {
    if !batch.append.is_empty() {
        let sink = tx.copy_in(&sql.copy_journal)?;
        let mut w = BinaryCopyInWriter::new(sink, &types(schema::JOURNAL));
        for (j, body) in batch.append.iter().zip(&sealed.append) {
            w.write(&[&j.seq, &j.received_at_ms, &j.sender, &j.kind, &j.guid, body])?;
        }
        w.finish()?;
    }

    let mut redacted = 0;
    if let Some(redact) = &sql.redact_journal {
        let seqs: Vec<i64> = batch.redact.iter().map(|j| j.seq).collect();
        let bodies: Vec<&[u8]> = sealed.redact.iter().map(Vec::as_slice).collect();
        redacted = tx.execute(redact, &[&seqs, &bodies])?;
    }

    if !batch.state.is_empty() {
        let rows = last_index_by_key(&batch.state, |s| (s.namespace.as_str(), s.key.as_str()));
        let (put, del): (Vec<usize>, Vec<usize>) = rows
            .into_iter()
            .partition(|&i| batch.state[i].value.is_some());
        if !put.is_empty() {
            let ns: Vec<&str> = put
                .iter()
                .map(|&i| batch.state[i].namespace.as_str())
                .collect();
            let key: Vec<&str> = put.iter().map(|&i| batch.state[i].key.as_str()).collect();
            let value: Vec<&[u8]> = put
                .iter()
                .map(|&i| sealed.state[i].as_deref().unwrap_or_default())
                .collect();
            tx.execute(&sql.upsert_state, &[&ns, &key, &value])?;
        }
        let del: Vec<&StateRow> = del.iter().map(|&i| &batch.state[i]).collect();
        if !del.is_empty() {
            let ns = column(&del, |s| s.namespace.as_str());
            let key = column(&del, |s| s.key.as_str());
            tx.execute(&sql.delete_state, &[&ns, &key])?;
        }
    }

    write_projections(tx, sql, batch, sealed)?;
    write_stats(tx, sql, stats)?;

    write_certificates(tx, shared, &batch.certificates)?;
    if let Some(insert) = &sql.insert_audit {
        append_audit_tx(tx, shared, insert, &batch.audit)?;
    }

    tx.execute(&sql.set_applied, &[&batch.applied])?;
    Ok(redacted)
}

/// The projection rows of a batch: one UNNEST upsert per table (the last row of each key), and
/// the receipts by binary COPY.
fn write_projections(
    tx: &mut Transaction<'_>,
    sql: &WriteStatements,
    batch: &Batch,
    sealed: &Sealed,
) -> PgResult<()> {
    if !batch.declarations.is_empty() {
        let d = last_by_key(&batch.declarations, |d| d.id.as_str());
        tx.execute(
            &sql.upsert_declarations,
            &[
                &column(&d, |d| d.id.as_str()),
                &column(&d, |d| d.ebp_code.as_str()),
                &column(&d, |d| d.ebc_code.as_str()),
                &column(&d, |d| d.order_no.as_str()),
                &column(&d, |d| d.agent_code.as_deref()),
                &column(&d, |d| d.logistics_code.as_deref()),
                &column(&d, |d| d.logistics_no.as_deref()),
                &column(&d, |d| d.pay_code.as_deref()),
                &column(&d, |d| d.cop_no.as_deref()),
                &column(&d, |d| d.pre_no.as_deref()),
                &column(&d, |d| d.invt_no.as_deref()),
                &column(&d, |d| d.documents.as_str()),
                &column(&d, |d| d.status),
                &column(&d, |d| d.status_info.as_str()),
                &column(&d, |d| d.buyer_key.as_deref()),
                &column(&d, |d| d.value_minor),
                &column(&d, |d| d.tax_minor),
                &column(&d, |d| d.created_at_ms),
                &column(&d, |d| d.updated_at_ms),
                &column(&d, |d| d.released_at_ms),
            ],
        )?;
    }

    if !batch.quotas.is_empty() {
        let q = last_by_key(&batch.quotas, |q| (q.buyer_key.as_str(), q.year));
        tx.execute(
            &sql.upsert_quotas,
            &[
                &column(&q, |q| q.buyer_key.as_str()),
                &column(&q, |q| q.year),
                &column(&q, |q| q.used_minor),
            ],
        )?;
    }

    if !batch.receipts.is_empty() {
        let sink = tx.copy_in(&sql.copy_receipts)?;
        let mut w = BinaryCopyInWriter::new(sink, &types(schema::RECEIPTS));
        for r in &batch.receipts {
            w.write(&[
                &r.seq,
                &r.recipient,
                &r.message_type,
                &r.declaration_id,
                &r.business_key,
                &r.return_status,
                &r.created_at_ms,
                &r.xml,
                &r.json,
            ])?;
        }
        w.finish()?;
    }

    if !batch.tax_bills.is_empty() {
        let t = last_by_key(&batch.tax_bills, |t| t.invt_no.as_str());
        tx.execute(
            &sql.upsert_tax_bills,
            &[
                &column(&t, |t| t.invt_no.as_str()),
                &column(&t, |t| t.tax_no.as_str()),
                &column(&t, |t| t.declaration_id.as_str()),
                &column(&t, |t| t.ebc_code.as_str()),
                &column(&t, |t| t.agent_code.as_str()),
                &column(&t, |t| t.customs_tax_minor),
                &column(&t, |t| t.vat_minor),
                &column(&t, |t| t.consumption_tax_minor),
                &column(&t, |t| t.status),
                &column(&t, |t| t.levy_state.as_str()),
                &column(&t, |t| t.released_at_ms),
                &column(&t, |t| t.due_from.as_str()),
                &column(&t, |t| t.due_until.as_str()),
            ],
        )?;
    }

    if !batch.enterprises.is_empty() {
        let e = last_by_key(&batch.enterprises, |e| e.code.as_str());
        tx.execute(
            &sql.upsert_enterprises,
            &[
                &column(&e, |e| e.code.as_str()),
                &column(&e, |e| e.name.as_str()),
                &column(&e, |e| e.roles.as_str()),
                &column(&e, |e| e.dxp_id.as_deref()),
                &column(&e, |e| e.filed_at_ms),
                &column(&e, |e| e.active),
                &column(&e, |e| e.park.as_deref()),
            ],
        )?;
    }

    if let Some(upsert) = &sql.upsert_records {
        let idx = last_index_by_key(&batch.records, |r| (r.kind.as_str(), r.key.as_str()));
        let r: Vec<&RecordRow> = idx.iter().map(|&i| &batch.records[i]).collect();
        let bodies: Vec<&[u8]> = idx.iter().map(|&i| sealed.records[i].as_slice()).collect();
        tx.execute(
            upsert,
            &[
                &column(&r, |r| r.kind.as_str()),
                &column(&r, |r| r.key.as_str()),
                &column(&r, |r| r.party.as_deref()),
                &column(&r, |r| r.status.as_str()),
                &column(&r, |r| r.updated_at_ms),
                &bodies,
            ],
        )?;
    }
    Ok(())
}

/// The statistics deltas of a batch: one additive UNNEST upsert per table it touches.
fn write_stats(tx: &mut Transaction<'_>, sql: &WriteStatements, stats: &Stats<'_>) -> PgResult<()> {
    for (table, statement) in &sql.stat_upserts {
        let Some(cells) = stats.get(table) else {
            continue;
        };
        let days: Vec<i32> = cells.iter().map(|(d, _, _)| *d).collect();
        let keys: Vec<Vec<&str>> = (0..table.dims().len())
            .map(|i| {
                cells
                    .iter()
                    .map(|(_, k, _)| k.get(i).map_or("", String::as_str))
                    .collect()
            })
            .collect();
        let values: Vec<Vec<i64>> = (0..table.measures().len())
            .map(|i| {
                cells
                    .iter()
                    .map(|(_, _, v)| v.get(i).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&days];
        params.extend(keys.iter().map(|k| k as &(dyn ToSql + Sync)));
        params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        tx.execute(statement, &params)?;
    }
    Ok(())
}

/// Appends audit entries after the chain head inside the caller's transaction; the advisory lock
/// keeps two nodes from linking to the same head.
fn append_audit_tx(
    tx: &mut Transaction<'_>,
    sql: &Statements,
    insert: &Statement,
    entries: &[AuditEntry],
) -> PgResult<Vec<AuditRecord>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
    let head = tx.query_opt(sql.audit_head.as_str(), &[])?;
    let (seq, hash) = match head {
        Some(r) => (r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?),
        None => (0, crate::audit::GENESIS.to_owned()),
    };
    let records = crate::audit::link(seq, &hash, entries);
    for a in &records {
        tx.execute(
            insert,
            &[
                &a.seq,
                &a.entry.at_ms,
                &a.entry.actor,
                &a.entry.action,
                &a.entry.target,
                &a.entry.outcome,
                &a.entry.source,
                &a.entry.detail,
                &a.prev_hash,
                &a.hash,
            ],
        )?;
    }
    Ok(records)
}

/// Certificate filings and revocations, in journal order (rare: one statement each).
fn write_certificates(
    tx: &mut Transaction<'_>,
    sql: &Statements,
    changes: &[CertificateChange],
) -> PgResult<()> {
    for change in changes {
        match change {
            CertificateChange::File(c) => {
                tx.execute(
                    sql.upsert_certificate.as_str(),
                    &[
                        &c.enterprise,
                        &c.fingerprint,
                        &c.serial,
                        &c.subject,
                        &c.algorithm,
                        &c.not_before_ms,
                        &c.not_after_ms,
                        &c.der,
                        &c.filed_at_ms,
                        &c.revoked_at_ms,
                    ],
                )?;
            }
            CertificateChange::Revoke {
                enterprise,
                fingerprint,
                at_ms,
            } => {
                tx.execute(
                    sql.revoke_certificate.as_str(),
                    &[enterprise, fingerprint, at_ms],
                )?;
            }
        }
    }
    Ok(())
}

/// Streams rows rather than loading a table.
impl Scan for Transaction<'_> {
    type Error = postgres::Error;

    fn scan<T: FromRow>(&mut self, sql: &str, feed: &mut dyn FnMut(T)) -> PgResult<()> {
        let mut rows = self.query_raw(sql, std::iter::empty::<&(dyn ToSql + Sync)>())?;
        while let Some(row) = rows.next()? {
            feed(T::from_row(&row)?);
        }
        Ok(())
    }

    fn scan_stats(
        &mut self,
        sql: &str,
        keys: usize,
        measures: usize,
        feed: &mut StatFeed<'_>,
    ) -> PgResult<()> {
        let mut rows = self.query_raw(sql, std::iter::empty::<&(dyn ToSql + Sync)>())?;
        while let Some(row) = rows.next()? {
            let day: i32 = row.try_get(0)?;
            let k = (1..=keys)
                .map(|i| row.try_get::<_, String>(i))
                .collect::<PgResult<Vec<_>>>()?;
            let v = (keys + 1..keys + 1 + measures)
                .map(|i| row.try_get::<_, i64>(i))
                .collect::<PgResult<Vec<_>>>()?;
            feed(i64::from(day), &k, &v);
        }
        Ok(())
    }
}

/// A read-only `REPEATABLE READ` transaction: one snapshot for several reads.
fn snapshot(client: &mut Client) -> PgResult<Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
}

// The trait implementations, one file per trait.
mod access;
mod audit;
mod clearance;
mod journal;
mod maintenance;
mod records;
mod statistics;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_stripped() {
        let (url, schema) = split_schema("postgres://u@h/db?schema=t_1&sslmode=disable")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("t_1"));
        let (url, schema) =
            split_schema("postgres://u@h/db?schema=x").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(url, "postgres://u@h/db");
        assert_eq!(schema.as_deref(), Some("x"));
        assert!(split_schema("postgres://u@h/db?schema=a;drop").is_err());
        assert!(split_schema("postgres://u@h/db?schema=").is_err());
    }

    #[test]
    fn last_write_wins_within_a_batch() {
        let rows = [("a", 1), ("b", 2), ("a", 3)];
        let kept = last_by_key(&rows, |r| r.0);
        assert_eq!(kept, vec![&("b", 2), &("a", 3)]);
    }
}
