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
use crate::digest::Canonical;
use crate::migrations::{self, Migration};
use crate::pool::Pool;
use crate::schema::{self, Column};
use crate::seal::{Context, KeyRing, SealError};
use crate::sqlite::{Sealed, context_of, open_state, pair_columns, sealed_columns};
use crate::{
    Batch, CertificateChange, CertificateRow, CredentialRow, DeclarationRow, EnterpriseRow,
    JournalRecord, KeyUsage, Positions, QuotaRow, ReceiptRow, RecordQuery, RecordRow, ResealStep,
    RestorePoint, Result, RowKey, SealedTable, SessionRow, StatQuery, StatRow, StatTable, StateRow,
    Store, StoreError, TaxBillRow, UserRow,
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

/// SQL text built once at open; each client prepares it once and keeps the statement.
struct Sql {
    copy_journal: String,
    copy_receipts: String,
    upsert_state: String,
    delete_state: String,
    upsert_declarations: String,
    upsert_quotas: String,
    upsert_tax_bills: String,
    upsert_enterprises: String,
    upsert_records: String,
    set_applied: String,
    upsert_credential: String,
    revoke_credential: String,
    positions: String,
    applied_for_update: String,
    journal_after: String,
    load_state: String,
    declaration: String,
    declarations_all_from: String,
    declarations_all_after: String,
    declarations_party_from: String,
    declarations_party_after: String,
    receipts_after: String,
    receipts_of_recipient_after: String,
    receipts_of: String,
    quota: String,
    tax_bill: String,
    tax_bills_all: String,
    tax_bills_of: String,
    enterprises: String,
    enterprise: String,
    record: String,
    records_pages: [String; 8],
    count_records: String,
    count_records_in_status: String,
    credential_by_hash: String,
    credentials_of: String,
    digest_applied: String,
    digest_state: String,
    digest_declarations: String,
    digest_quotas: String,
    digest_receipts: String,
    digest_tax_bills: String,
    digest_enterprises: String,
    digest_records: String,
    /// Per [`StatTable::ALL`]: the additive upsert (UNNEST) and the digest order.
    stat_upserts: [String; 4],
    stat_digests: [String; 4],
    redact_journal: String,
    state_value: String,
    credential: String,
    insert_audit: String,
    audit_page: String,
}

impl Sql {
    fn new() -> Self {
        use schema::*;
        let sel_decl = select("declarations", DECLARATIONS);
        let sel_rcpt = select("receipts", RECEIPTS);
        let sel_tax = select("tax_bills", TAX_BILLS);
        let sel_ent = select("enterprises", ENTERPRISES);
        let sel_cred = select("credentials", CREDENTIALS);
        let sel_rec = select("records", RECORDS);
        let cred_cols = names(CREDENTIALS);
        Sql {
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
            set_applied: "UPDATE store_position SET applied = $1 WHERE id = 1".into(),
            upsert_credential: format!(
                "INSERT INTO credentials ({cred_cols}) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (key_id) DO UPDATE SET subject = excluded.subject, \
                 token_hash = excluded.token_hash, created_at_ms = excluded.created_at_ms, \
                 revoked_at_ms = excluded.revoked_at_ms, expires_at_ms = excluded.expires_at_ms"
            ),
            revoke_credential: "UPDATE credentials SET revoked_at_ms = $2 \
                                WHERE key_id = $1 AND revoked_at_ms IS NULL"
                .into(),
            positions: "SELECT (SELECT COALESCE(MAX(seq), 0) FROM journal), \
                        COALESCE((SELECT applied FROM store_position WHERE id = 1), 0), \
                        (SELECT COALESCE(MAX(seq), 0) FROM receipts)"
                .into(),
            applied_for_update: "SELECT applied FROM store_position WHERE id = 1 FOR UPDATE".into(),
            journal_after: format!(
                "{} WHERE seq > $1 ORDER BY seq LIMIT $2",
                select("journal", JOURNAL)
            ),
            load_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            declaration: format!("{sel_decl} WHERE id = $1"),
            declarations_all_from: format!("{sel_decl} WHERE id >= $1 ORDER BY id LIMIT $2"),
            declarations_all_after: format!("{sel_decl} WHERE id > $1 ORDER BY id LIMIT $2"),
            declarations_party_from: declarations_of_party(">=", "$1", "$2", "$3"),
            declarations_party_after: declarations_of_party(">", "$1", "$2", "$3"),
            receipts_after: format!("{sel_rcpt} WHERE seq > $1 ORDER BY seq LIMIT $2"),
            receipts_of_recipient_after: format!(
                "{sel_rcpt} WHERE recipient = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            receipts_of: format!("{sel_rcpt} WHERE declaration_id = $1 ORDER BY seq"),
            quota: format!(
                "{} WHERE buyer_key = $1 AND year = $2",
                select("quotas", QUOTAS)
            ),
            tax_bill: format!("{sel_tax} WHERE invt_no = $1"),
            tax_bills_all: format!("{sel_tax} ORDER BY invt_no LIMIT $1"),
            tax_bills_of: tax_bills_of_party("$1", "$2"),
            enterprises: format!("{sel_ent} ORDER BY code"),
            enterprise: format!("{sel_ent} WHERE code = $1"),
            record: format!("{sel_rec} WHERE kind = $1 AND key = $2"),
            records_pages: records_pages('$'),
            count_records: "SELECT COUNT(*) FROM records WHERE kind = $1".into(),
            count_records_in_status: "SELECT COUNT(*) FROM records WHERE kind = $1 AND status = $2"
                .into(),
            credential_by_hash: format!("{sel_cred} WHERE token_hash = $1"),
            credentials_of: format!("{sel_cred} WHERE subject = $1 ORDER BY created_at_ms, key_id"),
            digest_applied: "SELECT COALESCE((SELECT applied FROM store_position WHERE id = 1), 0)"
                .into(),
            digest_state: format!("{} ORDER BY namespace, key", select("state", STATE)),
            digest_declarations: format!("{sel_decl} ORDER BY id"),
            digest_quotas: format!("{} ORDER BY buyer_key, year", select("quotas", QUOTAS)),
            digest_receipts: format!("{sel_rcpt} ORDER BY seq"),
            digest_tax_bills: format!("{sel_tax} ORDER BY invt_no"),
            digest_enterprises: format!("{sel_ent} ORDER BY code"),
            digest_records: format!("{sel_rec} ORDER BY kind, key"),
            stat_upserts: StatTable::ALL
                .map(|t| crate::stats::upsert(t, crate::stats::Dialect::Postgres)),
            stat_digests: StatTable::ALL.map(crate::stats::digest_sql),
            redact_journal: "UPDATE journal SET body = d.b FROM UNNEST($1::int8[], $2::bytea[]) \
                             AS d(s, b) WHERE journal.seq = d.s"
                .into(),
            state_value: "SELECT value FROM state WHERE namespace = $1 AND key = $2".into(),
            credential: format!("{sel_cred} WHERE key_id = $1"),
            insert_audit: format!(
                "INSERT INTO audit_log ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                names(AUDIT)
            ),
            audit_page: audit_page('$', "::text", "::int8"),
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
    /// The writer lock, once [`Store::claim_writer`] was called.
    writer_lock: Mutex<WriterLock>,
    readers: Pool<PgConn>,
    sql: Sql,
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
            sql: Sql::new(),
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

    fn query_rows<T>(
        &self,
        sql: &str,
        params: &Params<'_>,
        map: fn(&Row) -> PgResult<T>,
    ) -> Result<Vec<T>> {
        self.read(|c| {
            let st = c.statement(sql)?;
            c.client.query(&st, params)?.iter().map(map).collect()
        })
    }

    fn query_opt<T>(
        &self,
        sql: &str,
        params: &Params<'_>,
        map: fn(&Row) -> PgResult<T>,
    ) -> Result<Option<T>> {
        self.read(|c| {
            let st = c.statement(sql)?;
            c.client
                .query_opt(&st, params)?
                .as_ref()
                .map(map)
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
            &[&m.version, &m.name, &crate::sqlite::now_ms()],
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
    fn prepare(c: &mut PgConn, sql: &Sql, batch: &Batch, stats: &Stats<'_>) -> PgResult<Self> {
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
                Some(c.statement(&sql.insert_audit)?)
            },
            set_applied: c.statement(&sql.set_applied)?,
        })
    }
}

/// A batch's statistics deltas, merged per table and cell.
type Stats<'a> = std::collections::BTreeMap<StatTable, Vec<crate::stats::Merged<'a>>>;

fn write_batch(
    tx: &mut Transaction<'_>,
    sql: &WriteStatements,
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

    write_certificates(tx, &batch.certificates)?;
    if let Some(insert) = &sql.insert_audit {
        append_audit_tx(tx, insert, &batch.audit)?;
    }

    tx.execute(&sql.set_applied, &[&batch.applied])?;
    Ok(redacted)
}

/// Appends audit entries after the chain head inside the caller's transaction; the advisory lock
/// keeps two nodes from linking to the same head.
fn append_audit_tx(
    tx: &mut Transaction<'_>,
    insert: &Statement,
    entries: &[AuditEntry],
) -> PgResult<Vec<AuditRecord>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
    let head = tx.query_opt(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
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

fn audit_from(r: &Row) -> PgResult<AuditRecord> {
    Ok(AuditRecord {
        seq: r.try_get(0)?,
        entry: AuditEntry {
            at_ms: r.try_get(1)?,
            actor: r.try_get(2)?,
            action: r.try_get(3)?,
            target: r.try_get(4)?,
            outcome: r.try_get(5)?,
            source: r.try_get(6)?,
            detail: r.try_get(7)?,
        },
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

/// Certificate filings and revocations, in journal order (rare: one statement each).
fn write_certificates(tx: &mut Transaction<'_>, changes: &[CertificateChange]) -> PgResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let columns = schema::names(schema::CERTIFICATES);
    let upsert = format!(
        "INSERT INTO certificates ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (enterprise, fingerprint) DO UPDATE SET serial = excluded.serial, \
         subject = excluded.subject, algorithm = excluded.algorithm, \
         not_before_ms = excluded.not_before_ms, not_after_ms = excluded.not_after_ms, \
         der = excluded.der, filed_at_ms = excluded.filed_at_ms, \
         revoked_at_ms = excluded.revoked_at_ms"
    );
    for change in changes {
        match change {
            CertificateChange::File(c) => {
                tx.execute(
                    upsert.as_str(),
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
                    "UPDATE certificates SET revoked_at_ms = $3 \
                     WHERE enterprise = $1 AND fingerprint = $2 AND revoked_at_ms IS NULL",
                    &[enterprise, fingerprint, at_ms],
                )?;
            }
        }
    }
    Ok(())
}

fn certificate_from(r: &Row) -> PgResult<CertificateRow> {
    Ok(CertificateRow {
        enterprise: r.try_get(0)?,
        fingerprint: r.try_get(1)?,
        serial: r.try_get(2)?,
        subject: r.try_get(3)?,
        algorithm: r.try_get(4)?,
        not_before_ms: r.try_get(5)?,
        not_after_ms: r.try_get(6)?,
        der: r.try_get(7)?,
        filed_at_ms: r.try_get(8)?,
        revoked_at_ms: r.try_get(9)?,
    })
}

fn journal_from(r: &Row) -> PgResult<JournalRecord> {
    Ok(JournalRecord {
        seq: r.try_get(0)?,
        received_at_ms: r.try_get(1)?,
        sender: r.try_get(2)?,
        kind: r.try_get(3)?,
        guid: r.try_get(4)?,
        body: r.try_get(5)?,
    })
}

fn state_from(r: &Row) -> PgResult<StateRow> {
    Ok(StateRow {
        namespace: r.try_get(0)?,
        key: r.try_get(1)?,
        value: Some(r.try_get(2)?),
    })
}

fn declaration_from(r: &Row) -> PgResult<DeclarationRow> {
    Ok(DeclarationRow {
        id: r.try_get(0)?,
        ebp_code: r.try_get(1)?,
        ebc_code: r.try_get(2)?,
        order_no: r.try_get(3)?,
        agent_code: r.try_get(4)?,
        logistics_code: r.try_get(5)?,
        logistics_no: r.try_get(6)?,
        pay_code: r.try_get(7)?,
        cop_no: r.try_get(8)?,
        pre_no: r.try_get(9)?,
        invt_no: r.try_get(10)?,
        documents: r.try_get(11)?,
        status: r.try_get(12)?,
        status_info: r.try_get(13)?,
        buyer_key: r.try_get(14)?,
        value_minor: r.try_get(15)?,
        tax_minor: r.try_get(16)?,
        created_at_ms: r.try_get(17)?,
        updated_at_ms: r.try_get(18)?,
        released_at_ms: r.try_get(19)?,
    })
}

fn quota_from(r: &Row) -> PgResult<QuotaRow> {
    Ok(QuotaRow {
        buyer_key: r.try_get(0)?,
        year: r.try_get(1)?,
        used_minor: r.try_get(2)?,
    })
}

fn receipt_from(r: &Row) -> PgResult<ReceiptRow> {
    Ok(ReceiptRow {
        seq: r.try_get(0)?,
        recipient: r.try_get(1)?,
        message_type: r.try_get(2)?,
        declaration_id: r.try_get(3)?,
        business_key: r.try_get(4)?,
        return_status: r.try_get(5)?,
        created_at_ms: r.try_get(6)?,
        xml: r.try_get(7)?,
        json: r.try_get(8)?,
    })
}

fn tax_bill_from(r: &Row) -> PgResult<TaxBillRow> {
    Ok(TaxBillRow {
        invt_no: r.try_get(0)?,
        tax_no: r.try_get(1)?,
        declaration_id: r.try_get(2)?,
        ebc_code: r.try_get(3)?,
        agent_code: r.try_get(4)?,
        customs_tax_minor: r.try_get(5)?,
        vat_minor: r.try_get(6)?,
        consumption_tax_minor: r.try_get(7)?,
        status: r.try_get(8)?,
        levy_state: r.try_get(9)?,
        released_at_ms: r.try_get(10)?,
        due_from: r.try_get(11)?,
        due_until: r.try_get(12)?,
    })
}

fn enterprise_from(r: &Row) -> PgResult<EnterpriseRow> {
    Ok(EnterpriseRow {
        code: r.try_get(0)?,
        name: r.try_get(1)?,
        roles: r.try_get(2)?,
        dxp_id: r.try_get(3)?,
        filed_at_ms: r.try_get(4)?,
        active: r.try_get(5)?,
        park: r.try_get(6)?,
    })
}

/// A record as stored: the row with its sealed body beside it.
type SealedRecord = (RecordRow, Vec<u8>);

fn record_from(r: &Row) -> PgResult<SealedRecord> {
    Ok((
        RecordRow {
            kind: r.try_get(0)?,
            key: r.try_get(1)?,
            party: r.try_get(2)?,
            status: r.try_get(3)?,
            updated_at_ms: r.try_get(4)?,
            body: String::new(),
        },
        r.try_get(5)?,
    ))
}

fn open_record(keys: &KeyRing, (mut row, sealed): SealedRecord) -> Result<RecordRow> {
    row.body = keys.open_text(&sealed, Context::Record(&row.kind, &row.key))?;
    Ok(row)
}

fn credential_from(r: &Row) -> PgResult<CredentialRow> {
    Ok(CredentialRow {
        key_id: r.try_get(0)?,
        subject: r.try_get(1)?,
        token_hash: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        revoked_at_ms: r.try_get(4)?,
        expires_at_ms: r.try_get(5)?,
    })
}

/// Feeds every row of `sql` to the digest, streaming rather than loading the table.
fn digest_table<T>(
    tx: &mut Transaction<'_>,
    sql: &str,
    map: fn(&Row) -> PgResult<T>,
    mut feed: impl FnMut(&T),
) -> PgResult<()> {
    let mut rows = tx.query_raw(sql, std::iter::empty::<&(dyn ToSql + Sync)>())?;
    while let Some(row) = rows.next()? {
        feed(&map(&row)?);
    }
    Ok(())
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn positions(&self) -> Result<Positions> {
        let sql = self.sql.positions.as_str();
        self.read(|c| {
            let st = c.statement(sql)?;
            let r = c.client.query_one(&st, &[])?;
            Ok(Positions {
                journal: r.try_get(0)?,
                applied: r.try_get(1)?,
                receipt: r.try_get(2)?,
            })
        })
    }

    fn restore_point(&self) -> Result<RestorePoint> {
        let sql = &self.sql;
        let (positions, mut state) = self.read(|c| {
            let positions = c.statement(&sql.positions)?;
            let load_state = c.statement(&sql.load_state)?;
            // One snapshot for both: a commit landing between two reads would leave the state
            // behind the positions.
            let mut tx = c
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let r = tx.query_one(&positions, &[])?;
            let positions = Positions {
                journal: r.try_get(0)?,
                applied: r.try_get(1)?,
                receipt: r.try_get(2)?,
            };
            let state = tx
                .query(&load_state, &[])?
                .iter()
                .map(state_from)
                .collect::<PgResult<Vec<_>>>()?;
            tx.commit()?;
            Ok((positions, state))
        })?;
        for r in &mut state {
            open_state(&self.keys, r)?;
        }
        Ok(RestorePoint { positions, state })
    }

    fn claim_writer(&self) -> Result<()> {
        let mut state = lock(&self.writer_lock);
        self.hold_writer_lock(&mut state)?;
        state.claimed = true;
        Ok(())
    }

    fn commit(&self, batch: &Batch) -> Result<()> {
        let stats = crate::stats::merge(&batch.stats)?;
        let sealed = Sealed::of(&self.keys, batch)?;
        {
            let mut state = lock(&self.writer_lock);
            if state.claimed {
                self.hold_writer_lock(&mut state)?;
            }
        }
        self.write(|c| {
            let statements = WriteStatements::prepare(c, &self.sql, batch, &stats)?;
            let applied_for_update = match batch.base {
                Some(_) => Some(c.statement(&self.sql.applied_for_update)?),
                None => None,
            };
            let mut tx = c.client.transaction()?;
            if let (Some(built_on), Some(st)) = (batch.base, &applied_for_update) {
                // Locks the position row: a concurrent commit waits, and this reads the latest.
                let applied = match tx.query_opt(st, &[])? {
                    Some(r) => r.try_get::<_, i64>(0)?,
                    None => 0,
                };
                if applied != built_on {
                    return Ok(Err(StoreError::Stale { built_on, applied }));
                }
            }
            let redacted = write_batch(&mut tx, &statements, batch, &stats, &sealed)?;
            if redacted != batch.redact.len() as u64 {
                // Dropping the transaction rolls the whole batch back.
                return Ok(Err(StoreError::Other(
                    "postgres: a redacted journal entry does not exist".into(),
                )));
            }
            tx.commit().map(Ok)
        })?
    }

    fn journal_after(&self, after: i64, limit_n: usize) -> Result<Vec<JournalRecord>> {
        let mut rows = self.query_rows(
            &self.sql.journal_after,
            &[&after, &limit(limit_n)],
            journal_from,
        )?;
        for j in &mut rows {
            j.body = self
                .keys
                .open(&j.body, Context::Journal(j.seq))?
                .into_owned();
        }
        Ok(rows)
    }

    fn load_state(&self) -> Result<Vec<StateRow>> {
        let mut rows = self.query_rows(&self.sql.load_state, &[], state_from)?;
        for r in &mut rows {
            open_state(&self.keys, r)?;
        }
        Ok(rows)
    }

    fn reset_projections(&self) -> Result<()> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            tx.batch_execute(&format!(
                "TRUNCATE {}; UPDATE store_position SET applied = 0 WHERE id = 1;",
                schema::PROJECTION_TABLES.join(", ")
            ))?;
            tx.commit()
        })
    }

    fn declaration(&self, id: &str) -> Result<Option<DeclarationRow>> {
        self.query_opt(&self.sql.declaration, &[&id], declaration_from)
    }

    fn declarations(
        &self,
        party: Option<&str>,
        after: Option<&str>,
        limit_n: usize,
    ) -> Result<Vec<DeclarationRow>> {
        let n = limit(limit_n);
        let sql = &self.sql;
        match (party, after) {
            (None, None) => {
                self.query_rows(&sql.declarations_all_from, &[&"", &n], declaration_from)
            }
            (None, Some(a)) => {
                self.query_rows(&sql.declarations_all_after, &[&a, &n], declaration_from)
            }
            (Some(p), None) => self.query_rows(
                &sql.declarations_party_from,
                &[&p, &"", &n],
                declaration_from,
            ),
            (Some(p), Some(a)) => self.query_rows(
                &sql.declarations_party_after,
                &[&p, &a, &n],
                declaration_from,
            ),
        }
    }

    fn receipts_after(
        &self,
        recipient: Option<&str>,
        after: i64,
        limit_n: usize,
    ) -> Result<Vec<ReceiptRow>> {
        let n = limit(limit_n);
        match recipient {
            None => self.query_rows(&self.sql.receipts_after, &[&after, &n], receipt_from),
            Some(r) => self.query_rows(
                &self.sql.receipts_of_recipient_after,
                &[&r, &after, &n],
                receipt_from,
            ),
        }
    }

    fn receipts_of(&self, declaration_id: &str) -> Result<Vec<ReceiptRow>> {
        self.query_rows(&self.sql.receipts_of, &[&declaration_id], receipt_from)
    }

    fn quota(&self, buyer_key: &str, year: i32) -> Result<Option<QuotaRow>> {
        self.query_opt(&self.sql.quota, &[&buyer_key, &year], quota_from)
    }

    fn tax_bill(&self, invt_no: &str) -> Result<Option<TaxBillRow>> {
        self.query_opt(&self.sql.tax_bill, &[&invt_no], tax_bill_from)
    }

    fn tax_bills(&self, party: Option<&str>, limit_n: usize) -> Result<Vec<TaxBillRow>> {
        let n = limit(limit_n);
        match party {
            None => self.query_rows(&self.sql.tax_bills_all, &[&n], tax_bill_from),
            Some(p) => self.query_rows(&self.sql.tax_bills_of, &[&p, &n], tax_bill_from),
        }
    }

    fn enterprises(&self) -> Result<Vec<EnterpriseRow>> {
        self.query_rows(&self.sql.enterprises, &[], enterprise_from)
    }

    fn enterprise(&self, code: &str) -> Result<Option<EnterpriseRow>> {
        self.query_opt(&self.sql.enterprise, &[&code], enterprise_from)
    }

    fn record(&self, kind: &str, key: &str) -> Result<Option<RecordRow>> {
        self.query_opt(&self.sql.record, &[&kind, &key], record_from)?
            .map(|r| open_record(&self.keys, r))
            .transpose()
    }

    fn records(&self, q: &RecordQuery<'_>) -> Result<Vec<RecordRow>> {
        let n = limit(q.limit);
        let cursor = q.after.unwrap_or("");
        let mut bound: Vec<&(dyn ToSql + Sync)> = vec![&q.kind, &cursor];
        if let Some(p) = &q.party {
            bound.push(p);
        }
        if let Some(st) = &q.status {
            bound.push(st);
        }
        bound.push(&n);
        let i =
            schema::records_page_index(q.party.is_some(), q.status.is_some(), q.after.is_some());
        self.query_rows(&self.sql.records_pages[i], &bound, record_from)?
            .into_iter()
            .map(|r| open_record(&self.keys, r))
            .collect()
    }

    fn count_records(&self, kind: &str, status: Option<&str>) -> Result<i64> {
        let sql = &self.sql;
        self.read(|c| {
            let row = match status {
                None => {
                    let st = c.statement(&sql.count_records)?;
                    c.client.query_one(&st, &[&kind])?
                }
                Some(status) => {
                    let st = c.statement(&sql.count_records_in_status)?;
                    c.client.query_one(&st, &[&kind, &status])?
                }
            };
            row.try_get(0)
        })
    }

    fn put_credential(&self, cr: &CredentialRow) -> Result<()> {
        let sql = self.sql.upsert_credential.as_str();
        self.write(|c| {
            let st = c.statement(sql)?;
            c.client.execute(
                &st,
                &[
                    &cr.key_id,
                    &cr.subject,
                    &cr.token_hash,
                    &cr.created_at_ms,
                    &cr.revoked_at_ms,
                    &cr.expires_at_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn credential_by_hash(&self, token_hash: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(
            &self.sql.credential_by_hash,
            &[&token_hash],
            credential_from,
        )
    }

    fn credentials_of(&self, subject: &str) -> Result<Vec<CredentialRow>> {
        self.query_rows(&self.sql.credentials_of, &[&subject], credential_from)
    }

    fn revoke_credential(&self, key_id: &str, at_ms: i64) -> Result<bool> {
        let sql = self.sql.revoke_credential.as_str();
        self.write(|c| {
            let st = c.statement(sql)?;
            Ok(c.client.execute(&st, &[&key_id, &at_ms])? > 0)
        })
    }

    fn projection_digest(&self) -> Result<String> {
        let sql = &self.sql;
        self.read(|c| {
            // One snapshot for every table.
            let mut tx = c
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut d = Canonical::new();
            let applied: i64 = tx.query_one(sql.digest_applied.as_str(), &[])?.try_get(0)?;
            d.applied(applied);
            let mut failure: Option<SealError> = None;
            d.table("state");
            digest_table(&mut tx, &sql.digest_state, state_from, |r| {
                let mut r = r.clone();
                match open_state(&self.keys, &mut r) {
                    Ok(()) => d.state(&r),
                    Err(e) => failure = Some(e),
                }
            })?;
            d.table("declarations");
            digest_table(&mut tx, &sql.digest_declarations, declaration_from, |r| {
                d.declaration(r)
            })?;
            d.table("quotas");
            digest_table(&mut tx, &sql.digest_quotas, quota_from, |r| d.quota(r))?;
            d.table("receipts");
            digest_table(&mut tx, &sql.digest_receipts, receipt_from, |r| {
                d.receipt(r)
            })?;
            d.table("tax_bills");
            digest_table(&mut tx, &sql.digest_tax_bills, tax_bill_from, |r| {
                d.tax_bill(r)
            })?;
            d.table("enterprises");
            digest_table(&mut tx, &sql.digest_enterprises, enterprise_from, |r| {
                d.enterprise(r)
            })?;
            d.table("records");
            digest_table(
                &mut tx,
                &sql.digest_records,
                record_from,
                |r| match open_record(&self.keys, r.clone()) {
                    Ok(r) => d.record(&r),
                    Err(StoreError::Sealed(e)) => failure = Some(e),
                    Err(_) => {}
                },
            )?;
            for (t, digest_sql) in StatTable::ALL.iter().zip(&sql.stat_digests) {
                d.table(&crate::stats::table_name(*t));
                let keys = t.dims().len();
                let measures = t.measures().len();
                let mut rows = tx.query_raw(
                    digest_sql.as_str(),
                    std::iter::empty::<&(dyn ToSql + Sync)>(),
                )?;
                while let Some(row) = rows.next()? {
                    let day: i32 = row.try_get(0)?;
                    let k = (1..=keys)
                        .map(|i| row.try_get::<_, String>(i))
                        .collect::<PgResult<Vec<_>>>()?;
                    let v = (keys + 1..keys + 1 + measures)
                        .map(|i| row.try_get::<_, i64>(i))
                        .collect::<PgResult<Vec<_>>>()?;
                    d.stat(i64::from(day), &k, &v);
                }
            }
            d.table("certificates");
            let certificates = format!(
                "{} ORDER BY enterprise, fingerprint",
                schema::select("certificates", schema::CERTIFICATES)
            );
            digest_table(&mut tx, &certificates, certificate_from, |r| {
                d.certificate(r)
            })?;
            tx.commit()?;
            Ok(match failure {
                Some(e) => Err(e),
                None => Ok(d.finish()),
            })
        })?
        .map_err(StoreError::from)
    }

    fn state_value(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let value: Option<Vec<u8>> =
            self.query_opt(&self.sql.state_value, &[&namespace, &key], |r| r.try_get(0))?;
        value
            .map(|v| {
                Ok(self
                    .keys
                    .open(&v, Context::State(namespace, key))?
                    .into_owned())
            })
            .transpose()
    }

    fn credential(&self, key_id: &str) -> Result<Option<CredentialRow>> {
        self.query_opt(&self.sql.credential, &[&key_id], credential_from)
    }

    fn append_audit(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>> {
        let sql = self.sql.insert_audit.as_str();
        self.write(|c| {
            let insert = c.statement(sql)?;
            let mut tx = c.client.transaction()?;
            let records = append_audit_tx(&mut tx, &insert, entries)?;
            tx.commit()?;
            Ok(records)
        })
    }

    fn audit(&self, q: &AuditQuery<'_>) -> Result<Vec<AuditRecord>> {
        self.query_rows(
            &self.sql.audit_page,
            &[
                &q.after,
                &q.actor,
                &q.action,
                &q.from_ms,
                &q.until_ms,
                &limit(q.limit),
            ],
            audit_from,
        )
    }

    fn key_usage(&self) -> Result<Vec<KeyUsage>> {
        let mut counts: std::collections::BTreeMap<(SealedTable, Option<String>), i64> =
            std::collections::BTreeMap::new();
        for table in SealedTable::ALL {
            let (col, _) = sealed_columns(table);
            // Only the header names the key: read the first bytes of each value.
            let sql = format!(
                "SELECT substring({col} from 1 for 48) FROM {}",
                table.name()
            );
            self.read(|c| {
                let mut rows = c
                    .client
                    .query_raw(sql.as_str(), std::iter::empty::<&(dyn ToSql + Sync)>())?;
                while let Some(row) = rows.next()? {
                    let head: Vec<u8> = row.try_get(0)?;
                    let id = crate::seal::key_id_of(&head).map(str::to_owned);
                    *counts.entry((table, id)).or_default() += 1;
                }
                Ok(())
            })?;
        }
        Ok(counts
            .into_iter()
            .map(|((table, key_id), rows)| KeyUsage {
                table,
                key_id,
                rows,
            })
            .collect())
    }

    fn vacuum(&self) -> Result<()> {
        self.write(|c| c.client.batch_execute("VACUUM journal, state, records"))
    }

    fn reseal(
        &self,
        table: SealedTable,
        after: Option<&RowKey>,
        limit_n: usize,
    ) -> Result<ResealStep> {
        let n = limit(limit_n.max(1));
        let (col, _) = sealed_columns(table);
        let name = table.name();
        // Read the page with its rows locked (FOR UPDATE), so the server's writer waits for
        // this transaction instead of having a newer value overwritten by an older one.
        let page: Vec<(RowKey, Vec<u8>)> = self.write(|c| {
            let mut tx = c.client.transaction()?;
            let mut out: Vec<(RowKey, Vec<u8>)> = Vec::new();
            match after {
                Some(RowKey::Pair(a, b)) if table != SealedTable::Journal => {
                    let (k1, k2) = pair_columns(table);
                    let rows = tx.query(
                        &format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} \
                             WHERE ({k1}, {k2}) > ($1 COLLATE \"C\", $2 COLLATE \"C\") \
                             ORDER BY {k1}, {k2} LIMIT $3 FOR UPDATE"
                        ),
                        &[a, b, &n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Pair(r.try_get(0)?, r.try_get(1)?), r.try_get(2)?));
                    }
                }
                _ if table != SealedTable::Journal => {
                    let (k1, k2) = pair_columns(table);
                    let rows = tx.query(
                        &format!(
                            "SELECT {k1}, {k2}, {col} FROM {name} ORDER BY {k1}, {k2} \
                             LIMIT $1 FOR UPDATE"
                        ),
                        &[&n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Pair(r.try_get(0)?, r.try_get(1)?), r.try_get(2)?));
                    }
                }
                _ => {
                    let from = match after {
                        Some(RowKey::Seq(s)) => *s,
                        _ => 0,
                    };
                    let rows = tx.query(
                        "SELECT seq, body FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2 \
                         FOR UPDATE",
                        &[&from, &n],
                    )?;
                    for r in rows {
                        out.push((RowKey::Seq(r.try_get(0)?), r.try_get(1)?));
                    }
                }
            }
            // Re-seal and write within the same transaction.
            let mut written = Vec::new();
            for (k, v) in &out {
                if self.keys.is_current(v) {
                    continue;
                }
                let ctx = context_of(table, k);
                let Ok(fresh) = self.keys.open(v, ctx).and_then(|p| self.keys.seal(&p, ctx)) else {
                    // Left as it is; `rekey --status` and the next read name the row.
                    continue;
                };
                match k {
                    RowKey::Seq(seq) => {
                        tx.execute(
                            "UPDATE journal SET body = $2 WHERE seq = $1",
                            &[seq, &fresh],
                        )?;
                    }
                    RowKey::Pair(a, b) => {
                        let (k1, k2) = pair_columns(table);
                        tx.execute(
                            &format!("UPDATE {name} SET {col} = $3 WHERE {k1} = $1 AND {k2} = $2"),
                            &[a, b, &fresh],
                        )?;
                    }
                }
                written.push((k.clone(), fresh));
            }
            tx.commit()?;
            out.iter_mut().for_each(|(_, v)| v.clear());
            // Mark rewritten rows by a non-empty value so the count below sees them.
            for (k, fresh) in written {
                if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k) {
                    slot.1 = fresh;
                }
            }
            Ok(out)
        })?;
        let resealed = page.iter().filter(|(_, v)| !v.is_empty()).count();
        let next = if page.len() < usize::try_from(n).unwrap_or(usize::MAX) {
            None
        } else {
            page.last().map(|(k, _)| k.clone())
        };
        Ok(ResealStep {
            looked: page.len(),
            resealed,
            next,
        })
    }

    fn certificates(&self, enterprise: Option<&str>) -> Result<Vec<CertificateRow>> {
        let select = schema::select("certificates", schema::CERTIFICATES);
        match enterprise {
            Some(e) => self.query_rows(
                &format!("{select} WHERE enterprise = $1 ORDER BY filed_at_ms, fingerprint"),
                &[&e],
                certificate_from,
            ),
            None => self.query_rows(
                &format!("{select} ORDER BY enterprise, filed_at_ms, fingerprint"),
                &[],
                certificate_from,
            ),
        }
    }

    fn stat_query(&self, q: &StatQuery<'_>) -> Result<Vec<StatRow>> {
        use crate::stats::{Dialect, attach_distinct, distinct_sql, sums_sql, time_key};
        let sums = sums_sql(q, Dialect::Postgres)?;
        let distinct = q
            .distinct
            .iter()
            .map(|d| distinct_sql(q, *d, Dialect::Postgres))
            .collect::<Result<Vec<_>>>()?;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q.from_day, &q.to_day];
        params.extend(q.filters.iter().map(|(_, v)| v as &(dyn ToSql + Sync)));
        let groups = q.group_by;
        let keys_of = |row: &Row| -> PgResult<Vec<String>> {
            groups
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    if d.is_time() {
                        Ok(time_key(*d, i64::from(row.try_get::<_, i32>(i)?)))
                    } else {
                        row.try_get::<_, String>(i)
                    }
                })
                .collect()
        };
        let n = q.table.measures().len();
        self.read(|c| {
            // One snapshot for the sums and the counts; dynamic text is not kept prepared.
            let mut tx = c
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut rows = Vec::new();
            for row in tx.query(sums.as_str(), &params)? {
                let measures = (groups.len()..groups.len() + n)
                    .map(|i| row.try_get::<_, i64>(i))
                    .collect::<PgResult<Vec<_>>>()?;
                rows.push(StatRow {
                    keys: keys_of(&row)?,
                    measures,
                    distinct: Vec::new(),
                });
            }
            let mut counts = Vec::new();
            for sql in &distinct {
                let mut map = std::collections::BTreeMap::new();
                for row in tx.query(sql.as_str(), &params)? {
                    map.insert(keys_of(&row)?, row.try_get::<_, i64>(groups.len())?);
                }
                counts.push(map);
            }
            tx.commit()?;
            attach_distinct(&mut rows, counts);
            Ok(rows)
        })
    }
    fn declaration_status_counts(&self) -> Result<Vec<(i32, i64)>> {
        self.query_rows(
            "SELECT status, COUNT(*) FROM declarations GROUP BY status ORDER BY status",
            &[],
            |r| Ok((r.try_get(0)?, r.try_get(1)?)),
        )
    }

    fn put_user(&self, u: &UserRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO portal_users ({}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) \
             DO UPDATE SET subject = excluded.subject, password_hash = excluded.password_hash, \
             created_at_ms = excluded.created_at_ms, disabled_at_ms = excluded.disabled_at_ms",
            schema::names(schema::USERS)
        );
        self.write(|c| {
            let st = c.statement(&sql)?;
            c.client.execute(
                &st,
                &[
                    &u.username,
                    &u.subject,
                    &u.password_hash,
                    &u.created_at_ms,
                    &u.disabled_at_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "{} WHERE username = $1",
            schema::select("portal_users", schema::USERS)
        );
        self.query_opt(&sql, &[&username], user_from)
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        let sql = format!(
            "{} ORDER BY username",
            schema::select("portal_users", schema::USERS)
        );
        self.query_rows(&sql, &[], user_from)
    }

    fn set_user_disabled(&self, username: &str, disabled_at_ms: Option<i64>) -> Result<bool> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            let n = tx.execute(
                "UPDATE portal_users SET disabled_at_ms = $2 WHERE username = $1",
                &[&username, &disabled_at_ms],
            )?;
            if disabled_at_ms.is_some() {
                tx.execute(
                    "DELETE FROM portal_sessions WHERE username = $1",
                    &[&username],
                )?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        self.write(|c| {
            let mut tx = c.client.transaction()?;
            let n = tx.execute(
                "UPDATE portal_users SET password_hash = $2 WHERE username = $1",
                &[&username, &password_hash],
            )?;
            tx.execute(
                "DELETE FROM portal_sessions WHERE username = $1",
                &[&username],
            )?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn put_session(&self, s: &SessionRow) -> Result<()> {
        let sql = format!(
            "INSERT INTO portal_sessions ({}) VALUES ($1, $2, $3, $4, $5)",
            schema::names(schema::SESSIONS)
        );
        self.write(|c| {
            let st = c.statement(&sql)?;
            c.client.execute(
                &st,
                &[
                    &s.token_hash,
                    &s.username,
                    &s.csrf_token,
                    &s.created_at_ms,
                    &s.last_seen_ms,
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let sql = format!(
            "{} WHERE token_hash = $1",
            schema::select("portal_sessions", schema::SESSIONS)
        );
        self.query_opt(&sql, &[&token_hash], session_from)
    }

    fn touch_session(&self, token_hash: &str, last_seen_ms: i64) -> Result<()> {
        self.write(|c| {
            let st = c.statement(
                "UPDATE portal_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) \
                 WHERE token_hash = $1",
            )?;
            c.client.execute(&st, &[&token_hash, &last_seen_ms])?;
            Ok(())
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<bool> {
        self.write(|c| {
            let st = c.statement("DELETE FROM portal_sessions WHERE token_hash = $1")?;
            Ok(c.client.execute(&st, &[&token_hash])? > 0)
        })
    }

    fn delete_sessions_of(&self, username: &str) -> Result<usize> {
        self.write(|c| {
            let st = c.statement("DELETE FROM portal_sessions WHERE username = $1")?;
            Ok(usize::try_from(c.client.execute(&st, &[&username])?).unwrap_or(usize::MAX))
        })
    }

    fn delete_expired_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> Result<usize> {
        self.write(|c| {
            let st = c.statement(
                "DELETE FROM portal_sessions WHERE last_seen_ms < $1 OR created_at_ms < $2",
            )?;
            let n = c
                .client
                .execute(&st, &[&idle_before_ms, &created_before_ms])?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

fn user_from(r: &Row) -> PgResult<UserRow> {
    Ok(UserRow {
        username: r.try_get(0)?,
        subject: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        disabled_at_ms: r.try_get(4)?,
    })
}

fn session_from(r: &Row) -> PgResult<SessionRow> {
    Ok(SessionRow {
        token_hash: r.try_get(0)?,
        username: r.try_get(1)?,
        csrf_token: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        last_seen_ms: r.try_get(4)?,
    })
}

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
